package summary

import (
	"slices"
	"strings"
	"testing"
)

// A Persian article written for this test: its fourth sentence names
// Iran as an Arabic keyboard types it (ايران), the fifth has Persian
// digits.
const persianArticle = `وزیر امور خارجه گفت دور تازه‌ای از گفتگوها هفته آینده در ژنو برگزار می‌شود. او افزود که دولت به تعهدات خود پایبند است، اما تحریم‌ها باید برداشته شوند. دیپلمات‌های اروپایی هنوز واکنشی نشان نداده‌اند؟ یکی از آنان گفت که متن پیشنهادی را می‌خوانند!

سخنگوی دولت گفت نمایندگان ايران پیش از سفر با مجلس دیدار می‌کنند. جلسه بعدی روز ۲۵ مهر برگزار خواهد شد.`

// A Russian article written for this test; only its last sentence names
// Belarus, in the instrumental case.
const russianArticle = `Министры обороны двух стран встретились в Москве 12 мая. Стороны договорились расширить военное сотрудничество, т. е. провести осенью совместные учения. Об этом сообщил А. Г. Смирнов, представитель министерства.

Подробности соглашения не раскрываются. Эксперты считают, что оно рассчитано на пять лет. Соглашение с Беларусью подписано в присутствии журналистов.`

func TestPersianSummary(t *testing.T) {
	sents := Sentences(persianArticle)
	if len(sents) != 6 {
		t.Fatalf("%d sentences, want 6: %q", len(sents), sents)
	}
	for _, topic := range [][]string{nil, {"ایران"}, {"1403", "25"}, {"دیپلمات"}} {
		got := Summarize(persianArticle, Options{Sentences: 2, Topic: topic})
		// Each sentence of the summary is one of the article's, intact:
		// its joiners, its "،" and its "؟" as written.
		for _, s := range Sentences(got) {
			if !slices.Contains(sents, s) {
				t.Errorf("topic %q: summary sentence %q is not one of the article's", topic, s)
			}
		}
		if strings.ContainsAny(got, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069") {
			t.Errorf("topic %q: summary has direction marks: %q", topic, got)
		}
		if len(topic) > 0 && !strings.Contains(got, topicSentence(sents, topic[len(topic)-1])) {
			t.Errorf("topic %q: summary does not show the sentence that names it: %q", topic, got)
		}
	}
}

// topicSentence returns the sentence of sents that has a word of w's stem.
func topicSentence(sents []string, w string) string {
	st := stemmer{}
	for _, s := range sents {
		if slices.Contains(st.allStems(s), st.stem(w)) {
			return s
		}
	}
	return "no sentence has " + w
}

func TestRussianSummary(t *testing.T) {
	sents := Sentences(russianArticle)
	if len(sents) != 6 {
		t.Fatalf("%d sentences, want 6: %q", len(sents), sents)
	}
	got := Summarize(russianArticle, Options{Sentences: 2, Topic: []string{"беларусь"}})
	if !strings.Contains(got, "Соглашение с Беларусью подписано") {
		t.Errorf("topic беларусь: the summary lacks the sentence that names it: %q", got)
	}
	for _, s := range Sentences(got) {
		if !slices.Contains(sents, s) {
			t.Errorf("summary sentence %q is not one of the article's", s)
		}
	}
}
