package bankhooks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MidtransSignatureField is the body member that carries Midtrans's
// signature (there is no signature header).
const MidtransSignatureField = "signature_key"

// midtransTimeLayout is transaction_time's layout, in Asia/Jakarta time.
const midtransTimeLayout = "2006-01-02 15:04:05"

// midtransZone is Asia/Jakarta (WIB, UTC+7, no daylight saving), fixed so
// that parsing needs no time zone database.
var midtransZone = time.FixedZone("WIB", 7*3600)

// Midtrans is Midtrans's HTTP notification scheme
// (https://docs.midtrans.com/reference/handle-notifications).
//
// Signature: the body's signature_key is the lower-case hex SHA-512 (a plain
// digest, not an HMAC) of order_id + status_code + gross_amount + the
// Server Key, each field exactly as sent ("100000.00", not re-formatted).
// Every key is tried; a match with an expired key only is ErrKeyExpired.
// The digest covers only those three fields: transaction_status,
// fraud_status, currency and the rest are not signed, and no timestamp is,
// so a captured notification can be replayed and edited in its unsigned
// fields. The dedupe key bounds the replay; confirming the status through
// Midtrans's API (GET /v2/{order_id}/status, what Midtrans's own SDKs do)
// closes the rest.
//
// Event mapping (Parse), by transaction_status:
//   - settlement → payment.succeeded; capture with fraud_status accept →
//     payment.succeeded (both only with status_code 200; otherwise other);
//     capture with challenge, pending, authorize → payment.pending; capture
//     with deny, and deny, cancel, expire, failure → payment.failed
//     (FailureCode the status, FailureMessage status_message).
//   - refund, partial_refund → refund.succeeded (the last entry of refunds,
//     the refund this notification reports; else refund_amount; else
//     gross_amount); chargeback, partial_chargeback → dispute.opened.
//   - anything else → other.
//
// Event id (the dedupe key): transaction_id + ":" + transaction_status (a
// retry of a notification is a duplicate; the next status is a new event);
// refunds add the number of refunds so far, so each partial refund counts.
// Reference is order_id. Amounts: gross_amount is a decimal string in major
// units (IDR "100000.00" is Amount 10000000), currency IDR when absent.
// transaction_time is Asia/Jakarta time. Midtrans marks no notification as
// sandbox or production: Livemode is true.
type Midtrans struct{}

var _ Provider = Midtrans{}

// Name returns "midtrans".
func (Midtrans) Name() string { return "midtrans" }

// DecodeKey returns the Server Key as it is (surrounding whitespace
// ignored).
func (Midtrans) DecodeKey(secret string) ([]byte, error) {
	return midtransScheme.DecodeKey(secret)
}

// Verify checks the body's signature_key.
func (Midtrans) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	return midtransScheme.Verify(r, keys, opts)
}

// Sign returns body with signature_key set for the first key (the body has
// one signature slot): an existing top-level signature_key's value is
// replaced, else the member is added first; every other byte is kept. A
// body Verify would refuse as ambiguous is not signed.
func (Midtrans) Sign(body []byte, keys []Key, now time.Time, id string) (Signed, error) {
	if len(keys) > 1 {
		keys = keys[:1]
	}
	return midtransScheme.Sign(body, keys, now, id)
}

func mustQuote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// Parse turns a Midtrans notification into the canonical Event.
func (Midtrans) Parse(r Request) (Event, error) {
	doc, err := decodeHookObject(r.Body)
	if err != nil {
		return Event{}, malformed("not a JSON notification object: %v", err)
	}
	status := doc.str("transaction_status")
	orderID, _, err := doc.scalarText("order_id")
	switch {
	case status == "":
		return Event{}, malformed("missing %q", "transaction_status")
	case err != nil || orderID == "":
		return Event{}, malformed("missing %q", "order_id")
	}
	statusCode, _, err := doc.scalarText("status_code")
	if err != nil {
		return Event{}, malformed("status_code: %v", err)
	}
	fraud := strings.ToLower(doc.str("fraud_status"))
	ev := Event{
		Provider:  "midtrans",
		Type:      status,
		Kind:      midtransKind(strings.ToLower(status), fraud, statusCode),
		Livemode:  true,
		Reference: orderID,
	}
	if fraud != "" && status == "capture" {
		ev.Type = status + ":" + fraud
	}

	txID := firstNonEmpty(doc.str("transaction_id"), orderID)
	ev.ID = truncate(txID, 150) + ":" + truncate(status, 40)
	var refunds []json.RawMessage
	if ev.Kind == KindRefundSucceeded && json.Unmarshal(doc["refunds"], &refunds) == nil && len(refunds) > 0 {
		ev.ID += ":" + strconv.Itoa(len(refunds))
	}

	when := doc.str("transaction_time")
	if ev.Kind == KindPaymentSucceeded && doc.str("settlement_time") != "" {
		when = doc.str("settlement_time")
	}
	if when != "" {
		t, err := time.ParseInLocation(midtransTimeLayout, when, midtransZone)
		if err != nil {
			return Event{}, malformed("transaction_time %q is not %q", truncate(when, 40), midtransTimeLayout)
		}
		ev.OccurredAt = t.UTC()
	}

	// A refund reports the refund that caused it: the last of refunds, else
	// refund_amount, else the whole gross_amount.
	amountName, amountOf := "gross_amount", doc
	if ev.Kind == KindRefundSucceeded {
		var last hookObject
		if len(refunds) > 0 {
			last, _ = decodeHookObject(refunds[len(refunds)-1])
		}
		switch {
		case last.has("refund_amount"):
			amountName, amountOf = "refunds[].refund_amount", last
		case doc.has("refund_amount"):
			amountName = "refund_amount"
		}
	}
	amount, err := amountOf.amountField(strings.TrimPrefix(amountName, "refunds[]."))
	if err != nil {
		return Event{}, err
	}
	if ev.Amount, ev.Currency, err = majorMoney(amountName, amount, firstNonEmpty(doc.str("currency"), "IDR")); err != nil {
		return Event{}, err
	}

	ev.Account = firstNonEmpty(doc.str("masked_card"), doc.str("permata_va_number"))
	var vas []struct {
		VANumber string `json:"va_number"`
	}
	if ev.Account == "" && json.Unmarshal(doc["va_numbers"], &vas) == nil && len(vas) > 0 {
		ev.Account = vas[0].VANumber
	}
	if ev.Kind.Failed() {
		ev.FailureCode = strings.ToLower(status)
		if fraud == "deny" {
			ev.FailureCode = "fraud_deny"
		}
		ev.FailureMessage = doc.str("status_message")
	}
	return ev, nil
}

// midtransKind maps transaction_status, fraud_status and status_code to a
// kind. The rules are documented on Midtrans.
func midtransKind(status, fraud, statusCode string) Kind {
	switch status {
	case "settlement":
		if statusCode != "200" {
			return KindOther
		}
		return KindPaymentSucceeded
	case "capture":
		switch fraud {
		case "accept":
			if statusCode != "200" {
				return KindOther
			}
			return KindPaymentSucceeded
		case "deny":
			return KindPaymentFailed
		}
		return KindPaymentPending
	case "pending", "authorize":
		return KindPaymentPending
	case "deny", "cancel", "expire", "failure":
		return KindPaymentFailed
	case "refund", "partial_refund":
		return KindRefundSucceeded
	case "chargeback", "partial_chargeback":
		return KindDisputeOpened
	}
	return KindOther
}

// Midtrans sample types: transaction_status values, "capture:challenge"
// being a card capture held by the fraud check.
const (
	midtransSampleSettlement = "settlement"
	midtransSampleCapture    = "capture"
	midtransSampleChallenge  = "capture:challenge"
	midtransSamplePending    = "pending"
	midtransSampleExpire     = "expire"
	midtransSampleDeny       = "deny"
	midtransSampleRefund     = "refund"
)

// SampleTypes lists the notifications Sample builds; settlement (a BCA
// virtual account payment) is the default.
func (Midtrans) SampleTypes() []string {
	return []string{
		midtransSampleSettlement, midtransSampleCapture, midtransSampleChallenge,
		midtransSamplePending, midtransSampleExpire, midtransSampleDeny, midtransSampleRefund,
	}
}

// Sample builds a realistic Midtrans notification body, unsigned (Sign adds
// signature_key). p.ID, when set, is the transaction_id.
func (Midtrans) Sample(eventType string, p SampleParams) ([]byte, error) {
	sp, err := sampleDefaults(p, "IDR")
	if err != nil {
		return nil, fmt.Errorf("midtrans: sample: %w", err)
	}
	gross, err := FormatMajor(sp.Amount, sp.Currency)
	if err != nil {
		return nil, fmt.Errorf("midtrans: sample: %w", err)
	}
	if !strings.Contains(gross, ".") {
		gross += ".00" // Midtrans always writes two decimals
	}
	suffix := sampleSuffix(p.Now)
	at := p.Now.In(midtransZone).Format(midtransTimeLayout)
	n := map[string]any{
		"transaction_time": at, "transaction_id": firstNonEmpty(p.ID, "b3c1f8a2-"+suffix),
		"order_id": "ORDER-" + suffix, "merchant_id": "G141532850", "gross_amount": gross,
		"currency": sp.Currency, "expiry_time": p.Now.Add(24 * time.Hour).In(midtransZone).Format(midtransTimeLayout),
	}
	va := func() {
		n["payment_type"] = "bank_transfer"
		n["va_numbers"] = []any{map[string]any{"bank": "bca", "va_number": "12345678901"}}
		n["fraud_status"] = "accept"
	}
	card := func(fraud string) {
		n["payment_type"], n["masked_card"], n["bank"], n["card_type"] = "credit_card", "48111111-1114", "bni", "credit"
		n["fraud_status"], n["eci"], n["approval_code"] = fraud, "05", "1578569243927"
		n["channel_response_code"], n["channel_response_message"] = "00", "Approved"
	}
	status, code, msg := eventType, "200", "midtrans payment notification"
	switch eventType {
	case "", midtransSampleSettlement:
		status = midtransSampleSettlement
		va()
		n["settlement_time"] = at
	case midtransSampleCapture:
		card("accept")
	case midtransSampleChallenge:
		status, code = "capture", "201"
		card("challenge")
	case midtransSamplePending:
		code = "201"
		va()
	case midtransSampleExpire:
		code, msg = "407", "Success, transaction is expired"
		va()
	case midtransSampleDeny:
		code, msg = "202", "Deny by Bank [BNI] with code [05] and message [Do not honour]"
		card("deny")
		n["channel_response_code"], n["channel_response_message"] = "05", "Do not honour"
	case midtransSampleRefund:
		card("accept")
		n["settlement_time"] = at
		n["refund_amount"] = gross
		n["refunds"] = []any{map[string]any{
			"refund_chargeback_id": 1, "refund_amount": gross, "created_at": at, "reason": "Customer returned the goods",
			"refund_key": "reference1", "refund_method": "online",
		}}
	default:
		return nil, fmt.Errorf("midtrans: sample %q: %w (known: %s)", eventType, ErrUnknownEventType,
			strings.Join(Midtrans{}.SampleTypes(), ", "))
	}
	n["transaction_status"], n["status_code"], n["status_message"] = status, code, msg
	return json.Marshal(n)
}
