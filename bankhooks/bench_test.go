package bankhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
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
			ev.FailureCode = o.LastPaymentError.Code
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
