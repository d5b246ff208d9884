package bot

import (
	"context"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

func (c *call) pause(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	d, err := parsePause(c.arg)
	if err != nil {
		c.reply(ctx, c.p.T("bot.pause.hint", "Error", explain(c.p, err)))
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
	resume := []models.InlineKeyboardButton{button(c.p.T("bot.pause.resume_button"), data("res", c.target, ""))}
	if d == 0 {
		c.replyKB(ctx, c.p.T("bot.pause.ok", "For", c.whose()), resume)
		return
	}
	c.replyKB(ctx, c.p.T("bot.pause.ok_until", "For", c.whose(), "When", esc(dayTime(c.p, s.PausedUntil, location(s)))), resume)
}

func (c *call) resume(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	if err := c.doResume(ctx); err != nil {
		c.fail(ctx, err)
		return
	}
	c.reply(ctx, c.p.T("bot.resume.ok", "For", c.whose()))
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
		c.replyKB(ctx, c.p.T("bot.mode.current", "Mode", modeName(c.p, cur), "For", c.whose()),
			[]models.InlineKeyboardButton{
				button(c.p.T("bot.mode.button.instant"), data("mode", c.target, ModeInstant)),
				button(c.p.T("bot.mode.button.hourly"), data("mode", c.target, ModeHourly)),
				button(c.p.T("bot.mode.button.daily"), data("mode", c.target, ModeDaily)),
			})
		return
	}
	hour := -1
	if len(fields) > 1 && fields[0] == ModeDaily {
		h, err := strconv.Atoi(strings.TrimSuffix(fields[1], ":00"))
		if err != nil || h < 0 || h > 23 {
			c.reply(ctx, c.p.T("bot.mode.bad_hour"))
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

// modeName is how a delivery mode is named in p's language.
func modeName(p locale.P, mode string) string {
	switch mode {
	case ModeHourly, ModeDaily:
		return p.T("bot.mode.name." + mode)
	}
	return p.T("bot.mode.name.instant")
}

// setMode switches the delivery mode and says what it means.
func (c *call) setMode(ctx context.Context, mode string, hour int) (string, error) {
	switch mode {
	case ModeInstant, ModeHourly, ModeDaily:
	default:
		return c.p.T("bot.mode.unknown"), nil
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
		return c.p.T("bot.mode.set.hourly", "For", c.whose()), nil
	case ModeDaily:
		return c.p.T("bot.mode.set.daily", "For", c.whose(), "Clock", fmt.Sprintf("%02d:00", s.Hour), "Zone", esc(location(s).String())), nil
	}
	return c.p.T("bot.mode.set.instant", "For", c.whose()), nil
}

func (c *call) quiet(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	arg := strings.TrimSpace(c.arg)
	if arg == "" {
		cur := c.p.T("bot.quiet.none")
		if s, err := c.b.subs.Get(ctx, subscriptions.TelegramID(c.target)); err == nil && s.Quiet != "" {
			cur = esc(s.Quiet) + " (" + esc(location(s).String()) + ")"
		}
		c.reply(ctx, c.p.T("bot.quiet.current", "For", c.whose(), "Quiet", cur))
		return
	}
	val := ""
	if !strings.EqualFold(arg, "off") {
		from, to, err := parseQuiet(arg)
		if err != nil {
			c.reply(ctx, c.p.T("bot.quiet.bad", "Error", explain(c.p, err)))
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
		c.reply(ctx, c.p.T("bot.quiet.off", "For", c.whose()))
		return
	}
	c.reply(ctx, c.p.T("bot.quiet.set", "For", c.whose(), "Quiet", val, "Zone", esc(location(s).String()), "End", val[6:]))
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
		c.reply(ctx, c.p.T("bot.tz.current", "For", c.whose(), "Zone", esc(cur)))
		return
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" || strings.ContainsAny(zone, " \\") || strings.Contains(zone, "..") {
		c.reply(ctx, c.p.T("bot.tz.unknown", "Zone", esc(clip(zone, 64))))
		return
	}
	if _, err := c.update(ctx, func(s *subscriptions.Subscriber) error { s.TZ = loc.String(); return nil }); err != nil {
		c.fail(ctx, err)
		return
	}
	c.reply(ctx, c.p.T("bot.tz.set", "For", c.whose(), "Zone", esc(loc.String()), "Now", esc(clockIn(c.p, c.b.Now(), loc))))
}

func (c *call) email(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	if c.b.Email == nil {
		c.reply(ctx, c.p.T("bot.email.off"))
		return
	}
	addr := strings.TrimSpace(c.arg)
	parsed, err := mail.ParseAddress(addr)
	if addr == "" || err != nil || parsed.Address != addr || strings.ContainsAny(addr, "\r\n<>") {
		c.reply(ctx, c.p.T("bot.email.empty"))
		return
	}
	s, err := c.ensure(ctx)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	// The confirmation and the digests are written in the chat's
	// language, chosen or followed from Telegram.
	chat := *s
	chat.Lang = printer(s).Lang()
	if err := c.b.Email.LinkEmail(ctx, &chat, addr); err != nil {
		c.b.log.Warn("email link failed", "chat_id", c.chat, "subscriber", s.ID, "err", err)
		c.reply(ctx, c.p.T("bot.email.failed", "Error", esc(clip(err.Error(), 200))))
		return
	}
	// The same answer whether or not a link was mailed (a suspended
	// address, or one over signup.DailyLimit, gets none): the chat learns
	// nothing about the address.
	c.reply(ctx, c.p.T("bot.email.sent", "Address", esc(addr)))
}
