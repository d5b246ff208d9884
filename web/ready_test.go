package web_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/web"
)

// lockedBuffer is a log sink the handler may write from its goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func readyz(t *testing.T, st *store.Store) (int, string, string) {
	t.Helper()
	var logs lockedBuffer
	srv := web.New(st, subscriptions.NewStore(st), nil, []byte("ready-test-secret"), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), logs.String()
}

// /readyz is public: with Redis down it says so, and where Redis is and
// why the dial failed go only to the log.
func TestReadyzHidesRedisDetails(t *testing.T) {
	if code, body, _ := readyz(t, storetest.New(t)); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("/readyz with Redis up = %d %q", code, body)
	}

	// A port nothing listens on: taken, then released.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	st, err := store.Open("redis://"+addr+"/0", "ready-test:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code, body, logs := readyz(t, st)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with Redis down = %d, want 503", code)
	}
	if strings.TrimSpace(body) != "redis unreachable" {
		t.Errorf("/readyz body = %q, want only \"redis unreachable\"", body)
	}
	_, port, _ := net.SplitHostPort(addr)
	if strings.Contains(body, port) || strings.Contains(body, "dial") || strings.Contains(body, "127.0.0.1") {
		t.Errorf("/readyz tells the public where Redis is: %q", body)
	}
	if !strings.Contains(logs, port) {
		t.Errorf("the log lacks the failure's detail:\n%s", logs)
	}
}
