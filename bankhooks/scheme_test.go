package bankhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// Independent computations for the engine tests: no code of scheme.go.
func testHMAC(h func() hash.Hash, key []byte, parts ...string) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func testDigest(h func() hash.Hash, parts ...string) []byte {
	d := h()
	for _, p := range parts {
		d.Write([]byte(p))
	}
	return d.Sum(nil)
}

func mustCompile(t testing.TB, s Scheme) *Verifier {
	t.Helper()
	v, err := NewVerifier(s)
	require.NoError(t, err)
	return v
}

func TestMidtransSchemeVector(t *testing.T) {
	const key = "askvnoibnosifnboseofinbofinfgbiufglnbfg"
	const want = "edc076b21793ebe3e17926350f5b8ae67d902fe657b3d0aa31b932d5c127e2375d308a2bc94f3265ac2d80a1f181a79b997ac178a236fcff35af263fc4d4c231"
	require.Equal(t, want, hex.EncodeToString(testDigest(sha512.New, "1111", "200", "100000.00", key)), "independent computation")
	body := `{"transaction_status":"settlement","status_code":"200","order_id":"1111","gross_amount":"100000.00","currency":"IDR","signature_key":"` + want + `"}`
	k, err := midtransScheme.DecodeKey(key)
	require.NoError(t, err)
	keys := []Key{{Name: "server", Material: k}}
	now := time.Unix(1700000000, 0)

	v, err := midtransScheme.Verify(Request{Body: []byte(body)}, keys, VerifyOptions{Now: now})
	require.NoError(t, err)
	require.Equal(t, "server", v.Key)
	require.True(t, v.Timestamp.IsZero(), "midtrans signs no timestamp")

	upper := strings.Replace(body, want, strings.ToUpper(want), 1)
	_, err = midtransScheme.Verify(Request{Body: []byte(upper)}, keys, VerifyOptions{Now: now})
	require.NoError(t, err, "hex compares case-insensitively")

	tampered := strings.Replace(body, `"100000.00"`, `"900000.00"`, 1)
	_, err = midtransScheme.Verify(Request{Body: []byte(tampered)}, keys, VerifyOptions{Now: now})
	require.ErrorIs(t, err, ErrSignatureMismatch)

	_, err = midtransScheme.Verify(Request{Body: []byte(`{"order_id":"1111"}`)}, keys, VerifyOptions{Now: now})
	require.ErrorIs(t, err, ErrMissingSignature)
	_, err = midtransScheme.Verify(Request{Body: []byte(`not json`)}, keys, VerifyOptions{Now: now})
	require.ErrorIs(t, err, ErrMalformedSignature)
	_, err = midtransScheme.Verify(Request{Body: []byte(`{"signature_key":5}`)}, keys, VerifyOptions{Now: now})
	require.ErrorIs(t, err, ErrMalformedSignature)

	t.Run("sign puts the signature in the body", func(t *testing.T) {
		unsigned := `{"transaction_status":"settlement","status_code":"200","order_id":"1111","gross_amount":"100000.00"}`
		s, err := midtransScheme.Sign([]byte(unsigned), keys, now, "")
		require.NoError(t, err)
		require.Equal(t, want, gjson.GetBytes(s.Body, "signature_key").String())
		require.True(t, strings.HasSuffix(string(s.Body), unsigned[1:]), "the other bytes are kept: %s", s.Body)
		_, err = midtransScheme.Verify(Request{Body: s.Body}, keys, VerifyOptions{Now: now})
		require.NoError(t, err)

		// Re-signing replaces the value in place.
		again, err := midtransScheme.Sign(s.Body, keys, now, "")
		require.NoError(t, err)
		require.Equal(t, string(s.Body), string(again.Body))
	})
}

func TestAirwallexPreset(t *testing.T) {
	const secret = "whsec_airwallex_test_0123456789"
	body := `{"id":"evt_1","name":"payment_attempt.authorized","data":{"amount":100}}`
	ts := time.UnixMilli(1700000000123)
	tsText := "1700000000123"
	sig := hex.EncodeToString(testHMAC(sha256.New, []byte(secret), tsText, body))
	k, err := airwallexScheme.DecodeKey(secret)
	require.NoError(t, err)
	require.Equal(t, secret, string(k), "the secret is used as written")
	keys := []Key{{Name: "k", Material: k}}

	r := Request{Header: http.Header{"X-Signature": {sig}, "X-Timestamp": {tsText}}, Body: []byte(body)}
	v, err := airwallexScheme.Verify(r, keys, VerifyOptions{Now: ts.Add(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, ts.UTC(), v.Timestamp)

	_, err = airwallexScheme.Verify(r, keys, VerifyOptions{Now: ts.Add(6 * time.Minute)})
	require.ErrorIs(t, err, ErrTimestampOutOfWindow)
	_, err = airwallexScheme.Verify(r, keys, VerifyOptions{Now: ts.Add(-6 * time.Minute)})
	require.ErrorIs(t, err, ErrTimestampOutOfWindow)

	sec := Request{Header: http.Header{"X-Signature": {sig}, "X-Timestamp": {"1700000000"}}, Body: []byte(body)}
	_, err = airwallexScheme.Verify(sec, keys, VerifyOptions{Now: ts})
	require.ErrorIs(t, err, ErrTimestampOutOfWindow, "seconds read as milliseconds are in 1970")

	signed, err := airwallexScheme.Sign([]byte(body), keys, ts, "")
	require.NoError(t, err)
	require.Equal(t, sig, signed.Header.Get("x-signature"))
	require.Equal(t, tsText, signed.Header.Get("x-timestamp"))
}

func TestXenditPreset(t *testing.T) {
	const token = "xnd_callback_token_abc123"
	k, err := xenditScheme.DecodeKey(" " + token + "\n")
	require.NoError(t, err)
	keys := []Key{{Name: "old", Material: []byte("previous-token"), Expires: time.Unix(1700000000-1, 0)}, {Name: "new", Material: k}}
	now := time.Unix(1700000000, 0)
	body := []byte(`{"event":"payment.capture"}`)

	v, err := xenditScheme.Verify(Request{Header: http.Header{"X-Callback-Token": {token}}, Body: body}, keys, VerifyOptions{Now: now})
	require.NoError(t, err)
	require.Equal(t, "new", v.Key)
	_, err = xenditScheme.Verify(Request{Header: http.Header{"X-Callback-Token": {token + "x"}}, Body: body}, keys, VerifyOptions{Now: now})
	require.ErrorIs(t, err, ErrSignatureMismatch)
	_, err = xenditScheme.Verify(Request{Header: http.Header{"X-Callback-Token": {"previous-token"}}, Body: body}, keys, VerifyOptions{Now: now})
	require.ErrorIs(t, err, ErrKeyExpired)
	_, err = xenditScheme.Verify(Request{Header: http.Header{}, Body: body}, keys, VerifyOptions{Now: now})
	require.ErrorIs(t, err, ErrMissingSignature)

	s, err := xenditScheme.Sign(body, keys[1:], now, "wh_1")
	require.NoError(t, err)
	require.Equal(t, token, s.Header.Get("x-callback-token"))
	require.Equal(t, "wh_1", s.Header.Get("webhook-id"))
}

// engineCase is a scheme with an independent signer for TestEngineSchemes.
type engineCase struct {
	name   string
	scheme Scheme
	secret string // as configured
	key    []byte // decoded independently
	// sign returns the headers (and body) a sender would send.
	sign  func(key []byte, body string, ts time.Time) (http.Header, string)
	hasTS bool
}

func engineCases() []engineCase {
	hexKey := []byte("0123456789abcdef-hex-key")
	b64Key := []byte("base64-key-bytes-for-tests")
	return []engineCase{
		{
			name:   "plain hex hmac-sha256 body with prefix (GitHub)",
			scheme: Scheme{Header: "X-Hub-Signature-256", Prefix: "sha256=", Algorithm: "hmac-sha256", Signed: "{body}"},
			secret: "github-secret", key: []byte("github-secret"),
			sign: func(k []byte, body string, _ time.Time) (http.Header, string) {
				return http.Header{"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(testHMAC(sha256.New, k, body))}}, body
			},
		},
		{
			name:   "plain base64 hmac-sha512 with hex key and ms timestamp",
			scheme: Scheme{Header: "X-Sig", Algorithm: "hmac-sha512", KeyEncoding: "hex", Encoding: "base64", Signed: "{timestamp}:{body}", TimestampHeader: "X-Time", TimestampUnit: "ms"},
			secret: hex.EncodeToString(hexKey), key: hexKey, hasTS: true,
			sign: func(k []byte, body string, ts time.Time) (http.Header, string) {
				t := strconv.FormatInt(ts.UnixMilli(), 10)
				return http.Header{"X-Sig": {base64.StdEncoding.EncodeToString(testHMAC(sha512.New, k, t, ":", body))}, "X-Time": {t}}, body
			},
		},
		{
			name:   "comma-list base64url with base64 key and header placeholder",
			scheme: Scheme{Header: "X-Sig", Format: "comma-list", Algorithm: "hmac-sha256", KeyEncoding: "base64", Encoding: "base64url", Signed: "{header:X-Path}|{timestamp}|{body}", TimestampHeader: "X-Time"},
			secret: base64.StdEncoding.EncodeToString(b64Key), key: b64Key, hasTS: true,
			sign: func(k []byte, body string, ts time.Time) (http.Header, string) {
				t := strconv.FormatInt(ts.Unix(), 10)
				sig := base64.RawURLEncoding.EncodeToString(testHMAC(sha256.New, k, "/hooks/x|", t, "|", body))
				return http.Header{"X-Sig": {strings.Repeat("A", 43) + ", " + sig}, "X-Time": {t}, "X-Path": {"/hooks/x"}}, body
			},
		},
		{
			name:   "space-list v2 with whsec key and id",
			scheme: Scheme{Header: "Sig", Format: "space-list", Version: "v2", Algorithm: "hmac-sha256", KeyEncoding: "whsec", Encoding: "base64", Signed: "{id}.{timestamp}.{body}", TimestampHeader: "Sig-Time", IDHeader: "Sig-Id"},
			secret: "whsec_" + base64.StdEncoding.EncodeToString(b64Key), key: b64Key, hasTS: true,
			sign: func(k []byte, body string, ts time.Time) (http.Header, string) {
				t := strconv.FormatInt(ts.Unix(), 10)
				sig := base64.StdEncoding.EncodeToString(testHMAC(sha256.New, k, "m1.", t, ".", body))
				return http.Header{"Sig": {"v1," + sig + " v2," + sig}, "Sig-Time": {t}, "Sig-Id": {"m1"}}, body
			},
		},
		{
			name:   "kv with custom keys",
			scheme: Scheme{Header: "X-Sig", Format: "kv", TimestampKey: "ts", Version: "s", Algorithm: "hmac-sha256", Signed: "{timestamp},{body}"},
			secret: "kv-secret", key: []byte("kv-secret"), hasTS: true,
			sign: func(k []byte, body string, ts time.Time) (http.Header, string) {
				t := strconv.FormatInt(ts.Unix(), 10)
				return http.Header{"X-Sig": {"ts=" + t + ",s=" + hex.EncodeToString(testHMAC(sha256.New, k, t, ",", body))}}, body
			},
		},
		{
			name:   "sha256-digest of json fields and secret in a body field",
			scheme: Scheme{BodyField: "meta.sig", Algorithm: "sha256-digest", Signed: "{json:order.id}|{json:amount}|{secret}"},
			secret: "digest-secret", key: []byte("digest-secret"),
			sign: func(k []byte, body string, _ time.Time) (http.Header, string) {
				id, amt := gjson.Get(body, "order.id").String(), gjson.Get(body, "amount").Raw
				sig := hex.EncodeToString(testDigest(sha256.New, id, "|", amt, "|", string(k)))
				return http.Header{}, body[:len(body)-1] + `,"meta":{"sig":"` + sig + `"}}`
			},
		},
	}
}

func TestEngineSchemes(t *testing.T) {
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	body := `{"order":{"id":"o-1"},"amount":150.25,"status":"PAID"}`
	other := []byte("an-entirely-different-key")
	for _, ec := range engineCases() {
		t.Run(ec.name, func(t *testing.T) {
			v := mustCompile(t, ec.scheme)
			k, err := v.DecodeKey(ec.secret)
			require.NoError(t, err)
			require.Equal(t, ec.key, k)
			good := Key{Name: "good", Material: k}
			wrong := Key{Name: "wrong", Material: other}
			expired := Key{Name: "expired", Material: k, Expires: now.Add(-time.Second)}

			req := func(ts time.Time) Request {
				h, b := ec.sign(k, body, ts)
				return Request{Header: h, Body: []byte(b)}
			}
			tests := []struct {
				name    string
				r       Request
				keys    []Key
				wantKey string
				wantErr error
			}{
				{name: "valid", r: req(now), keys: []Key{good}, wantKey: "good"},
				{name: "rotation: second key verifies", r: req(now), keys: []Key{wrong, good}, wantKey: "good"},
				{name: "rotation: first key verifies", r: req(now), keys: []Key{good, wrong}, wantKey: "good"},
				{name: "wrong key", r: req(now), keys: []Key{wrong}, wantErr: ErrSignatureMismatch},
				{name: "expired key reported as expired", r: req(now), keys: []Key{expired, wrong}, wantErr: ErrKeyExpired},
				{name: "empty key never used", r: req(now), keys: []Key{{Name: "empty"}}, wantErr: ErrNoActiveKey},
				{name: "no keys", r: req(now), keys: nil, wantErr: ErrNoActiveKey},
				{name: "no signature", r: Request{Header: http.Header{}, Body: []byte(body)}, keys: []Key{good}, wantErr: ErrMissingSignature},
			}
			tampered := req(now)
			tampered.Body = []byte(strings.Replace(string(tampered.Body), "150.25", "950.25", 1))
			tests = append(tests, struct {
				name    string
				r       Request
				keys    []Key
				wantKey string
				wantErr error
			}{name: "tampered body", r: tampered, keys: []Key{good}, wantErr: ErrSignatureMismatch})
			if ec.hasTS {
				tests = append(tests, []struct {
					name    string
					r       Request
					keys    []Key
					wantKey string
					wantErr error
				}{
					{name: "stale", r: req(now.Add(-301 * time.Second)), keys: []Key{good}, wantErr: ErrTimestampOutOfWindow},
					{name: "future", r: req(now.Add(301 * time.Second)), keys: []Key{good}, wantErr: ErrTimestampOutOfWindow},
					{name: "edge of the window", r: req(now.Add(-300 * time.Second)), keys: []Key{good}, wantKey: "good"},
				}...)
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					got, err := v.Verify(tc.r, tc.keys, VerifyOptions{Now: now})
					if tc.wantErr != nil {
						require.ErrorIs(t, err, tc.wantErr)
						require.NotEqual(t, "error", Reason(err))
						require.NotContains(t, err.Error(), ec.secret)
						return
					}
					require.NoError(t, err)
					require.Equal(t, tc.wantKey, got.Key)
					if ec.hasTS {
						require.False(t, got.Timestamp.IsZero())
					}
				})
			}

			t.Run("sign round trip, one and two keys", func(t *testing.T) {
				for _, signers := range [][]Key{{good}, {wrong, good}} {
					s, err := v.Sign([]byte(body), signers, now, "m1")
					if ec.scheme.BodyField != "" && len(signers) > 1 {
						require.Error(t, err, "a plain body field holds one signature")
						continue
					}
					require.NoError(t, err)
					r := Request{Header: s.Header, Body: s.Body}
					if ec.scheme.Header != "" {
						// Sign may not know a {header:…} value; send the one the
						// independent signer uses.
						for _, hs := range v.headerSlots {
							require.Equal(t, "m1", r.Header.Get(hs))
						}
					}
					got, err := v.Verify(r, []Key{good}, VerifyOptions{Now: now})
					require.NoError(t, err)
					require.Equal(t, "good", got.Key)
				}
			})
		})
	}
}

func TestEngineMalformedHeaders(t *testing.T) {
	now := time.Unix(1700000000, 0)
	key := []Key{{Name: "k", Material: []byte("secret")}}
	v := mustCompile(t, Scheme{Header: "X-Sig", Format: "kv", Algorithm: "hmac-sha256", Signed: "{timestamp}.{body}"})
	good := "t=1700000000,v1=" + hex.EncodeToString(testHMAC(sha256.New, []byte("secret"), "1700000000.", "{}"))
	plain := mustCompile(t, Scheme{Header: "X-Sig", Algorithm: "hmac-sha256", Signed: "{timestamp}.{body}", TimestampHeader: "X-Time"})
	sig := hex.EncodeToString(testHMAC(sha256.New, []byte("secret"), "1700000000.", "{}"))
	tests := []struct {
		name    string
		v       *Verifier
		h       http.Header
		wantErr error
	}{
		{"kv valid", v, http.Header{"X-Sig": {good}}, nil},
		{"kv spaces around pairs", v, http.Header{"X-Sig": {strings.ReplaceAll(good, ",", " , ")}}, nil},
		{"kv element without =", v, http.Header{"X-Sig": {"t=1700000000,v1"}}, ErrMalformedSignature},
		{"kv no v1", v, http.Header{"X-Sig": {"t=1700000000,v0=" + sig}}, ErrMissingSignature},
		{"kv no t", v, http.Header{"X-Sig": {"v1=" + sig}}, ErrMissingTimestamp},
		{"kv bad t", v, http.Header{"X-Sig": {"t=soon,v1=" + sig}}, ErrMalformedSignature},
		{"kv signed t", v, http.Header{"X-Sig": {"t=+1700000000,v1=" + sig}}, ErrMalformedSignature},
		{"plain not hex", plain, http.Header{"X-Sig": {"zz"}, "X-Time": {"1700000000"}}, ErrMalformedSignature},
		{"plain short", plain, http.Header{"X-Sig": {"abcd"}, "X-Time": {"1700000000"}}, ErrMalformedSignature},
		{"plain blank", plain, http.Header{"X-Sig": {"  "}, "X-Time": {"1700000000"}}, ErrMissingSignature},
		{"no timestamp", plain, http.Header{"X-Sig": {sig}}, ErrMissingTimestamp},
		{"timestamp not digits", plain, http.Header{"X-Sig": {sig}, "X-Time": {"-1700000000"}}, ErrMalformedSignature},
		{"timestamp too long", plain, http.Header{"X-Sig": {sig}, "X-Time": {strings.Repeat("9", 19)}}, ErrMalformedSignature},
		{"leading zeros are signed as sent", plain, http.Header{"X-Sig": {sig}, "X-Time": {"01700000000"}}, ErrSignatureMismatch},
		{"lower-case header keys", plain, http.Header{"x-sig": {sig}, "x-time": {"1700000000"}}, nil},
		{"second header line verifies", plain, http.Header{"X-Sig": {strings.Repeat("0", 64), sig}, "X-Time": {"1700000000"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(Request{Header: tc.h, Body: []byte("{}")}, key, VerifyOptions{Now: now})
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.NotEqual(t, "error", Reason(err))
		})
	}
}

func TestEngineNoneAndStatic(t *testing.T) {
	none := mustCompile(t, Scheme{Algorithm: "none", IDHeader: "X-Id"})
	v, err := none.Verify(Request{}, nil, VerifyOptions{})
	require.NoError(t, err, "algorithm none verifies nothing (config requires allow_ips)")
	require.Empty(t, v.Key)
	s, err := none.Sign([]byte(`{}`), nil, time.Unix(1, 0), "id-1")
	require.NoError(t, err)
	require.Equal(t, "id-1", s.Header.Get("X-Id"))

	static := mustCompile(t, Scheme{Header: "Authorization", Prefix: "Bearer ", Algorithm: "static-token"})
	keys := []Key{{Name: "k", Material: []byte("tok")}}
	_, err = static.Verify(Request{Header: http.Header{"Authorization": {"Bearer tok"}}}, keys, VerifyOptions{})
	require.NoError(t, err)
	_, err = static.Verify(Request{Header: http.Header{"Authorization": {"tok"}}}, keys, VerifyOptions{})
	require.ErrorIs(t, err, ErrMalformedSignature, "without the prefix")
	_, err = static.Verify(Request{Header: http.Header{"Authorization": {"Bearer to"}}}, keys, VerifyOptions{})
	require.ErrorIs(t, err, ErrSignatureMismatch)
}

func TestEngineDecodeKey(t *testing.T) {
	tests := []struct {
		enc, secret string
		want        string
		wantErr     bool
	}{
		{"raw", " abc\n", "abc", false},
		{"raw", " \t", "", true},
		{"base64", base64.StdEncoding.EncodeToString([]byte("k1")), "k1", false},
		{"base64", "not base64!", "", true},
		{"base64", "====", "", true},
		{"hex", "6b31", "k1", false},
		{"hex", "6b3", "", true},
		{"whsec", "whsec_" + base64.StdEncoding.EncodeToString([]byte("k1")), "k1", false},
		{"whsec", base64.StdEncoding.EncodeToString([]byte("k1")), "k1", false},
		{"whsec", "whsec_", "", true},
		{"whsec", "whsec_%%%secretpart", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.enc+"/"+tc.secret, func(t *testing.T) {
			v := mustCompile(t, Scheme{Header: "X", Algorithm: "hmac-sha256", KeyEncoding: tc.enc})
			k, err := v.DecodeKey(tc.secret)
			if tc.wantErr {
				require.Error(t, err)
				if s := strings.TrimSpace(tc.secret); len(s) > 6 {
					require.NotContains(t, err.Error(), s)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(k))
		})
	}
}

func TestNewVerifierProblems(t *testing.T) {
	hm := func(s Scheme) Scheme {
		if s.Algorithm == "" {
			s.Algorithm = "hmac-sha256"
		}
		if s.Header == "" && s.BodyField == "" {
			s.Header = "X-Sig"
		}
		return s
	}
	tests := []struct {
		name   string
		scheme Scheme
		want   []string // "field: message prefix"
	}{
		{"empty", Scheme{}, []string{"signature.algorithm: required", "signature.header: give header"}},
		{"unknown algorithm", Scheme{Header: "X", Algorithm: "md5"}, []string{`signature.algorithm: unknown "md5" (one of hmac-sha256, hmac-sha512, sha256-digest, sha512-digest, static-token, none)`}},
		{"both places", hm(Scheme{Header: "X", BodyField: "sig"}), []string{"signature.body_field: give header or body_field, not both"}},
		{"bad body field", Scheme{BodyField: "a..b", Algorithm: "hmac-sha256", Signed: "{json:a}"}, []string{`signature.body_field: "a..b" is not a simple dotted JSON path`}},
		{"bad header", hm(Scheme{Header: "X Sig"}), []string{`signature.header: "X Sig" is not a valid HTTP header name`}},
		{"unknown format", hm(Scheme{Format: "json"}), []string{`signature.format: unknown "json"`}},
		{"timestamp in the signature header", hm(Scheme{Header: "T", Signed: "{timestamp}", TimestampHeader: "t"}), []string{`signature.timestamp_header: "t" is also the signature header`}},
		{"id in the timestamp header", hm(Scheme{Signed: "{id}{timestamp}", TimestampHeader: "X-T", IDHeader: "x-t"}), []string{`signature.id_header: "x-t" is also the timestamp header`}},
		{"signature header signed", hm(Scheme{Header: "X", Signed: "{header:x}{body}"}), []string{`signature.signed: {header:x} is the signature header itself`}},
		{"timestamp header as a header slot", hm(Scheme{Signed: "{timestamp}{header:X-T}", TimestampHeader: "X-T"}), []string{`signature.signed: {header:X-T} is the timestamp header`}},
		{"body field signed", Scheme{BodyField: "sig", Algorithm: "sha512-digest", Signed: "{json:order}{json:sig}{secret}"}, []string{`signature.signed: {json:sig} holds the signature (body_field sig)`}},
		{"non-ASCII prefix", hm(Scheme{Prefix: "\xe0"}), []string{`signature.prefix: "\xe0": use printable ASCII characters only`}},
		{"control character in version", hm(Scheme{Format: "space-list", Version: "v\t1"}), []string{`signature.version: "v\t1": use printable ASCII characters only`}},
		{"unknown key encoding", hm(Scheme{KeyEncoding: "b64"}), []string{`signature.key_encoding: unknown "b64"`}},
		{"unknown encoding", hm(Scheme{Encoding: "HEX"}), []string{`signature.encoding: unknown "HEX"`}},
		{"unknown unit", hm(Scheme{Signed: "{timestamp}{body}", TimestampHeader: "T", TimestampUnit: "us"}), []string{`signature.timestamp_unit: unknown "us"`}},
		{"timestamp without source", hm(Scheme{Signed: "{timestamp}.{body}"}), []string{"signature.signed: {timestamp} used but no timestamp_header and format is not kv"}},
		{"timestamp header unsigned", hm(Scheme{TimestampHeader: "X-Time"}), []string{"signature.timestamp_header: set but {timestamp} is not in signed"}},
		{"id without header", hm(Scheme{Signed: "{id}.{body}"}), []string{"signature.signed: {id} used but no id_header"}},
		{"secret with hmac", hm(Scheme{Signed: "{body}{secret}"}), []string{"signature.signed: {secret} is only for the digest algorithms"}},
		{"digest without secret", hm(Scheme{Algorithm: "sha512-digest", Signed: "{body}"}), []string{"signature.signed: sha512-digest needs {secret}"}},
		{"digest without template", hm(Scheme{Algorithm: "sha256-digest"}), []string{"signature.signed: required for sha256-digest"}},
		{"body in a body-field scheme", Scheme{BodyField: "sig", Algorithm: "hmac-sha256", Signed: "{body}"}, []string{"signature.signed: {body} cannot be signed when the signature is inside the body"}},
		{"unknown placeholder", hm(Scheme{Signed: "{ts}.{body}"}), []string{"signature.signed: unknown placeholder {ts}"}},
		{"unclosed brace", hm(Scheme{Signed: "{body"}), []string{"signature.signed: unclosed '{'"}},
		{"stray brace", hm(Scheme{Signed: "body}"}), []string{"signature.signed: unmatched '}'"}},
		{"bad json path", hm(Scheme{Signed: "{json:a.*}{body}"}), []string{"signature.signed: {json:a.*}: not a simple dotted JSON path"}},
		{"empty header placeholder", hm(Scheme{Signed: "{header:}{body}"}), []string{"signature.signed: {header:} needs a header name"}},
		{"version with plain", hm(Scheme{Version: "v2"}), []string{"signature.version: only for format space-list or kv"}},
		{"timestamp key without kv", hm(Scheme{TimestampKey: "ts"}), []string{"signature.timestamp_key: only for format kv"}},
		{"same kv keys", hm(Scheme{Format: "kv", Version: "t"}), []string{`signature.version: the signature key and the timestamp key are both "t"`}},
		{"static token with template", Scheme{Header: "T", Algorithm: "static-token", Signed: "{body}", Encoding: "hex", KeyEncoding: "base64"},
			[]string{"signature.signed: not used with static-token", "signature.encoding: not used with static-token", "signature.key_encoding: static-token compares"}},
		{"none with header", Scheme{Algorithm: "none", Header: "X", Signed: "{body}"},
			[]string{"signature.header: not used with algorithm none", "signature.signed: not used with algorithm none"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(tc.scheme)
			var se *SchemeError
			require.ErrorAs(t, err, &se)
			for _, w := range tc.want {
				found := false
				for _, p := range se.Problems {
					if strings.HasPrefix(p.String(), w) {
						found = true
					}
				}
				require.True(t, found, "want a problem starting with %q in:\n%s", w, err)
			}
		})
	}
	t.Run("every problem at once", func(t *testing.T) {
		_, err := NewVerifier(Scheme{Header: "X", Algorithm: "hmac-sha256", Format: "x", Encoding: "y", KeyEncoding: "z"})
		var se *SchemeError
		require.True(t, errors.As(err, &se))
		require.Len(t, se.Problems, 3)
	})
}

func TestSpliceJSONString(t *testing.T) {
	tests := []struct {
		body, path, want string
	}{
		{`{"a":1}`, "sig", `{"sig":"S","a":1}`},
		{`{}`, "sig", `{"sig":"S"}`},
		{` { } `, "sig", ` {"sig":"S" } `},
		{`{"sig":"old","a":1}`, "sig", `{"sig":"S","a":1}`},
		{`{"a":{"b":2}}`, "a.sig", `{"a":{"sig":"S","b":2}}`},
		{`{"a":1}`, "x.y.sig", `{"x":{"y":{"sig":"S"}},"a":1}`},
		{`{"x":{"y":{"sig":null}}}`, "x.y.sig", `{"x":{"y":{"sig":"S"}}}`},
	}
	for _, tc := range tests {
		got, err := spliceJSONString([]byte(tc.body), strings.Split(tc.path, "."), "S")
		require.NoError(t, err, tc.body)
		require.Equal(t, tc.want, string(got))
	}
	_, err := spliceJSONString([]byte(`{"a":1}`), []string{"a", "sig"}, "S")
	require.Error(t, err, "a is not an object")
	_, err = spliceJSONString([]byte(`[1]`), []string{"sig"}, "S")
	require.Error(t, err)
}

// FuzzNewVerifier: random scheme fields never panic; a scheme that compiles
// signs and verifies its own request.
func FuzzNewVerifier(f *testing.F) {
	f.Add("X-Sig", "", "plain", "sha256=", "hmac-sha256", "raw", "hex", "{timestamp}.{body}", "X-Time", "s", "", "", "")
	f.Add("", "sig", "", "", "sha512-digest", "", "", "{json:a}{secret}", "", "", "", "", "")
	f.Add("S", "", "kv", "", "hmac-sha512", "hex", "base64url", "{header:X}{timestamp}{body}", "", "ms", "X-Id", "v9", "ts")
	f.Add("S", "", "space-list", "", "hmac-sha256", "whsec", "base64", "{id}.{timestamp}.{body}", "T", "", "I", "v1", "")
	f.Add("S", "", "", "", "static-token", "", "", "", "", "", "", "", "")
	f.Add("", "", "", "", "none", "", "", "", "", "", "", "", "")
	f.Add("S", "", "comma-list", "", "hmac-sha256", "", "", "{{body}}", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, header, bodyField, format, prefix, alg, keyEnc, enc, signed, tsHeader, unit, idHeader, version, tsKey string) {
		s := Scheme{Header: header, BodyField: bodyField, Format: format, Prefix: prefix, Algorithm: alg, KeyEncoding: keyEnc,
			Encoding: enc, Signed: signed, TimestampHeader: tsHeader, TimestampUnit: unit, IDHeader: idHeader, Version: version, TimestampKey: tsKey}
		v, err := NewVerifier(s)
		if err != nil {
			var se *SchemeError
			require.ErrorAs(t, err, &se)
			require.NotEmpty(t, se.Problems)
			return
		}
		now := time.Unix(1700000000, 0)
		key := Key{Name: "k", Material: []byte("fuzz-key-material")}
		body := []byte(`{"a":"1","b":{"c":2}}`)
		signedReq, err := v.Sign(body, []Key{key}, now, "id1")
		if err != nil {
			return // e.g. a prefix or version that cannot be written
		}
		r := Request{Header: signedReq.Header, Body: signedReq.Body}
		_, err = v.Verify(r, []Key{key}, VerifyOptions{Now: now})
		if err != nil {
			// Only schemes whose own output is ambiguous may fail: a prefix
			// or version containing the list separators.
			require.True(t, strings.ContainsAny(prefix+version, ", =\t") || strings.TrimSpace(prefix) != prefix,
				"scheme %+v does not verify its own signature: %v", s, err)
			return
		}
		if v.alg != algNone {
			_, err = v.Verify(r, []Key{{Name: "other", Material: []byte("another-key")}}, VerifyOptions{Now: now})
			require.Error(t, err, "scheme %+v verifies without the key", s)
		}
	})
}

// FuzzVerifierVerify: random headers and bodies against compiled schemes
// never panic, are always classified, and never verify without the key
// (the only accepted requests are the ones an independent signer makes).
func FuzzVerifierVerify(f *testing.F) {
	f.Add(0, "sha256=abc", "1700000000", "id", []byte(`{}`))
	f.Add(1, "t=1700000000,v1=00", "", "", []byte(`{"a":1}`))
	f.Add(2, "v1,AAAA v2,BBBB", "1700000000", "msg", []byte(`x`))
	f.Add(3, "", "", "", []byte(`{"meta":{"sig":"00"},"order":{"id":"o"}}`))
	f.Add(4, "zz,yy", "01700000000", "", []byte{})
	cases := engineCases()
	verifiers := make([]*Verifier, len(cases))
	for i, ec := range cases {
		verifiers[i] = mustCompile(f, ec.scheme)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, which int, sig, ts, id string, body []byte) {
		if which < 0 {
			which = -which
		}
		i := which % len(cases)
		ec, v := cases[i], verifiers[i]
		h := http.Header{}
		for _, name := range []string{ec.scheme.Header, ec.scheme.TimestampHeader, ec.scheme.IDHeader, "X-Path"} {
			if name == "" {
				continue
			}
			switch name {
			case ec.scheme.Header:
				h.Set(name, sig)
			case ec.scheme.TimestampHeader:
				h.Set(name, ts)
			default:
				h.Set(name, id)
			}
		}
		key := Key{Name: "k", Material: ec.key}
		_, err := v.Verify(Request{Header: h, Body: body}, []Key{key}, VerifyOptions{Now: now})
		if err != nil {
			require.NotEqual(t, "error", Reason(err), "unclassified: %v", err)
			require.NotContains(t, err.Error(), string(ec.key))
			return
		}
		// Accepted: it must verify under the real key only.
		_, err = v.Verify(Request{Header: h, Body: body}, []Key{{Name: "x", Material: []byte("not-the-key")}}, VerifyOptions{Now: now})
		require.Error(t, err, "case %s verified %q without the key", ec.name, sig)
	})
}
