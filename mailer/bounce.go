package mailer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/herald-news/herald/bounce"
	"github.com/herald-news/herald/subscriptions"
)

// BounceWindow is how long a reader's count of hard bounces lasts without
// a new one: a hard bounce more than this after the previous one starts
// the count again at one, so that three refusals years apart do not
// suspend a reader. A dead address on a weekly digest bounces three times
// in two weeks, well within it.
const BounceWindow = 90 * 24 * time.Hour

// bounceField is the subscriber field (subscriptions.Subscriber.Data) in
// which the mailer keeps its bounce record: "UNIX-TIME MSG,MSG,MSG", the
// time of the last hard bounce counted and the last messages counted, so
// that a DSN an MTA sends twice counts once.
const bounceField = "mailer.bounce"

// retryState is "ATTEMPTS:UNIX-TIME-OF-NEXT-TRY".
func parseRetry(v string) (int, time.Time) {
	a, b, _ := strings.Cut(v, ":")
	n, _ := strconv.Atoi(a)
	at, _ := strconv.ParseInt(b, 10, 64)
	return n, time.Unix(at, 0)
}

// failed records a refused digest: a temporary failure is tried again
// after a growing pause; a permanent one counts as a hard bounce, and the
// items wait (the next try is bounceBackoff away) until the address is
// suspended.
func (m *Mailer) failed(ctx context.Context, sub *subscriptions.Subscriber, attempts int, cause error) {
	ctx = context.WithoutCancel(ctx)
	wait := bounceBackoff
	if IsTemporary(cause) {
		wait = min(retryFirst<<min(attempts, 10), retryMax)
		if answered(cause) {
			m.note(Deferral, ViaSMTP)
		}
	} else {
		m.bounce(ctx, sub, cause)
	}
	v := strconv.Itoa(attempts+1) + ":" + strconv.FormatInt(m.Now().Add(wait).Unix(), 10)
	m.st.Redis.Set(ctx, m.retryKey(sub.ID), v, 2*24*time.Hour)
	m.log.Info("digest will be tried again", "subscriber", sub.ID, "in", wait, "temporary", IsTemporary(cause), "err", cause)
}

// answered reports whether err is a reply of the server (not a connection
// that failed).
func answered(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 400
}

// bounce counts a permanent refusal at send time as a hard bounce.
func (m *Mailer) bounce(ctx context.Context, sub *subscriptions.Subscriber, cause error) {
	if _, err := m.hardBounce(ctx, sub.ID, "", cause.Error()); err != nil {
		m.log.Warn("hard bounce not recorded", "subscriber", sub.ID, "err", err)
		return
	}
	m.note(HardBounce, ViaSMTP)
}

// errCounted stops an update that would change nothing.
var errCounted = errors.New("this message's bounce is already counted")

// hardBounce adds one to the reader's hard bounces (once per message, when
// msg names it) and suspends the address at HardBounceLimit. It reports
// whether the bounce was counted.
//
// Nothing but proof that mail reaches the reader resets the count (Record:
// a DSN saying "delivered"; the manage page: the reader resuming digests),
// and BounceWindow without a hard bounce. A relay's acceptance is no
// proof: a smarthost accepts mail for a dead address and bounces it
// later, so resetting then would keep every such address below the limit.
func (m *Mailer) hardBounce(ctx context.Context, id, msg, cause string) (bool, error) {
	now := m.Now()
	s, err := m.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		last, seen := parseBounced(s.Data[bounceField])
		if msg != "" && slices.Contains(seen, msg) {
			return errCounted
		}
		if !last.IsZero() && now.Sub(last) > BounceWindow {
			s.Bounces = 0
		}
		s.Bounces++
		if msg != "" {
			seen = append(seen, msg)
			seen = seen[max(0, len(seen)-HardBounceLimit):]
		}
		if s.Data == nil {
			s.Data = map[string]string{}
		}
		s.Data[bounceField] = strconv.FormatInt(now.Unix(), 10) + " " + strings.Join(seen, ",")
		if s.Bounces >= HardBounceLimit && s.Status != subscriptions.StatusUnsubscribed {
			s.Status = subscriptions.StatusSuspended
		}
		return nil
	})
	if errors.Is(err, errCounted) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if s.Status == subscriptions.StatusSuspended {
		m.log.Warn("address suspended after hard bounces", "subscriber", id, "bounces", s.Bounces, "err", cause)
	} else {
		m.log.Info("hard bounce", "subscriber", id, "bounces", s.Bounces, "err", cause)
	}
	return true, nil
}

func parseBounced(v string) (time.Time, []string) {
	ts, msgs, _ := strings.Cut(v, " ")
	var last time.Time
	if n, err := strconv.ParseInt(ts, 10, 64); err == nil && n > 0 {
		last = time.Unix(n, 0)
	}
	var seen []string
	if msgs != "" {
		seen = strings.Split(msgs, ",")
	}
	return last, seen
}

// Record applies a report that came back about an email (bounce.Recorder):
// a hard bounce counts against the reader, a complaint unsubscribes them,
// a delivery report clears their bounces; soft bounces and delays are
// only counted (Noted). A report about a reader who is gone is dropped.
func (m *Mailer) Record(ctx context.Context, ref bounce.Ref, rep *bounce.Report) error {
	var err error
	switch {
	case rep.Kind == bounce.Complaint:
		err = m.complained(ctx, ref.Reader, rep)
		if err == nil {
			m.note(Complaint, ViaReport)
		}
	case rep.Permanent():
		var counted bool
		counted, err = m.hardBounce(ctx, ref.Reader, ref.Message, rep.Status+" "+rep.Detail)
		if counted {
			m.note(HardBounce, ViaReport)
		}
	case rep.Kind == bounce.Failed:
		m.log.Info("soft bounce: the relay gave up after temporary failures", "subscriber", ref.Reader, "status", rep.Status, "detail", rep.Detail)
		m.note(SoftBounce, ViaReport)
	case rep.Kind == bounce.Delayed:
		m.log.Info("delivery delayed", "subscriber", ref.Reader, "status", rep.Status, "detail", rep.Detail)
		m.note(Deferral, ViaReport)
	case rep.Kind == bounce.Delivered:
		err = m.delivered(ctx, ref.Reader)
	}
	if errors.Is(err, subscriptions.ErrNotFound) {
		m.log.Info("report about a reader who is gone; dropped", "subscriber", ref.Reader, "kind", rep.Kind)
		return nil
	}
	if err != nil {
		return fmt.Errorf("record %s report for %s: %w", rep.Kind, ref.Reader, err)
	}
	return nil
}

func (m *Mailer) complained(ctx context.Context, id string, rep *bounce.Report) error {
	_, err := m.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		s.Status = subscriptions.StatusUnsubscribed
		return nil
	})
	if err == nil {
		m.log.Warn("complaint: the reader marked an email as spam; unsubscribed", "subscriber", id, "feedback_type", rep.Detail)
	}
	return err
}

// delivered clears the bounces of a reader whose mail a DSN says arrived.
func (m *Mailer) delivered(ctx context.Context, id string) error {
	_, err := m.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		if s.Bounces == 0 && s.Data[bounceField] == "" {
			return errCounted
		}
		s.Bounces = 0
		delete(s.Data, bounceField)
		return nil
	})
	if errors.Is(err, errCounted) {
		return nil
	}
	return err
}
