package subscriptions

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// refTokens is the tokeniser as the comment at the top of text.go states
// it, one rune at a time with no fast paths: tokenize, which copies ASCII
// words eight bytes at a time, must agree with it on every input.
func refTokens(s string) []string {
	// The runes of s; an invalid byte is utf8.RuneError, which is not part
	// of a word.
	var runes []rune
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		runes = append(runes, r)
		s = s[size:]
	}
	wordRune := func(i int) bool {
		return i < len(runes) && foldRune(runes[i]).word
	}
	var out []string
	var cur strings.Builder
	inWord := false // a combining mark alone starts a word that folds to ""
	end := func() {
		if inWord && cur.Len() > 0 {
			out = append(out, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		if isApostrophe(r) {
			switch {
			case !inWord:
			case i+1 < len(runes) && (runes[i+1] == 's' || runes[i+1] == 'S') && !wordRune(i+2):
				i++ // a possessive: drop the s too
				end()
			case !wordRune(i + 1):
				end()
			}
			continue
		}
		if r == zwnj || r == zwj {
			// Joins the word only between two of its letters.
			if !wordRune(i + 1) {
				end()
			}
			continue
		}
		f := foldRune(r)
		if !f.word {
			end()
			continue
		}
		inWord = true
		cur.WriteString(f.s)
	}
	end()
	return out
}

// FuzzTokens checks Tokens against refTokens, and that NewDoc keeps every
// token once in uniq, in order of first use, with its stem and numbers.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{
		"", "a", "Belarus’ Armed Forces", "Iran’s role in Russia-Ukraine", "don't stop", "it's 'quoted'",
		"U.S. 2024", "Lukašenka Łódź", "O’Brien's", "Straße ﬁnal Æsir", "Ǿ ŉ",
		"café cafe\u0301 \u0301alone \u0301's", "a'ʼb", "rock'n'roll", "the dogs' bowls",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789",
		"@[`{/:AZaz09", "Word\xffword\xc3", "x's's s' 's 'S", "12345678'9 abcdefgh`s",
		"MIXEDcase1234567890WORDSthatRUNlong", "tab\tnew\nline\r\x00nul",
		"日本語のテキスト 中文 한국어", "Ελληνικά Русский עברית العربية",
		"\ufdfa \u3371 ½ ² Ⅻ", "می\u200cخواهم \u200cها تحریم\u200c\u200cها a\u200db\u200c", "ايران كرد ایـــران مُذاکِره ۱۴۰۳ ٢٠٢٤", "Ёлка йод ЙОД ё", "emoji 👍🏽 ok", "aaaaaaa'", "aaaaaaaa's", "aaaaaaaaa’",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := refTokens(s)
		if got := Tokens(s); !slices.Equal(got, want) {
			t.Fatalf("Tokens(%q) = %q, want %q", s, got, want)
		}
		// Split s into a title and a text at a place that depends on s.
		cut := 0
		if len(s) > 0 {
			cut = int(s[0]) % (len(s) + 1)
		}
		title, text := s[:cut], s[cut:]
		titleWords := refTokens(title)
		want = append(titleWords, refTokens(text)...)
		d := NewDoc(title, "", text)
		if got := d.Words(); !slices.Equal(got, want) {
			t.Fatalf("NewDoc(%q, %q) words %q, want %q", title, text, got, want)
		}
		if d.titleLen != len(titleWords) {
			t.Fatalf("NewDoc(%q, %q) titleLen %d, want %d", title, text, d.titleLen, len(titleWords))
		}
		var uniq []string
		for _, w := range want {
			if !slices.Contains(uniq, w) {
				uniq = append(uniq, w)
			}
		}
		if !slices.Equal(d.uniq, uniq) {
			t.Fatalf("NewDoc(%q, %q) uniq %q, want %q", title, text, d.uniq, uniq)
		}
		for u, w := range uniq {
			e := lookupWord(w)
			if d.stems[u] != stemOf(w) || d.wordIDs[u] != e.word || d.stemIDs[u] != e.stemID {
				t.Fatalf("%q: stem %q, numbers %d, %d; vocab has %q, %d, %d",
					w, d.stems[u], d.wordIDs[u], d.stemIDs[u], stemOf(w), e.word, e.stemID)
			}
		}
	})
}

// TestVocabTable fills a small table from several goroutines at once: each
// word gets one number and its stem, numbers run from 1 without gaps, the
// table grows as it fills, and past its size new words get number 0.
func TestVocabTable(t *testing.T) {
	const limit = 5000
	v := newVocabTable(limit)
	words := make([]string, 2*limit)
	for i := range words {
		words[i] = fmt.Sprintf("w%dx", i) // up to eight bytes and longer
		if i%3 == 0 {
			words[i] += "longer"
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range words {
				w := words[(i+g*997)%len(words)]
				if g%2 == 0 {
					v.lookup(w)
				} else {
					v.add(w, hashWord(w), true)
				}
			}
		}()
	}
	wg.Wait()
	if len(v.entries) != limit || !v.full.Load() {
		t.Fatalf("%d words numbered, full %v; want %d, true", len(v.entries), v.full.Load(), limit)
	}
	if len(v.slots) < 2*limit {
		t.Fatalf("%d slots for %d words: more than half full", len(v.slots), limit)
	}
	seen := map[string]bool{}
	for i, e := range v.entries {
		if e.word != uint32(i+1) || seen[e.key] {
			t.Fatalf("entry %d: %+v (seen before: %v)", i, e, seen[e.key])
		}
		seen[e.key] = true
		if got := v.lookup(e.key); got != e {
			t.Fatalf("lookup(%q) = %+v, want %+v", e.key, got, e)
		}
	}
	for _, w := range words {
		e := v.lookup(w)
		if e.key != w || e.stem != stemOf(w) || (e.word == 0) == seen[w] {
			t.Fatalf("lookup(%q) = %+v, numbered before: %v", w, e, seen[w])
		}
	}
}

// TestNewDocConcurrent runs NewDoc from several goroutines on articles
// full of words vocab has not seen, so that look-ups race with additions
// and with the table growing (run it with -race).
func TestNewDocConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				var text strings.Builder
				for j := range 100 {
					fmt.Fprintf(&text, "Shared%d fresh%dx%dx%d, ", j%10, g, i, j)
				}
				d := NewDoc("", "", text.String())
				if len(d.at) != 200 || len(d.uniq) != 110 {
					t.Errorf("%d tokens, %d distinct; want 200, 110", len(d.at), len(d.uniq))
					return
				}
				for u, w := range d.uniq {
					if e := lookupWord(w); d.wordIDs[u] != e.word || d.stems[u] != e.stem {
						t.Errorf("%q: number %d, stem %q; vocab has %d, %q", w, d.wordIDs[u], d.stems[u], e.word, e.stem)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
