package binfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFileReadsBackWhatWasWritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	long := strings.Repeat("ab", 1<<16) // read straight into its string
	nums := make([]uint32, 10000)
	for i := range nums {
		nums[i] = uint32(i * 2654435761)
	}
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Uint(1 << 40)
	w.String("short")
	w.String(long)
	w.Uint(6)
	w.Raw("in ")
	w.Raw("two")
	w.Uint32s(nums)
	w.Uint32sOf(3, func(i int) uint32 { return uint32(10 * i) })
	w.Float64s([]float64{0.25, -1e300})
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left after Commit: %v", left)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if v := r.Uint(); v != 1<<40 {
		t.Errorf("Uint = %d", v)
	}
	if s := r.String(); s != "short" {
		t.Errorf("String = %q", s)
	}
	if s := r.String(); s != long {
		t.Errorf("long String of %d bytes, want %d", len(s), len(long))
	}
	if s := r.String(); s != "in two" {
		t.Errorf("Raw parts read as %q", s)
	}
	if got := r.Uint32s(); !slices.Equal(got, nums) {
		t.Errorf("Uint32s: %d numbers, not the %d written", len(got), len(nums))
	}
	if got := r.Uint32s(); !slices.Equal(got, []uint32{0, 10, 20}) {
		t.Errorf("Uint32sOf read as %v", got)
	}
	if got := r.Float64s(); !slices.Equal(got, []float64{0.25, -1e300}) {
		t.Errorf("Float64s = %v", got)
	}
	if err := r.End(); err != nil {
		t.Errorf("End: %v", err)
	}
}

// A length beyond the end of the file is damage, not an allocation; a
// file not read to its end says so; an aborted file leaves the old one.
func TestFileRefusesLengthsItDoesNotHold(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	w, _ := Create(path)
	w.Uint(1 << 50) // read as the count of a run
	w.Uint(5)
	w.Commit()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Uint32s(); got != nil || !errors.Is(r.Err(), ErrDamaged) {
		t.Errorf("a run of 2^50 numbers in a file of a few bytes: %d read, err %v", len(got), r.Err())
	}
	if v := r.Uint(); v != 0 {
		t.Errorf("a read after an error = %d, want 0", v)
	}
	r.Close()

	r, _ = Open(path)
	r.Uint()
	if err := r.End(); !errors.Is(err, ErrDamaged) {
		t.Errorf("End with a number unread = %v", err)
	}
	r.Close()

	before, _ := os.ReadFile(path)
	w, _ = Create(path)
	w.String("never committed")
	w.Abort()
	if after, _ := os.ReadFile(path); !slices.Equal(after, before) {
		t.Error("an aborted file changed the one at its path")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left after Abort: %v", left)
	}

	// What a killed writer left is swept once old, not while it may be
	// another's write in progress.
	w, _ = Create(path)
	Sweep(path, time.Hour)
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 1 {
		t.Errorf("a write in progress was swept: %v", left)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(w.f.Name(), old, old)
	Sweep(path, time.Hour)
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("an abandoned write was not swept: %v", left)
	}
}
