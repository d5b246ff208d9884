package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// serve runs `herald serve` with the given settings and returns its exit
// status and everything it wrote to stderr (its logs included).
func serve(ctx context.Context, vars map[string]string) (int, string) {
	base := map[string]string{"HERALD_HTTP_ADDR": "127.0.0.1:0", "HERALD_SECRET": "serve-test-secret"}
	for k, v := range vars {
		base[k] = v
	}
	var stdout, stderr bytes.Buffer
	env := &cmdEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return base[k] }}
	code := run(ctx, env, []string{"serve"})
	return code, stderr.String() + stdout.String()
}

// Every setting that holds a secret, or a URL that may carry one, set
// wrongly on purpose: the start-up error, and everything else herald
// prints, leave the secret out.
func TestMalformedSettingsDoNotPrintTheirSecrets(t *testing.T) {
	const secret = "Hunter2Sekrit"
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	smtpFile := filepath.Join(dir, "smtp-url")
	if err := os.WriteFile(smtpFile, []byte("smtp://user:"+secret+"@mail.example:99999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	smtp := map[string]string{"HERALD_MAIL_FROM": "Herald <news@herald.test>"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}
	cases := map[string]map[string]string{
		"redis: space in the password":   {"HERALD_REDIS_URL": "redis://user:" + secret + " x@127.0.0.1:6379/0"},
		"redis: bad port":                {"HERALD_REDIS_URL": "redis://:" + secret + "@127.0.0.1:notaport/0"},
		"redis: bad database":            {"HERALD_REDIS_URL": "redis://:" + secret + "@127.0.0.1:6379/abc"},
		"redis: bad option":              {"HERALD_REDIS_URL": "redis://:" + secret + "@127.0.0.1:6379/0?dial_timeout=soon"},
		"redis: bad escape":              {"HERALD_REDIS_URL": "redis://:" + secret + "%zz@127.0.0.1:6379/0"},
		"redis: bad scheme":              {"HERALD_REDIS_URL": "mysql://root:" + secret + "@db:3306"},
		"redis: @ in the password":       {"HERALD_REDIS_URL": "redis://:" + secret + "@x@127.0.0.1:notaport/0"},
		"redis: cluster, one bad":        {"HERALD_REDIS_URL": "redis://:" + secret + "@10.0.0.1:6379,redis://:" + secret + "@10.0.0.2:port"},
		"smtp: bad port":                 with(smtp, "HERALD_SMTP_URL", "smtp://user:"+secret+"@mail.example:99999"),
		"smtp: space in the password":    with(smtp, "HERALD_SMTP_URL", "smtp://user:"+secret+" x@mail.example:587"),
		"smtp: bad scheme":               with(smtp, "HERALD_SMTP_URL", "https://user:"+secret+"@mail.example"),
		"smtp: bad escape":               with(smtp, "HERALD_SMTP_URL", "smtp://user:"+secret+"%zz@mail.example:587"),
		"smtp: bad tls":                  with(smtp, "HERALD_SMTP_URL", "smtp://user:"+secret+"@mail.example:587?tls=sometimes"),
		"smtp: without a sender":         {"HERALD_SMTP_URL": "smtp://user:" + secret + "@mail.example:587"},
		"llm: bad scheme":                {"HERALD_LLM_URL": "ftp://user:" + secret + "@llm.example/v1", "HERALD_LLM_MODEL": "m"},
		"llm: bad port":                  {"HERALD_LLM_URL": "https://user:" + secret + "@llm.example:port/v1", "HERALD_LLM_MODEL": "m"},
		"llm: key in the query":          {"HERALD_LLM_URL": "llm.example/v1?api_key=" + secret, "HERALD_LLM_MODEL": "m"},
		"llm key: both ways":             {"HERALD_LLM_KEY": secret, "HERALD_LLM_KEY_FILE": file},
		"secret: both ways":              {"HERALD_SECRET": secret, "HERALD_SECRET_FILE": file},
		"telegram token: malformed":      {"HERALD_TELEGRAM_TOKEN": secret + " no colon"},
		"telegram token: both ways":      {"HERALD_TELEGRAM_TOKEN": "1:" + secret, "HERALD_TELEGRAM_TOKEN_FILE": file},
		"webhook secret: bad characters": {"HERALD_TELEGRAM_TOKEN": "1:abc", "HERALD_TELEGRAM_WEBHOOK_SECRET": secret + "!!"},
		"webhook url: bad scheme":        {"HERALD_TELEGRAM_TOKEN": "1:abc", "HERALD_TELEGRAM_WEBHOOK_URL": "ftp://hook:" + secret + "@bot.example/hook?token=" + secret},
		"feeds: token in a bad feed":     {"HERALD_FEEDS": "javascript:alert(1)?token=" + secret},
		"smtp: from a file, bad port":    with(smtp, "HERALD_SMTP_URL_FILE", smtpFile),
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a case that starts would run until ctx ends: it ends at once
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			code, out := serve(ctx, vars)
			if code == 0 {
				t.Fatalf("serve started with %v; the case is not malformed:\n%s", vars, out)
			}
			if strings.Contains(out, secret[:8]) {
				t.Errorf("the secret is printed:\n%s", out)
			}
			if !strings.Contains(out, "HERALD_") {
				t.Errorf("the error does not name the setting:\n%s", out)
			}
		})
	}
}

// freePort is a port nothing listens on at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A Redis that wants a password herald does not have is a configuration
// error, not an outage: serve stops at once with one line naming
// HERALD_REDIS_URL, instead of logging NOAUTH for ever.
func TestServeStopsWhenRedisRefusesTheCredentials(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed: this test starts one with --requirepass")
	}
	const password = "Right-Pass-4242"
	port := freePort(t)
	srv := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--requirepass", password,
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Password: password})
	defer c.Close()
	for i := 0; c.Ping(context.Background()).Err() != nil; i++ {
		if i == 100 {
			t.Fatal("the test's redis-server did not answer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The user's ACL allows nothing herald does.
	if err := c.Do(context.Background(), "ACL", "SETUSER", "reader", "on", ">reader-pass", "-@all", "+auth", "+hello").Err(); err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct{ url, reply string }{
		"no password":    {fmt.Sprintf("redis://127.0.0.1:%d/0", port), "NOAUTH"},
		"wrong password": {fmt.Sprintf("redis://:Wrong-Pass-1717@127.0.0.1:%d/0", port), "WRONGPASS"},
		"no permission":  {fmt.Sprintf("redis://reader:reader-pass@127.0.0.1:%d/0", port), "NOPERM"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// Were herald to wait and retry, it would run until this
			// context ends and then exit 0.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			code, out := serve(ctx, map[string]string{"HERALD_REDIS_URL": tc.url})
			if ctx.Err() != nil || code == 0 {
				t.Fatalf("serve did not stop by itself (status %d):\n%s", code, out)
			}
			var lines []string
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "HERALD_REDIS_URL") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], tc.reply) {
				t.Fatalf("want one line naming HERALD_REDIS_URL and %s, got:\n%s", tc.reply, out)
			}
			if strings.Contains(out, "Wrong-Pass") || strings.Contains(out, "reader-pass") {
				t.Errorf("the password is printed:\n%s", out)
			}
			if strings.Contains(out, "herald running") {
				t.Errorf("roles were started against a Redis that refuses herald:\n%s", out)
			}
			t.Logf("%s", lines[0])
		})
	}
}
