// Package token makes and checks the signed links Herald puts in emails
// (confirm, manage, unsubscribe): a subscriber id, a purpose and an expiry,
// signed with HMAC-SHA256 under HERALD_SECRET. A token for one purpose is
// refused for another.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Purposes of a token.
const (
	Confirm     = "confirm"
	Manage      = "manage"
	Unsubscribe = "unsub"
	// Link confirms that an email address joins a Telegram chat's topics;
	// its subject is "EMAIL-READER-ID CHAT-ID".
	Link = "link"
	// Form and CSRF protect forms: Form the sign-up page (subject: the
	// page), CSRF the pages of one subscriber (subject: page and id).
	Form = "form"
	CSRF = "csrf"
)

var (
	ErrInvalid = errors.New("invalid link")
	ErrExpired = errors.New("expired link")
)

var enc = base64.RawURLEncoding

// Sign returns a token naming subject for purpose, valid until expires.
// A subject must not contain "|".
func Sign(secret []byte, purpose, subject string, expires time.Time) string {
	payload := purpose + "|" + subject + "|" + strconv.FormatInt(expires.Unix(), 10)
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(mac(secret, payload))
}

// Verify checks a token for purpose and returns its subject.
func Verify(secret []byte, purpose, tok string, now time.Time) (string, error) {
	p, s, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 1024 {
		return "", ErrInvalid
	}
	payload, err1 := enc.DecodeString(p)
	sig, err2 := enc.DecodeString(s)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, mac(secret, string(payload))) {
		return "", ErrInvalid
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 || parts[0] != purpose || parts[1] == "" {
		return "", ErrInvalid
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", ErrInvalid
	}
	if now.Unix() > exp {
		return "", ErrExpired
	}
	return parts[1], nil
}

func mac(secret []byte, payload string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(payload))
	return h.Sum(nil)
}
