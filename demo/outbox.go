package demo

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-news/herald/mailer"
)

// Outbox writes what would have been sent into a folder and echoes a line
// for each to the terminal.
type Outbox struct {
	Dir  string
	Out  io.Writer
	From string

	mu sync.Mutex
	n  atomic.Int64
}

func (o *Outbox) write(name string, body []byte) (string, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(o.Dir, fmt.Sprintf("%s-%03d-%s", time.Now().Format("150405"), o.n.Add(1), name))
	return path, os.WriteFile(path, body, 0o644)
}

var tags = regexp.MustCompile(`<[^>]*>`)

// Send implements the bot's Transport: the alert's HTML goes to a file.
func (o *Outbox) Send(ctx context.Context, chatID int64, h string, link string) error {
	path, err := o.write(fmt.Sprintf("telegram-%d.html", chatID), []byte(h+"\n"))
	if err != nil {
		return err
	}
	plain := html.UnescapeString(tags.ReplaceAllString(h, ""))
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.Out, "\n── Telegram alert to chat %d (%s)\n%s\n", chatID, path, indent(plain))
	return nil
}

// SendMail implements the mailer's Transport: each email becomes a .eml.
type mailOutbox struct{ *Outbox }

func (o mailOutbox) Send(ctx context.Context, msgs []*mailer.Message) []error {
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		var buf bytes.Buffer
		if err := mailer.WriteEML(&buf, m, o.From); err != nil {
			errs[i] = err
			continue
		}
		path, err := o.write("email-"+safeName(m.To)+".eml", buf.Bytes())
		if err != nil {
			errs[i] = err
			continue
		}
		o.mu.Lock()
		fmt.Fprintf(o.Out, "\n── Email to %s: %q (%s)\n%s\n", m.To, m.Subject, path, indent(firstLines(m.Text, 12)))
		o.mu.Unlock()
	}
	return errs
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '@' {
			return r
		}
		return '_'
	}, strings.ToLower(s))
}

func indent(s string) string {
	return "   " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n   ")
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}
