package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/signup"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// confirmPage answers GET (and HEAD) /confirm?token=…: it shows what the
// link confirms and a button that posts it. Opening the link changes
// nothing, so a mail scanner or a link preview that fetches it confirms
// nothing; only a person pressing the button does.
func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	p, ok := s.lookupConfirmation(w, r, tok)
	if !ok {
		return
	}
	data := map[string]any{"Token": tok, "Pending": p}
	L := s.printer(r, readerOf(data))
	var when string
	if p.Frequency != "" {
		when = frequencyText(L, p.Frequency)
		if p.Frequency != "instant" {
			when = L.T("web.confirm.when", "How", when, "Hour", fmt.Sprintf("%02d:00", p.Hour), "Zone", p.TZ)
		}
	}
	data["When"] = when
	s.render(w, r, http.StatusOK, "confirm", data)
}

// confirm answers the page's button: POST /confirm with the link's token.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	tok := r.PostFormValue("token")
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	ticket, _, ok := s.checkToken(w, r, tok, token.Confirm, token.Link)
	if !ok {
		return
	}
	if s.su == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "web.fail.email_off")
		return
	}
	sub, err := s.su.Confirm(r.Context(), ticket)
	if !s.confirmProblem(w, r, sub, err) {
		return
	}
	s.confirmed(w, r, sub)
}

// confirmed shows an active reader what they get and when the first
// digest comes, in their own zone.
func (s *Server) confirmed(w http.ResponseWriter, r *http.Request, sub *subscriptions.Subscriber) {
	loc := zone(sub.TZ)
	L := s.printer(r, sub)
	var first string
	if sub.Frequency != "instant" && sub.Frequency != "" {
		if t := mailer.FirstDigest(sub, time.Time{}, s.Now()); !t.IsZero() {
			t = t.In(loc)
			first = L.T("at_time", "Day", L.Day(t), "Clock", L.Clock(t))
		}
	}
	s.render(w, r, http.StatusOK, "confirmed", map[string]any{"Sub": sub, "Manage": s.manageToken(sub.ID), "First": first,
		"Zone": loc.String(), "How": frequencyText(L, sub.Frequency)})
}

// frequencyText names how often digests come.
func frequencyText(L locale.P, f string) string {
	switch f {
	case "instant":
		return L.T("web.frequency.instant")
	case "weekly":
		return L.T("web.frequency.weekly")
	}
	return L.T("web.frequency.daily")
}

// lookupConfirmation checks the token and finds what it confirms; it
// answers the request itself (with the confirmed page, for a link used
// before by a reader now active) unless ok.
func (s *Server) lookupConfirmation(w http.ResponseWriter, r *http.Request, tok string) (*signup.Pending, bool) {
	ticket, _, ok := s.checkToken(w, r, tok, token.Confirm, token.Link)
	if !ok {
		return nil, false
	}
	if s.su == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "web.fail.email_off")
		return nil, false
	}
	p, err := s.su.Lookup(r.Context(), ticket)
	var sub *subscriptions.Subscriber
	if p != nil {
		sub = p.Reader
	}
	if !s.confirmProblem(w, r, sub, err) {
		return nil, false
	}
	if p.Reader.Status == subscriptions.StatusSuspended {
		s.fail(w, r, http.StatusConflict, "web.fail.bounced")
		return nil, false
	}
	return p, true
}

// confirmProblem answers a lookup or confirmation that did not give an
// active reader, and reports whether there was nothing to answer.
func (s *Server) confirmProblem(w http.ResponseWriter, r *http.Request, sub *subscriptions.Subscriber, err error) bool {
	switch {
	case errors.Is(err, subscriptions.ErrNotFound), errors.Is(err, token.ErrInvalid):
		s.fail(w, r, http.StatusNotFound, "web.fail.gone")
	case errors.Is(err, signup.ErrUsed) && sub != nil && sub.Status == subscriptions.StatusActive:
		// Pressed twice, or an older email's link after a newer one: the
		// digest is on; say so and offer the settings.
		s.confirmed(w, r, sub)
	case errors.Is(err, signup.ErrUsed):
		s.fail(w, r, http.StatusGone, "web.fail.used")
	case err != nil:
		s.internal(w, r, "confirmation failed", err)
	case sub != nil && r.Method == http.MethodPost && sub.Status != subscriptions.StatusActive:
		s.fail(w, r, http.StatusConflict, "web.fail.bounced")
	default:
		return true
	}
	return false
}
