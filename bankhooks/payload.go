package bankhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// decodeJSON decodes one JSON value from b into v, keeping numbers as
// json.Number, and rejects trailing data after the value. It is the exact
// decoders' reader (see decodeOnce).
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

// decodeOnce decodes body into doc, a provider's document type, in one
// pass, nested objects included. It reports false when body must instead go
// through the provider's exact decoder (the envelope first, with its nested
// object kept raw, then that object on its own: what Parse has always done):
//
//   - when encoding/json refuses body: the exact decoder then returns the
//     error text Parse has always returned (bankbot sends it back to the
//     caller), or accepts the few bodies a single json.Unmarshal refuses but
//     it does not, such as a value followed by white space other than JSON's;
//   - when body has two or more members that could be the nested object
//     (named nested under encoding/json's matching, with an object value):
//     the exact decoder keeps only the last one, a single pass would merge
//     them.
//
// Both are rare in what providers send; every other body is decoded once.
// doc must hold no interface values: json.Unmarshal has no UseNumber (the
// documents' number fields are json.Number, so it is not needed).
func decodeOnce(body []byte, doc any, nested string) bool {
	return objectMembers(body, nested) < 2 && json.Unmarshal(body, doc) == nil
}

// objectMembers counts, up to 2, the members of the JSON text b, at any
// depth, whose value is an object and whose name encoding/json would match
// to a field named name (bytes.EqualFold of the unescaped name; it is what
// encoding/json compares). A name written with escapes is counted whatever
// it spells. In a valid JSON text it never counts fewer than there are; it
// may count more (text inside a string can look like a member), which only
// sends a body to the exact decoder. It does not allocate.
func objectMembers(b []byte, name string) int {
	n := 0
	for off := 0; n < 2; {
		i := bytes.IndexByte(b[off:], '{')
		if i < 0 {
			break
		}
		i += off
		off = i + 1
		// A member "name": {…} is '"', white space, ':', white space, '{'.
		j := skipSpaceBack(b, i-1)
		if j < 0 || b[j] != ':' {
			continue
		}
		j = skipSpaceBack(b, j-1)
		if j < 0 || b[j] != '"' || precedingBackslashes(b, j)%2 != 0 {
			continue // an escaped quote is inside a string: not a member
		}
		// The name's opening quote is the nearest '"' before it that is not
		// escaped (an even number of backslashes precede it). Each '"' ends
		// at most one such walk and the walks do not overlap, so the count
		// is linear in len(b), whatever b holds.
		k := j - 1
		for ; k >= 0; k-- {
			if b[k] == '"' && precedingBackslashes(b, k)%2 == 0 {
				break
			}
		}
		if k < 0 {
			continue
		}
		key := b[k+1 : j]
		if bytes.IndexByte(key, '\\') >= 0 || bytes.EqualFold(key, []byte(name)) {
			n++
		}
	}
	return n
}

// skipSpaceBack returns the index of the last byte at or before i that is
// not JSON white space, or -1.
func skipSpaceBack(b []byte, i int) int {
	for ; i >= 0; i-- {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return i
		}
	}
	return -1
}

// precedingBackslashes counts the backslashes immediately before b[i].
func precedingBackslashes(b []byte, i int) int {
	n := 0
	for i--; i >= 0 && b[i] == '\\'; i-- {
		n++
	}
	return n
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
