package delivery

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// Sweep finds the readers whose digest list holds items but who are not
// in the pending set, adds them to it, and returns them. Enqueueing pushes
// an item before it marks the reader pending, in another slot; a crash in
// between leaves the item where no sender looks, and the sweep is what
// finds it. It walks every master of a cluster.
func Sweep(ctx context.Context, st *store.Store) ([]string, error) {
	var found []string
	err := st.Scan(ctx, subscriptions.Key(st, "*", "digest"), 1000, func(c redis.UniversalClient, keys []string) error {
		lens := make([]*redis.IntCmd, len(keys))
		_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				lens[i] = p.LLen(ctx, k)
			}
			return nil
		})
		var subs []string
		for i, cmd := range lens {
			if cmd.Val() > 0 { // an error (a key of another type, gone since) counts as empty
				subs = append(subs, subscriptions.KeyID(keys[i]))
			}
		}
		if len(subs) == 0 {
			return nil
		}
		// SADD answers 1 only for a reader that was not pending: those are
		// the stranded ones.
		added := make([]*redis.IntCmd, len(subs))
		_, err := st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range subs {
				added[i] = p.SAdd(ctx, PendingKey(st), id)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("mark swept readers pending: %w", err)
		}
		for i, cmd := range added {
			if cmd.Val() == 1 {
				found = append(found, subs[i])
			}
		}
		return nil
	})
	if err != nil {
		return found, fmt.Errorf("sweep digest lists: %w", err)
	}
	return found, nil
}
