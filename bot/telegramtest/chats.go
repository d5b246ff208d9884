package telegramtest

import (
	"strconv"
)

// AddChat registers a chat (replacing one with the same id). A private
// chat's id is its user's id; groups, supergroups and channels have negative
// ids (supergroups and channels conventionally -100…).
func (s *Server) AddChat(c Chat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addChatLocked(c)
	s.notifyLocked()
}

func (s *Server) addChatLocked(c Chat) *chatState {
	if c.Type == "" {
		c.Type = Private
		if c.ID < 0 {
			c.Type = Group
		}
	}
	if c.Type == Private && c.FirstName == "" {
		c.FirstName = s.userLocked(c.ID).FirstName
	}
	if c.Type != Private && c.Title == "" {
		c.Title = "Chat " + strconv.FormatInt(c.ID, 10)
	}
	cs := &chatState{Chat: c, admins: map[int64]bool{}, messages: map[int]*Message{}, typed: map[int]typedMessage{}}
	if old := s.chats[c.ID]; old != nil {
		// Keep message ids growing so a re-registered chat does not reuse them.
		cs.nextMsgID = old.nextMsgID
	}
	s.chats[c.ID] = cs
	return cs
}

// AddUser registers a user's name; users the test does not register get a
// generated one (FirstName "User<id>", Username "user<id>").
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

func (s *Server) userLocked(id int64) User {
	if u, ok := s.users[id]; ok {
		return u
	}
	n := strconv.FormatInt(id, 10)
	return User{ID: id, FirstName: "User" + n, Username: "user" + n, LanguageCode: "en"}
}

// RemoveChat forgets a chat, so that it answers "chat not found", as a
// deleted chat does.
func (s *Server) RemoveChat(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.chats, chatID)
}

// Block makes the chat answer 403: the user blocked the bot, or the bot was
// removed from the group or channel (by its owner). Like Telegram it queues
// the my_chat_member update that tells the bot (see SetBotStatus).
func (s *Server) Block(chatID int64) {
	s.setBlocked(chatID, true)
}

// Unblock undoes Block: the user unblocked the bot, or the owner added it
// back (as an administrator of a group or channel), with its update.
func (s *Server) Unblock(chatID int64) {
	s.setBlocked(chatID, false)
}

func (s *Server) setBlocked(chatID int64, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustChatLocked(chatID)
	if c == nil {
		return
	}
	status := BotKicked
	switch {
	case blocked:
	case c.Type == Private:
		status = BotMember
	default:
		status = BotAdministrator
	}
	s.setBotStatusLocked(c, s.byDefault(c), status, !blocked)
}

func (s *Server) mustChatLocked(chatID int64) *chatState {
	c := s.chats[chatID]
	if c == nil {
		s.t.Errorf("telegramtest: chat %d is not registered (AddChat first)", chatID)
	}
	return c
}

// Migrate turns group from into supergroup to, as Telegram does when a group
// is upgraded: requests to from then answer 400 with
// parameters.migrate_to_chat_id, and the service messages carrying
// migrate_to_chat_id / migrate_from_chat_id are queued as updates.
func (s *Server) Migrate(from, to int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, nc := s.migrateLocked(from, to)
	if old == nil {
		return
	}
	now := s.nowUnix()
	old.nextMsgID++
	s.queueLocked("message", map[string]any{
		"message_id": old.nextMsgID, "chat": old.Chat, "date": now,
		"from": s.userLocked(old.owner), "migrate_to_chat_id": to,
	})
	nc.nextMsgID++
	s.queueLocked("message", map[string]any{
		"message_id": nc.nextMsgID, "chat": nc.Chat, "date": now,
		"sender_chat": old.Chat, "migrate_from_chat_id": from,
	})
}

// migrateLocked moves group from to supergroup to (made if new, with the
// group's admins and owner) and points requests to from at it; it returns
// both chats, or nil ones when from is not registered.
func (s *Server) migrateLocked(from, to int64) (old, nc *chatState) {
	old = s.mustChatLocked(from)
	if old == nil {
		return nil, nil
	}
	nc = s.chats[to]
	if nc == nil {
		nc = s.addChatLocked(Chat{ID: to, Type: Supergroup, Title: old.Title, Username: old.Username})
	}
	for id := range old.admins {
		nc.admins[id] = true
	}
	nc.owner = old.owner
	old.migratedTo = to
	return old, nc
}

// SetAdmins makes these users the chat's administrators (getChatMember
// answers "administrator"; the first one is the "creator"), replacing any
// set before. The bot itself is an administrator of groups and channels
// with every right unless SetBotStatus says otherwise.
func (s *Server) SetAdmins(chatID int64, userIDs ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustChatLocked(chatID)
	if c == nil {
		return
	}
	c.admins = map[int64]bool{}
	c.owner = 0
	for i, id := range userIDs {
		c.admins[id] = true
		if i == 0 {
			c.owner = id
		}
	}
}
