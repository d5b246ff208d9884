package watcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
)

// Near-duplicate stories. Each story's first article is filed under its
// Simhash split into storyBands bands of 64/storyBands bits: two fingerprints
// within k bits of each other agree on at least one band whenever
// k < storyBands, and, for the calibrated threshold (article.NearDuplicateBits,
// 10), on at least one of 8 bands in about 96% of cases (measured by
// simulation; 4 bands of 16 bits would catch only 17% at 10 bits and 44% at
// 7). A lookup reads storyBands buckets, each holding about N/256 of the N
// stories of the window, so it costs N/32 comparisons instead of N.
const (
	StoryWindow   = 72 * time.Hour
	storyBands    = 8
	storyBandBits = 64 / storyBands
	// Below this many words a Simhash moves too much with each edit (see
	// article.NearDuplicate) and two different short teasers could collide;
	// such articles are their own story.
	storyMinWords = 80
	// A bucket is capped so that a flood of look-alike items (a feed
	// republishing a template) cannot make each lookup slow.
	storyBucketMax = 5000
	maxSources     = 20
)

// storyBucketKey is one band bucket: a sorted set of "<simhash hex><article
// id>" of stories' first articles, scored by the time they were seen.
func (w *Watcher) storyBucketKey(band int, value uint64) string {
	return w.st.Key("{articles}", "story", strconv.Itoa(band), strconv.FormatUint(value, 16))
}

// storyScript finds the story a fingerprint belongs to, or files it as a new
// story, in one step: two watchers publishing near-identical articles at the
// same moment are serialised by Redis, and the second joins the first.
//
// KEYS: the band buckets. ARGV: 1 fingerprint as 16 hex digits, 2 article
// id, 3 now (ms), 4 window start (ms), 5 max differing bits, 6 bucket TTL
// (s), 7 bucket cap. Returns the story id (the first article's id).
//
// Lua in Redis has no portable bit operations (the embedded Redis lacks the
// bit library), so distance is counted per hex digit with a 16×16 table.
var storyScript = redis.NewScript(`
local hexv = {}
for i = 1, 16 do hexv[string.byte('0123456789abcdef', i)] = i - 1 end
local pop = {[0]=0,1,1,2,1,2,2,3,1,2,2,3,2,3,3,4}
local dist = {}
for a = 0, 15 do
  dist[a] = {}
  for b = 0, 15 do
    local c, av, bv = 0, a, b
    for k = 0, 3 do
      if (av % 2) ~= (bv % 2) then c = c + 1 end
      av = math.floor(av / 2); bv = math.floor(bv / 2)
    end
    dist[a][b] = c
  end
end
local fp = ARGV[1]
local mine = {}
for i = 1, 16 do mine[i] = hexv[string.byte(fp, i)] end
local limit = tonumber(ARGV[5])
local best, bestd, bests
for k = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', ARGV[4])
  local ms = redis.call('ZRANGE', KEYS[k], 0, -1, 'WITHSCORES')
  for j = 1, #ms, 2 do
    local m = ms[j]
    local id = string.sub(m, 17)
    if id == ARGV[2] then return id end
    local d = 0
    for i = 1, 16 do
      d = d + dist[mine[i]][hexv[string.byte(m, i)]]
      if d > limit then break end
    end
    local s = tonumber(ms[j + 1])
    if d <= limit and (best == nil or d < bestd or (d == bestd and s < bests)) then
      best, bestd, bests = id, d, s
    end
  end
end
if best then return best end
local member = fp .. ARGV[2]
for k = 1, #KEYS do
  redis.call('ZADD', KEYS[k], ARGV[3], member)
  redis.call('ZREMRANGEBYRANK', KEYS[k], 0, -tonumber(ARGV[7]) - 1)
  redis.call('EXPIRE', KEYS[k], ARGV[6])
end
return ARGV[2]
`)

// joinStory sets a's Simhash and StoryID. It returns the id of the story's
// first article when a is a near-duplicate of it, else "".
func (w *Watcher) joinStory(ctx context.Context, a *article.Article) (string, error) {
	a.StoryID = a.ID
	text := a.Body()
	if wordCount(text) < storyMinWords {
		return "", nil
	}
	a.Simhash = article.Simhash(text)
	keys := make([]string, storyBands)
	for b := range storyBands {
		keys[b] = w.storyBucketKey(b, (a.Simhash>>(b*storyBandBits))&(1<<storyBandBits-1))
	}
	now := w.Now()
	story, err := storyScript.Run(ctx, w.st.Redis, keys,
		fmt.Sprintf("%016x", a.Simhash), a.ID, now.UnixMilli(), now.Add(-StoryWindow).UnixMilli(),
		article.NearDuplicateBits, int64(StoryWindow/time.Second), storyBucketMax).Text()
	if err != nil {
		return "", fmt.Errorf("find story of %s: %w", a.URL, err)
	}
	a.StoryID = story
	if story == a.ID {
		return "", nil
	}
	return story, nil
}

// addSource records on a story's first article that another source carried
// it. A lost race retries; the article key may have expired, which is fine.
func (w *Watcher) addSource(ctx context.Context, storyID, source string) error {
	if source == "" {
		return nil
	}
	key := ArticleKey(w.st, storyID)
	update := func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		var first article.Article
		if err := json.Unmarshal(b, &first); err != nil {
			return nil // not ours to repair
		}
		if strings.EqualFold(first.Source, source) || len(first.Sources) >= maxSources {
			return nil
		}
		for _, s := range first.Sources {
			if strings.EqualFold(s, source) {
				return nil
			}
		}
		first.Sources = append(first.Sources, source)
		nb, err := json.Marshal(&first)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, key, nb, redis.SetArgs{KeepTTL: true})
			return nil
		})
		return err
	}
	for range 10 {
		err := w.st.Redis.Watch(ctx, update, key)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return fmt.Errorf("add source to story %s: %w", storyID, err)
			}
			return nil
		}
	}
	return fmt.Errorf("add source to story %s: too much contention", storyID)
}

// wordCount counts words the way a reader would: runs of letters or digits.
func wordCount(s string) int {
	n, in := 0, false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			if !in {
				n++
			}
			in = true
		} else {
			in = false
		}
	}
	return n
}
