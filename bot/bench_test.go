package bot

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// BenchmarkDelivery sends queued alerts through the Bot API double with
// its flood limits on, and reports the message rate achieved as a share of
// the double's cap, the 429s received and the duplicates. "x3" runs three
// Senders with their own consumer names, HTTP clients and limiters: they
// share nothing but Redis, as three processes would.
//
//	go test ./bot/ -run '^$' -bench Delivery -benchtime 1x
func BenchmarkDelivery(b *testing.B) {
	for _, c := range []struct {
		name          string
		chats, alerts int
		cap           int
		senders       int
	}{
		{"10000alerts-10000chats-cap1000", 10000, 10000, 1000, 1},
		{"10000alerts-10000chats-cap1000-x3", 10000, 10000, 1000, 3},
		{"3000alerts-300chats-cap30", 300, 3000, 30, 1},
		{"3000alerts-300chats-cap30-x3", 300, 3000, 30, 3},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				benchDelivery(b, c.chats, c.alerts, c.cap, c.senders)
			}
		})
	}
}

var articleLink = regexp.MustCompile(`https://news\.example/(a\d+)`)

func benchDelivery(b *testing.B, chats, alerts, limit, senders int) {
	b.StopTimer()
	st := storetest.New(b)
	subs := subscriptions.NewStore(st)
	srv := telegramtest.New(b, telegramtest.WithAutoChats(), telegramtest.WithLimits(telegramtest.Limits{
		ChatInterval: time.Second, GroupPerMinute: 20, BotPerSecond: limit, PaidPerSecond: limit,
	}))
	ctx := context.Background()
	perChat := alerts / chats
	for i := range perChat {
		putArticle(b, st, fmt.Sprintf("a%d", i), fmt.Sprintf("Belarus story %d", i), "Belarus and its neighbours agreed on something today. More follows.")
	}
	seedSubscribers(b, st, subs, chats)
	for i := range perChat {
		for c := 1; c <= chats; c++ {
			enqueue(b, st, int64(c), fmt.Sprintf("a%d", i), "belarus")
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, senders)
	for i := range senders {
		api := apiClient(b, srv)
		s := NewSender(st, subs, &APITransport{API: api, Paid: limit > 30}, quietLog(b))
		// Telegram's cap itself: the limiter paces a little under it and
		// never lets any second of arrivals exceed it, whatever the jitter.
		s.Rate = float64(limit)
		s.Consumer = fmt.Sprintf("bench-%d", i)
		s.Workers = 128
		go func() { s.Run(runCtx); done <- struct{}{} }()
	}
	b.StartTimer()
	// Counted as they come, so the polling costs the senders little CPU.
	counted, n := 0, 0
	delivered := func() int {
		sent := srv.Sent()
		for _, m := range sent[counted:] {
			n += len(articleLink.FindAllString(m.Text, -1))
		}
		counted = len(sent)
		return n
	}
	deadline := time.Now().Add(time.Duration(float64(alerts)/float64(limit)*3)*time.Second + 30*time.Second)
	for delivered() < alerts && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	b.StopTimer()
	time.Sleep(1500 * time.Millisecond) // room for a late duplicate to show
	cancel()
	for range senders {
		<-done
	}
	sent := srv.Sent()
	seen := map[string]int{}
	dups := 0
	for _, m := range sent {
		for _, id := range articleLink.FindAllStringSubmatch(m.Text, -1) {
			k := fmt.Sprintf("%d/%s", m.ChatID, id[1])
			seen[k]++
			if seen[k] > 1 {
				dups++
			}
		}
	}
	if len(seen) != alerts {
		b.Errorf("delivered %d distinct alerts, want %d", len(seen), alerts)
	}
	if len(sent) < 2 {
		b.Fatalf("only %d messages sent", len(sent))
	}
	span := sent[len(sent)-1].Time.Sub(sent[0].Time).Seconds()
	rate := float64(len(sent)-1) / span
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(100*rate/float64(limit), "%cap")
	b.ReportMetric(float64(len(seen))/span, "alerts/s")
	b.ReportMetric(float64(srv.TooManyRequests()), "429s")
	b.ReportMetric(float64(dups), "dups")
	b.ReportMetric(float64(len(sent)), "msgs")
}

// seedSubscribers writes chats 1..n as subscribers in pipelined batches
// (through the store for the first, to keep the format honest).
func seedSubscribers(b *testing.B, st *store.Store, subs *subscriptions.Store, n int) {
	b.Helper()
	for c := 1; c <= n; c++ {
		addSub(b, subs, int64(c), "belarus")
	}
	_ = delivery.MarkerTTL
}
