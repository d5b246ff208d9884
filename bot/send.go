package bot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/summary"
)

// pending is an alert ready to be put in a message, with the stream
// entries it answers.
type pending struct {
	Item
	ids []string
	sendMark
}

// sendMark is what earlier sends of an alert left to know: they are kept
// per queue entry while the alert is in hand, across attempts.
type sendMark struct {
	// unsure counts sends that ended with no answer: the alert may be sent
	// again only while this is under 2.
	unsure int
	// refused says Telegram refused the alert for its form: it goes as
	// plain text.
	refused bool
}

// serve sends what waits for one chat. It returns the alerts to try again
// after wait, and the earliest time of the chat's next message.
func (s *Sender) serve(ctx context.Context, chat int64, items []entry) (rest []entry, wait time.Duration, next time.Time) {
	finished := func(ids []string) {
		s.ack(ctx, ids)
		s.done(ids)
	}
	allIDs := func(es []entry) []string {
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = e.id
		}
		return ids
	}
	sub, err := s.subscriber(ctx, items[0].al.Sub, chat)
	if err != nil {
		return items, 2 * time.Second, time.Time{}
	}
	now := s.Now()
	if sub == nil || !sub.Active() || pausedNow(sub, now) {
		finished(allIDs(items))
		return nil, 0, time.Time{}
	}
	// An alert queued before the chat last started over (/forget, then
	// /start) belongs to the old subscription.
	var fresh []entry
	var stale []string
	for _, e := range items {
		if ms, ok := idMillis(e.id); ok && !sub.Created.IsZero() && ms < sub.Created.UnixMilli() {
			stale = append(stale, e.id)
			continue
		}
		fresh = append(fresh, e)
	}
	finished(stale)
	if len(fresh) == 0 {
		return nil, 0, time.Time{}
	}
	arts, err := s.articles(ctx, fresh)
	if err != nil {
		return fresh, 2 * time.Second, time.Time{}
	}
	var send []pending
	var drop []string
	var hold []entry
	release := releaseAt(sub, now)
	for _, e := range fresh {
		a := arts[e.al.Article]
		topic := ""
		if a != nil {
			topic = liveTopic(sub, a, e.al.Topic)
		}
		switch {
		case a == nil || topic == "":
			drop = append(drop, e.id)
		case release.After(now):
			e.al.Topic = topic
			hold = append(hold, e)
		default:
			send = appendUnique(send, pending{Item: Item{Article: a, Topic: topic}, ids: []string{e.id}, sendMark: s.markOf(e.id)})
		}
	}
	finished(drop)
	if len(hold) > 0 {
		if err := s.hold(ctx, sub.ID, hold, release); err != nil {
			s.log.Warn("cannot hold alerts for a round-up", "subscriber", sub.ID, "err", err)
			return append(hold, entriesOf(send, fresh)...), 2 * time.Second, time.Time{}
		}
		s.done(allIDs(hold))
	}
	if len(send) == 0 {
		return nil, 0, time.Time{}
	}
	s.summarize(ctx, send)
	n, res := s.deliver(ctx, sub, send, false, s.MaxGather)
	for _, p := range send[:n] {
		s.done(p.ids) // acked as they were sent
	}
	if n == len(send) || res.gone {
		for _, p := range send[n:] {
			finished(p.ids)
		}
		return nil, 0, res.next
	}
	return entriesOf(send[n:], fresh), res.wait, res.next
}

// entriesOf maps pending alerts back to their stream entries.
func entriesOf(ps []pending, es []entry) []entry {
	want := map[string]bool{}
	for _, p := range ps {
		for _, id := range p.ids {
			want[id] = true
		}
	}
	var out []entry
	for _, e := range es {
		if want[e.id] {
			out = append(out, e)
		}
	}
	return out
}

// appendUnique adds p unless its story is already there: the same story
// is never sent twice to a chat, gathered or not.
func appendUnique(ps []pending, p pending) []pending {
	for i := range ps {
		if ps[i].Article.ID == p.Article.ID || (p.Article.StoryID != "" && ps[i].Article.StoryID == p.Article.StoryID) {
			ps[i].ids = append(ps[i].ids, p.ids...)
			ps[i].unsure = max(ps[i].unsure, p.unsure)
			ps[i].refused = ps[i].refused || p.refused
			return ps
		}
	}
	return append(ps, p)
}

// liveTopic returns the topic an alert should show: the one that matched
// unless the chat muted or dropped it since, in which case another of its
// live topics that matches the article, or "" to drop the alert.
func liveTopic(sub *subscriptions.Subscriber, a *article.Article, topic string) string {
	live := func(t string) bool {
		return slices.Contains(sub.Topics, t) && !slices.Contains(sub.Muted, t)
	}
	if live(topic) {
		return topic
	}
	doc := subscriptions.NewDocLang(a.Title, a.URL, articles.MatchText(a), a.Lang)
	for _, t := range sub.Topics {
		if !live(t) {
			continue
		}
		if q, err := subscriptions.Parse(t); err == nil && q.Match(doc) {
			return t
		}
	}
	return ""
}

// subscriber reads the chat's subscriber, following a group's move to a
// supergroup; nil means there is none any more.
func (s *Sender) subscriber(ctx context.Context, id string, chat int64) (*subscriptions.Subscriber, error) {
	sub, err := s.subs.Get(ctx, id)
	if errors.Is(err, subscriptions.ErrNotFound) {
		to, err := s.st.Redis.Get(ctx, MovedKey(s.st, chat)).Int64()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		sub, err = s.subs.Get(ctx, subscriptions.TelegramID(to))
		if errors.Is(err, subscriptions.ErrNotFound) {
			return nil, nil
		}
	}
	return sub, err
}

func (s *Sender) summarize(ctx context.Context, ps []pending) {
	for i := range ps {
		if s.Summarize != nil {
			ps[i].Summary = s.Summarize(ctx, ps[i].Article, ps[i].Topic)
		} else {
			// No shared, cached summariser: the same extractive one,
			// uncached, and like it choosing sentences with the topic's
			// words when the lead has none.
			a := ps[i].Article
			var terms []string
			if q, err := subscriptions.Parse(ps[i].Topic); err == nil {
				terms = q.Terms()
			}
			ps[i].Summary = summary.Summarize(a.Body(), summary.Options{Sentences: 2, Chars: 600, Title: a.Title, Topic: terms})
		}
	}
}

// result is how a run of sends to one chat ended.
type result struct {
	wait time.Duration // try the rest after this
	next time.Time     // the chat's next free time, as booked
	gone bool          // the chat is gone: drop the rest
}

// sendGrace bounds one send to Telegram once shutdown has begun (the whole
// process has 10 s to stop).
const sendGrace = 5 * time.Second

// deliver sends ps to the subscriber's chat, gathering as many as fit into
// each message, and returns how many were delivered (or given up on: see
// below). With block it waits out the chat's limits; otherwise it returns
// at the first wait.
//
// An answer that leaves it unclear whether Telegram took a message (no
// answer after the request was written) sends that message again once;
// when the second try ends unclear too, it counts as sent, since a third
// try could make a third copy. An HTTP 200 always counts as sent. A
// message Telegram refuses for its form goes again once as plain text.
func (s *Sender) deliver(ctx context.Context, sub *subscriptions.Subscriber, ps []pending, block bool, gather int) (int, result) {
	chatID := sub.ChatID
	done, attempt, gather := 0, 0, max(gather, 1)
	for done < len(ps) {
		plain := ps[done].refused
		r := readerOf(sub, s.Now())
		var html string
		n := 1
		if plain {
			h, _ := Gathered([]Item{ps[done].Item}, r)
			html = plainText(h)
			if u := safeURL(ps[done].Article.URL); u != "" {
				html += "\n\n" + esc(u)
			}
		} else {
			items := make([]Item, 0, min(gather, len(ps)-done))
			for _, p := range ps[done:min(done+gather, len(ps))] {
				items = append(items, p.Item)
			}
			html, n = Gathered(items, r)
		}
		msg := ps[done : done+n]
		// The message is ready before it asks for a slot, so a slot is
		// never held by a worker with something left to do.
		tk, wait, err := s.lim.Admit(ctx, chatID)
		if err != nil {
			return done, result{wait: time.Second}
		}
		if tk == nil {
			if block && sleep(ctx, wait) {
				continue
			}
			return done, result{wait: wait, next: time.Now().Add(wait)}
		}
		if !tk.Wait(ctx) {
			s.lim.Cancel(tk)
			return done, result{wait: time.Second}
		}
		// A message on its way is finished, not abandoned, when the process
		// is told to stop: Telegram may already have it, and an abandoned
		// one is sent again by whoever claims its entry (the fault suite
		// saw one repeat per worker on SIGTERM).
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendGrace)
		var err2 error
		link := msg[0].Article.URL
		at, ok := s.tr.(AlertTransport)
		kt, kbOK := s.tr.(KeyboardTransport)
		switch {
		case plain:
			err2 = s.tr.Send(sctx, chatID, html, "")
		case kbOK && n > 1:
			err2 = kt.SendKeyboard(sctx, chatID, html, gatheredKeyboard(r.P, msg))
		case kbOK:
			err2 = kt.SendKeyboard(sctx, chatID, html, alertKeyboard(r.P, link, muteData(msg[0].Topic)))
		case ok && n == 1:
			err2 = at.SendAlert(sctx, chatID, html, link, muteData(msg[0].Topic))
		case n == 1:
			err2 = s.tr.Send(sctx, chatID, html, link)
		default:
			err2 = s.tr.Send(sctx, chatID, html, "")
		}
		cancel()
		sent := err2 == nil || errors.Is(err2, ErrUnreadable)
		// The send's end and the chat's next time are written first; a 429
		// or a failure holds the chat. What went is acknowledged after: a
		// crash in between sends it once more, and loses nothing.
		var hold time.Duration
		var ra *RetryAfterError
		var mig *MigratedError
		switch {
		case sent:
		case errors.As(err2, &ra):
			hold = ra.After
		case errors.Is(err2, ErrBlocked), errors.Is(err2, ErrBadInput), errors.As(err2, &mig):
		default:
			hold = min(time.Duration(1<<min(attempt+1, 6))*250*time.Millisecond, 30*time.Second)
		}
		if err := s.lim.Finish(ctx, tk, hold); err != nil {
			s.log.Warn("cannot record a send", "chat_id", chatID, "err", err)
		}
		switch {
		case sent:
			if err2 != nil {
				s.log.Warn("telegram took a message but its answer is unreadable; counted as sent", "chat_id", chatID, "err", err2)
				s.trouble(TroubleUnreadable)
			}
			if s.Sent != nil {
				s.Sent(chatID, html)
			}
			// Counted before acknowledged: once the queue is done with
			// it, every count of it is in.
			s.ack(ctx, idsOf(msg))
			for _, p := range msg {
				s.log.Info("alert sent", "chat_id", chatID, "subscriber", sub.ID, "article", p.Article.ID, "gathered", n, "plain", plain)
			}
			done += n
			attempt = 0
		case errors.As(err2, &ra):
			s.log.Warn("telegram asked to slow down", "chat_id", chatID, "retry_after", ra.After)
			if block && sleep(ctx, ra.After) {
				continue
			}
			return done, result{wait: ra.After, next: time.Now().Add(ra.After)}
		case errors.As(err2, &mig):
			s.log.Info("group migrated", "chat_id", chatID, "to", mig.To)
			moved, err := s.migrate(ctx, sub, mig.To)
			if err != nil {
				return done, result{wait: time.Second}
			}
			sub, chatID = moved, mig.To
		case errors.Is(err2, ErrBlocked):
			s.log.Info("chat gone; deactivating", "chat_id", chatID, "subscriber", sub.ID, "err", err2)
			if _, err := s.subs.Update(ctx, sub.ID, func(x *subscriptions.Subscriber) error {
				x.Status = subscriptions.StatusInactive
				return nil
			}); err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
				return done, result{wait: time.Second}
			}
			return done, result{gone: true}
		case errors.Is(err2, ErrBadInput) && n > 1:
			// Something in one of them upset Telegram: send them one by one.
			gather = 1
		case errors.Is(err2, ErrBadInput) && !plain:
			// Herald wrote something Telegram does not take: a bug to fix,
			// so loud, but the reader still gets the alert.
			s.log.Error("telegram refused an alert; sending it as plain text", "chat_id", chatID, "article", msg[0].Article.ID, "err", err2)
			s.trouble(TroubleRefused)
			ps[done].refused = true
			s.remember(ps[done])
		case errors.Is(err2, ErrBadInput):
			s.log.Error("telegram refused an alert even as plain text; dropping it", "chat_id", chatID, "article", msg[0].Article.ID, "err", err2)
			s.trouble(TroubleDropped)
			s.ack(ctx, idsOf(msg))
			done++
		default:
			if errors.Is(err2, ErrUnsure) {
				if k := s.unsure(msg); k > 0 {
					s.log.Warn("no answer from telegram twice; counting the message as sent", "chat_id", chatID, "alerts", k, "err", err2)
					s.ack(ctx, idsOf(msg[:k]))
					done += k
					if k == n {
						attempt = 0
						continue
					}
				}
			}
			if ctx.Err() != nil {
				return done, result{wait: time.Second}
			}
			attempt++
			d := min(time.Duration(1<<min(attempt, 6))*250*time.Millisecond, 30*time.Second)
			s.log.Warn("send failed; retrying", "chat_id", chatID, "err", err2, "retry_in", d)
			if block && attempt < 5 && sleep(ctx, d) {
				continue
			}
			return done, result{wait: d, next: time.Now().Add(d)}
		}
	}
	return done, result{next: time.Now().Add(s.lim.gap(chatID))}
}

// unsure notes that msg may have reached Telegram. It moves the alerts
// that already went unanswered once to the front and returns how many:
// those count as sent. The others may be sent once more.
func (s *Sender) unsure(msg []pending) int {
	s.mu.Lock()
	slices.SortStableFunc(msg, func(a, b pending) int { return cmp.Compare(b.unsure, a.unsure) })
	k := 0
	for i := range msg {
		if msg[i].unsure > 0 {
			k++
		}
		msg[i].unsure++
		s.rememberLocked(msg[i])
	}
	s.mu.Unlock()
	s.trouble(TroubleUnsure)
	if k > 0 {
		s.trouble(TroubleUnsureAgain)
	}
	return k
}

// idsOf lists the queue entries a message answers.
func idsOf(ps []pending) []string {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ids...)
	}
	return ids
}

// plainText is an alert's HTML without its tags: what is left is escaped
// text, which Telegram's HTML parse mode takes whatever upset it before.
func plainText(h string) string {
	var b strings.Builder
	in := false
	for _, r := range h {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// migrate moves a group's subscription to its new supergroup id, and
// leaves a forwarding address for alerts queued to the old one.
func (s *Sender) migrate(ctx context.Context, sub *subscriptions.Subscriber, to int64) (*subscriptions.Subscriber, error) {
	moved := *sub
	moved.ID, moved.ChatID = subscriptions.TelegramID(to), to
	if err := s.subs.Put(ctx, &moved); err != nil {
		return nil, err
	}
	if err := s.st.Redis.Set(ctx, MovedKey(s.st, sub.ChatID), to, delivery.MarkerTTL).Err(); err != nil {
		return nil, err
	}
	if err := s.subs.Delete(ctx, sub.ID); err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
		return nil, err
	}
	return &moved, nil
}

// muteData is the callback data of an alert's "Mute topic" button: a
// short hash of the topic, which stays right when the list changes order.
func muteData(topic string) string { return "mute:" + topicHash(topic) }

// gatheredKeyboard is the keyboard of a gathered message: a compact row
// of numbered Open buttons, one per article, then a Mute button per topic.
func gatheredKeyboard(pr locale.P, ps []pending) [][]models.InlineKeyboardButton {
	const perRow, maxTopics = 5, 6
	var rows [][]models.InlineKeyboardButton
	var row []models.InlineKeyboardButton
	var topics []string
	for i, p := range ps {
		if u := safeURL(p.Article.URL); u != "" {
			row = append(row, models.InlineKeyboardButton{Text: pr.T("bot.gathered.open", "N", i+1), URL: u})
		}
		if len(row) == perRow {
			rows, row = append(rows, row), nil
		}
		if !slices.Contains(topics, p.Topic) && len(topics) < maxTopics {
			topics = append(topics, p.Topic)
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	for _, t := range topics {
		rows = append(rows, []models.InlineKeyboardButton{button(topicMuteLabel(pr, t), muteData(t))})
	}
	return rows
}

// alertKeyboard is the keyboard of a single alert: Open the article, and
// Mute its topic (callback data mute; "" for no such button).
func alertKeyboard(p locale.P, link, mute string) [][]models.InlineKeyboardButton {
	var row []models.InlineKeyboardButton
	if u := safeURL(link); u != "" {
		row = append(row, models.InlineKeyboardButton{Text: p.T("bot.alert.open"), URL: u})
	}
	if mute != "" {
		row = append(row, button(p.T("bot.alert.mute"), mute))
	}
	if len(row) == 0 {
		return nil
	}
	return [][]models.InlineKeyboardButton{row}
}

// topicMuteLabel is the Mute button of one topic of a gathered message.
func topicMuteLabel(p locale.P, topic string) string {
	return p.T("bot.gathered.mute", "Topic", clip(topic, 40))
}

// hashMuteData and unmuteData are the data of an alert's Mute button and
// of the "Muted · Undo" it becomes, from the topic's hash.
func hashMuteData(hash string) string { return "mute:" + hash }
func unmuteData(hash string) string   { return "unm:" + hash }

func topicHash(topic string) string {
	sum := sha256.Sum256([]byte(topic))
	return hex.EncodeToString(sum[:6])
}

// MovedKey maps a group that became a supergroup to its new chat id, so
// alerts queued before the move follow it.
func MovedKey(st *store.Store, chatID int64) string {
	return st.Key("{tg}", "moved", strconv.FormatInt(chatID, 10))
}

// idMillis reads the time part of a stream entry id.
func idMillis(id string) (int64, bool) {
	ms, _, ok := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	return n, ok && err == nil
}
