package bankhooks

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Mapping is where a generic source's body keeps the canonical event's
// fields: each is a simple dotted JSON path (letters, digits, _ and -
// separated by dots, read with gjson), empty when the body has no such
// field. It mirrors the `event:` block of a `provider: generic` source.
type Mapping struct {
	// ID is the provider's event id, the dedupe key. When the body has
	// none, the Scheme's IDHeader value is used, else BodyID(body).
	ID string
	// Type is the provider's own event type; when empty, the value at
	// KindPath is the type.
	Type string
	// KindPath is the value that decides the kind; KindMap maps its values
	// (matched case-insensitively) to canonical kinds. An unmapped value is
	// KindOther.
	KindPath string
	KindMap  map[string]Kind
	// Amount is the amount; AmountUnit says whether it is in minor units
	// (an integer) or major units (a decimal, as a JSON string or number
	// text: "1234.50" is parsed exactly with ParseMajor, never as a float).
	// Required with Amount; Currency too.
	Amount     string
	AmountUnit string
	Currency   string
	// Reference, Account, Counterparty, Description: strings (numbers are
	// taken as written).
	Reference    string
	Account      string
	Counterparty string
	Description  string
	// FailureCode and FailureMessage are kept for failure kinds only.
	FailureCode    string
	FailureMessage string
	// OccurredAt is an RFC 3339 string or a unix time number (seconds, or
	// milliseconds when above 10^11).
	OccurredAt string
}

// Generic is a provider configured entirely by a Scheme and a Mapping
// (`provider: generic`).
type Generic struct {
	v       *Verifier
	m       Mapping
	kindMap map[string]Kind // lower-case keys
	// sampleTypes are the KindMap keys as configured, the first mapping to
	// a success kind when there is one.
	sampleTypes []string
}

var _ Provider = (*Generic)(nil)

// NewGeneric compiles a generic provider. The problems of s and m are
// reported together, as one *SchemeError (fields "signature.…" and
// "event.…").
func NewGeneric(s Scheme, m Mapping) (*Generic, error) {
	var e SchemeError
	s.name = "generic"
	v := compileScheme(s, &e)
	g := &Generic{v: v, m: m, kindMap: map[string]Kind{}}
	const f = "event."
	for _, p := range []struct{ key, path string }{
		{"id", m.ID}, {"type", m.Type}, {"kind.path", m.KindPath}, {"amount", m.Amount},
		{"currency", m.Currency}, {"reference", m.Reference}, {"account", m.Account},
		{"counterparty", m.Counterparty}, {"description", m.Description},
		{"failure_code", m.FailureCode}, {"failure_message", m.FailureMessage},
		{"occurred_at", m.OccurredAt},
	} {
		if p.path != "" && !simplePath(p.path) {
			e.add(f+p.key, "%q is not a simple dotted JSON path (letters, digits, _ and - separated by dots, e.g. data.amount)", p.path)
		}
	}
	switch m.AmountUnit {
	case "":
		if m.Amount != "" {
			e.add(f+"amount_unit", "required with amount: minor (integer in the currency's smallest unit) or major (decimal such as \"1234.50\")")
		}
	case "minor", "major":
		if m.Amount == "" {
			e.add(f+"amount_unit", "set but event.amount is not")
		}
	default:
		e.add(f+"amount_unit", "unknown %q (one of minor, major)", m.AmountUnit)
	}
	if m.Amount != "" && m.Currency == "" {
		e.add(f+"currency", "required with amount: the JSON path of the ISO 4217 currency code")
	}
	if len(m.KindMap) > 0 && m.KindPath == "" {
		e.add(f+"kind.path", "required with kind.map: the JSON path of the value that decides the kind")
	}
	if m.KindPath != "" && len(m.KindMap) == 0 {
		e.add(f+"kind.map", "required with kind.path: map the provider's values to kinds, e.g. {SUCCESS: payment.succeeded}")
	}
	keys := make([]string, 0, len(m.KindMap))
	for k := range m.KindMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]string{}
	for _, k := range keys {
		kind := m.KindMap[k]
		lk := strings.ToLower(k)
		switch {
		case k == "":
			e.add(f+"kind.map", "an empty value cannot be mapped")
		case seen[lk] != "":
			e.add(f+"kind.map."+k, "given twice (%s and %s): values are matched case-insensitively", seen[lk], k)
		case !kind.Valid() || kind == KindUnreadable:
			e.add(f+"kind.map."+k, "%q is not a canonical kind (one of %s)", string(kind), mappableKinds())
		}
		seen[lk] = k
		g.kindMap[lk] = kind
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	g.sampleTypes = sampleOrder(keys, m.KindMap)
	return g, nil
}

// mappableKinds lists the kinds a kind.map may name.
func mappableKinds() string {
	var ks []string
	for _, k := range Kinds() {
		if k != KindUnreadable {
			ks = append(ks, string(k))
		}
	}
	return strings.Join(ks, ", ")
}

// sampleOrder puts a value mapping to payment.succeeded (else any
// non-failure kind) first.
func sampleOrder(keys []string, m map[string]Kind) []string {
	if len(keys) == 0 {
		return []string{genericSampleType}
	}
	out := append([]string(nil), keys...)
	best := -1
	for i, k := range out {
		if m[k] == KindPaymentSucceeded {
			best = i
			break
		}
		if best < 0 && !m[k].Failed() && m[k] != KindOther {
			best = i
		}
	}
	if best > 0 {
		out[0], out[best] = out[best], out[0]
	}
	return out
}

// genericSampleType is the one sample type of a mapping without kind.map.
const genericSampleType = "event"

// Name returns "generic".
func (*Generic) Name() string { return "generic" }

// Verifier returns the compiled signing scheme.
func (g *Generic) Verifier() *Verifier { return g.v }

// DecodeKey decodes a secret by the scheme's key_encoding.
func (g *Generic) DecodeKey(secret string) ([]byte, error) { return g.v.DecodeKey(secret) }

// Verify checks the request by the scheme.
func (g *Generic) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	return g.v.Verify(r, keys, opts)
}

// Sign signs body by the scheme (see Verifier.Sign).
func (g *Generic) Sign(body []byte, keys []Key, now time.Time, id string) (Signed, error) {
	return g.v.Sign(body, keys, now, id)
}

// text returns a field's value as text: a string's value, a number's or
// boolean's JSON text; "" when absent, null, an object or an array.
func text(res gjson.Result) string {
	switch res.Type {
	case gjson.String:
		return res.Str
	case gjson.Number, gjson.True, gjson.False:
		return res.Raw
	}
	return ""
}

// Parse reads the canonical Event from a JSON body by the mapping. A body
// that is not a JSON object, an amount or currency that cannot be read, or
// a time that is neither RFC 3339 nor a unix number is ErrMalformedPayload.
func (g *Generic) Parse(r Request) (Event, error) {
	if !gjson.ValidBytes(r.Body) {
		return Event{}, malformed("not JSON")
	}
	root := gjson.ParseBytes(r.Body)
	if !root.IsObject() {
		return Event{}, malformed("not a JSON object")
	}
	m := &g.m
	get := func(path string) gjson.Result {
		if path == "" {
			return gjson.Result{}
		}
		return root.Get(path)
	}
	kindVal := text(get(m.KindPath))
	ev := Event{
		Provider:     "generic",
		Type:         firstNonEmpty(text(get(m.Type)), kindVal, genericSampleType),
		Kind:         KindOther,
		Reference:    text(get(m.Reference)),
		Account:      text(get(m.Account)),
		Counterparty: text(get(m.Counterparty)),
		Description:  text(get(m.Description)),
		Livemode:     true, // a generic scheme has no test mode we can see
	}
	if k, ok := g.kindMap[strings.ToLower(kindVal)]; ok && kindVal != "" {
		ev.Kind = k
	}
	if ev.Kind.Failed() {
		ev.FailureCode = text(get(m.FailureCode))
		ev.FailureMessage = text(get(m.FailureMessage))
	}
	ev.ID = eventID(text(get(m.ID)))
	if ev.ID == "" && g.v.idHeader != "" {
		ev.ID = eventID(strings.TrimSpace(firstHeader(r.Header, g.v.idHeader)))
	}
	if ev.ID == "" {
		ev.ID = BodyID(r.Body)
	}

	if m.Amount != "" {
		amt, cur := get(m.Amount), get(m.Currency)
		if cur.Exists() && cur.Type != gjson.Null && cur.Type != gjson.String {
			return Event{}, malformed("currency at %s is not a string", m.Currency)
		}
		if cur.Str != "" {
			c, err := NormalizeCurrency(cur.Str)
			if err != nil {
				return Event{}, malformed("currency: %w", err)
			}
			ev.Currency = c
		}
		switch amt.Type {
		case gjson.Null:
		case gjson.Number, gjson.String:
			s := text(amt)
			if ev.Currency == "" {
				return Event{}, malformed("amount %s has no currency", truncate(s, 40))
			}
			var err error
			if m.AmountUnit == "major" {
				ev.Amount, err = ParseMajor(s, ev.Currency)
			} else {
				ev.Amount, err = AmountFromJSON(json.Number(s))
			}
			if err != nil {
				return Event{}, malformed("amount: %w", err)
			}
		default:
			return Event{}, malformed("amount at %s is not a number or a string", m.Amount)
		}
	}

	if m.OccurredAt != "" {
		t := get(m.OccurredAt)
		switch t.Type {
		case gjson.Null:
		case gjson.String:
			var err error
			if ev.OccurredAt, err = parseTime("occurred_at", t.Str); err != nil {
				return Event{}, err
			}
		case gjson.Number:
			n, err := strconv.ParseInt(t.Raw, 10, 64)
			if err != nil || n < 0 {
				return Event{}, malformed("occurred_at %s is not a unix time", truncate(t.Raw, 40))
			}
			if n > 1e11 {
				ev.OccurredAt = time.UnixMilli(n).UTC()
			} else {
				ev.OccurredAt = time.Unix(n, 0).UTC()
			}
		default:
			return Event{}, malformed("occurred_at is not a time")
		}
	}
	return ev, nil
}

// eventID returns id when it can be a dedupe key, else "".
func eventID(id string) string {
	if id == "" || len(id) > maxUnreadableID || !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		return ""
	}
	return id
}

// SampleTypes are the kind.map values as configured (lower case: bankbot's
// config loader lower-cases map keys), one mapping to payment.succeeded
// first; "event" when there is no kind.map.
func (g *Generic) SampleTypes() []string { return append([]string(nil), g.sampleTypes...) }

// Sample builds a body with a value at every mapped path (objects are
// created along dotted paths), so that `bankbot simulate` works for a
// generic source. eventType is a kind.map value, written at kind.path.
func (g *Generic) Sample(eventType string, p SampleParams) ([]byte, error) {
	if eventType == "" {
		eventType = g.sampleTypes[0]
	}
	kind := KindOther
	if len(g.kindMap) > 0 {
		k, ok := g.kindMap[strings.ToLower(eventType)]
		if !ok {
			return nil, fmt.Errorf("generic: sample %q: %w (known: %s)", eventType, ErrUnknownEventType, strings.Join(g.sampleTypes, ", "))
		}
		kind = k
	} else if eventType != genericSampleType {
		return nil, fmt.Errorf("generic: sample %q: %w (known: %s)", eventType, ErrUnknownEventType, genericSampleType)
	}
	sp, err := sampleDefaults(p, "THB")
	if err != nil {
		return nil, fmt.Errorf("generic: sample: %w", err)
	}
	suffix := sampleSuffix(p.Now)
	m := &g.m
	doc := map[string]any{}
	set := func(path string, v any) error {
		if path == "" {
			return nil
		}
		return setPath(doc, strings.Split(path, "."), v)
	}
	var amount any = sp.Amount
	if m.AmountUnit == "major" {
		s, err := FormatMajor(sp.Amount, sp.Currency)
		if err != nil {
			return nil, fmt.Errorf("generic: sample: %w", err)
		}
		amount = s
	}
	fields := []struct {
		path string
		v    any
	}{
		{m.ID, firstNonEmpty(p.ID, "evt_"+suffix)},
		{m.KindPath, eventType},
		{m.Type, eventType},
		{m.Reference, "INV-" + strings.ToUpper(suffix[len(suffix)-6:])},
		{m.Account, "6789"},
		{m.Counterparty, "Somchai Jaidee"},
		{m.Description, "Order " + suffix[len(suffix)-6:]},
		{m.OccurredAt, p.Now.UTC().Format(time.RFC3339)},
	}
	if m.Amount != "" {
		fields = append(fields, struct {
			path string
			v    any
		}{m.Amount, amount}, struct {
			path string
			v    any
		}{m.Currency, sp.Currency})
	}
	if kind.Failed() {
		fields = append(fields, struct {
			path string
			v    any
		}{m.FailureCode, "insufficient_funds"}, struct {
			path string
			v    any
		}{m.FailureMessage, "The payer's account has insufficient funds."})
	}
	for _, fl := range fields {
		if err := set(fl.path, fl.v); err != nil {
			return nil, fmt.Errorf("generic: sample: %w", err)
		}
	}
	return json.Marshal(doc)
}

// setPath sets doc[path…] = v, creating objects along the way. A path
// already set (two mapped fields at one path) keeps its first value.
func setPath(doc map[string]any, path []string, v any) error {
	for i, k := range path {
		if i == len(path)-1 {
			if _, ok := doc[k]; !ok {
				doc[k] = v
			} else if _, isObj := doc[k].(map[string]any); isObj {
				return fmt.Errorf("%s is both an object and a value in the mapping", strings.Join(path, "."))
			}
			return nil
		}
		next, ok := doc[k]
		if !ok {
			child := map[string]any{}
			doc[k] = child
			doc = child
			continue
		}
		child, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is both a value and an object in the mapping", strings.Join(path[:i+1], "."))
		}
		doc = child
	}
	return nil
}
