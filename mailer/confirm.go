package mailer

import (
	"fmt"
	"time"

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

	// Set by the queue.
	ID       string    `json:"id"`
	Queued   time.Time `json:"at"`
	Attempts int       `json:"n,omitempty"`
}

// message renders a confirmation into the email that carries it.
func (m *Mailer) confirmationMessage(c *Confirmation) (*Message, error) {
	data := map[string]any{"Topics": c.Topics, "Frequency": c.Frequency, "Site": m.site(), "Operator": m.Operator}
	var subject string
	tt, ht := confirmText, confirmHTML
	switch c.Kind {
	case ConfirmSignup:
		data["Link"] = m.linkUntil("/confirm", token.Confirm, c.Ticket, c.Expires)
		subject = "Confirm your " + m.site() + " news digest"
	case ConfirmLink:
		data["Link"] = m.linkUntil("/confirm", token.Link, c.Ticket, c.Expires)
		data["Telegram"] = true
		subject = "Confirm " + m.site() + " digests of your Telegram topics"
	case ConfirmManage:
		data["Link"] = m.Link("/manage", token.Manage, c.Sub, LinkValidity)
		tt, ht = manageText, manageHTML
		subject = "Your " + m.site() + " digest settings"
	default:
		return nil, fmt.Errorf("%w: confirmation of unknown kind %q", ErrCompose, c.Kind)
	}
	text, html, err := render(tt, ht, data)
	if err != nil {
		return nil, fmt.Errorf("%w: render confirmation: %w", ErrCompose, err)
	}
	return &Message{To: c.To, Subject: subject, Text: text, HTML: html, Sub: c.Sub}, nil
}
