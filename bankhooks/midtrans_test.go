package bankhooks

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The inputs are Midtrans's documentation sample; the output is the one in
// providers.md §6, recomputed below with crypto/sha512.
const (
	midtransVectorKey = "askvnoibnosifnboseofinbofinfgbiufglnbfg"
	midtransVectorSig = "edc076b21793ebe3e17926350f5b8ae67d902fe657b3d0aa31b932d5c127e2375d308a2bc94f3265ac2d80a1f181a79b997ac178a236fcff35af263fc4d4c231"
	midtransKeyB      = "SB-Mid-server-Rotated0000000000000"
)

// midtransSig recomputes signature_key independently of the package.
func midtransSig(orderID, statusCode, gross, key string) string {
	s := sha512.Sum512([]byte(orderID + statusCode + gross + key))
	return hex.EncodeToString(s[:])
}

func midtransBody(sig string) []byte {
	return []byte(`{"transaction_time":"2024-02-08 10:15:31","transaction_status":"settlement","transaction_id":"tx-1",` +
		`"status_code":"200","signature_key":"` + sig + `","order_id":"1111","gross_amount":"100000.00","currency":"IDR","fraud_status":"accept"}`)
}

func TestMidtransVector(t *testing.T) {
	require.Equal(t, midtransVectorSig, midtransSig("1111", "200", "100000.00", midtransVectorKey))
	key := mustKey(t, Midtrans{}, "server", midtransVectorKey, time.Time{})
	v, err := Midtrans{}.Verify(Request{Body: midtransBody(midtransVectorSig)}, []Key{key}, VerifyOptions{Now: time.Now()})
	require.NoError(t, err)
	require.Equal(t, "server", v.Key)
	require.True(t, v.Timestamp.IsZero())

	s, err := Midtrans{}.Sign(midtransBody(""), []Key{key}, time.Now(), "")
	require.NoError(t, err)
	require.Equal(t, string(midtransBody(midtransVectorSig)), string(s.Body), "only the signature bytes change")
}

func TestMidtransVerify(t *testing.T) {
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	a := mustKey(t, Midtrans{}, "secrets[0]", midtransVectorKey, time.Time{})
	b := mustKey(t, Midtrans{}, "secrets[1]", midtransKeyB, time.Time{})
	aExpired := a
	aExpired.Expires = now.Add(-time.Hour)
	good := midtransBody(midtransVectorSig)
	byB := midtransBody(midtransSig("1111", "200", "100000.00", midtransKeyB))
	edit := func(from, to string) []byte { return []byte(strings.Replace(string(good), from, to, 1)) }

	tests := []struct {
		name    string
		body    []byte
		keys    []Key
		wantKey string
		wantErr error
	}{
		{name: "valid", body: good, keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "upper-case hex", body: midtransBody(strings.ToUpper(midtransVectorSig)), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "second key of two", body: byB, keys: []Key{a, b}, wantKey: "secrets[1]"},
		{name: "rotation: old expired, new signs", body: byB, keys: []Key{aExpired, b}, wantKey: "secrets[1]"},
		{name: "only the expired key matches", body: good, keys: []Key{aExpired, b}, wantErr: ErrKeyExpired},
		{name: "only key expired, other signer", body: byB, keys: []Key{aExpired}, wantErr: ErrNoActiveKey},
		{name: "no keys", body: good, wantErr: ErrNoActiveKey},
		{name: "empty key material", body: good, keys: []Key{{Name: "empty"}}, wantErr: ErrNoActiveKey},
		{name: "wrong key", body: good, keys: []Key{b}, wantErr: ErrSignatureMismatch},
		{name: "tampered gross_amount", body: edit(`"100000.00"`, `"900000.00"`), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "gross_amount re-formatted", body: edit(`"100000.00"`, `"100000"`), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "gross_amount as a number keeps its text", body: edit(`"100000.00"`, `100000.00`), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "tampered order_id", body: edit(`"1111"`, `"1112"`), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "tampered status_code", body: edit(`"200"`, `"201"`), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		// Not covered by Midtrans's digest (see the Midtrans doc comment).
		{name: "transaction_status is not signed", body: edit(`"settlement"`, `"cancel"`), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "HMAC instead of digest", body: midtransBody(hex.EncodeToString(hmacSHA256([]byte(midtransVectorKey), []byte("1111200100000.00")))), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "missing", body: []byte(`{"order_id":"1111","status_code":"200","gross_amount":"100000.00"}`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "null", body: edit(`"`+midtransVectorSig+`"`, `null`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "empty", body: midtransBody(""), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "not hex", body: midtransBody(strings.Repeat("z", 128)), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "short", body: midtransBody(midtransVectorSig[:64]), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "order_id an object", body: edit(`"1111"`, `{"id":"1111"}`), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "not JSON", body: []byte(`order_id=1111&signature_key=` + midtransVectorSig), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "trailing data", body: append(append([]byte(nil), good...), '{', '}'), keys: []Key{a}, wantErr: ErrMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Midtrans{}.Verify(Request{Body: tc.body}, tc.keys, VerifyOptions{Now: now})
			if err != nil {
				require.NotContains(t, err.Error(), midtransVectorKey)
				require.NotContains(t, err.Error(), midtransVectorSig)
			}
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.NotEqual(t, "error", Reason(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantKey, v.Key)
		})
	}
}

func TestMidtransSign(t *testing.T) {
	a := mustKey(t, Midtrans{}, "a", midtransVectorKey, time.Time{})
	b := mustKey(t, Midtrans{}, "b", midtransKeyB, time.Time{})
	now := time.Now()
	tests := []struct{ name, body, want string }{
		{"replaces the value, spacing kept", `{ "order_id" : "1111", "signature_key" :  "old" , "status_code":"200","gross_amount":"100000.00" }`,
			`{ "order_id" : "1111", "signature_key" :  "` + midtransVectorSig + `" , "status_code":"200","gross_amount":"100000.00" }`},
		{"replaces a null", `{"signature_key":null,"order_id":"1111","status_code":"200","gross_amount":"100000.00"}`,
			`{"signature_key":"` + midtransVectorSig + `","order_id":"1111","status_code":"200","gross_amount":"100000.00"}`},
		{"nested signature_key untouched", `{"x":{"signature_key":"keep"},"order_id":"1111","status_code":"200","gross_amount":"100000.00"}`,
			`{"signature_key":"` + midtransVectorSig + `","x":{"signature_key":"keep"},"order_id":"1111","status_code":"200","gross_amount":"100000.00"}`},
		{"inserted first", "\n{\"order_id\":\"1111\",\"status_code\":\"200\",\"gross_amount\":\"100000.00\"}\n",
			"\n{\"signature_key\":\"" + midtransVectorSig + "\",\"order_id\":\"1111\",\"status_code\":\"200\",\"gross_amount\":\"100000.00\"}\n"},
		{"empty object", `{}`, `{"signature_key":"` + midtransSig("", "", "", midtransVectorKey) + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Midtrans{}.Sign([]byte(tc.body), []Key{a, b}, now, "")
			require.NoError(t, err)
			require.Equal(t, tc.want, string(s.Body))
			require.True(t, json.Valid(s.Body))
			v, err := Midtrans{}.Verify(Request{Header: s.Header, Body: s.Body}, []Key{b, a}, VerifyOptions{Now: now})
			require.NoError(t, err)
			require.Equal(t, "a", v.Key, "the first key signs")
		})
	}
	// A body Verify would refuse as ambiguous (signature_key or a signed
	// field twice, or twice but for case) is not signed.
	for _, amb := range []string{
		`{"signature_key":"x","order_id":"1111","status_code":"200","gross_amount":"100000.00","signature_key":{"a":[1]}}`,
		`{"signAture_keY":"","order_id":"1111","status_code":"200","gross_amount":"100000.00"}`,
		`{"order_id":"1111","status_code":"200","gross_amount":"1.00","gross_amount":"100000.00"}`,
	} {
		_, err := Midtrans{}.Sign([]byte(amb), []Key{a}, now, "")
		require.ErrorIs(t, err, ErrMalformedSignature, amb)
	}
	for _, bad := range []string{``, `[]`, `null`, `{"order_id":{}}`, `{} {}`} {
		_, err := Midtrans{}.Sign([]byte(bad), []Key{a}, now, "")
		require.Error(t, err, bad)
	}
	_, err := Midtrans{}.Sign([]byte(`{}`), nil, now, "")
	require.ErrorIs(t, err, ErrNoActiveKey)
	_, err = Midtrans{}.Sign([]byte(`{}`), []Key{{Name: "empty"}}, now, "")
	require.Error(t, err)
	_, err = Midtrans{}.DecodeKey(" ")
	require.Error(t, err)
}

func TestMidtransParse(t *testing.T) {
	tests := []struct {
		file string
		want Event
	}{
		{file: "capture_accept.json", want: Event{
			ID: "57d5293c-e65f-4a29-95e4-5959c3fa335b:capture", Type: "capture:accept", Kind: KindPaymentSucceeded,
			Amount: 1000000, Currency: "IDR", Reference: "Postman-1578568851", Account: "48111111-1114",
			OccurredAt: time.Date(2020, 1, 9, 11, 27, 19, 0, time.UTC),
		}},
		{file: "settlement_bca_va.json", want: Event{
			ID: "9aed5972-5b6a-401e-894b-a32c91ed1a3a:settlement", Type: "settlement", Kind: KindPaymentSucceeded,
			Amount: 10000000, Currency: "IDR", Reference: "INV-2024-0208-0042", Account: "812785002530231",
			OccurredAt: time.Date(2024, 2, 8, 3, 16, 2, 0, time.UTC),
		}},
		{file: "expire_permata.json", want: Event{
			ID: "1f0b7c5e-3b7e-4a5c-9c1e-0d7f2a6b8c11:expire", Type: "expire", Kind: KindPaymentFailed,
			Amount: 25000000, Currency: "IDR", Reference: "INV-2024-0208-0043", Account: "8562000087926752",
			FailureCode: "expire", FailureMessage: "Success, transaction is expired",
			OccurredAt: time.Date(2024, 2, 8, 4, 0, 0, 0, time.UTC),
		}},
		{file: "partial_refund.json", want: Event{
			ID: "9aed5972-5b6a-401e-894b-a32c91ed1a3a:partial_refund:2", Type: "partial_refund", Kind: KindRefundSucceeded,
			Amount: 500000, Currency: "IDR", Reference: "INV-2024-0208-0042", Account: "48111111-1114",
			OccurredAt: time.Date(2024, 2, 8, 3, 15, 31, 0, time.UTC),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := Midtrans{}.Parse(Request{Body: readFixture(t, filepath.Join("midtrans", tc.file))})
			require.NoError(t, err)
			tc.want.Provider = "midtrans"
			tc.want.Livemode = true
			require.Equal(t, tc.want, ev)
			checkEventInvariants(t, "midtrans", ev)
		})
	}
}

func midtransNotification(status, fraud, code, gross string) []byte {
	return []byte(`{"transaction_time":"2024-02-08 10:15:31","transaction_status":"` + status + `","fraud_status":"` + fraud +
		`","status_code":"` + code + `","transaction_id":"tx-1","order_id":"o-1","gross_amount":"` + gross +
		`","status_message":"msg ` + status + `"}`)
}

func TestMidtransKinds(t *testing.T) {
	tests := []struct {
		status, fraud, code string
		kind                Kind
	}{
		{"settlement", "accept", "200", KindPaymentSucceeded},
		{"settlement", "", "200", KindPaymentSucceeded},
		{"settlement", "accept", "201", KindOther},
		{"capture", "accept", "200", KindPaymentSucceeded},
		{"capture", "accept", "201", KindOther},
		{"capture", "challenge", "201", KindPaymentPending},
		{"capture", "deny", "202", KindPaymentFailed},
		{"capture", "", "200", KindPaymentPending},
		{"pending", "accept", "201", KindPaymentPending},
		{"authorize", "accept", "200", KindPaymentPending},
		{"deny", "deny", "202", KindPaymentFailed},
		{"cancel", "accept", "200", KindPaymentFailed},
		{"expire", "accept", "407", KindPaymentFailed},
		{"failure", "", "202", KindPaymentFailed},
		{"refund", "accept", "200", KindRefundSucceeded},
		{"partial_refund", "accept", "200", KindRefundSucceeded},
		{"chargeback", "accept", "200", KindDisputeOpened},
		{"something_new", "", "200", KindOther},
	}
	for _, tc := range tests {
		t.Run(tc.status+"/"+tc.fraud+"/"+tc.code, func(t *testing.T) {
			ev, err := Midtrans{}.Parse(Request{Body: midtransNotification(tc.status, tc.fraud, tc.code, "100000.00")})
			require.NoError(t, err)
			require.Equal(t, tc.kind, ev.Kind)
			require.Equal(t, "tx-1:"+tc.status, ev.ID)
			require.Equal(t, "o-1", ev.Reference)
			require.Equal(t, int64(10000000), ev.Amount)
			require.Equal(t, "IDR", ev.Currency)
			if ev.Kind.Failed() && ev.Kind != KindDisputeOpened {
				require.Equal(t, "msg "+tc.status, ev.FailureMessage)
				require.NotEmpty(t, ev.FailureCode)
			}
			checkEventInvariants(t, "midtrans", ev)
		})
	}
	amounts := []struct {
		gross, cur string
		want       int64
	}{
		{"100000.00", "", 10000000},
		{"100000", "IDR", 10000000},
		{"15.50", "USD", 1550},
		{"1500.00", "JPY", 1500},
		{"0.00", "IDR", 0},
	}
	for _, tc := range amounts {
		t.Run("amount "+tc.gross+" "+tc.cur, func(t *testing.T) {
			body := strings.Replace(string(midtransNotification("settlement", "accept", "200", tc.gross)), `"status_message"`, `"currency":"`+tc.cur+`","status_message"`, 1)
			if tc.cur == "" {
				body = string(midtransNotification("settlement", "accept", "200", tc.gross))
			}
			ev, err := Midtrans{}.Parse(Request{Body: []byte(body)})
			require.NoError(t, err)
			require.Equal(t, tc.want, ev.Amount)
			require.Equal(t, firstNonEmpty(tc.cur, "IDR"), ev.Currency)
		})
	}
	t.Run("retry dedupes, next status is new", func(t *testing.T) {
		p, err := Midtrans{}.Parse(Request{Body: midtransNotification("pending", "accept", "201", "1.00")})
		require.NoError(t, err)
		p2, err := Midtrans{}.Parse(Request{Body: midtransNotification("pending", "accept", "201", "1.00")})
		require.NoError(t, err)
		s, err := Midtrans{}.Parse(Request{Body: midtransNotification("settlement", "accept", "200", "1.00")})
		require.NoError(t, err)
		require.Equal(t, p.ID, p2.ID)
		require.NotEqual(t, p.ID, s.ID)
	})
}

func TestMidtransParseErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `transaction_status=settlement`, "not a JSON notification object"},
		{"null", `null`, "not a JSON notification object"},
		{"no status", `{"order_id":"o"}`, `missing "transaction_status"`},
		{"no order", `{"transaction_status":"settlement"}`, `missing "order_id"`},
		{"order object", `{"transaction_status":"settlement","order_id":{}}`, `missing "order_id"`},
		{"bad time", `{"transaction_status":"settlement","order_id":"o","transaction_time":"2024-02-08T10:15:31Z"}`, "transaction_time"},
		{"comma amount", string(midtransNotification("settlement", "accept", "200", "100,000.00")), "gross_amount"},
		{"three decimals", string(midtransNotification("settlement", "accept", "200", "1.005")), "gross_amount"},
		{"negative", string(midtransNotification("settlement", "accept", "200", "-1.00")), "negative"},
		{"overflow", string(midtransNotification("settlement", "accept", "200", "999999999999999999999.00")), "gross_amount"},
		{"status_code object", `{"transaction_status":"settlement","order_id":"o","status_code":{}}`, "status_code"},
		{"bad currency", `{"transaction_status":"settlement","order_id":"o","gross_amount":"1.00","currency":"RUPIAH"}`, "currency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Midtrans{}.Parse(Request{Body: []byte(tc.body)})
			require.ErrorIs(t, err, ErrMalformedPayload)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestMidtransSample(t *testing.T) {
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	a := mustKey(t, Midtrans{}, "a", midtransVectorKey, time.Time{})
	want := map[string]Kind{
		"settlement":        KindPaymentSucceeded,
		"capture":           KindPaymentSucceeded,
		"capture:challenge": KindPaymentPending,
		"pending":           KindPaymentPending,
		"expire":            KindPaymentFailed,
		"deny":              KindPaymentFailed,
		"refund":            KindRefundSucceeded,
	}
	require.Len(t, Midtrans{}.SampleTypes(), len(want))
	for _, typ := range (Midtrans{}).SampleTypes() {
		for _, cur := range []string{"", "usd", "JPY", "KWD"} {
			t.Run(typ+"/"+cur, func(t *testing.T) {
				ev, _ := sampleRoundTrip(t, Midtrans{}, a, typ, cur, "IDR", "", now, want[typ])
				require.True(t, strings.HasPrefix(ev.ID, "evt_fixed_1:"), ev.ID)
			})
		}
	}
	def, err := Midtrans{}.Sample("", SampleParams{Now: now})
	require.NoError(t, err)
	require.Contains(t, string(def), `"gross_amount":"50.00"`)
	ev, err := Midtrans{}.Parse(Request{Body: def})
	require.NoError(t, err)
	require.Equal(t, KindPaymentSucceeded, ev.Kind)
	require.Equal(t, int64(5000), ev.Amount)
	_, err = Midtrans{}.Sample("no.such", SampleParams{Now: now})
	require.ErrorIs(t, err, ErrUnknownEventType)
	_, err = Midtrans{}.Sample("", SampleParams{Now: now, Amount: -1})
	require.ErrorIs(t, err, ErrInvalidAmount)
	_, err = Midtrans{}.Sample("", SampleParams{Now: now, Currency: "ZZZ"})
	require.ErrorIs(t, err, ErrUnknownCurrency)
}

func FuzzMidtransParse(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "midtrans"))
	require.NoError(f, err)
	for _, e := range entries {
		f.Add(readFixture(f, filepath.Join("midtrans", e.Name())))
	}
	f.Add(midtransNotification("capture", "challenge", "201", "1.00"))
	f.Add([]byte(`{"transaction_status":"refund","order_id":1,"refunds":[{"refund_amount":2}],"gross_amount":3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Midtrans{}.Parse(Request{Body: body})
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedPayload)
			return
		}
		checkEventInvariants(t, "midtrans", ev)
		require.GreaterOrEqual(t, ev.Amount, int64(0))
	})
}

func FuzzMidtransVerify(f *testing.F) {
	f.Add(midtransBody(midtransVectorSig))
	f.Add(midtransBody(""))
	f.Add([]byte(`{"signature_key":1}`))
	f.Add([]byte(`{"order_id":1111,"status_code":200,"gross_amount":100000.00,"signature_key":"` + midtransVectorSig + `"}`))
	key := Key{Name: "k", Material: []byte(midtransVectorKey)}
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := Midtrans{}.Verify(Request{Body: body}, []Key{key}, VerifyOptions{Now: now})
		if err != nil {
			require.NotEqual(t, "error", Reason(err), "unclassified error %v", err)
			require.NotContains(t, err.Error(), midtransVectorKey)
		} else {
			require.Equal(t, "k", v.Key)
			// Independent check: signature_key is the digest of the fields.
			var doc map[string]any
			d := json.NewDecoder(strings.NewReader(string(body)))
			d.UseNumber()
			require.NoError(t, d.Decode(&doc))
			text := func(k string) string {
				switch x := doc[k].(type) {
				case string:
					return x
				case json.Number:
					return string(x)
				}
				return ""
			}
			require.Equal(t, midtransSig(text("order_id"), text("status_code"), text("gross_amount"), midtransVectorKey),
				strings.ToLower(strings.TrimSpace(text("signature_key"))))
		}
		_, err = Midtrans{}.Verify(Request{Body: body}, []Key{{Name: "other", Material: []byte(midtransKeyB)}}, VerifyOptions{Now: now})
		require.Error(t, err, "verified without the key")
		// Sign never breaks a body it accepts, and what it signs verifies.
		if s, err := (Midtrans{}).Sign(body, []Key{key}, now, ""); err == nil {
			require.True(t, json.Valid(s.Body), "%q", s.Body)
			_, err := Midtrans{}.Verify(Request{Body: s.Body}, []Key{key}, VerifyOptions{Now: now})
			require.NoError(t, err)
		}
	})
}

// TestMidtransVerify_AmbiguousBodyRefused: a signed notification with a
// second gross_amount (or one differing only in case) is refused. JSON
// parsers disagree on which of two equal names counts, so the signature
// could cover one amount while the event shows the other.
func TestMidtransVerify_AmbiguousBodyRefused(t *testing.T) {
	a := mustKey(t, Midtrans{}, "a", midtransVectorKey, time.Time{})
	now := time.Now()
	good := `{"order_id":"1111","status_code":"200","gross_amount":"100000.00","signature_key":"` + midtransVectorSig + `"`
	_, err := Midtrans{}.Verify(Request{Body: []byte(good + `}`)}, []Key{a}, VerifyOptions{Now: now})
	require.NoError(t, err)
	for _, extra := range []string{`,"gross_amount":"900000.00"`, `,"Gross_Amount":"900000.00"`, `,"order_id":"2222"`, `,"signature_key":"00"`} {
		_, err := Midtrans{}.Verify(Request{Body: []byte(good + extra + `}`)}, []Key{a}, VerifyOptions{Now: now})
		require.ErrorIs(t, err, ErrMalformedSignature, extra)
	}
}
