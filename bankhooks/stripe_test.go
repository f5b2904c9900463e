package bankhooks

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v85/webhook"
)

// providers.md §2.2 vector (computed with stripe-go's algorithm).
const (
	stripeVectorSecret = "whsec_test_secret"
	stripeVectorTS     = 1700000000
	stripeVectorBody   = `{"id":"evt_test_webhook","object":"event"}`
	stripeVectorSig    = "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
)

func stripeRequest(header string, body []byte) Request {
	return Request{Header: http.Header{"Stripe-Signature": {header}}, Body: body}
}

func TestStripeVector(t *testing.T) {
	key := mustKey(t, Stripe{}, "whsec", stripeVectorSecret, time.Time{})
	require.Equal(t, []byte(stripeVectorSecret), key.Material, "the whole whsec_ string is the key")

	hSigned, err := Stripe{}.Sign([]byte(stripeVectorBody), []Key{key}, time.Unix(stripeVectorTS, 0), "")
	h := hSigned.Header
	require.NoError(t, err)
	require.Equal(t, "t=1700000000,v1="+stripeVectorSig, h.Get("Stripe-Signature"))

	v, err := Stripe{}.Verify(stripeRequest("t=1700000000,v1="+stripeVectorSig, []byte(stripeVectorBody)),
		[]Key{key}, VerifyOptions{Now: time.Unix(stripeVectorTS, 0)})
	require.NoError(t, err)
	require.Equal(t, "whsec", v.Key)
}

func TestStripeInterop(t *testing.T) {
	body := readFixture(t, filepath.Join("stripe", "payment_intent_succeeded.json"))
	secrets := []string{"whsec_test_secret", "whsec_rolled_7f3a9c2e1b4d"}
	keys := []Key{
		mustKey(t, Stripe{}, "old", secrets[0], time.Time{}),
		mustKey(t, Stripe{}, "new", secrets[1], time.Time{}),
	}

	t.Run("stripe-go signs, we verify, headers are byte-identical", func(t *testing.T) {
		ts := time.Unix(1715678467, 0)
		for i, secret := range secrets {
			sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: ts})
			v, err := Stripe{}.Verify(stripeRequest(sp.Header, body), keys, VerifyOptions{Now: ts.Add(time.Minute)})
			require.NoError(t, err)
			require.Equal(t, keys[i].Name, v.Key)

			oursSigned, err := Stripe{}.Sign(body, keys[i:i+1], ts, "")
			ours := oursSigned.Header
			require.NoError(t, err)
			require.Equal(t, sp.Header, ours.Get("Stripe-Signature"))
		}
	})

	t.Run("we sign, stripe-go verifies", func(t *testing.T) {
		// stripe-go checks the timestamp against the real clock.
		now := time.Now()
		for _, n := range []int{1, 2} {
			hSigned, err := Stripe{}.Sign(body, keys[:n], now, "")
			h := hSigned.Header
			require.NoError(t, err)
			require.Equal(t, n, strings.Count(h.Get("Stripe-Signature"), ",v1="))
			for _, secret := range secrets[:n] {
				require.NoError(t, webhook.ValidatePayloadWithTolerance(body, h.Get("Stripe-Signature"), secret, webhook.DefaultTolerance))
			}
			if n == 1 {
				require.Error(t, webhook.ValidatePayloadWithTolerance(body, h.Get("Stripe-Signature"), secrets[1], webhook.DefaultTolerance))
			}
		}
	})

	t.Run("rolled secret: several v1 and a v0", func(t *testing.T) {
		ts := time.Unix(1715678467, 0)
		good := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secrets[1], Timestamp: ts})
		goodSig := strings.TrimPrefix(good.Header, "t=1715678467,v1=")
		header := "t=1715678467,v1=" + strings.Repeat("0", 64) + ",v1=" + goodSig + ",v0=" + strings.Repeat("f", 64)
		v, err := Stripe{}.Verify(stripeRequest(header, body), keys[1:], VerifyOptions{Now: ts})
		require.NoError(t, err)
		require.Equal(t, "new", v.Key)
		require.NoError(t, webhook.ValidatePayloadIgnoringTolerance(body, header, secrets[1]))

		_, err = Stripe{}.Verify(stripeRequest("t=1715678467,v0="+goodSig, body), keys[1:], VerifyOptions{Now: ts})
		require.ErrorIs(t, err, ErrMissingSignature, "v0 is never accepted")
	})

	t.Run("window", func(t *testing.T) {
		ts := time.Unix(1715678467, 0)
		sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secrets[0], Timestamp: ts})
		r := stripeRequest(sp.Header, body)
		_, err := Stripe{}.Verify(r, keys, VerifyOptions{Now: ts.Add(300 * time.Second)})
		require.NoError(t, err)
		_, err = Stripe{}.Verify(r, keys, VerifyOptions{Now: ts.Add(301 * time.Second)})
		require.ErrorIs(t, err, ErrTimestampOutOfWindow)
		_, err = Stripe{}.Verify(r, keys, VerifyOptions{Now: ts.Add(-301 * time.Second)})
		require.ErrorIs(t, err, ErrTimestampOutOfWindow, "future timestamps are rejected too")
	})
}

func TestParseStripeHeader(t *testing.T) {
	aa, bb := strings.Repeat("aa", 32), strings.Repeat("bb", 32)
	tests := []struct {
		name    string
		header  string
		wantTS  int64
		wantN   int
		wantErr error
	}{
		{name: "one v1", header: "t=1700000000,v1=" + aa, wantTS: 1700000000, wantN: 1},
		{name: "two v1 and v0", header: "t=1700000000,v1=" + aa + ",v1=" + bb + ",v0=" + aa, wantTS: 1700000000, wantN: 2},
		{name: "order does not matter", header: "v1=" + aa + ",t=5", wantTS: 5, wantN: 1},
		{name: "last t wins", header: "t=1,t=2,v1=" + aa, wantTS: 2, wantN: 1},
		{name: "signed t", header: "t=+5,v1=" + aa, wantTS: 5, wantN: 1},
		{name: "unknown keys ignored", header: "t=5,foo=bar,v1=" + aa, wantTS: 5, wantN: 1},
		{name: "undecodable v1 ignored", header: "t=5,v1=zz,v1=" + aa, wantTS: 5, wantN: 1},
		{name: "odd-length hex ignored", header: "t=5,v1=abc,v1=" + aa, wantTS: 5, wantN: 1},
		{name: "empty", header: "", wantErr: ErrMissingSignature},
		{name: "only t", header: "t=5", wantErr: ErrMissingSignature},
		{name: "only undecodable v1", header: "t=5,v1=zz", wantErr: ErrMissingSignature},
		{name: "space before key hides it", header: "t=5, v1=" + aa, wantErr: ErrMissingSignature},
		{name: "no t", header: "v1=" + aa, wantErr: ErrMissingTimestamp},
		{name: "bad t", header: "t=abc,v1=" + aa, wantErr: ErrMalformedSignature},
		{name: "pair without =", header: "t=5,v1", wantErr: ErrMalformedSignature},
		{name: "pair with two =", header: "t=5,v1=a=b", wantErr: ErrMalformedSignature},
		{name: "empty pair", header: "t=5,,v1=" + aa, wantErr: ErrMalformedSignature},
		{name: "trailing comma", header: "t=5,v1=" + aa + ",", wantErr: ErrMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := parseStripeHeader(tc.header)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantTS, sh.Timestamp)
			require.Len(t, sh.Signatures, tc.wantN)
		})
	}
}

func TestStripeDecodeKey(t *testing.T) {
	k, err := Stripe{}.DecodeKey(" whsec_abc\n")
	require.NoError(t, err)
	require.Equal(t, "whsec_abc", string(k))
	k, err = Stripe{}.DecodeKey("legacy-without-prefix")
	require.NoError(t, err, "stripe-go accepts any secret string")
	require.Equal(t, "legacy-without-prefix", string(k))
	_, err = Stripe{}.DecodeKey(" \t")
	require.Error(t, err)
}

func TestStripeParse(t *testing.T) {
	tests := []struct {
		file string
		want Event
	}{
		{file: "payment_intent_succeeded.json", want: Event{
			ID: "evt_3PGx1aKXyZ2bC3dE0aBcDeF1", Type: "payment_intent.succeeded", Kind: KindPaymentSucceeded,
			Amount: 150000, Currency: "THB", Reference: "pi_3PGx1aKXyZ2bC3dE0aBcDeF0",
			Description: "Invoice INV-2024-0517", Livemode: true, OccurredAt: time.Unix(1715678467, 0).UTC(),
		}},
		{file: "payment_intent_payment_failed.json", want: Event{
			ID: "evt_3PGy2bKXyZ2bC3dE1bCdEfG2", Type: "payment_intent.payment_failed", Kind: KindPaymentFailed,
			Amount: 2599, Currency: "USD", Reference: "pi_3PGy2bKXyZ2bC3dE1bCdEfG1",
			Account: "9995", Counterparty: "Malee Sukjai",
			FailureCode: "insufficient_funds", FailureMessage: "Your card has insufficient funds.",
			OccurredAt: time.Unix(1715680000, 0).UTC(),
		}},
		{file: "payment_intent_processing.json", want: Event{
			ID: "evt_3PGz3cKXyZ2bC3dE2cDeFgH3", Type: "payment_intent.processing", Kind: KindPaymentPending,
			Amount: 99000, Currency: "SGD", Reference: "pi_3PGz3cKXyZ2bC3dE2cDeFgH2",
			Description: "PayNow top-up", OccurredAt: time.Unix(1715690000, 0).UTC(),
		}},
		{file: "payment_intent_canceled.json", want: Event{
			ID: "evt_3PH04dKXyZ2bC3dE3dEfGhI4", Type: "payment_intent.canceled", Kind: KindPaymentFailed,
			Amount: 5000, Currency: "THB", Reference: "pi_3PH04dKXyZ2bC3dE3dEfGhI3",
			FailureCode: "abandoned", OccurredAt: time.Unix(1715700000, 0).UTC(),
		}},
		{file: "charge_succeeded_jpy.json", want: Event{
			ID: "evt_3PH15eKXyZ2bC3dE4eFgHiJ5", Type: "charge.succeeded", Kind: KindPaymentSucceeded,
			Amount: 12800, Currency: "JPY", Reference: "ch_3PH15eKXyZ2bC3dE4eFgHiJ6",
			Account: "0000", Counterparty: "Tanaka Hanako", Description: "Order JP-5521",
			OccurredAt: time.Unix(1715710000, 0).UTC(),
		}},
		{file: "charge_failed.json", want: Event{
			ID: "evt_3PH26fKXyZ2bC3dE5fGhIjK6", Type: "charge.failed", Kind: KindPaymentFailed,
			Amount: 4500, Currency: "THB", Reference: "ch_3PH26fKXyZ2bC3dE5fGhIjK7",
			Account: "4444", Counterparty: "Somchai Jaidee",
			FailureCode: "expired_card", FailureMessage: "Your card has expired.",
			OccurredAt: time.Unix(1715720000, 0).UTC(),
		}},
		{file: "charge_refunded.json", want: Event{
			ID: "evt_3PH37gKXyZ2bC3dE6gHiJkL7", Type: "charge.refunded", Kind: KindRefundSucceeded,
			Amount: 50000, Currency: "THB", Reference: "ch_3PH15eKXyZ2bC3dE4eFgHiJ9",
			Account: "4242", Counterparty: "Somchai Jaidee", Description: "Invoice INV-2024-0517",
			Livemode: true, OccurredAt: time.Unix(1715730000, 0).UTC(),
		}},
		{file: "charge_dispute_created.json", want: Event{
			ID: "evt_1PH48hKXyZ2bC3dE7hIjKlM8", Type: "charge.dispute.created", Kind: KindDisputeOpened,
			Amount: 150000, Currency: "THB", Reference: "du_1PH48hKXyZ2bC3dE7hIjKlM9",
			FailureCode: "fraudulent", Livemode: true, OccurredAt: time.Unix(1715740000, 0).UTC(),
		}},
		{file: "refund_updated_succeeded.json", want: Event{
			ID: "evt_3PH59iKXyZ2bC3dE8iJkLmN9", Type: "refund.updated", Kind: KindRefundSucceeded,
			Amount: 50000, Currency: "THB", Reference: "re_3PH59iKXyZ2bC3dE8iJkLmN0",
			Livemode: true, OccurredAt: time.Unix(1715750000, 0).UTC(),
		}},
		{file: "refund_created_pending.json", want: Event{
			ID: "evt_3PH6AjKXyZ2bC3dE9jKlMnO0", Type: "refund.created", Kind: KindOther,
			Amount: 1000, Currency: "USD", Reference: "re_3PH6AjKXyZ2bC3dE9jKlMnO1",
			OccurredAt: time.Unix(1715760000, 0).UTC(),
		}},
		{file: "refund_failed.json", want: Event{
			ID: "evt_3PH7BkKXyZ2bC3dEakLmNoP1", Type: "refund.failed", Kind: KindRefundFailed,
			Amount: 3000, Currency: "THB", Reference: "re_3PH7BkKXyZ2bC3dEakLmNoP2",
			FailureCode: "expired_or_canceled_card", OccurredAt: time.Unix(1715770000, 0).UTC(),
		}},
		{file: "payout_paid.json", want: Event{
			ID: "evt_1PH8ClKXyZ2bC3dEblMnOpQ2", Type: "payout.paid", Kind: KindTransferSucceeded,
			Amount: 2450075, Currency: "THB", Reference: "po_1PH8ClKXyZ2bC3dEblMnOpQ3",
			Description: "STRIPE PAYOUT", Livemode: true, OccurredAt: time.Unix(1715817600, 0).UTC(),
		}},
		{file: "payout_failed_expanded.json", want: Event{
			ID: "evt_1PH9DmKXyZ2bC3dEcmNoPqR3", Type: "payout.failed", Kind: KindTransferFailed,
			Amount: 880000, Currency: "THB", Reference: "po_1PH9DmKXyZ2bC3dEcmNoPqR4",
			Account: "7890", Counterparty: "Example Co., Ltd.", Description: "STRIPE PAYOUT",
			FailureCode: "account_closed", FailureMessage: "The bank account has been closed.",
			Livemode: true, OccurredAt: time.Unix(1715904000, 0).UTC(),
		}},
		{file: "payout_created.json", want: Event{
			ID: "evt_1PHAEnKXyZ2bC3dEdnOpQrS4", Type: "payout.created", Kind: KindOther,
			Amount: 2450075, Currency: "THB", Reference: "po_1PH8ClKXyZ2bC3dEblMnOpQ3",
			Description: "STRIPE PAYOUT", Livemode: true, OccurredAt: time.Unix(1715644800, 0).UTC(),
		}},
		{file: "customer_created.json", want: Event{
			ID: "evt_1PHBFoKXyZ2bC3dEeoPqRsT5", Type: "customer.created", Kind: KindOther,
			Reference: "cus_Q7abcDEFghiJKL", OccurredAt: time.Unix(1715650000, 0).UTC(),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := Stripe{}.Parse(Request{Body: readFixture(t, filepath.Join("stripe", tc.file))})
			require.NoError(t, err)
			tc.want.Provider = "stripe"
			require.Equal(t, tc.want, ev)
		})
	}
}

// stripeEvent builds a minimal Stripe event around a data.object.
func stripeEvent(typ, object string) []byte {
	return []byte(`{"id":"evt_1","object":"event","type":"` + typ + `","created":1715678467,"livemode":false,"data":{"object":` + object + `}}`)
}

func TestStripeKindAndAmounts(t *testing.T) {
	tests := []struct {
		name, typ, object string
		wantKind          Kind
		wantAmount        int64
		wantCurrency      string
	}{
		{"charge captured partially", "charge.captured", `{"object":"charge","id":"ch","amount":10000,"amount_captured":6000,"currency":"usd"}`, KindPaymentSucceeded, 6000, "USD"},
		{"pi partially received", "payment_intent.succeeded", `{"object":"payment_intent","id":"pi","amount":10000,"amount_received":7000,"currency":"usd"}`, KindPaymentSucceeded, 7000, "USD"},
		{"charge pending", "charge.pending", `{"object":"charge","id":"ch","amount":100,"currency":"thb"}`, KindPaymentPending, 100, "THB"},
		{"refund canceled", "refund.updated", `{"object":"refund","id":"re","status":"canceled","amount":100,"currency":"thb"}`, KindRefundFailed, 100, "THB"},
		{"refund requires action", "refund.updated", `{"object":"refund","id":"re","status":"requires_action","amount":100,"currency":"thb"}`, KindOther, 100, "THB"},
		{"charge.refund.updated", "charge.refund.updated", `{"object":"refund","id":"re","status":"succeeded","amount":100,"currency":"thb"}`, KindRefundSucceeded, 100, "THB"},
		{"payout canceled", "payout.canceled", `{"object":"payout","id":"po","status":"canceled","amount":100,"currency":"thb"}`, KindTransferFailed, 100, "THB"},
		{"payout updated", "payout.updated", `{"object":"payout","id":"po","status":"in_transit","amount":100,"currency":"thb"}`, KindOther, 100, "THB"},
		{"zero-decimal KRW", "charge.succeeded", `{"object":"charge","id":"ch","amount":15000,"currency":"krw"}`, KindPaymentSucceeded, 15000, "KRW"},
		{"three-decimal KWD", "charge.succeeded", `{"object":"charge","id":"ch","amount":12340,"currency":"kwd"}`, KindPaymentSucceeded, 12340, "KWD"},
		{"HUF stays two-decimal", "charge.succeeded", `{"object":"charge","id":"ch","amount":150050,"currency":"huf"}`, KindPaymentSucceeded, 150050, "HUF"},
		{"ISK is two-decimal at Stripe", "charge.succeeded", `{"object":"charge","id":"ch","amount":500000,"currency":"isk"}`, KindPaymentSucceeded, 5000, "ISK"},
		{"MGA is zero-decimal at Stripe", "charge.succeeded", `{"object":"charge","id":"ch","amount":5000,"currency":"mga"}`, KindPaymentSucceeded, 500000, "MGA"},
		{"unmapped type", "balance.available", `{"object":"balance","available":[]}`, KindOther, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := Stripe{}.Parse(Request{Body: stripeEvent(tc.typ, tc.object)})
			require.NoError(t, err)
			require.Equal(t, tc.wantKind, ev.Kind)
			require.Equal(t, tc.wantAmount, ev.Amount)
			require.Equal(t, tc.wantCurrency, ev.Currency)
		})
	}
}

func TestStripeParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		wantMsg string
	}{
		{name: "v2 thin event", body: readFixture(t, filepath.Join("stripe", "v2_thin_event.json")), wantMsg: `object is "v2.core.event"`},
		{name: "not json", body: []byte(`{"id":`), wantMsg: "not a JSON event object"},
		{name: "missing id", body: []byte(`{"object":"event","type":"charge.succeeded","data":{"object":{}}}`), wantMsg: `missing "id"`},
		{name: "missing type", body: []byte(`{"object":"event","id":"evt_1","data":{"object":{}}}`), wantMsg: `missing "type"`},
		{name: "missing data", body: []byte(`{"object":"event","id":"evt_1","type":"charge.succeeded"}`), wantMsg: `missing "data.object"`},
		{name: "null data object", body: stripeEvent("charge.succeeded", `null`), wantMsg: `missing "data.object"`},
		{name: "data object not an object", body: stripeEvent("charge.succeeded", `[1]`), wantMsg: "data.object"},
		{name: "float amount", body: stripeEvent("charge.succeeded", `{"object":"charge","amount":10.5,"currency":"usd"}`), wantMsg: "amount"},
		{name: "unknown currency", body: stripeEvent("charge.succeeded", `{"object":"charge","amount":10,"currency":"xyz"}`), wantMsg: "currency"},
		{name: "fractional ISK", body: stripeEvent("charge.succeeded", `{"object":"charge","amount":150,"currency":"isk"}`), wantMsg: "ISK"},
		{name: "bad created", body: []byte(`{"id":"evt_1","object":"event","type":"x","created":1.5,"data":{"object":{}}}`), wantMsg: "created"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Stripe{}.Parse(Request{Body: tc.body})
			require.ErrorIs(t, err, ErrMalformedPayload)
			require.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

func FuzzStripeHeader(f *testing.F) {
	body := []byte(stripeVectorBody)
	f.Add("t=1700000000,v1="+stripeVectorSig, body)
	f.Add("t=1700000000,v1="+strings.Repeat("0", 64)+",v1="+stripeVectorSig+",v0=ab", body)
	f.Add("t=+1700000000,v1="+stripeVectorSig, body)
	f.Add("v1="+stripeVectorSig+",t=1700000000", body)
	f.Add("t=1700000000,v1", body)
	f.Add("", body)
	f.Add("t=1700000000, v1="+stripeVectorSig, body)
	key := Key{Name: "k", Material: []byte(stripeVectorSecret)}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		sh, perr := parseStripeHeader(header)
		if perr != nil {
			require.NotEqual(t, "error", Reason(perr))
		}
		// Differential check against stripe-go with the window out of
		// the way (now = the signed t).
		now := time.Unix(sh.Timestamp, 0)
		_, ours := Stripe{}.Verify(stripeRequest(header, body), []Key{key}, VerifyOptions{Now: now})
		theirs := webhook.ValidatePayloadIgnoringTolerance(body, header, stripeVectorSecret)
		if ours == nil {
			require.NoError(t, theirs, "we accept %q, stripe-go does not", header)
		}
		if theirs == nil && sh.HasTimestamp {
			require.NoError(t, ours, "stripe-go accepts %q, we do not", header)
		}
	})
}

func FuzzStripeParse(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "stripe"))
	require.NoError(f, err)
	for _, e := range entries {
		f.Add(readFixture(f, filepath.Join("stripe", e.Name())))
	}
	f.Add(stripeEvent("charge.succeeded", `{"object":"charge","amount":500000,"currency":"isk"}`))
	f.Add(stripeEvent("payout.failed", `{"object":"payout","destination":{"id":"ba_1","last4":"1"},"amount":1,"currency":"mga"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Stripe{}.Parse(Request{Body: body})
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedPayload)
			return
		}
		checkEventInvariants(t, "stripe", ev)
	})
}
