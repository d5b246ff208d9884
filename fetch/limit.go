package fetch

import (
	"context"
	"sync"
)

// hostLimiter bounds the requests in flight to one host, so that many feeds
// on one site (or one site's article pages) are polled politely, one or two
// at a time, whatever the global concurrency.
type hostLimiter struct {
	per   int
	mu    sync.Mutex
	hosts map[string]*hostSlots
}

type hostSlots struct {
	sem   chan struct{}
	users int // holders and waiters; the entry is dropped at zero so the map stays small
}

func newHostLimiter(per int) *hostLimiter {
	return &hostLimiter{per: per, hosts: make(map[string]*hostSlots)}
}

// acquire waits for a slot on host and returns the function that frees it.
func (l *hostLimiter) acquire(ctx context.Context, host string) (func(), error) {
	l.mu.Lock()
	h := l.hosts[host]
	if h == nil {
		h = &hostSlots{sem: make(chan struct{}, l.per)}
		l.hosts[host] = h
	}
	h.users++
	l.mu.Unlock()

	leave := func() {
		l.mu.Lock()
		h.users--
		if h.users == 0 {
			delete(l.hosts, host)
		}
		l.mu.Unlock()
	}
	select {
	case h.sem <- struct{}{}:
		return func() { <-h.sem; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// acquireGlobal takes one of the fetcher-wide slots.
func acquireGlobal(ctx context.Context, sem chan struct{}) (func(), error) {
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
