package bot

import (
	"context"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/subscriptions"
)

// feed answers /feed with the address of the chat's own Atom feed of its
// matches, and "/feed new" with a fresh one (the old stops working). The
// address opens the feed to whoever holds it, so in a group only admins
// may ask for it, and in a channel it is asked for from a private chat.
func (c *call) feed(ctx context.Context) {
	if !c.resolve(ctx, true) || c.postedInChannel(ctx, "/feed") {
		return
	}
	if c.b.PublicURL == "" {
		c.reply(ctx, c.p.T("bot.feed.off"))
		return
	}
	if _, err := c.ensure(ctx); err != nil {
		c.fail(ctx, err)
		return
	}
	id := subscriptions.TelegramID(c.target)
	get, lead := delivery.FeedSecret, c.p.T("bot.feed.lead", "For", c.whose())
	if c.arg == "new" {
		get, lead = delivery.RotateFeedSecret, c.p.T("bot.feed.new", "For", c.whose())
	}
	secret, err := get(ctx, c.b.subs, id)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	c.reply(ctx, lead+"\n"+esc(delivery.FeedURL(c.b.PublicURL, id, secret))+"\n"+c.p.T("bot.feed.note"))
}
