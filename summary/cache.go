package summary

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/store"
)

// DefaultTTL keeps a summary for as long as an article can still be sent:
// a weekly digest plus a day.
const DefaultTTL = 8 * 24 * time.Hour

// Summarizer gives every consumer (bot, mailer, web) the same summary of an
// article, computed once and kept in Redis:
//
//	summary:{article}          hash {text, by: "extractive"|"llm"}
//	summary:{article}:{topic}  string, the summary made to show the topic
//	summary:{article}:lock     string, held while one process asks the LLM
//	summary:llm:{unix minute}  counter of LLM calls, for the shared budget
//
// The topic key exists only when the article summary does not already name
// one of the topic's terms. All keys expire (TTL, or minutes for the lock
// and the counter).
type Summarizer struct {
	st  *store.Store
	llm *LLM

	// TTL is how long summaries are kept; DefaultTTL when zero.
	TTL time.Duration
	// Options set the length of every summary (Title and Topic are taken
	// from the article and the call). They are not part of the key: every
	// consumer shares one summary per article.
	Options Options
	// Logger receives fallbacks and cache failures; slog.Default when nil.
	Logger *slog.Logger
}

// NewSummarizer returns a Summarizer caching in st; llm may be nil for
// extractive summaries only.
func NewSummarizer(st *store.Store, llm *LLM) *Summarizer {
	return &Summarizer{st: st, llm: llm, TTL: DefaultTTL}
}

const (
	byExtractive = "extractive"
	byLLM        = "llm"
	// lockTTL outlives one LLM call (20 s by default) so that a second
	// process waits instead of calling too.
	lockTTL = 30 * time.Second
)

// For returns the summary of a for a subscriber whose topic matched on the
// given terms (nil for none). A Redis failure is logged and the summary
// computed anyway: delivery matters more than the cache.
func (s *Summarizer) For(ctx context.Context, a *article.Article, topic []string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	text, by := s.base(ctx, a)
	if len(topic) == 0 || text == "" {
		return text, nil
	}
	st := stemmer{}
	m := newTopicMatcher(topic, st)
	if m == nil || m.match(text) {
		return text, nil
	}
	key := s.st.Key("summary", a.ID, topicHash(topic))
	cached, err := s.st.Redis.Get(ctx, key).Result()
	if err == nil {
		return cached, nil
	}
	if !errors.Is(err, redis.Nil) {
		s.logger().Warn("summary cache read", "article", a.ID, "err", err)
	}
	out := s.withTopic(a, text, by, topic)
	if err := s.st.Redis.Set(ctx, key, out, s.ttl()).Err(); err != nil {
		s.logger().Warn("summary cache write", "article", a.ID, "err", err)
	}
	return out, nil
}

// base returns the article's own summary and what made it.
func (s *Summarizer) base(ctx context.Context, a *article.Article) (text, by string) {
	key := s.st.Key("summary", a.ID)
	if text, by, ok := s.cached(ctx, key, a.ID); ok {
		return text, by
	}
	text, by = "", byExtractive
	if s.llm != nil {
		// One process asks the model; the others wait for its answer.
		lock := s.st.Key("summary", a.ID, "lock")
		got, err := s.st.Redis.SetNX(ctx, lock, "1", lockTTL).Result()
		switch {
		case err != nil:
			s.logger().Warn("summary lock", "article", a.ID, "err", err)
		case !got:
			if text, by, ok := s.wait(ctx, key, a.ID); ok {
				return text, by
			}
			// The holder died or is slow: answer extractively, cache
			// nothing, and let the holder's answer stand.
			return s.extractive(a), byExtractive
		default:
			defer s.st.Redis.Del(context.WithoutCancel(ctx), lock)
		}
		if err == nil {
			text = s.fromLLM(ctx, a)
			if text != "" {
				by = byLLM
			}
		}
	}
	if text == "" {
		text = s.extractive(a)
	}
	_, err := s.st.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "text", text, "by", by)
		p.Expire(ctx, key, s.ttl())
		return nil
	})
	if err != nil {
		s.logger().Warn("summary cache write", "article", a.ID, "err", err)
	}
	return text, by
}

func (s *Summarizer) cached(ctx context.Context, key, id string) (text, by string, ok bool) {
	h, err := s.st.Redis.HGetAll(ctx, key).Result()
	if err != nil {
		s.logger().Warn("summary cache read", "article", id, "err", err)
		return "", "", false
	}
	text, ok = h["text"]
	return text, h["by"], ok
}

// wait polls for the summary another process is making.
func (s *Summarizer) wait(ctx context.Context, key, id string) (text, by string, ok bool) {
	limit := lockTTL
	if s.llm != nil {
		limit = s.llm.cfg.Timeout + 2*time.Second
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", "", false
		case <-deadline.C:
			return "", "", false
		case <-tick.C:
			if text, by, ok := s.cached(ctx, key, id); ok {
				return text, by, true
			}
		}
	}
}

// fromLLM asks the model within the budget shared by all processes, and
// returns "" on any failure so that the caller falls back.
func (s *Summarizer) fromLLM(ctx context.Context, a *article.Article) string {
	minute := strconv.FormatInt(time.Now().Unix()/60, 10)
	budgetKey := s.st.Key("summary", "llm", minute)
	n, err := s.st.Redis.Incr(ctx, budgetKey).Result()
	if err == nil {
		s.st.Redis.Expire(ctx, budgetKey, 2*time.Minute)
		if n > int64(s.llm.cfg.PerMinute) {
			s.logger().Info("summary llm budget used up; extractive", "article", a.ID)
			return ""
		}
	}
	text := CleanWithTitle(articleText(a), a.Title)
	out, err := s.llm.Summarize(ctx, a.Title, text, a.Lang, s.sentences())
	if err != nil {
		s.logger().Warn("summary llm failed; extractive", "article", a.ID, "err", err)
		return ""
	}
	if s.Options.Chars > 0 && len([]rune(out)) > s.Options.Chars {
		return "" // the extractive summary respects the budget; use it
	}
	return out
}

func (s *Summarizer) extractive(a *article.Article) string {
	opt := s.Options
	opt.Title, opt.Topic = a.Title, nil
	return Summarize(articleText(a), opt)
}

// withTopic makes the summary for a topic the base summary does not name:
// for an extractive base, the extractive summary with the topic; for a
// model's summary, its sentences with the last replaced by the article's
// best sentence naming the topic. When no sentence names it (the topic
// matched the title), the base summary stands.
func (s *Summarizer) withTopic(a *article.Article, base, by string, topic []string) string {
	opt := s.Options
	opt.Title, opt.Topic = a.Title, topic
	if by != byLLM {
		return Summarize(articleText(a), opt)
	}
	d := newDoc(articleText(a), opt)
	m := newTopicMatcher(topic, d.st)
	var best *sentence
	for _, c := range d.sents {
		fits := s.Options.Chars <= 0 || len([]rune(c.text)) <= s.Options.Chars
		if fits && m.match(c.text) && (best == nil || c.score > best.score) {
			best = c
		}
	}
	if best == nil {
		return base
	}
	kept := Sentences(base)
	kept = kept[:min(len(kept), s.sentences()-1)]
	for s.Options.Chars > 0 && len(kept) > 0 && len([]rune(strings.Join(append(slices.Clone(kept), best.text), " "))) > s.Options.Chars {
		kept = kept[:len(kept)-1]
	}
	return joinSentences(append(toSentences(kept), best), s.Options.Chars)
}

func toSentences(ss []string) []*sentence {
	out := make([]*sentence, len(ss))
	for i, t := range ss {
		out[i] = &sentence{text: t}
	}
	return out
}

func articleText(a *article.Article) string {
	if t := a.Body(); strings.TrimSpace(t) != "" {
		return t
	}
	return a.Title
}

// topicHash names a topic by its terms, folded and sorted, so that the same
// topic typed differently shares one cached summary.
func topicHash(topic []string) string {
	norm := make([]string, 0, len(topic))
	for _, t := range topic {
		w := strings.Join(words(t), " ")
		if strings.HasSuffix(strings.TrimSpace(t), "*") {
			w += "*"
		}
		if w != "" {
			norm = append(norm, w)
		}
	}
	slices.Sort(norm)
	norm = slices.Compact(norm)
	sum := sha256.Sum256([]byte(strings.Join(norm, "\x00")))
	return hex.EncodeToString(sum[:8])
}

func (s *Summarizer) sentences() int {
	if s.Options.Sentences > 0 {
		return s.Options.Sentences
	}
	return DefaultSentences
}

func (s *Summarizer) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

func (s *Summarizer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
