// Package watcher polls the feeds Herald watches (and takes their WebSub
// pushes) and puts each article it has not seen before on the article
// stream, once, whatever the number of watcher processes sharing the feeds:
// completed with its page's text when the feed gave only a teaser, and
// filed under the story it repeats when another source published it first.
package watcher

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/store"
)

// How long Herald remembers things about articles.
const (
	SeenTTL   = 30 * 24 * time.Hour // a canonical URL seen is not announced again for a month
	leaseTime = 2 * time.Minute     // a claimed feed is due again after this if its watcher died
	maxItems  = 200                 // items taken from one fetch
)

// ErrNoFeed is returned for a URL that is not watched.
var ErrNoFeed = errors.New("feed not watched")

// Watcher polls due feeds and publishes new articles.
type Watcher struct {
	st       *store.Store
	fetcher  *fetch.Fetcher
	interval time.Duration
	log      *slog.Logger

	// Complete, when set, gives a short article its full text before it is
	// published; New sets it to FullText. Errors leave the article as the
	// feed gave it.
	Complete func(ctx context.Context, a *article.Article) error
	// FullTextBudget is how many pages one poll may fetch for full text
	// (default DefaultFullTextBudget); FullTextWorkers how many at once.
	FullTextBudget  int
	FullTextWorkers int
	// Workers is how many feeds are polled at once.
	Workers int
	// Now is the clock; tests replace it.
	Now func() time.Time

	// PublicURL and Secret enable WebSub: hubs call back under PublicURL,
	// and each feed's hub.secret is derived from Secret. Either empty: no
	// WebSub subscriptions, polling only.
	PublicURL string
	Secret    []byte

	// Published, when set, is told how many new articles a poll published.
	Published func(n float64)
	// Fetched, when set, is told of every fetch: kind "feed", "sitemap",
	// "section" (a section page), "page" (an article's) or "robots",
	// result "ok", "not_modified" or "error", and the body's size.
	Fetched func(kind, result string, bytes int)
	// Joined, when set, is told each time an article joins an earlier story
	// as a near-duplicate.
	Joined func()

	websub websubState
	robots robotsMemo
	// wake tells Run that a feed was added, so that it does not sleep
	// through the new feed's first poll.
	wake chan struct{}
}

func (w *Watcher) fetched(kind, result string, n int) {
	if w.Fetched != nil {
		w.Fetched(kind, result, n)
	}
}

// New returns a Watcher.
func New(st *store.Store, f *fetch.Fetcher, interval time.Duration, log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.Default()
	}
	w := &Watcher{st: st, fetcher: f, interval: interval, log: log, Workers: 8, Now: time.Now,
		FullTextWorkers: DefaultFullTextWorkers, wake: make(chan struct{}, 1)}
	w.websub.slots = make(chan struct{}, webSubDeliveries)
	w.Complete = w.FullText
	return w
}

func (w *Watcher) dueKey() string           { return w.st.Key("feeds", "due") }
func (w *Watcher) feedKey(id string) string { return w.st.Key("feed", id) }

// movedKey maps the id a URL would have (FeedID) to the id of the feed now
// watching it, for feeds whose URL changed by a permanent redirect: the
// feed keeps its id (and state), and adding its new URL finds it.
func (w *Watcher) movedKey() string         { return w.st.Key("feeds", "moved") }
func (w *Watcher) seenKey(id string) string { return w.st.Key("{articles}", "seen", id) }

// FeedID is the short stable id of a feed URL.
func FeedID(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:8])
}

// Feed is a watched feed and its state.
type Feed struct {
	ID           string        `json:"id"`
	URL          string        `json:"url"`
	Kind         string        `json:"kind"`           // KindFeed, KindSitemap or KindPage
	From         string        `json:"from,omitempty"` // set by Add: the page the source was found on
	Title        string        `json:"title,omitempty"`
	Site         string        `json:"site,omitempty"` // the site the feed describes
	Interval     time.Duration `json:"interval"`
	Added        time.Time     `json:"added"`
	LastFetch    time.Time     `json:"last_fetch,omitzero"`
	LastNew      time.Time     `json:"last_new,omitzero"`
	Errors       int           `json:"errors"`
	LastError    string        `json:"last_error,omitempty"`
	FailingSince time.Time     `json:"failing_since,omitzero"`
	NextPoll     time.Time     `json:"next_poll,omitzero"`
	ETag         string        `json:"-"`
	LastModified string        `json:"-"`
	New          bool          `json:"-"` // never fetched: its items are marked seen, not published
	Backfill     int           `json:"-"` // newest items to publish on the first fetch
	Articles     int64         `json:"articles"`
	Broken       bool          `json:"broken"` // failing for more than a day
	Hub          string        `json:"hub,omitempty"`
	WebSub       string        `json:"websub,omitempty"` // pending, active, denied, failed
	WebSubUntil  time.Time     `json:"websub_until,omitzero"`
	hints        hints
	rekinded     bool // looked at again this poll (rekind): not twice
}

// resolve returns the id of the feed watching u: FeedID(u), or the feed
// that moved to u by a permanent redirect. ok is false when none is.
func (w *Watcher) resolve(ctx context.Context, u string) (id string, ok bool, err error) {
	id = FeedID(u)
	n, err := w.st.Redis.Exists(ctx, w.feedKey(id)).Result()
	if err != nil || n > 0 {
		return id, n > 0, err
	}
	moved, err := w.st.Redis.HGet(ctx, w.movedKey(), id).Result()
	if errors.Is(err, redis.Nil) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	if n, err := w.st.Redis.Exists(ctx, w.feedKey(moved)).Result(); err != nil || n == 0 {
		return id, false, err
	}
	return moved, true, nil
}

// Add starts watching a source: a feed, or for a site's page the feed it
// links (see discover), a sitemap, or a section page. Its current items
// are marked seen on the first fetch, except the newest backfill ones (of
// a feed). Adding a watched source changes only its interval.
func (w *Watcher) Add(ctx context.Context, rawURL string, interval time.Duration, backfill int) (*Feed, error) {
	u, err := checkFeedURL(rawURL)
	if err != nil {
		return nil, err
	}
	src, err := w.lookAt(ctx, u)
	if err != nil {
		return nil, err
	}
	return w.add(ctx, src, interval, backfill)
}

// AddFeed starts watching a URL known to be a feed (HERALD_FEEDS), as Add
// does but without fetching it first.
func (w *Watcher) AddFeed(ctx context.Context, rawURL string, interval time.Duration, backfill int) (*Feed, error) {
	u, err := checkFeedURL(rawURL)
	if err != nil {
		return nil, err
	}
	return w.add(ctx, source{URL: u, Kind: KindFeed}, interval, backfill)
}

func (w *Watcher) add(ctx context.Context, src source, interval time.Duration, backfill int) (*Feed, error) {
	u := src.URL
	id, _, err := w.resolve(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("add feed %s: %w", u, err)
	}
	key := w.feedKey(id)
	now := w.Now()
	created, err := w.st.Redis.HSetNX(ctx, key, "url", u).Result()
	if err != nil {
		return nil, fmt.Errorf("add feed %s: %w", u, err)
	}
	fields := map[string]any{}
	if interval > 0 {
		fields["interval"] = int64(interval / time.Second)
	}
	if created {
		fields["added"] = now.Unix()
		fields["kind"] = src.Kind
		fields["new"] = 1
		fields["backfill"] = backfill
	}
	if len(fields) > 0 {
		if err := w.st.Redis.HSet(ctx, key, fields).Err(); err != nil {
			return nil, fmt.Errorf("add feed %s: %w", u, err)
		}
	}
	if created {
		first := firstPoll(now, id, cmp.Or(interval, w.interval))
		if err := w.st.Redis.ZAdd(ctx, w.dueKey(), redis.Z{Score: float64(first.UnixMilli()), Member: id}).Err(); err != nil {
			return nil, fmt.Errorf("schedule feed %s: %w", u, err)
		}
		select {
		case w.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	f, err := w.Get(ctx, id)
	if f != nil {
		f.From = src.From
	}
	return f, err
}

// Watched reports whether a URL is watched (directly or as where a feed moved).
func (w *Watcher) Watched(ctx context.Context, rawURL string) (bool, error) {
	u, err := checkFeedURL(rawURL)
	if err != nil {
		return false, err
	}
	_, ok, err := w.resolve(ctx, u)
	return ok, err
}

// Describe sets a feed's title and site link where it has none yet (from
// an imported OPML file); the feed's own title replaces it on fetch.
func (w *Watcher) Describe(ctx context.Context, id, title, site string) error {
	_, err := w.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		if title != "" {
			p.HSetNX(ctx, w.feedKey(id), "title", truncate(title, 200))
		}
		if site != "" {
			p.HSetNX(ctx, w.feedKey(id), "site", truncate(site, 2000))
		}
		return nil
	})
	return err
}

// Remove stops watching a feed.
func (w *Watcher) Remove(ctx context.Context, rawURL string) error {
	u, err := checkFeedURL(rawURL)
	if err != nil {
		u = strings.TrimSpace(rawURL)
	}
	id, _, err := w.resolve(ctx, u)
	if err != nil {
		return fmt.Errorf("remove feed: %w", err)
	}
	w.st.Redis.HDel(ctx, w.movedKey(), FeedID(u))
	n, err := w.st.Redis.Del(ctx, w.feedKey(id)).Result()
	if err != nil {
		return fmt.Errorf("remove feed: %w", err)
	}
	w.st.Redis.Del(ctx, w.sitemapChildrenKey(id)) // another slot: a DEL of its own
	w.st.Redis.ZRem(ctx, w.dueKey(), id)
	if n == 0 {
		return ErrNoFeed
	}
	return nil
}

// Get reads one feed's state.
func (w *Watcher) Get(ctx context.Context, id string) (*Feed, error) {
	m, err := w.st.Redis.HGetAll(ctx, w.feedKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("read feed %s: %w", id, err)
	}
	if len(m) == 0 {
		return nil, ErrNoFeed
	}
	f := decodeFeed(id, m, w.interval)
	if due, err := w.st.Redis.ZScore(ctx, w.dueKey(), id).Result(); err == nil {
		f.NextPoll = time.UnixMilli(int64(due))
	}
	f.Broken = !f.FailingSince.IsZero() && w.Now().Sub(f.FailingSince) > 24*time.Hour
	return f, nil
}

// List returns every watched feed, sorted by URL.
func (w *Watcher) List(ctx context.Context) ([]*Feed, error) {
	ids, err := w.st.Redis.ZRange(ctx, w.dueKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	var out []*Feed
	for _, id := range ids {
		f, err := w.Get(ctx, id)
		if errors.Is(err, ErrNoFeed) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *Feed) int { return strings.Compare(a.URL, b.URL) })
	return out, nil
}

// claimScript takes up to ARGV[3] feeds due by ARGV[1] and pushes their due
// time to ARGV[2], atomically: a feed is claimed by one watcher, and if that
// watcher dies the feed simply falls due again. It returns the earliest due
// time left (ms, "" when no feed is watched) and then the ids claimed.
var claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local out = {first[2] or ''}
for _, id in ipairs(ids) do
  out[#out + 1] = id
end
return out
`)

// minSleep keeps Run from spinning on a feed due in a moment, and lets a
// claim take the few feeds due in one such step together: at 10 ms the
// watcher spent twice the CPU per poll (BenchmarkWatcherSpread304).
const minSleep = 50 * time.Millisecond

// Run polls due feeds until ctx ends. It sleeps until the next feed falls
// due (polls spread over the interval come a few at a time, not in a burst
// each tick), never longer than a short cap, since other processes add
// and reschedule feeds too, and the full cap when Redis fails.
func (w *Watcher) Run(ctx context.Context) error {
	maxSleep := min(max(w.interval/4, 200*time.Millisecond), 5*time.Second)
	sem := make(chan struct{}, max(w.Workers, 1))
	var wg sync.WaitGroup
	defer wg.Wait()
	failing := false
	for {
		ids, next, err := w.claim(ctx, cap(sem))
		sleep := maxSleep
		if err == nil && !next.IsZero() {
			sleep = min(max(next.Sub(w.Now()), minSleep), maxSleep)
		}
		if err != nil && ctx.Err() == nil {
			if !failing {
				w.log.Warn("watcher cannot claim feeds", "err", err)
			}
			failing = true
		} else {
			failing = false
		}
		for _, id := range ids {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				// A failing feed is logged once by Poll (and shown in
				// feeds list); only errors of Herald's own making are logged here.
				if err := w.Poll(ctx, id); err != nil && ctx.Err() == nil && !errors.Is(err, errFeedFailed) {
					w.log.Warn("feed poll failed", "feed", id, "err", err)
				}
			}()
		}
		if len(ids) == cap(sem) {
			continue // more may be due
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// claim takes up to n due feeds; next is the earliest due time of those
// left, zero when none is watched.
func (w *Watcher) claim(ctx context.Context, n int) (ids []string, next time.Time, err error) {
	now := w.Now()
	res, err := claimScript.Run(ctx, w.st.Redis, []string{w.dueKey()},
		now.UnixMilli(), now.Add(leaseTime).UnixMilli(), n).StringSlice()
	if errors.Is(err, redis.Nil) || (err == nil && len(res) == 0) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim due feeds: %w", err)
	}
	if ms, err := strconv.ParseFloat(res[0], 64); err == nil {
		next = time.UnixMilli(int64(ms))
	}
	return res[1:], next, nil
}

// publishScript marks an article seen and publishes it in one step, so a
// crash can neither lose it (seen but not published) nor publish it twice.
// KEYS[4] is a second seen key (the item's link when the page named another
// canonical URL), marked too so the next poll does not fetch the page again.
var publishScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', tonumber(ARGV[2])) then
  redis.call('XADD', KEYS[2], '*', 'article', ARGV[1])
  redis.call('ZADD', KEYS[3], tonumber(ARGV[3]), ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[4]))
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[5]) - 1)
  if ARGV[6] == '1' then
    redis.call('SET', KEYS[4], ARGV[1], 'EX', tonumber(ARGV[2]))
  end
  return 1
end
if ARGV[6] == '1' then
  redis.call('SET', KEYS[4], ARGV[1], 'EX', tonumber(ARGV[2]))
end
return 0
`)

// errMerged stops a poll of a feed that turned out, by a permanent
// redirect, to be a copy of another watched feed.
var errMerged = errors.New("feed moved to a feed already watched")

// Poll fetches one feed now and publishes its new articles.
func (w *Watcher) Poll(ctx context.Context, id string) error {
	f, err := w.Get(ctx, id)
	if errors.Is(err, ErrNoFeed) {
		w.st.Redis.ZRem(ctx, w.dueKey(), id)
		return nil
	}
	if err != nil {
		return err
	}
	started := w.Now()
	first := f.New // poll clears it once the first fetch is done
	serverHint, pollErr := w.poll(ctx, f)
	if errors.Is(pollErr, errMerged) {
		return nil
	}
	next := nextPoll(started, f.Interval, serverHint, f.hints)
	if plain := next.Equal(started.Add(f.Interval)); plain && first && !f.New {
		next = settle(started, id, f.Interval)
	} else {
		next = spread(next, id, f.Interval, plain)
	}
	fields := map[string]any{"last_fetch": started.Unix()}
	if pollErr != nil {
		if ctx.Err() != nil {
			return nil // shutting down: the lease makes it due again soon
		}
		f.Errors++
		fields["errors"] = f.Errors
		fields["last_error"] = truncate(pollErr.Error(), 300)
		if f.FailingSince.IsZero() {
			fields["failing_since"] = started.Unix()
		}
		var se *fetch.StatusError
		retry := fetch.Backoff(f.Errors)
		if errors.As(pollErr, &se) && se.RetryAfter > retry {
			retry = min(se.RetryAfter, MaxHint)
		}
		next = spread(started.Add(max(f.Interval, retry)), id, f.Interval, false)
		if f.Errors == 1 {
			w.log.Warn("feed failed", "feed", f.URL, "err", pollErr)
		}
	} else {
		if f.Errors > 0 {
			w.log.Info("feed works again", "feed", f.URL, "failed_polls", f.Errors)
		}
		fields["errors"] = 0
		fields["last_error"] = ""
		fields["failing_since"] = 0
	}
	if err := w.st.Redis.HSet(ctx, w.feedKey(id), fields).Err(); err != nil {
		return fmt.Errorf("record poll of %s: %w", f.URL, err)
	}
	// Only reschedule a feed still watched (it may have been removed meanwhile).
	if err := w.st.Redis.ZAddXX(ctx, w.dueKey(), redis.Z{Score: float64(next.UnixMilli()), Member: id}).Err(); err != nil {
		return fmt.Errorf("reschedule %s: %w", f.URL, err)
	}
	if pollErr != nil {
		return fmt.Errorf("poll %s: %w: %w", f.URL, errFeedFailed, pollErr)
	}
	return nil
}

// errFeedFailed marks a poll that failed because of the feed (network,
// status, body), as opposed to Redis.
var errFeedFailed = errors.New("feed failed")

// poll fetches and publishes; it returns how long the server asked to be
// left alone (max-age, Retry-After). It updates f.hints from the feed.
func (w *Watcher) poll(ctx context.Context, f *Feed) (time.Duration, error) {
	switch f.Kind {
	case KindSitemap:
		return w.pollSitemap(ctx, f)
	case KindPage:
		return w.pollPage(ctx, f)
	}
	resp, err := w.fetcher.Get(ctx, f.URL, fetch.Conditional{ETag: f.ETag, LastModified: f.LastModified})
	if err != nil {
		w.fetched("feed", "error", 0)
		return 0, err
	}
	hint := max(resp.MaxAge, resp.RetryAfter)
	if resp.PermanentRedirect != "" && resp.PermanentRedirect != f.URL {
		if err := w.move(ctx, f, resp.PermanentRedirect); err != nil {
			return hint, err
		}
	}
	if resp.NotModified {
		w.fetched("feed", "not_modified", 0)
		return hint, nil
	}
	w.fetched("feed", "ok", len(resp.Body))
	parsed, err := feed.Parse(resp.Body, resp.FinalURL, resp.ContentType+";charset="+resp.Charset)
	if err != nil {
		if again, err := w.rekind(ctx, f, resp); again || err != nil {
			return hint, err
		}
		return hint, err
	}
	f.hints = hints{TTL: parsed.TTL, SkipHours: parsed.SkipHours}
	for _, d := range parsed.SkipDays {
		if wd, ok := weekday(d); ok && !slices.Contains(f.hints.SkipDays, wd) {
			f.hints.SkipDays = append(f.hints.SkipDays, wd)
		}
	}
	meta := f.hints.encode()
	meta["etag"], meta["lm"], meta["hub"] = resp.ETag, resp.LastModified, truncate(parsed.Hub, 2000)
	if parsed.Link != "" {
		meta["site"] = truncate(parsed.Link, 2000)
	}
	if parsed.Title != "" {
		meta["title"] = truncate(parsed.Title, 200)
		f.Title = meta["title"].(string)
	}
	if err := w.st.Redis.HSet(ctx, w.feedKey(f.ID), meta).Err(); err != nil {
		return hint, err
	}
	if parsed.Hub != "" {
		w.subscribeIfDue(ctx, f, parsed.Hub)
	}
	_, err = w.ingest(ctx, f, parsed.Items)
	return hint, err
}

// move records that a feed's URL moved for good. The feed keeps its id and
// state; its new URL is mapped to it so that adding that URL finds it. When
// the new URL is already watched as another feed, this one is dropped.
func (w *Watcher) move(ctx context.Context, f *Feed, to string) error {
	u, err := checkFeedURL(to)
	if err != nil || u == f.URL {
		return nil
	}
	id, watched, err := w.resolve(ctx, u)
	if err != nil {
		return err
	}
	if watched && id != f.ID {
		w.log.Info("feed moved to a feed already watched; dropping the old one", "feed", f.URL, "to", u)
		if err := w.st.Redis.HSet(ctx, w.movedKey(), f.ID, id).Err(); err != nil {
			return err
		}
		w.st.Redis.Del(ctx, w.feedKey(f.ID))
		w.st.Redis.ZRem(ctx, w.dueKey(), f.ID)
		return errMerged
	}
	w.log.Info("feed moved permanently", "feed", f.URL, "to", u)
	if err := w.st.Redis.HSet(ctx, w.feedKey(f.ID), "url", u).Err(); err != nil {
		return err
	}
	if err := w.st.Redis.HSet(ctx, w.movedKey(), FeedID(u), f.ID).Err(); err != nil {
		return err
	}
	f.URL = u
	return nil
}

// ingest publishes a feed's new items (newest first, as feed.Parse gives
// them), whether they came from a poll or a WebSub delivery. A feed never
// fetched before has its items kept for previews but not announced (see
// keep), except the newest Backfill, which are published.
func (w *Watcher) ingest(ctx context.Context, f *Feed, items []article.Article) (int, error) {
	if len(items) > maxItems {
		items = items[:maxItems]
	}
	all := make([]*article.Article, 0, len(items))
	for i := range items {
		a := &items[i]
		canon, err := article.Canonical(a.URL)
		if err != nil {
			continue // an item without a usable link cannot be announced
		}
		a.URL, a.ID = canon, article.IDFor(canon)
		all = append(all, a)
	}
	take := len(all)
	if f.New {
		take = min(max(f.Backfill, 0), len(all))
		// The rest is kept for previews, seen but not announced.
		if _, err := w.keep(ctx, f, all[take:]); err != nil {
			return 0, err
		}
	}
	// A cheap check first, so known items cost no page fetch and no write.
	fresh, err := w.unseen(ctx, all[:take])
	if err != nil {
		return 0, err
	}
	now := w.Now().UTC()
	linkIDs := make([]string, len(fresh))
	for i, a := range fresh {
		a.FeedURL = f.URL
		if a.Source == "" {
			a.Source = f.Title
		}
		a.SeenAt = now
		linkIDs[i] = a.ID
	}
	w.completeBatch(ctx, fresh)
	n := 0
	// Oldest first, so the stream keeps publication order.
	for i := len(fresh) - 1; i >= 0; i-- {
		ok, err := w.publish(ctx, fresh[i], linkIDs[i])
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, w.recordNew(ctx, f, n, now)
}

// recordNew notes on a source that a fetch published n articles, and that
// it has been fetched once.
func (w *Watcher) recordNew(ctx context.Context, f *Feed, n int, now time.Time) error {
	key := w.feedKey(f.ID)
	if f.New {
		if err := w.st.Redis.HDel(ctx, key, "new", "backfill").Err(); err != nil {
			return fmt.Errorf("record first fetch of %s: %w", f.URL, err)
		}
		f.New = false
	}
	if n > 0 {
		w.st.Redis.HSet(ctx, key, "last_new", now.Unix())
		w.st.Redis.HIncrBy(ctx, key, "articles", int64(n))
		w.log.Info("new articles", "feed", f.URL, "count", n)
		if w.Published != nil {
			w.Published(float64(n))
		}
	}
	return nil
}

// markSeen records items as seen without publishing them.
func (w *Watcher) markSeen(ctx context.Context, items []*article.Article) error {
	if len(items) == 0 {
		return nil
	}
	_, err := w.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, a := range items {
			p.SetNX(ctx, w.seenKey(a.ID), a.ID, SeenTTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark items seen: %w", err)
	}
	return nil
}

// unseen returns the items whose id is not marked seen.
func (w *Watcher) unseen(ctx context.Context, items []*article.Article) ([]*article.Article, error) {
	if len(items) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.IntCmd, len(items))
	_, err := w.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, a := range items {
			cmds[i] = p.Exists(ctx, w.seenKey(a.ID))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check seen items: %w", err)
	}
	var out []*article.Article
	for i, c := range cmds {
		if c.Val() == 0 {
			out = append(out, items[i])
		}
	}
	return out, nil
}

// publish files an unseen article under its story and puts it on the
// stream. linkID is the id of the item's link in the feed; the page may
// have named another canonical URL since.
func (w *Watcher) publish(ctx context.Context, a *article.Article, linkID string) (bool, error) {
	if canon, err := article.Canonical(a.URL); err == nil {
		a.URL, a.ID = canon, article.IDFor(canon)
	} else {
		a.ID = linkID
	}
	alias := "0"
	if a.ID != linkID {
		alias = "1"
		// Another feed may have brought the page's canonical URL already.
		if n, err := w.st.Redis.Exists(ctx, w.seenKey(a.ID)).Result(); err != nil {
			return false, err
		} else if n > 0 {
			return false, w.markSeen(ctx, []*article.Article{{ID: linkID}})
		}
	}
	a.DetectLang() // once, here, for lang: in every matcher
	// The article is readable before it is announced, and before it can
	// head a story: a copy published at the same moment by another watcher
	// finds the body to record its source on.
	fingerprint(a)
	if err := articles.Save(ctx, w.st, a); err != nil {
		return false, err
	}
	first, err := w.joinStory(ctx, a)
	if err != nil {
		// Better two alerts for one story than none.
		w.log.Warn("near-duplicate check failed", "article", a.ID, "err", err)
		a.StoryID = a.ID
	}
	if first != "" {
		// Its story is another's now.
		if err := articles.Save(ctx, w.st, a); err != nil {
			return false, err
		}
	}
	now := w.Now()
	res, err := publishScript.Run(ctx, w.st.Redis,
		[]string{w.seenKey(a.ID), articles.StreamKey(w.st), articles.RecentKey(w.st), w.seenKey(linkID)},
		a.ID, int64(SeenTTL/time.Second), now.UnixMilli(), now.Add(-articles.RecentWindow).UnixMilli(), articles.RecentMax, alias).Int()
	if err != nil {
		return false, fmt.Errorf("publish %s: %w", a.URL, err)
	}
	if res != 1 {
		return false, nil
	}
	if first != "" {
		w.log.Info("article joins an earlier story", "article", a.ID, "story", first, "url", a.URL)
		if err := articles.AddSource(ctx, w.st, first, sourceName(a)); err != nil {
			w.log.Warn("cannot record the other source", "article", a.ID, "err", err)
		}
		if w.Joined != nil {
			w.Joined()
		}
	}
	return true, nil
}

// sourceName is how another source of a story is named on its first article.
func sourceName(a *article.Article) string {
	if a.Source != "" {
		return truncate(a.Source, 200)
	}
	return a.SourceName()
}

func decodeFeed(id string, m map[string]string, def time.Duration) *Feed {
	f := &Feed{ID: id, URL: m["url"], Kind: cmp.Or(m["kind"], KindFeed), Title: m["title"], ETag: m["etag"], LastModified: m["lm"], LastError: m["last_error"]}
	unix := func(k string) time.Time {
		if v, err := strconv.ParseInt(m[k], 10, 64); err == nil && v > 0 {
			return time.Unix(v, 0).UTC()
		}
		return time.Time{}
	}
	f.Added, f.LastFetch, f.LastNew, f.FailingSince = unix("added"), unix("last_fetch"), unix("last_new"), unix("failing_since")
	f.Errors, _ = strconv.Atoi(m["errors"])
	f.Backfill, _ = strconv.Atoi(m["backfill"])
	f.New = m["new"] == "1"
	f.Articles, _ = strconv.ParseInt(m["articles"], 10, 64)
	f.Interval = def
	if s, err := strconv.ParseInt(m["interval"], 10, 64); err == nil && s > 0 {
		f.Interval = time.Duration(s) * time.Second
	}
	f.Hub, f.WebSub, f.Site = m["hub"], m["websub_state"], m["site"]
	f.WebSubUntil = unix("websub_until")
	f.hints = decodeHints(m)
	return f
}

func checkFeedURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http:// or https:// feed URL", raw)
	}
	return u.String(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
