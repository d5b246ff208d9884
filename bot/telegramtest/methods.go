package telegramtest

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func init() {
	register("getMe", getMe)
	register("getUpdates", getUpdates)
	register("sendMessage", sendMessage)
	register("editMessageText", editMessageText)
	register("editMessageReplyMarkup", editMessageReplyMarkup)
	register("deleteMessage", deleteMessage)
	register("answerCallbackQuery", answerCallbackQuery)
	register("setMyCommands", setMyCommands)
	register("getMyCommands", getMyCommands)
	register("deleteMyCommands", deleteMyCommands)
	register("setWebhook", setWebhook)
	register("deleteWebhook", deleteWebhook)
	register("getWebhookInfo", getWebhookInfo)
	register("getChat", getChat)
	register("getChatMember", getChatMember)
	register("sendChatAction", sendChatAction)
}

func getMe(s *Server, _ *http.Request, _ params) (any, *apiError) {
	return map[string]any{
		"id": s.Bot.ID, "is_bot": true, "first_name": s.Bot.FirstName, "username": s.Bot.Username,
		"can_join_groups": true, "can_read_all_group_messages": !s.cfg.privacy, "supports_inline_queries": false,
	}, nil
}

// chatLocked resolves the chat_id parameter (an id or "@username") the way
// Telegram does, including the answer for a group that became a supergroup.
func (s *Server) chatLocked(p params) (*chatState, *apiError) {
	v := strings.TrimSpace(p.str("chat_id"))
	if v == "" {
		return nil, badRequest("chat_id is empty")
	}
	if name, ok := strings.CutPrefix(v, "@"); ok {
		for _, c := range s.chats {
			if c.Username != "" && strings.EqualFold(c.Username, name) {
				return s.checkMigrated(c)
			}
		}
		return nil, badRequest("chat not found")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, badRequest("chat not found")
	}
	c := s.chats[id]
	if c == nil && s.cfg.autoChats && id != 0 {
		ch := Chat{ID: id, Type: Private, FirstName: "User" + strconv.FormatInt(id, 10)}
		if id < 0 {
			ch = Chat{ID: id, Type: Group, Title: "Group " + strconv.FormatInt(-id, 10)}
			if id <= -1_000_000_000_000 { // Telegram's -100… ids
				ch.Type = Supergroup
			}
		}
		c = s.addChatLocked(ch)
	}
	if c == nil {
		return nil, badRequest("chat not found")
	}
	return s.checkMigrated(c)
}

func (s *Server) checkMigrated(c *chatState) (*chatState, *apiError) {
	if c.migratedTo != 0 {
		e := badRequest("group chat was upgraded to a supergroup chat")
		e.migrateTo = c.migratedTo
		return nil, e
	}
	return c, nil
}

// forbidden is Telegram's 403 for a chat the bot can no longer write to.
func forbidden(c *chatState) *apiError {
	desc := "Forbidden: bot was blocked by the user"
	switch c.Type {
	case Group:
		desc = "Forbidden: bot was kicked from the group chat"
	case Supergroup:
		desc = "Forbidden: bot was kicked from the supergroup chat"
	case Channel:
		desc = "Forbidden: bot is not a member of the channel chat"
	}
	return &apiError{code: http.StatusForbidden, desc: desc}
}

// writableChatLocked is chatLocked plus the 403 for a blocked chat.
func (s *Server) writableChatLocked(p params) (*chatState, *apiError) {
	c, err := s.chatLocked(p)
	if err != nil {
		return nil, err
	}
	if c.blocked {
		return nil, forbidden(c)
	}
	if st, canPost := s.botStatusLocked(c); st == BotAdministrator && !canPost {
		return nil, noPostRight()
	}
	return c, nil
}

// formatText parses text in parse_mode and applies Telegram's checks.
func (s *Server) formatText(p params) (plain string, entities []Entity, aerr *apiError) {
	text := p.str("text")
	switch strings.ToLower(p.str("parse_mode")) {
	case "":
		plain = text
		if aerr := p.json("entities", &entities); aerr != nil {
			return "", nil, aerr
		}
	case "html":
		var err error
		plain, entities, err = parseHTML(text, s.cfg.strictAmp)
		if err != nil {
			return "", nil, badRequest("%v", err)
		}
	case "markdown", "markdownv2":
		// Not parsed: the double checks HTML, the mode Herald uses.
		plain = text
	default:
		return "", nil, badRequest("unsupported parse_mode")
	}
	trimmed := strings.TrimSpace(plain)
	if trimmed == "" {
		return "", nil, badRequest("message text is empty")
	}
	if utf16Len(trimmed) > MaxTextLength {
		return "", nil, badRequest("message is too long")
	}
	return plain, entities, nil
}

var buttonActions = []string{"url", "callback_data", "web_app", "login_url", "switch_inline_query",
	"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay"}

// checkMarkup validates reply_markup and returns it as compact JSON.
func checkMarkup(p params) (json.RawMessage, *apiError) {
	raw := strings.TrimSpace(p.str("reply_markup"))
	if raw == "" {
		return nil, nil
	}
	var m struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			var text string
			_ = json.Unmarshal(b["text"], &text)
			if text == "" {
				return nil, badRequest("BUTTON_TEXT_INVALID")
			}
			actions := 0
			for _, a := range buttonActions {
				if v, ok := b[a]; ok && !emptyJSON(v) {
					actions++
				}
			}
			if actions == 0 {
				return nil, badRequest("text buttons are unallowed in the inline keyboard")
			}
			if v, ok := b["callback_data"]; ok {
				var data string
				if json.Unmarshal(v, &data) != nil || len(data) == 0 || len(data) > 64 {
					return nil, badRequest("BUTTON_DATA_INVALID")
				}
			}
			if v, ok := b["url"]; ok {
				var link string
				_ = json.Unmarshal(v, &link)
				u, err := url.Parse(link)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tg") || (u.Scheme != "tg" && u.Host == "") {
					return nil, badRequest("BUTTON_URL_INVALID")
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	return buf.Bytes(), nil
}

// emptyJSON says whether a button field carries nothing, as go-telegram/bot
// sends copy_text:{"text":""} on every button.
func emptyJSON(v json.RawMessage) bool {
	switch strings.TrimSpace(string(v)) {
	case "", "null", "false", `""`, `{"text":""}`:
		return true
	}
	return false
}

func disablePreview(p params) bool {
	if p.bool("disable_web_page_preview") {
		return true
	}
	var o struct {
		IsDisabled bool `json:"is_disabled"`
	}
	_ = p.json("link_preview_options", &o)
	return o.IsDisabled
}

func ceilSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// floodLocked applies the flood limits to one more message to c at now and,
// if it is allowed, counts it.
func (s *Server) floodLocked(c *chatState, now time.Time, paid bool) *apiError {
	l := s.cfg.limits
	if l.ChatInterval > 0 && !c.lastSend.IsZero() {
		if wait := c.lastSend.Add(l.ChatInterval).Sub(now); wait > 0 {
			return tooManyRequests(ceilSeconds(wait))
		}
	}
	grouped := c.Type != Private && l.GroupPerMinute > 0
	if grouped {
		c.window = prune(c.window, now.Add(-time.Minute))
		if len(c.window) >= l.GroupPerMinute {
			return tooManyRequests(ceilSeconds(c.window[0].Add(time.Minute).Sub(now)))
		}
	}
	rate, window := l.BotPerSecond, &s.botSends
	if paid && l.PaidPerSecond > 0 {
		rate, window = l.PaidPerSecond, &s.paidSend
	}
	if rate > 0 {
		*window = prune(*window, now.Add(-time.Second))
		if len(*window) >= rate {
			return tooManyRequests(ceilSeconds((*window)[0].Add(time.Second).Sub(now)))
		}
		*window = append(*window, now)
	}
	c.lastSend = now
	if grouped {
		c.window = append(c.window, now)
	}
	return nil
}

// prune drops the times not after since from a sorted window.
func prune(w []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(w) && !w[i].After(since) {
		i++
	}
	if i > len(w)/2 && i > 64 {
		// Copy down now and then so a long run does not keep growing memory.
		return append(w[:0:0], w[i:]...)
	}
	return w[i:]
}

func sendMessage(s *Server, _ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.writableChatLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	plain, entities, aerr := s.formatText(p)
	if aerr != nil {
		return nil, aerr
	}
	markup, aerr := checkMarkup(p)
	if aerr != nil {
		return nil, aerr
	}
	var reply struct {
		MessageID int `json:"message_id"`
	}
	if aerr := p.json("reply_parameters", &reply); aerr != nil {
		return nil, aerr
	}
	if reply.MessageID == 0 {
		reply.MessageID = p.intOr("reply_to_message_id", 0)
	}
	now := s.now()
	paid := p.bool("allow_paid_broadcast")
	if aerr := s.floodLocked(c, now, paid); aerr != nil {
		return nil, aerr
	}
	c.nextMsgID++
	m := Message{
		ChatID: c.ID, MessageID: c.nextMsgID, Text: p.str("text"), ParseMode: p.str("parse_mode"),
		Plain: plain, Entities: entities, ReplyMarkup: markup, DisablePreview: disablePreview(p),
		DisableNotification: p.bool("disable_notification"), ReplyTo: reply.MessageID, Paid: paid,
		Time: now, Params: p,
	}
	c.messages[m.MessageID] = &m
	s.sent = append(s.sent, m)
	return s.messageJSON(c, &m), nil
}

// messageJSON is a bot's message as the Bot API returns it.
func (s *Server) messageJSON(c *chatState, m *Message) map[string]any {
	out := map[string]any{
		"message_id": m.MessageID,
		"chat":       c.Chat,
		"date":       m.Time.Unix(),
		"text":       m.Plain,
	}
	if c.Type == Channel {
		out["sender_chat"] = c.Chat
	} else {
		out["from"] = s.Bot
	}
	if len(m.Entities) > 0 {
		out["entities"] = m.Entities
	}
	if len(m.ReplyMarkup) > 0 && bytes.Contains(m.ReplyMarkup, []byte(`"inline_keyboard"`)) {
		out["reply_markup"] = m.ReplyMarkup
	}
	if m.Edited {
		out["edit_date"] = m.Time.Unix()
	}
	return out
}

// editedMessageLocked finds the bot message an edit method names.
func (s *Server) editedMessageLocked(p params, verb string) (*chatState, *Message, *apiError) {
	if p.str("inline_message_id") != "" {
		return nil, nil, badRequest("inline messages are not supported by telegramtest")
	}
	c, aerr := s.chatLocked(p)
	if aerr != nil {
		return nil, nil, aerr
	}
	id, aerr := p.int64("message_id")
	if aerr != nil {
		return nil, nil, aerr
	}
	m := c.messages[int(id)]
	if m == nil {
		return nil, nil, badRequest("message to %s not found", verb)
	}
	return c, m, nil
}

func editMessageText(s *Server, _ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, aerr := s.editedMessageLocked(p, "edit")
	if aerr != nil {
		return nil, aerr
	}
	plain, entities, aerr := s.formatText(p)
	if aerr != nil {
		return nil, aerr
	}
	markup, aerr := checkMarkup(p)
	if aerr != nil {
		return nil, aerr
	}
	ents1, _ := json.Marshal(entities)
	ents2, _ := json.Marshal(m.Entities)
	if plain == m.Plain && bytes.Equal(ents1, ents2) && bytes.Equal(markup, m.ReplyMarkup) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	e := *m
	e.Text, e.ParseMode, e.Plain, e.Entities, e.ReplyMarkup = p.str("text"), p.str("parse_mode"), plain, entities, markup
	e.DisablePreview, e.Edited, e.Time, e.Params = disablePreview(p), true, s.now(), p
	*m = e
	s.edits = append(s.edits, e)
	return s.messageJSON(c, m), nil
}

func editMessageReplyMarkup(s *Server, _ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, aerr := s.editedMessageLocked(p, "edit")
	if aerr != nil {
		return nil, aerr
	}
	markup, aerr := checkMarkup(p)
	if aerr != nil {
		return nil, aerr
	}
	if bytes.Equal(markup, m.ReplyMarkup) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	e := *m
	e.ReplyMarkup, e.Edited, e.Time, e.Params = markup, true, s.now(), p
	*m = e
	s.edits = append(s.edits, e)
	return s.messageJSON(c, m), nil
}

func deleteMessage(s *Server, _ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, aerr := s.editedMessageLocked(p, "delete")
	if aerr != nil {
		return nil, aerr
	}
	delete(c.messages, m.MessageID)
	s.deleted = append(s.deleted, *m)
	return true, nil
}

func answerCallbackQuery(s *Server, _ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.str("callback_query_id")
	if !s.queries[id] {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	delete(s.queries, id)
	s.answers = append(s.answers, CallbackAnswer{
		QueryID: id, Text: p.str("text"), ShowAlert: p.bool("show_alert"), URL: p.str("url"), Time: s.now(),
	})
	return true, nil
}

var commandName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// commandsKey names the list of commands for a scope and language.
func commandsKey(p params) (string, *apiError) {
	var scope struct {
		Type   string          `json:"type"`
		ChatID json.RawMessage `json:"chat_id"`
		UserID int64           `json:"user_id"`
	}
	if aerr := p.json("scope", &scope); aerr != nil {
		return "", aerr
	}
	if scope.Type == "" {
		scope.Type = "default"
	}
	key := scope.Type
	if len(scope.ChatID) > 0 {
		key += ":" + strings.Trim(string(scope.ChatID), `"`)
	}
	if scope.UserID != 0 {
		key += ":" + strconv.FormatInt(scope.UserID, 10)
	}
	return key + "|" + p.str("language_code"), nil
}

func setMyCommands(s *Server, _ *http.Request, p params) (any, *apiError) {
	var cmds []Command
	if !p.has("commands") {
		return nil, badRequest("parameter \"commands\" is required")
	}
	if aerr := p.json("commands", &cmds); aerr != nil {
		return nil, aerr
	}
	if len(cmds) > 100 {
		return nil, badRequest("too many commands")
	}
	for _, c := range cmds {
		if !commandName.MatchString(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := len([]rune(c.Description)); n == 0 || n > 256 {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	key, aerr := commandsKey(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cmds == nil {
		cmds = []Command{}
	}
	s.commands[key] = cmds
	return true, nil
}

func getMyCommands(s *Server, _ *http.Request, p params) (any, *apiError) {
	key, aerr := commandsKey(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds := s.commands[key]
	if cmds == nil {
		cmds = []Command{}
	}
	return cmds, nil
}

func deleteMyCommands(s *Server, _ *http.Request, p params) (any, *apiError) {
	key, aerr := commandsKey(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.commands, key)
	return true, nil
}

func getChat(s *Server, _ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if c.blocked && c.Type != Private && c.Username == "" {
		// A private group or channel is out of sight once the bot is out.
		return nil, badRequest("chat not found")
	}
	return map[string]any{
		"id": c.ID, "type": c.Type, "title": c.Title, "username": c.Username, "first_name": c.FirstName,
		"accent_color_id": 0, "max_reaction_count": 11,
	}, nil
}

func getChatMember(s *Server, _ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	userID, aerr := p.int64("user_id")
	if aerr != nil {
		return nil, aerr
	}
	if userID == s.Bot.ID {
		st, canPost := s.botStatusLocked(c)
		return s.memberJSON(c, s.Bot, st, canPost), nil
	}
	if st, _ := s.botStatusLocked(c); c.Type == Channel && st != BotAdministrator {
		// Only a channel's administrators see who else is in it.
		return nil, memberListInaccessible()
	}
	user := s.userLocked(userID)
	status := "member"
	switch {
	case c.admins[userID] && c.owner == userID:
		status = "creator"
	case c.admins[userID]:
		status = "administrator"
	case c.Type == Private && userID != c.ID && userID != s.Bot.ID:
		return nil, badRequest("user not found")
	}
	out := map[string]any{"status": status, "user": user, "is_anonymous": false}
	if status == "administrator" {
		for _, right := range []string{"can_manage_chat", "can_delete_messages", "can_post_messages", "can_edit_messages",
			"can_invite_users", "can_restrict_members", "can_pin_messages", "can_change_info"} {
			out[right] = true
		}
		out["can_be_edited"] = false
	}
	return out, nil
}

var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true, "record_voice": true,
	"upload_voice": true, "upload_document": true, "choose_sticker": true, "find_location": true,
	"record_video_note": true, "upload_video_note": true,
}

func sendChatAction(s *Server, _ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.writableChatLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if !chatActions[p.str("action")] {
		return nil, badRequest("wrong parameter action in request")
	}
	s.actions = append(s.actions, ChatAction{ChatID: c.ID, Action: p.str("action"), Time: s.now()})
	return true, nil
}
