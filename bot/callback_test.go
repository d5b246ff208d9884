package bot

import (
	"context"
	"slices"
	"testing"
)

// The buttons TestPrivateConversation does not press: an alert's mute
// button and the cancel of /forget.
func TestAlertMuteAndDecline(t *testing.T) {
	c := newConvo(t, false)
	const me = 1001
	want(t, c.say(me, me, "/sub belarus"), "Following belarus")

	tr := &APITransport{API: apiClient(t, c.srv)}
	if err := tr.SendAlert(context.Background(), me, "<b>Belarus opens a border crossing</b>", "https://news.example/a1", muteData("belarus")); err != nil {
		t.Fatal(err)
	}
	sent := c.srv.SentTo(me)
	alert := sent[len(sent)-1]
	after := c.press(me, me, alert, "Mute topic")
	if a := c.srv.Answers(); a[len(a)-1].Text != "Done." {
		t.Fatalf("mute answered %+v", a[len(a)-1])
	}
	if m := c.sub(me).Muted; !slices.Equal(m, []string{"belarus"}) {
		t.Fatalf("muted = %v", m)
	}
	if after.Text != alert.Text {
		t.Fatalf("muting edited the alert to %q", after.Plain)
	}
	// Pressed again, it stays muted: an alert's button only mutes.
	c.press(me, me, alert, "Mute topic")
	if m := c.sub(me).Muted; !slices.Equal(m, []string{"belarus"}) {
		t.Fatalf("muted after a second press = %v", m)
	}

	f := c.say(me, me, "/forget")
	want(t, c.press(me, me, f, "Cancel"), "nothing changed")
	if s := c.sub(me); !slices.Equal(s.Topics, []string{"belarus"}) {
		t.Fatalf("cancelled /forget changed the topics to %v", s.Topics)
	}
}
