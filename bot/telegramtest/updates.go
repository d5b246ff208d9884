package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
)

type pendingUpdate struct {
	id   int64
	kind string
	raw  json.RawMessage
}

// defaultAllowed says which update kinds Telegram sends a bot that never
// set allowed_updates: all but these three.
func defaultAllowed(kind string) bool {
	return kind != "chat_member" && kind != "message_reaction" && kind != "message_reaction_count"
}

// poller is the getUpdates request in flight; kill ends it with a 409.
type poller struct {
	kill   chan struct{}
	reason string
}

type webhook struct {
	url, secret string
	gen         int // bumped on every change, so an old deliverer stops
	delivered   int
	lastErr     string
	lastErrDate int64
}

func (s *Server) nowUnix() int64 { return s.now().Unix() }

// queueLocked adds an update for getUpdates or the webhook.
func (s *Server) queueLocked(kind string, payload any) int64 {
	s.updateID++
	raw, err := json.Marshal(map[string]any{"update_id": s.updateID, kind: payload})
	if err != nil {
		panic(fmt.Sprintf("telegramtest: marshal update: %v", err))
	}
	u := pendingUpdate{id: s.updateID, kind: kind, raw: raw}
	s.updates = append(s.updates, u)
	s.history = append(s.history, u)
	s.notifyLocked()
	return s.updateID
}

// Redeliver queues an update once more, with its update id and first of
// all, as Telegram sends an update again when a webhook did not answer in
// time or a poller stopped before confirming it. A getUpdates whose offset
// confirms it drops it again, as Telegram would not send it then. It
// reports whether there was such an update.
func (s *Server) Redeliver(updateID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.history {
		if u.id == updateID {
			s.updates = append([]pendingUpdate{u}, s.updates...)
			s.notifyLocked()
			return true
		}
	}
	return false
}

func (s *Server) killPollLocked(reason string) {
	if s.poll != nil {
		s.poll.reason = reason
		close(s.poll.kill)
		s.poll = nil
	}
}

func conflict(desc string) *apiError {
	return &apiError{code: http.StatusConflict, desc: "Conflict: " + desc}
}

// getUpdates is Telegram's long poll: it confirms updates below offset,
// answers at once when updates are pending and otherwise waits up to timeout
// seconds for one. A newer getUpdates ends an older one with 409 Conflict,
// so two pollers running at once keep failing, as on Telegram.
func getUpdates(s *Server, r *http.Request, p params) (any, *apiError) {
	offset, _ := strconv.ParseInt(p.str("offset"), 10, 64)
	limit := p.intOr("limit", 100)
	if limit < 1 || limit > 100 {
		limit = 100
	}
	var allowed []string
	if aerr := p.json("allowed_updates", &allowed); aerr != nil {
		return nil, aerr
	}
	wait := time.Duration(max(p.intOr("timeout", 0), 0)) * time.Second
	if s.cfg.maxPollWait > 0 && wait > s.cfg.maxPollWait {
		wait = s.cfg.maxPollWait
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()

	s.mu.Lock()
	if s.webhook.url != "" {
		s.mu.Unlock()
		return nil, conflict("can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
	}
	s.killPollLocked("terminated by other getUpdates request; make sure that only one bot instance is running")
	me := &poller{kill: make(chan struct{})}
	s.poll = me
	s.notifyLocked()
	defer func() {
		s.mu.Lock()
		if s.poll == me {
			s.poll = nil
		}
		s.notifyLocked()
		s.mu.Unlock()
	}()

	if p.has("allowed_updates") {
		// Telegram keeps the list until the next call that gives one.
		s.allowed = allowed
	}
	// Confirm what the client has seen.
	switch {
	case offset > 0:
		i := 0
		for i < len(s.updates) && s.updates[i].id < offset {
			i++
		}
		s.updates = s.updates[i:]
	case offset < 0:
		if keep := int(-offset); len(s.updates) > keep {
			s.updates = s.updates[len(s.updates)-keep:]
		}
	}
	for {
		// Updates of kinds the bot did not ask for are dropped, as on Telegram.
		s.updates = slices.DeleteFunc(s.updates, func(u pendingUpdate) bool { return !s.allowedLocked(u.kind) })
		if len(s.updates) > 0 {
			n := min(limit, len(s.updates))
			out := make([]json.RawMessage, n)
			for i := range out {
				out[i] = s.updates[i].raw
			}
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-me.kill:
			s.mu.Lock()
			reason := me.reason
			s.mu.Unlock()
			return nil, conflict(reason)
		case <-timer.C:
			return []json.RawMessage{}, nil
		case <-r.Context().Done():
			return []json.RawMessage{}, nil
		case <-s.closed:
			return []json.RawMessage{}, nil
		}
		s.mu.Lock()
	}
}

func (s *Server) allowedLocked(kind string) bool {
	if len(s.allowed) == 0 {
		return defaultAllowed(kind)
	}
	return slices.Contains(s.allowed, kind)
}

// SendText queues a text message from user fromUserID in chat chatID, as if
// the user had typed it, and returns its message id. Entities are computed
// like Telegram's: bot_command for "/cmd" and "/cmd@botname", mention for
// "@name". A private chat not yet registered is added. In a channel it
// becomes a channel_post. In a group, with privacy mode on (the default),
// the update is only queued if the bot would get it from Telegram: a
// command not addressed to another bot, or a mention of the bot.
func (s *Server) SendText(chatID, fromUserID int64, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil && chatID > 0 && chatID == fromUserID {
		c = s.addChatLocked(Chat{ID: chatID, Type: Private})
	}
	if c == nil {
		s.t.Errorf("telegramtest: SendText to chat %d that is not registered (AddChat first)", chatID)
		return 0
	}
	if c.migratedTo != 0 {
		s.t.Errorf("telegramtest: SendText to chat %d that migrated to %d", chatID, c.migratedTo)
		return 0
	}
	if c.Type == Private && c.blocked {
		// Writing to the bot again means the user unblocked it, which
		// Telegram tells the bot first.
		s.setBotStatusLocked(c, fromUserID, BotMember, true)
	}
	c.nextMsgID++
	c.typed[c.nextMsgID] = typedMessage{from: fromUserID, date: s.nowUnix()}
	entities := textEntities(text)
	msg := map[string]any{"message_id": c.nextMsgID, "chat": c.Chat, "date": s.nowUnix(), "text": text}
	if len(entities) > 0 {
		msg["entities"] = entities
	}
	kind := "message"
	if c.Type == Channel {
		kind = "channel_post"
		msg["sender_chat"] = c.Chat
	} else {
		msg["from"] = s.userLocked(fromUserID)
	}
	if (c.Type == Group || c.Type == Supergroup) && s.cfg.privacy && !s.addressedToBot(text, entities) {
		return c.nextMsgID
	}
	s.queueLocked(kind, msg)
	return c.nextMsgID
}

// typedMessage is what the double keeps of a message a user sent with
// SendText, so that EditText can edit it.
type typedMessage struct {
	from int64
	date int64
}

// EditText queues the edit of a message user fromUserID sent with SendText
// (messageID as SendText returned it) to read text now: an edited_message
// update (edited_channel_post in a channel) carrying the message with its
// new text and entities, its first date and an edit_date. Only the author
// can edit a message. In a group with privacy mode on, the bot gets the
// edit only if it would get a message with the new text. It returns the
// update id, or 0 when no update was queued.
func (s *Server) EditText(chatID, fromUserID int64, messageID int, text string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustChatLocked(chatID)
	if c == nil {
		return 0
	}
	m, ok := c.typed[messageID]
	if !ok || m.from != fromUserID {
		s.t.Errorf("telegramtest: EditText: user %d sent no message %d in chat %d", fromUserID, messageID, chatID)
		return 0
	}
	entities := textEntities(text)
	msg := map[string]any{"message_id": messageID, "chat": c.Chat, "date": m.date, "edit_date": s.nowUnix(), "text": text}
	if len(entities) > 0 {
		msg["entities"] = entities
	}
	kind := "edited_message"
	if c.Type == Channel {
		kind = "edited_channel_post"
		msg["sender_chat"] = c.Chat
	} else {
		msg["from"] = s.userLocked(fromUserID)
	}
	if (c.Type == Group || c.Type == Supergroup) && s.cfg.privacy && !s.addressedToBot(text, entities) {
		return 0
	}
	return s.queueLocked(kind, msg)
}

// addressedToBot says whether a privacy-mode bot gets a group message.
func (s *Server) addressedToBot(text string, entities []Entity) bool {
	u := utf16.Encode([]rune(text))
	for _, e := range entities {
		part := string(utf16.Decode(u[e.Offset : e.Offset+e.Length]))
		switch e.Type {
		case "bot_command":
			if e.Offset != 0 {
				continue
			}
			_, name, ok := strings.Cut(part, "@")
			if !ok || strings.EqualFold(name, s.Bot.Username) {
				return true
			}
		case "mention":
			if strings.EqualFold(part[1:], s.Bot.Username) {
				return true
			}
		}
	}
	return false
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isNameByte(r rune) bool {
	return r == '_' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// textEntities finds bot_command and mention entities the way Telegram's
// tdlib does, with offsets in UTF-16 code units.
func textEntities(text string) []Entity {
	rs := []rune(text)
	off := make([]int, len(rs)+1) // UTF-16 offset of each rune
	for i, r := range rs {
		off[i+1] = off[i] + utf16.RuneLen(r)
	}
	boundary := func(i int) bool { // may an entity start or end next to rune i?
		if i < 0 || i >= len(rs) {
			return true
		}
		r := rs[i]
		return !isWordRune(r) && r != '/' && r != '<' && r != '>'
	}
	var out []Entity
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '/':
			if !boundary(i - 1) {
				continue
			}
			j := i + 1
			for j < len(rs) && isNameByte(rs[j]) {
				j++
			}
			if j == i+1 || j-i-1 > 64 {
				continue
			}
			end := j
			if j < len(rs) && rs[j] == '@' {
				k := j + 1
				for k < len(rs) && isNameByte(rs[k]) {
					k++
				}
				if k-j-1 >= 3 {
					end = k
				}
			}
			if !boundary(end) {
				continue
			}
			out = append(out, Entity{Type: "bot_command", Offset: off[i], Length: off[end] - off[i]})
			i = end - 1
		case '@':
			if i > 0 && (isWordRune(rs[i-1]) || rs[i-1] == '/') {
				continue
			}
			j := i + 1
			for j < len(rs) && isNameByte(rs[j]) {
				j++
			}
			if n := j - i - 1; n < 3 || n > 32 || (j < len(rs) && isWordRune(rs[j])) {
				continue
			}
			out = append(out, Entity{Type: "mention", Offset: off[i], Length: off[j] - off[i]})
			i = j - 1
		}
	}
	return out
}

// PressButton queues a callback_query, as if user fromUserID had pressed
// the inline button carrying data under the bot's message messageID in
// chatID, and returns the query id (for answerCallbackQuery). The message
// must have such a button.
func (s *Server) PressButton(chatID, fromUserID int64, messageID int, data string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustChatLocked(chatID)
	if c == nil {
		return ""
	}
	m := c.messages[messageID]
	if m == nil {
		s.t.Errorf("telegramtest: PressButton: chat %d has no bot message %d", chatID, messageID)
		return ""
	}
	found := false
	for _, b := range m.Buttons() {
		found = found || b.CallbackData == data
	}
	if !found {
		s.t.Errorf("telegramtest: PressButton: message %d in chat %d has no button with data %q", messageID, chatID, data)
		return ""
	}
	s.queryID++
	id := fmt.Sprintf("%d%08d", s.Bot.ID, s.queryID)
	s.queries[id] = true
	s.queueLocked("callback_query", map[string]any{
		"id": id, "from": s.userLocked(fromUserID), "message": s.messageJSON(c, m),
		"chat_instance": strconv.FormatInt(c.ID*7919, 10), "data": data,
	})
	return id
}

// QueueUpdate queues a raw update of the given kind ("message",
// "my_chat_member", ...) for anything SendText and PressButton do not cover;
// payload is marshalled as JSON. It returns the update id.
func (s *Server) QueueUpdate(kind string, payload any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queueLocked(kind, payload)
}

var secretToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func setWebhook(s *Server, r *http.Request, p params) (any, *apiError) {
	raw := p.str("url")
	if raw == "" {
		return deleteWebhook(s, r, p)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Telegram wants HTTPS; the double takes http too, for httptest.
		return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	secret := p.str("secret_token")
	if secret != "" && !secretToken.MatchString(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	var allowed []string
	if aerr := p.json("allowed_updates", &allowed); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.has("allowed_updates") {
		s.allowed = allowed
	}
	if p.bool("drop_pending_updates") {
		s.updates = nil
	}
	s.killPollLocked("terminated by setWebhook request")
	s.webhook.url, s.webhook.secret = raw, secret
	s.webhook.gen++
	select {
	case <-s.closed:
	default:
		s.wg.Add(1)
		go s.deliver(s.webhook.gen, raw, secret)
	}
	s.notifyLocked()
	return true, nil
}

func deleteWebhook(s *Server, _ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.bool("drop_pending_updates") {
		s.updates = nil
	}
	s.webhook.url, s.webhook.secret = "", ""
	s.webhook.gen++
	s.notifyLocked()
	return true, nil
}

func getWebhookInfo(s *Server, _ *http.Request, _ params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{"url": s.webhook.url, "has_custom_certificate": false, "pending_update_count": len(s.updates)}
	if s.webhook.lastErr != "" {
		out["last_error_date"] = s.webhook.lastErrDate
		out["last_error_message"] = s.webhook.lastErr
	}
	return out, nil
}

// deliver pushes queued updates to the webhook one at a time, in order,
// retrying with back-off while the webhook fails, as Telegram does.
func (s *Server) deliver(gen int, target, secret string) {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := time.Duration(0)
	for {
		s.mu.Lock()
		for s.webhook.gen == gen {
			s.updates = slices.DeleteFunc(s.updates, func(u pendingUpdate) bool { return !s.allowedLocked(u.kind) })
			if len(s.updates) > 0 {
				break
			}
			ch := s.changed
			s.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
			s.mu.Lock()
		}
		if s.webhook.gen != gen {
			s.mu.Unlock()
			return
		}
		u := s.updates[0]
		s.mu.Unlock()

		status, err := PostUpdate(ctx, target, secret, u.raw)
		s.mu.Lock()
		if err == nil && status/100 == 2 {
			if len(s.updates) > 0 && s.updates[0].id == u.id {
				s.updates = s.updates[1:]
			}
			s.webhook.delivered++
			s.notifyLocked()
			s.mu.Unlock()
			backoff = 0
			continue
		}
		if err != nil {
			s.webhook.lastErr = err.Error()
		} else {
			s.webhook.lastErr = fmt.Sprintf("Wrong response from the webhook: %d %s", status, http.StatusText(status))
		}
		s.webhook.lastErrDate = s.nowUnix()
		s.mu.Unlock()
		backoff = min(max(2*backoff, 50*time.Millisecond), time.Second)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// PostUpdate delivers one update to a bot's webhook the way Telegram does:
// a JSON POST with the X-Telegram-Bot-Api-Secret-Token header when secret is
// set. update is sent as is when it is []byte or json.RawMessage, else
// marshalled. It returns the webhook's HTTP status.
func PostUpdate(ctx context.Context, webhookURL, secret string, update any) (int, error) {
	var body []byte
	switch u := update.(type) {
	case []byte:
		body = u
	case json.RawMessage:
		body = u
	default:
		var err error
		if body, err = json.Marshal(update); err != nil {
			return 0, fmt.Errorf("marshal update: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post update to webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
