package mailer

import (
	"fmt"
	"time"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/token"
)

// Kinds of Confirmation.
const (
	// ConfirmSignup asks the address of a web sign-up to confirm the
	// choices the email lists.
	ConfirmSignup = "signup"
	// ConfirmLink asks an address to confirm digests of a Telegram chat's
	// topics (Telegram's /email).
	ConfirmLink = "link"
	// ConfirmManage mails a reader who is already subscribed, and signed
	// up again, the link to their settings.
	ConfirmManage = "manage"
)

// Confirmation is one email answering a sign-up: a confirmation link or a
// manage link. It waits in Redis until a mail server takes it
// (QueueConfirmation), so that a greylisting server's 4xx only delays it.
type Confirmation struct {
	Kind string `json:"k"`
	// Sub is the reader it goes to, for bounce counting and logs.
	Sub string `json:"s"`
	To  string `json:"to"`
	// Ticket is the subject of the signed link of a ConfirmSignup
	// (token.Confirm) or a ConfirmLink (token.Link): it names the pending
	// confirmation that the link completes, which holds what Topics list.
	Ticket string `json:"t,omitempty"`
	// Expires is when the signed link stops working.
	Expires time.Time `json:"x,omitzero"`
	// Topics are what the email lists: what the link confirms.
	Topics    []string `json:"q,omitempty"`
	Frequency string   `json:"f,omitempty"`
	// Lang is the language the email is written in (locale; "" is
	// English): the reader's chosen one, or the one their sign-up asked in.
	Lang string `json:"l,omitempty"`

	// Set by the queue.
	ID       string    `json:"id"`
	Queued   time.Time `json:"at"`
	Attempts int       `json:"n,omitempty"`
}

// confirmationMessage renders a confirmation into the email that carries
// it, in the language it names.
func (m *Mailer) confirmationMessage(c *Confirmation) (*Message, error) {
	p := locale.For(c.Lang)
	data := map[string]any{"Topics": c.Topics, "Frequency": c.Frequency, "Site": m.site(), "Operator": m.Operator,
		"L": p, "Lang": p.Lang(), "Asked": "mail.confirm.asked", "Open": "mail.confirm.open",
		"Button": "mail.confirm.button", "NotYou": "mail.confirm.not_you"}
	switch c.Kind {
	case ConfirmSignup:
		data["Link"] = m.linkUntil("/confirm", token.Confirm, c.Ticket, c.Expires)
		data["Subject"] = p.T("mail.confirm.subject", "Site", m.site())
	case ConfirmLink:
		data["Link"] = m.linkUntil("/confirm", token.Link, c.Ticket, c.Expires)
		data["Asked"] = "mail.confirm.asked_telegram"
		data["Subject"] = p.T("mail.confirm.subject_telegram", "Site", m.site())
	case ConfirmManage:
		data["Link"] = m.Link("/manage", token.Manage, c.Sub, LinkValidity)
		data["Subject"] = p.T("mail.manage.subject", "Site", m.site())
		data["Asked"], data["Open"], data["Button"], data["NotYou"] = "mail.manage.already", "mail.manage.open", "mail.manage.button", "mail.manage.not_you"
	default:
		return nil, fmt.Errorf("%w: confirmation of unknown kind %q", ErrCompose, c.Kind)
	}
	text, html, err := render(confirmText, confirmHTML, data)
	if err != nil {
		return nil, fmt.Errorf("%w: render confirmation: %w", ErrCompose, err)
	}
	return &Message{To: c.To, Subject: data["Subject"].(string), Text: text, HTML: html, Sub: c.Sub}, nil
}
