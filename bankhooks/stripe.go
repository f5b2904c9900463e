package bankhooks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// StripeSignatureHeader is Stripe's signature header.
const StripeSignatureHeader = "Stripe-Signature"

// stripeAPIVersion is the api_version written into sample events (the one
// stripe-go v85 pins).
const stripeAPIVersion = "2026-03-25.dahlia"

// Stripe is Stripe's webhook scheme. The ground truth is stripe-go's
// webhook package (v85, webhook/client.go).
//
// Signature: Stripe-Signature is "t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]",
// parsed exactly as stripe-go does: the header is split on ',' and each pair
// on '='; a pair that is not exactly two parts makes the header malformed;
// t must be an integer; every v1 is hex-decoded and undecodable ones are
// ignored; other keys are ignored; no usable v1 means the signature is
// missing. The MAC is HMAC-SHA256 over "<t>.<raw body>" keyed with the whole
// "whsec_…" secret as bytes (no decoding). Several v1 values are sent while a
// rolled secret is active; any one may match.
//
// Timestamp window: VerifyOptions.MaxSkew (default 300 s, stripe-go's
// DefaultTolerance) in both directions. stripe-go only rejects timestamps
// older than the tolerance; we also reject timestamps too far in the future,
// since Stripe never signs ahead of time and a future t would extend a
// captured request's replay life.
//
// Event mapping (Parse), data.object being the object named:
//   - payment_intent.succeeded → payment.succeeded (amount_received when
//     non-zero, else amount); payment_intent.processing → payment.pending;
//     payment_intent.payment_failed → payment.failed (last_payment_error
//     code/message); payment_intent.canceled → payment.failed (FailureCode
//     is cancellation_reason).
//   - charge.succeeded, charge.captured → payment.succeeded (amount_captured
//     when non-zero, else amount); charge.pending → payment.pending;
//     charge.failed → payment.failed (failure_code/failure_message);
//     charge.refunded → refund.succeeded with amount_refunded (the charge's
//     cumulative refunded amount); charge.dispute.created → dispute.opened
//     (FailureCode is the dispute reason).
//   - refund.created, refund.updated, charge.refund.updated: by the refund's
//     status: succeeded → refund.succeeded; failed, canceled → refund.failed
//     (FailureCode is failure_reason); pending, requires_action → other
//     (the money has not moved yet; the later update or charge.refunded
//     reports it). refund.failed → refund.failed.
//   - payout.paid → transfer.succeeded; payout.failed, payout.canceled →
//     transfer.failed (failure_code/failure_message); payout.created,
//     payout.updated and the rest → other.
//   - anything else → other.
//
// Amounts: Stripe sends integers in the currency's smallest unit, which
// agrees with ISO 4217 for nearly every currency, zero-decimal ones (JPY,
// KRW, VND …) included. Stripe's special cases: HUF and TWD are two-decimal
// in the API (like ISO) although payouts must be whole units; ISK is
// zero-decimal in ISO but stays two-decimal in Stripe's API (an amount of
// 100 is 1 króna), so it is divided by 100; MGA is zero-decimal in Stripe
// but two-decimal in ISO, so it is multiplied by 100. Three-decimal
// currencies (BHD, JOD, KWD, OMR, TND) are three-decimal in both.
type Stripe struct{}

var _ Provider = Stripe{}

// Name returns "stripe".
func (Stripe) Name() string { return "stripe" }

// DecodeKey returns the signing secret as bytes: Stripe keys the HMAC with
// the whole "whsec_…" string. Like stripe-go it accepts any non-empty string
// (surrounding whitespace is trimmed).
func (Stripe) DecodeKey(secret string) ([]byte, error) {
	return stripeScheme.DecodeKey(secret)
}

// stripeHeader is a parsed Stripe-Signature header.
type stripeHeader struct {
	Timestamp    int64
	HasTimestamp bool
	Signatures   [][]byte
}

// parseStripeHeader parses a Stripe-Signature value exactly as stripe-go's
// parseSignatureHeader does (stripeScheme's kv parser in compat mode), with
// our sentinels: empty header and no usable v1 → ErrMissingSignature; a
// pair that is not k=v or a bad t → ErrMalformedSignature; no t →
// ErrMissingTimestamp (stripe-go instead treats it as the zero time, which
// it then rejects as too old).
func parseStripeHeader(header string) (stripeHeader, error) {
	var sh stripeHeader
	var values []string
	if header != "" {
		values = []string{header}
	}
	sigs, ts, err := stripeScheme.parseSignatures(values)
	if err != nil {
		return sh, err
	}
	sh.Signatures = sigs
	sh.Timestamp, err = strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return stripeHeader{}, fmt.Errorf("%w: %s t is not an integer", ErrMalformedSignature, StripeSignatureHeader)
	}
	sh.HasTimestamp = true
	return sh, nil
}

// Verify checks Stripe-Signature (the stripeScheme preset).
func (Stripe) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	return stripeScheme.Verify(r, keys, opts)
}

// Sign returns the headers Stripe would send: "t=<unix>,v1=<hex>" with one
// v1 per key, byte-identical to stripe-go's GenerateTestSignedPayload for a
// single key.
func (Stripe) Sign(body []byte, keys []Key, now time.Time, id string) (Signed, error) {
	return stripeScheme.Sign(body, keys, now, id)
}

// stripeEnvelope is the Stripe event object as the exact decoder reads it,
// data.object kept raw (see decodeOnce). encoding/json names this type, the
// type of Data and stripeObject in its error messages, which Parse returns:
// none of them is renamed or reshaped.
type stripeEnvelope struct {
	ID       string          `json:"id"`
	Object   string          `json:"object"`
	Type     string          `json:"type"`
	Created  json.RawMessage `json:"created"`
	Livemode bool            `json:"livemode"`
	Data     *struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// stripeDocument is the Stripe event object as Parse reads it in one pass.
// The outer Data, being shallower, takes the "data" member from the
// embedded envelope's, which stays nil. A nil Data or Data.Object is an
// absent or null one, as in the exact decoder.
type stripeDocument struct {
	stripeEnvelope
	Data *struct {
		Object *stripeObject `json:"object"`
	} `json:"data"`
}

// stripeBilling is billing_details.
type stripeBilling struct {
	Name string `json:"name"`
}

// stripeCard is the card part of payment_method_details or a payment method.
type stripeCard struct {
	Last4 string `json:"last4"`
}

// stripePaymentMethod is the part of a PaymentMethod Parse uses.
type stripePaymentMethod struct {
	BillingDetails *stripeBilling `json:"billing_details"`
	Card           *stripeCard    `json:"card"`
}

// stripeObject is the union of the PaymentIntent, Charge, Refund, Payout and
// Dispute fields that Parse uses (JSON names as in stripe-go's structs).
type stripeObject struct {
	Object             string      `json:"object"`
	ID                 string      `json:"id"`
	Amount             json.Number `json:"amount"`
	AmountReceived     json.Number `json:"amount_received"`
	AmountCaptured     json.Number `json:"amount_captured"`
	AmountRefunded     json.Number `json:"amount_refunded"`
	Currency           string      `json:"currency"`
	Status             string      `json:"status"`
	Description        string      `json:"description"`
	FailureCode        string      `json:"failure_code"`
	FailureMessage     string      `json:"failure_message"`
	FailureReason      string      `json:"failure_reason"`
	CancellationReason string      `json:"cancellation_reason"`
	Reason             string      `json:"reason"`
	LastPaymentError   *struct {
		Code          string               `json:"code"`
		DeclineCode   string               `json:"decline_code"`
		Message       string               `json:"message"`
		PaymentMethod *stripePaymentMethod `json:"payment_method"`
	} `json:"last_payment_error"`
	BillingDetails       *stripeBilling `json:"billing_details"`
	PaymentMethodDetails *struct {
		Card *stripeCard `json:"card"`
	} `json:"payment_method_details"`
	Destination         objectRef `json:"destination"`
	StatementDescriptor string    `json:"statement_descriptor"`
}

// Parse turns a Stripe event into the canonical Event.
func (Stripe) Parse(r Request) (Event, error) {
	var doc stripeDocument
	if !decodeOnce(r.Body, &doc, "object") {
		return stripeParseExact(r.Body)
	}
	hasObject := doc.Data != nil && doc.Data.Object != nil
	if err := stripeCheck(&doc.stripeEnvelope, hasObject); err != nil {
		return Event{}, err
	}
	return stripeToEvent(&doc.stripeEnvelope, doc.Data.Object)
}

// stripeParseExact is Parse for the bodies decodeOnce leaves to it: the
// envelope first, then data.object on its own.
func stripeParseExact(body []byte) (Event, error) {
	var env stripeEnvelope
	if err := decodeJSON(body, &env); err != nil {
		return Event{}, malformed("not a JSON event object: %v", err)
	}
	hasObject := env.Data != nil && len(env.Data.Object) > 0 && string(env.Data.Object) != "null"
	if err := stripeCheck(&env, hasObject); err != nil {
		return Event{}, err
	}
	var o stripeObject
	if err := decodeJSON(env.Data.Object, &o); err != nil {
		return Event{}, malformed("data.object: %v", err)
	}
	return stripeToEvent(&env, &o)
}

// stripeCheck checks the envelope fields every Stripe event has; hasObject
// is whether data.object is present and not null.
func stripeCheck(env *stripeEnvelope, hasObject bool) error {
	switch {
	case env.Object != "event":
		// Includes v2 "thin" event notifications, which stripe-go also
		// refuses to construct as events.
		return malformed("object is %q, want \"event\"", truncate(env.Object, 32))
	case env.ID == "":
		return malformed("missing %q", "id")
	case env.Type == "":
		return malformed("missing %q", "type")
	case !hasObject:
		return malformed("missing %q", "data.object")
	}
	return nil
}

// stripeToEvent maps a decoded Stripe event (env's Data is not used) and its
// data.object to the canonical Event.
func stripeToEvent(env *stripeEnvelope, o *stripeObject) (Event, error) {
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

// nonZero reports whether a JSON amount is present and not 0.
func nonZero(n json.Number) bool {
	return n != "" && n != "0"
}

// stripeKind maps a Stripe event type (and, for refunds, the refund status)
// to a canonical kind. The rules are documented on Stripe.
func stripeKind(typ, status string) Kind {
	switch typ {
	case "payment_intent.succeeded", "charge.succeeded", "charge.captured":
		return KindPaymentSucceeded
	case "payment_intent.processing", "charge.pending":
		return KindPaymentPending
	case "payment_intent.payment_failed", "payment_intent.canceled", "charge.failed":
		return KindPaymentFailed
	case "charge.refunded":
		return KindRefundSucceeded
	case "charge.dispute.created":
		return KindDisputeOpened
	case "refund.created", "refund.updated", "charge.refund.updated":
		switch status {
		case "succeeded":
			return KindRefundSucceeded
		case "failed", "canceled":
			return KindRefundFailed
		}
		return KindOther
	case "refund.failed":
		return KindRefundFailed
	case "payout.paid":
		return KindTransferSucceeded
	case "payout.failed", "payout.canceled":
		return KindTransferFailed
	}
	return KindOther
}

// stripeMoney converts a Stripe amount to ISO 4217 minor units (see the
// special cases on Stripe).
func stripeMoney(amount json.Number, cur string) (int64, string, error) {
	v, c, err := money(amount, cur)
	if err != nil {
		return 0, "", err
	}
	switch c {
	case "ISK":
		if v%100 != 0 {
			return 0, "", malformed("ISK amount %d is not whole krónur (Stripe sends ISK as two-decimal, multiples of 100)", v)
		}
		v /= 100
	case "MGA":
		const limit = (1<<63 - 1) / 100
		if v > limit || v < -limit {
			return 0, "", malformed("MGA amount %d is out of range", v)
		}
		v *= 100
	}
	return v, c, nil
}

// toStripeAmount converts ISO minor units to Stripe's representation, the
// inverse of stripeMoney.
func toStripeAmount(v int64, cur string) (int64, error) {
	switch cur {
	case "ISK":
		const limit = (1<<63 - 1) / 100
		if v > limit || v < -limit {
			return 0, fmt.Errorf("%w: ISK amount %d is out of range", ErrInvalidAmount, v)
		}
		return v * 100, nil
	case "MGA":
		if v%100 != 0 {
			return 0, fmt.Errorf("%w: Stripe counts MGA in whole ariary; %d minor units is not whole", ErrInvalidAmount, v)
		}
		return v / 100, nil
	}
	return v, nil
}

// Stripe sample event types.
const (
	stripeSamplePISucceeded  = "payment_intent.succeeded"
	stripeSamplePIFailed     = "payment_intent.payment_failed"
	stripeSampleRefunded     = "charge.refunded"
	stripeSamplePayoutPaid   = "payout.paid"
	stripeSamplePayoutFailed = "payout.failed"
)

// SampleTypes lists the Stripe events Sample builds;
// payment_intent.succeeded is the default.
func (Stripe) SampleTypes() []string {
	return []string{stripeSamplePISucceeded, stripeSamplePIFailed, stripeSampleRefunded,
		stripeSamplePayoutPaid, stripeSamplePayoutFailed}
}

// Sample builds a realistic Stripe event body (shapes from stripe-go's
// PaymentIntent, Charge and Payout structs). Ids are derived from p.Now.
func (Stripe) Sample(eventType string, p SampleParams) ([]byte, error) {
	sp, err := sampleDefaults(p, "THB")
	if err != nil {
		return nil, fmt.Errorf("stripe: sample: %w", err)
	}
	amt, err := toStripeAmount(sp.Amount, sp.Currency)
	if err != nil {
		return nil, fmt.Errorf("stripe: sample: %w", err)
	}
	suffix := sampleSuffix(p.Now)
	id := firstNonEmpty(p.ID, "evt_"+suffix)
	created := p.Now.Unix()
	cur := strings.ToLower(sp.Currency)
	billing := map[string]any{"name": "Somchai Jaidee", "email": "somchai@example.com", "phone": nil, "address": nil}
	card := map[string]any{"brand": "visa", "country": "TH", "exp_month": 12, "exp_year": 2030, "funding": "credit", "last4": "4242"}

	paymentIntent := func(status string, received int64, lpe any) map[string]any {
		return map[string]any{
			"id": "pi_" + suffix, "object": "payment_intent",
			"amount": amt, "amount_capturable": 0, "amount_received": received,
			"capture_method": "automatic", "confirmation_method": "automatic",
			"created": created, "currency": cur, "customer": nil,
			"description": "Order " + suffix[len(suffix)-6:], "last_payment_error": lpe,
			"latest_charge": "ch_" + suffix, "livemode": false, "metadata": map[string]any{},
			"payment_method": "pm_" + suffix, "payment_method_types": []string{"card"},
			"status": status,
		}
	}
	payout := func(status, failureCode, failureMessage string) map[string]any {
		return map[string]any{
			"id": "po_" + suffix, "object": "payout",
			"amount": amt, "arrival_date": created + 86400, "automatic": true,
			"balance_transaction": "txn_" + suffix, "created": created, "currency": cur,
			"description": "STRIPE PAYOUT", "destination": "ba_" + suffix,
			"failure_balance_transaction": nil,
			"failure_code":                nullable(failureCode), "failure_message": nullable(failureMessage),
			"livemode": false, "metadata": map[string]any{}, "method": "standard",
			"source_type": "card", "statement_descriptor": nil, "status": status, "type": "bank_account",
		}
	}

	var object map[string]any
	typ := eventType
	switch eventType {
	case "", stripeSamplePISucceeded:
		typ = stripeSamplePISucceeded
		object = paymentIntent("succeeded", amt, nil)
	case stripeSamplePIFailed:
		object = paymentIntent("requires_payment_method", 0, map[string]any{
			"charge": "ch_" + suffix, "code": "card_declined", "decline_code": "insufficient_funds",
			"doc_url": "https://stripe.com/docs/error-codes/card-declined",
			"message": "Your card has insufficient funds.", "type": "card_error",
			"payment_method": map[string]any{
				"id": "pm_" + suffix, "object": "payment_method", "type": "card",
				"billing_details": billing, "card": card,
			},
		})
	case stripeSampleRefunded:
		object = map[string]any{
			"id": "ch_" + suffix, "object": "charge",
			"amount": amt, "amount_captured": amt, "amount_refunded": amt,
			"balance_transaction": "txn_" + suffix, "billing_details": billing,
			"captured": true, "created": created, "currency": cur,
			"description": "Order " + suffix[len(suffix)-6:], "failure_code": nil, "failure_message": nil,
			"livemode": false, "paid": true, "payment_intent": "pi_" + suffix,
			"payment_method_details": map[string]any{"type": "card", "card": card},
			"refunded":               true, "status": "succeeded",
		}
	case stripeSamplePayoutPaid:
		object = payout("paid", "", "")
	case stripeSamplePayoutFailed:
		object = payout("failed", "account_closed", "The bank account has been closed.")
	default:
		return nil, fmt.Errorf("stripe: sample %q: %w (known: %s)", eventType, ErrUnknownEventType,
			strings.Join(Stripe{}.SampleTypes(), ", "))
	}
	return json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripeAPIVersion, "created": created,
		"data": map[string]any{"object": object}, "livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil}, "type": typ,
	})
}
