package locale

import (
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// catalogue reads every messages/AREA.LANG.toml into area → lang → id → forms.
func catalogue(t *testing.T) map[string]map[string]map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]map[string]map[string]string{}
	paths, err := fs.Glob(files, "messages/*.toml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no catalogues: %v", err)
	}
	for _, p := range paths {
		parts := strings.Split(strings.TrimSuffix(path.Base(p), ".toml"), ".")
		if len(parts) != 2 {
			t.Fatalf("%s: want AREA.LANG.toml", p)
		}
		area, lang := parts[0], parts[1]
		b, _ := fs.ReadFile(files, p)
		var raw map[string]any
		if err := toml.Unmarshal(b, &raw); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		msgs := map[string]map[string]string{}
		for id, v := range raw {
			forms := map[string]string{}
			switch v := v.(type) {
			case string:
				forms["other"] = v
			case map[string]any:
				for k, f := range v {
					if s, ok := f.(string); ok && k != "description" && k != "hash" {
						forms[k] = s
					}
				}
			}
			msgs[id] = forms
		}
		if out[area] == nil {
			out[area] = map[string]map[string]map[string]string{}
		}
		out[area][lang] = msgs
	}
	return out
}

var placeholder = regexp.MustCompile(`\{\{\s*\.(\w+)`)

// TestCatalogueComplete holds every language of Langs to English: the same
// messages in every area, the plural forms the language needs, and no
// placeholder English does not fill.
func TestCatalogueComplete(t *testing.T) {
	plurals := map[string][]string{"en": {"one", "other"}, "ru": {"one", "few", "many", "other"}}
	for area, langs := range catalogue(t) {
		en := langs["en"]
		if en == nil {
			t.Errorf("%s: no English catalogue", area)
			continue
		}
		for _, lang := range Langs {
			msgs := langs[lang]
			if msgs == nil {
				t.Errorf("%s.%s.toml is missing", area, lang)
				continue
			}
			var ids []string
			for id := range en {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				forms, ok := msgs[id]
				if !ok {
					t.Errorf("%s.%s.toml lacks %q", area, lang, id)
					continue
				}
				if _, plural := en[id]["one"]; plural {
					for _, f := range plurals[lang] {
						if forms[f] == "" {
							t.Errorf("%s.%s.toml: %q lacks the %q form", area, lang, id, f)
						}
					}
				} else if forms["other"] == "" {
					t.Errorf("%s.%s.toml: %q is empty", area, lang, id)
				}
				known := map[string]bool{"N": true}
				for _, f := range en[id] {
					for _, m := range placeholder.FindAllStringSubmatch(f, -1) {
						known[m[1]] = true
					}
				}
				for _, f := range forms {
					for _, m := range placeholder.FindAllStringSubmatch(f, -1) {
						if !known[m[1]] {
							t.Errorf("%s.%s.toml: %q uses {{.%s}}, which English never fills", area, lang, id, m[1])
						}
					}
				}
			}
			for id := range msgs {
				if _, ok := en[id]; !ok {
					t.Errorf("%s.%s.toml has %q, which English lacks", area, lang, id)
				}
			}
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "en"},
		{"ru", "ru"},
		{"ru-RU,ru;q=0.9,en;q=0.8", "ru"},
		{"en-GB,en;q=0.9", "en"},
		{"de-DE,de;q=0.9,ru;q=0.5", "ru"},
		{"uk", "en"}, // no Ukrainian catalogue: English, not a guess
		{"pt-br", "en"},
		{"not a language;;", "en"},
	} {
		if got := Match(c.in); got != c.want {
			t.Errorf("Match(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Match("", "ru"); got != "ru" {
		t.Errorf("Match of a later preference = %q", got)
	}
}

func TestPrint(t *testing.T) {
	ru := For("ru")
	for n, want := range map[int]string{1: "1 статья", 3: "3 статьи", 5: "5 статей", 21: "21 статья", 11: "11 статей"} {
		if got := ru.N("articles", n); got != want {
			t.Errorf("ru %d articles = %q, want %q", n, got, want)
		}
	}
	if got := For("en").N("articles", 1); got != "1 article" {
		t.Errorf("en 1 = %q", got)
	}
	if got := For("xx").Lang(); got != "en" {
		t.Errorf("unknown language prints as %q", got)
	}
	if got := (P{}).T("at_time", "Day", "d", "Clock", "c"); got != "d at c" {
		t.Errorf("zero printer: %q", got)
	}
	if got := ru.T("no.such.message"); got != "[no.such.message]" {
		t.Errorf("missing message printed as %q", got)
	}
	found := false
	for _, m := range Missing() {
		found = found || m == "ru:no.such.message"
	}
	if !found {
		t.Errorf("Missing() = %v, lacks the message just asked for", Missing())
	}
}

func TestDates(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	d := time.Date(2026, 12, 2, 7, 5, 0, 0, time.UTC)
	old := time.Date(2025, 3, 8, 7, 5, 0, 0, time.UTC)
	for _, c := range []struct{ got, want string }{
		{For("en").Day(d), "Wednesday 2 December"},
		{For("ru").Day(d), "среда, 2 декабря"},
		{For("en").Date(d, now), "2 December"},
		{For("en").Date(old, now), "8 March 2025"},
		{For("ru").Date(old, now), "8 марта 2025 г."},
		{For("ru").Clock(d), "07:05"},
		{For("ru").T("at_time", "Day", For("ru").Day(d), "Clock", "07:05"), "среда, 2 декабря в 07:05"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
