package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Scan calls fn with the keys matching pattern (a full key, prefix
// included), about count at a time, with the client of the server that
// holds them. On a cluster it walks every master, since SCAN only sees
// the keys of the node it is sent to.
func (s *Store) Scan(ctx context.Context, pattern string, count int64, fn func(c redis.UniversalClient, keys []string) error) error {
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, count).Result()
			if err != nil {
				return fmt.Errorf("scan %s: %w", pattern, err)
			}
			if len(keys) > 0 {
				if err := fn(c, keys); err != nil {
					return err
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	if cc, ok := s.Redis.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	}
	return scan(ctx, s.Redis)
}
