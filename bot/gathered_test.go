package bot

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/subscriptions"
)

// A round-up (and any gathered message: quiet-hours releases go the same
// way) has an Open button per article and a Mute button per topic, and
// its Mute works like an alert's.
func TestGatheredMessageHasButtons(t *testing.T) {
	c := newConvo(t, false)
	const me = 1001
	ctx := context.Background()
	want(t, c.say(me, me, "/sub belarus"), "Following")
	want(t, c.say(me, me, "/sub minsk"), "Following")
	want(t, c.say(me, me, "/mode hourly"), "once an hour")
	for i := range 3 {
		putArticle(t, c.st, fmt.Sprintf("r%d", i), fmt.Sprintf("Belarus and Minsk %d", i), "Belarus and Minsk.")
	}
	s := NewSender(c.st, c.subs, &APITransport{API: apiClient(t, c.srv)}, quietLog(t))
	runSender(t, s)
	enqueue(t, c.st, me, "r0", "belarus")
	enqueue(t, c.st, me, "r1", "minsk")
	enqueue(t, c.st, me, "r2", "belarus")
	id := subscriptions.TelegramID(me)
	waitUntil(t, func() bool { n, _ := c.st.Redis.LLen(ctx, HeldKey(c.st, id)).Result(); return n == 3 })
	n := len(c.srv.SentTo(me))
	c.st.Redis.ZAdd(ctx, DueKey(c.st, id), redis.Z{Score: 1, Member: id})
	r := c.srv.WaitSentTo(10*time.Second, me, n+1)[n]
	want(t, r, "3 new articles", "1. Belarus and Minsk 0", "3. Belarus and Minsk 2")
	for i := range 3 {
		b, ok := r.Button(fmt.Sprintf("Open %d", i+1))
		if !ok || b.URL != fmt.Sprintf("https://news.example/r%d", i) {
			t.Fatalf("Open %d: %+v (buttons %+v)", i+1, b, r.Buttons())
		}
	}
	if _, ok := r.Button("Mute belarus"); !ok {
		t.Fatalf("no Mute belarus: %+v", r.Buttons())
	}
	muted := c.press(me, me, r, "Mute minsk")
	if m := c.sub(me).Muted; !slices.Equal(m, []string{"minsk"}) {
		t.Fatalf("muted = %v", m)
	}
	if _, ok := muted.Button("Muted minsk · Undo"); !ok {
		t.Fatalf("after mute: %+v", muted.Buttons())
	}
	if _, ok := muted.Button("Open 3"); !ok {
		t.Fatalf("mute lost the Open buttons: %+v", muted.Buttons())
	}
	back := c.press(me, me, muted, "Muted minsk · Undo")
	if _, ok := back.Button("Mute minsk"); !ok || len(c.sub(me).Muted) != 0 {
		t.Fatalf("undo: %+v muted=%v", back.Buttons(), c.sub(me).Muted)
	}
}
