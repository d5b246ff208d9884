// Package articles is the article store that the stages after the watcher
// share: each article's JSON under article:<id>, the stream that announces
// new articles to the matchers, and the window of recent articles that
// previews run over. It also says what text of an article a topic is
// matched against, so that the matcher, the previews and `herald match`
// cannot disagree about whether a topic matches.
package articles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/store"
)

const (
	// TTL is how long an article's JSON is kept: longer than the recent
	// window, so that every article a preview lists can still be read,
	// and long enough for a weekly digest's items.
	TTL = 8 * 24 * time.Hour
	// RecentWindow and RecentMax bound the recent articles: a week, and
	// at most this many ids whatever the week's volume.
	RecentWindow = 7 * 24 * time.Hour
	RecentMax    = 20000
)

var (
	// ErrNotFound is returned for an article whose key does not exist
	// (never written, or expired).
	ErrNotFound = errors.New("article not found")
	// ErrUnreadable is returned for an article whose JSON does not decode:
	// reading it again will not help.
	ErrUnreadable = errors.New("article unreadable")
)

// Key holds an article's JSON.
func Key(st *store.Store, id string) string { return st.Key("article", id) }

// StreamKey is the stream of new article ids (field "article").
func StreamKey(st *store.Store) string { return st.Key("{articles}", "stream") }

// MatcherGroup is the consumer group through which the matchers of
// partition k of n read the stream: each article is matched once per
// partition, by one of that partition's matchers. The single partition
// 0/1 keeps the name "matcher" that every matcher used before partitions,
// so that an upgrade finds its pending articles where it left them.
func MatcherGroup(k, n int) string {
	if n <= 1 {
		return "matcher"
	}
	return "matcher:" + strconv.Itoa(k) + "/" + strconv.Itoa(n)
}

// MatcherPartition is the partition whose matchers read through group, as
// MatcherGroup names it; ok is false for a group of another reader.
func MatcherPartition(group string) (k, n int, ok bool) {
	if group == "matcher" {
		return 0, 1, true
	}
	rest, found := strings.CutPrefix(group, "matcher:")
	if !found {
		return 0, 0, false
	}
	ks, ns, found := strings.Cut(rest, "/")
	k, errK := strconv.Atoi(ks)
	n, errN := strconv.Atoi(ns)
	if !found || errK != nil || errN != nil || n < 2 || k < 0 || k >= n || MatcherGroup(k, n) != group {
		return 0, 0, false
	}
	return k, n, true
}

// RecentKey is the window of recent articles: a sorted set of ids scored
// by the time they were seen (ms). It shares the stream's hash tag because
// the watcher's publish script writes both.
func RecentKey(st *store.Store) string { return st.Key("{articles}", "recent") }

// Load reads one article. A missing key is ErrNotFound and JSON that does
// not decode is ErrUnreadable; any other error is Redis's.
func Load(ctx context.Context, st *store.Store, id string) (*article.Article, error) {
	b, err := st.Redis.Get(ctx, Key(st, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("load article %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load article %s: %w", id, err)
	}
	return decode(id, b)
}

func decode(id string, b []byte) (*article.Article, error) {
	var a article.Article
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("decode article %s: %w: %w", id, ErrUnreadable, err)
	}
	return &a, nil
}

// LoadMany reads the articles ids in one round trip. The result is in the
// order of ids, with nil for an article that is missing or unreadable; an
// error means Redis failed and nothing is returned.
func LoadMany(ctx context.Context, st *store.Store, ids []string) ([]*article.Article, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// One GET per key through a pipeline: article keys live in many
	// cluster slots, so one MGET would be refused.
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, Key(st, id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("load %d articles: %w", len(ids), err)
	}
	out := make([]*article.Article, len(ids))
	for i, c := range cmds {
		b, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			// Pipelined reports only the first failure, which may have
			// been a missing key hiding this one.
			return nil, fmt.Errorf("load %d articles: %w", len(ids), err)
		}
		if a, err := decode(ids[i], b); err == nil {
			out[i] = a
		}
	}
	return out, nil
}

// Recent returns up to limit of the most recent articles that can still be
// read, newest first.
func Recent(ctx context.Context, st *store.Store, limit int) ([]*article.Article, error) {
	if limit <= 0 {
		return nil, nil
	}
	ids, err := st.Redis.ZRevRange(ctx, RecentKey(st), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("read recent articles: %w", err)
	}
	as, err := LoadMany(ctx, st, ids)
	if err != nil {
		return nil, fmt.Errorf("read recent articles: %w", err)
	}
	out := as[:0]
	for _, a := range as {
		if a != nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// MatchText is the text of an article that topics are matched against,
// beside its title, URL and language (subscriptions.NewDocLang(a.Title,
// a.URL, MatchText(a), a.Lang)): the feed's summary and the article's text, both, since a
// teaser may name what the extracted text leaves out and the other way
// round. Every reader that answers "does this topic match" uses it: the
// matcher, the bot's /preview, the sign-up page's preview, `herald match`.
func MatchText(a *article.Article) string {
	switch {
	case a.Summary == "":
		return a.Text
	case a.Text == "":
		return a.Summary
	}
	return a.Summary + "\n\n" + a.Text
}

// SaveNew writes the articles that have no JSON yet, leaving any that
// exists as it is (a copy another watcher published keeps its story and
// sources). It is for articles that are kept without being announced, such
// as a new feed's existing items, which previews read.
func SaveNew(ctx context.Context, st *store.Store, as []*article.Article) error {
	if len(as) == 0 {
		return nil
	}
	_, err := st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, a := range as {
			b, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("encode article %s: %w", a.ID, err)
			}
			p.SetNX(ctx, Key(st, a.ID), b, TTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save %d new articles: %w", len(as), err)
	}
	return nil
}
