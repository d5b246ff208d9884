package mailer

import (
	"context"
	"sync"
	"time"
)

// limiter spaces sends evenly at a rate shared by every connection.
type limiter struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

func (l *limiter) setRate(perSecond float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.every = 0
	if perSecond > 0 {
		l.every = time.Duration(float64(time.Second) / perSecond)
	}
}

func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	if l.every == 0 {
		l.mu.Unlock()
		return nil
	}
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(l.every)
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
