package config

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://:pw@127.0.0.1:6379/0", "redis://xxxxx@127.0.0.1:6379/0"},
		{"redis://user:pw@host:6379/0", "redis://xxxxx@host:6379/0"},
		// Does not parse (a space, an @ and a / in the password): hidden all the same.
		{"smtp://user:p w@d/x@mail.example:587", "smtp://xxxxx@mail.example:587"},
		{"redis://:p%zz@host/0", "redis://xxxxx@host/0"},
		{"user:pw@host:6379", "xxxxx@host:6379"},
		{"redis://:a@h1:1,redis://:b@h2:2", "redis://xxxxx@h1:1,redis://xxxxx@h2:2"},
		{"https://llm.example/v1?api_key=sk-1&model=m&Access_Token=t;secret=s#frag", "https://llm.example/v1?api_key=xxxxx&model=m&Access_Token=xxxxx&secret=xxxxx#frag"},
		{"llm.example/v1?password=p", "llm.example/v1?password=xxxxx"},
		{"https://feeds.example/rss?id=7", "https://feeds.example/rss?id=7"},
		{"memory://", "memory://"},
		{"", ""},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestScrubAndRedactIn(t *testing.T) {
	c := Defaults()
	c.Secret = "service-secret"
	c.TelegramToken = "123:bot-token"
	c.LLMKey = "sk-llm"
	c.RedisURL = "redis://:redis%40pw@host:6379/0"
	c.SMTPURL = "smtp://mailer:smtp-pw@mail:587"
	c.LLMURL = "https://llm.example/v1?key=query-key"
	c.TelegramWebhookSecret = "hook-secret"
	msg := "a=service-secret b=123:bot-token c=sk-llm d=redis@pw e=redis%40pw f=smtp-pw g=query-key h=hook-secret user=mailer"
	got := c.Scrub(msg)
	for _, s := range []string{"service-secret", "bot-token", "sk-llm", "redis@pw", "redis%40pw", "smtp-pw", "query-key", "hook-secret"} {
		if strings.Contains(got, s) {
			t.Errorf("Scrub left %q in %q", s, got)
		}
	}
	if !strings.Contains(got, "user=mailer") {
		t.Errorf("Scrub hid a user name, which is no secret: %q", got)
	}

	raw := "redis://:top-secret@127.0.0.1:port/0"
	got = RedactIn(`parse "`+raw+`": invalid port ":port" after host`, raw)
	if strings.Contains(got, "top-secret") || !strings.Contains(got, "invalid port") {
		t.Errorf("RedactIn = %q", got)
	}
}
