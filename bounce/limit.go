package bounce

import (
	"io"
	"net"
	"sync"
	"time"
)

// limitListener serves at most cap(slots) connections at once; one more
// is told 421 and closed at once, so a flood of connections cannot tie
// up the process.
type limitListener struct {
	net.Listener
	slots   chan struct{}
	refused func(net.Addr)
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
		}
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(c, "421 4.7.0 Too many connections; try again later\r\n")
		_ = c.Close()
		l.refused(c.RemoteAddr())
	}
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// buckets is a token bucket per IP address: burst messages at once, then
// rate a second.
type buckets struct {
	mu    sync.Mutex
	burst float64
	rate  float64
	m     map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newBuckets(burst, rate float64) *buckets {
	return &buckets{burst: burst, rate: rate, m: map[string]*bucket{}}
}

// take spends one token of ip's bucket, if it has one.
func (b *buckets) take(ip string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m) > 10000 {
		// Forget the addresses whose buckets are full again: they are as
		// good as new.
		for k, v := range b.m {
			if v.level(now, b) >= b.burst {
				delete(b.m, k)
			}
		}
	}
	bk := b.m[ip]
	if bk == nil {
		bk = &bucket{tokens: b.burst, at: now}
		b.m[ip] = bk
	}
	bk.tokens, bk.at = bk.level(now, b), now
	if bk.tokens < 1 {
		return false
	}
	bk.tokens--
	return true
}

func (bk *bucket) level(now time.Time, b *buckets) float64 {
	d := now.Sub(bk.at).Seconds()
	if d < 0 {
		d = 0
	}
	return min(b.burst, bk.tokens+d*b.rate)
}
