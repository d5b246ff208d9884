package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/herald-news/herald/config"
	"github.com/herald-news/herald/service"
)

// settingNames are the HERALD_* variables that a flag of the same name
// (--redis-url for HERALD_REDIS_URL) may override.
var settingNames = []string{
	"HERALD_REDIS_URL", "HERALD_HTTP_ADDR", "HERALD_PUBLIC_URL", "HERALD_SECRET",
	"HERALD_TELEGRAM_TOKEN", "HERALD_TELEGRAM_API_URL", "HERALD_TELEGRAM_ADMINS", "HERALD_TELEGRAM_RATE",
	"HERALD_SMTP_URL", "HERALD_MAIL_FROM", "HERALD_POLL_INTERVAL", "HERALD_FEEDS",
	"HERALD_ALLOW_PRIVATE_FEEDS", "HERALD_CLAIM_AFTER", "HERALD_DIGEST_INTERVAL", "HERALD_LOG_FORMAT", "HERALD_LOG_LEVEL",
	"HERALD_LLM_URL", "HERALD_LLM_MODEL", "HERALD_LLM_KEY",
	"HERALD_TELEGRAM_WEBHOOK_URL", "HERALD_TELEGRAM_WEBHOOK_SECRET", "HERALD_TELEGRAM_PAID_BROADCAST", "HERALD_TELEGRAM_LINK_PREVIEWS",
	"HERALD_MAIL_RATE", "HERALD_MAIL_CONNECTIONS", "HERALD_DKIM_DOMAIN", "HERALD_DKIM_SELECTOR", "HERALD_DKIM_KEY_FILE",
	"HERALD_SMTP_HELO", "HERALD_BOUNCE_DOMAIN", "HERALD_BOUNCE_ADDR",
}

func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "HERALD_")), "_", "-")
}

// settingFlags registers one flag per setting and returns a getenv that
// prefers a flag given on the command line over the environment.
func settingFlags(fs *flag.FlagSet, getenv func(string) string) func(string) string {
	vals := map[string]*string{}
	for _, name := range settingNames {
		vals[name] = fs.String(flagName(name), "", "overrides "+name)
	}
	return func(name string) string {
		set := false
		fs.Visit(func(f *flag.Flag) {
			if f.Name == flagName(name) {
				set = true
			}
		})
		if p, ok := vals[name]; ok && set {
			return *p
		}
		return getenv(name)
	}
}

// loadConfig reads the settings; an invalid one is bad input (exit 2).
func loadConfig(getenv func(string) string) (config.Config, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runServe(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("serve", "serve [--roles watcher,matcher,telegram,email,web] [--partition K/N] [--SETTING value]", env.stderr)
	roles := fs.String("roles", "all", "comma-separated roles this process takes: "+strings.Join(service.AllRoles, ","))
	partition := fs.String("partition", "", "`K/N`: the matcher holds partition K of N of the subscribers (overrides HERALD_MATCHER_PARTITION)")
	getenv := settingFlags(fs, env.getenv)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *partition != "" {
		// Read and validated with the other settings, so that a bad value
		// is reported as HERALD_MATCHER_PARTITION's, as SPEC's table names it.
		inner := getenv
		getenv = func(name string) string {
			if name == "HERALD_MATCHER_PARTITION" {
				return *partition
			}
			return inner(name)
		}
	}
	rs, err := service.ParseRoles(*roles)
	if err != nil {
		return usageError{err}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, env.stderr)
	slog.SetDefault(log)
	svc, err := service.New(service.Options{Config: cfg, Roles: rs, Log: log})
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return usageError{err}
		}
		return err
	}
	defer svc.Close()
	// A role that died makes Run return its error, and the process exit 1,
	// so that systemd, Docker or Kubernetes start it again whole. Redis
	// refusing the credentials is bad input, like any invalid setting.
	if err := svc.Run(ctx); err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return usageError{err}
		}
		return err
	}
	return nil
}

func runVersion(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("version", "version", env.stderr)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	v := service.Version
	extra := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		extra = " " + bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				extra += " commit " + s.Value[:min(12, len(s.Value))]
			case "vcs.modified":
				if s.Value == "true" {
					extra += " (modified)"
				}
			}
		}
	}
	fmt.Fprintf(env.stdout, "herald %s%s\n", v, extra)
	return nil
}
