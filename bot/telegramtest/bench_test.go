package telegramtest

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-telegram/bot"
)

// BenchmarkSendMessage measures the double itself, so that a delivery
// benchmark knows the double is not what limits it.
func BenchmarkSendMessage(b *testing.B) {
	s := New(b, WithAutoChats(), WithLimits(NoLimits))
	// Enough idle connections for every sender, as a delivery client keeps.
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c, err := bot.New(s.Token, bot.WithServerURL(s.URL), bot.WithSkipGetMe(),
		bot.WithHTTPClient(time.Minute, &http.Client{Transport: tr}))
	if err != nil {
		b.Fatal(err)
	}
	var chat atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := c.SendMessage(context.Background(), &bot.SendMessageParams{
				ChatID: chat.Add(1), Text: "<b>Alert</b> &amp; a summary of the article", ParseMode: "HTML",
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
