package mailer

import (
	"testing"
	"time"

	"github.com/herald-news/herald/subscriptions"
)

func TestFirstDigest(t *testing.T) {
	vilnius, _ := time.LoadLocation("Europe/Vilnius")
	at := func(d, h, m int) time.Time { return time.Date(2030, 3, d, h, m, 0, 0, vilnius) }
	daily := &subscriptions.Subscriber{Frequency: "daily", Hour: 8, TZ: "Europe/Vilnius"}
	weekly := &subscriptions.Subscriber{Frequency: "weekly", Hour: 8, TZ: "Europe/Vilnius"}
	instant := &subscriptions.Subscriber{Frequency: "instant", TZ: "Europe/Vilnius"}
	for _, c := range []struct {
		name      string
		sub       *subscriptions.Subscriber
		last, now time.Time
		want      time.Time
	}{
		{"daily, before the hour", daily, time.Time{}, at(12, 7, 0), at(12, 8, 0)},
		{"daily, within the grace", daily, time.Time{}, at(12, 8, 20), at(12, 8, 20)},
		{"daily, after the hour", daily, time.Time{}, at(12, 14, 0), at(13, 8, 0)},
		{"daily, sent today", daily, at(12, 8, 0), at(12, 8, 30), at(13, 8, 0)},
		{"weekly, none yet", weekly, time.Time{}, at(12, 14, 0), at(13, 8, 0)},
		{"weekly, sent two days ago", weekly, at(10, 8, 0), at(12, 14, 0), at(17, 8, 0)},
		{"instant", instant, time.Time{}, at(12, 14, 0), at(12, 14, 0)},
		// 8:00 UTC is 10:00 in Vilnius: the zone decides, not the clock's.
		{"daily, zone", daily, time.Time{}, time.Date(2030, 3, 12, 7, 0, 0, 0, time.UTC), at(13, 8, 0)},
	} {
		if got := FirstDigest(c.sub, c.last, c.now); !got.Equal(c.want) {
			t.Errorf("%s: FirstDigest = %s, want %s", c.name, got, c.want)
		}
	}
}
