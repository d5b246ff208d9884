package telegramtest

import (
	"net/http"
)

// BotStatus is the bot's own membership of a chat, as getChatMember and
// my_chat_member updates report it.
type BotStatus string

// The bot's memberships Telegram knows. A bot in a channel is always an
// administrator (or not there); in a private chat it is a member until the
// user blocks it (kicked).
const (
	BotAdministrator BotStatus = "administrator"
	BotMember        BotStatus = "member"
	BotLeft          BotStatus = "left"
	BotKicked        BotStatus = "kicked"
)

// gone says whether the bot can no longer write to a chat it has this
// status in.
func (b BotStatus) gone() bool { return b == BotLeft || b == BotKicked }

// botStatusLocked is the bot's status in c, and whether it may post there
// (only an administrator of a channel can be without the right).
func (s *Server) botStatusLocked(c *chatState) (BotStatus, bool) {
	switch {
	case c.botStatus != "":
		return c.botStatus, c.botStatus != BotAdministrator || c.Type != Channel || c.botCanPost
	case c.blocked:
		return BotKicked, false
	case c.Type == Private:
		return BotMember, true
	default:
		// Unless a test says otherwise, the bot administers every group
		// and channel it is registered in, with every right.
		return BotAdministrator, true
	}
}

// SetBotStatus changes the bot's membership of a chat as user by did it:
// adding the bot to a group (member or administrator), promoting it in a
// channel with or without the right to post (canPost, which only a
// channel's administrator can lack), removing it (left, kicked), or, in a
// private chat, the user blocking (kicked) and unblocking it (member). As
// on Telegram, a change queues a my_chat_member update with the old and the
// new status, and a bot that left or was kicked gets 403 on sendMessage.
// It returns the update id, or 0 when nothing changed.
func (s *Server) SetBotStatus(chatID, by int64, status BotStatus, canPost bool) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustChatLocked(chatID)
	if c == nil {
		return 0
	}
	if c.Type == Channel && status == BotMember {
		s.t.Errorf("telegramtest: a bot can be only an administrator of channel %d", chatID)
		return 0
	}
	if c.Type == Private && status != BotMember && status != BotKicked {
		s.t.Errorf("telegramtest: in private chat %d the bot is a member or kicked, not %s", chatID, status)
		return 0
	}
	return s.setBotStatusLocked(c, by, status, canPost)
}

func (s *Server) setBotStatusLocked(c *chatState, by int64, status BotStatus, canPost bool) int64 {
	oldStatus, oldPost := s.botStatusLocked(c)
	if status != BotAdministrator || c.Type != Channel {
		canPost = !status.gone()
	}
	c.botStatus, c.botCanPost, c.blocked = status, canPost, status.gone()
	if oldStatus == status && oldPost == canPost {
		return 0
	}
	id := s.queueLocked("my_chat_member", map[string]any{
		"chat": c.Chat, "from": s.userLocked(by), "date": s.nowUnix(),
		"old_chat_member": s.memberJSON(c, s.Bot, oldStatus, oldPost),
		"new_chat_member": s.memberJSON(c, s.Bot, status, canPost),
	})
	return id
}

// byDefault is who blocks or removes the bot when a test does not say: the
// user of a private chat, else the chat's owner.
func (s *Server) byDefault(c *chatState) int64 {
	if c.Type == Private || c.owner == 0 {
		return c.ID
	}
	return c.owner
}

// memberJSON is a ChatMember object of the Bot API.
func (s *Server) memberJSON(c *chatState, u User, status BotStatus, canPost bool) map[string]any {
	out := map[string]any{"status": status, "user": u}
	switch status {
	case BotAdministrator:
		out["is_anonymous"] = false
		out["can_be_edited"] = false
		for _, right := range []string{"can_manage_chat", "can_delete_messages", "can_invite_users",
			"can_restrict_members", "can_change_info", "can_promote_members", "can_manage_video_chats"} {
			out[right] = true
		}
		if c.Type == Channel {
			out["can_post_messages"] = canPost
			out["can_edit_messages"] = canPost
		} else {
			out["can_pin_messages"] = true
		}
	case BotKicked:
		out["until_date"] = 0
	}
	return out
}

// noPostRight is Telegram's answer to a message for a channel whose
// administrators include the bot without the right to post.
func noPostRight() *apiError {
	return badRequest("need administrator rights in the channel chat")
}

// memberListInaccessible is Telegram's answer to getChatMember about a user
// of a channel the bot does not administer.
func memberListInaccessible() *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: member list is inaccessible"}
}
