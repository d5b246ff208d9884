package telegramtest

// MigrateUnannounced turns group from into supergroup to as Migrate does,
// but queues none of the service messages: the bot learns of the move
// only from the 400 with parameters.migrate_to_chat_id that its next
// request to from gets, as when Telegram dropped the updates of a bot that
// was down for more than a day. Updates queued before the call still
// carry the old chat.
func (s *Server) MigrateUnannounced(from, to int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.mustChatLocked(from)
	if old == nil {
		return
	}
	nc := s.chats[to]
	if nc == nil {
		nc = s.addChatLocked(Chat{ID: to, Type: Supergroup, Title: old.Title, Username: old.Username})
	}
	for id := range old.admins {
		nc.admins[id] = true
	}
	nc.owner = old.owner
	old.migratedTo = to
	s.notifyLocked()
}
