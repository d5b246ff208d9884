package extract

import (
	"encoding/json"
	nurl "net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/markusmobius/go-trafilatura"
)

func TestDevVariants(t *testing.T) {
	dump := os.Getenv("EXTRACT_DEV")
	if dump == "" {
		t.Skip("dev only")
	}
	pages := loadBench(t)
	variants := map[string]func(*nurl.URL) trafilatura.Options{
		"bal_fb": func(u *nurl.URL) trafilatura.Options {
			return trafilatura.Options{OriginalURL: u, EnableFallback: true, ExcludeComments: true}
		},
		"bal_nofb": func(u *nurl.URL) trafilatura.Options {
			return trafilatura.Options{OriginalURL: u, ExcludeComments: true}
		},
		"prec_fb": func(u *nurl.URL) trafilatura.Options {
			return trafilatura.Options{OriginalURL: u, EnableFallback: true, ExcludeComments: true, Focus: trafilatura.FavorPrecision}
		},
		"rec_fb": func(u *nurl.URL) trafilatura.Options {
			return trafilatura.Options{OriginalURL: u, EnableFallback: true, ExcludeComments: true, Focus: trafilatura.FavorRecall}
		},
		"prec_nofb": func(u *nurl.URL) trafilatura.Options {
			return trafilatura.Options{OriginalURL: u, ExcludeComments: true, Focus: trafilatura.FavorPrecision}
		},
		"rec_nofb": func(u *nurl.URL) trafilatura.Options {
			return trafilatura.Options{OriginalURL: u, ExcludeComments: true, Focus: trafilatura.FavorRecall}
		},
		"bal_fb_own": func(u *nurl.URL) trafilatura.Options {
			return trafilatura.Options{OriginalURL: u, EnableFallback: true, ExcludeComments: true, FallbackCandidates: &trafilatura.FallbackCandidates{}}
		},
	}
	out := map[string]map[string]string{}
	saved := trafOptions
	defer func() { trafOptions = saved }()
	for name, v := range variants {
		trafOptions = v
		for _, p := range pages {
			c, err := run(p.html, p.url)
			if out[p.id] == nil {
				out[p.id] = map[string]string{"truth": p.truth}
			}
			if err != nil {
				continue
			}
			if c.tr != nil {
				out[p.id][name] = c.tr.text
			}
			if c.ra != nil {
				out[p.id]["read"] = c.ra.text
			}
		}
	}
	b, _ := json.Marshal(out)
	os.WriteFile(filepath.Join(dump, "variants.json"), b, 0o644)
}
