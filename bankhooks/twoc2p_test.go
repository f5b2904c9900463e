package bankhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// 2C2P's published JWT sample (developer.2c2p.com/docs/json-web-tokens-jwt;
// providers.md §9): it verifies with the key as an ASCII string.
const (
	twoC2PVectorKey    = "1F4EDB965BBB3094F791A83750FBDCDA3852131CB5218E21E4F42929A1975E60"
	twoC2PVectorClaims = `{"merchantID":"JT01","invoiceNo":"1523953661","description":"item 1","amount":1000,"currencyCode":"SGD"}`
	twoC2PVectorToken  = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZXJjaGFudElEIjoiSlQwMSIsImludm9pY2VObyI6IjE1MjM5NTM2NjEiLCJkZXNjcmlwdGlvbiI6Iml0ZW0gMSIsImFtb3VudCI6MTAwMCwiY3VycmVuY3lDb2RlIjoiU0dEIn0.ElmhOULUdK63FnriSs2XyhH1LxULoTVIopTUuQ77DvA"
	twoC2POtherKey     = "9A3C2F1E0D4B5A6978877665544332211FFEEDDCCBBAA9988776655443322110"
	// 2C2P's documented decoded backend response (api-payment-response-backend).
	twoC2PDocClaims = `{"merchantID":"JT04","invoiceNo":"280520075921","cardNo":"411111XXXXXX1111","amount":"230.87","currencyCode":"THB","tranRef":"2868821","referenceNo":"2785703","approvalCode":"531484","eci":"05","transactionDateTime":"20200528080508","respCode":"0000","respDesc":"Success"}`
)

func twoC2PBodyOf(token string) []byte {
	b, _ := json.Marshal(map[string]string{"payload": token})
	return b
}

// twoC2PHandToken builds an HS256 JWT by hand (no jwt library) over the
// given header and claims JSON.
func twoC2PHandToken(header, claims, key string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

const twoC2PHS256Header = `{"alg":"HS256","typ":"JWT"}`

// twoC2PLibToken signs claims with golang-jwt.
func twoC2PLibToken(t testing.TB, claims jwt.MapClaims, key string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
	require.NoError(t, err)
	return s
}

func TestTwoC2PVector(t *testing.T) {
	key := mustKey(t, TwoC2P{}, "secret", twoC2PVectorKey, time.Time{})
	require.Equal(t, []byte(twoC2PVectorKey), key.Material, "the key is used as its ASCII string")
	require.Equal(t, twoC2PVectorToken, twoC2PHandToken(twoC2PHS256Header, twoC2PVectorClaims, twoC2PVectorKey))
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)

	t.Run("verify", func(t *testing.T) {
		v, err := TwoC2P{}.Verify(Request{Body: twoC2PBodyOf(twoC2PVectorToken)}, []Key{key}, VerifyOptions{Now: now})
		require.NoError(t, err)
		require.Equal(t, "secret", v.Key)
	})
	t.Run("hex-decoded key does not verify", func(t *testing.T) {
		raw, err := hex.DecodeString(twoC2PVectorKey)
		require.NoError(t, err)
		_, err = TwoC2P{}.Verify(Request{Body: twoC2PBodyOf(twoC2PVectorToken)}, []Key{{Name: "hex", Material: raw}}, VerifyOptions{Now: now})
		require.ErrorIs(t, err, ErrSignatureMismatch)
	})
	t.Run("sign reproduces the token", func(t *testing.T) {
		signed, err := TwoC2P{}.Sign([]byte(twoC2PVectorClaims), []Key{key}, now, "")
		require.NoError(t, err)
		require.JSONEq(t, `{"payload":"`+twoC2PVectorToken+`"}`, string(signed.Body))
		require.Equal(t, "application/json", signed.Header.Get("Content-Type"))
	})
	t.Run("parse", func(t *testing.T) {
		// The sample has no respCode: it is a signing example, not a
		// payment response.
		_, err := TwoC2P{}.Parse(Request{Body: twoC2PBodyOf(twoC2PVectorToken)})
		require.ErrorIs(t, err, ErrMalformedPayload)
		require.ErrorContains(t, err, "respCode")
	})
}

func TestTwoC2PDecodeKey(t *testing.T) {
	got, err := TwoC2P{}.DecodeKey("  " + twoC2PVectorKey + "\n")
	require.NoError(t, err)
	require.Equal(t, twoC2PVectorKey, string(got))
	_, err = TwoC2P{}.DecodeKey(" ")
	require.ErrorContains(t, err, "empty")
}

func TestTwoC2PVerify(t *testing.T) {
	a := mustKey(t, TwoC2P{}, "secrets[0]", twoC2PVectorKey, time.Time{})
	b := mustKey(t, TwoC2P{}, "secrets[1]", twoC2POtherKey, time.Time{})
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	aExpired := a
	aExpired.Expires = now.Add(-time.Hour)
	enc := base64.RawURLEncoding

	docToken := twoC2PHandToken(twoC2PHS256Header, twoC2PDocClaims, twoC2PVectorKey)
	parts := strings.Split(docToken, ".")
	tamperedClaims := strings.Replace(twoC2PDocClaims, `"230.87"`, `"99230.87"`, 1)
	tampered := parts[0] + "." + enc.EncodeToString([]byte(tamperedClaims)) + "." + parts[2]
	noneToken := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	noneSigned := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]
	// Algorithm confusion: an RS256 header with an HMAC made with the secret.
	rs256 := twoC2PHandToken(`{"alg":"RS256","typ":"JWT"}`, twoC2PDocClaims, twoC2PVectorKey)
	hs512 := twoC2PHandToken(`{"alg":"HS512","typ":"JWT"}`, twoC2PDocClaims, twoC2PVectorKey)
	libToken := twoC2PLibToken(t, jwt.MapClaims{"invoiceNo": "INV-1", "amount": "10.50", "currencyCode": "THB", "respCode": "0000", "tranRef": "1"}, twoC2POtherKey)
	exp := func(d time.Duration) string {
		return twoC2PLibToken(t, jwt.MapClaims{"invoiceNo": "INV-2", "respCode": "0000", "exp": now.Add(d).Unix()}, twoC2PVectorKey)
	}
	nbf := func(d time.Duration) string {
		return twoC2PLibToken(t, jwt.MapClaims{"invoiceNo": "INV-3", "respCode": "0000", "nbf": now.Add(d).Unix()}, twoC2PVectorKey)
	}
	badExp := twoC2PHandToken(twoC2PHS256Header, `{"invoiceNo":"INV-4","respCode":"0000","exp":"tomorrow"}`, twoC2PVectorKey)

	tests := []struct {
		name    string
		body    []byte
		keys    []Key
		wantKey string
		wantErr error
	}{
		{name: "documented response", body: twoC2PBodyOf(docToken), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "token from the jwt library", body: twoC2PBodyOf(libToken), keys: []Key{b}, wantKey: "secrets[1]"},
		{name: "rotation: second key", body: twoC2PBodyOf(libToken), keys: []Key{a, b}, wantKey: "secrets[1]"},
		{name: "rotation: old key expired, new key signs", body: twoC2PBodyOf(libToken), keys: []Key{aExpired, b}, wantKey: "secrets[1]"},
		{name: "only an expired key verifies", body: twoC2PBodyOf(docToken), keys: []Key{aExpired, b}, wantErr: ErrKeyExpired},
		{name: "only key expired, other signer", body: twoC2PBodyOf(libToken), keys: []Key{aExpired}, wantErr: ErrNoActiveKey},
		{name: "no keys", body: twoC2PBodyOf(docToken), wantErr: ErrNoActiveKey},
		{name: "empty key material is never used", body: twoC2PBodyOf(twoC2PHandToken(twoC2PHS256Header, twoC2PDocClaims, "")), keys: []Key{{Name: "empty"}}, wantErr: ErrNoActiveKey},
		{name: "wrong key", body: twoC2PBodyOf(docToken), keys: []Key{b}, wantErr: ErrSignatureMismatch},
		{name: "tampered amount", body: twoC2PBodyOf(tampered), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "alg none, no signature", body: twoC2PBodyOf(noneToken), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "alg none with a signature", body: twoC2PBodyOf(noneSigned), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "RS256 header", body: twoC2PBodyOf(rs256), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "HS512 header", body: twoC2PBodyOf(hs512), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "garbage payload", body: twoC2PBodyOf("not.a.jwt"), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "two segments", body: twoC2PBodyOf(parts[0] + "." + parts[1]), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "signature segment not base64url", body: twoC2PBodyOf(parts[0] + "." + parts[1] + ".***"), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "missing payload", body: []byte(`{"token":"x"}`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "empty payload", body: []byte(`{"payload":""}`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "payload not a string", body: []byte(`{"payload":{"a":1}}`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "body not JSON", body: []byte(docToken), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "empty body", keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "exp in the future", body: twoC2PBodyOf(exp(time.Hour)), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "exp in the past", body: twoC2PBodyOf(exp(-time.Minute)), keys: []Key{a}, wantErr: ErrTimestampOutOfWindow},
		{name: "exp in the past, expired key", body: twoC2PBodyOf(exp(-time.Minute)), keys: []Key{aExpired}, wantErr: ErrTimestampOutOfWindow},
		{name: "exp in the past, wrong key", body: twoC2PBodyOf(exp(-time.Minute)), keys: []Key{b}, wantErr: ErrSignatureMismatch},
		{name: "nbf in the future", body: twoC2PBodyOf(nbf(time.Minute)), keys: []Key{a}, wantErr: ErrTimestampOutOfWindow},
		{name: "nbf in the past", body: twoC2PBodyOf(nbf(-time.Minute)), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "exp not a number", body: twoC2PBodyOf(badExp), keys: []Key{a}, wantErr: ErrMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Request{Body: tc.body}
			v, err := TwoC2P{}.Verify(r, tc.keys, VerifyOptions{Now: now})
			secretsNotIn(t, err, r, twoC2PVectorKey, twoC2POtherKey, parts[2])
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.NotEqual(t, "error", Reason(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantKey, v.Key)
		})
	}
	t.Run("the injected clock decides, not the wall clock", func(t *testing.T) {
		body := twoC2PBodyOf(exp(time.Hour))
		_, err := TwoC2P{}.Verify(Request{Body: body}, []Key{a}, VerifyOptions{Now: now.Add(2 * time.Hour)})
		require.ErrorIs(t, err, ErrTimestampOutOfWindow)
		_, err = TwoC2P{}.Verify(Request{Body: body}, []Key{a}, VerifyOptions{Now: now})
		require.NoError(t, err)
	})
}

func TestTwoC2PParse(t *testing.T) {
	ev, err := TwoC2P{}.Parse(Request{Body: twoC2PBodyOf(twoC2PHandToken(twoC2PHS256Header, twoC2PDocClaims, twoC2PVectorKey))})
	require.NoError(t, err)
	require.Equal(t, Event{
		Provider: "twoc2p", ID: "280520075921:2868821:0000", Type: "payment_response", Kind: KindPaymentSucceeded,
		Amount: 23087, Currency: "THB", Reference: "280520075921", Account: "411111XXXXXX1111",
		Livemode: true, OccurredAt: time.Date(2020, 5, 28, 1, 5, 8, 0, time.UTC),
	}, ev)

	claims := func(extra string) []byte {
		return twoC2PBodyOf(twoC2PHandToken(twoC2PHS256Header, `{"invoiceNo":"INV-1","tranRef":"77",`+extra+`}`, "k"))
	}
	tests := []struct {
		name, extra string
		kind        Kind
		amount      int64
		currency    string
		failCode    string
		failMsg     string
	}{
		{name: "number amount in major units", extra: `"amount":1000,"currencyCode":"SGD","respCode":"0000"`, kind: KindPaymentSucceeded, amount: 100000, currency: "SGD"},
		{name: "decimal number", extra: `"amount":10.50,"currencyCode":"THB","respCode":"0000"`, kind: KindPaymentSucceeded, amount: 1050, currency: "THB"},
		{name: "string with trailing zeros", extra: `"amount":"12.500","currencyCode":"THB","respCode":"0000"`, kind: KindPaymentSucceeded, amount: 1250, currency: "THB"},
		{name: "numeric currency 764", extra: `"amount":"50.00","currencyCode":"764","respCode":"0000"`, kind: KindPaymentSucceeded, amount: 5000, currency: "THB"},
		{name: "numeric currency as number", extra: `"amount":"50","currencyCode":702,"respCode":"0000"`, kind: KindPaymentSucceeded, amount: 5000, currency: "SGD"},
		{name: "numeric currency 36 padded", extra: `"amount":"1","currencyCode":"36","respCode":"0000"`, kind: KindPaymentSucceeded, amount: 100, currency: "AUD"},
		{name: "lower-case currency", extra: `"amount":"1","currencyCode":"idr","respCode":"0000"`, kind: KindPaymentSucceeded, amount: 100, currency: "IDR"},
		{name: "JPY has no minor unit", extra: `"amount":"500","currencyCode":"JPY","respCode":"0000"`, kind: KindPaymentSucceeded, amount: 500, currency: "JPY"},
		{name: "pending", extra: `"amount":"1","currencyCode":"THB","respCode":"0001","respDesc":"Transaction is pending"`, kind: KindPaymentPending, amount: 100, currency: "THB"},
		{name: "in progress", extra: `"respCode":"2001"`, kind: KindPaymentPending},
		{name: "payslip issued", extra: `"respCode":"1003"`, kind: KindPaymentPending},
		{name: "failed", extra: `"amount":"1","currencyCode":"THB","respCode":"4005","respDesc":"Do not honour"`, kind: KindPaymentFailed, amount: 100, currency: "THB", failCode: "4005", failMsg: "Do not honour"},
		{name: "no amount", extra: `"respCode":"0000"`, kind: KindPaymentSucceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := TwoC2P{}.Parse(Request{Body: claims(tc.extra)})
			require.NoError(t, err)
			checkEventInvariants(t, "twoc2p", ev)
			require.Equal(t, tc.kind, ev.Kind)
			require.Equal(t, tc.amount, ev.Amount)
			require.Equal(t, tc.currency, ev.Currency)
			require.Equal(t, tc.failCode, ev.FailureCode)
			require.Equal(t, tc.failMsg, ev.FailureMessage)
			require.True(t, strings.HasPrefix(ev.ID, "INV-1:77:"))
			require.Equal(t, "INV-1", ev.Reference)
		})
	}

	errs := []struct{ name, body, want string }{
		{name: "too many fraction digits", body: string(claims(`"amount":"10.505","currencyCode":"THB","respCode":"0000"`)), want: "amount"},
		{name: "exponent", body: string(claims(`"amount":1e3,"currencyCode":"THB","respCode":"0000"`)), want: "amount"},
		{name: "negative", body: string(claims(`"amount":"-1.00","currencyCode":"THB","respCode":"0000"`)), want: "negative"},
		{name: "amount without currency", body: string(claims(`"amount":"1.00","respCode":"0000"`)), want: "no currencyCode"},
		{name: "unknown currency", body: string(claims(`"amount":"1.00","currencyCode":"BHT","respCode":"0000"`)), want: "currency"},
		{name: "unknown numeric currency", body: string(claims(`"amount":"1.00","currencyCode":"999","respCode":"0000"`)), want: "currency"},
		{name: "bad date", body: string(claims(`"respCode":"0000","transactionDateTime":"2020-05-28"`)), want: "transactionDateTime"},
		{name: "missing respCode", body: string(claims(`"amount":"1.00","currencyCode":"THB"`)), want: "respCode"},
		{name: "missing invoiceNo", body: string(twoC2PBodyOf(twoC2PHandToken(twoC2PHS256Header, `{"respCode":"0000"}`, "k"))), want: "invoiceNo"},
		{name: "amount object", body: string(claims(`"amount":{"v":1},"respCode":"0000"`)), want: "claims"},
		{name: "claims not base64", body: `{"payload":"a.*.c"}`, want: "base64"},
		{name: "not a JWT", body: `{"payload":"abc"}`, want: "not a JWT"},
		{name: "missing payload", body: `{}`, want: "payload"},
		{name: "not JSON", body: `payload=abc`, want: "payload"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := TwoC2P{}.Parse(Request{Body: []byte(tc.body)})
			require.ErrorIs(t, err, ErrMalformedPayload)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestTwoC2PSignAndSample(t *testing.T) {
	a := mustKey(t, TwoC2P{}, "secrets[0]", twoC2PVectorKey, time.Time{})
	b := mustKey(t, TwoC2P{}, "secrets[1]", twoC2POtherKey, time.Time{})
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)

	signed, err := TwoC2P{}.Sign([]byte(twoC2PDocClaims), []Key{b, a}, now, "")
	require.NoError(t, err)
	v, err := TwoC2P{}.Verify(Request{Body: signed.Body}, []Key{a, b}, VerifyOptions{Now: now})
	require.NoError(t, err)
	require.Equal(t, "secrets[1]", v.Key, "Sign uses the first key")
	// The library verifies what Sign made.
	var body struct{ Payload string }
	require.NoError(t, json.Unmarshal(signed.Body, &body))
	_, err = jwt.Parse(body.Payload, func(*jwt.Token) (any, error) { return []byte(twoC2POtherKey), nil }, jwt.WithValidMethods([]string{"HS256"}))
	require.NoError(t, err)

	for _, bad := range []string{``, `[]`, `"x"`, `{"a":1} {}`, `null`} {
		_, err := TwoC2P{}.Sign([]byte(bad), []Key{a}, now, "")
		require.Error(t, err, bad)
	}
	_, err = TwoC2P{}.Sign([]byte(twoC2PDocClaims), nil, now, "")
	require.ErrorIs(t, err, ErrNoActiveKey)

	want := map[string]Kind{"payment_response": KindPaymentSucceeded, "payment_response:pending": KindPaymentPending, "payment_response:failed": KindPaymentFailed}
	types := TwoC2P{}.SampleTypes()
	require.Equal(t, "payment_response", types[0])
	require.Len(t, types, len(want))
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			claims, err := TwoC2P{}.Sample(typ, SampleParams{Now: now, Amount: 23087, Currency: "THB"})
			require.NoError(t, err)
			require.True(t, json.Valid(claims))
			signed, err := TwoC2P{}.Sign(claims, []Key{a}, now, "")
			require.NoError(t, err)
			_, err = TwoC2P{}.Verify(Request{Body: signed.Body}, []Key{a}, VerifyOptions{Now: now})
			require.NoError(t, err)
			ev, err := TwoC2P{}.Parse(Request{Body: signed.Body})
			require.NoError(t, err)
			checkEventInvariants(t, "twoc2p", ev)
			require.Equal(t, want[typ], ev.Kind)
			require.Equal(t, int64(23087), ev.Amount)
			require.Equal(t, "THB", ev.Currency)
			require.Equal(t, now, ev.OccurredAt)
			require.Contains(t, string(claims), `"amount":"230.87"`)
		})
	}
	claims, err := TwoC2P{}.Sample("", SampleParams{Now: now, ID: "INV-42", Currency: "JPY"})
	require.NoError(t, err)
	signed, err = TwoC2P{}.Sign(claims, []Key{a}, now, "")
	require.NoError(t, err)
	ev, err := TwoC2P{}.Parse(Request{Body: signed.Body})
	require.NoError(t, err)
	require.Equal(t, "INV-42", ev.Reference)
	require.Equal(t, int64(5000), ev.Amount)
	require.Equal(t, "JPY", ev.Currency)
	_, err = TwoC2P{}.Sample("refund", SampleParams{Now: now})
	require.ErrorIs(t, err, ErrUnknownEventType)
}

func FuzzTwoC2PVerify(f *testing.F) {
	enc := base64.RawURLEncoding
	docToken := twoC2PHandToken(twoC2PHS256Header, twoC2PDocClaims, twoC2PVectorKey)
	parts := strings.Split(docToken, ".")
	f.Add(twoC2PBodyOf(twoC2PVectorToken))
	f.Add(twoC2PBodyOf(docToken))
	f.Add(twoC2PBodyOf(enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."))
	f.Add(twoC2PBodyOf(twoC2PHandToken(`{"alg":"RS256"}`, twoC2PDocClaims, twoC2PVectorKey)))
	f.Add(twoC2PBodyOf(twoC2PHandToken(twoC2PHS256Header, `{"exp":1}`, twoC2PVectorKey)))
	f.Add(twoC2PBodyOf(twoC2PHandToken(twoC2PHS256Header, `{"nbf":"x"}`, twoC2PVectorKey)))
	f.Add([]byte(`{"payload":"a.b.c"}`))
	f.Add([]byte(`{}`))
	key := Key{Name: "k", Material: []byte(twoC2PVectorKey)}
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := TwoC2P{}.Verify(Request{Body: body}, []Key{key}, VerifyOptions{Now: now})
		if err != nil {
			require.NotEqual(t, "error", Reason(err), "unclassified error %v", err)
			require.NotContains(t, err.Error(), twoC2PVectorKey)
			return
		}
		require.Equal(t, "k", v.Key)
		// Independent check: the body holds an HS256 JWT whose MAC is the
		// HMAC-SHA256 of header.claims under the key.
		var b struct {
			Payload string `json:"payload"`
		}
		require.NoError(t, json.Unmarshal(body, &b))
		segs := strings.Split(strings.TrimSpace(b.Payload), ".")
		require.Len(t, segs, 3)
		hdr, err := enc.DecodeString(segs[0])
		require.NoError(t, err)
		var h struct {
			Alg string `json:"alg"`
		}
		require.NoError(t, json.Unmarshal(hdr, &h))
		require.Equal(t, "HS256", h.Alg)
		sig, err := enc.DecodeString(segs[2])
		require.NoError(t, err)
		m := hmac.New(sha256.New, key.Material)
		m.Write([]byte(segs[0] + "." + segs[1]))
		require.True(t, hmac.Equal(m.Sum(nil), sig))
	})
}

func FuzzTwoC2PParse(f *testing.F) {
	f.Add([]byte(twoC2PDocClaims))
	f.Add([]byte(twoC2PVectorClaims))
	f.Add([]byte(`{"invoiceNo":"1","respCode":"4005","amount":-1,"currencyCode":"764"}`))
	f.Add([]byte(`{"invoiceNo":"1","respCode":"0001","amount":"1e3","currencyCode":"THB","transactionDateTime":"20201340000000"}`))
	f.Add([]byte(`{"invoiceNo":"1","respCode":"0000","amount":99999999999999999999,"currencyCode":"KWD"}`))
	f.Fuzz(func(t *testing.T, claims []byte) {
		body := twoC2PBodyOf(twoC2PHandToken(twoC2PHS256Header, string(claims), "k"))
		ev, err := TwoC2P{}.Parse(Request{Body: body})
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedPayload)
			return
		}
		checkEventInvariants(t, "twoc2p", ev)
		require.GreaterOrEqual(t, ev.Amount, int64(0))
	})
}
