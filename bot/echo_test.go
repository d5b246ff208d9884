package bot

import (
	"slices"
	"strings"
	"testing"
)

func TestFollowEchoesTheQueryAsTyped(t *testing.T) {
	c := newConvo(t, false)
	const me = 1001

	plain := c.say(me, me, "/sub belarus  border")
	want(t, plain, "Following belarus border.")
	if strings.Contains(plain.Plain, "kept as") {
		t.Fatalf("a query stored as typed got a note: %q", plain.Plain)
	}

	tagged := c.say(me, me, "/sub <b>x</b>")
	want(t, tagged, `Following <b>x</b> (kept as "b x b": symbols such as < > / are not searched`)
	if codes := entityTexts(tagged, "code"); !slices.Equal(codes, []string{"<b>x</b>", `"b x b"`}) {
		t.Fatalf("code spans = %q", codes)
	}

	want(t, c.say(me, me, "/sub Minsk | Vitebsk"), "Following Minsk | Vitebsk (kept as minsk OR vitebsk: | is written OR; capital letters do not matter)")
	want(t, c.say(me, me, "/sub Café"), "kept as cafe: capital letters do not matter; accents do not matter")
	want(t, c.say(me, me, "/sub MINSK OR vitebsk"), "Already following MINSK OR vitebsk (kept as minsk OR vitebsk: capital letters do not matter)")

	offer := c.say(me, me, "covid-19")
	want(t, offer, `Subscribe to covid-19 (kept as "covid 19": symbols such as - are not searched`)
	want(t, c.press(me, me, offer, "Subscribe"), `Following "covid 19".`)
}
