package summary

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

const seedPath = "../../shared/seed/article.txt"

func readSeed(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(seedPath)
	if err != nil {
		tb.Skipf("seed article %s not available (the shared folder sits beside the module): %v", seedPath, err)
	}
	return string(b)
}

// seedNoise are the pieces of page furniture the seed article carries.
var seedNoise = []string{"Last update", "Newsroom logo", "None", "IRNA news agency", "By Nigar", "Bayramli", "Interested in Developing"}

func TestSeedSummary(t *testing.T) {
	text := readSeed(t)
	cleaned := Clean(text)
	for _, noise := range seedNoise {
		if strings.Contains(cleaned, noise) {
			t.Errorf("Clean kept %q", noise)
		}
	}
	if !strings.HasPrefix(cleaned, "Major General Andrey Lukyanovich") {
		t.Errorf("cleaned text should open with the first paragraph of the story, got %.80q", cleaned)
	}
	got := Summarize(text, Options{})
	t.Logf("summary: %s", got)
	for _, noise := range seedNoise {
		if strings.Contains(got, noise) {
			t.Errorf("summary contains page noise %q", noise)
		}
	}
	// Who met whom, where, about what.
	for _, want := range []string{"Lukyanovich", "Mousavi", "Tehran", "military", "cooperation"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary does not name %q", want)
		}
	}
	if n := len(Sentences(got)); n != 3 {
		t.Errorf("summary has %d sentences, want 3", n)
	}
}

func TestTopicSentence(t *testing.T) {
	text := readSeed(t)
	plain := Summarize(text, Options{})
	if strings.Contains(plain, "Haniyeh") {
		t.Fatalf("the plain summary already names Haniyeh; the test needs a topic outside the lead")
	}
	for _, topic := range [][]string{{"Haniyeh"}, {"haniyeh"}, {"Ismail Haniyeh"}, {"Hanіyeh", "Haniyeh"}} {
		got := Summarize(text, Options{Topic: topic})
		if !strings.Contains(got, "Haniyeh") {
			t.Errorf("topic %q: summary lacks the Haniyeh sentence: %s", topic, got)
		}
		if n := len(Sentences(got)); n != 3 {
			t.Errorf("topic %q: %d sentences, want 3", topic, n)
		}
		if !strings.HasPrefix(got, "Major General Andrey Lukyanovich") {
			t.Errorf("topic %q: the lead should stay first: %.60q", topic, got)
		}
	}
	// A term already in the summary changes nothing; one nowhere in the
	// text changes nothing either.
	for _, topic := range [][]string{{"Tehran"}, {"NATO", "zeppelin"}, {"zeppelin"}} {
		if got := Summarize(text, Options{Topic: topic}); got != plain {
			t.Errorf("topic %q changed the summary:\n%s", topic, got)
		}
	}
	// Inflections and prefixes: "drone" finds "drones", "sanction*" finds "sanctions".
	for _, topic := range []string{"drone", "sanction*"} {
		got := Summarize(text, Options{Topic: []string{topic}})
		if !strings.Contains(got, strings.TrimSuffix(topic, "*")) {
			t.Errorf("topic %q not shown: %s", topic, got)
		}
	}
}

func TestBudget(t *testing.T) {
	text := readSeed(t)
	for _, n := range []int{1, 2, 5} {
		if got := len(Sentences(Summarize(text, Options{Sentences: n}))); got != n {
			t.Errorf("Sentences: %d gave %d sentences", n, got)
		}
	}
	for _, limit := range []int{120, 200, 400} {
		got := Summarize(text, Options{Chars: limit})
		if utf8.RuneCountInString(got) > limit || got == "" {
			t.Errorf("Chars %d: got %d chars: %q", limit, utf8.RuneCountInString(got), got)
		}
		if strings.HasSuffix(got, "…") {
			t.Errorf("Chars %d: a whole sentence fits, yet the summary was cut: %q", limit, got)
		}
	}
	// One sentence longer than the budget is cut at a word with an ellipsis.
	long := "The committee, meeting for the third time this year in the capital, agreed after a long debate to extend the programme by two years."
	got := Summarize(long, Options{Chars: 40})
	if utf8.RuneCountInString(got) > 40 || !strings.HasSuffix(got, "…") || strings.HasSuffix(got, " …") {
		t.Errorf("cut = %q", got)
	}
	if !strings.HasPrefix(long, strings.TrimSuffix(got, "…")+" ") {
		t.Errorf("cut %q is not at a word boundary of the sentence", got)
	}
	if Summarize("", Options{}) != "" || Summarize("  \n\n ", Options{}) != "" {
		t.Error("empty text should give an empty summary")
	}
}

func TestArticleOrderAndRepeats(t *testing.T) {
	text := strings.Join([]string{
		"The city council approved a new budget for road repairs on Monday evening after a long session.",
		"The city council approved a new budget for road repairs on Monday evening after a lengthy session.",
		"Residents had complained for years about potholes on the main avenues of the old town.",
		"Work on the first streets is expected to start in the spring, the mayor's office said.",
		"Critics said the money would not be enough to fix the bridges as well.",
	}, "\n\n")
	got := Sentences(Summarize(text, Options{Sentences: 3}))
	if len(got) != 3 {
		t.Fatalf("got %d sentences: %q", len(got), got)
	}
	if strings.Contains(got[1], "lengthy") {
		t.Errorf("near-repeat of the lead kept: %q", got)
	}
	last := -1
	for _, s := range got {
		i := strings.Index(text, s)
		if i < last {
			t.Errorf("sentences not in article order: %q", got)
		}
		last = i
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		name, in, title, want string
	}{
		{"stamp, logo, title, byline, placeholder, caption",
			"Last update: May 2, 2025 10:00\n\nDaily Planet logo\n\nMayor Opens Bridge\n\nBy Lois Lane May 1, 2025\n\nNone\n\nThe mayor cuts the ribbon on Thursday. / Planet Photo Service\n\nThe mayor opened the new bridge on Thursday, ending six years of works.\n\nTraffic is expected to ease.",
			"", "The mayor opened the new bridge on Thursday, ending six years of works.\n\nTraffic is expected to ease."},
		{"title repeated in body",
			"The mayor opened the new bridge on Thursday, ending six years of works.\n\nMayor opens bridge\n\nTraffic is expected to ease.",
			"Mayor Opens Bridge", "The mayor opened the new bridge on Thursday, ending six years of works.\n\nTraffic is expected to ease."},
		{"prompts and ads",
			"Officials confirmed the deal late on Friday after weeks of talks.\n\nAdvertisement\n\nShare this article\n\nSubscribe to our newsletter for daily updates\n\nRead more: Earlier deals\n\nThe agreement runs for ten years.\n\nADVERTISEMENT",
			"", "Officials confirmed the deal late on Friday after weeks of talks.\n\nThe agreement runs for ten years."},
		{"dateline and link tail",
			"LONDON (Reuters) - Prices rose for a third month in May, data showed. Watch the report »\n\nAnalysts had expected a fall.",
			"", "Prices rose for a third month in May, data showed.\n\nAnalysts had expected a fall."},
		{"cnn dateline",
			"(CNN)Rescuers reached the village on Sunday after the storm cut all roads.\n\nMore help is on the way.",
			"", "Rescuers reached the village on Sunday after the storm cut all roads.\n\nMore help is on the way."},
		{"byline repeated, caption echoing the next paragraph",
			"By Jane Roe\n\nThe minister resigned on Tuesday after a row over the budget with her party.\n\nThe minister resigned over the budget row.\n\nHer deputy, a former banker who joined the government last year, will take over the ministry for now and lead the budget talks.\n\nBy Jane Roe",
			"", "The minister resigned on Tuesday after a row over the budget with her party.\n\nHer deputy, a former banker who joined the government last year, will take over the ministry for now and lead the budget talks."},
		{"prose starting with By is kept",
			"By noon the square was full of protesters, police said.\n\nThe march went on until dusk.",
			"", "By noon the square was full of protesters, police said.\n\nThe march went on until dusk."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CleanWithTitle(tt.in, tt.title); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestHTML(t *testing.T) {
	page := `<!doctype html><html><head><title>T</title><script>var x = "Evil. Script.";</script></head>
<body><nav>Home · World · Sport</nav><article><h1>Bridge opens</h1>
<figure><img src=a.jpg><figcaption>The mayor cuts the ribbon.</figcaption></figure>
<p>The mayor opened the <b>new bridge</b> on Thursday &amp; said it ends six years of works.</p>
<p>Traffic is expected to ease<br>across the river.</p></article><footer>© Planet</footer></body></html>`
	text := FromHTML(page)
	for _, bad := range []string{"Evil", "Home", "ribbon", "©", "<"} {
		if strings.Contains(text, bad) {
			t.Errorf("FromHTML kept %q:\n%s", bad, text)
		}
	}
	got := Summarize(page, Options{Sentences: 2})
	want := "The mayor opened the new bridge on Thursday & said it ends six years of works. Traffic is expected to ease across the river."
	if got != want {
		t.Errorf("Summarize(html) = %q\nwant %q", got, want)
	}
}

func TestCyrillicSummary(t *testing.T) {
	text := "Обновлено: 8 августа 2024 12:00\n\nПрезидент Беларуси встретился в Минске с делегацией Ирана и обсудил военное сотрудничество.\n\nСтороны договорились расширять обмен опытом в 2025 г. и проводить совместные учения.\n\nВ. Иванов, эксперт, считает, что это встревожит НАТО.\n\nПодписывайтесь на наш канал"
	got := Summarize(text, Options{Sentences: 3})
	if strings.Contains(got, "Обновлено") || strings.Contains(got, "Подписывайтесь") {
		t.Errorf("furniture kept: %s", got)
	}
	if n := len(Sentences(got)); n != 3 {
		t.Errorf("got %d sentences: %s", n, got)
	}
}
