package articles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/store"
)

// MaxSources caps the other sources listed on a story's first article, so
// that a story carried by every feed does not grow its body without end.
const MaxSources = 20

// Save writes a's body (for TTL), keeping the other sources already recorded
// on an earlier body of the same article: a retry after a crash, or another
// watcher that brought the same page, must not erase the sources that
// copies added to it as a story's first article meanwhile.
func Save(ctx context.Context, st *store.Store, a *article.Article) error {
	key := Key(st, a.ID)
	own := a.Sources
	update := func(tx *redis.Tx) error {
		a.Sources = own
		b, err := tx.Get(ctx, key).Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		var earlier article.Article
		if err == nil && json.Unmarshal(b, &earlier) == nil {
			for _, s := range earlier.Sources {
				a.Sources = withSource(a.Sources, a.Source, s)
			}
		}
		nb, err := json.Marshal(a)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, nb, TTL)
			return nil
		})
		return err
	}
	for range 10 {
		err := st.Redis.Watch(ctx, update, key)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return fmt.Errorf("save article %s: %w", a.ID, err)
			}
			return nil
		}
	}
	return fmt.Errorf("save article %s: too much contention", a.ID)
}

// withSource adds source to the other sources of an article from own, unless
// it is the article's own source, already listed, or the list is full.
func withSource(sources []string, own, source string) []string {
	if source == "" || strings.EqualFold(own, source) || len(sources) >= MaxSources {
		return sources
	}
	for _, s := range sources {
		if strings.EqualFold(s, source) {
			return sources
		}
	}
	return append(sources, source)
}

// AddSource records on a story's first article that another source carried
// it. A lost race retries. The first article's body is saved before its
// story can be found, so a missing key has expired, which is fine.
func AddSource(ctx context.Context, st *store.Store, storyID, source string) error {
	if source == "" {
		return nil
	}
	key := Key(st, storyID)
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
		n := len(first.Sources)
		if first.Sources = withSource(first.Sources, first.Source, source); len(first.Sources) == n {
			return nil
		}
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
		err := st.Redis.Watch(ctx, update, key)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return fmt.Errorf("add source to story %s: %w", storyID, err)
			}
			return nil
		}
	}
	return fmt.Errorf("add source to story %s: too much contention", storyID)
}
