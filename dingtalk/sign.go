package dingtalk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// CallbackWindow is how far the timestamp of a signed request may be from the
// receiver's clock, in either direction: DingTalk rejects a robot send whose
// timestamp is more than one hour off, and requires the same of its own HTTP
// callbacks (dingtalk.md §1.2, §6.2).
const CallbackWindow = time.Hour

// Errors returned by VerifyCallback. Each is wrapped, so use errors.Is.
var (
	// ErrCallbackNoSecret: no app secret is configured; verification fails closed.
	ErrCallbackNoSecret = errors.New("dingtalk callback: no app secret configured")
	// ErrCallbackMissing: the timestamp or sign header is absent.
	ErrCallbackMissing = errors.New("dingtalk callback: missing timestamp or sign header")
	// ErrCallbackTimestamp: the timestamp is not a millisecond count or is
	// more than CallbackWindow away from now.
	ErrCallbackTimestamp = errors.New("dingtalk callback: timestamp invalid or outside the 1 hour window")
	// ErrCallbackSign: the sign header does not match the app secret.
	ErrCallbackSign = errors.New("dingtalk callback: sign does not match")
)

// Sign returns DingTalk's signature for a millisecond timestamp: the standard
// Base64 (with padding, not URL-encoded) of HMAC-SHA256 keyed by the whole
// secret (including its "SEC" prefix for a custom robot) over
// timestamp + "\n" + secret (dingtalk.md §1.2).
//
// The same function verifies inbound callbacks, where secret is the app's
// Client Secret (§6.2).
func Sign(secret string, tsMillis int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(tsMillis, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignQuery sets the timestamp and sign parameters on q, replacing any
// earlier values. url.Values.Encode then percent-encodes the Base64 sign
// exactly once (never QueryEscape it yourself as well: that double-encodes).
func SignQuery(q url.Values, secret string, tsMillis int64) {
	q.Set("timestamp", strconv.FormatInt(tsMillis, 10))
	q.Set("sign", Sign(secret, tsMillis))
}

// SignURL returns a copy of u whose query carries timestamp and sign for
// tsMillis, each exactly once; u itself is not modified. The other query
// parameters (access_token) are kept.
func SignURL(u *url.URL, secret string, tsMillis int64) *url.URL {
	c := *u
	q := c.Query()
	SignQuery(q, secret, tsMillis)
	c.RawQuery = q.Encode()
	return &c
}

// VerifyCallback checks the timestamp and sign headers of an inbound DingTalk
// HTTP callback (dingtalk.md §6.2): timestamp is milliseconds since the epoch
// within CallbackWindow of now in either direction, and sign is the raw
// (not URL-encoded) Base64 of Sign(appSecret, timestamp), compared in constant
// time.
//
// Failure policy: fails closed. An empty secret, a missing header, an
// unparsable timestamp or any mismatch is an error wrapping one of the
// ErrCallback* sentinels; the error never contains the secret or the sign.
func VerifyCallback(appSecret, timestampHeader, signHeader string, now time.Time) error {
	if appSecret == "" {
		return ErrCallbackNoSecret
	}
	if timestampHeader == "" || signHeader == "" {
		return ErrCallbackMissing
	}
	ts, err := parseMillis(timestampHeader)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCallbackTimestamp, err)
	}
	skew := now.Sub(time.UnixMilli(ts))
	if skew > CallbackWindow || skew < -CallbackWindow {
		return fmt.Errorf("%w: off by %s", ErrCallbackTimestamp, skew.Round(time.Second))
	}
	want := Sign(appSecret, ts)
	if !hmac.Equal([]byte(want), []byte(signHeader)) {
		return ErrCallbackSign
	}
	return nil
}

// parseMillis parses a decimal millisecond timestamp made of ASCII digits only
// (no sign, no spaces), of at most 16 digits so that time.UnixMilli cannot
// overflow.
func parseMillis(s string) (int64, error) {
	if len(s) == 0 || len(s) > 16 {
		return 0, errors.New("not a millisecond timestamp")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a millisecond timestamp")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
