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

// helpLine is one rule of the query language with an example query.
type helpLine struct{ rule, example string }

// queryHelp teaches the query language, one rule and one example a line;
// the examples are checked by a test to parse.
var queryHelp = []helpLine{
	{"A space means both words must appear; words match their forms (drone → drones):", "belarus border"},
	{"OR (or |) gives a choice, and binds closer than a space (either city, and protest):", "minsk OR vitebsk protest"},
	{"Quotes match an exact phrase:", `"military cooperation"`},
	{"A minus sign leaves out articles with a word:", "iran -israel"},
	{"Parentheses group:", "(minsk | vitebsk) protest"},
	{"title: looks only in headlines:", "title:sanctions"},
	{"site: keeps to one site and its subdomains:", "belarus site:reuters.com"},
	{"A * after at least 3 letters matches every word that starts so:", "drone*"},
}

// commandHelp lists every subscriber command with its use.
var commandHelp = []helpLine{
	{"follow a topic", "/sub QUERY"},
	{"your topics, to mute or remove", "/list"},
	{"stop a topic (its number, the query, or all)", "/unsubscribe 2"},
	{"recent articles a query would have caught", "/preview QUERY"},
	{"pause alerts for a while, or until /resume", "/pause 2h"},
	{"alerts on again", "/resume"},
	{"alerts as they come, or gathered", "/mode instant | hourly | daily"},
	{"hold alerts at night", "/quiet 22:00-07:00"},
	{"the zone your times are shown in", "/timezone Europe/Minsk"},
	{"email digests of these topics", "/email you@example.org"},
	{"your matches as a private Atom feed", "/feed"},
	{"delete everything kept about this chat", "/forget"},
	{"this help; /start shows examples", "/help"},
}

// adminHelp lists the commands only Herald's admins may use.
var adminHelp = []helpLine{
	{"the feeds watched", "/feeds"},
	{"watch a feed", "/addfeed URL"},
	{"stop watching a feed", "/removefeed URL"},
	{"subscribers and deliveries", "/stats"},
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
	head, rest, _ := strings.Cut(example, " ")
	if rest != "" {
		rest = " " + rest
	}
	return head + c.at() + rest
}

// help answers /help: the query language, the limits and the commands.
func (c *call) help(ctx context.Context) {
	var b strings.Builder
	b.WriteString("<b>How topics work</b>\n")
	for _, l := range queryHelp {
		fmt.Fprintf(&b, "• %s <code>%s</code>\n", esc(l.rule), esc(c.cmd("/sub "+l.example)))
	}
	fmt.Fprintf(&b, "\nCase and accents do not matter. A query has at most %d characters and %d terms; a chat follows at most %d topics.\n",
		subscriptions.MaxQueryLen, subscriptions.MaxQueryTerms, c.b.subs.MaxTopics)
	b.WriteString("\n<b>Commands</b>\n")
	for _, l := range commandHelp {
		fmt.Fprintf(&b, "<code>%s</code> – %s\n", esc(c.cmd(l.example)), esc(l.rule))
	}
	fmt.Fprintf(&b, "\nA channel admin manages a channel from a private chat: <code>%s</code>.", esc(c.cmd("/sub @channel QUERY")))
	if c.b.isAdmin(c.from) {
		b.WriteString("\n\n<b>Admin</b>\n")
		for _, l := range adminHelp {
			fmt.Fprintf(&b, "<code>%s</code> – %s\n", esc(c.cmd(l.example)), esc(l.rule))
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
		if _, err := c.b.ensure(ctx, c.target); err != nil {
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
		"<b>Herald</b> sends news as it is published, on the topics you follow.",
		"",
		"Follow a topic with <code>" + esc(c.cmd("/sub QUERY")) + "</code>, or tap an example below. /help explains queries and lists every command.",
	}
	if c.b.name != "" && c.typ == models.ChatTypePrivate {
		// A t.me link to the bot itself is tappable and keeps the
		// example whole, where a bot command is tappable only up to its
		// first space. In a group the link would open a private chat, so
		// there the example is shown addressed to the bot.
		lines = append(lines, "", fmt.Sprintf(`Try it: <a href="https://t.me/%s?start=%s">%s</a>`,
			esc(c.b.name), startPayload(0), esc(c.cmd("/sub "+Examples[0]))))
	} else {
		lines = append(lines, "", "Try it: <code>"+esc(c.cmd("/sub "+Examples[0]))+"</code>")
	}
	c.replyKB(ctx, strings.Join(lines, "\n"), rows...)
}

// aliases are other names of a command, kept working but shown neither in
// /help nor in the command menu, so that each command is listed once.
var aliases = map[string]string{"subscribe": "sub", "unsub": "unsubscribe", "tz": "timezone"}

// adminCommands are the commands only Herald's admins may use.
var adminCommands = []string{"feeds", "addfeed", "removefeed", "stats"}

func isAdminCommand(cmd string) bool { return slices.Contains(adminCommands, cmd) }
