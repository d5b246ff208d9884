package subscriptions

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The shared test material lives beside the module (/work/shared next to
// /work/main); from this package's directory that is ../../shared. Nothing
// from it is copied into the repository.
const sharedDir = "../../shared"

type article struct {
	id, title, url, text string
}

// seedDoc returns the seed article: its headline (the first line of six
// words or more) as the title, and the whole file as the text.
func seedDoc(t testing.TB) *Doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir, "seed", "article.txt"))
	if err != nil {
		t.Skipf("seed article not available (%v): it lives in the shared directory beside the module", err)
	}
	title := ""
	for _, line := range strings.Split(string(b), "\n") {
		if len(strings.Fields(line)) >= 6 && !strings.HasPrefix(line, "Last update") {
			title = line
			break
		}
	}
	return NewDoc(title, "https://en.newsroom.example/news/belarus-iran", string(b))
}

var (
	corpusOnce sync.Once
	corpusArts []article
	corpusErr  error
)

// loadCorpus returns the real articles of the shared corpora: the bodies of
// extraction/ground-truth.json and the article part of summaries/*.story.
func loadCorpus(t testing.TB) []article {
	t.Helper()
	corpusOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(sharedDir, "corpora", "extraction", "ground-truth.json"))
		if err != nil {
			corpusErr = err
			return
		}
		var gt map[string]struct {
			ArticleBody string `json:"articleBody"`
			URL         string `json:"url"`
		}
		if err := json.Unmarshal(b, &gt); err != nil {
			corpusErr = err
			return
		}
		keys := make([]string, 0, len(gt))
		for k := range gt {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			body := gt[k].ArticleBody
			title, _, _ := strings.Cut(body, "\n")
			if f := strings.Fields(title); len(f) > 12 {
				title = strings.Join(f[:12], " ")
			}
			corpusArts = append(corpusArts, article{id: k[:12], title: title, url: gt[k].URL, text: body})
		}
		stories, _ := filepath.Glob(filepath.Join(sharedDir, "corpora", "summaries", "*.story"))
		for _, p := range stories {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			text, _, _ := strings.Cut(string(b), "@highlight")
			name := filepath.Base(p)
			corpusArts = append(corpusArts, article{id: name[:12], url: "https://edition.cnn.example/" + name, text: text})
		}
	})
	if corpusErr != nil || len(corpusArts) == 0 {
		t.Skipf("shared corpora not available (%v): they live in the shared directory beside the module", corpusErr)
	}
	return corpusArts
}
