package telegramtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

const wait = 10 * time.Second

// fakeClock is a clock the test steps by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClient is a go-telegram/bot client of s that does not poll.
func newClient(t *testing.T, s *Server, opts ...bot.Option) *bot.Bot {
	t.Helper()
	opts = append([]bot.Option{bot.WithServerURL(s.URL), bot.WithSkipGetMe()}, opts...)
	b, err := bot.New(s.Token, opts...)
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	return b
}

func TestBotClientRoundTrip(t *testing.T) {
	s := New(t)
	s.AddChat(Chat{ID: 1001, Type: Private, FirstName: "Ann"})
	s.AddChat(Chat{ID: -2002, Type: Supergroup, Title: "News room"})

	got := make(chan *models.Update, 10)
	b, err := bot.New(s.Token, bot.WithServerURL(s.URL),
		bot.WithDefaultHandler(func(ctx context.Context, b *bot.Bot, u *models.Update) { got <- u }))
	if err != nil {
		t.Fatalf("bot.New (calls getMe): %v", err)
	}
	me, err := b.GetMe(t.Context())
	if err != nil || me.Username != "herald_test_bot" || !me.IsBot {
		t.Fatalf("GetMe = %+v, %v", me, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { b.Start(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	s.SendText(1001, 1001, "/sub iran drones")
	var u *models.Update
	select {
	case u = <-got:
	case <-time.After(wait):
		t.Fatal("no update delivered to the handler")
	}
	if u.Message == nil || u.Message.Text != "/sub iran drones" || u.Message.Chat.ID != 1001 || u.Message.From.ID != 1001 {
		t.Fatalf("update = %+v", u.Message)
	}
	if len(u.Message.Entities) != 1 || u.Message.Entities[0].Type != models.MessageEntityTypeBotCommand || u.Message.Entities[0].Length != 4 {
		t.Fatalf("entities = %+v", u.Message.Entities)
	}

	// Group, privacy mode: a plain remark is not delivered, a command to the bot is.
	s.SendText(-2002, 7, "just chatting")
	s.SendText(-2002, 7, "/list@herald_test_bot")
	select {
	case u = <-got:
	case <-time.After(wait):
		t.Fatal("group command not delivered")
	}
	if u.Message.Text != "/list@herald_test_bot" || u.Message.Entities[0].Length != len("/list@herald_test_bot") {
		t.Fatalf("group update = %+v", u.Message)
	}

	m, err := b.SendMessage(t.Context(), &bot.SendMessageParams{
		ChatID:             1001,
		Text:               `<b>Title</b> &amp; <a href="https://example.org/a?x=1&amp;y=2">more</a>`,
		ParseMode:          models.ParseModeHTML,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: bot.True()},
		ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{
			{Text: "Open", URL: "https://example.org/a"}, {Text: "Mute", CallbackData: "mute:1"},
		}}},
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if m.Text != "Title & more" || len(m.Entities) != 2 || m.Entities[1].URL != "https://example.org/a?x=1&y=2" {
		t.Fatalf("sent message = %+v", m)
	}
	sent := s.WaitSentTo(wait, 1001, 1)
	if sent[0].ParseMode != "HTML" || !sent[0].DisablePreview || sent[0].Plain != "Title & more" {
		t.Fatalf("recorded = %+v", sent[0])
	}
	if btn, ok := sent[0].Button("Mute"); !ok || btn.CallbackData != "mute:1" {
		t.Fatalf("buttons = %+v", sent[0].Buttons())
	}

	qid := s.PressButton(1001, 1001, m.ID, "mute:1")
	select {
	case u = <-got:
	case <-time.After(wait):
		t.Fatal("callback query not delivered")
	}
	if u.CallbackQuery == nil || u.CallbackQuery.ID != qid || u.CallbackQuery.Data != "mute:1" || u.CallbackQuery.Message.Message.ID != m.ID {
		t.Fatalf("callback = %+v", u.CallbackQuery)
	}
	if ok, err := b.AnswerCallbackQuery(t.Context(), &bot.AnswerCallbackQueryParams{CallbackQueryID: qid, Text: "Muted"}); !ok || err != nil {
		t.Fatalf("AnswerCallbackQuery = %v, %v", ok, err)
	}
	if _, err := b.AnswerCallbackQuery(t.Context(), &bot.AnswerCallbackQueryParams{CallbackQueryID: qid}); !errors.Is(err, bot.ErrorBadRequest) {
		t.Fatalf("second answer: %v, want 400", err)
	}
	if a := s.Answers(); len(a) != 1 || a[0].Text != "Muted" {
		t.Fatalf("answers = %+v", a)
	}

	if _, err := b.EditMessageText(t.Context(), &bot.EditMessageTextParams{ChatID: 1001, MessageID: m.ID, Text: "Muted", ParseMode: models.ParseModeHTML}); err != nil {
		t.Fatalf("EditMessageText: %v", err)
	}
	if cur, _ := s.Current(1001, m.ID); cur.Plain != "Muted" || len(s.Edits()) != 1 {
		t.Fatalf("after edit: %+v", cur)
	}

	cmds := []models.BotCommand{{Command: "start", Description: "Start"}, {Command: "sub", Description: "Subscribe"}}
	if _, err := b.SetMyCommands(t.Context(), &bot.SetMyCommandsParams{Commands: cmds}); err != nil {
		t.Fatalf("SetMyCommands: %v", err)
	}
	if c := s.Commands(); len(c) != 2 || c[1].Command != "sub" {
		t.Fatalf("Commands = %+v", c)
	}
	back, err := b.GetMyCommands(t.Context(), &bot.GetMyCommandsParams{})
	if err != nil || len(back) != 2 {
		t.Fatalf("GetMyCommands = %+v, %v", back, err)
	}
	if s.Requests("getUpdates") == 0 || s.Requests("sendMessage") != 1 {
		t.Fatalf("requests: getUpdates %d, sendMessage %d", s.Requests("getUpdates"), s.Requests("sendMessage"))
	}
}

func TestFloodControl(t *testing.T) {
	clock := newFakeClock()
	s := New(t, WithClock(clock.Now), WithRate(3))
	for _, id := range []int64{1, 2, 3, 4} {
		s.AddChat(Chat{ID: id})
	}
	s.AddChat(Chat{ID: -100, Type: Group})
	b := newClient(t, s)
	send := func(chat int64) error {
		_, err := b.SendMessage(t.Context(), &bot.SendMessageParams{ChatID: chat, Text: "hi"})
		return err
	}
	retryAfter := func(err error) int {
		var tm *bot.TooManyRequestsError
		if !errors.As(err, &tm) {
			t.Fatalf("err = %v, want 429", err)
		}
		return tm.RetryAfter
	}

	t.Run("one per second per chat", func(t *testing.T) {
		if err := send(1); err != nil {
			t.Fatal(err)
		}
		if ra := retryAfter(send(1)); ra != 1 {
			t.Fatalf("retry_after = %d", ra)
		}
		clock.Add(time.Second)
		if err := send(1); err != nil {
			t.Fatalf("after a second: %v", err)
		}
	})
	clock.Add(time.Hour)
	t.Run("bot-wide rate", func(t *testing.T) {
		for _, id := range []int64{1, 2, 3} {
			if err := send(id); err != nil {
				t.Fatal(err)
			}
		}
		if ra := retryAfter(send(4)); ra != 1 {
			t.Fatalf("retry_after = %d", ra)
		}
		clock.Add(time.Second)
		if err := send(4); err != nil {
			t.Fatal(err)
		}
	})
	clock.Add(time.Hour)
	t.Run("twenty a minute per group", func(t *testing.T) {
		for i := range 20 {
			if err := send(-100); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			clock.Add(time.Second)
		}
		if ra := retryAfter(send(-100)); ra != 40 {
			t.Fatalf("retry_after = %d, want 40", ra)
		}
	})
	if n := s.TooManyRequests(); n != 3 {
		t.Fatalf("TooManyRequests = %d, want 3", n)
	}
}

func TestChatErrors(t *testing.T) {
	s := New(t)
	s.AddChat(Chat{ID: 1})
	s.AddChat(Chat{ID: -5, Type: Group, Title: "Old"})
	s.AddChat(Chat{ID: -1005, Type: Channel, Title: "Chan", Username: "herald_news"})
	s.Block(1)
	s.Migrate(-5, -1009)
	b := newClient(t, s)
	send := func(chat any) error {
		_, err := b.SendMessage(t.Context(), &bot.SendMessageParams{ChatID: chat, Text: "hi"})
		return err
	}
	if err := send(1); !errors.Is(err, bot.ErrorForbidden) || !strings.Contains(err.Error(), "bot was blocked by the user") {
		t.Fatalf("blocked: %v", err)
	}
	if err := send(99); !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "chat not found") {
		t.Fatalf("unknown: %v", err)
	}
	var me *bot.MigrateError
	if err := send(-5); !errors.As(err, &me) || me.MigrateToChatID != -1009 {
		t.Fatalf("migrated: %v", err)
	}
	if err := send(-1009); err != nil {
		t.Fatalf("new supergroup: %v", err)
	}
	if err := send("@herald_news"); err != nil {
		t.Fatalf("channel by username: %v", err)
	}
	if got := s.SentTo(-1005); len(got) != 1 {
		t.Fatalf("channel got %d messages", len(got))
	}

	s.SetAdmins(-1005, 42, 43)
	for user, want := range map[int64]models.ChatMemberType{42: models.ChatMemberTypeOwner, 43: models.ChatMemberTypeAdministrator, 44: models.ChatMemberTypeMember} {
		m, err := b.GetChatMember(t.Context(), &bot.GetChatMemberParams{ChatID: -1005, UserID: user})
		if err != nil || m.Type != want {
			t.Fatalf("GetChatMember(%d) = %+v, %v; want %s", user, m, err, want)
		}
	}
	c, err := b.GetChat(t.Context(), &bot.GetChatParams{ChatID: "@herald_news"})
	if err != nil || c.ID != -1005 || c.Type != models.ChatTypeChannel {
		t.Fatalf("GetChat = %+v, %v", c, err)
	}
	if _, err := b.SendChatAction(t.Context(), &bot.SendChatActionParams{ChatID: -1009, Action: models.ChatActionTyping}); err != nil {
		t.Fatalf("SendChatAction: %v", err)
	}
}

func TestHTMLValidation(t *testing.T) {
	s := New(t, WithLimits(NoLimits))
	s.AddChat(Chat{ID: 1})
	b := newClient(t, s)
	tests := []struct {
		name, text, wantErr, wantPlain string
	}{
		{name: "unclosed b", text: "<b>bold", wantErr: `can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{name: "script", text: "<script>alert(1)</script>", wantErr: `Unsupported start tag "script" at byte offset 0`},
		{name: "raw less-than", text: "1 < 2", wantErr: `Unsupported start tag "" at byte offset 2`},
		{name: "raw ampersand", text: "AT&T", wantErr: `unescaped "&" at byte offset 2`},
		{name: "bad nesting", text: "<b><i>x</b></i>", wantErr: `Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{name: "span without class", text: "<span>x</span>", wantErr: `Tag "span" must have class "tg-spoiler"`},
		{name: "stray end tag", text: "x</b>", wantErr: "Unexpected end tag at byte offset 1"},
		{name: "br", text: "a<br>b", wantErr: `Unsupported start tag "br"`},
		{name: "empty", text: "<b> </b>", wantErr: "message text is empty"},
		{name: "too long", text: strings.Repeat("a", 4097), wantErr: "message is too long"},
		{name: "too long in UTF-16", text: strings.Repeat("😀", 2049), wantErr: "message is too long"},
		{name: "entities count once", text: strings.Repeat("&amp;", 4096), wantPlain: strings.Repeat("&", 4096)},
		{name: "entities", text: "&lt;b&gt; &quot;q&quot; &#65;&#x42;", wantPlain: `<b> "q" AB`},
		{name: "all tags", text: `<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>` +
			`<span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler><a href='https://x.org'>a</a><code>c</code>` +
			`<pre><code class="language-go">g</code></pre><blockquote expandable>q</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`,
			wantPlain: "bsieunskdptacgq👍"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := b.SendMessage(t.Context(), &bot.SendMessageParams{ChatID: 1, Text: tt.text, ParseMode: models.ParseModeHTML})
			if tt.wantErr != "" {
				if !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want 400 with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || m.Text != tt.wantPlain {
				t.Fatalf("got %q, %v; want %q", m.Text, err, tt.wantPlain)
			}
		})
	}
}

// call makes a plain HTTP request to the double and decodes its answer.
func call(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", req.URL.Path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return resp.StatusCode, out
}

func TestPlainHTTPEncodings(t *testing.T) {
	s := New(t, WithLimits(NoLimits))
	s.AddChat(Chat{ID: 1})
	base := s.URL + "/bot" + s.Token + "/"

	get, _ := http.NewRequest(http.MethodGet, base+"sendMessage?chat_id=1&text=via+GET", nil)
	form, _ := http.NewRequest(http.MethodPost, base+"sendmessage", strings.NewReader(url.Values{"chat_id": {"1"}, "text": {"via form"}}.Encode()))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	js, _ := http.NewRequest(http.MethodPost, base+"sendMessage", strings.NewReader(`{"chat_id":1,"text":"via <b>JSON</b>","parse_mode":"HTML","reply_markup":{"inline_keyboard":[[{"text":"x","callback_data":"y"}]]}}`))
	js.Header.Set("Content-Type", "application/json")
	for _, req := range []*http.Request{get, form, js} {
		if status, out := call(t, req); status != http.StatusOK || out["ok"] != true {
			t.Fatalf("%s %s: %d %v", req.Method, req.URL, status, out)
		}
	}
	sent := s.SentTo(1)
	if len(sent) != 3 || sent[0].Plain != "via GET" || sent[1].Plain != "via form" || sent[2].Plain != "via JSON" || len(sent[2].Buttons()) != 1 {
		t.Fatalf("sent = %+v", sent)
	}

	bad, _ := http.NewRequest(http.MethodGet, s.URL+"/bot1:wrong/getMe", nil)
	if status, out := call(t, bad); status != http.StatusUnauthorized || out["description"] != "Unauthorized" {
		t.Fatalf("wrong token: %d %v", status, out)
	}
	unknown, _ := http.NewRequest(http.MethodGet, base+"noSuchMethod", nil)
	if status, _ := call(t, unknown); status != http.StatusNotFound {
		t.Fatalf("unknown method: %d", status)
	}
}

func TestGetUpdatesLongPollAndConflict(t *testing.T) {
	s := New(t)
	s.AddChat(Chat{ID: 1})
	base := s.URL + "/bot" + s.Token + "/getUpdates"

	// A long poll is woken as soon as an update is queued.
	type result struct {
		status int
		out    map[string]any
	}
	poll := func(query string) chan result {
		ch := make(chan result, 1)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"?"+query, nil)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				ch <- result{}
				return
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			ch <- result{resp.StatusCode, out}
		}()
		return ch
	}
	first := poll("timeout=30")
	s.WaitUntil(wait, s.Polling)
	s.SendText(1, 1, "hello")
	r := <-first
	ups, _ := r.out["result"].([]any)
	if r.status != http.StatusOK || len(ups) != 1 {
		t.Fatalf("long poll: %d %v", r.status, r.out)
	}
	id := int(ups[0].(map[string]any)["update_id"].(float64))

	// Until confirmed by offset, the update is delivered again.
	if s.Pending() != 1 {
		t.Fatalf("pending = %d before confirmation", s.Pending())
	}
	confirm := poll("timeout=0&offset=" + strconv.Itoa(id+1))
	if r := <-confirm; r.status != http.StatusOK || len(r.out["result"].([]any)) != 0 || s.Pending() != 0 {
		t.Fatalf("confirm: %v, pending %d", r.out, s.Pending())
	}

	// A second poller ends the first with 409 Conflict.
	older := poll("timeout=30&offset=" + strconv.Itoa(id+1))
	s.WaitUntil(wait, s.Polling)
	newer := poll("timeout=0&offset=" + strconv.Itoa(id+1))
	r = <-older
	if r.status != http.StatusConflict || !strings.HasPrefix(r.out["description"].(string), "Conflict: terminated by other getUpdates request") {
		t.Fatalf("older poll: %d %v", r.status, r.out)
	}
	if r := <-newer; r.status != http.StatusOK {
		t.Fatalf("newer poll: %d %v", r.status, r.out)
	}
}

func TestFaults(t *testing.T) {
	s := New(t, WithLimits(NoLimits))
	s.AddChat(Chat{ID: 1})
	b := newClient(t, s)
	send := func() error {
		_, err := b.SendMessage(t.Context(), &bot.SendMessageParams{ChatID: 1, Text: "hi"})
		return err
	}

	s.FailNext("sendMessage", 2, http.StatusTooManyRequests)
	for range 2 {
		var tm *bot.TooManyRequestsError
		if err := send(); !errors.As(err, &tm) || tm.RetryAfter != 1 {
			t.Fatalf("injected 429: %v", err)
		}
	}
	if err := send(); err != nil {
		t.Fatalf("after the fault: %v", err)
	}

	s.FailNext("", 1, http.StatusInternalServerError)
	if err := send(); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("500: %v", err)
	}
	s.FailNext("sendMessage", 1, http.StatusBadGateway)
	if err := send(); err == nil || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Fatalf("502: %v", err)
	}
	s.ResetNext("sendMessage", 1)
	if err := send(); err == nil {
		t.Fatal("reset connection: no error")
	}
	// Lost answer: the message is delivered though the client saw a failure.
	s.AddFault(Fault{Method: "sendMessage", Times: 1, Reset: true, After: true})
	if err := send(); err == nil {
		t.Fatal("reset after delivery: no error")
	}
	if n := len(s.SentTo(1)); n != 2 {
		t.Fatalf("delivered %d messages, want 2 (one normal, one with its answer lost)", n)
	}
	if s.TooManyRequests() != 2 {
		t.Fatalf("TooManyRequests = %d", s.TooManyRequests())
	}
}

// Answers spoiled after the message was accepted: each is recorded as
// delivered and counted by kind, and the client sees a failure it cannot
// tell from a lost request.
func TestMisanswers(t *testing.T) {
	s := New(t, WithLimits(NoLimits))
	s.AddChat(Chat{ID: 1})
	b := newClient(t, s)
	send := func(ctx context.Context) error {
		_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: 1, Text: "hi"})
		return err
	}
	s.GarbleNext("sendMessage", 1)
	if err := send(t.Context()); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Fatalf("garbled 200: %v", err)
	}
	s.ResetAfterNext("sendMessage", 1)
	if err := send(t.Context()); err == nil {
		t.Fatal("reset after delivery: no error")
	}
	s.StallNext("sendMessage", 1)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	err := send(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled answer: %v, want the client's deadline", err)
	}
	// A message refused for its form is not misanswered, even by a garbling
	// fault: only accepted messages are.
	s.GarbleNext("sendMessage", 1)
	if _, err := b.SendMessage(t.Context(), &bot.SendMessageParams{ChatID: 1, Text: "<b>open", ParseMode: models.ParseModeHTML}); !errors.Is(err, bot.ErrorBadRequest) {
		t.Fatalf("bad HTML under a garbling fault: %v", err)
	}
	s.WaitUntil(wait, func() bool { return s.Misanswered("", "") == 3 })
	for _, kind := range []string{MisGarbled, MisReset, MisStalled} {
		if n := s.Misanswered("sendMessage", kind); n != 1 {
			t.Errorf("Misanswered(%s) = %d, want 1", kind, n)
		}
	}
	if n := len(s.SentTo(1)); n != 3 {
		t.Fatalf("recorded %d messages, want the 3 accepted", n)
	}
	s.AddFault(Fault{Method: "sendMessage", Times: 1, Status: http.StatusBadRequest, Description: "Bad Request: can't parse entities: odd"})
	if err := send(t.Context()); err == nil || !strings.Contains(err.Error(), "can't parse entities: odd") {
		t.Fatalf("described 400: %v", err)
	}
}

func TestWebhook(t *testing.T) {
	s := New(t)
	s.AddChat(Chat{ID: 1})
	got := make(chan string, 10)
	var fails sync.Once
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failed := false
		fails.Do(func() { failed = true })
		if failed { // the first delivery fails and is retried
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		body, _ := io.ReadAll(r.Body)
		got <- r.Header.Get("X-Telegram-Bot-Api-Secret-Token") + " " + string(body)
	}))
	defer hook.Close()

	b := newClient(t, s)
	if _, err := b.SetWebhook(t.Context(), &bot.SetWebhookParams{URL: hook.URL, SecretToken: "s3cret"}); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	s.SendText(1, 1, "/start")
	select {
	case g := <-got:
		if !strings.HasPrefix(g, "s3cret {") || !strings.Contains(g, `"text":"/start"`) {
			t.Fatalf("webhook got %q", g)
		}
	case <-time.After(wait):
		t.Fatal("update not delivered to the webhook")
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/bot"+s.Token+"/getUpdates", nil)
	if status, out := call(t, req); status != http.StatusConflict {
		t.Fatalf("getUpdates with webhook: %d %v", status, out)
	}
	if _, err := b.DeleteWebhook(t.Context(), &bot.DeleteWebhookParams{}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Webhook(); u != "" {
		t.Fatalf("webhook still %q", u)
	}
}

func TestTextEntities(t *testing.T) {
	tests := []struct {
		text string
		want []Entity
	}{
		{"/start", []Entity{{Type: "bot_command", Offset: 0, Length: 6}}},
		{"/sub@herald_test_bot iran", []Entity{{Type: "bot_command", Offset: 0, Length: 20}}},
		{"/cmd@ab x", []Entity{{Type: "bot_command", Offset: 0, Length: 4}}},
		{"😀 /help", []Entity{{Type: "bot_command", Offset: 3, Length: 5}}},
		{"a/b and/or", nil},
		{"/sub @herald_news iran", []Entity{{Type: "bot_command", Offset: 0, Length: 4}, {Type: "mention", Offset: 5, Length: 12}}},
		{"mail me@example.org", nil},
	}
	for _, tt := range tests {
		got := textEntities(tt.text)
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(tt.want)
		if string(gj) != string(wj) {
			t.Errorf("textEntities(%q) = %s, want %s", tt.text, gj, wj)
		}
	}
}

func TestRequestValidation(t *testing.T) {
	s := New(t, WithLimits(NoLimits))
	s.AddChat(Chat{ID: 1})
	b := newClient(t, s)
	kb := func(btn models.InlineKeyboardButton) *models.InlineKeyboardMarkup {
		return &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{btn}}}
	}
	for name, tt := range map[string]struct {
		markup  models.ReplyMarkup
		wantErr string
	}{
		"callback data over 64 bytes": {kb(models.InlineKeyboardButton{Text: "x", CallbackData: strings.Repeat("d", 65)}), "BUTTON_DATA_INVALID"},
		"button without action":       {kb(models.InlineKeyboardButton{Text: "x"}), "text buttons are unallowed"},
		"button with bad URL":         {kb(models.InlineKeyboardButton{Text: "x", URL: "javascript:alert(1)"}), "BUTTON_URL_INVALID"},
		"button without text":         {kb(models.InlineKeyboardButton{CallbackData: "d"}), "BUTTON_TEXT_INVALID"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := b.SendMessage(t.Context(), &bot.SendMessageParams{ChatID: 1, Text: "x", ReplyMarkup: tt.markup})
			if !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}

	m, err := b.SendMessage(t.Context(), &bot.SendMessageParams{ChatID: 1, Text: "same"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.EditMessageText(t.Context(), &bot.EditMessageTextParams{ChatID: 1, MessageID: m.ID, Text: "same"})
	if !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "message is not modified") {
		t.Fatalf("unchanged edit: %v", err)
	}
	_, err = b.EditMessageText(t.Context(), &bot.EditMessageTextParams{ChatID: 1, MessageID: 999, Text: "x"})
	if !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "message to edit not found") {
		t.Fatalf("edit of a missing message: %v", err)
	}
	_, err = b.SetMyCommands(t.Context(), &bot.SetMyCommandsParams{Commands: []models.BotCommand{{Command: "Bad-Name", Description: "x"}}})
	if !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "BOT_COMMAND_INVALID") {
		t.Fatalf("invalid command: %v", err)
	}
}

func TestAllowedUpdatesAndOffset(t *testing.T) {
	s := New(t)
	s.AddChat(Chat{ID: 1})
	base := s.URL + "/bot" + s.Token + "/getUpdates"
	get := func(query string) []any {
		req, _ := http.NewRequest(http.MethodGet, base+"?"+query, nil)
		status, out := call(t, req)
		if status != http.StatusOK {
			t.Fatalf("getUpdates?%s: %d %v", query, status, out)
		}
		return out["result"].([]any)
	}
	s.SendText(1, 1, "one")
	s.SendText(1, 1, "two")
	s.SendText(1, 1, "three")
	if ups := get("offset=-1"); len(ups) != 1 || s.Pending() != 1 {
		t.Fatalf("offset=-1 gave %d updates, %d pending", len(ups), s.Pending())
	}
	s.QueueUpdate("chat_member", map[string]any{"chat": map[string]any{"id": 1, "type": "private"}})
	s.QueueUpdate("message_reaction", map[string]any{"chat": map[string]any{"id": 1, "type": "private"}})
	if ups := get(""); len(ups) != 1 {
		t.Fatalf("default allowed_updates: %d updates, want the message only", len(ups))
	}
	s.QueueUpdate("chat_member", map[string]any{"chat": map[string]any{"id": 1, "type": "private"}})
	ups := get(`allowed_updates=["chat_member"]`)
	if len(ups) != 1 || ups[0].(map[string]any)["chat_member"] == nil {
		t.Fatalf("allowed_updates=[chat_member]: %v", ups)
	}
}
