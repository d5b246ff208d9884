package delivery

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// FeedSize is how many matches a subscriber's own Atom feed shows.
const FeedSize = 100

// ArchiveSize is how many matches the list behind the feed keeps, so that
// the archive page can show ArchiveDays of them for all but the busiest
// subscribers (who see their latest ArchiveSize).
const ArchiveSize = 500

// ArchiveDays is how far back a subscriber's archive reaches.
const ArchiveDays = 30

// FeedEntry is one match in a subscriber's own feed.
type FeedEntry struct {
	Article string    `json:"a"`
	Story   string    `json:"s,omitempty"`
	Topic   string    `json:"t"`
	At      time.Time `json:"at"`
}

// FeedKey is the capped list of a subscriber's latest matches, newest
// first, beside the subscriber's hash (same slot).
func FeedKey(st *store.Store, sub string) string { return subscriptions.Key(st, sub, "feed") }

func feedEntry(story, article, topic string, at time.Time) []byte {
	b, _ := json.Marshal(FeedEntry{Article: article, Story: story, Topic: topic, At: at.UTC()})
	return b
}

// Feed returns a subscriber's latest matches, newest first, one per story:
// an alert's entry is pushed in the same pipeline as the alert, before its
// marker script has said whether it is new, so a matcher that re-reads an
// article after a crash may push a story twice; it shows once.
func Feed(ctx context.Context, st *store.Store, sub string) ([]FeedEntry, error) {
	return readFeed(ctx, st, sub, FeedSize, time.Time{})
}

// Archive returns a subscriber's matches since a time (normally
// ArchiveDays ago), newest first, one per story.
func Archive(ctx context.Context, st *store.Store, sub string, since time.Time) ([]FeedEntry, error) {
	return readFeed(ctx, st, sub, ArchiveSize, since)
}

func readFeed(ctx context.Context, st *store.Store, sub string, n int, since time.Time) ([]FeedEntry, error) {
	raw, err := st.Redis.LRange(ctx, FeedKey(st, sub), 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read feed of %s: %w", sub, err)
	}
	seen := make(map[string]bool, len(raw))
	out := make([]FeedEntry, 0, len(raw))
	for _, r := range raw {
		var e FeedEntry
		if json.Unmarshal([]byte(r), &e) != nil || e.Article == "" {
			continue
		}
		if e.At.Before(since) {
			break // newest first: the rest are older still
		}
		k := e.Story
		if k == "" {
			k = e.Article
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out, nil
}

// feedField holds, in the subscriber's hash, the secret of its feed's URL.
// A random secret per subscriber rather than a token signed with
// HERALD_SECRET: a feed URL sits in feed readers and gets shared, so one
// subscriber must be able to revoke theirs (RotateFeedSecret) without
// every other feed changing, and the bot and the CLI need no key to show
// it.
const feedField = "delivery.feed"

func newSecret() string {
	b := make([]byte, 18) // 144 bits
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// FeedSecret returns the secret of a subscriber's feed URL, made on first
// use.
func FeedSecret(ctx context.Context, subs *subscriptions.Store, id string) (string, error) {
	sec, err := subs.DataOnce(ctx, id, feedField, newSecret())
	if err != nil {
		return "", fmt.Errorf("feed secret of %s: %w", id, err)
	}
	return sec, nil
}

// RotateFeedSecret gives a subscriber a new feed URL; the old one stops
// working.
func RotateFeedSecret(ctx context.Context, subs *subscriptions.Store, id string) (string, error) {
	sec := newSecret()
	_, err := subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		if s.Data == nil {
			s.Data = map[string]string{}
		}
		s.Data[feedField] = sec
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("rotate feed secret of %s: %w", id, err)
	}
	return sec, nil
}

// FeedSecretOf is the secret a subscriber read from Redis holds, or "".
func FeedSecretOf(s *subscriptions.Subscriber) string { return s.Data[feedField] }

// FeedSecretOK reports whether secret opens the subscriber's feed.
func FeedSecretOK(s *subscriptions.Subscriber, secret string) bool {
	want := FeedSecretOf(s)
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(secret)) == 1
}

// FeedPath is the path of a subscriber's feed on the web server.
func FeedPath(id, secret string) string {
	return "/feed/" + url.PathEscape(id) + "/" + url.PathEscape(secret)
}

// ArchivePath is the path of a subscriber's archive page, opened by the
// same secret as the feed.
func ArchivePath(id, secret string) string {
	return "/archive/" + url.PathEscape(id) + "/" + url.PathEscape(secret)
}

// ArchiveURL is the address of a subscriber's archive under the public URL.
func ArchiveURL(publicURL, id, secret string) string {
	return strings.TrimRight(publicURL, "/") + ArchivePath(id, secret)
}

// FeedURL is the address of a subscriber's feed under the public URL.
func FeedURL(publicURL, id, secret string) string {
	return strings.TrimRight(publicURL, "/") + FeedPath(id, secret)
}
