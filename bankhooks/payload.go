package bankhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// decodeJSON decodes one JSON value from b into v, keeping numbers as
// json.Number, and rejects trailing data after the value.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// malformed wraps ErrMalformedPayload with a description of what is wrong.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedPayload}, args...)...)
}

// objectRef is a provider reference that is either an id string or an
// expanded object with an "id" (Stripe's expandable fields, Opn's
// refund.charge).
type objectRef struct {
	ID string
	// Raw is the expanded object, nil when the reference was a plain id.
	Raw json.RawMessage
}

// UnmarshalJSON accepts null, "id" or {"id": …, …}.
func (r *objectRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &r.ID)
	case len(b) > 0 && b[0] == '{':
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		r.ID = o.ID
		r.Raw = append(json.RawMessage(nil), b...)
		return nil
	}
	return fmt.Errorf("expected an id string or an object")
}

// money turns a provider's minor-unit amount and currency into the Event's
// Amount and Currency. An absent amount is 0; an amount without a currency
// is malformed, since it could not be formatted.
func money(amount json.Number, cur string) (int64, string, error) {
	var v int64
	if amount != "" {
		var err error
		if v, err = AmountFromJSON(amount); err != nil {
			return 0, "", malformed("amount: %w", err)
		}
	}
	if cur == "" {
		if v != 0 {
			return 0, "", malformed("amount %d has no currency", v)
		}
		return 0, "", nil
	}
	c, err := NormalizeCurrency(cur)
	if err != nil {
		return 0, "", malformed("currency: %w", err)
	}
	return v, c, nil
}

// parseTime parses an RFC 3339 / ISO 8601 timestamp into UTC. The empty
// string is the zero time.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, malformed("%s %q is not an RFC 3339 time", field, truncate(s, 40))
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
