package bot

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/watcher"
)

// call is one command being answered.
type call struct {
	b      *Bot
	msg    *models.Message
	chat   int64           // where the command came from: replies go here
	target int64           // whose alerts it is about: the chat, or a channel named with @
	typ    models.ChatType // the target's type
	label  string          // how replies name the target ("" for the chat itself)
	from   int64           // the user who sent it (0 in a channel)
	arg    string
}

var handlers map[string]func(*call, context.Context)

func init() {
	handlers = map[string]func(*call, context.Context){
		"start": (*call).start, "help": (*call).start,
		"sub": (*call).subscribe, "subscribe": (*call).subscribe,
		"list":        (*call).list,
		"unsubscribe": (*call).unsubscribe, "unsub": (*call).unsubscribe,
		"preview":  (*call).preview,
		"pause":    (*call).pause,
		"resume":   (*call).resume,
		"mode":     (*call).mode,
		"quiet":    (*call).quiet,
		"timezone": (*call).timezone, "tz": (*call).timezone,
		"email":      (*call).email,
		"forget":     (*call).forget,
		"feeds":      (*call).feeds,
		"addfeed":    (*call).addFeed,
		"removefeed": (*call).removeFeed,
		"stats":      (*call).stats,
	}
}

// Examples offered by /start, one button each.
var Examples = []string{"belarus", `"military cooperation" iran -israel`, "drone* OR uav"}

func (c *call) reply(ctx context.Context, html string) { c.b.reply(ctx, c.chat, html, nil) }

func (c *call) replyKB(ctx context.Context, html string, rows ...[]models.InlineKeyboardButton) {
	var kb *models.InlineKeyboardMarkup
	if len(rows) > 0 {
		kb = &models.InlineKeyboardMarkup{InlineKeyboard: rows}
	}
	c.b.reply(ctx, c.chat, html, kb)
}

func (c *call) fail(ctx context.Context, err error) {
	c.b.log.Error("command failed", "chat_id", c.chat, "err", err)
	c.reply(ctx, "Something went wrong on our side; please try again in a minute.")
}

func button(text, data string) models.InlineKeyboardButton {
	return models.InlineKeyboardButton{Text: text, CallbackData: data}
}

// data builds callback data "op:target[:arg]"; Telegram allows 64 bytes,
// which a chat id and a 12-hex-digit hash stay well under.
func data(op string, target int64, arg string) string {
	d := op + ":" + strconv.FormatInt(target, 10)
	if arg != "" {
		d += ":" + arg
	}
	return d
}

// whose names the target in replies: "", or " for @channel".
func (c *call) whose() string {
	if c.label == "" {
		return ""
	}
	return " for " + esc(c.label)
}

// resolve settles whose subscription the command is about and whether the
// sender may change it. "/sub @channel QUERY" from a private chat is about
// the channel and needs the sender to be one of its admins (and the bot
// able to post there); in a group, changes need a group admin.
func (c *call) resolve(ctx context.Context, change bool) bool {
	if c.typ == models.ChatTypePrivate && strings.HasPrefix(c.arg, "@") {
		name, rest, _ := strings.Cut(c.arg, " ")
		ch, err := c.b.api.GetChat(ctx, &tg.GetChatParams{ChatID: name})
		if err != nil || ch.Type == models.ChatTypePrivate {
			c.reply(ctx, "I can't find "+esc(clip(name, 40))+". Add me to the channel as an admin first.")
			return false
		}
		if !c.b.isChatAdmin(ctx, ch.ID, c.from) {
			c.reply(ctx, "Only admins of "+esc(clip(name, 40))+" can manage its alerts.")
			return false
		}
		if ch.Type == models.ChatTypeChannel && !c.b.isChatAdmin(ctx, ch.ID, c.b.id) {
			c.reply(ctx, "I am not an admin of "+esc(clip(name, 40))+", so I can't post there. Add me as an admin first.")
			return false
		}
		c.target, c.typ, c.label, c.arg = ch.ID, ch.Type, name, strings.TrimSpace(rest)
		return true
	}
	if change && (c.typ == models.ChatTypeGroup || c.typ == models.ChatTypeSupergroup) {
		anonymousAdmin := c.msg.SenderChat != nil && c.msg.SenderChat.ID == c.chat
		if !anonymousAdmin && !c.b.isChatAdmin(ctx, c.chat, c.from) {
			c.reply(ctx, "Only the group's admins can change its alerts.")
			return false
		}
	}
	return true
}

// isChatAdmin asks Telegram whether user administers chat.
func (b *Bot) isChatAdmin(ctx context.Context, chat, user int64) bool {
	if user == 0 {
		return false
	}
	m, err := b.api.GetChatMember(ctx, &tg.GetChatMemberParams{ChatID: chat, UserID: user})
	if err != nil {
		// Refusing is the safe answer, but the admin who was refused
		// needs a trace of why.
		if ctx.Err() == nil {
			b.log.Warn("cannot check admin rights; taking the user for no admin", "chat_id", chat, "user", user, "err", err)
		}
		return false
	}
	return m.Type == models.ChatMemberTypeOwner || m.Type == models.ChatMemberTypeAdministrator
}

// canManage says whether user may change target's alerts from a button.
func (b *Bot) canManage(ctx context.Context, target, user int64) bool {
	if target > 0 {
		return target == user
	}
	return b.isChatAdmin(ctx, target, user)
}

// ensure returns the target's subscriber, making it if needed; a chat that
// had been deactivated comes back to life when it talks to the bot again.
func (b *Bot) ensure(ctx context.Context, target int64) (*subscriptions.Subscriber, error) {
	id := subscriptions.TelegramID(target)
	s, err := b.subs.Get(ctx, id)
	if err == nil {
		if s.Status != subscriptions.StatusActive && s.Status != subscriptions.StatusPaused {
			s, err = b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
				s.Status = subscriptions.StatusActive
				return nil
			})
		}
		return s, err
	}
	if !errors.Is(err, subscriptions.ErrNotFound) {
		return nil, err
	}
	s = &subscriptions.Subscriber{ID: id, Kind: subscriptions.KindTelegram, ChatID: target,
		Status: subscriptions.StatusActive, Frequency: ModeInstant, TZ: "UTC", Created: b.Now().UTC()}
	return s, b.subs.Put(ctx, s)
}

// update changes the target's subscriber, making it first if needed, and
// re-plans its held alerts for the new settings.
func (c *call) update(ctx context.Context, fn func(*subscriptions.Subscriber) error) (*subscriptions.Subscriber, error) {
	if _, err := c.b.ensure(ctx, c.target); err != nil {
		return nil, err
	}
	s, err := c.b.subs.Update(ctx, subscriptions.TelegramID(c.target), fn)
	if err != nil {
		return nil, err
	}
	c.b.reschedule(ctx, s)
	return s, nil
}

// reschedule moves a subscriber's held alerts to the time its settings now
// give (at once, after a switch to instant alerts).
func (b *Bot) reschedule(ctx context.Context, s *subscriptions.Subscriber) {
	at := releaseAt(s, b.Now())
	b.st.Redis.ZAddXX(ctx, DueKey(b.st), redis.Z{Score: float64(at.UnixMilli()), Member: s.ID})
}

func (c *call) start(ctx context.Context) {
	if c.typ == models.ChatTypePrivate {
		if _, err := c.b.ensure(ctx, c.target); err != nil {
			c.fail(ctx, err)
			return
		}
	}
	rows := make([][]models.InlineKeyboardButton, 0, len(Examples))
	for i, ex := range Examples {
		rows = append(rows, []models.InlineKeyboardButton{button("➕ "+ex, data("ex", c.target, strconv.Itoa(i)))})
	}
	at := ""
	if c.typ != models.ChatTypePrivate && c.b.name != "" {
		at = "@" + c.b.name
	}
	c.replyKB(ctx, strings.Join([]string{
		"<b>Herald</b> sends news as it is published, on the topics you follow.",
		"",
		"Follow a topic with /sub" + esc(at) + " and a query, or tap an example below:",
		"<code>/sub belarus</code>",
		"<code>/sub \"military cooperation\" iran -israel</code>",
		"<code>/sub drone* OR uav</code>",
		"",
		"Words match their forms (drone → drones), \"quotes\" match a phrase, -word excludes, OR gives a choice, title:word looks only in headlines, site:example.com keeps to one site.",
		"",
		"/list shows your topics · /preview QUERY shows what a query would have caught · /mode hourly or daily gathers alerts · /quiet 22:00-07:00 holds them at night · /pause, /resume · /forget deletes everything.",
		"A channel admin can subscribe a channel from here: <code>/sub @channel QUERY</code>.",
	}, "\n"), rows...)
}

func (c *call) subscribe(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	if c.arg == "" {
		c.reply(ctx, "Give a topic after the command, e.g. <code>/sub belarus</code>.")
		return
	}
	c.follow(ctx, c.arg, func(html string) { c.reply(ctx, html) })
}

// follow adds a query to the target's topics and says how it went.
func (c *call) follow(ctx context.Context, query string, say func(html string)) {
	q, err := subscriptions.Parse(query)
	if err != nil {
		say("That topic can't be used: " + esc(err.Error()))
		return
	}
	if _, err := c.b.ensure(ctx, c.target); err != nil {
		c.fail(ctx, err)
		return
	}
	topic := q.String()
	_, err = c.b.subs.AddTopic(ctx, subscriptions.TelegramID(c.target), topic)
	switch {
	case errors.Is(err, subscriptions.ErrDuplicate):
		say("Already following <code>" + esc(topic) + "</code>" + c.whose() + ".")
	case errors.Is(err, subscriptions.ErrTooMany):
		say("That is as many topics as allowed; /unsubscribe one first.")
	case err != nil:
		c.fail(ctx, err)
	default:
		say("Following <code>" + esc(topic) + "</code>" + c.whose() + ". New articles that match will arrive as they are published.")
	}
}

// offer answers plain text in a private chat with "Subscribe to …?".
func (c *call) offer(ctx context.Context, text string) {
	text = strings.TrimSpace(text)
	q, err := subscriptions.Parse(text)
	if err != nil {
		c.reply(ctx, "To follow a topic, send a query such as <code>belarus OR minsk</code>. That one can't be used: "+esc(err.Error()))
		return
	}
	topic := q.String()
	h := topicHash(topic)
	if err := c.b.st.Redis.Set(ctx, OfferKey(c.b.st, c.chat, h), topic, 24*time.Hour).Err(); err != nil {
		c.fail(ctx, err)
		return
	}
	c.replyKB(ctx, "Subscribe to <code>"+esc(topic)+"</code>?",
		[]models.InlineKeyboardButton{button("✅ Subscribe", data("sub", c.target, h)), button("No, thanks", data("no", c.target, ""))})
}

// listView is the text and keyboard of /list.
func listView(s *subscriptions.Subscriber, target int64, label string) (string, [][]models.InlineKeyboardButton) {
	if s == nil || len(s.Topics) == 0 {
		return "No topics followed" + forLabel(label) + " yet. Try <code>/sub belarus</code>.", nil
	}
	var sb strings.Builder
	sb.WriteString("<b>Topics" + forLabel(label) + "</b>\n")
	var rows [][]models.InlineKeyboardButton
	for i, t := range s.Topics {
		muted := slices.Contains(s.Muted, t)
		mark, act := "", "🔕 Mute"
		if muted {
			mark, act = " (muted)", "🔔 Unmute"
		}
		line := fmt.Sprintf("%d. <code>%s</code>%s\n", i+1, esc(t), mark)
		if textLen(sb.String())+textLen(line) > MaxMessage-200 {
			fmt.Fprintf(&sb, "… and %d more\n", len(s.Topics)-i)
			break
		}
		sb.WriteString(line)
		if len(rows) < 49 {
			n := strconv.Itoa(i + 1)
			rows = append(rows, []models.InlineKeyboardButton{
				button(act+" "+n, data("lm", target, topicHash(t))),
				button("🗑 Remove "+n, data("lr", target, topicHash(t))),
			})
		}
	}
	switch {
	case !s.PausedUntil.IsZero() && time.Now().Before(s.PausedUntil):
		sb.WriteString("\nPaused until " + s.PausedUntil.In(location(s)).Format("2 Jan 15:04 MST") + ".")
	case s.Status == subscriptions.StatusPaused:
		sb.WriteString("\nPaused until /resume.")
	}
	if s.Frequency == ModeHourly || s.Frequency == ModeDaily {
		sb.WriteString("\nAlerts come " + s.Frequency + ".")
	}
	if s.Quiet != "" {
		sb.WriteString("\nQuiet hours " + esc(s.Quiet) + " (" + esc(location(s).String()) + ").")
	}
	return sb.String(), rows
}

func forLabel(label string) string {
	if label == "" {
		return ""
	}
	return " for " + esc(label)
}

func (c *call) list(ctx context.Context) {
	if !c.resolve(ctx, false) {
		return
	}
	s, err := c.b.subs.Get(ctx, subscriptions.TelegramID(c.target))
	if err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
		c.fail(ctx, err)
		return
	}
	text, rows := listView(s, c.target, c.label)
	c.replyKB(ctx, text, rows...)
}

func (c *call) unsubscribe(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	arg := strings.TrimSpace(c.arg)
	id := subscriptions.TelegramID(c.target)
	if arg == "" {
		c.reply(ctx, "Say which topic: <code>/unsubscribe 2</code> (its number in /list), <code>/unsubscribe belarus</code>, or <code>/unsubscribe all</code>.")
		return
	}
	if strings.EqualFold(arg, "all") {
		_, err := c.b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
			s.Topics, s.Muted = nil, nil
			return nil
		})
		if err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
			c.fail(ctx, err)
			return
		}
		c.reply(ctx, "Stopped every topic"+c.whose()+".")
		return
	}
	if n, err := strconv.Atoi(arg); err == nil {
		topic, err := c.b.subs.RemoveTopic(ctx, id, n)
		switch {
		case errors.Is(err, subscriptions.ErrNoSuchTopic), errors.Is(err, subscriptions.ErrNotFound):
			c.reply(ctx, "There is no topic number "+strconv.Itoa(n)+"; see /list.")
		case err != nil:
			c.fail(ctx, err)
		default:
			c.unmute(ctx, topic)
			c.reply(ctx, "Stopped <code>"+esc(topic)+"</code>.")
		}
		return
	}
	want := arg
	if q, err := subscriptions.Parse(arg); err == nil {
		want = q.String()
	}
	removed := ""
	_, err := c.b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		for i, t := range s.Topics {
			if strings.EqualFold(t, want) || strings.EqualFold(t, arg) {
				removed = t
				s.Topics = slices.Delete(s.Topics, i, i+1)
				s.Muted = slices.DeleteFunc(s.Muted, func(m string) bool { return m == t })
				return nil
			}
		}
		return subscriptions.ErrNoSuchTopic
	})
	switch {
	case errors.Is(err, subscriptions.ErrNoSuchTopic), errors.Is(err, subscriptions.ErrNotFound):
		c.reply(ctx, "You don't follow <code>"+esc(clip(arg, 256))+"</code>; see /list.")
	case err != nil:
		c.fail(ctx, err)
	default:
		c.reply(ctx, "Stopped <code>"+esc(removed)+"</code>.")
	}
}

// unmute forgets a removed topic's muted mark.
func (c *call) unmute(ctx context.Context, topic string) {
	_, _ = c.b.subs.Update(ctx, subscriptions.TelegramID(c.target), func(s *subscriptions.Subscriber) error {
		s.Muted = slices.DeleteFunc(s.Muted, func(m string) bool { return m == topic })
		return nil
	})
}

// PreviewWindow is how many recent articles /preview looks through.
const PreviewWindow = 2000

func (c *call) preview(ctx context.Context) {
	if c.arg == "" {
		c.reply(ctx, "Give a query to try, e.g. <code>/preview belarus OR minsk</code>.")
		return
	}
	q, err := subscriptions.Parse(c.arg)
	if err != nil {
		c.reply(ctx, "That topic can't be used: "+esc(err.Error()))
		return
	}
	recent, err := watcher.Recent(ctx, c.b.st, PreviewWindow)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	var hits []string
	total := 0
	for _, a := range recent {
		if !q.Match(subscriptions.NewDoc(a.Title, a.URL, a.Summary+"\n\n"+a.Text)) {
			continue
		}
		total++
		if len(hits) < 8 {
			title := clip(strings.TrimSpace(a.Title), 150)
			if title == "" {
				title = clip(a.URL, 150)
			}
			line := "• " + esc(title)
			if u := safeURL(a.URL); u != "" {
				line = "• <a href=\"" + esc(u) + "\">" + esc(title) + "</a>"
			}
			if src := sourceName(a); src != "" {
				line += " <i>" + esc(clip(src, 40)) + "</i>"
			}
			hits = append(hits, line)
		}
	}
	topic := q.String()
	h := topicHash(topic)
	_ = c.b.st.Redis.Set(ctx, OfferKey(c.b.st, c.chat, h), topic, 24*time.Hour).Err()
	follow := []models.InlineKeyboardButton{button("✅ Follow this topic", data("sub", c.target, h))}
	if total == 0 {
		c.replyKB(ctx, fmt.Sprintf("None of the last %d articles match <code>%s</code>.", len(recent), esc(topic)), follow)
		return
	}
	text := fmt.Sprintf("<b>%d of the last %d articles match</b> <code>%s</code>:\n\n%s", total, len(recent), esc(topic), strings.Join(hits, "\n"))
	c.replyKB(ctx, text, follow)
}

func (c *call) pause(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	d, err := parsePause(c.arg)
	if err != nil {
		c.reply(ctx, esc(err.Error())+". Or /pause alone to pause until /resume.")
		return
	}
	now := c.b.Now()
	s, err := c.update(ctx, func(s *subscriptions.Subscriber) error {
		if d == 0 {
			s.Status, s.PausedUntil = subscriptions.StatusPaused, time.Time{}
		} else {
			// A timed pause keeps the chat active (the matcher goes on
			// queueing) and the sender drops what comes before the end.
			s.Status, s.PausedUntil = subscriptions.StatusActive, now.Add(d).UTC()
		}
		return nil
	})
	if err != nil {
		c.fail(ctx, err)
		return
	}
	resume := []models.InlineKeyboardButton{button("▶️ Resume now", data("res", c.target, ""))}
	if d == 0 {
		c.replyKB(ctx, "Paused"+c.whose()+" until /resume. Alerts meanwhile are not kept.", resume)
		return
	}
	c.replyKB(ctx, "Paused"+c.whose()+" until "+s.PausedUntil.In(location(s)).Format("Mon 2 Jan 15:04 MST")+". Alerts meanwhile are not kept.", resume)
}

func (c *call) resume(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	if err := c.doResume(ctx); err != nil {
		c.fail(ctx, err)
		return
	}
	c.reply(ctx, "Alerts are on again"+c.whose()+".")
}

func (c *call) doResume(ctx context.Context) error {
	_, err := c.update(ctx, func(s *subscriptions.Subscriber) error {
		s.Status, s.PausedUntil = subscriptions.StatusActive, time.Time{}
		return nil
	})
	return err
}

func (c *call) mode(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	fields := strings.Fields(strings.ToLower(c.arg))
	if len(fields) == 0 {
		cur := ModeInstant
		if s, err := c.b.subs.Get(ctx, subscriptions.TelegramID(c.target)); err == nil && s.Frequency != "" {
			cur = s.Frequency
		}
		c.replyKB(ctx, "Alerts come <b>"+esc(cur)+"</b>"+c.whose()+". Instant sends each article as it is found; hourly and daily gather them into one message.",
			[]models.InlineKeyboardButton{
				button("⚡ Instant", data("mode", c.target, ModeInstant)),
				button("🕐 Hourly", data("mode", c.target, ModeHourly)),
				button("📅 Daily", data("mode", c.target, ModeDaily)),
			})
		return
	}
	hour := -1
	if len(fields) > 1 && fields[0] == ModeDaily {
		h, err := strconv.Atoi(strings.TrimSuffix(fields[1], ":00"))
		if err != nil || h < 0 || h > 23 {
			c.reply(ctx, "Give the hour of the daily round-up as 0–23, e.g. <code>/mode daily 8</code>.")
			return
		}
		hour = h
	}
	text, err := c.setMode(ctx, fields[0], hour)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	c.reply(ctx, text)
}

// setMode switches the delivery mode and says what it means.
func (c *call) setMode(ctx context.Context, mode string, hour int) (string, error) {
	switch mode {
	case ModeInstant, ModeHourly, ModeDaily:
	default:
		return "Modes are <code>instant</code>, <code>hourly</code> and <code>daily</code> (optionally with an hour: <code>/mode daily 7</code>).", nil
	}
	s, err := c.update(ctx, func(s *subscriptions.Subscriber) error {
		s.Frequency = mode
		if mode == ModeDaily {
			switch {
			case hour >= 0:
				s.Hour = hour
			case s.Hour <= 0:
				s.Hour = DefaultDailyHour
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	switch mode {
	case ModeHourly:
		return "Alerts" + c.whose() + " now come once an hour, gathered in one message.", nil
	case ModeDaily:
		return fmt.Sprintf("Alerts%s now come once a day at %02d:00 (%s), gathered in one message.", c.whose(), s.Hour, esc(location(s).String())), nil
	}
	return "Alerts" + c.whose() + " now come as articles are found.", nil
}

func (c *call) quiet(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	arg := strings.TrimSpace(c.arg)
	if arg == "" {
		cur := "none"
		if s, err := c.b.subs.Get(ctx, subscriptions.TelegramID(c.target)); err == nil && s.Quiet != "" {
			cur = esc(s.Quiet) + " (" + esc(location(s).String()) + ")"
		}
		c.reply(ctx, "Quiet hours"+c.whose()+": "+cur+". Set them with <code>/quiet 22:00-07:00</code>, or <code>/quiet off</code>. Alerts in quiet hours are held and come gathered when they end.")
		return
	}
	val := ""
	if !strings.EqualFold(arg, "off") {
		from, to, err := parseQuiet(arg)
		if err != nil {
			c.reply(ctx, "Quiet hours: "+esc(err.Error())+".")
			return
		}
		val = fmt.Sprintf("%02d:%02d-%02d:%02d", from/60, from%60, to/60, to%60)
	}
	s, err := c.update(ctx, func(s *subscriptions.Subscriber) error { s.Quiet = val; return nil })
	if err != nil {
		c.fail(ctx, err)
		return
	}
	if val == "" {
		c.reply(ctx, "No quiet hours"+c.whose()+" any more.")
		return
	}
	c.reply(ctx, "Quiet hours"+c.whose()+": "+val+" ("+esc(location(s).String())+"). Alerts then are held and come gathered at "+val[6:]+". Change the zone with /timezone.")
}

func (c *call) timezone(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	zone := strings.TrimSpace(c.arg)
	if zone == "" {
		cur := "UTC"
		if s, err := c.b.subs.Get(ctx, subscriptions.TelegramID(c.target)); err == nil {
			cur = location(s).String()
		}
		c.reply(ctx, "Time zone"+c.whose()+": "+esc(cur)+". Change it with a name like <code>/timezone Europe/Vilnius</code>.")
		return
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" || strings.ContainsAny(zone, " \\") || strings.Contains(zone, "..") {
		c.reply(ctx, "I don't know the time zone <code>"+esc(clip(zone, 64))+"</code>. Use a name like <code>Europe/Vilnius</code>, <code>America/New_York</code> or <code>UTC</code>.")
		return
	}
	if _, err := c.update(ctx, func(s *subscriptions.Subscriber) error { s.TZ = loc.String(); return nil }); err != nil {
		c.fail(ctx, err)
		return
	}
	c.reply(ctx, "Time zone"+c.whose()+": "+esc(loc.String())+". Local time there is "+c.b.Now().In(loc).Format("15:04")+".")
}

func (c *call) email(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	if c.b.Email == nil {
		c.reply(ctx, "Email digests are off on this server.")
		return
	}
	addr := strings.TrimSpace(c.arg)
	parsed, err := mail.ParseAddress(addr)
	if addr == "" || err != nil || parsed.Address != addr || strings.ContainsAny(addr, "\r\n<>") {
		c.reply(ctx, "Give an email address, e.g. <code>/email you@example.org</code>.")
		return
	}
	s, err := c.b.ensure(ctx, c.target)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	if err := c.b.Email.LinkEmail(ctx, s, addr); err != nil {
		c.b.log.Warn("email link failed", "chat_id", c.chat, "subscriber", s.ID, "err", err)
		c.reply(ctx, "I could not start email digests for that address: "+esc(clip(err.Error(), 200)))
		return
	}
	c.reply(ctx, "I sent a confirmation link to "+esc(addr)+". Digests of these topics start once it is opened.")
}

func (c *call) forget(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	c.replyKB(ctx, "This deletes every topic and setting"+c.whose()+", and every alert waiting to be sent. Go ahead?",
		[]models.InlineKeyboardButton{button("🗑 Delete everything", data("fg", c.target, "")), button("Cancel", data("no", c.target, ""))})
}

// Forget deletes everything Herald holds on a chat: its subscriber, the
// alerts held for its round-ups, and (through the subscriber's creation
// time, see Sender) every alert still queued for it.
func (b *Bot) Forget(ctx context.Context, chat int64) error {
	id := subscriptions.TelegramID(chat)
	if err := b.subs.Delete(ctx, id); err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
		return err
	}
	if err := b.st.Redis.Del(ctx, HeldKey(b.st, id)).Err(); err != nil {
		return fmt.Errorf("forget held alerts of %s: %w", id, err)
	}
	return b.st.Redis.ZRem(ctx, DueKey(b.st), id).Err()
}

// OfferKey holds a query offered with a "Subscribe" button until pressed.
func OfferKey(st interface{ Key(...string) string }, chat int64, hash string) string {
	return st.Key("{tg}", "offer", strconv.FormatInt(chat, 10), hash)
}

func (c *call) admin(ctx context.Context) bool {
	if !c.b.isAdmin(c.from) {
		c.reply(ctx, "That command is for Herald's admins.")
		return false
	}
	if c.b.Feeds == nil {
		c.reply(ctx, "Feeds are not managed from this process.")
		return false
	}
	return true
}

func (c *call) feeds(ctx context.Context) {
	if !c.admin(ctx) {
		return
	}
	fs, err := c.b.Feeds.List(ctx)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	if len(fs) == 0 {
		c.reply(ctx, "No feeds yet. Add one with <code>/addfeed URL</code>.")
		return
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "<b>%d feeds</b>\n", len(fs))
	now := c.b.Now()
	for i, f := range fs {
		state := "never fetched"
		if !f.LastFetch.IsZero() {
			state = "fetched " + now.Sub(f.LastFetch).Round(time.Second).String() + " ago"
		}
		if f.Errors > 0 {
			state += fmt.Sprintf(", %d errors", f.Errors)
		}
		line := fmt.Sprintf("%d. %s — %s, %d articles\n", i+1, esc(clip(f.URL, 200)), state, f.Articles)
		if textLen(sb.String())+textLen(line) > MaxMessage-100 {
			fmt.Fprintf(&sb, "… and %d more", len(fs)-i)
			break
		}
		sb.WriteString(line)
	}
	c.reply(ctx, sb.String())
}

func (c *call) addFeed(ctx context.Context) {
	if !c.admin(ctx) {
		return
	}
	if c.arg == "" {
		c.reply(ctx, "Give the feed's URL: <code>/addfeed https://example.org/feed.xml</code>.")
		return
	}
	f, err := c.b.Feeds.Add(ctx, c.arg, 0, 0)
	if err != nil {
		c.reply(ctx, "Can't add that feed: "+esc(clip(err.Error(), 300)))
		return
	}
	c.reply(ctx, "Watching "+esc(f.URL)+".")
}

func (c *call) removeFeed(ctx context.Context) {
	if !c.admin(ctx) {
		return
	}
	err := c.b.Feeds.Remove(ctx, c.arg)
	switch {
	case errors.Is(err, watcher.ErrNoFeed):
		c.reply(ctx, "That feed is not watched; see /feeds.")
	case err != nil:
		c.fail(ctx, err)
	default:
		c.reply(ctx, "Stopped watching "+esc(clip(c.arg, 300))+".")
	}
}

func (c *call) stats(ctx context.Context) {
	if !c.b.isAdmin(c.from) {
		c.reply(ctx, "That command is for Herald's admins.")
		return
	}
	counts := map[string]int{}
	topics := 0
	err := c.b.subs.Scan(ctx, func(s *subscriptions.Subscriber) error {
		counts[s.Kind+" "+s.Status]++
		topics += len(s.Topics)
		return nil
	})
	if err != nil {
		c.fail(ctx, err)
		return
	}
	var sb strings.Builder
	sb.WriteString("<b>Herald</b>\n")
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s: %d\n", esc(k), counts[k])
	}
	fmt.Fprintf(&sb, "topics: %d\n", topics)
	q := queueStats(ctx, c.b)
	sb.WriteString(q)
	if c.b.Feeds != nil {
		if fs, err := c.b.Feeds.List(ctx); err == nil {
			fmt.Fprintf(&sb, "feeds: %d\n", len(fs))
		}
	}
	c.reply(ctx, sb.String())
}

func queueStats(ctx context.Context, b *Bot) string {
	s := &Sender{st: b.st, Consumer: "stats", log: b.log}
	st, err := s.Stream().Stats(ctx)
	if err != nil {
		return ""
	}
	held, _ := b.st.Redis.ZCard(ctx, DueKey(b.st)).Result()
	return fmt.Sprintf("alert queue: %d entries, %d in hand, oldest %s\nchats with held alerts: %d\n",
		st.Length, st.Pending, st.OldestPending.Round(time.Second), held)
}

// callback answers a button press.
func (b *Bot) callback(ctx context.Context, q *models.CallbackQuery) {
	answer := func(text string) {
		_, _ = b.api.AnswerCallbackQuery(ctx, &tg.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: text})
	}
	msg := q.Message.Message
	if msg == nil {
		answer("That message is too old; send the command again.")
		return
	}
	parts := strings.SplitN(q.Data, ":", 3)
	op, target, arg := parts[0], msg.Chat.ID, ""
	switch {
	case op == "mute" && len(parts) == 2:
		arg = parts[1]
	case len(parts) >= 2:
		t, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			answer("")
			return
		}
		target = t
		if len(parts) == 3 {
			arg = parts[2]
		}
	}
	if !b.canManage(ctx, target, q.From.ID) {
		answer("Only admins of that chat can change its alerts.")
		return
	}
	c := &call{b: b, msg: msg, chat: msg.Chat.ID, target: target, typ: msg.Chat.Type, from: q.From.ID}
	if target != msg.Chat.ID {
		c.label = "that channel"
		if ch, err := b.api.GetChat(ctx, &tg.GetChatParams{ChatID: target}); err == nil && ch.Username != "" {
			c.label = "@" + ch.Username
		}
	}
	edit := func(html string, rows [][]models.InlineKeyboardButton) {
		p := &tg.EditMessageTextParams{ChatID: msg.Chat.ID, MessageID: msg.ID, Text: html, ParseMode: models.ParseModeHTML,
			LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tg.True()}}
		if rows != nil {
			p.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: rows}
		}
		if _, err := b.api.EditMessageText(ctx, p); err != nil && !strings.Contains(err.Error(), "not modified") {
			b.log.Warn("edit failed", "chat_id", msg.Chat.ID, "err", err)
		}
	}
	id := subscriptions.TelegramID(target)
	switch op {
	case "ex":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 || n >= len(Examples) {
			answer("")
			return
		}
		c.follow(ctx, Examples[n], func(html string) { c.reply(ctx, html) })
		answer("Following " + Examples[n])
	case "sub":
		topic, err := b.st.Redis.Get(ctx, OfferKey(b.st, msg.Chat.ID, arg)).Result()
		if err != nil {
			answer("That offer expired; send the query again.")
			return
		}
		c.follow(ctx, topic, func(html string) { edit(html, nil) })
		answer("")
	case "no":
		edit("OK, nothing changed.", nil)
		answer("")
	case "lm", "mute":
		s, err := b.toggleMute(ctx, id, arg, op == "mute")
		if err != nil {
			answer("That topic is no longer followed.")
			return
		}
		if op == "lm" {
			text, rows := listView(s, target, c.label)
			edit(text, rows)
		}
		answer("Done.")
	case "lr":
		var removed string
		s, err := b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
			i := slices.IndexFunc(s.Topics, func(t string) bool { return topicHash(t) == arg })
			if i < 0 {
				return subscriptions.ErrNoSuchTopic
			}
			removed = s.Topics[i]
			s.Topics = slices.Delete(s.Topics, i, i+1)
			s.Muted = slices.DeleteFunc(s.Muted, func(m string) bool { return m == removed })
			return nil
		})
		if err != nil {
			answer("That topic is no longer followed.")
			return
		}
		text, rows := listView(s, target, c.label)
		edit(text, rows)
		answer("Stopped " + clip(removed, 100))
	case "mode":
		text, err := c.setMode(ctx, arg, -1)
		if err != nil {
			answer("Something went wrong; try again.")
			return
		}
		edit(text, nil)
		answer("")
	case "res":
		if err := c.doResume(ctx); err != nil {
			answer("Something went wrong; try again.")
			return
		}
		edit("Alerts are on again"+c.whose()+".", nil)
		answer("Resumed")
	case "fg":
		if err := b.Forget(ctx, target); err != nil {
			b.log.Error("forget failed", "chat_id", target, "err", err)
			answer("Something went wrong; try again.")
			return
		}
		edit("Done: everything Herald held"+c.whose()+" is deleted. /start begins again.", nil)
		answer("Deleted")
	default:
		answer("")
	}
}

// toggleMute mutes or unmutes the topic with this hash; with onlyMute (an
// alert's button) it only mutes.
func (b *Bot) toggleMute(ctx context.Context, id, hash string, onlyMute bool) (*subscriptions.Subscriber, error) {
	return b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		i := slices.IndexFunc(s.Topics, func(t string) bool { return topicHash(t) == hash })
		if i < 0 {
			return subscriptions.ErrNoSuchTopic
		}
		t := s.Topics[i]
		if j := slices.Index(s.Muted, t); j >= 0 {
			if !onlyMute {
				s.Muted = slices.Delete(s.Muted, j, j+1)
			}
			return nil
		}
		s.Muted = append(s.Muted, t)
		return nil
	})
}
