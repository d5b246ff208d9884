package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/herald-news/herald/config"
	"github.com/herald-news/herald/service"
	"github.com/herald-news/herald/subscriptions"
)

// Options of a demo run; the zero value is the demo of README.
type Options struct {
	Dir      string        // default ./herald-demo
	HTTPAddr string        // default 127.0.0.1:8080
	Every    time.Duration // a new article this often (default 5s)
	Out      io.Writer     // deliveries are echoed here
	Log      *slog.Logger
}

// Run runs the demo until ctx ends.
func Run(ctx context.Context, o Options) error {
	if o.Dir == "" {
		o.Dir = "herald-demo"
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:8080"
	}
	if o.Every <= 0 {
		o.Every = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	newsroom := &Newsroom{Every: o.Every}
	feedURL, err := newsroom.Start(2)
	if err != nil {
		return err
	}
	defer newsroom.Close()

	cfg := config.Defaults()
	cfg.RedisURL = "memory://"
	cfg.HTTPAddr = o.HTTPAddr
	cfg.PublicURL = "http://" + o.HTTPAddr
	cfg.PollInterval = 2 * time.Second
	cfg.AllowPrivateFeeds = true
	cfg.MailFrom = "Herald demo <herald@demo.invalid>"

	outbox := &Outbox{Dir: filepath.Join(o.Dir, "outbox"), Out: o.Out, From: cfg.MailFrom}
	svc, err := service.New(service.Options{
		Config: cfg, Log: o.Log,
		TelegramTransport: outbox, MailTransport: mailOutbox{outbox},
		DigestTick: 5 * time.Second,
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.Listen(); err != nil {
		return fmt.Errorf("%w (is another herald demo running? set --http-addr)", err)
	}
	if err := seed(ctx, svc, feedURL); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, `Herald demo: everything runs in this process, nothing is kept after Ctrl-C.
  newsroom feed    %s (a new sample article every %s)
  subscribers      Telegram chat 1001 follows "belarus" and "drone*"; chat 1002 follows "heatwave OR weather";
                   demo@example.org gets an email as articles match "belarus OR museum*"
  outbox           %s (every alert and email is written there and shown below)
  web page         http://%s/ (sign up by email; the confirmation lands in the outbox)
Waiting for articles…
`, feedURL, o.Every, outbox.Dir, svc.Addr())
	return svc.Run(ctx)
}

func seed(ctx context.Context, svc *service.Service, feedURL string) error {
	if _, err := svc.Watcher.Add(ctx, feedURL, 0, 2); err != nil {
		return err
	}
	readers := []*subscriptions.Subscriber{
		{ID: subscriptions.TelegramID(1001), Kind: subscriptions.KindTelegram, ChatID: 1001, Topics: []string{"belarus", "drone*"}},
		{ID: subscriptions.TelegramID(1002), Kind: subscriptions.KindTelegram, ChatID: 1002, Topics: []string{"heatwave OR weather"}},
		{ID: "mail:demo", Kind: subscriptions.KindEmail, Email: "demo@example.org", Topics: []string{"belarus OR museum*"}, Frequency: "instant", TZ: "UTC"},
	}
	for _, r := range readers {
		r.Status = subscriptions.StatusActive
	}
	return svc.Subs.Import(ctx, readers)
}
