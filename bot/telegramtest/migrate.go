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
	if old, _ := s.migrateLocked(from, to); old == nil {
		return
	}
	s.notifyLocked()
}
