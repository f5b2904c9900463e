package bankhooks

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Airwallex signature headers (Airwallex writes them in lower case).
const (
	AirwallexSignatureHeader = "x-signature"
	AirwallexTimestampHeader = "x-timestamp"
)

// Airwallex is Airwallex's webhook scheme
// (https://www.airwallex.com/docs/developer-tools/webhooks/listen-for-webhook-events).
//
// Signature: x-signature is the lower-case hex HMAC-SHA256 of the
// x-timestamp header's digits followed directly by the raw body (no
// separator), keyed with the webhook's secret as given (its bytes, not
// decoded). x-timestamp is Unix time in milliseconds and must be within
// VerifyOptions.MaxSkew of now, both ways (default 5m; Airwallex publishes
// no tolerance). Every active key is tried. Airwallex sends one signature;
// Sign adds one x-signature line per key (a rotation test), and Verify
// accepts any line.
//
// Envelope: id (the event id, stable across retries: the dedupe key), name
// (the event type), account_id (accountId in older products), data,
// created_at ("2019-10-22T01:54:09+0000"). Payments events carry the object
// in data.object; charges, deposits and payouts put it in data itself; both
// are read. Amounts are decimals in major units (16.66 USD, 62723 KRW) and
// are parsed exactly with ParseMajor, never through a float.
//
// Event mapping (Parse):
//   - payment_intent.succeeded → payment.succeeded (captured_amount when
//     non-zero, else amount); payment_intent.requires_capture, .pending,
//     .requires_customer_action → payment.pending;
//     payment_intent.cancelled, .payment_failed → payment.failed.
//   - payment_attempt.* failures (authorization_failed,
//     authentication_failed, capture_failed, failed_to_process,
//     risk_declined, expired, cancelled) → payment.failed. Its other states,
//     paid and settled included, → other: payment_intent.succeeded reports
//     the payment, and mapping the attempt too would alert twice.
//   - charge.settled, deposit.settled → payment.succeeded (money arrived in
//     the wallet); charge.new, charge.pending, deposit.pending →
//     payment.pending; charge.failed, deposit.rejected, deposit.reversed →
//     payment.failed.
//   - refund.settled, refund.succeeded → refund.succeeded; refund.failed →
//     refund.failed; refund.received, refund.accepted → other. Reference is
//     the refunded payment intent.
//   - payout.transfer.paid, wallet_transfer.settled → transfer.succeeded;
//     payout.transfer.failed, .cancelled, .funding.failed,
//     .funding.reversed, wallet_transfer.failed → transfer.failed.
//   - payment_dispute.requires_response (and .created) → dispute.opened;
//     the dispute's later stages (won, lost, accepted …) → other.
//   - anything else → other.
//
// Airwallex marks no event as test or live, so Livemode is true (assume
// real money).
type Airwallex struct{}

var _ Provider = Airwallex{}

// Name returns "airwallex".
func (Airwallex) Name() string { return "airwallex" }

// DecodeKey returns the webhook secret's bytes as they are (Airwallex keys
// the HMAC with the secret string itself). Surrounding whitespace is
// ignored.
func (Airwallex) DecodeKey(secret string) ([]byte, error) {
	return airwallexScheme.DecodeKey(secret)
}

// Verify checks x-signature and x-timestamp.
func (Airwallex) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	return airwallexScheme.Verify(r, keys, opts)
}

// Sign returns the headers Airwallex would send at now: x-timestamp in
// milliseconds and one x-signature per key.
func (Airwallex) Sign(body []byte, keys []Key, now time.Time, id string) (Signed, error) {
	return airwallexScheme.Sign(body, keys, now, id)
}

// Parse turns an Airwallex event into the canonical Event.
func (Airwallex) Parse(r Request) (Event, error) {
	env, err := decodeHookObject(r.Body)
	if err != nil {
		return Event{}, malformed("not a JSON event object: %v", err)
	}
	id, name := env.str("id"), env.str("name")
	switch {
	case id == "":
		return Event{}, malformed("missing %q", "id")
	case name == "":
		return Event{}, malformed("missing %q", "name")
	}
	occurred, err := parseTime("created_at", firstNonEmpty(env.str("created_at"), env.str("createdAt")))
	if err != nil {
		return Event{}, err
	}
	if env.has("data") && env.obj("data") == nil {
		return Event{}, malformed("data is not an object")
	}
	obj := env.obj("data")
	if o := obj.obj("object"); o != nil {
		obj = o
	}
	ev := Event{
		Provider:    "airwallex",
		ID:          id,
		Type:        name,
		Kind:        airwallexKind(name),
		Livemode:    true,
		OccurredAt:  occurred,
		Reference:   obj.str("id"),
		Description: firstNonEmpty(obj.str("merchant_order_id"), obj.str("reference"), obj.str("descriptor")),
	}

	amountName := "amount"
	if ev.Kind == KindPaymentSucceeded && obj.has("captured_amount") {
		if s, _ := obj.amountField("captured_amount"); s != "" && strings.Trim(s, "0.") != "" {
			amountName = "captured_amount"
		}
	}
	if !obj.has(amountName) {
		for _, alt := range []string{"transfer_amount", "amount_beneficiary_receives"} {
			if obj.has(alt) {
				amountName = alt
				break
			}
		}
	}
	amount, err := obj.amountField(amountName)
	if err != nil {
		return Event{}, err
	}
	ev.Amount, ev.Currency, err = majorMoney(amountName, amount,
		firstNonEmpty(obj.str("currency"), obj.str("transfer_currency")))
	if err != nil {
		return Event{}, err
	}

	group := airwallexGroup(name)
	if group == "refund" && obj.str("payment_intent_id") != "" {
		ev.Reference = obj.str("payment_intent_id")
	}
	if attempt := obj.obj("latest_payment_attempt"); attempt != nil && group == "payment_intent" {
		obj["payment_method"] = attempt["payment_method"]
		if !obj.has("failure_code") {
			obj["failure_code"] = attempt["failure_code"]
		}
	}
	if card := obj.obj("payment_method").obj("card"); card != nil {
		ev.Account = card.str("last4")
		ev.Counterparty = card.str("name")
	}
	if payer := obj.obj("payer"); payer != nil {
		ev.Counterparty = payer.str("name")
	}
	if bank := obj.obj("beneficiary").obj("bank_details"); bank != nil {
		ev.Account = bank.str("account_number")
		ev.Counterparty = bank.str("account_name")
	}

	if ev.Kind.Failed() {
		reason := obj.str("reason")
		if ro := obj.obj("reason"); ro != nil {
			reason = firstNonEmpty(ro.str("type"), ro.str("description"))
		}
		ev.FailureCode = firstNonEmpty(obj.str("failure_code"), obj.str("failure_type"),
			obj.str("cancellation_reason"), reason, obj.str("status"), name)
		ev.FailureMessage = firstNonEmpty(obj.str("failure_reason"), obj.str("failure_message"), reason)
	}
	return ev, nil
}

// airwallexGroup is the object part of an event name: "payment_intent",
// "refund", "payout.transfer" …
func airwallexGroup(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		g := name[:i]
		if strings.HasSuffix(g, ".funding") {
			g = strings.TrimSuffix(g, ".funding")
		}
		return g
	}
	return name
}

// airwallexKind maps an Airwallex event name to a canonical kind. The rules
// are documented on Airwallex.
func airwallexKind(name string) Kind {
	switch name {
	case "payment_intent.succeeded", "charge.settled", "deposit.settled":
		return KindPaymentSucceeded
	case "payment_intent.requires_capture", "payment_intent.pending", "payment_intent.requires_customer_action",
		"charge.new", "charge.pending", "deposit.pending":
		return KindPaymentPending
	case "payment_intent.cancelled", "payment_intent.payment_failed",
		"payment_attempt.authorization_failed", "payment_attempt.authentication_failed",
		"payment_attempt.capture_failed", "payment_attempt.failed_to_process",
		"payment_attempt.risk_declined", "payment_attempt.expired", "payment_attempt.cancelled",
		"charge.failed", "deposit.rejected", "deposit.reversed":
		return KindPaymentFailed
	case "refund.settled", "refund.succeeded":
		return KindRefundSucceeded
	case "refund.failed":
		return KindRefundFailed
	case "payout.transfer.paid", "wallet_transfer.settled":
		return KindTransferSucceeded
	case "payout.transfer.failed", "payout.transfer.cancelled", "payout.transfer.funding.failed",
		"payout.transfer.funding.reversed", "wallet_transfer.failed":
		return KindTransferFailed
	case "payment_dispute.requires_response", "payment_dispute.created":
		return KindDisputeOpened
	}
	return KindOther
}

// Airwallex sample event types.
const (
	airwallexSamplePayment       = "payment_intent.succeeded"
	airwallexSamplePaymentFailed = "payment_attempt.authorization_failed"
	airwallexSampleRefund        = "refund.settled"
	airwallexSampleTransfer      = "payout.transfer.paid"
	airwallexSampleTransferFail  = "payout.transfer.failed"
	airwallexSampleDispute       = "payment_dispute.requires_response"
	airwallexSampleDeposit       = "deposit.settled"
)

// SampleTypes lists the Airwallex events Sample builds;
// payment_intent.succeeded (a card payment of USD 50.00) is the default.
func (Airwallex) SampleTypes() []string {
	return []string{
		airwallexSamplePayment, airwallexSamplePaymentFailed, airwallexSampleRefund,
		airwallexSampleTransfer, airwallexSampleTransferFail, airwallexSampleDispute,
		airwallexSampleDeposit,
	}
}

// Sample builds a realistic Airwallex event body. Ids are derived from p.Now.
func (Airwallex) Sample(eventType string, p SampleParams) ([]byte, error) {
	sp, err := sampleDefaults(p, "USD")
	if err != nil {
		return nil, fmt.Errorf("airwallex: sample: %w", err)
	}
	major, err := FormatMajor(sp.Amount, sp.Currency)
	if err != nil {
		return nil, fmt.Errorf("airwallex: sample: %w", err)
	}
	amount := json.Number(major)
	suffix := sampleSuffix(p.Now)
	id := firstNonEmpty(p.ID, "evt_hkdm"+suffix)
	created := p.Now.UTC().Format("2006-01-02T15:04:05-0700")
	intentID := "int_hkdm" + suffix
	card := map[string]any{
		"type": "card",
		"card": map[string]any{"brand": "visa", "last4": "4242", "name": "SOMCHAI JAIDEE", "bin": "424242"},
	}
	intent := func(status string) map[string]any {
		captured := any(json.Number("0"))
		if status == "SUCCEEDED" {
			captured = amount
		}
		return map[string]any{
			"id": intentID, "request_id": "req_" + suffix, "amount": amount, "currency": sp.Currency,
			"captured_amount": captured, "merchant_order_id": "ORDER-" + suffix[len(suffix)-6:],
			"status": status, "created_at": created, "updated_at": created,
			"latest_payment_attempt": map[string]any{
				"id": "att_hkdm" + suffix, "amount": amount, "currency": sp.Currency,
				"payment_method": card, "status": "CAPTURE_REQUESTED",
			},
		}
	}
	transfer := func(status, failureType, failureReason string) map[string]any {
		return map[string]any{
			"id": "tfr_" + suffix, "request_id": "req_" + suffix, "status": status,
			"transfer_amount": amount, "transfer_currency": sp.Currency,
			"amount_beneficiary_receives": amount, "amount_payer_pays": amount,
			"source_currency": sp.Currency, "reference": "Payout " + suffix[len(suffix)-6:],
			"reason": "travel", "failure_reason": nullable(failureReason),
			"failure_type": nullable(failureType),
			"beneficiary": map[string]any{
				"type": "BANK_ACCOUNT",
				"bank_details": map[string]any{
					"account_name": "SOMCHAI JAIDEE", "account_number": "1234506789",
					"account_currency": sp.Currency, "bank_name": "Kasikornbank",
				},
			},
			"created_at": created, "updated_at": created,
		}
	}

	var data map[string]any
	name := eventType
	switch eventType {
	case "", airwallexSamplePayment:
		name = airwallexSamplePayment
		data = map[string]any{"object": intent("SUCCEEDED")}
	case airwallexSamplePaymentFailed:
		data = map[string]any{"object": map[string]any{
			"id": "att_hkdm" + suffix, "payment_intent_id": intentID, "amount": amount, "currency": sp.Currency,
			"captured_amount": json.Number("0"), "refunded_amount": json.Number("0"),
			"merchant_order_id": "ORDER-" + suffix[len(suffix)-6:], "payment_method": card,
			"status": "FAILED", "failure_code": "issuer_declined",
			"created_at": created, "updated_at": created,
		}}
	case airwallexSampleRefund:
		data = map[string]any{"object": map[string]any{
			"id": "rfd_hkdm" + suffix, "request_id": "req_" + suffix, "payment_intent_id": intentID,
			"payment_attempt_id": "att_hkdm" + suffix, "amount": amount, "currency": sp.Currency,
			"reason": "Return good", "status": "SETTLED", "created_at": created, "updated_at": created,
		}}
	case airwallexSampleTransfer:
		data = transfer("PAID", "", "")
	case airwallexSampleTransferFail:
		data = transfer("FAILED", "ACCOUNT_INVALID", "The beneficiary bank rejected the account number.")
	case airwallexSampleDispute:
		data = map[string]any{"object": map[string]any{
			"id": "pdp_hkdm" + suffix, "payment_intent_id": intentID, "amount": amount, "currency": sp.Currency,
			"status": "REQUIRES_RESPONSE", "stage": "CHARGEBACK",
			"reason":     map[string]any{"type": "fraud", "description": "Cardholder does not recognise the transaction"},
			"created_at": created, "updated_at": created,
		}}
	case airwallexSampleDeposit:
		data = map[string]any{
			"id": "dep_" + suffix, "type": "BANK_TRANSFER", "status": "SETTLED",
			"amount": amount, "currency": sp.Currency, "reference": "INV-" + suffix[len(suffix)-6:],
			"payer": map[string]any{"name": "MALEE SUKJAI"}, "created_at": created,
		}
	default:
		return nil, fmt.Errorf("airwallex: sample %q: %w (known: %s)", eventType, ErrUnknownEventType,
			strings.Join(Airwallex{}.SampleTypes(), ", "))
	}
	return json.Marshal(map[string]any{
		"id": id, "name": name, "account_id": "acct_" + suffix, "version": "2024-09-27",
		"data": data, "created_at": created,
	})
}
