package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// pauses offered on the manage page; 0 is "until I resume".
var pauses = map[string]time.Duration{"7d": 7 * 24 * time.Hour, "14d": 14 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "forever": 0}

type managePage struct {
	formView
	Sub      *subscriptions.Subscriber
	Token    string
	CSRF     string
	Problems []string
	Notice   string
	// Rewrites say which of the topics just saved were stored in another
	// form than typed, and why.
	Rewrites   []string
	State      string // "unsubscribed", "paused until …", in the page's language; "" when active
	Paused     bool
	FeedURL    string // the reader's own Atom feed; "" if it could not be had
	ArchiveURL string // the reader's archive page, opened by the same secret
}

func (s *Server) managePage(r *http.Request, sub *subscriptions.Subscriber, tok string) *managePage {
	ctx := r.Context()
	L := s.printer(r, sub)
	p := &managePage{Sub: sub, Token: tok, CSRF: s.csrfToken("manage", sub.ID)}
	p.Manage = true
	p.Values = formValues{Topics: strings.Join(sub.Topics, "\n"), Frequency: cmp.Or(sub.Frequency, "daily"), Hour: strconv.Itoa(sub.Hour),
		TZ: cmp.Or(sub.TZ, "UTC"), Lang: L.Lang()}
	if locale.Valid(sub.Lang) {
		p.Values.Lang = sub.Lang
	}
	var states []string
	switch sub.Status {
	case subscriptions.StatusUnsubscribed:
		states = append(states, L.T("web.manage.state.unsubscribed"))
	case subscriptions.StatusSuspended:
		states = append(states, L.T("web.manage.state.suspended"))
	case subscriptions.StatusPending:
		states = append(states, L.T("web.manage.state.pending"))
	}
	switch {
	case sub.Status == subscriptions.StatusPaused:
		p.Paused = true
		states = append(states, L.T("web.manage.state.paused"))
	case s.Now().Before(sub.PausedUntil):
		p.Paused = true
		t := sub.PausedUntil.In(zone(sub.TZ))
		states = append(states, L.T("web.manage.state.paused_until", "When",
			L.T("at_time", "Day", L.Date(t, s.Now().In(t.Location())), "Clock", L.Clock(t))))
	}
	p.State = strings.Join(states, " · ")
	if secret, err := delivery.FeedSecret(ctx, s.subs, sub.ID); err == nil {
		p.FeedURL = delivery.FeedURL(s.PublicURL, sub.ID, secret)
		p.ArchiveURL = delivery.ArchivePath(sub.ID, secret)
	} else {
		s.log.Warn("manage: feed secret", "subscriber", sub.ID, "err", err)
	}
	if res, err := s.runPreview(ctx, L, p.Values.Topics, zone(p.Values.TZ)); err == nil {
		p.Preview = res
	} else {
		s.log.Warn("manage: preview", "subscriber", sub.ID, "err", err)
	}
	return p
}

func zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "" && !strings.EqualFold(name, "local") {
		return loc
	}
	return time.UTC
}

func (s *Server) manage(w http.ResponseWriter, r *http.Request) {
	sub, _, ok := s.verify(w, r, token.Manage)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "manage", s.managePage(r, sub, r.URL.Query().Get("token")))
}

// manageSave handles the manage page's forms: save preferences, pause,
// resume, unsubscribe.
func (s *Server) manageSave(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	sub, _, ok := s.verify(w, r, token.Manage)
	if !ok {
		return
	}
	if !s.checkCSRF(r, "manage", sub.ID) {
		s.fail(w, r, http.StatusForbidden, "web.fail.page_expired")
		return
	}
	ctx := r.Context()
	tok := r.URL.Query().Get("token")
	var notice string
	var rewrites []string
	var change func(*subscriptions.Subscriber) error
	switch r.PostFormValue("action") {
	case "save":
		L := s.printer(r, sub)
		in, errs := readPrefs(r, L)
		if len(errs) > 0 {
			p := s.managePage(r, sub, tok)
			p.Errors = errs
			p.Values = in.values(r)
			s.render(w, r, http.StatusBadRequest, "manage", p)
			return
		}
		lang := in.Lang
		if r.PostFormValue("lang") == "" {
			lang = sub.Lang // a form without the field changes no language
		}
		change = func(x *subscriptions.Subscriber) error {
			x.Topics, x.Frequency, x.TZ, x.Lang = in.Topics, in.Frequency, in.TZ, lang
			// The hour means nothing "as it happens" (the page hides
			// it): keep the one chosen before, for a switch back.
			if in.Frequency != "instant" {
				x.Hour = in.Hour
			}
			return nil
		}
		if lang != sub.Lang && locale.Valid(lang) {
			// The page answers in the language just chosen, whatever
			// the switch said before.
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: -1})
			r.Header.Del("Cookie")
		}
		L = locale.For(cmp.Or(lang, L.Lang()))
		notice = L.T("web.manage.saved")
		for _, line := range strings.Split(r.PostFormValue("topics"), "\n") {
			if q, err := subscriptions.Parse(strings.TrimSpace(line)); err == nil {
				if note := rewriteNote(L, line, q.String()); note != "" {
					rewrites = append(rewrites, note)
				}
			}
		}
	case "pause":
		d, known := pauses[r.PostFormValue("pause")]
		if !known {
			s.fail(w, r, http.StatusBadRequest, "web.fail.pause")
			return
		}
		until := s.Now().Add(d).UTC()
		change = func(x *subscriptions.Subscriber) error {
			if d == 0 {
				x.Status, x.PausedUntil = subscriptions.StatusPaused, time.Time{}
			} else {
				// A dated pause keeps the reader active: the mailer drops
				// what matches until then, and nothing has to wake it up.
				x.PausedUntil = until
			}
			return nil
		}
		notice = "web.manage.paused"
	case "resume":
		change = func(x *subscriptions.Subscriber) error {
			x.Status, x.PausedUntil = subscriptions.StatusActive, time.Time{}
			x.Bounces = 0
			return nil
		}
		notice = "web.manage.resumed"
	case "unsubscribe":
		change = func(x *subscriptions.Subscriber) error {
			x.Status = subscriptions.StatusUnsubscribed
			return nil
		}
		notice = "web.manage.unsubscribed"
	default:
		s.fail(w, r, http.StatusBadRequest, "web.fail.action")
		return
	}
	updated, err := s.subs.Update(ctx, sub.ID, change)
	if err != nil {
		s.internal(w, r, "manage save failed", err)
		return
	}
	if updated.LinkedTo != "" && !slices.Equal(updated.Topics, sub.Topics) {
		s.mirrorTopics(r, updated)
	}
	s.log.Info("reader preferences changed", "subscriber", sub.ID, "action", r.PostFormValue("action"))
	p := s.managePage(r, updated, tok)
	if strings.HasPrefix(notice, "web.") {
		notice = s.printer(r, updated).T(notice)
	}
	p.Notice, p.Rewrites = notice, rewrites
	s.render(w, r, http.StatusOK, "manage", p)
}

// mirrorTopics copies a linked email reader's new topics to its Telegram
// chat, so both channels follow the same ones.
func (s *Server) mirrorTopics(r *http.Request, sub *subscriptions.Subscriber) {
	_, err := s.subs.Update(r.Context(), sub.LinkedTo, func(c *subscriptions.Subscriber) error {
		if c.LinkedTo != sub.ID {
			return errNotLinked
		}
		c.Topics = slices.Clone(sub.Topics)
		return nil
	})
	if err != nil && !errors.Is(err, errNotLinked) {
		s.log.Warn("linked chat's topics not updated", "subscriber", sub.ID, "err", err)
	}
}

var errNotLinked = errors.New("not linked")

// export is "download my data": everything Herald holds on the reader.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	sub, _, ok := s.verify(w, r, token.Manage)
	if !ok {
		return
	}
	ctx := r.Context()
	items, err := delivery.Items(ctx, s.st, sub.ID)
	if err != nil {
		s.internal(w, r, "export failed", err)
		return
	}
	out := map[string]any{"subscriber": sub, "waiting_for_next_digest": items, "exported": s.Now().UTC()}
	if v, err := s.st.Redis.Get(ctx, subscriptions.Key(s.st, sub.ID, "last")).Int64(); err == nil {
		out["last_digest"] = time.Unix(v, 0).UTC()
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="herald-my-data.json"`)
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

// deleteAll removes the reader and everything kept for them. The
// per-story "already sent" markers (sub:{id}:got:*) hold no personal data
// and expire on their own within delivery.MarkerTTL.
func (s *Server) deleteAll(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	sub, _, ok := s.verify(w, r, token.Manage)
	if !ok {
		return
	}
	if !s.checkCSRF(r, "manage", sub.ID) {
		s.fail(w, r, http.StatusForbidden, "web.fail.page_expired")
		return
	}
	if r.PostFormValue("sure") != "yes" {
		p := s.managePage(r, sub, r.URL.Query().Get("token"))
		p.Problems = []string{s.printer(r, sub).T("web.manage.delete.unsure")}
		s.render(w, r, http.StatusBadRequest, "manage", p)
		return
	}
	ctx := r.Context()
	if sub.LinkedTo != "" {
		_, _ = s.subs.Update(ctx, sub.LinkedTo, func(c *subscriptions.Subscriber) error {
			if c.LinkedTo != sub.ID {
				return errNotLinked
			}
			c.LinkedTo = ""
			return nil
		})
	}
	if err := s.subs.Delete(ctx, sub.ID); err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
		s.internal(w, r, "delete failed", err)
		return
	}
	k := func(part string) string { return subscriptions.Key(s.st, sub.ID, part) }
	s.st.Redis.Del(ctx, delivery.DigestKey(s.st, sub.ID), k("last"), k("retry"), k("sending"), k("confirm"))
	s.st.Redis.SRem(ctx, delivery.PendingKey(s.st), sub.ID)
	s.log.Info("reader deleted all data", "subscriber", sub.ID)
	s.render(w, r, http.StatusOK, "deleted", nil)
}
