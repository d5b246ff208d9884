package service

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/config"
	"github.com/herald-news/herald/store/storetest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A role that dies, by a panic or by returning an error, stops the whole
// process: the other roles' contexts end, /healthz answers 503 naming the
// dead role while they wind down, and Run returns an error naming it.
func TestDeadRoleStopsTheProcess(t *testing.T) {
	cases := []struct {
		name string
		die  func() error
		want string // in Run's error
		is   error  // errors.Is(Run's error, is), when set
	}{
		{"panic", func() error { panic("out of cheese") }, "role boom crashed: out of cheese", nil},
		{"error", func() error { return errBoom }, "role boom stopped: boom", errBoom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.New(t)
			cfg := config.Defaults()
			cfg.RedisURL = storetest.URL()
			cfg.KeyPrefix = st.Prefix
			cfg.Secret = "supervise-test-secret"
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			svc, err := New(Options{Config: cfg, Roles: []string{"watcher", "matcher"}, Store: st, Listener: l,
				Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			crash := make(chan struct{})
			slowStopping := make(chan struct{}) // the other role saw its context end
			release := make(chan struct{})      // lets it finish stopping
			svc.roles = append(svc.roles,
				role{"boom", func(ctx context.Context) error {
					select {
					case <-crash:
						return tc.die()
					case <-ctx.Done():
						return ctx.Err()
					}
				}},
				role{"slow", func(ctx context.Context) error {
					<-ctx.Done()
					close(slowStopping)
					<-release
					return ctx.Err()
				}})
			done := make(chan error, 1)
			go func() { done <- svc.Run(context.Background()) }()
			base := "http://" + l.Addr().String()

			deadline := time.Now().Add(10 * time.Second)
			for {
				if code, _ := get(t, base+"/healthz"); code == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("/healthz never answered 200 while every role ran")
				}
				time.Sleep(10 * time.Millisecond)
			}

			close(crash)
			select {
			case <-slowStopping:
			case err := <-done:
				t.Fatalf("Run returned %v before the other roles were stopped", err)
			case <-time.After(10 * time.Second):
				t.Fatal("the other roles' context did not end after a role died")
			}
			// The process has not exited yet (slow is still stopping): the
			// one thing /healthz must not say now is 200.
			code, body := get(t, base+"/healthz")
			if code != http.StatusServiceUnavailable || body != "down: boom\n" {
				t.Errorf("/healthz after boom died = %d %q, want 503 \"down: boom\"", code, body)
			}
			if strings.Contains(body, "cheese") {
				t.Errorf("/healthz tells the public why the role died: %q", body)
			}
			close(release)
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after a role died")
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error with %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Run's error %v does not wrap %v", err, tc.is)
			}
			// Run returned after the watcher and matcher had returned, not
			// after giving up on them.
			if strings.Contains(logs.String(), "did not stop in time") {
				t.Errorf("some roles were left running:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), "role=boom") {
				t.Errorf("the log does not say which role died:\n%s", logs.String())
			}
		})
	}
}

var errBoom = errors.New("boom")

// A role that returns nil before shutdown has stopped working too.
func TestRoleReturningEarlyIsADeath(t *testing.T) {
	sv := newSupervisor()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sv.start(ctx, role{"quitter", func(context.Context) error { return nil }}, func(string, ...any) {})
	select {
	case <-sv.failed:
	case <-time.After(10 * time.Second):
		t.Fatal("a role returning nil before shutdown went unnoticed")
	}
	if err := sv.failure(); err == nil || !strings.Contains(err.Error(), "role quitter stopped") {
		t.Fatalf("failure = %v", err)
	}
	// Roles returning at shutdown, with its error or none, are no death.
	sv2 := newSupervisor()
	ctx2, cancel2 := context.WithCancel(context.Background())
	sv2.start(ctx2, role{"a", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}, func(string, ...any) {})
	sv2.start(ctx2, role{"b", func(ctx context.Context) error { <-ctx.Done(); return nil }}, func(string, ...any) {})
	cancel2()
	sv2.wg.Wait()
	if err := sv2.failure(); err != nil {
		t.Fatalf("a normal shutdown counted as a death: %v", err)
	}
}
