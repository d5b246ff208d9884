package store

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Every form of HERALD_REDIS_URL opens the right kind of client, without
// waiting for the server; malformed ones are refused without printing
// their password.
func TestOpenURLForms(t *testing.T) {
	const pw = "Pa55-w0rd-Q"
	cases := []struct {
		url      string
		cluster  bool
		addrs    []string // cluster seeds, or the one address
		user     string
		password string
		db       int
		tls      bool
	}{
		{url: "redis://127.0.0.1:6379/0", addrs: []string{"127.0.0.1:6379"}},
		{url: "  redis://cache.internal:6380/3  ", addrs: []string{"cache.internal:6380"}, db: 3},
		{url: "redis://herald:" + pw + "@10.1.2.3:6379/1", addrs: []string{"10.1.2.3:6379"}, user: "herald", password: pw, db: 1},
		{url: "rediss://:" + pw + "@redis.example:6380/0", addrs: []string{"redis.example:6380"}, password: pw, tls: true},
		{url: "redis://10.0.0.1:6379,redis://10.0.0.2:6379", cluster: true, addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379"}},
		{url: "10.0.0.1:7000, 10.0.0.2:7001,", cluster: true, addrs: []string{"10.0.0.1:7000", "10.0.0.2:7001"}},
		{url: "rediss://:" + pw + "@a.example:7000,rediss://:" + pw + "@b.example:7000", cluster: true, addrs: []string{"a.example:7000", "b.example:7000"}, password: pw, tls: true},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			s, err := Open(tc.url, "")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Prefix != DefaultPrefix || s.Embedded {
				t.Errorf("prefix %q, embedded %v", s.Prefix, s.Embedded)
			}
			switch c := s.Redis.(type) {
			case *redis.Client:
				o := c.Options()
				if tc.cluster || o.Addr != tc.addrs[0] || o.Username != tc.user || o.Password != tc.password || o.DB != tc.db || (o.TLSConfig != nil) != tc.tls {
					t.Errorf("client options: addr %s user %q password %q db %d tls %v", o.Addr, o.Username, o.Password, o.DB, o.TLSConfig != nil)
				}
			case *redis.ClusterClient:
				o := c.Options()
				if !tc.cluster || strings.Join(o.Addrs, " ") != strings.Join(tc.addrs, " ") || o.Password != tc.password || (o.TLSConfig != nil) != tc.tls {
					t.Errorf("cluster options: addrs %v password %q tls %v", o.Addrs, o.Password, o.TLSConfig != nil)
				}
			default:
				t.Fatalf("client is a %T", s.Redis)
			}
		})
	}

	bad := []string{
		"",
		"   ",
		"redis://:" + pw + "@127.0.0.1:notaport/0",
		"redis://:" + pw + "@127.0.0.1:6379/notadb",
		"redis://:" + pw + "@127.0.0.1:6379/0?dial_timeout=later",
		"redis://user:" + pw + " space@127.0.0.1:6379/0",
		"redis://:" + pw + "%zz@127.0.0.1:6379/0",
		"postgres://:" + pw + "@127.0.0.1:5432/0",
		"redis://:" + pw + "@10.0.0.1:6379,redis://:" + pw + "@10.0.0.2:port",
	}
	for _, u := range bad {
		t.Run("malformed "+u, func(t *testing.T) {
			s, err := Open(u, "")
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", u)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("the error prints the password: %v", err)
			}
		})
	}
}

func TestKey(t *testing.T) {
	s := &Store{Prefix: "herald:"}
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"feeds"}, "herald:feeds"},
		{[]string{"feeds", "due"}, "herald:feeds:due"},
		{[]string{"sub", "{tg:1}", "digest"}, "herald:sub:{tg:1}:digest"},
		{nil, "herald:"},
	} {
		if got := s.Key(tc.parts...); got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
	s2, err := Open("memory://", "test:x:")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.Key("a", "b"); got != "test:x:a:b" {
		t.Errorf("Key under a given prefix = %q", got)
	}
}

// memory:// is a working Redis inside the process, its own per Open, and
// gone at Close.
func TestEmbedded(t *testing.T) {
	ctx := context.Background()
	a, err := Open("memory://", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open("memory://", "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !a.Embedded || !b.Embedded {
		t.Fatal("memory:// is not marked embedded")
	}
	if err := a.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Redis.Set(ctx, a.Key("k"), "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := a.Redis.Get(ctx, a.Key("k")).Result(); err != nil || v != "v" {
		t.Fatalf("GET = %q, %v", v, err)
	}
	if err := b.Redis.Get(ctx, b.Key("k")).Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("a second memory:// shares data with the first: %v", err)
	}
	addr := a.Redis.(*redis.Client).Options().Addr
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("the embedded server still listens on %s after Close", addr)
	}
}

// IsAuthError tells a refused login from an outage.
func TestIsAuthError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{redis.Nil, false},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), false},
		{context.DeadlineExceeded, false},
	} {
		if got := IsAuthError(tc.err); got != tc.want {
			t.Errorf("IsAuthError(%v) = %v", tc.err, got)
		}
	}
	// The real answers, from an embedded server that wants a password.
	s, err := Open("memory://", "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.mini.RequireAuth("right")
	err = s.Ping(context.Background())
	if err == nil || !IsAuthError(err) {
		t.Errorf("NOAUTH: IsAuthError(%v) = false", err)
	}
	wrong := redis.NewClient(&redis.Options{Addr: s.mini.Addr(), Password: "wrong", Protocol: 2})
	defer wrong.Close()
	err = wrong.Ping(context.Background()).Err()
	if err == nil || !IsAuthError(err) {
		t.Errorf("WRONGPASS: IsAuthError(%v) = false", err)
	}
}
