package confirm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bankbot/bankbot/bankhooks"
)

// omise confirms Opn (formerly Omise) events through the Opn API
// (https://api.omise.co), authenticated with the secret key (skey_…) as the
// basic-auth user and an empty password.
//
//   - payment.*: GET /charges/{reference}. The charge's status maps as the
//     webhook's does (successful → payment.succeeded, pending →
//     payment.pending, failed/reversed/expired → payment.failed); the
//     amount is captured_amount for a successful charge that has one, else
//     amount.
//   - refund.*: Opn's refund webhook names the refunded charge as the
//     event's Reference (bankhooks puts data.charge there; the refund's own
//     id is not in the canonical event), so the refund is confirmed
//     through its charge: GET /charges/{charge}. A refund.succeeded is
//     confirmed when the charge exists in the same currency and its
//     refunded total (refunded_amount, or refunded on older API versions)
//     covers the refund's amount; a refund.failed when the charge exists
//     in that currency and its amount covers the refund (a failure leaves
//     no trace on the charge to compare).
//   - transfer.*: GET /transfers/{reference}. failure_code set →
//     transfer.failed; paid → transfer.succeeded; anything else is not yet
//     a money outcome.
type omise struct{ o Options }

var _ Confirmer = (*omise)(nil)

func newOmise(o Options) (Confirmer, error) { return &omise{o: o}, nil }

func (*omise) Provider() string { return "Opn" }

func (*omise) Handles(k bankhooks.Kind) bool { return MoneyKind(k) }

// omiseObject is the part of an Opn charge or transfer the confirmer reads.
type omiseObject struct {
	Object         string      `json:"object"`
	ID             string      `json:"id"`
	Status         string      `json:"status"`
	Amount         json.Number `json:"amount"`
	CapturedAmount json.Number `json:"captured_amount"`
	RefundedAmount json.Number `json:"refunded_amount"`
	Refunded       any         `json:"refunded"` // an amount on older API versions, a boolean on some
	Currency       string      `json:"currency"`
	Paid           bool        `json:"paid"`
	Sent           bool        `json:"sent"`
	FailureCode    *string     `json:"failure_code"`
}

func (c *omise) Confirm(ctx context.Context, ev bankhooks.Event) (Result, error) {
	if ev.Reference == "" {
		return Result{Missing: true, Note: "the webhook names no object"}, nil
	}
	group, _, _ := strings.Cut(string(ev.Kind), ".")
	path, want := "/charges/"+pathEscape(ev.Reference), "charge"
	if group == "transfer" {
		path, want = "/transfers/"+pathEscape(ev.Reference), "transfer"
	}
	body, err := get(ctx, c.o, path)
	if errors.Is(err, errNotFound) {
		return Result{Missing: true, Status: "not found"}, nil
	}
	if err != nil {
		return Result{}, err
	}
	var obj omiseObject
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: not a JSON object: %v", path, err)}
	}
	if obj.Object != want {
		return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: object is %q, want %q", path, obj.Object, want)}
	}
	cur, err := bankhooks.NormalizeCurrency(obj.Currency)
	if err != nil {
		return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: %v", path, err)}
	}
	amount, err := bankhooks.AmountFromJSON(obj.Amount)
	if err != nil {
		return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: amount: %v", path, err)}
	}
	r := Result{Currency: cur, Amount: amount, Status: obj.Status}
	switch group {
	case "transfer":
		return omiseTransfer(r, obj), nil
	case "refund":
		return omiseRefund(r, obj, ev.Kind, path)
	}
	switch obj.Status {
	case "successful":
		r.Kind = bankhooks.KindPaymentSucceeded
		if obj.CapturedAmount != "" && obj.CapturedAmount != "0" {
			if r.Amount, err = bankhooks.AmountFromJSON(obj.CapturedAmount); err != nil {
				return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: captured_amount: %v", path, err)}
			}
		}
	case "pending":
		r.Kind = bankhooks.KindPaymentPending
	case "failed", "reversed", "expired":
		r.Kind = bankhooks.KindPaymentFailed
	}
	return r, nil
}

func omiseTransfer(r Result, obj omiseObject) Result {
	switch {
	case obj.FailureCode != nil && *obj.FailureCode != "":
		r.Kind, r.Status = bankhooks.KindTransferFailed, "failed: "+*obj.FailureCode
	case obj.Paid:
		r.Kind, r.Status = bankhooks.KindTransferSucceeded, "paid"
	case obj.Sent:
		r.Status = "sent, not paid"
	default:
		r.Status = "not sent"
	}
	return r
}

func omiseRefund(r Result, obj omiseObject, kind bankhooks.Kind, path string) (Result, error) {
	r.AtLeast, r.Kind = true, kind
	if kind == bankhooks.KindRefundFailed {
		r.Status, r.Note = "charge "+obj.Status, "checked against its charge"
		return r, nil
	}
	refunded := obj.RefundedAmount
	if refunded == "" {
		if n, ok := obj.Refunded.(json.Number); ok {
			refunded = n
		}
	}
	var total int64
	if refunded != "" {
		var err error
		if total, err = bankhooks.AmountFromJSON(refunded); err != nil {
			return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: refunded_amount: %v", path, err)}
		}
	}
	r.Amount = total
	r.Status, r.Note = fmt.Sprintf("charge %s, refunded %s", obj.Status, Money(total, r.Currency)), "checked against its charge's refunded total"
	return r, nil
}
