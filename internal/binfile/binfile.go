// Package binfile writes and reads files of numbers and strings that a
// process saves for its next start (a matcher's index), checked whole
// before they are read: such a file may be cut short by a crash or a full
// disk, or be one another version wrote.
//
// A file is what its writer put in, in order, then a CRC-32 (Castagnoli)
// of all of it. Numbers are unsigned varints, or little-endian uint32s in
// runs; a string or a run starts with its length. A reader never takes a
// length for more than the file still holds, so a damaged file is an
// error, not an allocation of gigabytes.
package binfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Writer writes a file in place of path when it is committed: into a
// temporary file beside it, renamed over path only once complete, so a
// reader finds the old file or the new one, never a part. The first error
// sticks and Commit returns it.
type Writer struct {
	f    *os.File
	path string
	w    *bufio.Writer
	crc  hash.Hash32
	buf  []byte
	err  error
}

// Create starts a file that Commit puts at path.
func Create(path string) (*Writer, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	crc := crc32.New(castagnoli)
	return &Writer{f: f, path: path, crc: crc, w: bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)}, nil
}

// NewWriter returns a Writer into w, to Flush when done (and not to
// Commit): for what is not a file, as a checksum of what a file would hold.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w)}
}

// Flush writes out what is buffered and returns the first error.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// Sweep removes the temporary files of writes to path that were never
// committed nor aborted (the process was killed while writing) and are
// older than age: another process may be writing one now.
func Sweep(path string, age time.Duration) {
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".*"))
	for _, f := range left {
		if st, err := os.Stat(f); err == nil && time.Since(st.ModTime()) > age {
			os.Remove(f)
		}
	}
}

// Uint writes an unsigned varint.
func (w *Writer) Uint(v uint64) {
	if w.err == nil {
		w.buf = binary.AppendUvarint(w.buf[:0], v)
		_, w.err = w.w.Write(w.buf)
	}
}

// String writes s after its length.
func (w *Writer) String(s string) {
	w.Uint(uint64(len(s)))
	if w.err == nil {
		_, w.err = w.w.WriteString(s)
	}
}

// Raw writes s as it is, with no length: a string of known length in
// parts, as Uint(total) and then each part, reads back as one String.
func (w *Writer) Raw(s string) {
	if w.err == nil {
		_, w.err = w.w.WriteString(s)
	}
}

// Uint32s writes the numbers after their count, four bytes each.
func (w *Writer) Uint32s(s []uint32) {
	w.Uint32sOf(len(s), func(i int) uint32 { return s[i] })
}

// Uint32sOf writes n numbers, at(0) to at(n-1), as Uint32s does a slice
// of them, with no slice made.
func (w *Writer) Uint32sOf(n int, at func(i int) uint32) {
	w.run(n, func(b []byte, i int) []byte { return binary.LittleEndian.AppendUint32(b, at(i)) })
}

// Float64s writes the numbers after their count.
func (w *Writer) Float64s(s []float64) {
	w.run(len(s), func(b []byte, i int) []byte { return binary.LittleEndian.AppendUint64(b, math.Float64bits(s[i])) })
}

// run writes n after its count, put appending the i'th to a buffer
// written out every 4096 of them.
func (w *Writer) run(n int, put func(b []byte, i int) []byte) {
	w.Uint(uint64(n))
	for i := 0; i < n && w.err == nil; {
		k := min(n-i, 4096)
		w.buf = w.buf[:0]
		for j := i; j < i+k; j++ {
			w.buf = put(w.buf, j)
		}
		_, w.err = w.w.Write(w.buf)
		i += k
	}
}

// Commit ends the file with its checksum, syncs it and puts it at path.
func (w *Writer) Commit() error {
	if w.f == nil {
		panic("binfile: Commit of a Writer not made by Create")
	}
	if w.Flush(); w.err == nil {
		_, w.err = w.f.Write(binary.LittleEndian.AppendUint32(nil, w.crc.Sum32()))
	}
	if w.err == nil {
		w.err = w.f.Sync()
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	if w.err == nil {
		w.err = os.Rename(w.f.Name(), w.path)
	}
	if w.err != nil {
		os.Remove(w.f.Name())
	}
	return w.err
}

// Abort gives up the file; path keeps what it had.
func (w *Writer) Abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// ErrDamaged is returned for a file whose checksum is wrong or that
// ends before what it says it holds.
var ErrDamaged = errors.New("file damaged or cut short")

// Reader reads a file Writer wrote. The first error sticks: every read
// after it returns zero values, and Err reports it.
type Reader struct {
	f    *os.File
	r    *bufio.Reader
	left int64 // bytes before the checksum not yet read
	buf  []byte
	err  error
}

// Open checks the file at path against its checksum and returns a Reader
// at its start.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Reader, error) { f.Close(); return nil, err }
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	size := st.Size() - 4
	if size < 0 {
		return fail(fmt.Errorf("%s: %w", path, ErrDamaged))
	}
	crc := crc32.New(castagnoli)
	if _, err := io.Copy(crc, io.NewSectionReader(f, 0, size)); err != nil {
		return fail(err)
	}
	var sum [4]byte
	if _, err := f.ReadAt(sum[:], size); err != nil {
		return fail(err)
	}
	if binary.LittleEndian.Uint32(sum[:]) != crc.Sum32() {
		return fail(fmt.Errorf("%s: %w", path, ErrDamaged))
	}
	return &Reader{f: f, r: bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 1<<20), left: size}, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Err returns the first error.
func (r *Reader) Err() error { return r.err }

func (r *Reader) damaged() {
	if r.err == nil {
		r.err = ErrDamaged
	}
}

// Uint reads an unsigned varint.
func (r *Reader) Uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(r)
	if err != nil {
		r.damaged()
		return 0
	}
	return v
}

// ReadByte reads one byte (io.ByteReader, for the varints).
func (r *Reader) ReadByte() (byte, error) {
	if r.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	c, err := r.r.ReadByte()
	if err == nil {
		r.left--
	}
	return c, err
}

// Len reads a count of things of size bytes each (at least 1), checked
// against what the file still holds.
func (r *Reader) Len(size int) int {
	n := r.Uint()
	if n > uint64(r.left)/uint64(max(size, 1)) {
		r.damaged()
		return 0
	}
	return int(n)
}

// String reads a string.
func (r *Reader) String() string {
	n := r.Len(1)
	if n <= 1<<16 {
		return string(r.bytes(n))
	}
	// A long one is read into the string itself, not copied into one
	// from a buffer the Reader keeps: it may be most of the file.
	var b strings.Builder
	b.Grow(n)
	if _, err := io.CopyN(&b, r.r, int64(n)); err != nil {
		r.damaged()
		return ""
	}
	r.left -= int64(n)
	return b.String()
}

// bytes reads the next n bytes into the reader's buffer.
func (r *Reader) bytes(n int) []byte {
	if r.err != nil || n == 0 {
		return nil
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.damaged()
		return nil
	}
	r.left -= int64(n)
	return b
}

// Uint32s reads a run of numbers.
func (r *Reader) Uint32s() []uint32 {
	return readRun(r, 4, binary.LittleEndian.Uint32)
}

// Float64s reads a run of numbers.
func (r *Reader) Float64s() []float64 {
	return readRun(r, 8, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
}

// readRun reads a run of numbers of size bytes each, decoded by at; nil
// after an error.
func readRun[T any](r *Reader, size int, at func([]byte) T) []T {
	n := r.Len(size)
	if r.err != nil {
		return nil
	}
	out := make([]T, n)
	for i := 0; i < n; {
		k := min(n-i, 4096)
		b := r.bytes(size * k)
		if b == nil {
			return nil
		}
		for j := range k {
			out[i+j] = at(b[size*j:])
		}
		i += k
	}
	return out
}

// End reports an error unless the whole file was read.
func (r *Reader) End() error {
	if r.err == nil && r.left != 0 {
		r.err = fmt.Errorf("%d bytes left unread: %w", r.left, ErrDamaged)
	}
	return r.err
}
