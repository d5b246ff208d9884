// Package store connects Herald to Redis, its only database. It understands
// the URL forms of HERALD_REDIS_URL (one server, a cluster, or an embedded
// in-process server for trying Herald out) and names every key under one
// prefix so that several deployments or tests can share a server.
//
// Every key Herald writes is listed in ARCHITECTURE.md.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/config"
)

func init() {
	// go-redis logs every failed dial itself; Herald's loops already say,
	// once, that Redis is unreachable, so its own lines go to debug.
	redis.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.Debug("redis client: " + fmt.Sprintf(format, v...))
}

// DefaultPrefix starts every key Herald writes.
const DefaultPrefix = "herald:"

// Store is a Redis connection and the key prefix Herald uses on it.
type Store struct {
	Redis  redis.UniversalClient
	Prefix string

	// Embedded is true when the data lives in this process (memory://) and
	// is lost at exit.
	Embedded bool
	mini     *miniredis.Miniredis
}

// Open connects to the Redis named by rawURL without waiting for it to answer:
// a server that is down is retried by every command, and Ping tells whether it
// is up. Forms: redis://[user:pass@]host:port/db, rediss://… (TLS), several
// comma-separated redis:// URLs or host:port pairs (Redis Cluster), memory://
// (embedded, in-process).
func Open(rawURL, prefix string) (*Store, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	rawURL = strings.TrimSpace(rawURL)
	switch {
	case rawURL == "":
		return nil, errors.New("empty Redis URL")
	case strings.HasPrefix(rawURL, "memory://"):
		m := miniredis.NewMiniRedis()
		// Keys expire as time passes, as on Redis (miniredis's default is
		// to expire only on FastForward): leases and locks depend on it.
		m.ClockTTL(true)
		if err := m.Start(); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		c := redis.NewClient(&redis.Options{Addr: m.Addr(), Protocol: 2})
		return &Store{Redis: c, Prefix: prefix, Embedded: true, mini: m}, nil
	case strings.Contains(rawURL, ","):
		opts := &redis.ClusterOptions{}
		for _, part := range strings.Split(rawURL, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if !strings.Contains(part, "://") {
				part = "redis://" + part
			}
			o, err := redis.ParseURL(part)
			if err != nil {
				return nil, fmt.Errorf("parse cluster address %q: %s", config.Redact(part), parseProblem(err, part))
			}
			opts.Addrs = append(opts.Addrs, o.Addr)
			opts.Username, opts.Password, opts.TLSConfig = o.Username, o.Password, o.TLSConfig
		}
		return &Store{Redis: redis.NewClusterClient(opts), Prefix: prefix}, nil
	default:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("parse %q: %s", config.Redact(rawURL), parseProblem(err, rawURL))
		}
		return &Store{Redis: redis.NewClient(o), Prefix: prefix}, nil
	}
}

// Key joins parts into a key under the store's prefix: Key("feeds") is
// "herald:feeds".
func (s *Store) Key(parts ...string) string {
	return s.Prefix + strings.Join(parts, ":")
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.Redis.Ping(ctx).Err()
}

// Close closes the connection and stops an embedded server.
func (s *Store) Close() error {
	err := s.Redis.Close()
	if s.mini != nil {
		s.mini.Close()
	}
	return err
}

// parseProblem says what is wrong with a Redis URL without its credentials:
// both net/url and go-redis quote the whole URL in their errors.
func parseProblem(err error, raw string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return config.RedactIn(err.Error(), raw)
}

// IsAuthError reports whether Redis refused herald's credentials (NOAUTH,
// WRONGPASS) or their rights (NOPERM): waiting will not change that answer.
func IsAuthError(err error) bool {
	return redis.IsAuthError(err) || redis.IsPermissionError(err)
}
