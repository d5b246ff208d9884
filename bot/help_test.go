package bot

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/subscriptions"
)

// entityTexts returns the text of each entity of type typ, as the user
// sees it (offsets count UTF-16 units, as Telegram's do).
func entityTexts(m telegramtest.Message, typ string) []string {
	u := utf16.Encode([]rune(m.Plain))
	var out []string
	for _, e := range m.Entities {
		if e.Type == typ && e.Offset+e.Length <= len(u) {
			out = append(out, string(utf16.Decode(u[e.Offset:e.Offset+e.Length])))
		}
	}
	return out
}

func TestHelpTeachesTheQueryLanguage(t *testing.T) {
	for _, l := range queryHelp {
		if _, err := subscriptions.Parse(l.example); err != nil {
			t.Errorf("help example %q does not parse: %v", l.example, err)
		}
	}
	c := newConvo(t, false)
	const me, group = 1001, -2001
	h := c.say(me, me, "/help")
	if n := len(utf16.Encode([]rune(h.Plain))); n > telegramtest.MaxTextLength {
		t.Fatalf("/help is %d characters", n)
	}
	want(t, h, "A space means", "OR (or |)", "Quotes", "minus", "Parentheses", "title:", "site:", "at least 3 letters",
		"256 characters", "16 terms", "50 topics")
	codes := strings.Join(entityTexts(h, "code"), "\n")
	for _, ex := range []string{"/sub belarus border", "/sub minsk OR vitebsk protest", `/sub "military cooperation"`, "/sub iran -israel",
		"/sub (minsk | vitebsk) protest", "/sub title:sanctions", "/sub belarus site:reuters.com", "/sub drone*"} {
		if !strings.Contains(codes, ex) {
			t.Errorf("/help lacks the example %q as code; code spans:\n%s", ex, codes)
		}
	}
	for cmd := range handlers {
		if strings.HasPrefix(cmd, "start") || isAdminCommand(cmd) || aliases[cmd] != "" {
			continue
		}
		if !strings.Contains(h.Plain, "/"+cmd) {
			t.Errorf("/help does not list /%s", cmd)
		}
	}
	if strings.Contains(h.Plain, "/addfeed") {
		t.Errorf("/help shows admin commands to a subscriber")
	}
	want(t, c.say(admin, admin, "/help"), "/feeds", "/addfeed URL", "/removefeed URL", "/stats")

	// In a group every example is addressed to the bot.
	c.srv.AddChat(telegramtest.Chat{ID: group, Type: telegramtest.Supergroup, Title: "Newsroom chat"})
	g := c.say(group, 6, "/help@herald_test_bot")
	for _, code := range entityTexts(g, "code") {
		if strings.HasPrefix(code, "/") && !strings.Contains(strings.Fields(code)[0], "@herald_test_bot") {
			t.Errorf("group example %q lacks @herald_test_bot", code)
		}
	}
	gs := c.say(group, 6, "/start@herald_test_bot")
	want(t, gs, "/sub@herald_test_bot belarus")

	// /start ends with a tappable example that follows it in one tap.
	s := c.say(me, me, "/start")
	if len(s.Entities) == 0 || s.Entities[len(s.Entities)-1].Type != "text_link" ||
		s.Entities[len(s.Entities)-1].URL != "https://t.me/herald_test_bot?start=ex0" {
		t.Fatalf("/start does not end with a link to follow an example: %q %+v", s.Plain, s.Entities)
	}
	if !strings.HasSuffix(s.Plain, "/sub belarus") || len(s.Plain) > 600 {
		t.Fatalf("/start = %q", s.Plain)
	}
	want(t, c.say(me, me, "/start ex0"), "Following belarus")
	if tp := c.sub(me).Topics; len(tp) != 1 || tp[0] != "belarus" {
		t.Fatalf("topics after the start link: %v", tp)
	}
}
