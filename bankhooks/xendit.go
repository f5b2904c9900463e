package bankhooks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Xendit headers.
const (
	// XenditCallbackTokenHeader carries the account's static webhook
	// verification token.
	XenditCallbackTokenHeader = "x-callback-token"
	// XenditWebhookIDHeader is the unique id of one webhook; a retry
	// carries the same id.
	XenditWebhookIDHeader = "webhook-id"
)

// Xendit is Xendit's webhook scheme
// (https://docs.xendit.co/api-integration/callback/setup).
//
// Verification: x-callback-token must equal the account's "Webhook
// verification token" (Dashboard → Settings → Webhooks). It is a static
// token, compared in constant time (SHA-256 of both sides, then
// hmac.Equal, so not even the length leaks); there is no body signature
// and no timestamp, so a captured request can be replayed: the dedupe key
// (below) is the only replay protection. Every key is tried; a token that
// matches only an expired key is ErrKeyExpired. A token header sent twice
// is malformed. Bill Payments' X-Callback-Signature is not supported.
//
// Envelope (Payments API, https://docs.xendit.co/apidocs/payment-webhook-notification):
// event (payment.capture …), business_id, created, data {payment_id,
// payment_request_id, status, request_amount, currency, reference_id,
// failure_code …}. Amounts are in major units (IDR 10000 is ten thousand
// rupiah, Amount 1000000 in ISO minor units) and are parsed exactly.
// The legacy invoice callback (id, external_id, status, amount,
// paid_amount, currency, paid_at; no event field) is read too.
//
// Event id (the dedupe key): the webhook-id header when present; else the
// first of data.id (a refund's or payout's own id), payment_id,
// payment_request_id, payment_token_id, + ":" + event; for an invoice
// callback, the invoice id + ":paid" (PAID and SETTLED are one payment) or
// ":" + the status; else BodyID.
//
// Event mapping (Parse):
//   - payment.capture, payment.succeeded → payment.succeeded (payment.failed
//     if data.status is FAILED); payment.authorization, payment.pending,
//     payment.awaiting_capture → payment.pending; payment.failure,
//     payment.failed, payment.expiry, payment_request.expiry →
//     payment.failed (FailureCode data.failure_code, else the status).
//   - refund.succeeded → refund.succeeded; refund.failed → refund.failed.
//     Reference is the refunded payment request.
//   - payout.succeeded → transfer.succeeded; payout.failed, .expired,
//     .reversed, .cancelled → transfer.failed.
//   - payment_token.activation → account.linked; payment_token.failure →
//     account.link_failed.
//   - invoice callback: PAID, SETTLED → payment.succeeded (paid_amount);
//     PENDING → payment.pending; EXPIRED → payment.failed.
//   - anything else → other. A body that is neither a Payments API event nor
//     an invoice callback is malformed (stored as unreadable, so someone
//     looks).
//
// Xendit marks no callback as test or live: Livemode is true.
type Xendit struct{}

var _ Provider = Xendit{}

// Name returns "xendit".
func (Xendit) Name() string { return "xendit" }

// DecodeKey returns the verification token as it is (surrounding whitespace
// ignored).
func (Xendit) DecodeKey(secret string) ([]byte, error) {
	return xenditScheme.DecodeKey(secret)
}

// Verify checks x-callback-token.
func (Xendit) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	return xenditScheme.Verify(r, keys, opts)
}

// Sign returns the headers Xendit would send: the first key's token (there
// is one token slot, so a rotation cannot be shown) and, when id is given,
// webhook-id.
func (Xendit) Sign(body []byte, keys []Key, now time.Time, id string) (Signed, error) {
	if len(keys) > 1 {
		keys = keys[:1] // one token slot
	}
	s, err := xenditScheme.Sign(body, keys, now, id)
	if err == nil && id == "" {
		// No id given: sent as a legacy callback, without webhook-id
		// (the engine would make one up).
		s.Header.Del(XenditWebhookIDHeader)
	}
	return s, err
}

// xenditHeaderID returns a usable webhook-id header, or "".
func xenditHeaderID(h http.Header) string {
	id := strings.TrimSpace(headerValue(h, XenditWebhookIDHeader))
	if len(id) > maxUnreadableID || !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		return ""
	}
	return id
}

// Parse turns a Xendit callback into the canonical Event.
func (Xendit) Parse(r Request) (Event, error) {
	doc, err := decodeHookObject(r.Body)
	if err != nil {
		return Event{}, malformed("not a JSON callback object: %v", err)
	}
	if doc.has("event") {
		return xenditParseEvent(r, doc)
	}
	if doc.has("external_id") && doc.has("status") {
		return xenditParseInvoice(r, doc)
	}
	return Event{}, malformed("neither a Payments API event (event, data) nor an invoice callback (external_id, status)")
}

// xenditParseEvent reads a Payments API (v2/v3), refund, payout or token
// event.
func xenditParseEvent(r Request, doc hookObject) (Event, error) {
	event := doc.str("event")
	if event == "" {
		return Event{}, malformed("%q is not a string", "event")
	}
	if doc.has("data") && doc.obj("data") == nil {
		return Event{}, malformed("data is not an object")
	}
	d := doc.obj("data")
	occurred, err := parseTime("created", firstNonEmpty(doc.str("created"), d.str("updated"), d.str("created")))
	if err != nil {
		return Event{}, err
	}
	ev := Event{
		Provider:    "xendit",
		Type:        event,
		Kind:        xenditKind(event, d.str("status")),
		Livemode:    true,
		OccurredAt:  occurred,
		Reference:   firstNonEmpty(d.str("payment_request_id"), d.str("payment_id"), d.str("id"), d.str("payment_token_id")),
		Description: firstNonEmpty(d.str("description"), d.str("reference_id")),
	}
	ev.ID = xenditHeaderID(r.Header)
	if ev.ID == "" {
		// data.id is the refund's or payout's own id (several refunds of one
		// payment are several events); v3 payment events have payment_id.
		if obj := firstNonEmpty(d.str("id"), d.str("payment_id"), d.str("payment_request_id"), d.str("payment_token_id")); obj != "" {
			ev.ID = truncate(obj, 150) + ":" + truncate(event, 40)
		} else {
			ev.ID = BodyID(r.Body)
		}
	}
	amountName := "request_amount"
	if !d.has(amountName) {
		amountName = "amount"
	}
	amount, err := d.amountField(amountName)
	if err != nil {
		return Event{}, err
	}
	if ev.Amount, ev.Currency, err = majorMoney(amountName, amount, d.str("currency")); err != nil {
		return Event{}, err
	}
	if cp := d.obj("channel_properties"); cp != nil {
		ev.Account = cp.str("account_number")
		ev.Counterparty = cp.str("account_holder_name")
	}
	if ev.Kind.Failed() {
		ev.FailureCode = firstNonEmpty(d.str("failure_code"), d.str("status"), event)
		ev.FailureMessage = firstNonEmpty(d.str("failure_message"), d.str("reason"))
	}
	return ev, nil
}

// xenditKind maps a Payments API event (and its data.status) to a kind.
func xenditKind(event, status string) Kind {
	switch event {
	case "payment.capture", "payment.succeeded":
		if strings.EqualFold(status, "FAILED") {
			return KindPaymentFailed
		}
		return KindPaymentSucceeded
	case "payment.authorization", "payment.pending", "payment.awaiting_capture":
		return KindPaymentPending
	case "payment.failure", "payment.failed", "payment.expiry", "payment.expired", "payment_request.expiry":
		return KindPaymentFailed
	case "refund.succeeded":
		return KindRefundSucceeded
	case "refund.failed":
		return KindRefundFailed
	case "payout.succeeded":
		return KindTransferSucceeded
	case "payout.failed", "payout.expired", "payout.reversed", "payout.cancelled":
		return KindTransferFailed
	case "payment_token.activation":
		return KindAccountLinked
	case "payment_token.failure":
		return KindAccountLinkFailed
	}
	return KindOther
}

// xenditParseInvoice reads a legacy invoice callback.
func xenditParseInvoice(r Request, doc hookObject) (Event, error) {
	id, status := doc.str("id"), doc.str("status")
	if id == "" {
		return Event{}, malformed("invoice callback: missing %q", "id")
	}
	if status == "" {
		return Event{}, malformed("invoice callback: %q is not a string", "status")
	}
	upper := strings.ToUpper(status)
	ev := Event{
		Provider:    "xendit",
		Type:        "invoice." + strings.ToLower(status),
		Livemode:    true,
		Reference:   id,
		Description: firstNonEmpty(doc.str("description"), doc.str("external_id")),
		Account:     doc.str("payment_destination"),
	}
	state := strings.ToLower(status)
	amountName := "amount"
	switch upper {
	case "PAID", "SETTLED":
		ev.Kind, state = KindPaymentSucceeded, "paid"
		if doc.has("paid_amount") {
			amountName = "paid_amount"
		}
	case "PENDING":
		ev.Kind = KindPaymentPending
	case "EXPIRED":
		ev.Kind = KindPaymentFailed
		ev.FailureCode, ev.FailureMessage = "EXPIRED", "the invoice expired unpaid"
	default:
		ev.Kind = KindOther
	}
	ev.ID = xenditHeaderID(r.Header)
	if ev.ID == "" {
		ev.ID = truncate(id, 150) + ":" + truncate(state, 40)
	}
	var err error
	if ev.OccurredAt, err = parseTime("paid_at", firstNonEmpty(doc.str("paid_at"), doc.str("updated"), doc.str("created"))); err != nil {
		return Event{}, err
	}
	amount, err := doc.amountField(amountName)
	if err != nil {
		return Event{}, err
	}
	// Early invoice callbacks had no currency; invoices were IDR only.
	if ev.Amount, ev.Currency, err = majorMoney(amountName, amount, firstNonEmpty(doc.str("currency"), "IDR")); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// Xendit sample event types. invoice.* are legacy invoice callbacks (they
// carry no event field; the names are ours).
const (
	xenditSampleCapture     = "payment.capture"
	xenditSampleFailure     = "payment.failure"
	xenditSampleRefund      = "refund.succeeded"
	xenditSamplePayout      = "payout.succeeded"
	xenditSamplePayoutFail  = "payout.failed"
	xenditSampleInvoicePaid = "invoice.paid"
	xenditSampleInvoiceExp  = "invoice.expired"
)

// SampleTypes lists the Xendit callbacks Sample builds; payment.capture (a
// BRI virtual account payment of IDR 50.00 by default) is the default.
func (Xendit) SampleTypes() []string {
	return []string{
		xenditSampleCapture, xenditSampleFailure, xenditSampleRefund,
		xenditSamplePayout, xenditSamplePayoutFail, xenditSampleInvoicePaid, xenditSampleInvoiceExp,
	}
}

// Sample builds a realistic Xendit callback body. Ids are derived from p.Now;
// p.ID, when set, is the payment (or invoice) id.
func (Xendit) Sample(eventType string, p SampleParams) ([]byte, error) {
	sp, err := sampleDefaults(p, "IDR")
	if err != nil {
		return nil, fmt.Errorf("xendit: sample: %w", err)
	}
	major, err := FormatMajor(sp.Amount, sp.Currency)
	if err != nil {
		return nil, fmt.Errorf("xendit: sample: %w", err)
	}
	// Xendit writes whole rupiah as 10000, not 10000.00.
	if strings.Contains(major, ".") {
		major = strings.TrimSuffix(strings.TrimRight(major, "0"), ".")
	}
	amount := json.Number(major)
	suffix := sampleSuffix(p.Now)
	created := p.Now.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	businessID := "6094fa76c2fd53701b8e079c"
	paymentID := firstNonEmpty(p.ID, "py-"+suffix)
	prID := "pr-" + suffix
	ref := "order-" + suffix[len(suffix)-6:]

	payment := func(status, failureCode string) map[string]any {
		d := map[string]any{
			"payment_id": paymentID, "business_id": businessID, "status": status,
			"payment_request_id": prID, "request_amount": amount, "customer_id": "cust-" + suffix,
			"channel_code": "BRI_VIRTUAL_ACCOUNT", "country": "ID", "currency": sp.Currency,
			"reference_id": ref, "description": "Order " + ref, "type": "PAY",
			"created": created, "updated": created,
		}
		if failureCode != "" {
			d["failure_code"] = failureCode
		}
		return d
	}
	payout := func(status, failureCode string) map[string]any {
		d := map[string]any{
			"id": firstNonEmpty(p.ID, "disb-"+suffix), "business_id": businessID, "reference_id": ref,
			"amount": amount, "currency": sp.Currency, "channel_code": "ID_BCA",
			"channel_properties": map[string]any{"account_holder_name": "BUDI SANTOSO", "account_number": "0123456789"},
			"description":        "Supplier payout " + ref, "status": status, "created": created, "updated": created,
		}
		if failureCode != "" {
			d["failure_code"] = failureCode
		}
		return d
	}
	invoice := func(status string) map[string]any {
		inv := map[string]any{
			"id": firstNonEmpty(p.ID, "65a1"+suffix), "external_id": ref, "user_id": businessID,
			"is_high": false, "status": status, "merchant_name": "Toko Contoh", "amount": amount,
			"payer_email": "customer@example.com", "description": "Invoice " + ref,
			"created": created, "updated": created, "currency": sp.Currency,
		}
		if status == "PAID" {
			inv["paid_amount"], inv["paid_at"] = amount, created
			inv["payment_method"], inv["bank_code"], inv["payment_channel"] = "BANK_TRANSFER", "MANDIRI", "MANDIRI"
			inv["payment_destination"] = "8860810000209"
		}
		return inv
	}
	envelope := func(event string, data map[string]any) ([]byte, error) {
		return json.Marshal(map[string]any{
			"event": event, "business_id": businessID, "created": created, "api_version": "v3", "data": data,
		})
	}

	switch eventType {
	case "", xenditSampleCapture:
		return envelope(xenditSampleCapture, payment("SUCCEEDED", ""))
	case xenditSampleFailure:
		return envelope(xenditSampleFailure, payment("FAILED", "INSUFFICIENT_BALANCE"))
	case xenditSampleRefund:
		return envelope(xenditSampleRefund, map[string]any{
			"id": firstNonEmpty(p.ID, "rfd-"+suffix), "payment_id": paymentID, "payment_request_id": prID,
			"reference_id": ref, "amount": amount, "currency": sp.Currency, "channel_code": "BRI_VIRTUAL_ACCOUNT",
			"status": "SUCCEEDED", "reason": "REQUESTED_BY_CUSTOMER", "country": "ID",
			"created": created, "updated": created,
		})
	case xenditSamplePayout:
		return envelope(xenditSamplePayout, payout("SUCCEEDED", ""))
	case xenditSamplePayoutFail:
		return envelope(xenditSamplePayoutFail, payout("FAILED", "INVALID_DESTINATION"))
	case xenditSampleInvoicePaid:
		return json.Marshal(invoice("PAID"))
	case xenditSampleInvoiceExp:
		return json.Marshal(invoice("EXPIRED"))
	}
	return nil, fmt.Errorf("xendit: sample %q: %w (known: %s)", eventType, ErrUnknownEventType,
		strings.Join(Xendit{}.SampleTypes(), ", "))
}
