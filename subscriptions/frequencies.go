package subscriptions

import (
	"strings"

	"github.com/kljensen/snowball/english"
)

// Frequencies counts in how many articles each word stem occurs. An Index
// given one files an AND query under its rarest term by these counts;
// build it from a sample of recent articles.
type Frequencies struct {
	docs int
	df   map[string]int32
}

// NewFrequencies returns empty counts.
func NewFrequencies() *Frequencies { return &Frequencies{df: make(map[string]int32)} }

// Add counts the distinct stems of one article.
func (f *Frequencies) Add(d *Doc) {
	f.docs++
	seen := make(map[string]bool, len(d.stems))
	for _, s := range d.stems {
		if !seen[s] {
			seen[s] = true
			f.df[strings.Clone(s)]++
		}
	}
}

// Docs returns how many articles were counted.
func (f *Frequencies) Docs() int { return f.docs }

// share estimates the fraction of articles that contain a stem.
func (f *Frequencies) share(stem string) float64 {
	if f == nil || f.docs == 0 {
		// No counts: stop words are everywhere, and longer words tend
		// to be rarer.
		if english.IsStopWord(stem) {
			return 0.9
		}
		return 0.3 / float64(len(stem)+1)
	}
	return (float64(f.df[stem]) + 0.5) / float64(f.docs+1)
}
