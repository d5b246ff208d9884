// Package config reads Herald's settings from the environment (HERALD_*),
// once, in one place. Every value is validated: an invalid one is an error
// that names the variable, never a silent default.
package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Config holds every setting of SPEC.md's table.
type Config struct {
	RedisURL  string
	HTTPAddr  string
	PublicURL string
	// AllowHTTPPublicURL lets HERALD_PUBLIC_URL be http:// on a host that
	// is not loopback while email is on (HERALD_ALLOW_HTTP_PUBLIC_URL):
	// for a test deployment that knows its links are not protected.
	AllowHTTPPublicURL bool
	// SiteName is the name shown on pages and in emails
	// (HERALD_SITE_NAME), Operator who runs this instance
	// (HERALD_OPERATOR), shown in footers.
	SiteName       string
	Operator       string
	Secret         string
	TelegramToken  string
	TelegramAPIURL string
	TelegramAdmins []int64
	TelegramRate   float64
	// TelegramWebhookURL switches the bot from long polling to a webhook
	// (HERALD_TELEGRAM_WEBHOOK_URL); its path is served by the web server.
	TelegramWebhookURL string
	// TelegramWebhookSecret is the secret token Telegram sends back with
	// every webhook request (HERALD_TELEGRAM_WEBHOOK_SECRET); when unset it
	// is derived from HERALD_SECRET.
	TelegramWebhookSecret string
	// TelegramPaidBroadcast sends alerts with allow_paid_broadcast
	// (HERALD_TELEGRAM_PAID_BROADCAST), for rates above 30 a second.
	TelegramPaidBroadcast bool
	// TelegramLinkPreviews shows link previews under alerts
	// (HERALD_TELEGRAM_LINK_PREVIEWS).
	TelegramLinkPreviews bool
	SMTPURL              string
	MailFrom             string
	MailRate             float64 // emails per second over all connections of one process
	MailConnections      int     // SMTP connections one process keeps open in parallel
	DKIMDomain           string  // d= of the DKIM signature; empty: no signing
	DKIMSelector         string  // s= of the DKIM signature
	DKIMKeyFile          string  // PEM private key (RSA or Ed25519)
	PollInterval         time.Duration
	Feeds                []string
	AllowPrivateFeeds    bool
	LogFormat            string
	LogLevel             string
	LLMURL               string
	LLMModel             string
	LLMKey               string
	// ClaimAfter is how long a queue entry a process took and did not
	// finish (the process was killed) stays with it before another process
	// takes it over; 0 keeps the default, 30s. A reader's digest lock is
	// not bound by it: it has a TTL of its own (mailer.DefaultLockTTL),
	// extended while its holder sends.
	ClaimAfter time.Duration
	// DigestInterval is how often the email role looks for due digests.
	DigestInterval time.Duration
	// MatcherPartition of MatcherPartitions (HERALD_MATCHER_PARTITION=K/N)
	// is the part of the subscribers this process's matcher holds; 0 of 1
	// is all of them.
	MatcherPartition, MatcherPartitions int
	// MatcherSnapshotDir (HERALD_MATCHER_SNAPSHOT_DIR), if set, is where
	// a matcher keeps the snapshot of its index that a restart reads
	// instead of loading every subscriber from Redis; empty: none.
	MatcherSnapshotDir string
	// SMTPHelo is the name given in EHLO (HERALD_SMTP_HELO); empty means
	// the host of PublicURL (HELO gives the value in use).
	SMTPHelo string
	// BounceDomain, when set, gives every email an envelope sender of its
	// own at this domain (VERP) so that bounces name their reader
	// (HERALD_BOUNCE_DOMAIN).
	BounceDomain string
	// BounceAddr is where the email role listens for SMTP from MTAs:
	// DSNs and complaints for BounceDomain (HERALD_BOUNCE_ADDR).
	BounceAddr string

	// KeyPrefix starts every Redis key; tests give each run its own.
	// It has no environment variable: one deployment, one prefix.
	KeyPrefix string
}

// Defaults returns the configuration with every default of SPEC.md.
func Defaults() Config {
	return Config{
		RedisURL:        "redis://127.0.0.1:6379/0",
		HTTPAddr:        "127.0.0.1:8080",
		PublicURL:       "http://127.0.0.1:8080",
		SiteName:        "Herald",
		TelegramAPIURL:  "https://api.telegram.org",
		TelegramRate:    25,
		MailRate:        20,
		MailConnections: 3,
		PollInterval:    5 * time.Minute,
		LogFormat:       "text",
		LogLevel:        "info",
		KeyPrefix:       "herald:",

		MatcherPartitions: 1,
	}
}

// Error is an invalid setting.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// FromEnv reads the settings through getenv (os.Getenv in production).
// Secrets may also come from NAME_FILE, a file holding the value.
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Defaults()
	r := reader{getenv: getenv}
	r.str("HERALD_REDIS_URL", &c.RedisURL)
	r.str("HERALD_HTTP_ADDR", &c.HTTPAddr)
	r.str("HERALD_PUBLIC_URL", &c.PublicURL)
	r.boolean("HERALD_ALLOW_HTTP_PUBLIC_URL", &c.AllowHTTPPublicURL)
	r.str("HERALD_SITE_NAME", &c.SiteName)
	r.str("HERALD_OPERATOR", &c.Operator)
	r.secret("HERALD_SECRET", &c.Secret)
	r.secret("HERALD_TELEGRAM_TOKEN", &c.TelegramToken)
	r.str("HERALD_TELEGRAM_API_URL", &c.TelegramAPIURL)
	if v := r.get("HERALD_TELEGRAM_ADMINS"); v != "" {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				r.fail("HERALD_TELEGRAM_ADMINS", fmt.Sprintf("%q is not a Telegram user id (a whole number)", f))
				break
			}
			c.TelegramAdmins = append(c.TelegramAdmins, id)
		}
	}
	if v := r.get("HERALD_TELEGRAM_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1000 {
			r.fail("HERALD_TELEGRAM_RATE", fmt.Sprintf("%q is not a rate between 0 and 1000 messages per second", v))
		} else {
			c.TelegramRate = f
		}
	}
	r.str("HERALD_TELEGRAM_WEBHOOK_URL", &c.TelegramWebhookURL)
	r.secret("HERALD_TELEGRAM_WEBHOOK_SECRET", &c.TelegramWebhookSecret)
	r.boolean("HERALD_TELEGRAM_PAID_BROADCAST", &c.TelegramPaidBroadcast)
	r.boolean("HERALD_TELEGRAM_LINK_PREVIEWS", &c.TelegramLinkPreviews)
	r.secret("HERALD_SMTP_URL", &c.SMTPURL)
	r.str("HERALD_MAIL_FROM", &c.MailFrom)
	if v := r.get("HERALD_MAIL_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 10000 {
			r.fail("HERALD_MAIL_RATE", fmt.Sprintf("%q is not a rate between 0 and 10000 emails per second", v))
		} else {
			c.MailRate = f
		}
	}
	if v := r.get("HERALD_MAIL_CONNECTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			r.fail("HERALD_MAIL_CONNECTIONS", fmt.Sprintf("%q is not a number of connections from 1 to 64", v))
		} else {
			c.MailConnections = n
		}
	}
	r.str("HERALD_DKIM_DOMAIN", &c.DKIMDomain)
	r.str("HERALD_DKIM_SELECTOR", &c.DKIMSelector)
	r.str("HERALD_DKIM_KEY_FILE", &c.DKIMKeyFile)
	r.str("HERALD_SMTP_HELO", &c.SMTPHelo)
	r.str("HERALD_BOUNCE_DOMAIN", &c.BounceDomain)
	r.str("HERALD_BOUNCE_ADDR", &c.BounceAddr)
	if v := r.get("HERALD_POLL_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			r.fail("HERALD_POLL_INTERVAL", fmt.Sprintf("%q is not a duration of at least 1s (like 30s or 5m)", v))
		} else {
			c.PollInterval = d
		}
	}
	r.duration("HERALD_CLAIM_AFTER", &c.ClaimAfter, time.Second)
	r.duration("HERALD_DIGEST_INTERVAL", &c.DigestInterval, time.Second)
	if v := r.get("HERALD_FEEDS"); v != "" {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				c.Feeds = append(c.Feeds, f)
			}
		}
	}
	if v := r.get("HERALD_ALLOW_PRIVATE_FEEDS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.fail("HERALD_ALLOW_PRIVATE_FEEDS", fmt.Sprintf("%q is not true or false", v))
		}
		c.AllowPrivateFeeds = b
	}
	if v := r.get("HERALD_MATCHER_PARTITION"); v != "" {
		k, n, err := ParsePartition(v)
		if err != nil {
			r.fail("HERALD_MATCHER_PARTITION", err.Error())
		} else {
			c.MatcherPartition, c.MatcherPartitions = k, n
		}
	}
	r.str("HERALD_MATCHER_SNAPSHOT_DIR", &c.MatcherSnapshotDir)
	r.str("HERALD_LOG_FORMAT", &c.LogFormat)
	r.str("HERALD_LOG_LEVEL", &c.LogLevel)
	r.str("HERALD_LLM_URL", &c.LLMURL)
	r.str("HERALD_LLM_MODEL", &c.LLMModel)
	r.secret("HERALD_LLM_KEY", &c.LLMKey)
	if r.err != nil {
		return c, r.err
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	// The default public URL is loopback, which passes the https rule but
	// reaches no reader: with email on, every email's links would point at
	// the server itself. So email needs the operator to name it.
	if c.SMTPURL != "" && r.get("HERALD_PUBLIC_URL") == "" {
		return c, &Error{"HERALD_PUBLIC_URL", "is not set, and email is on (HERALD_SMTP_URL): every email's confirm, manage and unsubscribe links start with it, and the default " + c.PublicURL + " reaches no reader; set it to the https address readers open"}
	}
	return c, nil
}

// MaxPartitions bounds N in HERALD_MATCHER_PARTITION: each partition is a
// consumer group on the article stream that every article passes through.
const MaxPartitions = 1024

// ParsePartition reads "K/N", partition K (from 0) of N.
func ParsePartition(s string) (k, n int, err error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, errK := strconv.Atoi(ks)
	n, errN := strconv.Atoi(ns)
	if !ok || errK != nil || errN != nil || n < 1 || n > MaxPartitions || k < 0 || k >= n {
		return 0, 0, fmt.Errorf("%q is not a partition K/N with 0 <= K < N <= %d (like 0/1 or 2/4)", s, MaxPartitions)
	}
	return k, n, nil
}

// Validate checks values that do not depend on what the process will do.
func (c *Config) Validate() error {
	if err := checkRedisURL(c.RedisURL); err != nil {
		return &Error{"HERALD_REDIS_URL", err.Error()}
	}
	if _, _, err := splitHostPort(c.HTTPAddr); err != nil {
		return &Error{"HERALD_HTTP_ADDR", fmt.Sprintf("%q is not host:port: %v", c.HTTPAddr, err)}
	}
	if err := checkHTTPURL(c.PublicURL); err != nil {
		return &Error{"HERALD_PUBLIC_URL", err.Error()}
	}
	if err := c.checkPublicURLForEmail(); err != nil {
		return err
	}
	if err := checkName(c.SiteName, 64); err != nil {
		return &Error{"HERALD_SITE_NAME", err.Error()}
	}
	if c.Operator != "" {
		if err := checkName(c.Operator, 200); err != nil {
			return &Error{"HERALD_OPERATOR", err.Error()}
		}
	}
	if err := checkHTTPURL(c.TelegramAPIURL); err != nil {
		return &Error{"HERALD_TELEGRAM_API_URL", err.Error()}
	}
	if c.TelegramToken != "" && (!strings.Contains(c.TelegramToken, ":") || strings.ContainsAny(c.TelegramToken, " /\r\n")) {
		return &Error{"HERALD_TELEGRAM_TOKEN", "does not look like a bot token (123456:ABC…)"}
	}
	if c.TelegramWebhookURL != "" {
		u, err := url.Parse(c.TelegramWebhookURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
			// Telegram posts only to https; the test double takes http, and
			// so does a URL on loopback.
			if err != nil || u.Scheme != "http" || !isLoopback(u.Hostname()) {
				return &Error{"HERALD_TELEGRAM_WEBHOOK_URL", fmt.Sprintf("%q is not an https:// URL (Telegram posts updates only over https)", Redact(c.TelegramWebhookURL))}
			}
		}
		if c.TelegramToken == "" {
			return &Error{"HERALD_TELEGRAM_WEBHOOK_URL", "needs HERALD_TELEGRAM_TOKEN"}
		}
	}
	if c.TelegramWebhookSecret != "" && !validWebhookSecret(c.TelegramWebhookSecret) {
		return &Error{"HERALD_TELEGRAM_WEBHOOK_SECRET", "must be 1-256 characters of A-Z, a-z, 0-9, _ and -"}
	}
	if c.SMTPURL != "" {
		if err := CheckSMTPURL(c.SMTPURL); err != nil {
			return &Error{"HERALD_SMTP_URL", err.Error()}
		}
		if c.MailFrom == "" {
			return &Error{"HERALD_MAIL_FROM", "is required when HERALD_SMTP_URL is set"}
		}
	}
	if c.MailFrom != "" {
		if _, err := mail.ParseAddress(c.MailFrom); err != nil || strings.ContainsAny(c.MailFrom, "\r\n") {
			return &Error{"HERALD_MAIL_FROM", fmt.Sprintf("%q is not an address like Herald <news@example.org>", c.MailFrom)}
		}
	}
	if err := c.checkDKIM(); err != nil {
		return err
	}
	if err := c.checkBounce(); err != nil {
		return err
	}
	for _, f := range c.Feeds {
		if err := checkHTTPURL(f); err != nil {
			return &Error{"HERALD_FEEDS", err.Error()}
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return &Error{"HERALD_LOG_FORMAT", fmt.Sprintf("%q is neither text nor json", c.LogFormat)}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return &Error{"HERALD_LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", c.LogLevel)}
	}
	if c.LLMURL != "" {
		if err := checkHTTPURL(c.LLMURL); err != nil {
			return &Error{"HERALD_LLM_URL", err.Error()}
		}
	}
	return nil
}

// checkPublicURLForEmail wants an https public URL when email is on:
// emails carry confirm, manage and one-click unsubscribe links under it,
// which must not travel in the clear, and Gmail and Yahoo honour only an
// https List-Unsubscribe. http passes for loopback (a test, the demo) or
// when HERALD_ALLOW_HTTP_PUBLIC_URL says so.
func (c *Config) checkPublicURLForEmail() error {
	if c.SMTPURL == "" || c.AllowHTTPPublicURL {
		return nil
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Scheme == "https" || isLoopback(u.Hostname()) {
		return nil
	}
	return &Error{"HERALD_PUBLIC_URL", fmt.Sprintf("%q is not https://, and email is on (HERALD_SMTP_URL): the links in emails would travel in the clear; use https (or set HERALD_ALLOW_HTTP_PUBLIC_URL=true)", Redact(c.PublicURL))}
}

// checkName accepts a name shown on pages and in emails: one line, of at
// most max characters.
func checkName(s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("is empty")
	}
	if n := len([]rune(s)); n > max {
		return fmt.Errorf("is %d characters long; at most %d", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%q holds a control character or line break", s)
		}
	}
	return nil
}

// checkDKIM wants all three DKIM settings or none, a domain name, a
// selector that is one DNS label sequence, and a key file that can be read
// (the mailer parses the key itself and names this variable when it cannot).
func (c *Config) checkDKIM() error {
	set := 0
	for _, v := range []string{c.DKIMDomain, c.DKIMSelector, c.DKIMKeyFile} {
		if v != "" {
			set++
		}
	}
	if set == 0 {
		return nil
	}
	if set != 3 {
		return &Error{"HERALD_DKIM_DOMAIN", "DKIM needs HERALD_DKIM_DOMAIN, HERALD_DKIM_SELECTOR and HERALD_DKIM_KEY_FILE together"}
	}
	if !dnsName(c.DKIMDomain) || !strings.Contains(c.DKIMDomain, ".") {
		return &Error{"HERALD_DKIM_DOMAIN", fmt.Sprintf("%q is not a domain name", c.DKIMDomain)}
	}
	if !dnsName(c.DKIMSelector) {
		return &Error{"HERALD_DKIM_SELECTOR", fmt.Sprintf("%q is not a DKIM selector (letters, digits, hyphens, dots)", c.DKIMSelector)}
	}
	if _, err := os.Stat(c.DKIMKeyFile); err != nil {
		return &Error{"HERALD_DKIM_KEY_FILE", err.Error()}
	}
	return nil
}

// checkBounce wants a domain name for the bounce domain, host:port for
// the listener (which is useless without the domain), and an EHLO name
// that is a domain or an address literal.
func (c *Config) checkBounce() error {
	if c.SMTPHelo != "" && !heloName(c.SMTPHelo) {
		return &Error{"HERALD_SMTP_HELO", fmt.Sprintf("%q is not a domain name or an address literal like [192.0.2.1]", c.SMTPHelo)}
	}
	if c.BounceDomain != "" && (!dnsName(c.BounceDomain) || !strings.Contains(c.BounceDomain, ".") || strings.Contains(c.BounceDomain, "_")) {
		return &Error{"HERALD_BOUNCE_DOMAIN", fmt.Sprintf("%q is not a domain name like bounces.example.org", c.BounceDomain)}
	}
	if c.BounceAddr != "" {
		host, port, err := net.SplitHostPort(c.BounceAddr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " /") {
			return &Error{"HERALD_BOUNCE_ADDR", fmt.Sprintf("%q is not host:port like 0.0.0.0:2525", c.BounceAddr)}
		}
		if c.BounceDomain == "" {
			return &Error{"HERALD_BOUNCE_ADDR", "needs HERALD_BOUNCE_DOMAIN: the listener takes reports for that domain only"}
		}
	}
	return nil
}

// HELO is the name herald gives in EHLO: HERALD_SMTP_HELO, else the host
// of HERALD_PUBLIC_URL (an IP address as an address literal, RFC 5321
// §4.1.3).
func (c *Config) HELO() string {
	if c.SMTPHelo != "" {
		return c.SMTPHelo
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); ip != nil {
		if ip.To4() == nil {
			return "[IPv6:" + h + "]"
		}
		return "[" + h + "]"
	}
	return h
}

func heloName(s string) bool {
	if inner, ok := strings.CutPrefix(s, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		inner = strings.TrimPrefix(inner, "IPv6:")
		return ok && net.ParseIP(inner) != nil
	}
	return dnsName(s) && !strings.Contains(s, "_")
}

func dnsName(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
}

func validWebhookSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Embedded reports whether Redis is the in-process memory:// one.
func (c *Config) Embedded() bool { return strings.HasPrefix(c.RedisURL, "memory://") }

type reader struct {
	getenv func(string) string
	err    error
}

func (r *reader) get(name string) string { return strings.TrimSpace(r.getenv(name)) }

func (r *reader) fail(name, msg string) {
	if r.err == nil {
		r.err = &Error{name, msg}
	}
}

func (r *reader) str(name string, dst *string) {
	if v := r.get(name); v != "" {
		*dst = v
	}
}

// duration reads a duration of at least least.
func (r *reader) duration(name string, dst *time.Duration, least time.Duration) {
	v := r.get(name)
	if v == "" {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < least {
		r.fail(name, fmt.Sprintf("%q is not a duration of at least %s (like 30s or 5m)", v, least))
		return
	}
	*dst = d
}

func (r *reader) boolean(name string, dst *bool) {
	if v := r.get(name); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.fail(name, fmt.Sprintf("%q is not true or false", v))
			return
		}
		*dst = b
	}
}

// secret reads NAME, or the file named by NAME_FILE; setting both is an error
// because one of them would be ignored.
func (r *reader) secret(name string, dst *string) {
	v, file := r.get(name), r.get(name+"_FILE")
	switch {
	case v != "" && file != "":
		r.fail(name, "set either "+name+" or "+name+"_FILE, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			r.fail(name+"_FILE", err.Error())
			return
		}
		*dst = strings.TrimSpace(string(b))
	case v != "":
		*dst = v
	}
}

func checkRedisURL(raw string) error {
	if raw == "memory://" || strings.HasPrefix(raw, "memory://") {
		return nil
	}
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, "://") && strings.Contains(raw, ",") {
			part = "redis://" + part
		}
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return fmt.Errorf("%q is not redis://host:port/db, rediss://…, a comma-separated cluster list or memory://", Redact(part))
		}
	}
	return nil
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", Redact(raw))
	}
	return nil
}

// CheckSMTPURL accepts smtp://[user:pass@]host[:port][?tls=none|starttls]
// and smtps://[user:pass@]host[:port].
func CheckSMTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the URL, password and all.
		return fmt.Errorf("%q is not a URL like smtp://user:password@host:587", Redact(raw))
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return fmt.Errorf("scheme %q is neither smtp nor smtps", u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("no host in the URL")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not a port number", p)
		}
	}
	switch t := u.Query().Get("tls"); t {
	case "", "none", "starttls":
	default:
		return fmt.Errorf("tls=%q is neither none nor starttls", t)
	}
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", 0, fmt.Errorf("missing port")
	}
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("bad port %q", addr[i+1:])
	}
	return addr[:i], p, nil
}
