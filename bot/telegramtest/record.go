package telegramtest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Message is a message the bot sent (or its state after an edit).
type Message struct {
	ChatID    int64
	MessageID int
	// Text is the text parameter as sent; Plain is what the user sees after
	// entity parsing, and Entities the formatting Telegram derived.
	Text      string
	ParseMode string
	Plain     string
	Entities  []Entity
	// ReplyMarkup is the reply_markup parameter as compact JSON.
	ReplyMarkup         json.RawMessage
	DisablePreview      bool // disable_web_page_preview or link_preview_options.is_disabled
	DisableNotification bool
	ReplyTo             int // reply_parameters.message_id
	Paid                bool
	Edited              bool
	Time                time.Time
	// Params holds every parameter of the request.
	Params map[string]string
}

// Button is one inline keyboard button of a message.
type Button struct {
	Row, Col     int
	Text         string
	URL          string
	CallbackData string
}

// Buttons lists the message's inline keyboard, row by row.
func (m Message) Buttons() []Button {
	var kb struct {
		InlineKeyboard [][]struct {
			Text         string `json:"text"`
			URL          string `json:"url"`
			CallbackData string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if len(m.ReplyMarkup) == 0 || json.Unmarshal(m.ReplyMarkup, &kb) != nil {
		return nil
	}
	var out []Button
	for i, row := range kb.InlineKeyboard {
		for j, b := range row {
			out = append(out, Button{Row: i, Col: j, Text: b.Text, URL: b.URL, CallbackData: b.CallbackData})
		}
	}
	return out
}

// Button returns the first inline button whose text contains label, and
// whether there is one.
func (m Message) Button(label string) (Button, bool) {
	for _, b := range m.Buttons() {
		if strings.Contains(b.Text, label) {
			return b, true
		}
	}
	return Button{}, false
}

// CallbackAnswer is a recorded answerCallbackQuery.
type CallbackAnswer struct {
	QueryID   string
	Text      string
	ShowAlert bool
	URL       string
	Time      time.Time
}

// Command is one entry of the bot's command menu.
type Command struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

// ChatAction is a recorded sendChatAction.
type ChatAction struct {
	ChatID int64
	Action string
	Time   time.Time
}

// Sent returns every message sent successfully, in order.
func (s *Server) Sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// SentTo returns the messages sent successfully to one chat, in order.
func (s *Server) SentTo(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sentToLocked(chatID)
}

func (s *Server) sentToLocked(chatID int64) []Message {
	var out []Message
	for _, m := range s.sent {
		if m.ChatID == chatID {
			out = append(out, m)
		}
	}
	return out
}

// Edits returns every successful edit (editMessageText,
// editMessageReplyMarkup), each as the message's state after it.
func (s *Server) Edits() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.edits)
}

// Deleted returns the messages removed with deleteMessage.
func (s *Server) Deleted() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deleted)
}

// Current returns a bot message as it stands now (after edits), and
// whether it exists.
func (s *Server) Current(chatID int64, messageID int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		if m := c.messages[messageID]; m != nil {
			return *m, true
		}
	}
	return Message{}, false
}

// Answers returns the recorded answerCallbackQuery calls.
func (s *Server) Answers() []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.answers)
}

// Actions returns the recorded sendChatAction calls.
func (s *Server) Actions() []ChatAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.actions)
}

// Commands returns the command menu set for the default scope and no
// language, as getMyCommands without parameters answers it.
func (s *Server) Commands() []Command {
	return s.CommandsFor("default", "")
}

// CommandsFor returns the command menu of a scope ("default",
// "all_private_chats", "chat:<id>", ...) and language code.
func (s *Server) CommandsFor(scope, lang string) []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands[scope+"|"+lang])
}

// Calls returns every request answered so far, in the order answered.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Requests counts the requests to method (as Telegram spells it, e.g.
// "sendMessage"); "" counts all. Requests in progress are counted.
func (s *Server) Requests(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method == "" {
		n := 0
		for _, v := range s.perMeth {
			n += v
		}
		return n
	}
	for name, v := range s.perMeth {
		if strings.EqualFold(name, method) {
			return v
		}
	}
	return 0
}

// TooManyRequests counts the 429 answers given, from flood control and
// from injected faults.
func (s *Server) TooManyRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// Pending counts the updates queued and not yet confirmed by getUpdates
// (or delivered to the webhook).
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// Polling says whether a getUpdates request is waiting right now.
func (s *Server) Polling() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poll != nil
}

// Webhook returns the webhook URL and secret set with setWebhook ("" when
// polling).
func (s *Server) Webhook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook.url, s.webhook.secret
}

// SetLimits changes the flood limits from now on.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.limits = l
}

// WaitUntil waits until cond returns true, re-checking it after every change
// of the server's state, and fails the test after timeout. cond runs
// without the server's lock, so it may call the server's methods. Call it
// from the test's goroutine.
func (s *Server) WaitUntil(timeout time.Duration, cond func() bool) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.WaitUntilCtx(ctx, cond); err != nil {
		s.t.Fatalf("telegramtest: condition not met within %v: %v", timeout, err)
	}
}

// WaitUntilCtx is WaitUntil with a context and an error instead of a
// failed test.
func (s *Server) WaitUntilCtx(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return context.Canceled
		}
	}
}

// WaitIdle waits until no request to method is being answered, so that
// every one that came is recorded (a stalled request is recorded only once
// its client gave up); after timeout it fails the test.
func (s *Server) WaitIdle(timeout time.Duration, method string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	name := method
	if m, ok := methods[strings.ToLower(method)]; ok {
		name = m.name
	}
	if err := s.waitFor(ctx, func() bool { return s.inFlight[name] == 0 }); err != nil {
		s.t.Fatalf("telegramtest: %s requests still in flight after %v", method, timeout)
	}
}

// WaitSent waits until at least n messages were sent in all and returns
// them all; after timeout it fails the test. Call it from the test's
// goroutine.
func (s *Server) WaitSent(timeout time.Duration, n int) []Message {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msgs, err := s.WaitSentCtx(ctx, n)
	if err != nil {
		s.t.Fatalf("telegramtest: waited %v for %d sent messages, got %d", timeout, n, len(msgs))
	}
	return msgs
}

// WaitSentCtx waits until at least n messages were sent and returns them
// all, or what was sent so far with ctx's error.
func (s *Server) WaitSentCtx(ctx context.Context, n int) ([]Message, error) {
	err := s.waitFor(ctx, func() bool { return len(s.sent) >= n })
	return s.Sent(), err
}

// WaitSentTo waits until at least n messages were sent to chatID and
// returns that chat's messages; after timeout it fails the test.
func (s *Server) WaitSentTo(timeout time.Duration, chatID int64, n int) []Message {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.waitFor(ctx, func() bool { return len(s.sentToLocked(chatID)) >= n })
	msgs := s.SentTo(chatID)
	if err != nil {
		s.t.Fatalf("telegramtest: waited %v for %d messages to chat %d, got %d", timeout, n, chatID, len(msgs))
	}
	return msgs
}
