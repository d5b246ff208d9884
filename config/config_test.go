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
		"HERALD_SMTP_HELO":           {"HERALD_SMTP_HELO": "mail server"},
		"HERALD_BOUNCE_DOMAIN":       {"HERALD_BOUNCE_DOMAIN": "localhost"},
		"HERALD_BOUNCE_ADDR":         {"HERALD_BOUNCE_DOMAIN": "bounces.example.org", "HERALD_BOUNCE_ADDR": "2525"},
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

// With email on, links in emails must be https, except on loopback or
// when the operator says otherwise; the error names HERALD_PUBLIC_URL.
func TestPublicURLWithEmail(t *testing.T) {
	smtp := map[string]string{"HERALD_SMTP_URL": "smtp://mail.example:587", "HERALD_MAIL_FROM": "news@example.org"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range smtp {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name string
		vars map[string]string
		ok   bool
	}{
		{"https", with(map[string]string{"HERALD_PUBLIC_URL": "https://news.example.org"}), true},
		{"http on a public host", with(map[string]string{"HERALD_PUBLIC_URL": "http://news.example.org"}), false},
		{"http on a private address", with(map[string]string{"HERALD_PUBLIC_URL": "http://10.0.0.5:8080"}), false},
		{"http allowed explicitly", with(map[string]string{"HERALD_PUBLIC_URL": "http://news.example.org", "HERALD_ALLOW_HTTP_PUBLIC_URL": "true"}), true},
		{"http on loopback", with(map[string]string{"HERALD_PUBLIC_URL": "http://127.0.0.1:8080"}), true},
		{"http on localhost", with(map[string]string{"HERALD_PUBLIC_URL": "http://localhost:8080"}), true},
		{"http on ::1", with(map[string]string{"HERALD_PUBLIC_URL": "http://[::1]:8080"}), true},
		{"http without email", map[string]string{"HERALD_PUBLIC_URL": "http://news.example.org"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromEnv(env(c.vars))
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != "HERALD_PUBLIC_URL" || !strings.Contains(err.Error(), "https") {
				t.Fatalf("FromEnv = %v; want an error naming HERALD_PUBLIC_URL and https", err)
			}
		})
	}
	if _, err := FromEnv(env(with(map[string]string{"HERALD_ALLOW_HTTP_PUBLIC_URL": "sometimes"}))); err == nil ||
		!strings.Contains(err.Error(), "HERALD_ALLOW_HTTP_PUBLIC_URL") {
		t.Fatalf("a bad HERALD_ALLOW_HTTP_PUBLIC_URL: %v", err)
	}
}

func TestSiteNameAndOperator(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil || c.SiteName != "Herald" || c.Operator != "" {
		t.Fatalf("defaults: %q %q %v", c.SiteName, c.Operator, err)
	}
	c, err = FromEnv(env(map[string]string{"HERALD_SITE_NAME": "Вестник", "HERALD_OPERATOR": "Example Newsroom <ops@example.org>"}))
	if err != nil || c.SiteName != "Вестник" || c.Operator != "Example Newsroom <ops@example.org>" {
		t.Fatalf("set: %q %q %v", c.SiteName, c.Operator, err)
	}
	for name, v := range map[string]string{"HERALD_SITE_NAME": "Herald\nBcc: x@y.z", "HERALD_OPERATOR": strings.Repeat("x", 201)} {
		_, err := FromEnv(env(map[string]string{name: v}))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != name {
			t.Errorf("%s=%q: %v; want an error naming it", name, v, err)
		}
	}
}

// With email on, the public URL must be named: the default is loopback,
// and every email's links would point at the server itself.
func TestPublicURLRequiredWithEmail(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"HERALD_SMTP_URL": "smtp://mail.example:587", "HERALD_MAIL_FROM": "news@example.org"}))
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != "HERALD_PUBLIC_URL" || !strings.Contains(err.Error(), "not set") {
		t.Fatalf("FromEnv with email on and no HERALD_PUBLIC_URL = %v; want an error naming HERALD_PUBLIC_URL", err)
	}
	if _, err := FromEnv(env(map[string]string{})); err != nil {
		t.Fatalf("without email the default public URL is refused: %v", err)
	}
}

func TestMatcherPartition(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil || c.MatcherPartition != 0 || c.MatcherPartitions != 1 {
		t.Fatalf("default partition = %d/%d, %v; want 0/1", c.MatcherPartition, c.MatcherPartitions, err)
	}
	for v, want := range map[string][2]int{"0/1": {0, 1}, "2/4": {2, 4}, "1023/1024": {1023, 1024}} {
		c, err := FromEnv(env(map[string]string{"HERALD_MATCHER_PARTITION": v}))
		if err != nil || c.MatcherPartition != want[0] || c.MatcherPartitions != want[1] {
			t.Errorf("HERALD_MATCHER_PARTITION=%s: %d/%d, %v; want %d/%d", v, c.MatcherPartition, c.MatcherPartitions, err, want[0], want[1])
		}
	}
	for _, v := range []string{"1", "1/1", "4/4", "-1/4", "0/0", "a/b", "1/", "/2", "0/1025", "0/2/3", "0 /2"} {
		_, err := FromEnv(env(map[string]string{"HERALD_MATCHER_PARTITION": v}))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != "HERALD_MATCHER_PARTITION" {
			t.Errorf("HERALD_MATCHER_PARTITION=%q: err = %v; want a *config.Error naming the variable", v, err)
		}
	}
}

func TestBounceSettings(t *testing.T) {
	ok := []map[string]string{
		{"HERALD_BOUNCE_DOMAIN": "bounces.example.org"},
		{"HERALD_BOUNCE_DOMAIN": "bounces.example.org", "HERALD_BOUNCE_ADDR": "0.0.0.0:2525"},
		{"HERALD_BOUNCE_DOMAIN": "bounces.example.org", "HERALD_BOUNCE_ADDR": "[::1]:25"},
		{"HERALD_BOUNCE_DOMAIN": "bounces.example.org", "HERALD_BOUNCE_ADDR": ":2525"},
		{"HERALD_SMTP_HELO": "mail.example.org"},
		{"HERALD_SMTP_HELO": "[192.0.2.1]"},
		{"HERALD_SMTP_HELO": "[IPv6:2001:db8::1]"},
	}
	for _, vars := range ok {
		if _, err := FromEnv(env(vars)); err != nil {
			t.Errorf("FromEnv(%v): %v", vars, err)
		}
	}
	bad := map[string]map[string]string{
		"HERALD_BOUNCE_DOMAIN": {"HERALD_BOUNCE_DOMAIN": "b+x@example.org"},
		"HERALD_BOUNCE_ADDR":   {"HERALD_BOUNCE_ADDR": "0.0.0.0:2525"}, // without the domain
		"HERALD_SMTP_HELO":     {"HERALD_SMTP_HELO": "[not-an-ip]"},
	}
	for name, vars := range bad {
		var ce *Error
		if _, err := FromEnv(env(vars)); !errors.As(err, &ce) || ce.Var != name {
			t.Errorf("FromEnv(%v) = %v; want an error naming %s", vars, err, name)
		}
	}
	for _, c := range []struct{ public, helo, want string }{
		{"https://news.example.org", "", "news.example.org"},
		{"https://news.example.org:8443/herald/", "", "news.example.org"},
		{"http://127.0.0.1:8080", "", "[127.0.0.1]"},
		{"http://[::1]:8080", "", "[IPv6:::1]"},
		{"https://news.example.org", "mx.example.org", "mx.example.org"},
	} {
		cfg := Config{PublicURL: c.public, SMTPHelo: c.helo}
		if got := cfg.HELO(); got != c.want {
			t.Errorf("HELO with public URL %s and HERALD_SMTP_HELO %q = %q, want %q", c.public, c.helo, got, c.want)
		}
	}
}
