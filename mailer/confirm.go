package mailer

import (
	"context"
	"fmt"

	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// SendConfirmation mails the double opt-in link to a pending reader.
func (m *Mailer) SendConfirmation(ctx context.Context, sub *subscriptions.Subscriber) error {
	link := m.Link("/confirm", token.Confirm, sub.ID, ConfirmValidity)
	text, html, err := render(confirmText, confirmHTML, map[string]any{"Link": link, "Topics": sub.Topics, "Frequency": sub.Frequency})
	if err != nil {
		return err
	}
	msg := &Message{To: sub.Email, Subject: "Confirm your Herald news digest", Text: text, HTML: html, Sub: sub.ID}
	if err := m.sendNow(ctx, msg); err != nil {
		return fmt.Errorf("send confirmation to %s: %w", sub.ID, err)
	}
	return nil
}

// SendManageLink mails an active reader who signed up again the link to
// their preferences: the sign-up page answers the same for every address,
// and only the owner of the inbox learns that it was already subscribed.
func (m *Mailer) SendManageLink(ctx context.Context, sub *subscriptions.Subscriber) error {
	link := m.Link("/manage", token.Manage, sub.ID, LinkValidity)
	text, html, err := render(manageText, manageHTML, map[string]any{"Link": link, "Topics": sub.Topics})
	if err != nil {
		return err
	}
	msg := &Message{To: sub.Email, Subject: "Your Herald digest settings", Text: text, HTML: html, Sub: sub.ID}
	if err := m.sendNow(ctx, msg); err != nil {
		return fmt.Errorf("send manage link to %s: %w", sub.ID, err)
	}
	return nil
}

// SendLinkConfirmation mails reader's address the link that, once opened,
// gives it digests of chat's topics (Telegram's /email; see signup).
func (m *Mailer) SendLinkConfirmation(ctx context.Context, reader, chat *subscriptions.Subscriber) error {
	link := m.Link("/confirm", token.Link, reader.ID+" "+chat.ID, ConfirmValidity)
	text, html, err := render(confirmText, confirmHTML, map[string]any{"Link": link, "Topics": chat.Topics, "Telegram": true})
	if err != nil {
		return err
	}
	msg := &Message{To: reader.Email, Subject: "Confirm Herald digests of your Telegram topics", Text: text, HTML: html, Sub: reader.ID}
	if err := m.sendNow(ctx, msg); err != nil {
		return fmt.Errorf("send link confirmation to %s: %w", reader.ID, err)
	}
	return nil
}
