package bot

import (
	"context"
	"slices"
	"strings"
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
	if a := c.srv.Answers(); !strings.HasPrefix(a[len(a)-1].Text, "Muted") {
		t.Fatalf("mute answered %+v", a[len(a)-1])
	}
	if m := c.sub(me).Muted; !slices.Equal(m, []string{"belarus"}) {
		t.Fatalf("muted = %v", m)
	}
	if after.Text != alert.Text || !after.Edited {
		t.Fatalf("muting did not edit only the keyboard: %q edited=%v", after.Plain, after.Edited)
	}
	if _, ok := after.Button("Mute topic"); ok {
		t.Fatalf("the alert still offers Mute: %+v", after.Buttons())
	}
	if b, ok := after.Button("Open article"); !ok || b.URL != "https://news.example/a1" {
		t.Fatalf("the Open button went: %+v", after.Buttons())
	}
	if edits := c.srv.Edits(); edits[len(edits)-1].Params["text"] != "" {
		t.Fatalf("muting edited the text, not the keyboard: %v", edits[len(edits)-1].Params)
	}
	undone := c.press(me, me, after, "Muted · Undo")
	if m := c.sub(me).Muted; len(m) != 0 {
		t.Fatalf("undo left muted = %v", m)
	}
	if _, ok := undone.Button("Mute topic"); !ok || undone.Text != alert.Text {
		t.Fatalf("undo did not restore the keyboard: %+v", undone.Buttons())
	}
	if _, ok := undone.Button("Open article"); !ok {
		t.Fatalf("undo lost the Open button: %+v", undone.Buttons())
	}
	// Muted again, the alert says so again.
	again := c.press(me, me, undone, "Mute topic")
	if _, ok := again.Button("Muted · Undo"); !ok || !slices.Equal(c.sub(me).Muted, []string{"belarus"}) {
		t.Fatalf("second mute: %+v muted=%v", again.Buttons(), c.sub(me).Muted)
	}

	f := c.say(me, me, "/forget")
	want(t, c.press(me, me, f, "Cancel"), "nothing changed")
	if s := c.sub(me); !slices.Equal(s.Topics, []string{"belarus"}) {
		t.Fatalf("cancelled /forget changed the topics to %v", s.Topics)
	}
}
