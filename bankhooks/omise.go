package bankhooks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Opn Payments (Omise) signature headers.
const (
	OmiseSignatureHeader = "Omise-Signature"
	OmiseTimestampHeader = "Omise-Signature-Timestamp"
)

// Omise is the Opn Payments (formerly Omise) webhook scheme.
//
// Signature (community consensus; Opn's own text could not be retrieved, see
// providers.md §1.2): Omise-Signature is the lower-case hex
// HMAC-SHA256 of "<Omise-Signature-Timestamp>.<raw body>", keyed with the
// dashboard webhook secret base64-decoded. During a secret rotation the
// header carries several comma-separated signatures; any one matching any
// active key is enough. The timestamp (unix seconds) must be within
// VerifyOptions.MaxSkew of now, both ways (default 5m). Opn recommends
// confirming money-moving events by fetching the object from its API; this
// package only verifies and parses.
//
// Event mapping (Parse):
//   - charge.create, charge.capture, charge.complete, charge.reverse,
//     charge.expire: by data.status: successful →
//     payment.succeeded; pending → payment.pending; failed, reversed,
//     expired → payment.failed (failure_code/failure_message from the
//     charge). charge.reverse carries status "reversed" (an authorisation
//     released without capture: the money never arrived), so it is a
//     failure. An unknown status → other. charge.update → other: it fires
//     for edits of a charge already reported, and mapping it by status would
//     alert twice for one payment.
//   - refund.create → refund.succeeded (Opn has no later refund event; the
//     refund exists from now on), unless data.status is failed or reversed
//     → refund.failed. Reference is the refunded charge's id (data.charge),
//     so a refund is found with its charge.
//   - transfer.*: a non-empty failure_code or the key transfer.fail →
//     transfer.failed; paid, or the key transfer.pay → transfer.succeeded;
//     anything else (create, send, destroy while unpaid) → other. Only
//     transfer.update and transfer.destroy are confirmed Opn keys, so an
//     update that reports the outcome is mapped by its fields (a later update
//     of a paid transfer can alert again; that is preferred to missing it).
//   - linked_account.complete (Online Direct Debit registration): status
//     successful → account.linked; failed or expired → account.link_failed
//     with the provider's failure_code/failure_message verbatim (Opn
//     documents the statuses failed, expired, pending, successful, deleted;
//     the failure codes depend on the bank and are not listed publicly);
//     other statuses → other. The key linked_account.complete itself is not
//     confirmed in Opn's public docs; any key whose data.object is
//     "linked_account" is mapped this way.
//   - dispute.create → dispute.opened (FailureCode is the dispute's
//     reason_code, FailureMessage its reason_message or message).
//   - anything else → other.
//
// Amount is data.amount (Opn sends integers in the smallest unit); a
// successful charge with captured_amount reports the captured amount.
// Account is the card's or bank account's last_digits as sent; Counterparty
// the card, bank account or source name.
type Omise struct{}

var _ Provider = Omise{}

// Name returns "omise".
func (Omise) Name() string { return "omise" }

// DecodeKey base64-decodes the dashboard webhook secret (standard alphabet,
// padded). Surrounding whitespace is ignored.
func (Omise) DecodeKey(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	if s == "" {
		return nil, fmt.Errorf("omise: %w", errEmptySecret)
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("omise: secret is not standard base64 (Opn webhook secrets are base64; paste it exactly as the dashboard shows it)")
	}
	if len(k) == 0 {
		return nil, fmt.Errorf("omise: secret decodes to zero bytes")
	}
	return k, nil
}

// Verify checks Omise-Signature and Omise-Signature-Timestamp (the
// omiseScheme preset of the declarative engine).
func (Omise) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	return omiseScheme.Verify(r, keys, opts)
}

// Sign returns the headers Opn would send: one hex signature per key,
// comma-joined, and the timestamp.
func (Omise) Sign(body []byte, keys []Key, now time.Time, id string) (Signed, error) {
	return omiseScheme.Sign(body, keys, now, id)
}

// omiseEnvelope is the Opn event object as the exact decoder reads it, data
// kept raw (see decodeOnce). encoding/json names this type and omiseData in
// its error messages, which Parse returns: neither is renamed or reshaped.
type omiseEnvelope struct {
	Object    string          `json:"object"`
	ID        string          `json:"id"`
	Key       string          `json:"key"`
	Livemode  bool            `json:"livemode"`
	CreatedAt string          `json:"created_at"`
	Created   string          `json:"created"`
	Data      json.RawMessage `json:"data"`
}

// omiseDocument is the Opn event object as Parse reads it in one pass. The
// outer Data, being shallower, takes the "data" member from the embedded
// envelope's raw Data, which stays nil; nil Data is an absent or null
// "data", as in the exact decoder.
type omiseDocument struct {
	omiseEnvelope
	Data *omiseData `json:"data"`
}

// omiseParty is the part of a card, bank account or source that Parse uses.
type omiseParty struct {
	Brand      string `json:"brand"`
	LastDigits string `json:"last_digits"`
	Name       string `json:"name"`
	Type       string `json:"type"`
}

// omiseData is the union of the charge, refund, transfer, dispute and
// linked_account fields that Parse uses.
type omiseData struct {
	Object         string      `json:"object"`
	ID             string      `json:"id"`
	Status         string      `json:"status"`
	Amount         json.Number `json:"amount"`
	CapturedAmount json.Number `json:"captured_amount"`
	Currency       string      `json:"currency"`
	Description    string      `json:"description"`
	FailureCode    string      `json:"failure_code"`
	FailureMessage string      `json:"failure_message"`
	Paid           bool        `json:"paid"`
	Deleted        bool        `json:"deleted"`
	Card           *omiseParty `json:"card"`
	BankAccount    *omiseParty `json:"bank_account"`
	Source         *omiseParty `json:"source"`
	Charge         objectRef   `json:"charge"`
	LastDigits     string      `json:"last_digits"`
	Type           string      `json:"type"`
	ReasonCode     string      `json:"reason_code"`
	ReasonMessage  string      `json:"reason_message"`
	Message        string      `json:"message"`
}

// Parse turns an Opn event into the canonical Event.
func (Omise) Parse(r Request) (Event, error) {
	var doc omiseDocument
	if !decodeOnce(r.Body, &doc, "data") {
		return omiseParseExact(r.Body)
	}
	if err := omiseCheck(&doc.omiseEnvelope); err != nil {
		return Event{}, err
	}
	d := doc.Data
	if d == nil {
		d = &omiseData{}
	}
	return omiseToEvent(&doc.omiseEnvelope, d)
}

// omiseParseExact is Parse for the bodies decodeOnce leaves to it: the
// envelope first, then data on its own.
func omiseParseExact(body []byte) (Event, error) {
	var env omiseEnvelope
	if err := decodeJSON(body, &env); err != nil {
		return Event{}, malformed("not a JSON event object: %v", err)
	}
	if err := omiseCheck(&env); err != nil {
		return Event{}, err
	}
	var d omiseData
	if len(env.Data) > 0 && string(env.Data) != "null" {
		if err := decodeJSON(env.Data, &d); err != nil {
			return Event{}, malformed("data: %v", err)
		}
	}
	return omiseToEvent(&env, &d)
}

// omiseCheck checks the envelope fields every Opn event has.
func omiseCheck(env *omiseEnvelope) error {
	switch {
	case env.Object != "event":
		return malformed("object is %q, want \"event\"", truncate(env.Object, 32))
	case env.ID == "":
		return malformed("missing %q", "id")
	case env.Key == "":
		return malformed("missing %q", "key")
	}
	return nil
}

// omiseToEvent maps a decoded Opn event (env's Data is not used) to the
// canonical Event.
func omiseToEvent(env *omiseEnvelope, d *omiseData) (Event, error) {
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
	ev.Kind = omiseKind(env.Key, d)

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

// omiseKind maps an Opn event key and its data to a canonical kind. The
// rules are documented on Omise.
func omiseKind(key string, d *omiseData) Kind {
	group, _, _ := strings.Cut(key, ".")
	switch {
	case key == "charge.update":
		// An edit of a charge (metadata, description) is not a money
		// movement; mapping it by status would alert a second time for a
		// charge already reported by charge.create or charge.complete.
		return KindOther
	case group == "charge":
		switch d.Status {
		case "successful":
			return KindPaymentSucceeded
		case "pending":
			return KindPaymentPending
		case "failed", "reversed", "expired":
			return KindPaymentFailed
		}
		return KindOther
	case key == "refund.create":
		switch d.Status {
		case "failed", "reversed":
			return KindRefundFailed
		}
		return KindRefundSucceeded
	case group == "transfer":
		switch {
		case d.FailureCode != "" || key == "transfer.fail":
			return KindTransferFailed
		case d.Deleted:
			return KindOther
		case d.Paid || key == "transfer.pay":
			return KindTransferSucceeded
		}
		return KindOther
	case d.Object == "linked_account" || group == "linked_account":
		switch d.Status {
		case "successful", "active", "linked":
			return KindAccountLinked
		case "failed", "expired":
			return KindAccountLinkFailed
		}
		return KindOther
	case key == "dispute.create":
		return KindDisputeOpened
	}
	return KindOther
}

// Omise sample event types. The ":failed" variants are our own labels for a
// failed outcome of the same Opn key.
const (
	omiseSampleCharge       = "charge.complete"
	omiseSampleChargeFailed = "charge.complete:failed"
	omiseSampleRefund       = "refund.create"
	omiseSampleTransferPay  = "transfer.pay"
	omiseSampleTransferFail = "transfer.fail"
	omiseSampleLinked       = "linked_account.complete"
	omiseSampleLinkFailed   = "linked_account.complete:failed"
	omiseSampleDispute      = "dispute.create"
)

// SampleTypes lists the Opn events Sample builds; charge.complete (a
// successful PromptPay charge of THB 50.00) is the default.
func (Omise) SampleTypes() []string {
	return []string{
		omiseSampleCharge, omiseSampleChargeFailed, omiseSampleRefund,
		omiseSampleTransferPay, omiseSampleTransferFail,
		omiseSampleLinked, omiseSampleLinkFailed, omiseSampleDispute,
	}
}

// Sample builds a realistic Opn event body. Ids are derived from p.Now so
// the result depends only on its arguments.
func (Omise) Sample(eventType string, p SampleParams) ([]byte, error) {
	sp, err := sampleDefaults(p, "THB")
	if err != nil {
		return nil, fmt.Errorf("omise: sample: %w", err)
	}
	suffix := sampleSuffix(p.Now)
	id := firstNonEmpty(p.ID, "evnt_test_"+suffix)
	created := p.Now.UTC().Format(time.RFC3339)
	cur := strings.ToLower(sp.Currency)

	charge := func(status, failureCode, failureMessage string) map[string]any {
		paid := status == "successful"
		captured, paidAt := int64(0), any(nil)
		if paid {
			captured, paidAt = sp.Amount, created
		}
		return map[string]any{
			"object": "charge", "id": "chrg_test_" + suffix, "livemode": false,
			"location": "/charges/chrg_test_" + suffix,
			"amount":   sp.Amount, "currency": cur, "captured_amount": captured,
			"description": "Order " + suffix[len(suffix)-6:],
			"status":      status, "paid": paid, "authorized": paid, "capturable": false,
			"failure_code": nullable(failureCode), "failure_message": nullable(failureMessage),
			"card": nil,
			"source": map[string]any{
				"object": "source", "id": "src_test_" + suffix, "type": "promptpay",
				"flow": "offline", "amount": sp.Amount, "currency": cur, "name": nil,
			},
			"created_at": created, "paid_at": paidAt,
		}
	}
	transfer := func(paid bool, failureCode, failureMessage string) map[string]any {
		return map[string]any{
			"object": "transfer", "id": "trsf_test_" + suffix, "livemode": false,
			"location":  "/transfers/trsf_test_" + suffix,
			"recipient": "recp_test_5086xmr74vxs0ajpo78",
			"bank_account": map[string]any{
				"object": "bank_account", "brand": "kbank", "last_digits": "6789",
				"name": "SOMCHAI JAIDEE",
			},
			"sent": true, "paid": paid, "amount": sp.Amount, "currency": cur, "fee": 3000,
			"failure_code": nullable(failureCode), "failure_message": nullable(failureMessage),
			"created_at": created,
		}
	}
	linked := func(status, failureCode, failureMessage string) map[string]any {
		lastDigits := any(nil)
		if status == "successful" {
			lastDigits = "4321"
		}
		return map[string]any{
			"object": "linked_account", "id": "lnac_test_" + suffix, "livemode": false,
			"location": "/linked_accounts/lnac_test_" + suffix, "type": "direct_debit_kbank",
			"status": status, "last_digits": lastDigits,
			"failure_code": nullable(failureCode), "failure_message": nullable(failureMessage),
			"metadata": map[string]any{}, "created_at": created,
		}
	}

	var key string
	var data map[string]any
	switch eventType {
	case "", omiseSampleCharge:
		key, data = "charge.complete", charge("successful", "", "")
	case omiseSampleChargeFailed:
		key, data = "charge.complete", charge("failed", "payment_rejected", "The payment was rejected by the issuer.")
	case omiseSampleRefund:
		key = "refund.create"
		data = map[string]any{
			"object": "refund", "id": "rfnd_test_" + suffix, "livemode": false,
			"location": "/charges/chrg_test_" + suffix + "/refunds/rfnd_test_" + suffix,
			"amount":   sp.Amount, "currency": cur, "status": "closed",
			"charge": "chrg_test_" + suffix, "transaction": "trxn_test_" + suffix,
			"created_at": created,
		}
	case omiseSampleTransferPay:
		key, data = "transfer.pay", transfer(true, "", "")
	case omiseSampleTransferFail:
		key, data = "transfer.fail", transfer(false, "insufficient_balance", "insufficient balance to make this transfer")
	case omiseSampleLinked:
		key, data = "linked_account.complete", linked("successful", "", "")
	case omiseSampleLinkFailed:
		// Opn does not publish linked-account failure codes; this one is
		// illustrative only.
		key, data = "linked_account.complete", linked("failed", "registration_failed", "The customer did not complete the registration.")
	case omiseSampleDispute:
		key = "dispute.create"
		data = map[string]any{
			"object": "dispute", "id": "dspt_test_" + suffix, "livemode": false,
			"location": "/disputes/dspt_test_" + suffix,
			"amount":   sp.Amount, "currency": cur, "status": "open",
			"reason_code": "goods_or_services_not_provided", "reason_message": "Services not provided or Merchandise not received",
			"charge": "chrg_test_" + suffix, "created_at": created,
		}
	default:
		return nil, fmt.Errorf("omise: sample %q: %w (known: %s)", eventType, ErrUnknownEventType,
			strings.Join(Omise{}.SampleTypes(), ", "))
	}
	return json.Marshal(map[string]any{
		"object": "event", "id": id, "livemode": false,
		"location": "/events/" + id, "key": key, "created_at": created,
		"webhook_deliveries": []any{}, "data": data,
	})
}
