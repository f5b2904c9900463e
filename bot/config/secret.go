package config

import (
	"encoding/json"
	"net/url"
	"regexp"
)

// Secret is a configuration value that must never be printed: it formats as
// "<secret>" with every fmt verb that uses String, and marshals that way to
// JSON and YAML. Reveal returns the value for the one place that needs it.
type Secret string

// String masks the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString masks the secret for %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON masks the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML masks the secret.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Reveal returns the secret itself. Callers pass it straight to the code that
// uses it and never log it.
func (s Secret) Reveal() string { return string(s) }

// sensitiveQuery matches query parameter names whose values are secrets.
var sensitiveQuery = regexp.MustCompile(`(?i)(secret|token|key|sign|nonce|digest|password)`)

// RedactURL returns raw with its password and every secret-looking query
// value replaced by "REDACTED"; it returns "<secret>" when raw does not parse.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<secret>"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		if sensitiveQuery.MatchString(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
