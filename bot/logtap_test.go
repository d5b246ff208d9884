package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logTap is a slog.Handler that keeps every record, so a test can wait for
// a log line as the positive signal that something happened (or was
// given up) before it checks what did not happen.
type logTap struct {
	mu      sync.Mutex
	lines   []tapLine
	changed chan struct{} // closed and replaced on every record
	echo    slog.Handler  // the test's own output, under -v
}

// tapLine is one record: its message and its attributes as text.
type tapLine struct {
	Msg   string
	Attrs map[string]string
}

var _ slog.Handler = (*logTap)(nil)

func newLogTap(t testing.TB) (*logTap, *slog.Logger) {
	tap := &logTap{changed: make(chan struct{}), echo: quietLog(t).Handler()}
	return tap, slog.New(tap)
}

func (l *logTap) Enabled(context.Context, slog.Level) bool { return true }

func (l *logTap) Handle(ctx context.Context, r slog.Record) error {
	line := tapLine{Msg: r.Message, Attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		line.Attrs[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, line)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	if l.echo.Enabled(ctx, r.Level) {
		return l.echo.Handle(ctx, r)
	}
	return nil
}

// The bot logs through one logger without attributes or groups of its own.
func (l *logTap) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logTap) WithGroup(string) slog.Handler      { return l }

// find returns the lines whose message is msg.
func (l *logTap) find(msg string) []tapLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []tapLine
	for _, x := range l.lines {
		if x.Msg == msg {
			out = append(out, x)
		}
	}
	return out
}

// wait waits until n lines with message msg were logged and
// returns them; after timeout it fails the test.
func (l *logTap) wait(t testing.TB, timeout time.Duration, msg string, n int) []tapLine {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if got := l.find(msg); len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no %d log lines %q within %v; got %s", n, msg, timeout, l)
			return nil
		}
	}
}

func (l *logTap) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sb strings.Builder
	for _, x := range l.lines {
		fmt.Fprintf(&sb, "\n  %s %v", x.Msg, x.Attrs)
	}
	return sb.String()
}
