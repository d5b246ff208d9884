package bot

import "github.com/herald-news/herald/subscriptions"

// highlight marks a topic's words in an alert's text (see
// subscriptions.Highlight, shared with the web's per-subscriber feed).
func highlight(text, topic string) string { return subscriptions.Highlight(text, topic) }
