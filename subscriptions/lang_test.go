package subscriptions

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// langArticle is an article of the language tests, with the language it
// was detected in at ingest.
type langArticle struct{ id, lang, title, text string }

// langArticles are short news items written for these tests.
var langArticles = []langArticle{
	{"ru-elections", "ru", "В Беларуси назвали дату выборов",
		"Центральная избирательная комиссия назвала дату президентских выборов. Наблюдателей из соседних стран на них не пригласили."},
	{"ru-defence", "ru", "Россия и Беларусь расширят военное сотрудничество",
		"Министры обороны встретились в Москве. Стороны договорились расширить военное сотрудничество. Соглашение с Беларусью заключено на пять лет."},
	{"ru-drones", "ru", "Иран отрицает поставки беспилотников",
		"Иран, по данным западных разведок, готовит новую партию беспилотников. Развитие военного сотрудничества Ирана и России беспокоит соседей. Ёлки-палки, провёл кто-то."},
	{"fa-talks", "fa", "ایران و اروپا دوباره مذاکره می‌کنند",
		"وزیر امور خارجه ایران گفت دور تازه‌ای از گفتگوها هفته آینده برگزار می‌شود. تحریم‌ها باید برداشته شوند."},
	{"fa-keyboard", "fa", "انتخابات رياست جمهوري در ايران",
		"شوراي نگهبان فهرست نامزدها را اعلام كرد. راي‌گيري در خرداد ۱۴۰۳ برگزار مي‌شود."},
	{"fa-marks", "fa", "مُذاکِرات ایـــران",
		"یکی از نمایندگان گفت: «من می‌خواهم متن توافق منتشر شود.» سال ٢٠٢٤ گذشت."},
	{"en-drones", "en", "Iran denies sending drones to Russia",
		`Iran's foreign ministry denied the reports. Russian agencies ran it under "Иран отрицает", and Tehran's television showed the word ایران over a map.`},
	{"en-governors", "en", "Lukashenka scolds his governors",
		"Alexander Lukashenka told regional governors in Minsk that the harvest was behind schedule."},
}

func langDocs() map[string]*Doc {
	docs := map[string]*Doc{}
	for _, a := range langArticles {
		docs[a.id] = NewDocLang(a.title, "https://news.example/"+a.id, a.text, a.lang)
	}
	return docs
}

// TestLanguages: words match across their inflections in Russian, across
// the letter variants, marks, digits and joiners of Persian, and lang:
// keeps to the articles detected in that language; a query evaluated on
// its own and the index agree.
func TestLanguages(t *testing.T) {
	docs := langDocs()
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"беларусь", []string{"ru-defence", "ru-elections"}}, // "в Беларуси", "с Беларусью"
		{"Беларуси", []string{"ru-defence", "ru-elections"}},
		{"беларусью", []string{"ru-defence", "ru-elections"}},
		{"выборы", []string{"ru-elections"}}, // "выборов"
		{`"военное сотрудничество"`, []string{"ru-defence"}},
		{`"военного сотрудничества"`, []string{"ru-drones"}}, // phrases stay exact
		{"военное", []string{"ru-defence", "ru-drones"}},     // a bare word inflects
		{"провел", []string{"ru-drones"}},                    // ё is е
		{"ёлки", []string{"ru-drones"}},
		{"ایران", []string{"en-drones", "fa-keyboard", "fa-marks", "fa-talks"}}, // ايران, ایـــران
		{"ايران", []string{"en-drones", "fa-keyboard", "fa-marks", "fa-talks"}},
		{"کرد", []string{"fa-keyboard"}},  // كرد
		{"مذاکرات", []string{"fa-marks"}}, // مُذاکِرات
		{"میخواهم", []string{"fa-marks"}}, // می‌خواهم: one word
		{"می‌خواهم", []string{"fa-marks"}},
		{"تحریمها", []string{"fa-talks"}},
		{"تحریم", []string{"fa-talks"}}, // تحریم‌ها: the plural
		{`"تحریم"`, nil},                // a phrase is exact
		{"تحریم‌های", []string{"fa-talks"}},
		{"1403", []string{"fa-keyboard"}},       // ۱۴۰۳
		{"2024", []string{"fa-marks"}},          // ٢٠٢٤
		{"lang:ru иран", []string{"ru-drones"}}, // not en-drones
		{"иран", []string{"en-drones", "ru-drones"}},
		{"lang:fa ایران", []string{"fa-keyboard", "fa-marks", "fa-talks"}},
		{"lang:en ایران", []string{"en-drones"}},
		{"lang:en iran", []string{"en-drones"}},
		{"lang:ru iran", nil},
		{"LANG:EN (lukashenka OR минск)", []string{"en-governors"}},
		{"lang:fa -تحریمها ایران", []string{"fa-keyboard", "fa-marks"}},
		{"title:беларусь lang:ru", []string{"ru-defence", "ru-elections"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			ix := NewIndex(nil)
			ix.Add("q", q)
			var direct, indexed []string
			for _, a := range langArticles {
				if q.Match(docs[a.id]) {
					direct = append(direct, a.id)
				}
				if len(ix.Match(docs[a.id])) == 1 {
					indexed = append(indexed, a.id)
				}
			}
			slices.Sort(direct)
			slices.Sort(indexed)
			if !slices.Equal(direct, tc.want) {
				t.Errorf("%q (%s) matches %q, want %q", tc.query, q, direct, tc.want)
			}
			if !slices.Equal(indexed, direct) {
				t.Errorf("%q: the index matches %q, evaluated alone %q", tc.query, indexed, direct)
			}
		})
	}
}

// TestLangQueries: lang: is one language for the whole query, beside a
// term that matches, and shows in the normalised form.
func TestLangQueries(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"lang:ru иран", "lang:ru иран"},
		{"иран LANG:RU", "lang:ru иран"},
		{"lang:fa ايران -تحريم", "lang:fa ایران -تحریم"},
		{"lang:en (iran OR tehran)", "iran OR tehran lang:en"},
	} {
		q, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if q.String() != tc.want {
			t.Errorf("Parse(%q) = %q, want %q", tc.in, q, tc.want)
		}
		if again := MustParse(q.String()).String(); again != q.String() {
			t.Errorf("%q parses again as %q", q, again)
		}
		if slices.ContainsFunc(q.Terms(), func(s string) bool { return strings.HasPrefix(s, "lang") }) {
			t.Errorf("%q: Terms %q name the language, which no summary shows", q, q.Terms())
		}
	}
	for _, in := range []string{
		"lang:ru", "lang:ru -иран", "lang:ru lang:en иран", "иран OR lang:ru", "lang:ru OR иран",
		"-lang:ru иран", "(lang:ru иран)", "lang:russian иран", "lang: иран", "lang:r1 иран",
	} {
		_, err := Parse(in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a syntax error", in, err)
			continue
		}
		t.Logf("%q: %v", in, err)
	}
}

// TestIndexHonoursLang runs the differential test with lang: in a third
// of the queries, on articles in three languages.
func TestIndexHonoursLang(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	docs, _ := testDocs(t, r, fallbackWords)
	langs := []string{"ru", "fa", "en"}
	var runs [][]string
	for i, d := range docs {
		docs[i] = withLang(d, langs[i%len(langs)])
		runs = append(runs, d.Words())
	}
	g := &queryGen{r: r, words: vocabulary(docs), runs: runs, langs: langs}
	checkDifferential(t, g, docs, nil)
}

// withLang returns d as an article in language lang.
func withLang(d *Doc, lang string) *Doc {
	return &Doc{host: d.host, lang: lang, titleLen: d.titleLen, at: d.at, uniq: d.uniq, stems: d.stems, wordIDs: d.wordIDs, stemIDs: d.stemIDs}
}

// TestAsksLang: an index says whether detecting an article's language
// can change what it matches.
func TestAsksLang(t *testing.T) {
	ix := NewIndex(nil)
	ix.Add("a", MustParse("иран"))
	if ix.AsksLang() {
		t.Fatal("an index without lang: queries asks for a language")
	}
	ix.Add("b", MustParse("lang:ru иран"))
	if !ix.AsksLang() {
		t.Fatal("an index with a lang: query does not ask for a language")
	}
}
