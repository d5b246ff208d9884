package article

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// trackingParams are query parameters that say how a reader arrived, not
// what they are reading: the same article with different values is the
// same article. Compared case-insensitively; utm_* is matched by prefix.
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "dclid": true, "gbraid": true, "wbraid": true,
	"msclkid": true, "mc_cid": true, "mc_eid": true, "igshid": true, "yclid": true,
	"_ga": true, "_gl": true, "_hsenc": true, "_hsmi": true, "mkt_tok": true,
	"ref_src": true, "ref_url": true, "twclid": true, "ttclid": true, "li_fat_id": true,
	"oly_anon_id": true, "oly_enc_id": true, "vero_id": true, "wickedid": true,
	"__twitter_impression": true, "s_kwcid": true, "ncid": true, "sr_share": true,
	"at_medium": true, "at_campaign": true, "cmpid": true, "ocid": true,
}

func isTracking(key string) bool {
	k := strings.ToLower(key)
	return strings.HasPrefix(k, "utm_") || trackingParams[k]
}

// ErrNotWebURL means the URL is not an absolute http or https URL.
var ErrNotWebURL = errors.New("not an absolute http(s) URL")

// Canonical returns the form of an article URL under which Herald knows
// it: scheme and host lower-cased, default port, user info and fragment
// dropped, tracking parameters dropped, the remaining query parameters
// sorted by name (values of a repeated name keep their order), an empty
// path written "/". Two links to one article through different campaigns
// give the same string.
func Canonical(rawURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return "", fmt.Errorf("canonical url: %w", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("canonical url %q: %w", rawURL, ErrNotWebURL)
	}
	// Trailing dots (the DNS root) go, all of them, so the result is its
	// own canonical form; a host of dots alone names nothing.
	host := strings.TrimRight(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", fmt.Errorf("canonical url %q: %w", rawURL, ErrNotWebURL)
	}
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	u.RawQuery = canonicalQuery(u.RawQuery)
	u.ForceQuery = false
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	return u.String(), nil
}

// canonicalQuery drops tracking parameters and sorts the rest by name.
// Each pair is re-escaped in one spelling ("a b" as a+b) when it decodes;
// a pair that does not decode is kept as it was rather than lost.
func canonicalQuery(raw string) string {
	type pair struct{ key, text string }
	var pairs []pair
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' }) {
		part = repairEscapes(part)
		k, v, hasValue := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			pairs = append(pairs, pair{k, part})
			continue
		}
		if key == "" || isTracking(key) {
			continue
		}
		text := url.QueryEscape(key)
		if val, err := url.QueryUnescape(v); err == nil {
			if hasValue {
				text += "=" + url.QueryEscape(val)
			}
		} else {
			text += "=" + v
		}
		pairs = append(pairs, pair{key, text})
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].key < pairs[j].key })
	texts := make([]string, len(pairs))
	for i, p := range pairs {
		texts[i] = p.text
	}
	return strings.Join(texts, "&")
}

// repairEscapes percent-encodes what a browser would have: a "%" that starts
// no escape, spaces, control bytes and bytes outside ASCII. The result always
// decodes, so the canonical form of a URL is its own canonical form.
func repairEscapes(s string) string {
	const hexDigits = "0123456789ABCDEF"
	isHex := func(c byte) bool {
		return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		case c == '%' || c <= ' ' || c >= 0x7f:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
