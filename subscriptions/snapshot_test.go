package subscriptions

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/herald-news/herald/internal/binfile"
)

// saveAndRead writes ix to a file and reads it back.
func saveAndRead(t *testing.T, ix *Index, freq *Frequencies) *Index {
	t.Helper()
	path := filepath.Join(t.TempDir(), "index")
	w, err := binfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.SaveTo(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r, err := binfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	back, err := ReadIndex(r, freq)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.End(); err != nil {
		t.Fatal(err)
	}
	return back
}

// An index read back from its file matches as the one saved did, and
// goes on doing so as ids are filed and taken out of both: the lists,
// the places of the postings, the free entries and the chunks of
// programs all came back as they were.
func TestSavedIndexReadsBack(t *testing.T) {
	g, docs := randomQueries(t, 11, 12)
	r := g.r
	var texts []string
	for len(texts) < 400 {
		if q, err := Parse(g.group(0)); err == nil {
			texts = append(texts, q.String())
		}
	}
	freq := NewFrequencies()
	for _, d := range docs[:len(docs)/2] {
		freq.Add(d)
	}
	want := NewIndex(nil) // by Add, the reference
	ix := NewIndex(freq)
	type filed struct {
		id string
		h  uint32
	}
	var held []filed
	next := 0
	round := func(ix *Index, stage string) {
		t.Helper()
		n := 300 + r.IntN(300)
		ids, qs := make([]string, n), make([]*Query, n)
		for i := range ids {
			ids[i] = fmt.Sprint("s", next)
			next++
			qs[i] = MustParse(texts[r.IntN(len(texts))])
			want.Add(ids[i], qs[i])
		}
		handles := make([]uint32, n)
		ix.FileBatch(ids, qs, handles)
		for i, id := range ids {
			held = append(held, filed{id, handles[i]})
		}
		for range len(held) / 3 {
			k := r.IntN(len(held))
			want.Remove(held[k].id)
			ix.Unfile(held[k].h, held[k].id)
			held = slices.Delete(held, k, k+1)
		}
		if ix.Len() != want.Len() || ix.Distinct() != want.Distinct() {
			t.Fatalf("%s: Len, Distinct = %d, %d; want %d, %d", stage, ix.Len(), ix.Distinct(), want.Len(), want.Distinct())
		}
		sameMatches(t, stage, ix, want, docs)
	}
	for i := range 3 {
		round(ix, fmt.Sprint("before saving, round ", i))
	}
	ix.Trim()
	back := saveAndRead(t, ix, nil) // new keys guessed, old ones as saved
	sameMatches(t, "read back", back, want, docs)
	for i := range 3 {
		round(back, fmt.Sprint("read back, round ", i))
	}
	again := saveAndRead(t, back, freq)
	sameMatches(t, "read back twice", again, want, docs)
}

// An index read back in a new process, whose vocabulary has not seen
// its words yet (numbered otherwise or not at all), matches as one built
// there from the same queries.
func TestSavedIndexReadsBackInANewProcess(t *testing.T) {
	defer func(v *vocabTable) { vocab = v }(vocab)
	build := func(file bool) (*Index, []*Doc) {
		g, docs := randomQueries(t, 13, 14)
		ix := NewIndex(nil)
		var ids []string
		var qs []*Query
		for i := 0; len(qs) < 2000; i++ {
			if q, err := Parse(g.group(0)); err == nil {
				ids, qs = append(ids, fmt.Sprint("s", i)), append(qs, q)
			}
		}
		if file {
			ix.FileBatch(ids, qs, make([]uint32, len(ids)))
		} else {
			ix.AddBatch(ids, qs)
		}
		return ix, docs
	}
	saved, _ := build(true)
	vocab = newVocabTable(maxVocab)
	lookupWord("unrelated") // numbers that differ from the first vocabulary's
	back := saveAndRead(t, saved, nil)
	want, docs := build(false) // the same queries and articles, in this vocabulary
	sameMatches(t, "read back in a new vocabulary", back, want, docs)
	vocab = newVocabTable(3) // full: words and stems get no numbers
	back = saveAndRead(t, saved, nil)
	want, docs = build(false)
	sameMatches(t, "read back in a full vocabulary", back, want, docs)
}

// A file cut short, changed, or written by a build that compiles
// otherwise is refused, and an index of Add's ids is not saved.
func TestSavedIndexRefusesWhatItDidNotWrite(t *testing.T) {
	ix := NewIndex(nil)
	ix.FileBatch([]string{"a", "b"}, []*Query{MustParse("iran drones"), MustParse("minsk")}, make([]uint32, 2))
	dir := t.TempDir()
	path := filepath.Join(dir, "index")
	w, _ := binfile.Create(path)
	if err := ix.SaveTo(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	for name, b := range map[string][]byte{
		"cut short": good[:len(good)-7],
		"changed":   append(append([]byte{}, good[:10]...), append([]byte{good[10] ^ 1}, good[11:]...)...),
		"empty":     nil,
	} {
		os.WriteFile(path, b, 0o600)
		if _, err := binfile.Open(path); !errors.Is(err, binfile.ErrDamaged) {
			t.Errorf("%s: Open = %v, want ErrDamaged", name, err)
		}
	}

	w, _ = binfile.Create(path)
	w.Uint(uint64(formatMark()) + 1)
	ix.save(w)
	w.Commit()
	rd, err := binfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadIndex(rd, nil); !errors.Is(err, ErrOtherFormat) {
		t.Errorf("another build's file: ReadIndex = %v, want ErrOtherFormat", err)
	}
	rd.Close()

	byAdd := NewIndex(nil)
	byAdd.Add("a", MustParse("iran"))
	w, _ = binfile.Create(path)
	defer w.Abort()
	if err := byAdd.SaveTo(w); !errors.Is(err, ErrNotSaved) {
		t.Errorf("SaveTo of an index filed by Add = %v, want ErrNotSaved", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".index.*")); len(left) > 1 {
		t.Errorf("temporary files left: %v", left)
	}
}
