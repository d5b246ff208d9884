package config

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
)

// hidden replaces a secret in anything Herald prints.
const hidden = "xxxxx"

// Redact hides the secrets of a URL setting (or of a comma-separated list of
// them) so that it can be printed in an error or a log line: the user and
// password, and the values of query parameters named like a key, token,
// password or secret. It works on the text, not on a parsed URL, because
// the URLs that need it most are the ones that do not parse: everything
// between "://" (or the start) and the last "@" is taken for credentials,
// even when a password holds characters a URL may not.
func Redact(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}

func redactOne(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
	}
	rest := raw[start:]
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = hidden + rest[at:]
	}
	q := strings.IndexByte(rest, '?')
	if q < 0 {
		return raw[:start] + rest
	}
	query, frag, hasFrag := strings.Cut(rest[q+1:], "#")
	pairs := strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' })
	for i, p := range pairs {
		name, _, hasValue := strings.Cut(p, "=")
		if hasValue && secretName(name) {
			pairs[i] = name + "=" + hidden
		}
	}
	out := raw[:start] + rest[:q+1] + strings.Join(pairs, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// secretName reports whether a query parameter's name says its value is a
// credential (key, api_key, access_token, password, client_secret, auth…).
func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"key", "token", "pass", "pwd", "secret", "auth", "sig"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// RedactIn hides the URL setting raw, and each of its credentials, wherever
// they occur in msg (an error from a parser that quotes its input).
func RedactIn(msg, raw string) string {
	if raw == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, raw, Redact(raw))
	return scrub(msg, withDecoded(urlSecrets(raw)))
}

// Scrub replaces every secret of c found in s (HERALD_SECRET, the tokens and
// keys, the credentials inside the URL settings) by a placeholder. It is the
// last guard on messages that quote what another package said about a
// setting, which may echo the setting whole.
func (c *Config) Scrub(s string) string {
	return scrub(s, c.secrets())
}

func scrub(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 3 { // shorter strings would mangle the message and hide nothing
			s = strings.ReplaceAll(s, v, hidden)
		}
	}
	return s
}

// secrets lists the secret values of c, longest first so that a secret
// containing another is replaced whole.
func (c *Config) secrets() []string {
	out := []string{c.Secret, c.TelegramToken, c.TelegramWebhookSecret, c.LLMKey}
	for _, u := range []string{c.RedisURL, c.SMTPURL, c.LLMURL, c.TelegramWebhookURL} {
		out = append(out, urlSecrets(u)...)
	}
	return withDecoded(out)
}

// withDecoded drops empty values, adds the decoded form of escaped ones and
// sorts them longest first, so that a secret containing another is
// replaced whole.
func withDecoded(vals []string) []string {
	var keep []string
	for _, v := range vals {
		if v == "" {
			continue
		}
		keep = append(keep, v)
		// A client may print the value decoded (p%40ss as p@ss).
		if d, err := url.PathUnescape(v); err == nil && d != v {
			keep = append(keep, d)
		}
	}
	slices.SortFunc(keep, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return keep
}

// urlSecrets are the credentials Redact hides in raw: the user:password
// part and the password alone, and secret query values.
func urlSecrets(raw string) []string {
	var out []string
	for _, part := range strings.Split(raw, ",") {
		start := 0
		if i := strings.Index(part, "://"); i >= 0 {
			start = i + len("://")
		}
		rest := part[start:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			// A user name alone is no secret, and hiding it everywhere
			// would mangle the message.
			if _, pass, ok := strings.Cut(rest[:at], ":"); ok {
				out = append(out, rest[:at], pass)
			}
			rest = rest[at+1:]
		}
		if _, query, ok := strings.Cut(rest, "?"); ok {
			query, _, _ = strings.Cut(query, "#")
			for _, p := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
				if name, v, ok := strings.Cut(p, "="); ok && secretName(name) {
					out = append(out, v)
				}
			}
		}
	}
	return out
}
