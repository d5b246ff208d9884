package watcher

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
)

// keepScript marks a new feed's existing items seen and files them in the
// recent window, without announcing them on the stream: they are old news
// to alert about, but /preview and the sign-up preview, which read the
// window, should find them right after the feed is added. KEYS[1] is the
// window, KEYS[2..] the items' seen keys; ARGV is the seen TTL, the
// window's cut-off and size, then each item's id and score.
var keepScript = redis.NewScript(`
local ttl = tonumber(ARGV[1])
local n = 0
for i = 2, #KEYS do
  local id = ARGV[2 * i]
  if redis.call('SET', KEYS[i], id, 'NX', 'EX', ttl) then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[2 * i + 1]), id)
    n = n + 1
  end
end
if n > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]))
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
end
return n
`)

// keepBatch bounds the keys of one keepScript call.
const keepBatch = 100

// keep stores the items of a feed's first fetch for previews: each unseen
// one is saved (unless another feed saved it already), marked seen and
// added to the recent window, but not put on the stream, so no subscriber
// is alerted to them. Items are scored by their publication date (the
// fetch time when they have none or a later one), so that a feed's old
// items do not push the newest articles of other feeds out of the window
// and items older than the window are not kept at all. Their pages are
// not fetched: the feed's text is what previews match.
func (w *Watcher) keep(ctx context.Context, f *Feed, items []*article.Article) (int, error) {
	fresh, err := w.unseen(ctx, items)
	if err != nil || len(fresh) == 0 {
		return 0, err
	}
	now := w.Now().UTC()
	for _, a := range fresh {
		a.FeedURL, a.SeenAt, a.StoryID = f.URL, now, a.ID
		if a.Source == "" {
			a.Source = f.Title
		}
		a.DetectLang()
	}
	// The bodies go first: an id in the window is readable.
	if err := articles.SaveNew(ctx, w.st, fresh); err != nil {
		return 0, err
	}
	kept := 0
	for start := 0; start < len(fresh); start += keepBatch {
		batch := fresh[start:min(start+keepBatch, len(fresh))]
		keys := []string{articles.RecentKey(w.st)}
		args := []any{int64(SeenTTL / time.Second), now.Add(-articles.RecentWindow).UnixMilli(), articles.RecentMax}
		for _, a := range batch {
			at := now
			if a.Published != nil && a.Published.Before(now) {
				at = *a.Published
			}
			keys = append(keys, w.seenKey(a.ID))
			args = append(args, a.ID, strconv.FormatInt(at.UnixMilli(), 10))
		}
		n, err := keepScript.Run(ctx, w.st.Redis, keys, args...).Int()
		if err != nil {
			return kept, fmt.Errorf("keep the first items of %s: %w", f.URL, err)
		}
		kept += n
	}
	if kept > 0 {
		w.log.Info("kept a new feed's items for previews, unannounced", "feed", f.URL, "count", kept)
	}
	return kept, nil
}
