// Package bankhooks verifies signed bank and payment-provider webhooks and parses
// them into one canonical Event.
//
// One file per provider holds its signature scheme (verify and, for simulation,
// sign) and its envelope parser. The package knows nothing of HTTP servers,
// DingTalk or storage: it takes headers and the raw body and returns an Event or
// a typed error. Amounts are integers in the currency's minor unit; no float64
// is used anywhere on a money path.
package bankhooks

import (
	"time"
)

// Kind is a canonical event kind, shared by every provider.
type Kind string

// The canonical kinds. Providers map their own event types onto these; an event
// type with no mapping becomes KindOther (it is still stored, and routes that
// name no kinds still see it).
const (
	KindPaymentSucceeded  Kind = "payment.succeeded"
	KindPaymentFailed     Kind = "payment.failed"
	KindPaymentPending    Kind = "payment.pending"
	KindRefundSucceeded   Kind = "refund.succeeded"
	KindRefundFailed      Kind = "refund.failed"
	KindTransferSucceeded Kind = "transfer.succeeded"
	KindTransferFailed    Kind = "transfer.failed"
	KindAccountLinked     Kind = "account.linked"
	KindAccountLinkFailed Kind = "account.link_failed"
	KindDisputeOpened     Kind = "dispute.opened"
	KindOther             Kind = "other"
	// KindUnreadable is an event whose signature verified but whose body
	// could not be read into the canonical fields (not JSON, an unknown
	// currency, an amount that is not an integer of minor units …). It is
	// stored raw and alerted so someone looks: an authentic event is never
	// refused for its content.
	KindUnreadable Kind = "unreadable"
)

// Kinds returns every canonical kind in a stable order (a new slice each call).
func Kinds() []Kind {
	return []Kind{
		KindPaymentSucceeded, KindPaymentFailed, KindPaymentPending,
		KindRefundSucceeded, KindRefundFailed,
		KindTransferSucceeded, KindTransferFailed,
		KindAccountLinked, KindAccountLinkFailed,
		KindDisputeOpened, KindOther, KindUnreadable,
	}
}

// FailedKinds are the canonical kinds for which Failed is true, as strings
// (store filters take strings): the ones someone must look at, which chat
// replies and scheduled summaries list as failed and not acknowledged.
func FailedKinds() []string {
	var out []string
	for _, k := range Kinds() {
		if k.Failed() {
			out = append(out, string(k))
		}
	}
	return out
}

// Valid reports whether k is one of the canonical kinds.
func (k Kind) Valid() bool {
	for _, c := range Kinds() {
		if k == c {
			return true
		}
	}
	return false
}

// Failed reports whether k is a failure kind (the ones that @-mention people
// when a route sets mention.on_failure).
func (k Kind) Failed() bool {
	switch k {
	case KindPaymentFailed, KindRefundFailed, KindTransferFailed, KindAccountLinkFailed, KindDisputeOpened, KindUnreadable:
		return true
	}
	return false
}

// Event is the canonical form of one provider event.
//
// Amount is in the minor unit of Currency (THB 50.00 is Amount 5000, Currency
// "THB"); Currency is an upper-case ISO 4217 code, or empty when the event
// carries no amount (Amount is then 0).
type Event struct {
	// Provider is the provider scheme that parsed the event ("omise", "stripe", …).
	Provider string `json:"provider"`
	// ID is the provider's own event id; (source, ID) is the dedupe key.
	ID string `json:"id"`
	// Type is the provider's own event type, e.g. "charge.complete".
	Type string `json:"type"`
	// Kind is the canonical kind Type maps to.
	Kind Kind `json:"kind"`
	// Amount is in the currency's minor unit.
	Amount int64 `json:"amount"`
	// Currency is the upper-case ISO 4217 code.
	Currency string `json:"currency,omitempty"`
	// Reference is the provider object the event is about (charge, refund,
	// transfer, payment intent id …).
	Reference string `json:"reference,omitempty"`
	// Account is a bank account or card identifier as the provider sent it.
	// It is never logged or rendered in full: templates mask it to the last 4.
	Account string `json:"account,omitempty"`
	// Counterparty is the payer or payee name, where the provider gives one.
	Counterparty string `json:"counterparty,omitempty"`
	// Description is the merchant's own description of the object, if any.
	Description string `json:"description,omitempty"`
	// FailureCode and FailureMessage explain a failure kind, as the provider sent them.
	FailureCode    string `json:"failure_code,omitempty"`
	FailureMessage string `json:"failure_message,omitempty"`
	// Livemode is false for the provider's test mode.
	Livemode bool `json:"livemode"`
	// OccurredAt is when the provider says the event happened (UTC).
	OccurredAt time.Time `json:"occurred_at"`
}
