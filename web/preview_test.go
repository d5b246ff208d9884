package web_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
)

// TestPreviewUnderTopics: the preview counts a story carried by two
// sources once, gives each topic's stored form and why it differs from
// what was typed, and shows times in the zone the form names.
func TestPreviewUnderTopics(t *testing.T) {
	s := newSite(t)
	s.clock.Set(time.Date(2026, 12, 1, 23, 30, 0, 0, time.UTC))
	s.publishWith(t, "first", "Minsk museum shows Belarus maps", "A museum in Minsk opened an exhibition of maps.", func(a *article.Article) {
		a.StoryID = "story-maps"
	})
	s.publishWith(t, "copy", "Belarus maps on show in Minsk museum", "A museum in Minsk opened an exhibition of maps.", func(a *article.Article) {
		a.StoryID, a.Source = "story-maps", "Other Wire"
	})
	s.publish(t, "border", "Belarus opens a border crossing", "Belarus reopened a crossing.")

	q := url.Values{"format": {"json"}, "topics": {"Belarus | Minsk\nmuseum*"}, "tz": {"Asia/Tokyo"}}
	code, body := s.get(t, s.base+"/preview?"+q.Encode())
	if code != 200 {
		t.Fatalf("preview = %d %s", code, body)
	}
	var res struct {
		Topics []struct {
			Topic, Query, Note string
			Count              int
			Matches            []struct {
				Title     string
				Published struct{ Text, ISO string }
			}
		}
		HTML struct{ Check, List string }
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || len(res.Topics) != 2 {
		t.Fatalf("preview result %s: %v", body, err)
	}
	bel := res.Topics[0]
	if bel.Query != "belarus OR minsk" || bel.Count != 2 || len(bel.Matches) != 2 {
		t.Errorf("first topic: %+v; want belarus OR minsk, the story once and the border", bel)
	}
	if !strings.Contains(bel.Note, "| is written OR") || !strings.Contains(bel.Note, "capital letters do not matter") {
		t.Errorf("note on the rewritten topic = %q", bel.Note)
	}
	if res.Topics[1].Note != "" {
		t.Errorf("a topic kept as typed has a note: %q", res.Topics[1].Note)
	}
	// 23:20 UTC is 08:20 the next day in Tokyo.
	if p := bel.Matches[0].Published; p.Text != "2 December at 08:20" || !strings.HasPrefix(p.ISO, "2026-12-02T08:20:00+09:00") {
		t.Errorf("time shown = %+v, want Tokyo's", p)
	}
	contains(t, "check under the box", res.HTML.Check, "<code>belarus OR minsk</code> — 2 articles this week",
		"You typed Belarus | Minsk; it is kept as belarus OR minsk", "<code>museum*</code> — 1 article this week")
	contains(t, "list", res.HTML.List, `<time datetime="2026-12-02T08:20:00&#43;09:00">2 December at 08:20</time>`)

	// Without script: the page's own preview puts the same under the box.
	_, page := s.get(t, s.base+"/")
	code, page = s.post(t, s.base+"/preview", url.Values{"form": {hidden(t, page)}, "topics": {"Belarus | Minsk"}, "tz": {"Asia/Tokyo"}})
	if code != 200 {
		t.Fatalf("POST /preview = %d", code)
	}
	contains(t, "preview page", page, `inputmode="numeric" value="8"`, `value="Asia/Tokyo"`) // untyped fields keep their defaults
	box := strings.Index(page, "</textarea>")
	check := strings.Index(page, `<div id="topics-check" aria-live="polite"><ul class="check"><li><code>belarus OR minsk</code> — 2 articles this week`)
	freq := strings.Index(page, `name="frequency"`)
	if box < 0 || check < box || freq < check {
		t.Errorf("the counts are not right under the topics box (box %d, counts %d, frequency %d):\n%s", box, check, freq, page)
	}
}
