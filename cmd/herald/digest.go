package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/service"
)

func runDigest(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 || args[0] != "send" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.stderr, "Usage: herald digest send [--now]")
			return errHelp
		}
		return usagef("usage: herald digest send [--now]")
	}
	fs := newFlags("digest send", "digest send [--now]", env.stderr)
	now := fs.Bool("now", false, "send every digest that has anything pending, due or not")
	getenv := settingFlags(fs, env.getenv)
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	svc, err := service.New(service.Options{Config: cfg, Roles: []string{"email"}, Log: newLogger(cfg, env.stderr)})
	if err != nil {
		return usageError{err}
	}
	defer svc.Close()
	if svc.Mailer == nil {
		return usagef("email is off: set HERALD_SMTP_URL and HERALD_MAIL_FROM")
	}
	n, err := svc.Mailer.SendDigests(ctx, *now)
	return digestResult(env, n, err)
}

// digestResult reports a round of `digest send` and decides its exit.
func digestResult(env *cmdEnv, n int, err error) error {
	var round *mailer.RoundError
	failed := 0
	if errors.As(err, &round) {
		failed = round.Failed
	}
	fmt.Fprintf(env.stdout, "%d digests sent, %d failed\n", n, failed)
	// Some digests failing is the relay's business, and each is tried
	// again later: the command failed only if nothing could be sent (or
	// the round itself broke, Redis being unreachable, say).
	if round != nil && n > 0 {
		fmt.Fprintf(env.stderr, "herald: %v\n", err)
		return nil
	}
	return err
}
