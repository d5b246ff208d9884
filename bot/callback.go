package bot

import (
	"context"
	"slices"
	"strconv"
	"strings"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

// press is one button press being answered: the call it stands for (whose
// alerts, who pressed), the message the button is on, and the argument the
// button carries.
type press struct {
	c   *call
	q   *models.CallbackQuery
	msg *models.Message
	arg string
}

// buttons maps the op of a button's data (see data) to what pressing it
// does.
var buttons map[string]func(*press, context.Context)

func init() {
	buttons = map[string]func(*press, context.Context){
		"ex":   (*press).example,
		"sub":  (*press).acceptOffer,
		"no":   (*press).decline,
		"lm":   (*press).listMute,
		"mute": (*press).alertMute,
		"unm":  (*press).alertUnmute,
		"lr":   (*press).listRemove,
		"mode": (*press).mode,
		"res":  (*press).resume,
		"fg":   (*press).forget,
		"lang": (*press).language,
	}
}

// callback answers a button press.
func (b *Bot) callback(ctx context.Context, q *models.CallbackQuery) {
	msg := q.Message.Message
	if msg == nil {
		b.answer(ctx, q, locale.For(locale.Match(q.From.LanguageCode)).T("bot.button.too_old"))
		return
	}
	op, target, arg, ok := parseData(q.Data, msg.Chat.ID)
	if !ok {
		b.answer(ctx, q, "")
		return
	}
	c := &call{b: b, msg: msg, chat: msg.Chat.ID, target: target, typ: msg.Chat.Type, from: q.From.ID, code: q.From.LanguageCode}
	c.p = b.speak(ctx, c.chat, c.typ, c.code)
	if !b.canManage(ctx, target, q.From.ID) {
		b.answer(ctx, q, c.p.T("bot.button.not_admin"))
		return
	}
	if target != msg.Chat.ID {
		c.label = c.p.T("bot.that_channel")
		if ch, err := b.api.GetChat(ctx, &tg.GetChatParams{ChatID: target}); err == nil && ch.Username != "" {
			c.label = "@" + ch.Username
		}
	}
	p := &press{c: c, q: q, msg: msg, arg: arg}
	if h, ok := buttons[op]; ok {
		h(p, ctx)
		return
	}
	p.answer(ctx, "")
}

// parseData splits a button's data "op:target[:arg]" (see data). An
// alert's mute button carries no target ("mute:hash"): it is about the
// chat it was pressed in, chat.
func parseData(d string, chat int64) (op string, target int64, arg string, ok bool) {
	parts := strings.SplitN(d, ":", 3)
	op, target = parts[0], chat
	switch {
	case (op == "mute" || op == "unm") && len(parts) == 2:
		arg = parts[1]
	case len(parts) >= 2:
		t, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return "", 0, "", false
		}
		target = t
		if len(parts) == 3 {
			arg = parts[2]
		}
	}
	return op, target, arg, true
}

// answer answers a callback query, with text shown to the presser ("" for
// none), so that their client stops waiting.
func (b *Bot) answer(ctx context.Context, q *models.CallbackQuery, text string) {
	_, _ = b.api.AnswerCallbackQuery(ctx, &tg.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: text})
}

func (p *press) answer(ctx context.Context, text string) { p.c.b.answer(ctx, p.q, text) }

// edit replaces the text (and the keyboard, nil removing it) of the
// message the button is on.
func (p *press) edit(ctx context.Context, html string, rows [][]models.InlineKeyboardButton) {
	e := &tg.EditMessageTextParams{ChatID: p.msg.Chat.ID, MessageID: p.msg.ID, Text: html, ParseMode: models.ParseModeHTML,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tg.True()}}
	if rows != nil {
		e.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: rows}
	}
	if _, err := p.c.b.api.EditMessageText(ctx, e); err != nil && !strings.Contains(err.Error(), "not modified") {
		p.c.b.log.Warn("edit failed", "chat_id", p.msg.Chat.ID, "err", err)
	}
}

// subscriber is the id of the subscriber the press is about.
func (p *press) subscriber() string { return subscriptions.TelegramID(p.c.target) }

// example follows one of /start's examples.
func (p *press) example(ctx context.Context) {
	n, err := strconv.Atoi(p.arg)
	if err != nil || n < 0 || n >= len(Examples) {
		p.answer(ctx, "")
		return
	}
	p.c.follow(ctx, Examples[n], func(html string) { p.c.reply(ctx, html) })
	p.answer(ctx, p.c.p.T("bot.button.following", "Topic", Examples[n]))
}

// acceptOffer follows the query offered with "Subscribe to …?" or /preview.
func (p *press) acceptOffer(ctx context.Context) {
	b := p.c.b
	topic, err := b.st.Redis.Get(ctx, OfferKey(b.st, p.msg.Chat.ID, p.arg)).Result()
	if err != nil {
		p.answer(ctx, p.c.p.T("bot.button.offer_expired"))
		return
	}
	p.c.follow(ctx, topic, func(html string) { p.edit(ctx, html, nil) })
	p.answer(ctx, "")
}

// decline turns down an offer or a confirmation.
func (p *press) decline(ctx context.Context) {
	p.edit(ctx, p.c.p.T("bot.button.declined"), nil)
	p.answer(ctx, "")
}

// listMute mutes or unmutes a topic from /list, and shows the list again.
func (p *press) listMute(ctx context.Context) {
	s, err := p.c.b.toggleMute(ctx, p.subscriber(), p.arg)
	if err != nil {
		p.answer(ctx, p.c.p.T("bot.button.gone_topic"))
		return
	}
	text, rows := listView(p.c.p, s, p.c.target, p.c.label)
	p.edit(ctx, text, rows)
	p.answer(ctx, p.c.p.T("bot.button.done"))
}

// alertMute mutes the topic of an alert and turns its Mute button into
// "Muted · Undo"; the alert's text stays as it is.
func (p *press) alertMute(ctx context.Context) {
	topic, err := p.c.b.setMute(ctx, p.subscriber(), p.arg, true)
	if err != nil {
		p.answer(ctx, p.c.p.T("bot.button.gone_topic"))
		return
	}
	pr := p.c.p
	p.swapButton(ctx, hashMuteData, unmuteData, func(old string) string {
		if isAlertMute(old) {
			return pr.T("bot.alert.muted")
		}
		return pr.T("bot.gathered.muted", "Topic", clip(topic, 40))
	})
	p.answer(ctx, pr.T("bot.button.muted"))
}

// alertUnmute undoes an alert's Mute and puts its Mute button back.
func (p *press) alertUnmute(ctx context.Context) {
	topic, err := p.c.b.setMute(ctx, p.subscriber(), p.arg, false)
	if err != nil {
		p.answer(ctx, p.c.p.T("bot.button.gone_topic"))
		return
	}
	pr := p.c.p
	p.swapButton(ctx, unmuteData, hashMuteData, func(old string) string {
		if isAlertMute(old) {
			return pr.T("bot.alert.mute")
		}
		return topicMuteLabel(pr, topic)
	})
	p.answer(ctx, pr.T("bot.button.unmuted"))
}

// swapButton replaces, in the keyboard of the pressed message, the button
// whose data is from(hash) by one labelled label(its label) with data to(hash),
// keeping every other button (the Open links), and edits only the
// keyboard so that the alert's text and time stay.
func (p *press) swapButton(ctx context.Context, from, to func(hash string) string, label func(old string) string) {
	if p.msg.ReplyMarkup == nil {
		return
	}
	old, want := from(p.arg), to(p.arg)
	rows := make([][]models.InlineKeyboardButton, 0, len(p.msg.ReplyMarkup.InlineKeyboard))
	for _, r := range p.msg.ReplyMarkup.InlineKeyboard {
		row := slices.Clone(r)
		for i, btn := range row {
			if btn.CallbackData == old || btn.CallbackData == want {
				row[i] = button(label(btn.Text), want)
			}
		}
		rows = append(rows, row)
	}
	_, err := p.c.b.api.EditMessageReplyMarkup(ctx, &tg.EditMessageReplyMarkupParams{ChatID: p.msg.Chat.ID, MessageID: p.msg.ID,
		ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: rows}})
	if err != nil && !strings.Contains(err.Error(), "not modified") {
		p.c.b.log.Warn("edit failed", "chat_id", p.msg.Chat.ID, "err", err)
	}
}

// listRemove stops a topic from /list, and shows the list again.
func (p *press) listRemove(ctx context.Context) {
	var removed string
	s, err := p.c.b.subs.Update(ctx, p.subscriber(), func(s *subscriptions.Subscriber) error {
		i := slices.IndexFunc(s.Topics, func(t string) bool { return topicHash(t) == p.arg })
		if i < 0 {
			return subscriptions.ErrNoSuchTopic
		}
		removed = s.Topics[i]
		s.Topics = slices.Delete(s.Topics, i, i+1)
		s.Muted = slices.DeleteFunc(s.Muted, func(m string) bool { return m == removed })
		return nil
	})
	if err != nil {
		p.answer(ctx, p.c.p.T("bot.button.gone_topic"))
		return
	}
	text, rows := listView(p.c.p, s, p.c.target, p.c.label)
	p.edit(ctx, text, rows)
	p.answer(ctx, p.c.p.T("bot.button.stopped", "Topic", clip(removed, 100)))
}

// mode switches the delivery mode from /mode's buttons.
func (p *press) mode(ctx context.Context) {
	text, err := p.c.setMode(ctx, p.arg, -1)
	if err != nil {
		p.answer(ctx, p.c.p.T("bot.button.failed"))
		return
	}
	p.edit(ctx, text, nil)
	p.answer(ctx, "")
}

// resume ends a pause from /pause's button.
func (p *press) resume(ctx context.Context) {
	if err := p.c.doResume(ctx); err != nil {
		p.answer(ctx, p.c.p.T("bot.button.failed"))
		return
	}
	p.edit(ctx, p.c.p.T("bot.resume.ok", "For", p.c.whose()), nil)
	p.answer(ctx, p.c.p.T("bot.button.resumed"))
}

// forget deletes everything held on the target, confirming /forget.
func (p *press) forget(ctx context.Context) {
	if err := p.c.b.Forget(ctx, p.c.target); err != nil {
		p.c.b.log.Error("forget failed", "chat_id", p.c.target, "err", err)
		p.answer(ctx, p.c.p.T("bot.button.failed"))
		return
	}
	p.edit(ctx, p.c.p.T("bot.forget.done", "For", p.c.whose()), nil)
	p.answer(ctx, p.c.p.T("bot.button.deleted"))
}

// language sets the language from /language's buttons; the message
// turns into the confirmation, in the new language.
func (p *press) language(ctx context.Context) {
	text, ok, err := p.c.setLanguage(ctx, p.arg)
	if err != nil || !ok {
		p.answer(ctx, p.c.p.T("bot.button.failed"))
		return
	}
	p.edit(ctx, text, nil)
	p.answer(ctx, "")
}

// isAlertMute says whether a Mute button's label is that of a single
// alert, in any language (the chat may have switched since), as opposed
// to a topic's button on a gathered message.
func isAlertMute(label string) bool {
	for _, l := range locale.Langs {
		p := locale.For(l)
		if label == p.T("bot.alert.mute") || label == p.T("bot.alert.muted") {
			return true
		}
	}
	return false
}
