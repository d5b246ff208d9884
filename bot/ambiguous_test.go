package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// troubles counts what a Sender reports through Trouble.
type troubles struct {
	mu sync.Mutex
	n  map[string]int
}

func (tr *troubles) add(kind string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.n == nil {
		tr.n = map[string]int{}
	}
	tr.n[kind]++
}

func (tr *troubles) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return fmt.Sprint(tr.n)
}

func (tr *troubles) get(kind string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.n[kind]
}

// An answer that leaves it unclear whether Telegram took a message sends
// that message at most twice, and an unreadable HTTP 200 never twice: 60
// chats, one alert each, while the double spoils the answers of the first
// accepted messages in each of its ways.
func TestSenderAmbiguousAnswers(t *testing.T) {
	// More spoiled answers than chats, so that many retries are spoiled too.
	const chats, spoiled = 60, 90
	for _, mode := range []struct {
		kind  string
		fault telegramtest.Fault
	}{
		{telegramtest.MisGarbled, telegramtest.Fault{Garble: true}},
		{telegramtest.MisStalled, telegramtest.Fault{Stall: true, After: true}},
		{telegramtest.MisReset, telegramtest.Fault{Reset: true, After: true}},
	} {
		t.Run(mode.kind, func(t *testing.T) {
			st := storetest.New(t)
			subs := subscriptions.NewStore(st)
			srv := telegramtest.New(t, telegramtest.WithAutoChats(), telegramtest.WithLimits(telegramtest.NoLimits))
			putArticle(t, st, "a1", "Belarus news", "Belarus today.")
			for c := int64(1); c <= chats; c++ {
				addSub(t, subs, c, "belarus")
				enqueue(t, st, c, "a1", "belarus")
			}
			f := mode.fault
			f.Method, f.Times = "sendMessage", spoiled
			srv.AddFault(f)
			var tr troubles
			s := NewSender(st, subs, &APITransport{API: apiClient(t, srv)}, quietLog(t))
			s.Rate = 1000
			s.Trouble = tr.add
			runSender(t, s)

			waitAcked(t, st)
			// The sender gave up on stalled requests before the double
			// saw their clients hang up.
			srv.WaitIdle(10*time.Second, "sendMessage")
			misanswered := srv.Misanswered("sendMessage", mode.kind)
			if misanswered == 0 {
				t.Fatal("the double spoiled no answer: the test tests nothing")
			}
			dups := 0
			for c := int64(1); c <= chats; c++ {
				n := len(srv.SentTo(c))
				switch {
				case n == 0:
					t.Errorf("chat %d got nothing", c)
				case n > 2:
					t.Errorf("chat %d got %d copies", c, n)
				}
				dups += max(n-1, 0)
			}
			t.Logf("%s: %d answers spoiled, %d duplicates; troubles %s", mode.kind, misanswered, dups, &tr)
			if mode.kind == telegramtest.MisGarbled {
				if dups > 0 {
					t.Errorf("%d duplicates after HTTP 200s: an HTTP 200 counts as sent", dups)
				}
				if got := tr.get(TroubleUnreadable); got != misanswered {
					t.Errorf("trouble %q counted %d times, want %d", TroubleUnreadable, got, misanswered)
				}
				return
			}
			if dups > misanswered {
				t.Errorf("%d duplicates, more than the %d ambiguous answers", dups, misanswered)
			}
			if got := tr.get(TroubleUnsure); got != misanswered {
				t.Errorf("trouble %q counted %d times, want %d", TroubleUnsure, got, misanswered)
			}
		})
	}
}

// Each 400 is about the chat or about the message: a chat that is gone is
// deactivated, a message Telegram will not take goes once more as plain
// text and is then dropped, and that chat stays active.
func TestSenderRefusals(t *testing.T) {
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	srv := telegramtest.New(t, telegramtest.WithAutoChats(), telegramtest.WithLimits(telegramtest.NoLimits))
	putArticle(t, st, "a1", "Belarus <b>news</b>", "Belarus today.")
	const (
		plainOK  = 21 // refused once: delivered as plain text
		dropped  = 22 // refused twice: dropped
		notFound = 23 // 400 chat not found
		gone     = 24 // 403 user is deactivated
		fine     = 25
	)
	faults := map[int64]telegramtest.Fault{
		plainOK:  {Times: 1, Status: http.StatusBadRequest, Description: "Bad Request: can't parse entities: unsupported start tag"},
		dropped:  {Times: 2, Status: http.StatusBadRequest, Description: "Bad Request: BUTTON_URL_INVALID"},
		notFound: {Times: 1, Status: http.StatusBadRequest, Description: "Bad Request: chat not found"},
		gone:     {Times: 1, Status: http.StatusForbidden, Description: "Forbidden: user is deactivated"},
	}
	for c := int64(plainOK); c <= fine; c++ {
		addSub(t, subs, c, "belarus")
		if f, ok := faults[c]; ok {
			f.Method, f.ChatID = "sendMessage", c
			srv.AddFault(f)
		}
		enqueue(t, st, c, "a1", "belarus")
	}
	var tr troubles
	s := NewSender(st, subs, &APITransport{API: apiClient(t, srv)}, quietLog(t))
	s.Trouble = tr.add
	runSender(t, s)
	waitAcked(t, st)

	ctx := context.Background()
	status := func(c int64) string {
		x, err := subs.Get(ctx, subscriptions.TelegramID(c))
		if err != nil {
			t.Fatal(err)
		}
		return x.Status
	}
	for c, want := range map[int64]string{plainOK: subscriptions.StatusActive, dropped: subscriptions.StatusActive,
		notFound: subscriptions.StatusInactive, gone: subscriptions.StatusInactive, fine: subscriptions.StatusActive} {
		if got := status(c); got != want {
			t.Errorf("chat %d is %s, want %s", c, got, want)
		}
	}
	got := srv.SentTo(plainOK)
	if len(got) != 1 {
		t.Fatalf("chat refused once got %d messages, want 1 in plain text", len(got))
	}
	if m := got[0]; !strings.Contains(m.Plain, "Belarus <b>news</b>") || !strings.Contains(m.Plain, "https://news.example/a1") || len(m.Buttons()) != 0 {
		t.Errorf("plain-text alert = %q with %d buttons", m.Plain, len(m.Buttons()))
	}
	if n := len(srv.SentTo(dropped)); n != 0 {
		t.Errorf("chat refused twice got %d messages", n)
	}
	if n := len(srv.SentTo(fine)); n != 1 {
		t.Errorf("the chat without faults got %d messages", n)
	}
	for kind, want := range map[string]int{TroubleRefused: 2, TroubleDropped: 1} {
		if n := tr.get(kind); n != want {
			t.Errorf("trouble %q counted %d times, want %d", kind, n, want)
		}
	}
}

// A message whose sends end with no answer twice counts as sent: a third
// copy is never risked.
func TestSenderUnsureTwice(t *testing.T) {
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits))
	srv.AddChat(telegramtest.Chat{ID: 31, Type: telegramtest.Private})
	putArticle(t, st, "a1", "Belarus news", "Belarus today.")
	addSub(t, subs, 31, "belarus")
	enqueue(t, st, 31, "a1", "belarus")
	srv.AddFault(telegramtest.Fault{Method: "sendMessage", ChatID: 31, Times: 3, Reset: true, After: true})
	var tr troubles
	s := NewSender(st, subs, &APITransport{API: apiClient(t, srv)}, quietLog(t))
	s.Trouble = tr.add
	runSender(t, s)
	waitAcked(t, st)
	if n := len(srv.SentTo(31)); n != 2 {
		t.Errorf("chat got %d copies, want 2 (the first try and one more)", n)
	}
	if n := tr.get(TroubleUnsureAgain); n != 1 {
		t.Errorf("trouble %q counted %d times, want 1", TroubleUnsureAgain, n)
	}
}

// The transport tells a failure that may have reached Telegram from one
// that cannot have, and an HTTP 200 from both.
func TestTransportOutcomes(t *testing.T) {
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits))
	srv.AddChat(telegramtest.Chat{ID: 41, Type: telegramtest.Private})
	refused := telegramtest.New(t)
	refused.URL = closedURL(t)
	for _, c := range []struct {
		name  string
		srv   *telegramtest.Server
		fault *telegramtest.Fault
		want  error // nil: a plain error, neither unsure nor unreadable
	}{
		{"garbled 200", srv, &telegramtest.Fault{Garble: true}, ErrUnreadable},
		{"reset after the request", srv, &telegramtest.Fault{Reset: true, After: true}, ErrUnsure},
		{"500", srv, &telegramtest.Fault{Status: http.StatusInternalServerError}, nil},
		{"502 page", srv, &telegramtest.Fault{Status: http.StatusBadGateway}, nil},
		{"connection refused", refused, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.fault != nil {
				f := *c.fault
				f.Method, f.Times = "sendMessage", 1
				c.srv.AddFault(f)
			}
			tr := &APITransport{API: apiClient(t, c.srv)}
			err := tr.Send(t.Context(), 41, "hello", "")
			switch {
			case err == nil:
				t.Fatal("no error")
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("error %v, want %v", err, c.want)
			case c.want == nil && (errors.Is(err, ErrUnsure) || errors.Is(err, ErrUnreadable)):
				t.Fatalf("error %v: a definite failure taken for an ambiguous one", err)
			}
		})
	}
}

// closedURL is the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}
