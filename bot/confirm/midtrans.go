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

// midtrans confirms Midtrans events through the transaction status API:
// GET {api_base}/v2/{order_id}/status (api_base https://api.midtrans.com,
// sandbox https://api.sandbox.midtrans.com), authenticated with the server
// key as the basic-auth user and an empty password. The event's Reference
// is the order id.
//
// transaction_status maps to kinds the way Midtrans' own guidance says
// ("best practices to handle notification"): settlement, or capture with
// fraud_status accept, is a succeeded payment; capture with another
// fraud_status (challenge, or none) and pending are pending; deny, cancel, expire and failure are
// failed. refund and partial_refund are a refund.succeeded for a refund
// event, and for a payment event a payment that succeeded and has been
// refunded since (confirmed, with a note). gross_amount is a decimal
// string in major units, parsed exactly (never as a float); currency is
// IDR when the answer names none. Midtrans answers an unknown order with
// HTTP 200 and status_code "404" in the body: that is a missing object.
// For a refund the amount checked is an upper bound (the order's gross
// amount).
type midtrans struct{ o Options }

var _ Confirmer = (*midtrans)(nil)

func newMidtrans(o Options) (Confirmer, error) { return &midtrans{o: o}, nil }

func (*midtrans) Provider() string { return "Midtrans" }

// Handles: Midtrans' payment notifications carry payments and refunds only.
func (*midtrans) Handles(k bankhooks.Kind) bool {
	return MoneyKind(k) && !strings.HasPrefix(string(k), "transfer.")
}

type midtransStatus struct {
	StatusCode        string `json:"status_code"`
	StatusMessage     string `json:"status_message"`
	TransactionStatus string `json:"transaction_status"`
	FraudStatus       string `json:"fraud_status"`
	GrossAmount       string `json:"gross_amount"`
	Currency          string `json:"currency"`
	OrderID           string `json:"order_id"`
}

func (c *midtrans) Confirm(ctx context.Context, ev bankhooks.Event) (Result, error) {
	if ev.Reference == "" {
		return Result{Missing: true, Note: "the webhook names no order"}, nil
	}
	path := "/v2/" + pathEscape(ev.Reference) + "/status"
	body, err := get(ctx, c.o, path)
	if errors.Is(err, errNotFound) {
		return Result{Missing: true, Status: "not found"}, nil
	}
	if err != nil {
		return Result{}, err
	}
	var st midtransStatus
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&st); err != nil {
		return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: not a JSON object: %v", path, err)}
	}
	switch st.StatusCode {
	case "404":
		return Result{Missing: true, Status: "404 " + st.StatusMessage}, nil
	case "401", "403":
		return Result{}, &Error{Reason: ReasonAuth, Err: fmt.Errorf("GET %s: status_code %s: the API refused the api_key", path, st.StatusCode)}
	case "429":
		return Result{}, &Error{Reason: ReasonRateLimited, Err: fmt.Errorf("GET %s: status_code 429", path)}
	}
	if strings.HasPrefix(st.StatusCode, "5") {
		return Result{}, &Error{Reason: ReasonServer, Err: fmt.Errorf("GET %s: status_code %s", path, st.StatusCode)}
	}
	if st.TransactionStatus == "" {
		return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: no transaction_status (status_code %q)", path, st.StatusCode)}
	}
	cur := "IDR"
	if st.Currency != "" {
		if cur, err = bankhooks.NormalizeCurrency(st.Currency); err != nil {
			return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: %v", path, err)}
		}
	}
	amount, err := bankhooks.ParseMajor(st.GrossAmount, cur)
	if err != nil {
		return Result{}, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: gross_amount: %v", path, err)}
	}
	r := Result{Amount: amount, Currency: cur, Status: st.TransactionStatus}
	if st.FraudStatus != "" {
		r.Status += "/" + st.FraudStatus
	}
	refundEvent := strings.HasPrefix(string(ev.Kind), "refund.")
	switch st.TransactionStatus {
	case "settlement":
		r.Kind = bankhooks.KindPaymentSucceeded
	case "capture":
		// Only an accepted capture is money received; a capture without
		// a fraud verdict is not confirmed as one.
		switch st.FraudStatus {
		case "accept":
			r.Kind = bankhooks.KindPaymentSucceeded
		case "deny":
			r.Kind = bankhooks.KindPaymentFailed
		default:
			r.Kind = bankhooks.KindPaymentPending
		}
	case "pending", "authorize":
		r.Kind = bankhooks.KindPaymentPending
	case "deny", "cancel", "expire", "failure":
		r.Kind = bankhooks.KindPaymentFailed
	case "refund", "partial_refund":
		r.Kind = bankhooks.KindPaymentSucceeded
		r.Note = "refunded since"
		if refundEvent {
			r.Kind, r.Note = bankhooks.KindRefundSucceeded, ""
		}
	}
	if refundEvent {
		r.AtLeast = true
	}
	return r, nil
}
