package telegramtest

import (
	"context"
	"errors"
	"testing"

	tg "github.com/go-telegram/bot"
)

func TestMigrateUnannounced(t *testing.T) {
	srv := New(t, WithLimits(NoLimits))
	const group, super, admin = -2001, -1002001, 5
	srv.AddChat(Chat{ID: group, Type: Group, Title: "Newsroom"})
	srv.SetAdmins(group, admin)
	srv.MigrateUnannounced(group, super)
	if n := srv.Pending(); n != 0 {
		t.Fatalf("%d updates queued, want none", n)
	}
	api, err := tg.New(srv.Token, tg.WithServerURL(srv.URL), tg.WithSkipGetMe())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = api.SendMessage(ctx, &tg.SendMessageParams{ChatID: group, Text: "hello"})
	var mig *tg.MigrateError
	if !errors.As(err, &mig) || mig.MigrateToChatID != super {
		t.Fatalf("send to the old group: %v, want a migration to %d", err, super)
	}
	if _, err := api.SendMessage(ctx, &tg.SendMessageParams{ChatID: super, Text: "hello"}); err != nil {
		t.Fatalf("send to the supergroup: %v", err)
	}
	m, err := api.GetChatMember(ctx, &tg.GetChatMemberParams{ChatID: super, UserID: admin})
	if err != nil || m.Owner == nil {
		t.Fatalf("the supergroup's owner: %+v, %v", m, err)
	}
}
