package bankhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// hookObject is a JSON object with its members kept raw. The Airwallex,
// Xendit and Midtrans parsers read their bodies through it: each field is
// taken only when it has the expected JSON type, so a provider adding or
// retyping a field it does not matter to us never makes an authentic event
// unreadable. Member names match exactly; of a repeated name the last wins
// (as with encoding/json).
type hookObject map[string]json.RawMessage

// decodeHookObject decodes b, which must be exactly one JSON object (white
// space around it is allowed, anything after it is not).
func decodeHookObject(b []byte) (hookObject, error) {
	var o hookObject
	if err := decodeJSON(b, &o); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, errNotObject
	}
	return o, nil
}

// Errors of decodeHookObject and scalarText.
var (
	errNotObject = errors.New("expected a JSON object")
	errNotScalar = errors.New("expected a string or a number")
)

// has reports whether the member is present and not null.
func (o hookObject) has(name string) bool {
	v, ok := o[name]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// str returns the member's value when it is a JSON string, else "".
func (o hookObject) str(name string) string {
	v := bytes.TrimSpace(o[name])
	if len(v) == 0 || v[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// obj returns the member's value when it is a JSON object, else nil.
func (o hookObject) obj(name string) hookObject {
	v := bytes.TrimSpace(o[name])
	if len(v) == 0 || v[0] != '{' {
		return nil
	}
	var m hookObject
	if json.Unmarshal(v, &m) != nil {
		return nil
	}
	return m
}

// scalarText returns the text of a string or number member exactly as sent:
// the unescaped string, or the number's literal ("100000.00", "16.66").
// present is false for an absent or null member; err is set for any other
// JSON type (an object, an array, a boolean).
func (o hookObject) scalarText(name string) (text string, present bool, err error) {
	v := bytes.TrimSpace(o[name])
	switch {
	case len(v) == 0 || bytes.Equal(v, []byte("null")):
		return "", false, nil
	case v[0] == '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			return "", false, err
		}
		return string(n), true, nil
	}
	return "", false, errNotScalar
}

// majorMoney turns an amount in major units, as text ("100000.00", "16.66",
// "10000"), and a currency code into the Event's Amount (minor units, never
// negative) and Currency, exactly (ParseMajor; no floating point). An empty
// amount is 0; an amount without a currency is malformed.
func majorMoney(field, amount, cur string) (int64, string, error) {
	if strings.TrimSpace(cur) == "" {
		if amount != "" {
			return 0, "", malformed("%s %q has no currency", field, truncate(amount, 40))
		}
		return 0, "", nil
	}
	c, err := NormalizeCurrency(cur)
	if err != nil {
		return 0, "", malformed("currency: %w", err)
	}
	if amount == "" {
		return 0, c, nil
	}
	v, err := ParseMajor(amount, c)
	if err != nil {
		return 0, "", malformed("%s: %w", field, err)
	}
	if v < 0 {
		return 0, "", malformed("%s %q is negative", field, truncate(amount, 40))
	}
	return v, c, nil
}

// amountField reads a major-unit amount member (a string or a number).
func (o hookObject) amountField(name string) (string, error) {
	s, _, err := o.scalarText(name)
	if err != nil {
		return "", malformed("%s: %v", name, err)
	}
	return s, nil
}
