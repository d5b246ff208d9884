package bot

import (
	"context"

	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/subscriptions"
)

// archive answers /archive with the address of the chat's web archive: its
// matches of the last delivery.ArchiveDays days on one page. The address
// carries the chat's feed secret (the one /feed uses, so /feed new replaces
// both), so like /feed it is for admins only in a group, and a channel's
// is asked for from a private chat with "/archive @channel", not in the
// channel, where every reader would see it.
func (c *call) archive(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	p := c.p
	if c.postedInChannel(ctx, "/archive") {
		return
	}
	if c.b.PublicURL == "" {
		c.reply(ctx, p.T("botupd.archive.off"))
		return
	}
	if _, err := c.b.ensure(ctx, c.target); err != nil {
		c.fail(ctx, err)
		return
	}
	id := subscriptions.TelegramID(c.target)
	secret, err := delivery.FeedSecret(ctx, c.b.subs, id)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	lead := p.N("botupd.archive.link", delivery.ArchiveDays)
	if c.label != "" {
		lead = p.N("botupd.archive.link_for", delivery.ArchiveDays, "Channel", esc(c.label))
	}
	c.reply(ctx, lead+"\n"+esc(delivery.ArchiveURL(c.b.PublicURL, id, secret))+"\n"+p.T("botupd.archive.private"))
}

// postedInChannel answers a command that replies with a secret address
// (/archive, /feed) when it was posted in the channel itself, where every
// reader would see the address: it points to the private chat instead,
// and reports true.
func (c *call) postedInChannel(ctx context.Context, command string) bool {
	if c.typ != models.ChatTypeChannel || c.label != "" {
		return false
	}
	name := "@channel"
	if c.msg.Chat.Username != "" {
		name = "@" + c.msg.Chat.Username
	}
	c.reply(ctx, c.p.T("botupd.archive.in_channel", "Command", esc(command+" "+name)))
	return true
}
