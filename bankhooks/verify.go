package bankhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// defaultMaxSkew is the timestamp window of every built-in scheme when
// VerifyOptions.MaxSkew is zero: Stripe's DefaultTolerance, the Standard
// Webhooks library's tolerance, and what Opn integrations use.
const defaultMaxSkew = 5 * time.Minute

// skew returns the window to apply: opts.MaxSkew, or the default when it is
// zero or negative.
func (o VerifyOptions) skew() time.Duration {
	if o.MaxSkew <= 0 {
		return defaultMaxSkew
	}
	return o.MaxSkew
}

// checkWindow fails closed when ts is further than skew from now, in either
// direction. A zero now (a caller that forgot the clock) puts every real
// timestamp outside the window.
func checkWindow(ts, now time.Time, skew time.Duration) error {
	d := now.Sub(ts) // saturates instead of overflowing
	switch {
	case d > skew:
		return fmt.Errorf("%w: signed %s ago, max skew %s", ErrTimestampOutOfWindow, roundAge(d), skew)
	case d < -skew:
		return fmt.Errorf("%w: signed %s in the future, max skew %s", ErrTimestampOutOfWindow, roundAge(-d), skew)
	}
	return nil
}

// roundAge shortens a duration for an error message.
func roundAge(d time.Duration) time.Duration {
	return d.Round(time.Second)
}

// hmacSHA256 returns HMAC-SHA256(key, parts...).
func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// matchKeys finds the key whose MAC is among sigs.
//
// Every key is tried, active or not, so that a signature made with an
// expired key is reported as ErrKeyExpired rather than as a plain mismatch.
// Keys with empty material are never used: an HMAC under an empty key is
// computable by anyone. The result, in order of precedence: the Name of an
// active matching key; ErrKeyExpired when only expired keys match;
// ErrNoActiveKey when there is no usable active key; ErrSignatureMismatch.
// Failure policy: fails closed; every path but an active match is an error.
func matchKeys(keys []Key, now time.Time, mac func(key []byte) []byte, sigs [][]byte) (string, error) {
	var expiredMatch *Key
	active := 0
	for i := range keys {
		k := &keys[i]
		if len(k.Material) == 0 {
			continue
		}
		isActive := k.ActiveAt(now)
		if isActive {
			active++
		}
		want := mac(k.Material)
		for _, sig := range sigs {
			if !hmac.Equal(want, sig) {
				continue
			}
			if isActive {
				return k.Name, nil
			}
			if expiredMatch == nil {
				expiredMatch = k
			}
		}
	}
	switch {
	case expiredMatch != nil:
		return "", fmt.Errorf("%w: key %q expired at %s", ErrKeyExpired, expiredMatch.Name,
			expiredMatch.Expires.UTC().Format(time.RFC3339))
	case active == 0:
		return "", fmt.Errorf("%w: %d configured, none active and non-empty", ErrNoActiveKey, len(keys))
	}
	return "", fmt.Errorf("%w: tried %d active key(s) against %d signature(s)", ErrSignatureMismatch, active, len(sigs))
}

// headerValues returns every value of the named header. It uses the
// canonical key first and falls back to a case-insensitive scan, so headers
// built by hand with lower-case keys (http.Header{"webhook-id": …}) are
// found too.
func headerValues(h http.Header, name string) []string {
	if v := h.Values(name); len(v) > 0 {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// headerValue returns the first value of the named header, or "".
func headerValue(h http.Header, name string) string {
	if v := headerValues(h, name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// signingKeys checks the keys Sign was given and returns their material.
func signingKeys(provider string, keys []Key) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: sign: %w: no keys given", provider, ErrNoActiveKey)
	}
	out := make([][]byte, 0, len(keys))
	for _, k := range keys {
		if len(k.Material) == 0 {
			return nil, fmt.Errorf("%s: sign: key %q is empty", provider, k.Name)
		}
		out = append(out, k.Material)
	}
	return out, nil
}

// errEmptySecret is returned by DecodeKey for a blank secret.
var errEmptySecret = errors.New("secret is empty")
