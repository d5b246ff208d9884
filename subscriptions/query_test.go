package subscriptions

import (
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/locale"
)

func TestSeedSemantics(t *testing.T) {
	d := seedDoc(t)
	tests := []struct {
		query string
		want  bool
	}{
		{"Belarus", true}, // the text says “Belarus’”
		{"belarus", true},
		{`"military cooperation"`, true},
		{`“Military Cooperation”`, true},
		{`"cooperation military"`, false},
		{"drone", true}, // the text has only "drones"
		{"drones", true},
		{`"drone"`, false}, // a phrase is exact: no inflection
		{`"drones"`, true},
		{"Lukashenko", true}, // “Lukashenko’s”
		{"Lukashenko -Ukraine", false},
		{"Lukashenko -Israel", true},
		{"iran’s", true},
		{"Belarus-Ukraine", true}, // the words in a row
		{"Ukraine-Belarus", false},
		{`"press tv"`, true},
		{`belarus -"press tv"`, false},
		{`belarus -"press release"`, true},
		{"belarus OR zimbabwe", true},
		{"zimbabwe | minsk", true},
		{"zimbabwe OR angola", false},
		{"iran drones", true},
		{"iran zimbabwe", false},
		{"(zimbabwe OR minsk) (drones -nato)", false},
		{"(zimbabwe OR minsk) (drones -angola)", true},
		{"(iran zimbabwe) OR (minsk drones)", true},
		{"iran NOT ukraine", false},
		{"iran AND drones", true},
		{"dro*", true},
		{"drom*", false},
		{"title:belarus", true},
		{"title:drones", false},
		{`title:"military cooperation"`, true},
		{`title:"cooperation belarus"`, false},
		{"title:interest*", true},
		{"title:drone*", false},
		{"site:newsroom.example", true},
		{"site:en.newsroom.example", true},
		{"site:room.example", false},
		{"site:https://en.newsroom.example/other", true},
		{"belarus -site:newsroom.example", false},
		{"attaché", true}, // accents fold both ways
		{"attache", true},
		{"ATTACHE", true},
		{"-(ukraine nato) iran", false},
		{"-(ukraine zimbabwe) iran", true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.query, err)
			}
			if got := q.Match(d); got != tt.want {
				t.Errorf("%q (normalised %q) matches the seed article: %v, want %v", tt.query, q, got, tt.want)
			}
			ix := NewIndex(nil)
			ix.Add("s1", q)
			if got := len(ix.Match(d)) == 1; got != tt.want {
				t.Errorf("index: %q matches: %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestFolding(t *testing.T) {
	d := NewDoc("Lukašenka in Zürich", "https://News.Example.COM./a", "Ærø’s straße met O’Brien; the ﬁnal “don’t” café.")
	tests := []struct {
		query string
		want  bool
	}{
		{"lukasenka", true},
		{"Lukašenka", true},
		{"LUKAŠENKA", true},
		{"title:zurich", true},
		{"aero", true},
		{"strasse", true},
		{"obrien", true},
		{"O'Brien", true},
		{"final", true},
		{"dont", true},
		{`"don't cafe"`, true},
		{"site:example.com", true},
		{"site:news.example.com", true},
	}
	for _, tt := range tests {
		q, err := Parse(tt.query)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.query, err)
		}
		if got := q.Match(d); got != tt.want {
			t.Errorf("%q matches: %v, want %v (words %q, host %q)", tt.query, got, tt.want, d.Words(), d.Host())
		}
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Belarus’ Armed Forces", []string{"belarus", "armed", "forces"}},
		{"Iran’s role in Russia-Ukraine", []string{"iran", "role", "in", "russia", "ukraine"}},
		{"don't stop", []string{"dont", "stop"}},
		{"it's 'quoted'", []string{"it", "quoted"}},
		{"U.S. 2024", []string{"u", "s", "2024"}},
		{"Lukašenka Łódź", []string{"lukasenka", "lodz"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := Tokens(tt.in); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Belarus  OR  Minsk", "belarus OR minsk"},
		{"minsk | belarus", "belarus OR minsk"},
		{"Iran drones", "drones iran"},
		{"drones  IRAN", "drones iran"},
		{"“Military Cooperation”", `"military cooperation"`},
		{"-Ukraine Lukashenko’s", "lukashenko -ukraine"},
		{"(a OR b) c", "a OR b c"},
		{"c (b | a)", "a OR b c"},
		{"(a b) OR c", "(a b) OR c"},
		{"((a))", "a"},
		{"a a", "a"},
		{"a OR a", "a"},
		{"(a OR b) OR c", "a OR b OR c"},
		{"a (b c)", "a b c"},
		{"Title:Belarus", "title:belarus"},
		{`TITLE:"Military  Cooperation"`, `title:"military cooperation"`},
		{"site:https://www.BBC.co.uk/news", "site:www.bbc.co.uk"},
		{"site:BBC.co.uk.", "site:bbc.co.uk"},
		{"Lukašenka", "lukasenka"},
		{"iran AND israel", "iran israel"},
		{"iran NOT israel", "iran -israel"},
		{"Belarus-Ukraine", `"belarus ukraine"`},
		{"DRONE*", "drone*"},
		{"title:Drone*", "title:drone*"},
		{"-(a OR b) c", "c -(a OR b)"},
		{`-"Press TV" iran`, `iran -"press tv"`},
		{"Iran & Israel", "iran israel"},
		{"-(a -b) c", "c -(a -b)"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := q.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		again, err := Parse(q.String())
		if err != nil || again.String() != q.String() {
			t.Errorf("normalised %q does not parse back to itself: %v, %v", q, again, err)
		}
	}
}

func TestTerms(t *testing.T) {
	q := MustParse(`"Military Cooperation" Iran -Israel drone* site:x.com (minsk OR title:kyiv)`)
	want := []string{"military cooperation", "drone*", "iran", "minsk", "kyiv"}
	if got := q.Terms(); !slices.Equal(got, want) {
		t.Errorf("Terms() = %q, want %q", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		query string
		pos   int
		msg   string
	}{
		{`"military`, 0, "closing quote"},
		{`belarus OR`, 10, "after OR"},
		{`belarus |`, 9, "after OR"},
		{`OR belarus`, 0, "before OR"},
		{`-ukraine`, 0, "not excluded"},
		{`-ukraine -"press tv"`, 0, "not excluded"},
		{`(belarus`, 8, "expected ) to close the ( at character 1"},
		{`belarus)`, 7, "unexpected )"},
		{`()`, 1, "inside ( )"},
		{`dr*`, 0, "at least 3 letters"},
		{`dr*one`, 2, "only at the end"},
		{`title:dr*one`, 8, "only at the end"},
		{`title:`, 6, "after title:"},
		{`title: belarus`, 6, "after title:"},
		{`site:`, 5, "host name"},
		{`site:bad..host`, 0, "host name"},
		{`belarus -`, 8, "right after -"},
		{`a OR -b`, 5, "not an exclusion"},
		{`-a OR b`, 3, "no OR after an exclusion"},
		{`(-a) b`, 0, "not excluded inside this group"},
		{`a AND`, 5, "after AND"},
		{`AND a`, 0, "before AND"},
		{`""`, 0, "words inside the quotes"},
		{`a -&`, 3, "letters or digits"},
		{``, 0, "expected a word or phrase"},
		{`   `, 3, "expected a word or phrase"},
		{`Łódź OR`, 7, "after OR"}, // positions count characters, not bytes
		{strings.Repeat("w ", 17), 32, "at most 16 terms"},
		{strings.Repeat("a", 300), 256, "at most 256"},
		{"((((((((((a))))))))))", 8, "nested"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.query)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tt.query, err)
			continue
		}
		if se.Pos != tt.pos || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("Parse(%q) = pos %d %q, want pos %d and %q", tt.query, se.Pos, se.Msg, tt.pos, tt.msg)
		}
		// Every reason exists in every language, filled in.
		for _, l := range locale.Langs {
			if m := se.In(l); strings.Contains(m, "[query.") || strings.Contains(m, "<no value>") {
				t.Errorf("Parse(%q) in %s: %q", tt.query, l, m)
			}
		}
	}
	if m := locale.Missing(); len(m) > 0 {
		t.Errorf("messages missing from the catalogues: %v", m)
	}
}

func TestParseHostileInputFailsFast(t *testing.T) {
	hostile := []string{
		strings.Repeat("(", 1000) + "a" + strings.Repeat(")", 1000),
		strings.Repeat("x", 10_000),
		strings.Repeat("(", 120) + "a",
		strings.Repeat("-", 200) + "a",
		strings.Repeat(`"`, 255),
		strings.Repeat("a|", 127) + "a",
	}
	for _, q := range hostile {
		start := time.Now()
		_, err := Parse(q)
		if err == nil {
			t.Errorf("Parse(%.40q...) accepted a hostile query", q)
		}
		if el := time.Since(start); el > 50*time.Millisecond {
			t.Errorf("Parse(%.40q...) took %v", q, el)
		}
	}
}

// TestSyntaxErrorIDs holds every reason the parser can give (the ids passed
// to errAt, and those it builds) to the catalogues, including the ones no
// query above reaches.
func TestSyntaxErrorIDs(t *testing.T) {
	src, err := os.ReadFile("query.go")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`errAt\(.*, "([a-z_]+)"`).FindAllSubmatch(src, -1)
	ids = append(ids, regexp.MustCompile(`what :?= "([a-z_]+)"`).FindAllSubmatch(src, -1)...)
	if len(ids) < 30 {
		t.Fatalf("found only %d errAt ids in query.go", len(ids))
	}
	for _, extra := range []string{"term", "term_end", "term_after", "term_after_end"} {
		ids = append(ids, [][]byte{nil, []byte(extra)})
	}
	for _, m := range ids {
		for _, l := range locale.Langs {
			e := &SyntaxError{id: string(m[1]), data: []any{"Len", 300, "Max", 3, "Min", 3, "Open", 1, "After", "-", "Field", "title"}}
			if s := e.In(l); strings.Contains(s, "[query.") || strings.Contains(s, "<no value>") {
				t.Errorf("%s: %s", l, s)
			}
		}
	}
}
