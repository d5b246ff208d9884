package telegramtest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// updates takes every pending update through getUpdates, confirming them.
func updates(t *testing.T, s *Server) []models.Update {
	t.Helper()
	var all []models.Update
	offset := int64(0)
	for {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/bot"+s.Token+"/getUpdates?offset="+itoa(offset), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			OK     bool            `json:"ok"`
			Result []models.Update `json:"result"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || !out.OK {
			t.Fatalf("getUpdates: %v %+v", err, out)
		}
		if len(out.Result) == 0 {
			return all
		}
		all = append(all, out.Result...)
		offset = out.Result[len(out.Result)-1].ID + 1
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestBotMembershipAndItsUpdates(t *testing.T) {
	s := New(t, WithLimits(NoLimits))
	s.AddChat(Chat{ID: 1})
	s.AddChat(Chat{ID: -7, Type: Supergroup, Title: "Desk"})
	s.AddChat(Chat{ID: -1007, Type: Channel, Title: "Wire", Username: "wire"})
	s.AddChat(Chat{ID: -1008, Type: Channel, Title: "Closed"})
	s.SetAdmins(-7, 42)
	s.SetAdmins(-1007, 42)
	b := newClient(t, s)
	ctx := t.Context()
	send := func(chat any) error {
		_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: chat, Text: "hi"})
		return err
	}

	// Blocking in a private chat: 403 and kicked; writing again unblocks,
	// and Telegram says so before the message.
	s.Block(1)
	if err := send(1); !errors.Is(err, bot.ErrorForbidden) {
		t.Fatalf("blocked chat: %v", err)
	}
	s.SendText(1, 1, "/start")
	ups := updates(t, s)
	if len(ups) != 3 || ups[0].MyChatMember == nil || ups[1].MyChatMember == nil || ups[2].Message == nil {
		t.Fatalf("updates after block and /start: %+v", ups)
	}
	if m := ups[0].MyChatMember; m.OldChatMember.Type != models.ChatMemberTypeMember || m.NewChatMember.Type != models.ChatMemberTypeBanned ||
		m.NewChatMember.Banned.User.ID != s.Bot.ID || m.From.ID != 1 || m.Chat.ID != 1 {
		t.Fatalf("block update = %+v", m)
	}
	if m := ups[1].MyChatMember; m.OldChatMember.Type != models.ChatMemberTypeBanned || m.NewChatMember.Type != models.ChatMemberTypeMember {
		t.Fatalf("unblock update = %+v", m)
	}
	if err := send(1); err != nil {
		t.Fatalf("after unblocking: %v", err)
	}

	// A channel admin without the right to post: getChatMember says so,
	// sendMessage is refused as Telegram refuses it.
	if id := s.SetBotStatus(-1007, 42, BotAdministrator, false); id == 0 {
		t.Fatal("no update for a change of rights")
	}
	if id := s.SetBotStatus(-1007, 42, BotAdministrator, false); id != 0 {
		t.Fatal("an update for no change")
	}
	me, err := b.GetChatMember(ctx, &bot.GetChatMemberParams{ChatID: "@wire", UserID: s.Bot.ID})
	if err != nil || me.Type != models.ChatMemberTypeAdministrator || me.Administrator.CanPostMessages {
		t.Fatalf("bot in channel without post right: %+v %v", me, err)
	}
	if err := send(-1007); !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "need administrator rights in the channel chat") {
		t.Fatalf("post without the right: %v", err)
	}
	ups = updates(t, s)
	if len(ups) != 1 || ups[0].MyChatMember == nil || ups[0].MyChatMember.NewChatMember.Administrator == nil ||
		!ups[0].MyChatMember.OldChatMember.Administrator.CanPostMessages || ups[0].MyChatMember.NewChatMember.Administrator.CanPostMessages {
		t.Fatalf("rights update = %+v", ups)
	}

	// Out of the channel: its member list is closed to the bot, and a
	// private channel cannot be found any more.
	s.SetBotStatus(-1007, 42, BotLeft, false)
	s.Block(-1008)
	if me, err := b.GetChatMember(ctx, &bot.GetChatMemberParams{ChatID: -1007, UserID: s.Bot.ID}); err != nil || me.Type != models.ChatMemberTypeLeft {
		t.Fatalf("bot out of channel: %+v %v", me, err)
	}
	if _, err := b.GetChatMember(ctx, &bot.GetChatMemberParams{ChatID: -1007, UserID: 42}); !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "member list is inaccessible") {
		t.Fatalf("a user of a channel the bot is out of: %v", err)
	}
	if err := send(-1007); !errors.Is(err, bot.ErrorForbidden) || !strings.Contains(err.Error(), "bot is not a member of the channel chat") {
		t.Fatalf("post to a channel the bot left: %v", err)
	}
	if _, err := b.GetChat(ctx, &bot.GetChatParams{ChatID: "@wire"}); err != nil {
		t.Fatalf("a public channel is found without the bot in it: %v", err)
	}
	if _, err := b.GetChat(ctx, &bot.GetChatParams{ChatID: -1008}); !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "chat not found") {
		t.Fatalf("a private channel the bot is out of: %v", err)
	}

	// Added to a group as a member.
	s.SetBotStatus(-7, 42, BotLeft, false)
	updates(t, s)
	s.SetBotStatus(-7, 42, BotMember, true)
	ups = updates(t, s)
	if len(ups) != 1 || ups[0].MyChatMember.OldChatMember.Type != models.ChatMemberTypeLeft || ups[0].MyChatMember.NewChatMember.Type != models.ChatMemberTypeMember ||
		ups[0].MyChatMember.From.ID != 42 || ups[0].MyChatMember.Chat.Type != models.ChatTypeSupergroup {
		t.Fatalf("added to a group: %+v", ups)
	}
	if me, err := b.GetChatMember(ctx, &bot.GetChatMemberParams{ChatID: -7, UserID: s.Bot.ID}); err != nil || me.Type != models.ChatMemberTypeMember {
		t.Fatalf("bot in group: %+v %v", me, err)
	}
	if err := send(-7); err != nil {
		t.Fatalf("post as a member of a group: %v", err)
	}
}

func TestEditTextAndRedeliver(t *testing.T) {
	s := New(t)
	s.AddChat(Chat{ID: -7, Type: Supergroup})
	s.AddChat(Chat{ID: -1007, Type: Channel, Username: "wire"})
	id := s.SendText(1, 1, "/sub belarus")
	up := s.EditText(1, 1, id, "/sub minsk")
	ups := updates(t, s)
	if len(ups) != 2 || ups[1].ID != up || ups[1].EditedMessage == nil {
		t.Fatalf("updates = %+v", ups)
	}
	e := ups[1].EditedMessage
	if e.ID != id || e.Text != "/sub minsk" || e.EditDate == 0 || e.Date == 0 || e.From.ID != 1 ||
		len(e.Entities) != 1 || e.Entities[0].Type != models.MessageEntityTypeBotCommand {
		t.Fatalf("edited message = %+v", e)
	}
	if !s.Redeliver(up) || s.Redeliver(9999) {
		t.Fatal("Redeliver of a known update failed, or of an unknown one worked")
	}
	if again := updates(t, s); len(again) != 1 || again[0].ID != up || again[0].EditedMessage.Text != "/sub minsk" {
		t.Fatalf("redelivered = %+v", again)
	}

	// Privacy mode: an edit of group chatter does not reach the bot, one
	// that addresses it does; a channel's edit is an edited_channel_post.
	g := s.SendText(-7, 2, "hello all")
	if s.EditText(-7, 2, g, "hello everyone") != 0 {
		t.Fatal("an edit of chatter reached a privacy-mode bot")
	}
	if s.EditText(-7, 2, g, "/list@herald_test_bot") == 0 {
		t.Fatal("an edit addressing the bot did not reach it")
	}
	c := s.SendText(-1007, 0, "/sub drones")
	s.EditText(-1007, 0, c, "/sub uav")
	ups = updates(t, s)
	if len(ups) != 3 || ups[0].EditedMessage == nil || ups[1].ChannelPost == nil || ups[2].EditedChannelPost == nil || ups[2].EditedChannelPost.Text != "/sub uav" {
		t.Fatalf("group and channel edits = %+v", ups)
	}
}
