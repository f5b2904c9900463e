package bankhooks

import (
	"crypto/subtle"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	xenditTokenA = "xnd_webhook_token_5Tq2Lz9Rk1Vb7Yw3"
	xenditTokenB = "xnd_webhook_token_rotated_Pp0Qm4"
)

func xenditReq(token string, body []byte) Request {
	h := http.Header{}
	if token != "" {
		h["x-callback-token"] = []string{token}
	}
	return Request{Header: h, Body: body}
}

func TestXenditVerify(t *testing.T) {
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	body := readFixture(t, filepath.Join("xendit", "payment_capture.json"))
	a := mustKey(t, Xendit{}, "secrets[0]", xenditTokenA, time.Time{})
	b := mustKey(t, Xendit{}, "secrets[1]", xenditTokenB, time.Time{})
	aExpired := a
	aExpired.Expires = now.Add(-time.Hour)
	aLater := a
	aLater.Expires = now.Add(time.Hour)

	tests := []struct {
		name    string
		req     Request
		keys    []Key
		wantKey string
		wantErr error
	}{
		{name: "valid", req: xenditReq(xenditTokenA, body), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "canonical header key", req: Request{Header: http.Header{"X-Callback-Token": {xenditTokenA}}, Body: body}, keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "second key of two", req: xenditReq(xenditTokenB, body), keys: []Key{a, b}, wantKey: "secrets[1]"},
		{name: "key expiring later", req: xenditReq(xenditTokenA, body), keys: []Key{aLater}, wantKey: "secrets[0]"},
		{name: "rotation: old expired, new token", req: xenditReq(xenditTokenB, body), keys: []Key{aExpired, b}, wantKey: "secrets[1]"},
		{name: "only the expired token matches", req: xenditReq(xenditTokenA, body), keys: []Key{aExpired, b}, wantErr: ErrKeyExpired},
		{name: "only key expired", req: xenditReq(xenditTokenA, body), keys: []Key{aExpired}, wantErr: ErrKeyExpired},
		{name: "only key expired, other token", req: xenditReq(xenditTokenB, body), keys: []Key{aExpired}, wantErr: ErrNoActiveKey},
		{name: "no keys", req: xenditReq(xenditTokenA, body), wantErr: ErrNoActiveKey},
		{name: "empty key material", req: xenditReq(xenditTokenA, body), keys: []Key{{Name: "empty"}}, wantErr: ErrNoActiveKey},
		{name: "wrong token", req: xenditReq(xenditTokenB, body), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "prefix of the token", req: xenditReq(xenditTokenA[:10], body), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "token plus suffix", req: xenditReq(xenditTokenA+"x", body), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "case differs", req: xenditReq(strings.ToUpper(xenditTokenA), body), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		// No body signature: any body with the right token verifies (the
		// dedupe key is the replay protection).
		{name: "any body with the token", req: xenditReq(xenditTokenA, []byte(`{"tampered":true}`)), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "missing", req: xenditReq("", body), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "blank", req: xenditReq("   ", body), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "nil header", req: Request{Body: body}, keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "sent twice", req: Request{Header: http.Header{"X-Callback-Token": {xenditTokenB, xenditTokenA}}, Body: body}, keys: []Key{a}, wantErr: ErrMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Xendit{}.Verify(tc.req, tc.keys, VerifyOptions{Now: now})
			secretsNotIn(t, err, tc.req, xenditTokenA, xenditTokenB)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.NotEqual(t, "error", Reason(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantKey, v.Key)
			require.True(t, v.Timestamp.IsZero())
			// Independent check of what matched.
			require.Equal(t, 1, subtle.ConstantTimeCompare([]byte(headerValue(tc.req.Header, "x-callback-token")), []byte(xenditTokenA))|
				subtle.ConstantTimeCompare([]byte(headerValue(tc.req.Header, "x-callback-token")), []byte(xenditTokenB)))
		})
	}
}

func TestXenditSignRoundTrip(t *testing.T) {
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	a := mustKey(t, Xendit{}, "a", xenditTokenA, time.Time{})
	b := mustKey(t, Xendit{}, "b", xenditTokenB, time.Time{})
	body := []byte(`{"event":"payment.capture","data":{}}`)
	s, err := Xendit{}.Sign(body, []Key{a, b}, now, "whk_01J")
	require.NoError(t, err)
	require.Equal(t, body, s.Body)
	require.Equal(t, xenditTokenA, s.Header.Get("x-callback-token"))
	require.Equal(t, "whk_01J", s.Header.Get("webhook-id"))
	v, err := Xendit{}.Verify(Request{Header: s.Header, Body: body}, []Key{b, a}, VerifyOptions{Now: now})
	require.NoError(t, err)
	require.Equal(t, "a", v.Key)

	s, err = Xendit{}.Sign(body, []Key{a}, now, "")
	require.NoError(t, err)
	require.Empty(t, s.Header.Get("webhook-id"))
	_, err = Xendit{}.Sign(body, nil, now, "")
	require.ErrorIs(t, err, ErrNoActiveKey)
	_, err = Xendit{}.Sign(body, []Key{{Name: "empty"}}, now, "")
	require.Error(t, err)
	_, err = Xendit{}.DecodeKey("  ")
	require.Error(t, err)
}

func TestXenditParse(t *testing.T) {
	tests := []struct {
		file   string
		header http.Header
		want   Event
	}{
		{file: "payment_capture.json", want: Event{
			ID: "py-1fdaf346-dd2e-4b6c-b938-124c7167a822:payment.capture", Type: "payment.capture", Kind: KindPaymentSucceeded,
			Amount: 1000000, Currency: "IDR", Reference: "pr-1fdaf346-dd2e-4b6c-b938-124c7167a822",
			Description: "Payment description", OccurredAt: time.Date(2021, 12, 2, 14, 52, 21, 566e6, time.UTC),
		}},
		{file: "payment_capture.json", header: http.Header{"Webhook-Id": {"whk_7d1e"}}, want: Event{
			ID: "whk_7d1e", Type: "payment.capture", Kind: KindPaymentSucceeded,
			Amount: 1000000, Currency: "IDR", Reference: "pr-1fdaf346-dd2e-4b6c-b938-124c7167a822",
			Description: "Payment description", OccurredAt: time.Date(2021, 12, 2, 14, 52, 21, 566e6, time.UTC),
		}},
		{file: "payment_failure.json", want: Event{
			ID: "py-7a1c0e2b-9f3d-4c55-8a3e-0b6f3d2c1e77:payment.failure", Type: "payment.failure", Kind: KindPaymentFailed,
			Amount: 15000050, Currency: "IDR", Reference: "pr-7a1c0e2b-9f3d-4c55-8a3e-0b6f3d2c1e77",
			Description: "order-2024-0305-77", FailureCode: "INSUFFICIENT_BALANCE",
			OccurredAt: time.Date(2024, 3, 5, 3, 10, 11, 123e6, time.UTC),
		}},
		{file: "invoice_paid.json", want: Event{
			ID: "593f4ed1c3d3bb7f39733d83:paid", Type: "invoice.paid", Kind: KindPaymentSucceeded,
			Amount: 200000000, Currency: "IDR", Reference: "593f4ed1c3d3bb7f39733d83",
			Description: "Invoice Demo #123", Account: "8860810000209",
			OccurredAt: time.Date(2020, 1, 14, 2, 32, 50, 912e6, time.UTC),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := Xendit{}.Parse(Request{Header: tc.header, Body: readFixture(t, filepath.Join("xendit", tc.file))})
			require.NoError(t, err)
			tc.want.Provider = "xendit"
			tc.want.Livemode = true
			require.Equal(t, tc.want, ev)
			checkEventInvariants(t, "xendit", ev)
		})
	}
}

func xenditEvent(event, data string) []byte {
	return []byte(`{"event":"` + event + `","business_id":"b","created":"2026-05-14T09:21:07.000Z","data":` + data + `}`)
}

func TestXenditKindsAndAmounts(t *testing.T) {
	tests := []struct {
		name     string
		body     []byte
		kind     Kind
		id       string
		amount   int64
		currency string
	}{
		{"capture", xenditEvent("payment.capture", `{"payment_id":"py-1","status":"SUCCEEDED","request_amount":10000,"currency":"IDR"}`), KindPaymentSucceeded, "py-1:payment.capture", 1000000, "IDR"},
		{"capture, string amount", xenditEvent("payment.capture", `{"payment_id":"py-1","request_amount":"10000.50","currency":"IDR"}`), KindPaymentSucceeded, "py-1:payment.capture", 1000050, "IDR"},
		{"capture PHP", xenditEvent("payment.capture", `{"payment_id":"py-1","request_amount":1500.75,"currency":"PHP"}`), KindPaymentSucceeded, "py-1:payment.capture", 150075, "PHP"},
		{"capture status failed", xenditEvent("payment.capture", `{"payment_id":"py-1","status":"FAILED","request_amount":1,"currency":"IDR"}`), KindPaymentFailed, "py-1:payment.capture", 100, "IDR"},
		{"authorization", xenditEvent("payment.authorization", `{"payment_id":"py-1","status":"AUTHORIZED","request_amount":1,"currency":"IDR"}`), KindPaymentPending, "py-1:payment.authorization", 100, "IDR"},
		{"v2 succeeded", xenditEvent("payment.succeeded", `{"id":"ddpy-1","payment_request_id":"pr-1","amount":25000,"currency":"IDR","status":"SUCCEEDED"}`), KindPaymentSucceeded, "ddpy-1:payment.succeeded", 2500000, "IDR"},
		{"expiry", xenditEvent("payment_request.expiry", `{"payment_request_id":"pr-1","request_amount":1,"currency":"IDR","status":"EXPIRED"}`), KindPaymentFailed, "pr-1:payment_request.expiry", 100, "IDR"},
		{"refund", xenditEvent("refund.succeeded", `{"id":"rfd-2","payment_id":"py-1","payment_request_id":"pr-1","amount":5000,"currency":"IDR","status":"SUCCEEDED"}`), KindRefundSucceeded, "rfd-2:refund.succeeded", 500000, "IDR"},
		{"refund failed", xenditEvent("refund.failed", `{"id":"rfd-2","amount":5000,"currency":"IDR","status":"FAILED","failure_code":"INSUFFICIENT_BALANCE"}`), KindRefundFailed, "rfd-2:refund.failed", 500000, "IDR"},
		{"payout", xenditEvent("payout.succeeded", `{"id":"disb-1","amount":90000,"currency":"IDR","status":"SUCCEEDED"}`), KindTransferSucceeded, "disb-1:payout.succeeded", 9000000, "IDR"},
		{"payout failed", xenditEvent("payout.failed", `{"id":"disb-1","amount":90000,"currency":"IDR","status":"FAILED"}`), KindTransferFailed, "disb-1:payout.failed", 9000000, "IDR"},
		{"token", xenditEvent("payment_token.activation", `{"payment_token_id":"pt-1","status":"ACTIVE"}`), KindAccountLinked, "pt-1:payment_token.activation", 0, ""},
		{"unknown event", xenditEvent("payment_session.completed", `{"id":"ps-1"}`), KindOther, "ps-1:payment_session.completed", 0, ""},
		{"no data", []byte(`{"event":"payment.capture"}`), KindPaymentSucceeded, BodyID([]byte(`{"event":"payment.capture"}`)), 0, ""},
		{"invoice settled", []byte(`{"id":"inv1","external_id":"o1","status":"SETTLED","amount":10000,"paid_amount":9000,"currency":"IDR"}`), KindPaymentSucceeded, "inv1:paid", 900000, "IDR"},
		{"invoice expired", []byte(`{"id":"inv1","external_id":"o1","status":"EXPIRED","amount":10000,"currency":"IDR"}`), KindPaymentFailed, "inv1:expired", 1000000, "IDR"},
		{"invoice pending, no currency", []byte(`{"id":"inv1","external_id":"o1","status":"PENDING","amount":10000}`), KindPaymentPending, "inv1:pending", 1000000, "IDR"},
		{"invoice PHP", []byte(`{"id":"inv1","external_id":"o1","status":"PAID","amount":250.5,"paid_amount":250.5,"currency":"PHP"}`), KindPaymentSucceeded, "inv1:paid", 25050, "PHP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := Xendit{}.Parse(Request{Body: tc.body})
			require.NoError(t, err)
			require.Equal(t, tc.kind, ev.Kind)
			require.Equal(t, tc.id, ev.ID)
			require.Equal(t, tc.amount, ev.Amount)
			require.Equal(t, tc.currency, ev.Currency)
			if ev.Kind.Failed() {
				require.NotEmpty(t, ev.FailureCode)
			}
			checkEventInvariants(t, "xendit", ev)
		})
	}
	t.Run("a retry dedupes, the next status does not", func(t *testing.T) {
		body := xenditEvent("payment.capture", `{"payment_id":"py-1","request_amount":1,"currency":"IDR"}`)
		e1, err := Xendit{}.Parse(Request{Body: body})
		require.NoError(t, err)
		e2, err := Xendit{}.Parse(Request{Body: body})
		require.NoError(t, err)
		require.Equal(t, e1.ID, e2.ID)
		e3, err := Xendit{}.Parse(Request{Body: xenditEvent("payment.failure", `{"payment_id":"py-1","request_amount":1,"currency":"IDR"}`)})
		require.NoError(t, err)
		require.NotEqual(t, e1.ID, e3.ID)
	})
	t.Run("oversized webhook-id falls back", func(t *testing.T) {
		ev, err := Xendit{}.Parse(Request{Header: http.Header{"Webhook-Id": {strings.Repeat("x", 300)}},
			Body: xenditEvent("payment.capture", `{"payment_id":"py-1"}`)})
		require.NoError(t, err)
		require.Equal(t, "py-1:payment.capture", ev.ID)
	})
}

func TestXenditParseErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `token=abc`, "not a JSON callback object"},
		{"null", `null`, "not a JSON callback object"},
		{"trailing", `{"event":"payment.capture"} x`, "not a JSON callback object"},
		{"unknown shape", `{"id":"57fb4e076fa3fa296b7f5a97","amount":80000}`, "neither"},
		{"event not string", `{"event":5}`, `"event" is not a string`},
		{"data not object", `{"event":"payment.capture","data":[1]}`, "data is not an object"},
		{"bad created", `{"event":"payment.capture","created":"02/12/2021"}`, "created"},
		{"exponent amount", string(xenditEvent("payment.capture", `{"request_amount":1e4,"currency":"IDR"}`)), "request_amount"},
		{"three decimals", string(xenditEvent("payment.capture", `{"request_amount":1.001,"currency":"IDR"}`)), "request_amount"},
		{"negative", string(xenditEvent("payment.capture", `{"request_amount":-1,"currency":"IDR"}`)), "negative"},
		{"bool amount", string(xenditEvent("payment.capture", `{"request_amount":true,"currency":"IDR"}`)), "request_amount"},
		{"no currency", string(xenditEvent("payment.capture", `{"request_amount":1}`)), "no currency"},
		{"bad currency", string(xenditEvent("payment.capture", `{"request_amount":1,"currency":"RP"}`)), "currency"},
		{"invoice without id", `{"external_id":"o1","status":"PAID","amount":1}`, `missing "id"`},
		{"invoice status not string", `{"id":"i","external_id":"o1","status":1}`, `"status" is not a string`},
		{"invoice bad amount", `{"id":"i","external_id":"o1","status":"PAID","amount":"1,000"}`, "amount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Xendit{}.Parse(Request{Body: []byte(tc.body)})
			require.ErrorIs(t, err, ErrMalformedPayload)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestXenditSample(t *testing.T) {
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	a := mustKey(t, Xendit{}, "a", xenditTokenA, time.Time{})
	want := map[string]Kind{
		"payment.capture":  KindPaymentSucceeded,
		"payment.failure":  KindPaymentFailed,
		"refund.succeeded": KindRefundSucceeded,
		"payout.succeeded": KindTransferSucceeded,
		"payout.failed":    KindTransferFailed,
		"invoice.paid":     KindPaymentSucceeded,
		"invoice.expired":  KindPaymentFailed,
	}
	require.Len(t, Xendit{}.SampleTypes(), len(want))
	for _, typ := range (Xendit{}).SampleTypes() {
		for _, cur := range []string{"", "php", "JPY", "KWD", "THB"} {
			t.Run(typ+"/"+cur, func(t *testing.T) {
				ev, body := sampleRoundTrip(t, Xendit{}, a, typ, cur, "IDR", "whk_fixed_1", now, want[typ])
				require.Equal(t, typ, ev.Type)
				require.Equal(t, "whk_fixed_1", ev.ID)
				// Without webhook-id the id is derived from the body.
				ev2, err := Xendit{}.Parse(Request{Body: body})
				require.NoError(t, err)
				require.True(t, strings.HasPrefix(ev2.ID, "evt_fixed_1:"), ev2.ID)
			})
		}
	}
	def, err := Xendit{}.Sample("", SampleParams{Now: now})
	require.NoError(t, err)
	require.Contains(t, string(def), `"request_amount":50,`)
	ev, err := Xendit{}.Parse(Request{Body: def})
	require.NoError(t, err)
	require.Equal(t, KindPaymentSucceeded, ev.Kind)
	require.Equal(t, int64(5000), ev.Amount)
	require.Equal(t, "IDR", ev.Currency)
	_, err = Xendit{}.Sample("no.such", SampleParams{Now: now})
	require.ErrorIs(t, err, ErrUnknownEventType)
	_, err = Xendit{}.Sample("", SampleParams{Now: now, Amount: -1})
	require.ErrorIs(t, err, ErrInvalidAmount)
	_, err = Xendit{}.Sample("", SampleParams{Now: now, Currency: "ZZZ"})
	require.ErrorIs(t, err, ErrUnknownCurrency)
}

func FuzzXenditParse(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "xendit"))
	require.NoError(f, err)
	for _, e := range entries {
		f.Add(readFixture(f, filepath.Join("xendit", e.Name())), "")
	}
	f.Add(xenditEvent("refund.failed", `{"id":"r","amount":"1.5","currency":"idr"}`), "whk_1")
	f.Add([]byte(`{"id":"i","external_id":"o","status":"EXPIRED"}`), "")
	f.Fuzz(func(t *testing.T, body []byte, webhookID string) {
		ev, err := Xendit{}.Parse(Request{Header: http.Header{"Webhook-Id": {webhookID}}, Body: body})
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedPayload)
			return
		}
		checkEventInvariants(t, "xendit", ev)
		require.GreaterOrEqual(t, ev.Amount, int64(0))
	})
}

func FuzzXenditVerify(f *testing.F) {
	f.Add([]byte(`{}`), xenditTokenA)
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`{}`), xenditTokenA[:5])
	f.Add([]byte(`{}`), " "+xenditTokenA+" ")
	key := Key{Name: "k", Material: []byte(xenditTokenA)}
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, token string) {
		r := Request{Header: http.Header{"X-Callback-Token": {token}}, Body: body}
		v, err := Xendit{}.Verify(r, []Key{key}, VerifyOptions{Now: now})
		if err != nil {
			require.NotEqual(t, "error", Reason(err), "unclassified error %v", err)
			require.NotContains(t, err.Error(), xenditTokenA)
			return
		}
		require.Equal(t, xenditTokenA, strings.TrimSpace(token), "verified without the token")
		require.Equal(t, "k", v.Key)
		_, err = Xendit{}.Verify(r, nil, VerifyOptions{Now: now})
		require.ErrorIs(t, err, ErrNoActiveKey)
	})
}
