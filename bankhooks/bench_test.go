package bankhooks

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The legacy… functions below are the providers' Parse functions (and the
// decodeJSON they used) as they were before Parse decoded each body in one
// pass, copied verbatim apart from their names. They are the reference the
// single-pass parsers are checked against (TestParseMatchesLegacy and the
// FuzzParseMatchesLegacy… targets) and the "legacy" side of
// BenchmarkVerifyParse. They use the package's envelope and data types
// (omiseEnvelope, stripeEnvelope, standardEnvelope, omiseData …), which the
// exact decoders still use unchanged: encoding/json names those types in
// its error messages, so they are part of the error text.

// legacyDecodeJSON is decodeJSON as it was.
func legacyDecodeJSON(b []byte, v any) error {
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

// legacyOmiseParse is Omise.Parse as it was.
func legacyOmiseParse(r Request) (Event, error) {
	var env omiseEnvelope
	if err := legacyDecodeJSON(r.Body, &env); err != nil {
		return Event{}, malformed("not a JSON event object: %v", err)
	}
	switch {
	case env.Object != "event":
		return Event{}, malformed("object is %q, want \"event\"", truncate(env.Object, 32))
	case env.ID == "":
		return Event{}, malformed("missing %q", "id")
	case env.Key == "":
		return Event{}, malformed("missing %q", "key")
	}
	var d omiseData
	if len(env.Data) > 0 && string(env.Data) != "null" {
		if err := legacyDecodeJSON(env.Data, &d); err != nil {
			return Event{}, malformed("data: %v", err)
		}
	}
	occurred, err := parseTime("created_at", firstNonEmpty(env.CreatedAt, env.Created))
	if err != nil {
		return Event{}, err
	}
	ev := Event{
		Provider:    "omise",
		ID:          env.ID,
		Type:        env.Key,
		Livemode:    env.Livemode,
		OccurredAt:  occurred,
		Reference:   d.ID,
		Description: d.Description,
	}
	ev.Kind = omiseKind(env.Key, &d)

	amount := d.Amount
	if ev.Kind == KindPaymentSucceeded && d.Object == "charge" && d.CapturedAmount != "" && d.CapturedAmount != "0" {
		amount = d.CapturedAmount
	}
	if ev.Amount, ev.Currency, err = money(amount, d.Currency); err != nil {
		return Event{}, err
	}

	for _, p := range []*omiseParty{d.Card, d.BankAccount, d.Source} {
		if p == nil {
			continue
		}
		ev.Account = firstNonEmpty(ev.Account, p.LastDigits)
		ev.Counterparty = firstNonEmpty(ev.Counterparty, p.Name)
	}
	if d.Object == "linked_account" {
		ev.Account = firstNonEmpty(ev.Account, d.LastDigits)
	}
	if d.Object == "refund" && d.Charge.ID != "" {
		// A refund is looked up by the charge it refunds.
		ev.Reference = d.Charge.ID
	}

	if ev.Kind.Failed() {
		ev.FailureCode, ev.FailureMessage = d.FailureCode, d.FailureMessage
		if d.Object == "dispute" {
			ev.FailureCode = firstNonEmpty(d.ReasonCode, d.FailureCode)
			ev.FailureMessage = firstNonEmpty(d.ReasonMessage, d.Message, d.FailureMessage)
		}
	}
	return ev, nil
}

// legacyStripeParse is Stripe.Parse as it was.
func legacyStripeParse(r Request) (Event, error) {
	var env stripeEnvelope
	if err := legacyDecodeJSON(r.Body, &env); err != nil {
		return Event{}, malformed("not a JSON event object: %v", err)
	}
	switch {
	case env.Object != "event":
		// Includes v2 "thin" event notifications, which stripe-go also
		// refuses to construct as events.
		return Event{}, malformed("object is %q, want \"event\"", truncate(env.Object, 32))
	case env.ID == "":
		return Event{}, malformed("missing %q", "id")
	case env.Type == "":
		return Event{}, malformed("missing %q", "type")
	case env.Data == nil || len(env.Data.Object) == 0 || string(env.Data.Object) == "null":
		return Event{}, malformed("missing %q", "data.object")
	}
	var o stripeObject
	if err := legacyDecodeJSON(env.Data.Object, &o); err != nil {
		return Event{}, malformed("data.object: %v", err)
	}
	ev := Event{
		Provider:    "stripe",
		ID:          env.ID,
		Type:        env.Type,
		Livemode:    env.Livemode,
		Reference:   o.ID,
		Description: o.Description,
	}
	if len(env.Created) > 0 && string(env.Created) != "null" {
		sec, err := AmountFromJSON(json.Number(env.Created)) // the same integer rules
		if err != nil {
			return Event{}, malformed("created is not unix seconds")
		}
		ev.OccurredAt = time.Unix(sec, 0).UTC()
	}
	ev.Kind = stripeKind(env.Type, o.Status)

	amount := o.Amount
	switch {
	case ev.Kind == KindPaymentSucceeded && o.Object == "payment_intent" && nonZero(o.AmountReceived):
		amount = o.AmountReceived
	case ev.Kind == KindPaymentSucceeded && o.Object == "charge" && nonZero(o.AmountCaptured):
		amount = o.AmountCaptured
	case env.Type == "charge.refunded" && o.Object == "charge":
		amount = o.AmountRefunded
	}
	var err error
	if ev.Amount, ev.Currency, err = stripeMoney(amount, o.Currency); err != nil {
		return Event{}, err
	}

	if pmd := o.PaymentMethodDetails; pmd != nil && pmd.Card != nil {
		ev.Account = pmd.Card.Last4
	}
	if o.BillingDetails != nil {
		ev.Counterparty = o.BillingDetails.Name
	}
	if lpe := o.LastPaymentError; lpe != nil && lpe.PaymentMethod != nil {
		if c := lpe.PaymentMethod.Card; c != nil {
			ev.Account = firstNonEmpty(ev.Account, c.Last4)
		}
		if b := lpe.PaymentMethod.BillingDetails; b != nil {
			ev.Counterparty = firstNonEmpty(ev.Counterparty, b.Name)
		}
	}
	if o.Object == "payout" && o.Destination.Raw != nil {
		var dst struct {
			Last4             string `json:"last4"`
			AccountHolderName string `json:"account_holder_name"`
		}
		if err := json.Unmarshal(o.Destination.Raw, &dst); err == nil {
			ev.Account = dst.Last4
			ev.Counterparty = firstNonEmpty(ev.Counterparty, dst.AccountHolderName)
		}
	}
	if o.Object == "payout" {
		ev.Description = firstNonEmpty(ev.Description, o.StatementDescriptor)
	}

	if ev.Kind.Failed() {
		switch {
		case env.Type == "payment_intent.canceled":
			ev.FailureCode = o.CancellationReason
		case o.LastPaymentError != nil:
			// A card decline's decline_code (insufficient_funds, do_not_honor …)
			// says more than its code (card_declined).
			ev.FailureCode = firstNonEmpty(o.LastPaymentError.DeclineCode, o.LastPaymentError.Code)
			ev.FailureMessage = o.LastPaymentError.Message
		case o.Object == "dispute":
			ev.FailureCode = o.Reason
		case o.Object == "refund":
			ev.FailureCode = o.FailureReason
		default:
			ev.FailureCode, ev.FailureMessage = o.FailureCode, o.FailureMessage
		}
	}
	return ev, nil
}

// legacyStandardWebhooksParse is StandardWebhooks.Parse as it was.
func legacyStandardWebhooksParse(r Request) (Event, error) {
	id := headerValue(r.Header, StandardWebhooksIDHeader)
	if id == "" {
		return Event{}, malformed("missing %s header", StandardWebhooksIDHeader)
	}
	var env standardEnvelope
	if err := legacyDecodeJSON(r.Body, &env); err != nil {
		return Event{}, malformed("not a JSON object: %v", err)
	}
	if env.Type == nil || *env.Type == "" {
		return Event{}, malformed("missing %q", "type")
	}
	var d standardData
	if len(env.Data) > 0 && string(env.Data) != "null" {
		if env.Data[0] != '{' {
			return Event{}, malformed("data is not an object")
		}
		if err := legacyDecodeJSON(env.Data, &d); err != nil {
			return Event{}, malformed("data: %v", err)
		}
	}
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

// benchCase is one provider's signed request for BenchmarkVerifyParse.
type benchCase struct {
	name   string
	p      Provider
	legacy func(Request) (Event, error)
	req    Request
	keys   []Key
	opts   VerifyOptions
}

func benchCases(t testing.TB) []benchCase {
	t.Helper()
	now := time.Unix(1715678467, 0)
	mk := func(name string, p Provider, legacy func(Request) (Event, error), secret, fixture string) benchCase {
		key := mustKey(t, p, "secrets[0]", secret, time.Time{})
		body := readFixture(t, fixture)
		req := signedRequest(t, p, body, []Key{key}, now)
		return benchCase{name: name, p: p, legacy: legacy, req: req, keys: []Key{key}, opts: VerifyOptions{Now: now}}
	}
	return []benchCase{
		mk("omise", Omise{}, legacyOmiseParse, omiseVectorSecret, filepath.Join("omise", "charge_complete_successful.json")),
		mk("stripe", Stripe{}, legacyStripeParse, stripeVectorSecret, filepath.Join("stripe", "payment_intent_succeeded.json")),
		mk("standardwebhooks", StandardWebhooks{}, legacyStandardWebhooksParse, swVectorSecret, filepath.Join("standardwebhooks", "payment_succeeded.json")),
	}
}

// BenchmarkVerifyParse measures Verify + Parse of one realistic signed
// request per provider (the largest success fixture of each), with the
// legacy parser and with today's, side by side in the same run:
//
//	go test -run='^$' -bench=BenchmarkVerifyParse -benchmem -count=3 ./bankhooks/
func BenchmarkVerifyParse(b *testing.B) {
	for _, bc := range benchCases(b) {
		want, err := bc.p.Parse(bc.req)
		require.NoError(b, err)
		for _, impl := range []struct {
			name  string
			parse func(Request) (Event, error)
		}{{"legacy", bc.legacy}, {"new", bc.p.Parse}} {
			b.Run(bc.name+"/"+impl.name, func(b *testing.B) {
				got, err := impl.parse(bc.req)
				require.NoError(b, err)
				require.Equal(b, want, got)
				b.ReportAllocs()
				b.SetBytes(int64(len(bc.req.Body)))
				for b.Loop() {
					if _, err := bc.p.Verify(bc.req, bc.keys, bc.opts); err != nil {
						b.Fatal(err)
					}
					if _, err := impl.parse(bc.req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestBenchCasesVerify keeps the benchmark's requests valid.
func TestBenchCasesVerify(t *testing.T) {
	for _, bc := range benchCases(t) {
		t.Run(bc.name, func(t *testing.T) {
			_, err := bc.p.Verify(bc.req, bc.keys, bc.opts)
			require.NoError(t, err)
		})
	}
}

// legacyOmiseVerify is Omise.Verify as it was before the declarative
// engine (scheme.go), copied verbatim apart from its name; it is the
// "legacy" side of BenchmarkOmiseVerify.
func legacyOmiseVerify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	sigs, err := legacyParseOmiseSignatures(headerValues(r.Header, OmiseSignatureHeader))
	if err != nil {
		return Verification{}, err
	}
	tsRaw := strings.TrimSpace(headerValue(r.Header, OmiseTimestampHeader))
	if tsRaw == "" {
		return Verification{}, fmt.Errorf("%w: %s header is absent", ErrMissingTimestamp, OmiseTimestampHeader)
	}
	if !allDigits(tsRaw) || len(tsRaw) > 18 {
		return Verification{}, fmt.Errorf("%w: %s is not unix seconds", ErrMalformedSignature, OmiseTimestampHeader)
	}
	sec, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return Verification{}, fmt.Errorf("%w: %s is not unix seconds", ErrMalformedSignature, OmiseTimestampHeader)
	}
	ts := time.Unix(sec, 0)
	if err := checkWindow(ts, opts.Now, opts.skew()); err != nil {
		return Verification{}, err
	}
	prefix := []byte(tsRaw + ".")
	name, err := matchKeys(keys, opts.Now, func(k []byte) []byte {
		return hmacSHA256(k, prefix, r.Body)
	}, sigs)
	if err != nil {
		return Verification{}, err
	}
	return Verification{Key: name, Timestamp: ts.UTC()}, nil
}

// legacyParseOmiseSignatures is parseOmiseSignatures as it was.
func legacyParseOmiseSignatures(values []string) ([][]byte, error) {
	var sigs [][]byte
	present := false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			present = true
			b, err := hex.DecodeString(part)
			if err != nil || len(b) != 32 {
				continue
			}
			sigs = append(sigs, b)
		}
	}
	switch {
	case !present:
		return nil, fmt.Errorf("%w: %s header is absent or empty", ErrMissingSignature, OmiseSignatureHeader)
	case len(sigs) == 0:
		return nil, fmt.Errorf("%w: %s holds no hex HMAC-SHA256 value", ErrMalformedSignature, OmiseSignatureHeader)
	}
	return sigs, nil
}

// BenchmarkOmiseVerify measures Omise Verify of the largest Opn fixture with
// the hand-written verifier as it was (legacy) and with the declarative
// engine's preset (engine), side by side in the same run:
//
//	go test -run='^$' -bench=BenchmarkOmiseVerify -benchmem -count=3 ./bankhooks/
func BenchmarkOmiseVerify(b *testing.B) {
	bc := benchCases(b)[0]
	require.Equal(b, "omise", bc.name)
	for _, impl := range []struct {
		name   string
		verify func(Request, []Key, VerifyOptions) (Verification, error)
	}{{"legacy", legacyOmiseVerify}, {"engine", Omise{}.Verify}} {
		b.Run(impl.name, func(b *testing.B) {
			_, err := impl.verify(bc.req, bc.keys, bc.opts)
			require.NoError(b, err)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.req.Body)))
			for b.Loop() {
				if _, err := impl.verify(bc.req, bc.keys, bc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLegacyOmiseVerifyAgrees checks the engine's Omise preset against the
// hand-written verifier on the Omise header table's requests.
func TestLegacyOmiseVerifyAgrees(t *testing.T) {
	key := Key{Name: "k", Material: []byte("secret-key-for-omise-tests")}
	now := time.Unix(omiseVectorTS, 0)
	for _, h := range []http.Header{
		{"Omise-Signature": {omiseVectorSig}, "Omise-Signature-Timestamp": {"1700000000"}},
		{"Omise-Signature": {"zz," + omiseVectorSig}, "Omise-Signature-Timestamp": {" 1700000000 "}},
		{"Omise-Signature": {"abcd"}, "Omise-Signature-Timestamp": {"1700000000"}},
		{"Omise-Signature": {omiseVectorSig}, "Omise-Signature-Timestamp": {"0001700000000"}},
		{"Omise-Signature": {omiseVectorSig}},
		{"Omise-Signature-Timestamp": {"1700000000"}},
	} {
		r := Request{Header: h, Body: []byte(omiseVectorBody)}
		v1, e1 := legacyOmiseVerify(r, []Key{key}, VerifyOptions{Now: now})
		v2, e2 := Omise{}.Verify(r, []Key{key}, VerifyOptions{Now: now})
		require.Equal(t, v1, v2)
		require.Equal(t, Reason(e1), Reason(e2), "%v: %v / %v", h, e1, e2)
	}
}
