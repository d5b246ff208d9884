package service

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/bot"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/queue"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/watcher"
)

type metrics struct {
	published    prometheus.Counter
	matched      *prometheus.CounterVec
	telegramSent prometheus.Counter
	// telegramTrouble counts sends that went wrong in ways an operator
	// should see (bot.Trouble* kinds).
	telegramTrouble *prometheus.CounterVec
	emailsSent      prometheus.Counter

	fetches       *prometheus.CounterVec
	fetchBytes    *prometheus.CounterVec
	storiesJoined prometheus.Counter

	bounces       *prometheus.CounterVec
	deferrals     *prometheus.CounterVec
	complaints    prometheus.Counter
	bounceRefused *prometheus.CounterVec
}

// noted counts what became of an email that was not simply accepted
// (mailer.Noted).
func (m *metrics) noted(o mailer.Outcome, via string) {
	switch o {
	case mailer.HardBounce, mailer.SoftBounce:
		m.bounces.WithLabelValues(string(o), via).Inc()
	case mailer.Deferral:
		m.deferrals.WithLabelValues(via).Inc()
	case mailer.Complaint:
		m.complaints.Inc()
	}
}

// fetched counts one watcher fetch (Watcher.Fetched).
func (m *metrics) fetched(kind, result string, bytes int) {
	m.fetches.WithLabelValues(kind, result).Inc()
	m.fetchBytes.WithLabelValues(kind).Add(float64(bytes))
}

// newMetrics registers Herald's metrics; pollInterval is the watchers'
// default interval, from which a feed's grace before it counts as overdue
// is taken.
func newMetrics(reg *prometheus.Registry, st *store.Store, pollInterval time.Duration) *metrics {
	m := &metrics{
		published:    prometheus.NewCounter(prometheus.CounterOpts{Name: "herald_articles_published_total", Help: "New articles the watcher put on the article stream."}),
		matched:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_deliveries_queued_total", Help: "Deliveries the matcher queued, by channel."}, []string{"channel"}),
		telegramSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "herald_telegram_sent_total", Help: "Telegram alerts sent."}),
		emailsSent:   prometheus.NewCounter(prometheus.CounterOpts{Name: "herald_emails_sent_total", Help: "Emails accepted by the mail server."}),
		telegramTrouble: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_telegram_send_trouble_total",
			Help: "Telegram sends that went wrong, by kind: unreadable (200, counted as sent), unsure (no answer; sent again once), unsure_again (counted as sent), refused (sent again as plain text), dropped."}, []string{"kind"}),
	}
	m.fetches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_watcher_fetches_total", Help: "Watcher fetches by kind (feed, sitemap, section, page, robots, websub) and result (ok, not_modified, error)."}, []string{"kind", "result"})
	m.fetchBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_watcher_fetched_bytes_total", Help: "Bytes the watcher fetched or was pushed, after decompression, by kind."}, []string{"kind"})
	m.storiesJoined = prometheus.NewCounter(prometheus.CounterOpts{Name: "herald_stories_joined_total", Help: "Articles published as a near-duplicate of an earlier story."})
	m.bounces = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_email_bounces_total", Help: "Emails that bounced, by kind (hard: refused for good, counted against the reader; soft: an MTA gave up after temporary failures) and via (smtp: refused at send; report: a DSN that came back later)."}, []string{"kind", "via"})
	m.deferrals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_email_deferrals_total", Help: "Emails deferred: a 4xx at send (tried again later), or a DSN saying delivery is delayed."}, []string{"via"})
	m.complaints = prometheus.NewCounter(prometheus.CounterOpts{Name: "herald_email_complaints_total", Help: "Complaint reports (ARF) taken; each unsubscribed its reader."})
	m.bounceRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_bounce_refused_total", Help: "Messages and connections the bounce listener refused, by reason (recipient, report, size, rate, connections, error)."}, []string{"reason"})
	reg.MustRegister(m.published, m.matched, m.telegramSent, m.emailsSent, m.telegramTrouble, m.fetches, m.fetchBytes, m.storiesJoined,
		m.bounces, m.deferrals, m.complaints, m.bounceRefused, &queueCollector{st: st, grace: watcher.OverdueGrace(pollInterval), now: time.Now})
	return m
}

// queueCollector reads the queues' state from Redis when scraped.
type queueCollector struct {
	st    *store.Store
	grace time.Duration // a feed late by less is not overdue (watcher.OverdueGrace)
	now   func() time.Time
}

var (
	queueLen     = prometheus.NewDesc("herald_queue_length", "Entries in a stream.", []string{"queue"}, nil)
	queuePending = prometheus.NewDesc("herald_queue_pending", "Entries taken by a consumer and not yet acknowledged.", []string{"queue"}, nil)
	queueOldest  = prometheus.NewDesc("herald_queue_oldest_pending_seconds", "Age of the oldest pending entry.", []string{"queue"}, nil)
	digestsWait  = prometheus.NewDesc("herald_digests_pending", "Email readers with items waiting for their digest.", nil, nil)
	queueLag     = prometheus.NewDesc("herald_queue_lag", "Entries added to a stream and not yet read by its consumer group: the backlog.", []string{"queue"}, nil)
	feedsDue     = prometheus.NewDesc("herald_feeds_overdue", "Watched feeds whose next poll time passed more than max(30 s, a tenth of HERALD_POLL_INTERVAL) ago: the watchers' backlog.", nil, nil)
	feedsTotal   = prometheus.NewDesc("herald_feeds", "Watched feeds.", nil, nil)
	matcherLag   = prometheus.NewDesc("herald_matcher_lag", "Articles on the stream not yet read by a matcher partition's group (partition K/N): that partition's backlog.", []string{"partition"}, nil)
	matcherPend  = prometheus.NewDesc("herald_matcher_pending", "Articles a matcher partition took and has not finished.", []string{"partition"}, nil)
	alertsHeld   = prometheus.NewDesc("herald_telegram_held_chats", "Telegram subscribers with alerts held back (quiet hours, gathering, pause).", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueLen
	ch <- queuePending
	ch <- queueOldest
	ch <- digestsWait
	ch <- queueLag
	ch <- feedsDue
	ch <- feedsTotal
	ch <- alertsHeld
	ch <- matcherLag
	ch <- matcherPend
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.collectArticles(ctx, ch)
	c.collectAlerts(ctx, ch)
	due := c.st.Key("feeds", "due")
	if n, err := c.st.Redis.ZCard(ctx, due).Result(); err == nil {
		ch <- prometheus.MustNewConstMetric(feedsTotal, prometheus.GaugeValue, float64(n))
	}
	if n, err := watcher.Overdue(ctx, c.st, c.now(), c.grace); err == nil {
		ch <- prometheus.MustNewConstMetric(feedsDue, prometheus.GaugeValue, float64(n))
	}
	if n, err := bot.HeldChats(ctx, c.st); err == nil {
		ch <- prometheus.MustNewConstMetric(alertsHeld, prometheus.GaugeValue, float64(n))
	}
	if n, err := c.st.Redis.SCard(ctx, delivery.PendingKey(c.st)).Result(); err == nil {
		ch <- prometheus.MustNewConstMetric(digestsWait, prometheus.GaugeValue, float64(n))
	}
}

// collectAlerts reports the Telegram alert queue, summed over its shards
// (and the unsharded queue of earlier versions): length, pending, lag, and
// the oldest pending entry of all.
func (c *queueCollector) collectAlerts(ctx context.Context, ch chan<- prometheus.Metric) {
	const name = "telegram"
	var length, pending, lag int64
	var oldest time.Duration
	for _, key := range delivery.TelegramQueues(c.st) {
		q := queue.Stream{Redis: c.st.Redis, Key: key, Group: delivery.TelegramGroup}
		st, err := q.Stats(ctx)
		if err != nil {
			return
		}
		length, pending = length+st.Length, pending+st.Pending
		oldest = max(oldest, st.OldestPending)
		// A stream keeps what was read (it is trimmed by length), so its
		// length is not the backlog; the group's lag is.
		if lag < 0 {
			continue
		}
		gs, err := c.st.Redis.XInfoGroups(ctx, key).Result()
		if err != nil {
			lag = -1
			continue
		}
		l := int64(0) // no group yet: nothing read, and nothing queued
		for _, g := range gs {
			if g.Name == q.Group {
				l = g.Lag
				if c.st.Embedded {
					l = c.unread(ctx, key, g.LastDeliveredID)
				}
			}
		}
		if l < 0 {
			lag = -1
			continue
		}
		lag += l
	}
	ch <- prometheus.MustNewConstMetric(queueLen, prometheus.GaugeValue, float64(length), name)
	ch <- prometheus.MustNewConstMetric(queuePending, prometheus.GaugeValue, float64(pending), name)
	ch <- prometheus.MustNewConstMetric(queueOldest, prometheus.GaugeValue, oldest.Seconds(), name)
	if lag >= 0 {
		ch <- prometheus.MustNewConstMetric(queueLag, prometheus.GaugeValue, float64(lag), name)
	}
}

// collectArticles reports the article stream, which every matcher
// partition reads through a group of its own: each partition's lag and
// pending, and as the "articles" queue the slowest partition's lag, the
// pending of all, and the oldest of those.
func (c *queueCollector) collectArticles(ctx context.Context, ch chan<- prometheus.Metric) {
	key := articles.StreamKey(c.st)
	n, err := c.st.Redis.XLen(ctx, key).Result()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(queueLen, prometheus.GaugeValue, float64(n), "articles")
	gs, err := c.st.Redis.XInfoGroups(ctx, key).Result()
	if err != nil {
		return
	}
	var worst, pending int64 = -1, 0
	var oldest time.Duration
	for _, g := range gs {
		k, n, ok := articles.MatcherPartition(g.Name)
		if !ok {
			continue
		}
		part := strconv.Itoa(k) + "/" + strconv.Itoa(n)
		lag := g.Lag
		if c.st.Embedded {
			lag = c.unread(ctx, key, g.LastDeliveredID)
		}
		if lag >= 0 {
			ch <- prometheus.MustNewConstMetric(matcherLag, prometheus.GaugeValue, float64(lag), part)
			worst = max(worst, lag)
		}
		ch <- prometheus.MustNewConstMetric(matcherPend, prometheus.GaugeValue, float64(g.Pending), part)
		pending += g.Pending
		if g.Pending > 0 {
			q := queue.Stream{Redis: c.st.Redis, Key: key, Group: g.Name}
			if st, err := q.Stats(ctx); err == nil {
				oldest = max(oldest, st.OldestPending)
			}
		}
	}
	if worst < 0 {
		return // no matcher has started yet
	}
	ch <- prometheus.MustNewConstMetric(queueLag, prometheus.GaugeValue, float64(worst), "articles")
	ch <- prometheus.MustNewConstMetric(queuePending, prometheus.GaugeValue, float64(pending), "articles")
	ch <- prometheus.MustNewConstMetric(queueOldest, prometheus.GaugeValue, oldest.Seconds(), "articles")
}

// unread counts the entries after last, or -1. The embedded server answers
// XINFO GROUPS with the stream's length as the lag; its streams are small,
// so they are counted instead.
func (c *queueCollector) unread(ctx context.Context, key, last string) int64 {
	xs, err := c.st.Redis.XRange(ctx, key, "("+last, "+").Result()
	if err != nil {
		return -1
	}
	return int64(len(xs))
}
