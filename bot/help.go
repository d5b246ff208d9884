package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/subscriptions"
)

// helpLine is one rule of the query language (or one command), as the
// id of the message that explains it, with an example.
type helpLine struct{ id, example string }

// queryHelp teaches the query language, one rule and one example a line;
// the examples are checked by a test to parse.
var queryHelp = []helpLine{
	{"bot.help.q.and", "belarus border"},
	{"bot.help.q.or", "minsk OR vitebsk protest"},
	{"bot.help.q.phrase", `"military cooperation"`},
	{"bot.help.q.not", "iran -israel"},
	{"bot.help.q.group", "(minsk | vitebsk) protest"},
	{"bot.help.q.title", "title:sanctions"},
	{"bot.help.q.site", "belarus site:reuters.com"},
	{"bot.help.q.prefix", "drone*"},
}

// commandHelp lists every subscriber command with its use.
var commandHelp = []helpLine{
	{"bot.help.cmd.sub", "/sub QUERY"},
	{"bot.help.cmd.list", "/list"},
	{"bot.help.cmd.unsubscribe", "/unsubscribe 2"},
	{"bot.help.cmd.preview", "/preview QUERY"},
	{"bot.help.cmd.pause", "/pause 2h"},
	{"bot.help.cmd.resume", "/resume"},
	{"bot.help.cmd.mode", "/mode instant | hourly | daily"},
	{"bot.help.cmd.quiet", "/quiet 22:00-07:00"},
	{"bot.help.cmd.timezone", "/timezone Europe/Minsk"},
	{"bot.help.cmd.language", "/language en | ru | auto"},
	{"bot.help.cmd.email", "/email you@example.org"},
	{"bot.help.cmd.feed", "/feed"},
	{"bot.help.cmd.archive", "/archive"},
	{"bot.help.cmd.forget", "/forget"},
	{"bot.help.cmd.help", "/help"},
}

// adminHelp lists the commands only Herald's admins may use.
var adminHelp = []helpLine{
	{"bot.help.admin.feeds", "/feeds"},
	{"bot.help.admin.addfeed", "/addfeed URL"},
	{"bot.help.admin.removefeed", "/removefeed URL"},
	{"bot.help.admin.stats", "/stats"},
}

// at is what examples add after a command so that, in a group, they are
// addressed to this bot: "@herald_bot", or "" in a private chat.
func (c *call) at() string {
	if c.typ != models.ChatTypePrivate && c.b.name != "" {
		return "@" + c.b.name
	}
	return ""
}

// cmd writes a command example ("/sub belarus") for this chat, with the
// bot's name after the command in groups.
func (c *call) cmd(example string) string {
	// QUERY stands for a query in the reader's language.
	example = strings.ReplaceAll(example, "QUERY", c.p.T("bot.help.query"))
	head, rest, _ := strings.Cut(example, " ")
	if rest != "" {
		rest = " " + rest
	}
	return head + c.at() + rest
}

// help answers /help: the query language, the limits and the commands.
func (c *call) help(ctx context.Context) {
	var b strings.Builder
	b.WriteString("<b>" + c.p.T("bot.help.topics") + "</b>\n")
	for _, l := range queryHelp {
		fmt.Fprintf(&b, "• %s <code>%s</code>\n", c.p.T(l.id), esc(c.cmd("/sub "+l.example)))
	}
	b.WriteString("\n" + c.p.T("bot.help.limits", "Chars", subscriptions.MaxQueryLen, "Terms", subscriptions.MaxQueryTerms,
		"Topics", c.b.subs.MaxTopics) + "\n")
	b.WriteString("\n<b>" + c.p.T("bot.help.commands") + "</b>\n")
	for _, l := range commandHelp {
		if _, ok := handlers[strings.TrimPrefix(strings.Fields(l.example)[0], "/")]; !ok {
			continue // not in this build
		}
		fmt.Fprintf(&b, "<code>%s</code> – %s\n", esc(c.cmd(l.example)), c.p.T(l.id))
	}
	b.WriteString("\n" + c.p.T("bot.help.channel", "Example", esc(c.cmd("/sub @channel QUERY"))))
	if c.b.isAdmin(c.from) {
		b.WriteString("\n\n<b>" + c.p.T("bot.help.admin") + "</b>\n")
		for _, l := range adminHelp {
			fmt.Fprintf(&b, "<code>%s</code> – %s\n", esc(c.cmd(l.example)), c.p.T(l.id))
		}
	}
	c.reply(ctx, strings.TrimRight(b.String(), "\n"))
}

// startPayload is the deep-link payload ("ex0") of example i: a tap on the
// link opens the chat with "/start ex0", which follows that example.
func startPayload(i int) string { return "ex" + strconv.Itoa(i) }

// start answers /start: what Herald does, the examples as buttons, and a
// tappable example at the end. "/start exN" (from that link) follows
// example N.
func (c *call) start(ctx context.Context) {
	if c.typ == models.ChatTypePrivate {
		if _, err := c.ensure(ctx); err != nil {
			c.fail(ctx, err)
			return
		}
	}
	if n, ok := strings.CutPrefix(c.arg, "ex"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < len(Examples) {
			c.follow(ctx, Examples[i], func(html string) { c.reply(ctx, html) })
			return
		}
	}
	rows := make([][]models.InlineKeyboardButton, 0, len(Examples))
	for i, ex := range Examples {
		rows = append(rows, []models.InlineKeyboardButton{button("➕ "+ex, data("ex", c.target, strconv.Itoa(i)))})
	}
	lines := []string{
		c.p.T("bot.start.intro"),
		"",
		c.p.T("bot.start.how", "Example", esc(c.cmd("/sub QUERY"))),
	}
	if c.b.name != "" && c.typ == models.ChatTypePrivate {
		// A t.me link to the bot itself is tappable and keeps the
		// example whole, where a bot command is tappable only up to its
		// first space. In a group the link would open a private chat, so
		// there the example is shown addressed to the bot.
		lines = append(lines, "", c.p.T("bot.start.try", "Example", fmt.Sprintf(`<a href="https://t.me/%s?start=%s">%s</a>`,
			esc(c.b.name), startPayload(0), esc(c.cmd("/sub "+Examples[0])))))
	} else {
		lines = append(lines, "", c.p.T("bot.start.try", "Example", "<code>"+esc(c.cmd("/sub "+Examples[0]))+"</code>"))
	}
	c.replyKB(ctx, strings.Join(lines, "\n"), rows...)
}

// aliases are other names of a command, kept working but shown neither in
// /help nor in the command menu, so that each command is listed once.
var aliases = map[string]string{"subscribe": "sub", "unsub": "unsubscribe", "tz": "timezone", "lang": "language"}

// adminCommands are the commands only Herald's admins may use.
var adminCommands = []string{"feeds", "addfeed", "removefeed", "stats"}

func isAdminCommand(cmd string) bool { return slices.Contains(adminCommands, cmd) }
