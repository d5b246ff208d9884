package watcher

import (
	"context"
	"fmt"
	"strconv"
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
	// Below this many words a Simhash moves too much with each edit, and
	// two different short teasers could collide: such articles are their
	// own story.
	storyMinWords = 80
	// A bucket is capped so that a flood of look-alike items (a feed
	// republishing a template) cannot make each lookup slow.
	storyBucketMax = 5000
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
// bit library), so distance is counted per hex digit, from a table of our
// digits' distances to each possible digit. An article's own entry (a retry
// after a crash) is at distance 0 and returns its own story.
var storyScript = redis.NewScript(`
local hex = '0123456789abcdef'
local fp = ARGV[1]
-- cost[i][c]: differing bits between our i-th hex digit and digit byte c.
local cost = {}
for i = 1, 16 do
  local mine = string.find(hex, string.sub(fp, i, i), 1, true) - 1
  local row = {}
  for v = 0, 15 do
    local c, a, b = 0, mine, v
    for k = 1, 4 do
      if (a % 2) ~= (b % 2) then c = c + 1 end
      a = (a - a % 2) / 2; b = (b - b % 2) / 2
    end
    row[string.byte(hex, v + 1)] = c
  end
  cost[i] = row
end
local c1, c2, c3, c4, c5, c6, c7, c8 = cost[1], cost[2], cost[3], cost[4], cost[5], cost[6], cost[7], cost[8]
local c9, c10, c11, c12, c13, c14, c15, c16 = cost[9], cost[10], cost[11], cost[12], cost[13], cost[14], cost[15], cost[16]
local limit = tonumber(ARGV[5])
local best, bestd
for k = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', ARGV[4])
  local ms = redis.call('ZRANGE', KEYS[k], 0, -1)
  for j = 1, #ms do
    local m = ms[j]
    local b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16 = string.byte(m, 1, 16)
    local d = c1[b1] + c2[b2] + c3[b3] + c4[b4] + c5[b5] + c6[b6] + c7[b7] + c8[b8]
      + c9[b9] + c10[b10] + c11[b11] + c12[b12] + c13[b13] + c14[b14] + c15[b15] + c16[b16]
    if d <= limit then
      local id = string.sub(m, 17)
      if id == ARGV[2] then return id end
      -- Buckets are in time order: on a tie the older story wins.
      if best == nil or d < bestd then
        best, bestd = id, d
      end
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

// fingerprint sets a's Simhash, when a is long enough for one that edits do
// not move too much, and makes a its own story until joinStory finds an
// earlier one.
func fingerprint(a *article.Article) {
	a.StoryID, a.Simhash = a.ID, 0
	if text := a.Body(); wordCount(text) >= storyMinWords {
		a.Simhash = article.Simhash(text)
	}
}

// joinStory files a, fingerprinted, as a new story or sets its StoryID to
// the earlier story it repeats. It returns the id of that story's first
// article when a joined one, else "". A new story can be found by other
// watchers as soon as this returns, so a's body must be saved before.
func (w *Watcher) joinStory(ctx context.Context, a *article.Article) (string, error) {
	a.StoryID = a.ID
	if a.Simhash == 0 {
		return "", nil
	}
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
