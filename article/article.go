// Package article defines the one shape every stage of Herald passes along:
// an Article as read from a feed, completed with its page's text, and the
// helpers that give it a stable identity (canonical URL, text fingerprint).
package article

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
)

// Article is a news item as Herald knows it. Fields are plain text; anything
// that came from outside is untrusted and must be escaped where it lands.
type Article struct {
	ID         string     `json:"id"`                 // stable: derived from the canonical URL, see IDFor
	URL        string     `json:"url"`                // absolute, canonical
	Title      string     `json:"title"`              //
	Published  *time.Time `json:"published"`          // UTC, nil when the feed gave none
	Author     string     `json:"author"`             //
	Summary    string     `json:"summary"`            // plain text, from the feed
	Categories []string   `json:"categories"`         //
	Text       string     `json:"text,omitempty"`     // main body as plain text (feed content or extracted page)
	Source     string     `json:"source,omitempty"`   // human name of where it came from (feed or site title)
	FeedURL    string     `json:"feed_url,omitempty"` // the feed it was read from
	GUID       string     `json:"guid,omitempty"`     // the feed's own id for the item
	Lang       string     `json:"lang,omitempty"`     //
	SeenAt     time.Time  `json:"seen_at,omitzero"`   // when the watcher first saw it
	Sources    []string   `json:"sources,omitempty"`  // other places that published the same story
	Simhash    uint64     `json:"simhash,omitempty"`  // text fingerprint for near-duplicate stories
	StoryID    string     `json:"story_id,omitempty"` // the story this article belongs to (its own ID when first)
}

// IDFor returns the stable identifier of the article at a canonical URL:
// the first 16 bytes of its SHA-256, hex-encoded.
func IDFor(canonicalURL string) string {
	sum := sha256.Sum256([]byte(canonicalURL))
	return hex.EncodeToString(sum[:16])
}

// Body is the text matching and summaries work on: the full text when there
// is one, else the feed's summary.
func (a *Article) Body() string {
	if len(a.Text) >= len(a.Summary) {
		return a.Text
	}
	return a.Summary
}

// SourceName is where the article came from as a reader knows it: the
// feed's or site's name, else the host of its URL without "www.".
func (a *Article) SourceName() string {
	if a.Source != "" {
		return a.Source
	}
	if u, err := url.Parse(a.URL); err == nil {
		return strings.TrimPrefix(u.Hostname(), "www.")
	}
	return ""
}
