// Package storetest gives tests a Redis of their own: the server named by
// HERALD_TEST_REDIS_URL, else 127.0.0.1:6379 when it answers, else an
// embedded one (with a printed notice). Each test gets a fresh key prefix,
// removed when the test ends, so tests may run in parallel and twice in a row.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/store"
)

var (
	once   sync.Once
	chosen string
)

// URL returns the Redis URL tests should use, choosing it once per process.
func URL() string {
	once.Do(func() {
		if u := os.Getenv("HERALD_TEST_REDIS_URL"); u != "" {
			chosen = u
			return
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:6379", 300*time.Millisecond)
		if err == nil {
			c.Close()
			chosen = "redis://127.0.0.1:6379/0"
			return
		}
		fmt.Fprintln(os.Stderr, "storetest: no Redis at HERALD_TEST_REDIS_URL or 127.0.0.1:6379; using the embedded memory:// server")
		chosen = "memory://"
	})
	return chosen
}

// New opens a Store on the test Redis with a prefix unique to this test and
// deletes the prefix's keys when the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "test:" + hex.EncodeToString(b[:]) + ":"
	s, err := store.Open(URL(), prefix)
	if err != nil {
		t.Fatalf("open test redis: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("test redis %s does not answer: %v", URL(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := s.Redis.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			s.Redis.Del(ctx, keys[:n]...)
			keys = keys[n:]
		}
		s.Close()
	})
	return s
}
