package mailer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herald-news/herald/delivery"
)

// Items that a crashed matcher pushed without marking their reader
// pending are found by the email role's sweep at start, and sent.
func TestRunSendsStrandedDigest(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := f.reader(t, "stranded@example.org", "instant", 0, "UTC", "belarus")
	f.publish(t, r.ID, "belarus", "Belarus news")
	// Undo the second step, as a crash between the two would have.
	if err := f.st.Redis.SRem(ctx, delivery.PendingKey(f.st), r.ID).Err(); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(2 * time.Minute)
	if n := f.send(t, false); n != 0 {
		t.Fatalf("sent %d before the sweep: the reader was not meant to be pending", n)
	}

	done := make(chan error, 1)
	go func() { done <- f.m.Run(ctx, time.Hour) }()
	msg := f.smtp.WaitMessagesTo(wait, "stranded@example.org", 1)[0]
	if msg.Subject == "" {
		t.Fatal("digest without a subject")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if items, _ := delivery.Items(context.Background(), f.st, r.ID); len(items) != 0 {
		t.Fatalf("%d items left after the digest", len(items))
	}
}
