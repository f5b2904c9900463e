package bankhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// providers.md §1.2 fixture vector (computed with the consensus algorithm;
// Opn publishes none).
const (
	omiseVectorSecret = "c2VjcmV0LWtleS1mb3Itb21pc2UtdGVzdHM="
	omiseVectorTS     = 1700000000
	omiseVectorBody   = `{"id":"evt_test_webhook","object":"event"}`
	omiseVectorSig    = "eb6485756ab6273136b5ca02a2c6fec3e0805f2ac51b23190c9d43d4b70863e2"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestOmiseVector(t *testing.T) {
	key := mustKey(t, Omise{}, "dashboard", omiseVectorSecret, time.Time{})
	require.Equal(t, []byte("secret-key-for-omise-tests"), key.Material)

	t.Run("sign", func(t *testing.T) {
		hSigned, err := Omise{}.Sign([]byte(omiseVectorBody), []Key{key}, time.Unix(omiseVectorTS, 0), "")
		h := hSigned.Header
		require.NoError(t, err)
		require.Equal(t, omiseVectorSig, h.Get("Omise-Signature"))
		require.Equal(t, "1700000000", h.Get("Omise-Signature-Timestamp"))
		require.Equal(t, "application/json", h.Get("Content-Type"))
	})
	t.Run("verify", func(t *testing.T) {
		r := Request{Header: http.Header{
			"Omise-Signature":           {omiseVectorSig},
			"Omise-Signature-Timestamp": {"1700000000"},
		}, Body: []byte(omiseVectorBody)}
		v, err := Omise{}.Verify(r, []Key{key}, VerifyOptions{Now: time.Unix(omiseVectorTS+10, 0)})
		require.NoError(t, err)
		require.Equal(t, "dashboard", v.Key)
		require.Equal(t, time.Unix(omiseVectorTS, 0).UTC(), v.Timestamp)
	})
}

func TestOmiseVerifyHeaders(t *testing.T) {
	key := mustKey(t, Omise{}, "k", omiseVectorSecret, time.Time{})
	now := time.Unix(omiseVectorTS, 0)
	other := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		header  http.Header
		wantErr error
	}{
		{name: "valid", header: http.Header{"Omise-Signature": {omiseVectorSig}, "Omise-Signature-Timestamp": {"1700000000"}}},
		{name: "rotation list, second matches", header: http.Header{"Omise-Signature": {other + "," + omiseVectorSig}, "Omise-Signature-Timestamp": {"1700000000"}}},
		{name: "rotation list with spaces", header: http.Header{"Omise-Signature": {other + ", " + omiseVectorSig + " "}, "Omise-Signature-Timestamp": {"1700000000"}}},
		{name: "junk entry is skipped", header: http.Header{"Omise-Signature": {"nothex," + omiseVectorSig}, "Omise-Signature-Timestamp": {"1700000000"}}},
		{name: "upper-case hex", header: http.Header{"Omise-Signature": {strings.ToUpper(omiseVectorSig)}, "Omise-Signature-Timestamp": {"1700000000"}}},
		{name: "two header lines", header: http.Header{"Omise-Signature": {other, omiseVectorSig}, "Omise-Signature-Timestamp": {"1700000000"}}},
		{name: "lower-case header keys", header: http.Header{"omise-signature": {omiseVectorSig}, "omise-signature-timestamp": {"1700000000"}}},
		{name: "no signature header", header: http.Header{"Omise-Signature-Timestamp": {"1700000000"}}, wantErr: ErrMissingSignature},
		{name: "empty signature", header: http.Header{"Omise-Signature": {" , "}, "Omise-Signature-Timestamp": {"1700000000"}}, wantErr: ErrMissingSignature},
		{name: "not hex", header: http.Header{"Omise-Signature": {"zzzz"}, "Omise-Signature-Timestamp": {"1700000000"}}, wantErr: ErrMalformedSignature},
		{name: "short hex", header: http.Header{"Omise-Signature": {"abcd"}, "Omise-Signature-Timestamp": {"1700000000"}}, wantErr: ErrMalformedSignature},
		{name: "stripe style header", header: http.Header{"Omise-Signature": {"t=1700000000,v1=" + omiseVectorSig}, "Omise-Signature-Timestamp": {"1700000000"}}, wantErr: ErrMalformedSignature},
		{name: "no timestamp", header: http.Header{"Omise-Signature": {omiseVectorSig}}, wantErr: ErrMissingTimestamp},
		{name: "timestamp not a number", header: http.Header{"Omise-Signature": {omiseVectorSig}, "Omise-Signature-Timestamp": {"yesterday"}}, wantErr: ErrMalformedSignature},
		{name: "negative timestamp", header: http.Header{"Omise-Signature": {omiseVectorSig}, "Omise-Signature-Timestamp": {"-1700000000"}}, wantErr: ErrMalformedSignature},
		{name: "milliseconds are outside the window", header: http.Header{"Omise-Signature": {omiseVectorSig}, "Omise-Signature-Timestamp": {"1700000000000"}}, wantErr: ErrTimestampOutOfWindow},
		{name: "other timestamp breaks the MAC", header: http.Header{"Omise-Signature": {omiseVectorSig}, "Omise-Signature-Timestamp": {"1700000001"}}, wantErr: ErrSignatureMismatch},
		{name: "body-only HMAC is rejected", header: http.Header{"Omise-Signature": {hex.EncodeToString(hmacSHA256(key.Material, []byte(omiseVectorBody)))}, "Omise-Signature-Timestamp": {"1700000000"}}, wantErr: ErrSignatureMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Request{Header: tc.header, Body: []byte(omiseVectorBody)}
			_, err := Omise{}.Verify(r, []Key{key}, VerifyOptions{Now: now})
			secretsNotIn(t, err, r, omiseVectorSecret, omiseVectorSig)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestOmiseDecodeKey(t *testing.T) {
	tests := []struct {
		name, secret string
		want         string
		wantErr      bool
	}{
		{name: "base64", secret: omiseVectorSecret, want: "secret-key-for-omise-tests"},
		{name: "surrounding whitespace", secret: " " + omiseVectorSecret + "\n", want: "secret-key-for-omise-tests"},
		{name: "empty", secret: "", wantErr: true},
		{name: "blank", secret: "  \n", wantErr: true},
		{name: "not base64", secret: "skey_test_5x1753!!", wantErr: true},
		{name: "unpadded", secret: strings.TrimRight(omiseVectorSecret, "="), wantErr: true},
		{name: "padding only", secret: "====", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Omise{}.DecodeKey(tc.secret)
			if tc.wantErr {
				require.Error(t, err)
				if strings.TrimSpace(tc.secret) != "" {
					require.NotContains(t, err.Error(), strings.TrimSpace(tc.secret))
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestOmiseParse(t *testing.T) {
	tests := []struct {
		file string
		want Event
	}{
		{file: "charge_complete_successful.json", want: Event{
			ID: "evnt_test_5yxq0lqj1bg1ziu6qsk", Type: "charge.complete", Kind: KindPaymentSucceeded,
			Amount: 5000, Currency: "THB", Reference: "chrg_test_5yxq0kcf1n8ojvgmgm4",
			Description: "Order 1043", OccurredAt: time.Date(2024, 5, 14, 9, 21, 7, 0, time.UTC),
		}},
		{file: "charge_complete_failed.json", want: Event{
			ID: "evnt_test_5yxq3a1b2c3d4e5f6g7", Type: "charge.complete", Kind: KindPaymentFailed,
			Amount: 129900, Currency: "THB", Reference: "chrg_test_5yxq39zz1n8ojvgmgm9",
			Account: "0011", Counterparty: "SOMCHAI JAIDEE",
			FailureCode:    "insufficient_fund",
			FailureMessage: "insufficient funds in the account or the card has reached the credit limit",
			OccurredAt:     time.Date(2024, 5, 14, 10, 2, 40, 0, time.UTC),
		}},
		{file: "charge_create_pending.json", want: Event{
			ID: "evnt_test_5yxq0kd9ol1mp4w2b1x", Type: "charge.create", Kind: KindPaymentPending,
			Amount: 5000, Currency: "THB", Reference: "chrg_test_5yxq0kcf1n8ojvgmgm4",
			Description: "Order 1043", OccurredAt: time.Date(2024, 5, 14, 9, 20, 32, 0, time.UTC),
		}},
		{file: "charge_reverse.json", want: Event{
			ID: "evnt_test_5yxr7m2rf0eqc8ktq1a", Type: "charge.reverse", Kind: KindPaymentFailed,
			Amount: 250000, Currency: "THB", Reference: "chrg_5yxr6x1xgq0g2x0u6yz",
			Account: "5454", Counterparty: "Malee Sukjai", Description: "Hotel deposit", Livemode: true,
			OccurredAt: time.Date(2024, 5, 15, 2, 11, 0, 0, time.UTC),
		}},
		{file: "charge_complete_expired_v2017.json", want: Event{
			ID: "evnt_test_5yxs1c0c1ybm1u3fzwq", Type: "charge.complete", Kind: KindPaymentFailed,
			Amount: 31500, Currency: "THB", Reference: "chrg_test_5yxs0u6pdq7mxd1wqzb",
			FailureCode: "expired_charge", FailureMessage: "charge expired",
			OccurredAt: time.Date(2024, 5, 16, 9, 20, 32, 0, time.UTC),
		}},
		{file: "refund_create.json", want: Event{
			ID: "evnt_test_5yxt2k9m8q1v0d3z4a1", Type: "refund.create", Kind: KindRefundSucceeded,
			Amount: 2000, Currency: "THB", Reference: "chrg_test_5yxq0kcf1n8ojvgmgm4",
			OccurredAt: time.Date(2024, 5, 17, 4, 5, 6, 0, time.UTC),
		}},
		{file: "transfer_pay.json", want: Event{
			ID: "evnt_test_5yxu9dbp4k6z2y1x0w9", Type: "transfer.pay", Kind: KindTransferSucceeded,
			Amount: 1500000, Currency: "THB", Reference: "trsf_test_5yxu8r1y4g3n2m1l0k9",
			Account: "6789", Counterparty: "SOMCHAI JAIDEE",
			OccurredAt: time.Date(2024, 5, 18, 8, 0, 3, 0, time.UTC),
		}},
		{file: "transfer_fail.json", want: Event{
			ID: "evnt_test_5yxu9z0a1b2c3d4e5f6", Type: "transfer.fail", Kind: KindTransferFailed,
			Amount: 800000, Currency: "THB", Reference: "trsf_test_5yxu8s2z5h4o3n2m1l0",
			Account: "1234", Counterparty: "MALEE SUKJAI",
			FailureCode: "insufficient_balance", FailureMessage: "insufficient balance to make this transfer",
			OccurredAt: time.Date(2024, 5, 18, 8, 10, 0, 0, time.UTC),
		}},
		{file: "transfer_create.json", want: Event{
			ID: "evnt_test_5yxu8s3a9c8v7b6n5m4", Type: "transfer.create", Kind: KindOther,
			Amount: 1500000, Currency: "THB", Reference: "trsf_test_5yxu8r1y4g3n2m1l0k9",
			Account: "6789", Counterparty: "SOMCHAI JAIDEE",
			OccurredAt: time.Date(2024, 5, 18, 2, 0, 0, 0, time.UTC),
		}},
		{file: "transfer_destroy.json", want: Event{
			ID: "evnt_test_526yctupnje5mbldskd", Type: "transfer.destroy", Kind: KindOther,
			Reference:  "trsf_test_526yctqob5djkckq88a",
			OccurredAt: time.Date(2015, 11, 30, 3, 39, 42, 0, time.UTC),
		}},
		{file: "linked_account_complete_successful.json", want: Event{
			ID: "evnt_test_60a1b2c3d4e5f6g7h8i", Type: "linked_account.complete", Kind: KindAccountLinked,
			Reference: "lnac_test_5zylnmmt2kl9chq3ip1", Account: "4321",
			OccurredAt: time.Date(2024, 6, 3, 4, 15, 20, 0, time.UTC),
		}},
		{file: "linked_account_complete_failed.json", want: Event{
			ID: "evnt_test_60a1b2c3d4e5f6g7h9j", Type: "linked_account.complete", Kind: KindAccountLinkFailed,
			Reference:   "lnac_test_5zylq1w2e3r4t5y6u7i",
			FailureCode: "bank_rejected", FailureMessage: "The bank rejected the account registration.",
			OccurredAt: time.Date(2024, 6, 3, 5, 0, 0, 0, time.UTC),
		}},
		{file: "dispute_create.json", want: Event{
			ID: "evnt_test_5yxv1q2w3e4r5t6y7u8", Type: "dispute.create", Kind: KindDisputeOpened,
			Amount: 129900, Currency: "THB", Reference: "dspt_test_5yxv1p0o9i8u7y6t5r4",
			FailureCode:    "goods_or_services_not_provided",
			FailureMessage: "Services not provided or Merchandise not received",
			OccurredAt:     time.Date(2024, 5, 20, 11, 0, 0, 0, time.UTC),
		}},
		{file: "customer_create.json", want: Event{
			ID: "evnt_test_5yxw0a9s8d7f6g5h4j3", Type: "customer.create", Kind: KindOther,
			Reference: "cust_test_5yxw0a1s2d3f4g5h6j7", Description: "Malee",
			OccurredAt: time.Date(2024, 5, 21, 1, 2, 3, 0, time.UTC),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := Omise{}.Parse(Request{Body: readFixture(t, filepath.Join("omise", tc.file))})
			require.NoError(t, err)
			tc.want.Provider = "omise"
			require.Equal(t, tc.want, ev)
		})
	}
}

// omiseEvent builds a minimal Opn event around data.
func omiseEvent(key, data string) []byte {
	return []byte(`{"object":"event","id":"evnt_test_1","key":"` + key + `","livemode":false,"created_at":"2024-05-14T09:21:07Z","data":` + data + `}`)
}

func TestOmiseKindMapping(t *testing.T) {
	tests := []struct {
		key, data string
		want      Kind
	}{
		{"charge.create", `{"object":"charge","id":"c","status":"successful","amount":1,"currency":"thb"}`, KindPaymentSucceeded},
		{"charge.update", `{"object":"charge","id":"c","status":"pending"}`, KindOther},
		{"charge.update", `{"object":"charge","id":"c","status":"successful"}`, KindOther}, // an edit: never a second payment alert
		{"charge.capture", `{"object":"charge","id":"c","status":"successful","amount":10000,"captured_amount":6000,"currency":"thb"}`, KindPaymentSucceeded},
		{"charge.complete", `{"object":"charge","id":"c","status":"reversed"}`, KindPaymentFailed},
		{"charge.complete", `{"object":"charge","id":"c","status":"expired"}`, KindPaymentFailed},
		{"charge.expire", `{"object":"charge","id":"c","status":"expired"}`, KindPaymentFailed},
		{"charge.complete", `{"object":"charge","id":"c","status":"something_new"}`, KindOther},
		{"refund.create", `{"object":"refund","id":"r","status":"failed","amount":1,"currency":"thb"}`, KindRefundFailed},
		{"refund.create", `{"object":"refund","id":"r","status":"pending","amount":1,"currency":"thb"}`, KindRefundSucceeded},
		{"refund.create", `{"object":"refund","id":"r","amount":1,"currency":"thb"}`, KindRefundSucceeded},
		{"transfer.update", `{"object":"transfer","id":"t","paid":true,"amount":1,"currency":"thb"}`, KindTransferSucceeded},
		{"transfer.send", `{"object":"transfer","id":"t","sent":true,"paid":false,"amount":1,"currency":"thb"}`, KindOther},
		{"transfer.update", `{"object":"transfer","id":"t","failure_code":"invalid_recipient","amount":1,"currency":"thb"}`, KindTransferFailed},
		{"transfer.pay", `{"object":"transfer","id":"t","amount":1,"currency":"thb"}`, KindTransferSucceeded},
		{"linked_account.complete", `{"object":"linked_account","id":"l","status":"expired"}`, KindAccountLinkFailed},
		{"linked_account.complete", `{"object":"linked_account","id":"l","status":"pending"}`, KindOther},
		{"linked_account.update", `{"object":"linked_account","id":"l","status":"successful"}`, KindAccountLinked},
		{"dispute.update", `{"object":"dispute","id":"d","status":"open"}`, KindOther},
		{"card.destroy", `{"object":"card","id":"k","deleted":true}`, KindOther},
		{"charge.complete", `null`, KindOther},
	}
	for _, tc := range tests {
		t.Run(tc.key+"/"+tc.data, func(t *testing.T) {
			ev, err := Omise{}.Parse(Request{Body: omiseEvent(tc.key, tc.data)})
			require.NoError(t, err)
			require.Equal(t, tc.want, ev.Kind)
		})
	}
	t.Run("partial capture reports the captured amount", func(t *testing.T) {
		ev, err := Omise{}.Parse(Request{Body: omiseEvent("charge.capture",
			`{"object":"charge","id":"c","status":"successful","amount":10000,"captured_amount":6000,"currency":"thb"}`)})
		require.NoError(t, err)
		require.Equal(t, int64(6000), ev.Amount)
	})
}

func TestOmiseParseErrors(t *testing.T) {
	tests := []struct {
		name, body, wantMsg string
	}{
		{name: "not json", body: `<xml/>`, wantMsg: "not a JSON event object"},
		{name: "empty", body: ``, wantMsg: "not a JSON event object"},
		{name: "trailing data", body: string(omiseEvent("charge.complete", `{}`)) + `{}`, wantMsg: "trailing data"},
		{name: "array", body: `[]`, wantMsg: "not a JSON event object"},
		{name: "wrong object", body: `{"object":"charge","id":"chrg_1","key":"charge.complete"}`, wantMsg: `object is "charge"`},
		{name: "no object", body: `{"id":"evnt_1","key":"charge.complete"}`, wantMsg: `object is ""`},
		{name: "missing id", body: `{"object":"event","key":"charge.complete","data":{}}`, wantMsg: `missing "id"`},
		{name: "missing key", body: `{"object":"event","id":"evnt_1","data":{}}`, wantMsg: `missing "key"`},
		{name: "data not object", body: string(omiseEvent("charge.complete", `"chrg_1"`)), wantMsg: "data:"},
		{name: "float amount", body: string(omiseEvent("charge.complete", `{"object":"charge","status":"successful","amount":50.5,"currency":"thb"}`)), wantMsg: "amount"},
		{name: "exponent amount", body: string(omiseEvent("charge.complete", `{"object":"charge","status":"successful","amount":5e3,"currency":"thb"}`)), wantMsg: "amount"},
		{name: "overflow amount", body: string(omiseEvent("charge.complete", `{"object":"charge","status":"successful","amount":99999999999999999999,"currency":"thb"}`)), wantMsg: "amount"},
		{name: "amount without currency", body: string(omiseEvent("charge.complete", `{"object":"charge","status":"successful","amount":5000}`)), wantMsg: "no currency"},
		{name: "unknown currency", body: string(omiseEvent("charge.complete", `{"object":"charge","status":"successful","amount":5000,"currency":"bht"}`)), wantMsg: "currency"},
		{name: "bad created_at", body: `{"object":"event","id":"evnt_1","key":"charge.complete","created_at":"yesterday","data":{}}`, wantMsg: "created_at"},
		{name: "wrong type", body: `{"object":"event","id":5,"key":"charge.complete"}`, wantMsg: "not a JSON event object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Omise{}.Parse(Request{Body: []byte(tc.body)})
			require.ErrorIs(t, err, ErrMalformedPayload)
			require.Contains(t, err.Error(), tc.wantMsg)
			require.True(t, strings.HasPrefix(err.Error(), "malformed payload: "), err.Error())
		})
	}
}

// checkEventInvariants holds for every Event a Parse returns.
// sampleRoundTrip builds p's sample event of type typ in currency cur,
// signs it with key as the provider would (msgID for schemes that sign
// one), verifies and parses it, and checks what every provider's sample
// must give: the wanted kind, the amount asked for, the currency asked for
// (defCur when none), the sample time, and a failure code on a failure
// kind. It returns the event and the unsigned body.
func sampleRoundTrip(t *testing.T, p Provider, key Key, typ, cur, defCur, msgID string, now time.Time, want Kind) (Event, []byte) {
	t.Helper()
	body, err := p.Sample(typ, SampleParams{Now: now, ID: "evt_fixed_1", Amount: 123456, Currency: cur})
	require.NoError(t, err)
	s, err := p.Sign(body, []Key{key}, now, msgID)
	require.NoError(t, err)
	r := Request{Header: s.Header, Body: s.Body}
	_, err = p.Verify(r, []Key{key}, VerifyOptions{Now: now})
	require.NoError(t, err)
	ev, err := p.Parse(r)
	require.NoError(t, err)
	require.Equal(t, want, ev.Kind)
	require.Equal(t, int64(123456), ev.Amount)
	require.Equal(t, firstNonEmpty(strings.ToUpper(cur), defCur), ev.Currency)
	require.True(t, ev.OccurredAt.Equal(now), "occurred %s", ev.OccurredAt)
	if ev.Kind.Failed() {
		require.NotEmpty(t, ev.FailureCode)
	}
	checkEventInvariants(t, p.Name(), ev)
	return ev, body
}

func checkEventInvariants(t *testing.T, provider string, ev Event) {
	t.Helper()
	require.Equal(t, provider, ev.Provider)
	require.NotEmpty(t, ev.ID)
	require.NotEmpty(t, ev.Type)
	require.True(t, ev.Kind.Valid(), "kind %q", ev.Kind)
	if ev.Currency == "" {
		require.Zero(t, ev.Amount)
	} else {
		c, err := NormalizeCurrency(ev.Currency)
		require.NoError(t, err)
		require.Equal(t, c, ev.Currency)
	}
	require.True(t, ev.OccurredAt.IsZero() || ev.OccurredAt.Location() == time.UTC)
	if !ev.Kind.Failed() {
		require.Empty(t, ev.FailureCode+ev.FailureMessage, "failure fields on a non-failure kind")
	}
}

func FuzzOmiseParse(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "omise"))
	require.NoError(f, err)
	for _, e := range entries {
		f.Add(readFixture(f, filepath.Join("omise", e.Name())))
	}
	f.Add([]byte(`{"object":"event","id":"e","key":"transfer.fail","data":{"amount":"12"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Omise{}.Parse(Request{Body: body})
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedPayload)
			return
		}
		checkEventInvariants(t, "omise", ev)
	})
}

func FuzzOmiseVerify(f *testing.F) {
	f.Add([]byte(omiseVectorBody), omiseVectorSig, "1700000000")
	f.Add([]byte(omiseVectorBody), strings.Repeat("0", 64)+","+omiseVectorSig, "1700000000")
	f.Add([]byte(`{}`), "", "")
	f.Add([]byte(`{}`), "t=1,v1=ab", "-1")
	f.Add([]byte(omiseVectorBody), omiseVectorSig, "0001700000000")
	key := Key{Name: "k", Material: []byte("secret-key-for-omise-tests")}
	now := time.Unix(omiseVectorTS, 0)
	f.Fuzz(func(t *testing.T, body []byte, sig, ts string) {
		r := Request{Header: http.Header{"Omise-Signature": {sig}, "Omise-Signature-Timestamp": {ts}}, Body: body}
		v, err := Omise{}.Verify(r, []Key{key}, VerifyOptions{Now: now})
		if err != nil {
			require.NotEqual(t, "error", Reason(err), "unclassified error %v", err)
			require.NotContains(t, err.Error(), omiseVectorSecret)
			require.NotContains(t, err.Error(), string(key.Material))
			return
		}
		// Independent check: the header holds the HMAC of ts.body and ts is
		// within the default window.
		m := hmac.New(sha256.New, key.Material)
		m.Write([]byte(strings.TrimSpace(ts) + "."))
		m.Write(body)
		want := hex.EncodeToString(m.Sum(nil))
		require.Contains(t, strings.ToLower(sig), want)
		sec, perr := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		require.NoError(t, perr)
		require.LessOrEqual(t, abs(sec-omiseVectorTS), int64(300))
		require.Equal(t, "k", v.Key)
	})
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestOmiseErrorsAreSentinels makes sure errors.Is and Reason classify
// every Verify failure.
func TestOmiseErrorsAreSentinels(t *testing.T) {
	_, err := Omise{}.Verify(Request{}, nil, VerifyOptions{})
	require.True(t, errors.Is(err, ErrMissingSignature))
	require.Equal(t, "missing_signature", Reason(err))
}
