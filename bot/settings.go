package bot

import (
	"context"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/subscriptions"
)

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
	c.replyKB(ctx, "Paused"+c.whose()+" until "+localTime(s.PausedUntil, location(s), "Mon 2 Jan 15:04")+". Alerts meanwhile are not kept.", resume)
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
	c.reply(ctx, "Time zone"+c.whose()+": "+esc(loc.String())+". It is "+esc(localTime(c.b.Now(), loc, "15:04"))+" now.")
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
	// The same answer whether or not a link was mailed (a suspended
	// address, or one over signup.DailyLimit, gets none): the chat learns
	// nothing about the address.
	c.reply(ctx, "A confirmation link is on its way to "+esc(addr)+", if it can receive email from us. Digests of these topics start once it is confirmed there.")
}
