package summary

import (
	"slices"
	"testing"
)

func TestSentences(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", "One fell. Two rose! Did three? Yes.", []string{"One fell.", "Two rose!", "Did three?", "Yes."}},
		{"hyphenated rank", "Maj.-Gen. Andrey Lukyanovich arrived. He met officials.",
			[]string{"Maj.-Gen. Andrey Lukyanovich arrived.", "He met officials."}},
		{"two-word rank", "Brig. Gen. Hamid Vahedi spoke. Lt. Col. Smith and Sgt. Jones listened.",
			[]string{"Brig. Gen. Hamid Vahedi spoke.", "Lt. Col. Smith and Sgt. Jones listened."}},
		{"initialism mid-sentence", "U.S. officials met U.K. diplomats. Nothing was agreed.",
			[]string{"U.S. officials met U.K. diplomats.", "Nothing was agreed."}},
		{"initialism ends sentence", "Troops returned to the U.S. The war was over.",
			[]string{"Troops returned to the U.S.", "The war was over."}},
		{"initialism before name", "He met U.S. President Joe Biden.", []string{"He met U.S. President Joe Biden."}},
		{"titles", "Dr. Smith, Mr. Brown, Mrs. Green and Sen. White met Gov. Black and Rep. Gray at St. Paul's.",
			[]string{"Dr. Smith, Mr. Brown, Mrs. Green and Sen. White met Gov. Black and Rep. Gray at St. Paul's."}},
		{"month with day", "They met on Aug. 7 in Tehran. Talks lasted a day.",
			[]string{"They met on Aug. 7 in Tehran.", "Talks lasted a day."}},
		{"month ends sentence", "The vote is due in Jan. The result is open.",
			[]string{"The vote is due in Jan.", "The result is open."}},
		{"number", "It ranked No. 2 in the poll. No. It did not.", []string{"It ranked No. 2 in the poll.", "No.", "It did not."}},
		{"company", "Apple Inc. said sales rose. Shares of Acme Corp. The firm fell.",
			[]string{"Apple Inc. said sales rose.", "Shares of Acme Corp.", "The firm fell."}},
		{"company before name", "Acme Ltd. Chief Executive Jane Doe resigned.", []string{"Acme Ltd. Chief Executive Jane Doe resigned."}},
		{"latin", "Drones, missiles, etc. were shown, e.g. the Shahed, i.e. a loitering munition vs. jets.",
			[]string{"Drones, missiles, etc. were shown, e.g. the Shahed, i.e. a loitering munition vs. jets."}},
		{"initials", "J. R. R. Tolkien wrote it. C. S. Lewis read it.", []string{"J. R. R. Tolkien wrote it.", "C. S. Lewis read it."}},
		{"quote ends sentence", `He said, "We oppose NATO." Then he left.`, []string{`He said, "We oppose NATO."`, "Then he left."}},
		{"curly quote question", "“Is it over?” she asked. “No!” He shouted.",
			[]string{"“Is it over?” she asked.", "“No!”", "He shouted."}},
		{"single curly quote", "They called it ‘a breach.’ Talks ended.", []string{"They called it ‘a breach.’", "Talks ended."}},
		{"decimal", "Growth was 3.5 percent. Inflation hit 7.2%.", []string{"Growth was 3.5 percent.", "Inflation hit 7.2%."}},
		{"ellipsis", "He paused... and went on. Then silence… Nobody spoke.",
			[]string{"He paused... and went on.", "Then silence…", "Nobody spoke."}},
		{"url and email", "See www.example.com/a.html or write to press@example.org. Replies take a day.",
			[]string{"See www.example.com/a.html or write to press@example.org.", "Replies take a day."}},
		{"time", "It starts at 9 a.m. Tuesday. It ends at 5 p.m. The hall closes.",
			[]string{"It starts at 9 a.m. Tuesday.", "It ends at 5 p.m.", "The hall closes."}},
		{"paragraphs", "Headline without stop\n\nA wrapped\nline ends here.", []string{"Headline without stop", "A wrapped line ends here."}},
		{"cyrillic", "Президент прибыл в Минск. Встреча прошла в 2024 г. в столице. Он уехал.",
			[]string{"Президент прибыл в Минск.", "Встреча прошла в 2024 г. в столице.", "Он уехал."}},
		{"cyrillic abbreviations", "Улица им. Ленина, т.е. центр города. Проф. Иванов выступил. А. Лукашенко ответил.",
			[]string{"Улица им. Ленина, т.е. центр города.", "Проф. Иванов выступил.", "А. Лукашенко ответил."}},
		{"cyrillic year then new sentence", "Это случилось в 2023 г. В мае всё изменилось.",
			[]string{"Это случилось в 2023 г.", "В мае всё изменилось."}},
		{"russian initials", "А. Г. Лукашенко провёл совещание. В. В. Путин позвонил ему. Затем был обед.",
			[]string{"А. Г. Лукашенко провёл совещание.", "В. В. Путин позвонил ему.", "Затем был обед."}},
		{"russian spaced abbreviations", "Соглашение заключено на пять лет, т. е. до 2031 г. Однако подробности не раскрываются. Речь шла о топливе, зерне и т. д. Они уехали.",
			[]string{"Соглашение заключено на пять лет, т. е. до 2031 г.", "Однако подробности не раскрываются.", "Речь шла о топливе, зерне и т. д.", "Они уехали."}},
		// As with "Inc.": a capitalised name after г. or т. д. may go on
		// the sentence ("в 2024 г. Лукашенко заявил").
		{"russian ambiguous abbreviation before a name", "В 2024 г. Лукашенко заявил о выборах.", []string{"В 2024 г. Лукашенко заявил о выборах."}},
		{"russian spaced abbreviation before a name", "Это т. е. Минск, столица. Всё.", []string{"Это т. е. Минск, столица.", "Всё."}},
		{"persian", "وزیر امور خارجه ایران گفت، گفتگوها هفته آینده برگزار می‌شود. آیا سند تازه‌ای امضا می‌شود؟ مقام‌ها هنوز چیزی نگفته‌اند! جلسه بعدی در تهران است.",
			[]string{"وزیر امور خارجه ایران گفت، گفتگوها هفته آینده برگزار می‌شود.", "آیا سند تازه‌ای امضا می‌شود؟", "مقام‌ها هنوز چیزی نگفته‌اند!", "جلسه بعدی در تهران است."}},
		{"persian quotation", "او گفت: «من می‌خواهم متن توافق منتشر شود.» جلسه تمام شد.",
			[]string{"او گفت: «من می‌خواهم متن توافق منتشر شود.»", "جلسه تمام شد."}},
		{"persian comma and semicolon", "تهران، مسکو و مینسک؛ سه پایتخت در یک جمله.", []string{"تهران، مسکو و مینسک؛ سه پایتخت در یک جمله."}},
		{"cyrillic lowercase continues", "Было сказано «нет». и всё.", []string{"Было сказано «нет». и всё."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sentences(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Sentences(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
