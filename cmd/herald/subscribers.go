package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

func runSubscribers(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.stderr, "Usage: herald subscribers list | export | delete ID\n\n  list     one line per subscriber: id, kind, status, topics, address\n  export   JSON lines with every field held on each subscriber and its feed_url\n  delete   remove a subscriber and what is held on it")
		if len(args) == 0 {
			return usagef("subscribers needs a subcommand: list, export or delete")
		}
		return errHelp
	}
	sub, rest := args[0], args[1:]
	fs := newFlags("subscribers "+sub, "subscribers list|export|delete ID", env.stderr)
	pos, err := parseFlags(fs, rest)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(env.getenv)
	if err != nil {
		return err
	}
	st, err := store.Open(cfg.RedisURL, cfg.KeyPrefix)
	if err != nil {
		return usagef("HERALD_REDIS_URL: %v", err)
	}
	defer st.Close()
	subs := subscriptions.NewStore(st)
	switch sub {
	case "list":
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tTOPICS\tADDRESS")
		err := subs.Scan(ctx, func(s *subscriptions.Subscriber) error {
			addr := s.Email
			if s.Kind == subscriptions.KindTelegram {
				addr = fmt.Sprint(s.ChatID)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.ID, s.Kind, s.Status, len(s.Topics), addr)
			return nil
		})
		if err != nil {
			return err
		}
		return tw.Flush()
	case "export":
		return exportSubscribers(ctx, env.stdout, subs, cfg.PublicURL)
	case "delete":
		if len(pos) != 1 {
			return usagef("subscribers delete needs one ID")
		}
		if err := subs.Delete(ctx, pos[0]); err == subscriptions.ErrNotFound {
			return usagef("no subscriber %s", pos[0])
		} else if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "deleted %s\n", pos[0])
		return nil
	}
	return usagef("unknown subscribers subcommand %q (list, export, delete)", sub)
}

// exportSubscribers writes one JSON object per subscriber: every field held
// on it, and the address of its own Atom feed (made if it had none yet).
func exportSubscribers(ctx context.Context, w io.Writer, subs *subscriptions.Store, publicURL string) error {
	enc := json.NewEncoder(w)
	return subs.Scan(ctx, func(s *subscriptions.Subscriber) error {
		secret := delivery.FeedSecretOf(s)
		if secret == "" {
			var err error
			if secret, err = delivery.FeedSecret(ctx, subs, s.ID); err != nil {
				return err
			}
		}
		return enc.Encode(struct {
			*subscriptions.Subscriber
			FeedURL string `json:"feed_url"`
		}{s, delivery.FeedURL(publicURL, s.ID, secret)})
	})
}
