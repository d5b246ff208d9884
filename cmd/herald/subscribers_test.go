package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

func TestSubscribersExportGivesEachFeed(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	subs := subscriptions.NewStore(st)
	for _, s := range []*subscriptions.Subscriber{
		{ID: "tg:7", Kind: subscriptions.KindTelegram, ChatID: 7, Status: subscriptions.StatusActive, Topics: []string{"minsk"}},
		{ID: "mail:r", Kind: subscriptions.KindEmail, Email: "r@example.org", Status: subscriptions.StatusActive, Topics: []string{"belarus"}},
	} {
		if err := subs.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	had, err := delivery.FeedSecret(ctx, subs, "tg:7")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := exportSubscribers(ctx, &out, subs, "https://herald.example"); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var row struct {
			ID      string   `json:"id"`
			Topics  []string `json:"topics"`
			FeedURL string   `json:"feed_url"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil || len(row.Topics) != 1 {
			t.Fatalf("line %q: %v", line, err)
		}
		got[row.ID] = row.FeedURL
	}
	if got["tg:7"] != delivery.FeedURL("https://herald.example", "tg:7", had) {
		t.Errorf("tg:7 exported %q, its feed is %q", got["tg:7"], delivery.FeedURL("https://herald.example", "tg:7", had))
	}
	// A subscriber without a feed secret yet gets one, the one its feed
	// then answers to.
	reader, _ := subs.Get(ctx, "mail:r")
	secret := delivery.FeedSecretOf(reader)
	if secret == "" || got["mail:r"] != delivery.FeedURL("https://herald.example", "mail:r", secret) {
		t.Errorf("mail:r exported %q, holds secret %q", got["mail:r"], secret)
	}
}
