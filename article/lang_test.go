package article

import "testing"

func TestDetectLang(t *testing.T) {
	for _, tc := range []struct {
		name, title, text, declared, want string
	}{
		{"russian", "В Беларуси назвали дату выборов", "Центральная избирательная комиссия назвала дату президентских выборов. Наблюдателей из соседних стран на них не пригласили. По словам оппозиции, итоги выборов известны заранее, а голосовать за границей можно будет только в посольствах.", "", "ru"},
		{"persian", "ایران و اروپا دوباره مذاکره می‌کنند", "وزیر امور خارجه ایران گفت دور تازه‌ای از گفتگوها هفته آینده در ژنو برگزار می‌شود.", "", "fa"},
		{"persian typed on an Arabic keyboard", "انتخابات رياست جمهوري در ايران", "شوراي نگهبان فهرست نامزدهاي انتخابات را اعلام كرد. بسياري از چهره‌هاي شناخته شده رد صلاحيت شدند.", "", "fa"},
		{"english", "Belarus sets a date for its election", "Belarus will hold its presidential election in January, the central election commission said on Tuesday.", "", "en"},
		// A site template that declares English over a Russian text.
		{"confident detection over the page", "Россия и Беларусь расширят военное сотрудничество", "Министры обороны двух стран встретились в Москве и договорились провести осенью совместные учения.", "en-US", "ru"},
		// Too little text to be sure: the page knows better.
		{"declared when unsure", "Minsk", "", "be-BY", "be"},
		// A title alone is too short for the detector (it says Spanish).
		{"declared over an unsure guess", "Iran denies sending drones to Russia", "", "en", "en"},
		{"no letters keeps what was declared", "2024", "", "de", "de"},
		{"a malformed declaration is dropped", "", "", "english", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Article{Title: tc.title, Text: tc.text, Lang: tc.declared}
			a.DetectLang()
			if a.Lang != tc.want {
				t.Errorf("DetectLang(%q, declared %q) = %q, want %q", tc.title, tc.declared, a.Lang, tc.want)
			}
		})
	}
}
