package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.RedisURL != "redis://127.0.0.1:6379/0" || c.HTTPAddr != "127.0.0.1:8080" || c.PollInterval != 5*time.Minute || c.TelegramRate != 25 {
		t.Fatalf("defaults differ from SPEC: %+v", c)
	}
}

// Every invalid value stops start-up with an error naming its variable.
func TestInvalidValuesNameTheVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"HERALD_REDIS_URL":           {"HERALD_REDIS_URL": "mysql://x"},
		"HERALD_HTTP_ADDR":           {"HERALD_HTTP_ADDR": "no-port"},
		"HERALD_PUBLIC_URL":          {"HERALD_PUBLIC_URL": "ftp://x"},
		"HERALD_TELEGRAM_RATE":       {"HERALD_TELEGRAM_RATE": "fast"},
		"HERALD_TELEGRAM_ADMINS":     {"HERALD_TELEGRAM_ADMINS": "12,abc"},
		"HERALD_TELEGRAM_TOKEN":      {"HERALD_TELEGRAM_TOKEN": "not a token"},
		"HERALD_POLL_INTERVAL":       {"HERALD_POLL_INTERVAL": "500ms"},
		"HERALD_ALLOW_PRIVATE_FEEDS": {"HERALD_ALLOW_PRIVATE_FEEDS": "maybe"},
		"HERALD_SMTP_URL":            {"HERALD_SMTP_URL": "http://mail", "HERALD_MAIL_FROM": "a@b.org"},
		"HERALD_MAIL_FROM":           {"HERALD_SMTP_URL": "smtp://mail:25", "HERALD_MAIL_FROM": "x\r\nBcc: y@z"},
		"HERALD_FEEDS":               {"HERALD_FEEDS": "https://ok.example/feed, javascript:alert(1)"},
		"HERALD_LOG_FORMAT":          {"HERALD_LOG_FORMAT": "xml"},
		"HERALD_LOG_LEVEL":           {"HERALD_LOG_LEVEL": "loud"},
		"HERALD_SECRET":              {"HERALD_SECRET": "a", "HERALD_SECRET_FILE": "/etc/hostname"},
	}
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := FromEnv(env(vars))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("FromEnv(%v) = %v; want a *config.Error", vars, err)
			}
			if !strings.HasPrefix(ce.Var, name) {
				t.Fatalf("error names %s, want %s: %v", ce.Var, name, err)
			}
		})
	}
	// SMTP without a sender is refused too, naming HERALD_MAIL_FROM.
	_, err := FromEnv(env(map[string]string{"HERALD_SMTP_URL": "smtp://mail:25"}))
	if err == nil || !strings.Contains(err.Error(), "HERALD_MAIL_FROM") {
		t.Fatalf("SMTP without HERALD_MAIL_FROM: err = %v", err)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := FromEnv(env(map[string]string{"HERALD_SECRET_FILE": path, "HERALD_REDIS_URL": "redis://a:6379,redis://b:6379", "HERALD_FEEDS": " https://a.example/rss , https://b.example/atom "}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Secret != "s3cret" {
		t.Fatalf("secret from file = %q", c.Secret)
	}
	if len(c.Feeds) != 2 || c.Feeds[1] != "https://b.example/atom" {
		t.Fatalf("feeds = %q", c.Feeds)
	}
	if _, err := FromEnv(env(map[string]string{"HERALD_SECRET_FILE": filepath.Join(dir, "missing")})); err == nil {
		t.Fatal("a missing secret file was accepted")
	}
}
