package bankhooks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers (lower case, as the spec writes them; http.Header
// canonicalises them).
const (
	StandardWebhooksIDHeader        = "webhook-id"
	StandardWebhooksTimestampHeader = "webhook-timestamp"
	StandardWebhooksSignatureHeader = "webhook-signature"
)

// StandardWebhooks is the Standard Webhooks scheme (standardwebhooks.com),
// symmetric variant, as implemented by the reference Go library
// (standard-webhooks/libraries v0.0.1, go/webhook.go).
//
// Signature: webhook-signature is a space-separated list of
// "<version>,<base64>" entries; only v1 entries are considered (v1a, the
// Ed25519 variant, is ignored like the Go library does). A v1 signature is
// base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>")),
// the timestamp being the decimal unix seconds parsed from
// webhook-timestamp. Any v1 entry matching any active key verifies. The
// timestamp must be within VerifyOptions.MaxSkew of now, both ways (default
// 5m, the library's tolerance).
//
// Event: ID is the webhook-id header, which the spec keeps stable across
// retries. The body is the spec's recommended envelope
// {"type", "timestamp", "data"}. Kind: a type equal to a canonical kind
// ("payment.succeeded"), or ending in "." plus one ("acme.payment.failed"),
// compared case-insensitively, is that kind; any other type is other.
// bankbot reads these optional data fields: amount (JSON integer, minor
// units), currency (ISO 4217), reference (else id), account, counterparty,
// description, failure_code and failure_message (kept for failure kinds
// only), livemode (boolean; true when absent, since the scheme has no test
// mode of its own). OccurredAt is
// timestamp (ISO 8601), else the webhook-timestamp header.
type StandardWebhooks struct{}

var _ Provider = StandardWebhooks{}

// Name returns "standardwebhooks".
func (StandardWebhooks) Name() string { return "standardwebhooks" }

// DecodeKey strips the "whsec_" prefix (optional, as in the library) and
// base64-decodes the rest. Asymmetric keys (whsk_, whpk_) are refused: this
// implementation verifies v1 (HMAC) signatures only.
func (StandardWebhooks) DecodeKey(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	if s == "" {
		return nil, fmt.Errorf("standardwebhooks: %w", errEmptySecret)
	}
	if strings.HasPrefix(s, "whsk_") || strings.HasPrefix(s, "whpk_") {
		return nil, fmt.Errorf("standardwebhooks: asymmetric (v1a, whsk_/whpk_) keys are not supported; use the whsec_ symmetric secret")
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if err != nil {
		return nil, fmt.Errorf("standardwebhooks: secret is not whsec_ followed by standard base64")
	}
	if len(k) == 0 {
		return nil, fmt.Errorf("standardwebhooks: secret decodes to zero bytes")
	}
	return k, nil
}

// Verify checks webhook-id, webhook-timestamp and webhook-signature (the
// standardWebhooksScheme preset).
func (StandardWebhooks) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	return standardWebhooksScheme.Verify(r, keys, opts)
}

// Sign returns the headers a Standard Webhooks sender would send, one v1
// entry per key. An empty id is replaced by "msg_" and a hash of the body,
// so re-signing the same body keeps the same id (as a retry would). An id
// containing '.' is refused, as the spec requires.
func (StandardWebhooks) Sign(body []byte, keys []Key, now time.Time, id string) (Signed, error) {
	return standardWebhooksScheme.Sign(body, keys, now, id)
}

// standardEnvelope is the recommended Standard Webhooks payload as the
// exact decoder reads it, data kept raw (see decodeOnce). encoding/json
// names this type and standardData in its error messages, which Parse
// returns: neither is renamed or reshaped.
type standardEnvelope struct {
	Type      *string         `json:"type"`
	Timestamp *string         `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// standardDocument is the payload as Parse reads it in one pass. The outer
// Data, being shallower, takes the "data" member from the embedded
// envelope's, which stays nil; nil Data is an absent or null "data". A data
// that is not an object fails the single pass (and the exact decoder
// reports it).
type standardDocument struct {
	standardEnvelope
	Data *standardData `json:"data"`
}

// standardData is the part of data that Parse reads.
type standardData struct {
	ID             string      `json:"id"`
	Reference      string      `json:"reference"`
	Amount         json.Number `json:"amount"`
	Currency       string      `json:"currency"`
	Account        string      `json:"account"`
	Counterparty   string      `json:"counterparty"`
	Description    string      `json:"description"`
	FailureCode    string      `json:"failure_code"`
	FailureMessage string      `json:"failure_message"`
	Livemode       *bool       `json:"livemode"`
}

// Parse turns a Standard Webhooks request into the canonical Event.
func (StandardWebhooks) Parse(r Request) (Event, error) {
	id := headerValue(r.Header, StandardWebhooksIDHeader)
	if id == "" {
		return Event{}, malformed("missing %s header", StandardWebhooksIDHeader)
	}
	var doc standardDocument
	if !decodeOnce(r.Body, &doc, "data") {
		return standardParseExact(r, id)
	}
	if err := standardCheck(&doc.standardEnvelope); err != nil {
		return Event{}, err
	}
	d := doc.Data
	if d == nil {
		d = &standardData{}
	}
	return standardToEvent(r, id, &doc.standardEnvelope, d)
}

// standardParseExact is Parse for the bodies decodeOnce leaves to it: the
// envelope first, then data on its own.
func standardParseExact(r Request, id string) (Event, error) {
	var env standardEnvelope
	if err := decodeJSON(r.Body, &env); err != nil {
		return Event{}, malformed("not a JSON object: %v", err)
	}
	if err := standardCheck(&env); err != nil {
		return Event{}, err
	}
	var d standardData
	if len(env.Data) > 0 && string(env.Data) != "null" {
		if env.Data[0] != '{' {
			return Event{}, malformed("data is not an object")
		}
		if err := decodeJSON(env.Data, &d); err != nil {
			return Event{}, malformed("data: %v", err)
		}
	}
	return standardToEvent(r, id, &env, &d)
}

// standardCheck checks that the payload has a type.
func standardCheck(env *standardEnvelope) error {
	if env.Type == nil || *env.Type == "" {
		return malformed("missing %q", "type")
	}
	return nil
}

// standardToEvent maps a decoded payload (env's Data is not used) and its
// data to the canonical Event; id is the webhook-id header.
func standardToEvent(r Request, id string, env *standardEnvelope, d *standardData) (Event, error) {
	ev := Event{
		Provider:     "standardwebhooks",
		ID:           id,
		Type:         *env.Type,
		Kind:         standardKind(*env.Type),
		Reference:    firstNonEmpty(d.Reference, d.ID),
		Account:      d.Account,
		Counterparty: d.Counterparty,
		Description:  d.Description,
		Livemode:     d.Livemode == nil || *d.Livemode,
	}
	if ev.Kind.Failed() {
		ev.FailureCode, ev.FailureMessage = d.FailureCode, d.FailureMessage
	}
	var err error
	if ev.Amount, ev.Currency, err = money(d.Amount, d.Currency); err != nil {
		return Event{}, err
	}
	if env.Timestamp != nil && *env.Timestamp != "" {
		if ev.OccurredAt, err = parseTime("timestamp", *env.Timestamp); err != nil {
			return Event{}, err
		}
	} else if sec, err := strconv.ParseInt(headerValue(r.Header, StandardWebhooksTimestampHeader), 10, 64); err == nil {
		ev.OccurredAt = time.Unix(sec, 0).UTC()
	}
	return ev, nil
}

// standardKind maps a Standard Webhooks event type to a kind: the canonical
// kind it equals or ends with (after a '.'), case-insensitively; else other.
func standardKind(typ string) Kind {
	t := strings.ToLower(typ)
	for _, k := range Kinds() {
		if t == string(k) || strings.HasSuffix(t, "."+string(k)) {
			return k
		}
	}
	return KindOther
}

// Standard Webhooks sample event types.
const (
	standardSampleSucceeded = "payment.succeeded"
	standardSampleFailed    = "payment.failed"
)

// SampleTypes lists the events Sample builds; payment.succeeded is the
// default.
func (StandardWebhooks) SampleTypes() []string {
	return []string{standardSampleSucceeded, standardSampleFailed}
}

// Sample builds a body in the recommended envelope with the data fields
// Parse reads. The event id of this scheme is the webhook-id header, not a
// body field: pass p.ID (or any id) to Sign as its id; p.ID is not used here.
func (StandardWebhooks) Sample(eventType string, p SampleParams) ([]byte, error) {
	sp, err := sampleDefaults(p, "THB")
	if err != nil {
		return nil, fmt.Errorf("standardwebhooks: sample: %w", err)
	}
	suffix := sampleSuffix(p.Now)
	data := map[string]any{
		"id": "pay_" + suffix, "amount": sp.Amount, "currency": sp.Currency,
		"reference": "INV-" + strings.ToUpper(suffix[len(suffix)-6:]), "account": "6789",
		"counterparty": "Somchai Jaidee", "description": "Order " + suffix[len(suffix)-6:],
		"livemode": false,
	}
	typ := eventType
	switch eventType {
	case "", standardSampleSucceeded:
		typ = standardSampleSucceeded
	case standardSampleFailed:
		data["failure_code"] = "insufficient_funds"
		data["failure_message"] = "The payer's account has insufficient funds."
	default:
		return nil, fmt.Errorf("standardwebhooks: sample %q: %w (known: %s)", eventType, ErrUnknownEventType,
			strings.Join(StandardWebhooks{}.SampleTypes(), ", "))
	}
	return json.Marshal(map[string]any{
		"type":      typ,
		"timestamp": p.Now.UTC().Format(time.RFC3339),
		"data":      data,
	})
}
