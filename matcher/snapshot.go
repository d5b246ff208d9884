package matcher

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/herald-news/herald/internal/binfile"
	"github.com/herald-news/herald/internal/numtab"
	"github.com/herald-news/herald/subscriptions"
)

// A snapshot is a matcher's index saved in a local file (SnapshotPath),
// so that a restart reads it back in seconds instead of reading and
// compiling every subscriber from Redis. It records the point of the
// change stream the index was current with; the restarted matcher follows
// the stream from there, as one that never stopped would. Re-reading a
// change is harmless (a change is applied by reading the subscriber as
// it is now), so a snapshot may name a point a little before its state,
// never after it.
//
// A snapshot is used only when everything it assumes still holds: the
// same build of the index (subscriptions.ReadIndex), the same partition,
// the same Redis (its subscriptions' epoch), and a change stream that
// still holds the recorded point, so that no change since was trimmed
// away. Otherwise, or if the file is damaged, the matcher says why and
// loads from Redis.
const snapshotMagic = "herald matcher snapshot 1"

// ErrNoSnapshot is Restore's error when there is no snapshot yet.
var ErrNoSnapshot = errors.New("no snapshot")

// errUnchecked wraps Restore's error when Redis did not answer: whether
// the snapshot fits is not known yet.
var errUnchecked = errors.New("snapshot not checked against Redis")

// SaveSnapshot writes the index to SnapshotPath.
func (m *Matcher) SaveSnapshot() error {
	m.changes.Lock() // the index as it is now, while matching goes on
	defer m.changes.Unlock()
	return m.saveLocked()
}

// saveLocked is SaveSnapshot for a caller that holds changes.
func (m *Matcher) saveLocked() error {
	if m.SnapshotPath == "" {
		return errors.New("no snapshot path")
	}
	started := time.Now()
	if err := os.MkdirAll(filepath.Dir(m.SnapshotPath), 0o700); err != nil {
		return err
	}
	// A process killed while saving left its file half written.
	binfile.Sweep(m.SnapshotPath, time.Hour)
	w, err := binfile.Create(m.SnapshotPath)
	if err != nil {
		return err
	}
	at := m.applied.Load()
	if m.epoch == "" || at == nil {
		w.Abort()
		return errors.New("nothing loaded to save")
	}
	w.String(snapshotMagic)
	w.String(m.epoch)
	w.Uint(uint64(m.Partition))
	w.Uint(uint64(max(m.Partitions, 1)))
	w.String(*at)
	if err := m.idx.SaveTo(w); err != nil {
		w.Abort()
		return err
	}
	ts := m.targets
	w.Uint(uint64(len(ts)))
	w.Uint32sOf(len(ts), func(i int) uint32 { return uint32(ts[i].chatID) })
	w.Uint32sOf(len(ts), func(i int) uint32 { return uint32(uint64(ts[i].chatID) >> 32) })
	w.Uint32sOf(len(ts), func(i int) uint32 {
		return uint32(ts[i].kind) | uint32(ts[i].n)<<8 | uint32(ts[i].reworded)<<16
	})
	for k := range inlineTopics {
		w.Uint32sOf(len(ts), func(i int) uint32 { return ts[i].filed[k] })
	}
	more := 0
	for i := range ts {
		if ts[i].more != nil {
			more++
		}
	}
	w.Uint(uint64(more))
	for i := range ts {
		if t := &ts[i]; t.more != nil {
			w.Uint(uint64(i))
			w.String(t.more.id)
			w.Uint32s(t.more.filed)
		}
	}
	w.Uint32s(m.free)
	subscribers := len(ts) - len(m.free)
	if err := w.Commit(); err != nil {
		return err
	}
	m.saved = *at
	m.log.Info("snapshot saved", "path", m.SnapshotPath, "subscribers", subscribers, "changes_to", *at, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// Restore reads the snapshot at SnapshotPath in place of Load, and
// returns the change stream point to follow from.
func (m *Matcher) Restore(ctx context.Context) (string, error) {
	started := time.Now()
	m.changes.Lock()
	defer m.changes.Unlock()
	sn, err := m.readBack(ctx, true)
	if err != nil {
		return "", err
	}
	m.log.Info("subscriptions loaded", "subscribers", len(sn.targets)-len(sn.free), "partition", m.partition(), "took", time.Since(started).Round(time.Millisecond), "from", m.SnapshotPath, "changes_from", sn.at)
	return sn.at, nil
}

// readBack reads the snapshot (see readSnapshot) and makes it the
// index; the caller holds changes.
func (m *Matcher) readBack(ctx context.Context, check bool) (*snapshot, error) {
	restoreGC := m.building()
	defer restoreGC()
	sn, err := m.readSnapshot(ctx, check)
	if err != nil {
		return nil, err
	}
	m.install(sn)
	restoreGC()
	m.settle()
	return sn, nil
}

// snapshot is what a snapshot file holds, read back.
type snapshot struct {
	epoch, at string
	idx       *subscriptions.Index
	targets   []target
	free      []uint32
	numbers   numtab.Table
}

// readSnapshot reads the file at SnapshotPath. With check, it refuses one
// that no longer fits Redis (see the top of this file) and counts word
// frequencies anew; without, the file is one this process has just
// written, and the index keeps the frequencies it has.
func (m *Matcher) readSnapshot(ctx context.Context, check bool) (*snapshot, error) {
	r, err := binfile.Open(m.SnapshotPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if magic := r.String(); r.Err() == nil && magic != snapshotMagic {
		return nil, fmt.Errorf("not a snapshot of this version (%.40q)", magic)
	}
	epoch, k, n, at := r.String(), int(r.Uint()), int(r.Uint()), r.String()
	if err := r.Err(); err != nil {
		return nil, err
	}
	if k != m.Partition || n != max(m.Partitions, 1) {
		return nil, fmt.Errorf("snapshot of partition %d/%d, not %s", k, n, m.partition())
	}
	if check {
		now, err := m.subs.Epoch(ctx, false)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUnchecked, err)
		}
		if now != epoch {
			return nil, errors.New("snapshot of other subscriptions (Redis's epoch differs: a flushed or other Redis)")
		}
		if err := m.changesSince(ctx, at); err != nil {
			return nil, err
		}
	}
	freq := m.idx.Frequencies()
	if check {
		freq = m.frequencies(ctx)
	}
	idx, err := subscriptions.ReadIndex(r, freq)
	if err != nil {
		return nil, err
	}
	count := r.Len(6)
	lo, hi, meta := r.Uint32s(), r.Uint32s(), r.Uint32s()
	var filed [inlineTopics][]uint32
	for k := range filed {
		filed[k] = r.Uint32s()
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(lo) != count || len(hi) != count || len(meta) != count || len(filed[inlineTopics-1]) != count {
		return nil, fmt.Errorf("snapshot targets disagree: %w", binfile.ErrDamaged)
	}
	targets := make([]target, count)
	for i := range targets {
		t := &targets[i]
		t.chatID = int64(uint64(hi[i])<<32 | uint64(lo[i]))
		t.kind, t.n, t.reworded = uint8(meta[i]), uint8(meta[i]>>8), uint16(meta[i]>>16)
		for k := range t.filed {
			t.filed[k] = filed[k][i]
		}
	}
	lo, hi, meta, filed = nil, nil, nil, [inlineTopics][]uint32{}
	for range r.Len(3) {
		i, id, handles := r.Uint(), r.String(), r.Uint32s()
		if r.Err() != nil || i >= uint64(count) {
			return nil, fmt.Errorf("snapshot targets disagree: %w", binfile.ErrDamaged)
		}
		if len(handles) == 0 {
			handles = nil
		}
		targets[i].more = &targetMore{id: id, filed: handles}
	}
	free := r.Uint32s()
	if err := r.End(); err != nil {
		return nil, err
	}
	var numbers numtab.Table
	var buf []byte
	for num := range targets {
		t := &targets[num]
		if t.kind == 0 {
			continue
		}
		var h uint64
		if t.more != nil && t.more.id != "" {
			h = maphash.String(m.seed, t.more.id)
		} else {
			buf = strconv.AppendInt(append(buf[:0], "tg:"...), t.chatID, 10)
			h = maphash.Bytes(m.seed, buf)
		}
		numbers.Insert(h, uint32(num))
	}
	return &snapshot{epoch: epoch, at: at, idx: idx, targets: targets, free: free, numbers: numbers}, nil
}

// install makes what a snapshot holds the matcher's index; the caller
// holds changes.
func (m *Matcher) install(sn *snapshot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.idx, m.targets, m.free, m.numbers = sn.idx, sn.targets, sn.free, sn.numbers
	m.epoch = sn.epoch
	m.applied.Store(&sn.at)
	m.saved = sn.at
}

// rebuild saves a snapshot and puts the index it reads back in place of
// the one loaded from Redis, holding off changes meanwhile (matching
// goes on). The two hold the same, but loading left the heap in pieces
// (it allocates some ten times what it keeps) and the packed ids in
// millions of strings: at 2.5 million subscribers a partition read back
// is resident at about 700 MiB instead of 900, and stays under 1 GiB
// while matching. It costs a few seconds once, after a first start.
func (m *Matcher) rebuild(ctx context.Context) error {
	m.changes.Lock()
	defer m.changes.Unlock()
	if err := m.saveLocked(); err != nil {
		return err
	}
	started := time.Now()
	if _, err := m.readBack(ctx, false); err != nil {
		return err
	}
	m.log.Info("index rebuilt from its snapshot", "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// changesSince checks that the change stream holds every change after
// point at: it still holds at itself (the stream is trimmed from its
// oldest end), or at is its start and it is empty.
func (m *Matcher) changesSince(ctx context.Context, at string) error {
	key := m.subs.ChangesKey()
	if at == "0-0" {
		n, err := m.st.Redis.XLen(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("%w: %w", errUnchecked, err)
		}
		if n > 0 {
			return errors.New("snapshot from before the first change; the changes since may be trimmed")
		}
		return nil
	}
	xs, err := m.st.Redis.XRangeN(ctx, key, at, at, 1).Result()
	if err != nil {
		return fmt.Errorf("%w: %w", errUnchecked, err)
	}
	if len(xs) == 0 {
		return fmt.Errorf("the change stream no longer holds %s, where the snapshot ends: changes since may be lost", at)
	}
	return nil
}

// keepSnapshots saves a snapshot every SnapshotEvery while there are
// changes it does not hold, and once more when ctx ends; loaded is
// whether the index came from Redis (no snapshot holds it yet).
func (m *Matcher) keepSnapshots(ctx context.Context, loaded bool) {
	every := m.SnapshotEvery
	if every <= 0 {
		every = 10 * time.Minute
	}
	save := func() {
		if at := m.applied.Load(); at != nil && *at == m.saved {
			return
		}
		if err := m.SaveSnapshot(); err != nil {
			m.log.Warn("cannot save snapshot", "path", m.SnapshotPath, "err", err)
		}
	}
	if loaded {
		if err := m.rebuild(ctx); err != nil {
			m.log.Warn("cannot save snapshot or read it back", "path", m.SnapshotPath, "err", err)
		}
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			save()
			return
		case <-tick.C:
			save()
		}
	}
}
