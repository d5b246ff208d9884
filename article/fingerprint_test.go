package article

import (
	"encoding/json"
	"math/bits"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
)

// nearDuplicate is the comparison the watcher's story script makes (in
// Lua, beside the fingerprints it keeps): the calibration is about it.
func nearDuplicate(a, b uint64) bool {
	return bits.OnesCount64(a^b) <= NearDuplicateBits
}

func TestSimhashBasics(t *testing.T) {
	if got := Simhash(""); got != 0 {
		t.Errorf("Simhash(\"\") = %x, want 0", got)
	}
	if got := Simhash(" ,.;— "); got != 0 {
		t.Errorf("Simhash of punctuation = %x, want 0", got)
	}
	a := "Lukašenka met the Iranian delegation in Minsk on Tuesday."
	if Simhash(a) != Simhash("LUKASENKA met the iranian delegation, in Minsk on Tuesday!") {
		t.Error("case, accents and punctuation should not change the fingerprint")
	}
	if Simhash(a) != Simhash(a) {
		t.Error("not deterministic")
	}
	if Simhash("one") == Simhash("two") {
		t.Error("different single words collide")
	}
	if !nearDuplicate(0, 1<<NearDuplicateBits-1) || nearDuplicate(0, 1<<(NearDuplicateBits+1)-1) {
		t.Error("nearDuplicate threshold is not NearDuplicateBits")
	}
}

// corpusTexts are the human-checked article bodies of the extraction
// benchmark: real news texts on many topics, a few from one publisher.
func corpusTexts(t *testing.T) (texts, hosts []string) {
	t.Helper()
	raw, err := os.ReadFile("../../shared/corpora/extraction/ground-truth.json")
	if err != nil {
		t.Skipf("extraction corpus not available (%v): it is shared beside the project, not part of it", err)
	}
	var truth map[string]struct {
		ArticleBody string `json:"articleBody"`
		URL         string `json:"url"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(truth))
	for id := range truth {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		// Below about 150 words a fingerprint moves too much per edit;
		// such items are compared by URL, and the watcher fetches the page
		// of an item that short anyway.
		if body := truth[id].ArticleBody; len(strings.Fields(body)) >= 150 {
			texts = append(texts, body)
			host := truth[id].URL
			if u, err := url.Parse(host); err == nil {
				host = strings.TrimPrefix(u.Hostname(), "www.")
			}
			hosts = append(hosts, host)
		}
	}
	return texts, hosts
}

// lightEdits are what a republisher does to a story: its own headline and
// sign-off, a newsletter line, a few words changed, the last paragraph cut.
func lightEdits(text string) map[string]string {
	words := strings.Fields(text)
	changed := make([]string, len(words))
	copy(changed, words)
	for i := 7; i < len(changed); i += 100 { // 1% of words
		changed[i] = "altered"
	}
	// The last paragraph, when it is under a tenth of the text: a cut that
	// removes more has removed part of the story.
	paras := strings.Split(strings.TrimSpace(text), "\n")
	cut := text
	if last := paras[len(paras)-1]; len(paras) > 1 && len(strings.Fields(last))*10 <= len(words) {
		cut = strings.Join(paras[:len(paras)-1], "\n")
	}
	return map[string]string{
		"headline and sign-off": "Exclusive: what you need to know today\n" + text + "\nCopyright 2024 Example Wire. All rights reserved. This material may not be published or redistributed.",
		"boilerplate lines":     "Sign up for our morning newsletter.\n" + text + "\nFollow us on Twitter and Facebook for the latest news. Read more stories like this on our website.",
		"1% of words changed":   strings.Join(changed, " "),
		"last paragraph cut":    cut,
	}
}

// TestNearDuplicateCalibration is how NearDuplicateBits was chosen: the
// largest distance of a lightly edited copy must stay at or under it, the
// smallest distance between two different articles well over it.
func TestNearDuplicateCalibration(t *testing.T) {
	texts, hosts := corpusTexts(t)
	fps := make([]uint64, len(texts))
	for i, s := range texts {
		fps[i] = Simhash(s)
	}
	maxEdit := map[string]int{}
	var editDists []int
	for i, s := range texts {
		for name, edited := range lightEdits(s) {
			d := bits.OnesCount64(fps[i] ^ Simhash(edited))
			editDists = append(editDists, d)
			maxEdit[name] = max(maxEdit[name], d)
			if !nearDuplicate(fps[i], Simhash(edited)) {
				t.Errorf("text %d, %s: distance %d, want a near duplicate (<= %d)", i, name, d, NearDuplicateBits)
			}
		}
	}
	var pairDists []int
	closest, ci, cj := 64, 0, 0
	sameSite := 64 // closest pair from one publisher: same topic, house style
	for i := range fps {
		for j := i + 1; j < len(fps); j++ {
			d := bits.OnesCount64(fps[i] ^ fps[j])
			pairDists = append(pairDists, d)
			if hosts[i] == hosts[j] {
				sameSite = min(sameSite, d)
			}
			if d < closest {
				closest, ci, cj = d, i, j
			}
			if nearDuplicate(fps[i], fps[j]) {
				t.Errorf("texts %d and %d are different articles but %d bits apart:\n%.200s\n---\n%.200s", i, j, d, texts[i], texts[j])
			}
		}
	}
	sort.Ints(editDists)
	sort.Ints(pairDists)
	pct := func(s []int, p float64) int { return s[int(p*float64(len(s)-1))] }
	t.Logf("%d texts; edited copies: median %d, p95 %d, max %d bits (per edit: %v)",
		len(texts), pct(editDists, .5), pct(editDists, .95), editDists[len(editDists)-1], maxEdit)
	t.Logf("%d pairs of different articles: min %d, p1 %d, median %d bits; threshold %d",
		len(pairDists), pairDists[0], pct(pairDists, .01), pct(pairDists, .5), NearDuplicateBits)
	t.Logf("closest two articles from one site: %d bits", sameSite)
	t.Logf("closest different articles:\n%.300s\n---\n%.300s", texts[ci], texts[cj])
}

// Two stories on one topic, written for this test, so the check runs
// without the shared corpus.
const (
	stormA = `A powerful storm struck the northern coast on Monday, flooding streets and cutting power to thousands of homes across the region.
Emergency services said they had rescued dozens of people from cars caught in rising water, and urged residents to stay indoors until the evening.
The weather service expects the wind to ease overnight, although heavy rain is likely to continue into Tuesday morning in the hills above the river valley.
Schools in three districts will stay closed, officials said, while engineers inspect bridges and sea walls for damage after the highest tide in a decade.
The regional governor visited a shelter in the harbour town, where more than two hundred people spent the night on camp beds in a sports hall.
Rail services between the two largest cities were suspended after a landslide covered the tracks near the tunnel, and the operator said repairs could take a week.
Farmers in the lowlands reported flooded fields and lost livestock, and an association of growers asked the government for emergency support before the spring planting.
Insurers said it was too early to estimate the cost, but one broker compared the damage with the floods that hit the same coast eleven years ago.`
	stormB = `Thousands of households on the northern coast were still without electricity on Wednesday, two days after a storm brought down power lines across the region.
The grid operator said crews from neighbouring provinces had arrived to help, but warned that some villages in the hills might wait until the weekend.
Residents queued for drinking water at distribution points set up by the army, as the local water company tested supplies for contamination from the floods.
In the harbour town, shop owners shovelled mud from their premises and counted losses, while volunteers cleared debris from the promenade.
The government announced a relief fund for affected families and small businesses, and opposition politicians demanded an inquiry into the state of the sea walls.
Forecasters said calmer weather would hold for the rest of the week, giving engineers time to repair the damaged rail line near the tunnel.`
)

func TestNearDuplicateStories(t *testing.T) {
	a := Simhash(stormA)
	republished := "Storm batters north coast: thousands without power\n" + stormA +
		"\nReporting by the regional desk. Copyright 2024 Example Wire. All rights reserved."
	if d := bits.OnesCount64(a ^ Simhash(republished)); !nearDuplicate(a, Simhash(republished)) {
		t.Errorf("same story with a new headline and sign-off is %d bits away, want <= %d", d, NearDuplicateBits)
	}
	if d := bits.OnesCount64(a ^ Simhash(stormB)); nearDuplicate(a, Simhash(stormB)) {
		t.Errorf("two different stories on the same storm are only %d bits apart", d)
	}
}
