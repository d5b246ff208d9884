//go:build faults

package faults

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/subscriptions"
)

// TestFaultyPeers makes the Bot API answer bursts of 429, 500s, slow
// answers and reset connections, and the SMTP server answer 421, 451 and
// 550: alerts are retried at the pace Telegram asks for, temporary mail
// failures are retried after a back-off, permanent ones count as bounces
// until the address is suspended, and nothing is lost.
func TestFaultyPeers(t *testing.T) {
	needRedis(t)
	rd := startRedis(t)
	st := rd.Store(t)
	tg := telegramtest.New(t, telegramtest.WithAutoChats(), telegramtest.WithLimits(noisyLimits))
	mail := smtptest.New(t)
	site := newNewsSite(t)
	chats, emails := seed(t, st, "wildfire", 7001, 60, 6)
	w := world{Redis: rd.URL(), TG: tg, Mail: mail, Feeds: []string{site.FeedURL()}}
	h := newHerald(t, "all", "all", w)
	h.Start()
	feedFetched(t, st, site.FeedURL())

	// Telegram misbehaves from the first alert on.
	const send = "sendMessage"
	tg.AddFault(telegramtest.Fault{Method: send, Times: 12, Status: http.StatusTooManyRequests, RetryAfter: 2})
	tg.AddFault(telegramtest.Fault{Method: send, Times: 8, Status: http.StatusInternalServerError})
	tg.AddFault(telegramtest.Fault{Method: send, Times: 4, Status: http.StatusBadGateway})
	tg.AddFault(telegramtest.Fault{Method: send, Times: 3, Delay: 4 * time.Second, Reset: true})
	tg.AddFault(telegramtest.Fault{Method: send, Times: 4, Reset: true})
	const deliveredButFailed = 2
	tg.AddFault(telegramtest.Fault{Method: send, Times: deliveredButFailed, Status: http.StatusInternalServerError, After: true})

	site.Publish("wildfire-0", "Wildfire crosses the ridge", storyText("wildfire", 300))
	tgOnly := expected(chats, nil, []string{"wildfire-0"})
	o := settle(t, tg, nil, tgOnly, 90*time.Second, 2*time.Second)
	t.Logf("telegram under faults: %s; 429 answered %d times", o, tg.TooManyRequests())
	if o.Lost > 0 {
		t.Errorf("alerts lost under Bot API faults: %d, e.g. %v", o.Lost, o.Missing)
	}
	// A message Telegram took but answered with an error may be sent
	// again; nothing else may.
	if o.DupMsgs > deliveredButFailed {
		t.Errorf("%d alerts repeated; only the %d answered with an error after delivery may be", o.DupMsgs, deliveredButFailed)
	}
	// retry_after is honoured for the chat that got it.
	checkRetryAfter(t, tg.Calls())

	// Email: every reader has the story waiting; the mail server then
	// refuses in every way it can.
	ctx := context.Background()
	waitUntil(t, 30*time.Second, "digest items for every reader", func() bool {
		for i := range emails {
			if n, _ := st.Redis.LLen(ctx, delivery.DigestKey(st, fmt.Sprintf("mail:r%d", i))).Result(); n == 0 {
				return false
			}
		}
		return true
	})
	bouncer := emails[5]
	mail.Fail(451, 1)
	mail.AddFault(smtptest.Fault{Stage: smtptest.AtMail, Code: 421, Times: 1})
	mail.FailRecipient(bouncer, 550)
	out, code := h.Command(60*time.Second, "digest", "send", "--now")
	t.Logf("first digest round: exit %d: %s", code, lastLine(out))
	rejected := mail.Rejections()
	temp := 0
	for _, r := range rejected {
		if r.Code == 421 || r.Code == 451 {
			temp++
		}
	}
	if temp < 2 {
		t.Errorf("the mail server refused %d digests temporarily, want 2: %+v", temp, rejected)
	}
	// Temporarily refused readers wait for a back-off, with their items kept.
	backedOff := 0
	for i := range emails {
		id := fmt.Sprintf("mail:r%d", i)
		v, err := st.Redis.Get(ctx, subscriptions.Key(st, id, "retry")).Result()
		if err != nil {
			continue
		}
		_, at, _ := strings.Cut(v, ":")
		unix, _ := strconv.ParseInt(at, 10, 64)
		if wait := time.Until(time.Unix(unix, 0)); wait < 30*time.Second {
			t.Errorf("reader %s is retried in %s: want a back-off of a minute or more", id, wait)
		}
		if n, _ := st.Redis.LLen(ctx, delivery.DigestKey(st, id)).Result(); n == 0 {
			t.Errorf("reader %s's items left Redis although the digest was refused", id)
		}
		backedOff++
	}
	if backedOff < 3 {
		t.Errorf("%d readers wait for a retry, want 3 (451, 421, 550)", backedOff)
	}
	// Two more rounds: the temporary failures go through, the bouncing
	// address reaches three hard bounces and is suspended.
	for range 2 {
		out, code = h.Command(60*time.Second, "digest", "send", "--now")
		t.Logf("digest round: exit %d: %s", code, lastLine(out))
	}
	subs := subscriptions.NewStore(st)
	b, err := subs.Get(ctx, "mail:r5")
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != subscriptions.StatusSuspended || b.Bounces < 3 {
		t.Errorf("after three 550s the reader is %s with %d bounces; want suspended", b.Status, b.Bounces)
	}
	want := expected(chats, emails[:5], []string{"wildfire-0"})
	o = settle(t, tg, mail, want, 10*time.Second, time.Second)
	t.Logf("faulty peers: %s", o)
	report.add(reportRow{Scenario: "faulty peers", Expected: o.Expected, Delivered: o.Delivered, Lost: o.Lost, Duplicated: o.DupMsgs,
		Note: fmt.Sprintf("429/500/502/slow/reset on Bot API, %d delivered-but-failed; 421, 451, 550x3 on SMTP (1 address suspended)", deliveredButFailed)})
	if o.Lost > 0 {
		t.Errorf("lost %d deliveries, e.g. %v", o.Lost, o.Missing)
	}
	if len(mail.MessagesTo(bouncer)) > 0 {
		t.Errorf("the bouncing address got mail")
	}
}

// checkRetryAfter checks that after a 429 with retry_after to a chat, the
// next message to that chat came no earlier than it asked.
func checkRetryAfter(t *testing.T, calls []telegramtest.Call) {
	t.Helper()
	until := map[string]time.Time{}
	checked := 0
	for _, c := range calls {
		if c.Method != "sendMessage" {
			continue
		}
		chat := c.Params["chat_id"]
		if u, ok := until[chat]; ok {
			if c.Time.Before(u.Add(-100 * time.Millisecond)) {
				t.Errorf("chat %s was sent to at %s, %s before its retry_after ended", chat, c.Time.Format("15:04:05.000"), u.Sub(c.Time))
			}
			delete(until, chat)
			checked++
		}
		if c.Status == http.StatusTooManyRequests {
			until[chat] = c.Time.Add(2 * time.Second)
		}
	}
	if checked == 0 {
		t.Errorf("no 429 was followed by a retry")
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
