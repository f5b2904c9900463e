package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// The new providers' secrets, as an admin pastes them.
const (
	airwallexSecret = "whsec_airwallex_e2e_secret"
	xenditToken     = "xnd_callback_token_e2e"
	midtransKey     = "SB-Mid-server-e2e-key"
	adyenHexKey     = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
	twoc2pKey       = "1F4EDB965BBB3094F791A83750FBDCDA3852131CB5218E21E4F42929A1975E60"
)

const providerSources = `  aw:
    provider: airwallex
    secrets: [{value: ` + airwallexSecret + `}]
  xnd:
    provider: xendit
    secrets: [{value: ` + xenditToken + `}]
  mt:
    provider: midtrans
    secrets: [{value: ` + midtransKey + `}]
  ady:
    provider: adyen
    secrets: [{value: ` + adyenHexKey + `}]
  ccpp:
    provider: twoc2p
    secrets: [{value: ` + twoc2pKey + `}]
`

const providerRoute = `  - name: providers
    sources: [aw, xnd, mt, ady, ccpp]
    robot: finance
    language: en
`

// TestE2E_NewProvidersReachDingTalk: one event per new provider, signed the
// provider's way by this test (not by bankbot's code), reaches the fake
// DingTalk with the exact amount; Adyen is answered "[accepted]"; a wrong
// signature of each is refused with 401.
func TestE2E_NewProvidersReachDingTalk(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	p.SourcesExtra, p.Extra = providerSources, providerRoute
	s := startServer(t, dir, p)
	now := time.Now()

	// Airwallex: hex HMAC-SHA256 of the millisecond timestamp and the body.
	awBody := readFixture(t, "airwallex", "payment_intent_succeeded.json")
	awTS := strconv.FormatInt(now.UnixMilli(), 10)
	awSig := hexHMAC([]byte(airwallexSecret), []byte(awTS), awBody)

	// Xendit: the static callback token; amounts in major units.
	xndBody := readFixture(t, "xendit", "payment_capture.json")

	// Midtrans: SHA-512 of order_id, status_code, gross_amount and the key.
	mtSum := sha512.Sum512([]byte("ORDER-E2E-1" + "200" + "100000.00" + midtransKey))
	mtBody := []byte(`{"transaction_time":"2026-12-01 10:00:00","transaction_status":"settlement","transaction_id":"9aed5972-e2e1",` +
		`"status_message":"midtrans payment notification","status_code":"200","signature_key":"` + hex.EncodeToString(mtSum[:]) +
		`","payment_type":"bank_transfer","order_id":"ORDER-E2E-1","merchant_id":"G141532850","gross_amount":"100000.00",` +
		`"fraud_status":"accept","currency":"IDR"}`)

	// Adyen: base64 HMAC-SHA256, hex key, over the colon-joined fields.
	key, err := hex.DecodeString(adyenHexKey)
	require.NoError(t, err)
	adySig := base64.StdEncoding.EncodeToString(hmacSHA256(key, []byte("ADYENPSP00000001::BankbotECOM:ORDER-ADYEN-E2E:1000:EUR:AUTHORISATION:true")))
	adyBody := []byte(`{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"` + adySig +
		`"},"amount":{"currency":"EUR","value":1000},"eventCode":"AUTHORISATION","eventDate":"2026-12-01T10:00:00+01:00",` +
		`"merchantAccountCode":"BankbotECOM","merchantReference":"ORDER-ADYEN-E2E","pspReference":"ADYENPSP00000001",` +
		`"reason":"","success":"true"}}]}`)

	// 2C2P: an HS256 JWT keyed by the secret as an ASCII string.
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"merchantID": "JT01", "invoiceNo": "INV2C2PE2E", "amount": 1500.5, "currencyCode": "THB",
		"tranRef": "TR-E2E-1", "respCode": "0000", "respDesc": "Success", "transactionDateTime": "20261201100000",
	}).SignedString([]byte(twoc2pKey))
	require.NoError(t, err)
	ccppBody := []byte(`{"payload":"` + tok + `"}`)

	tests := []struct {
		source string
		body   []byte
		header map[string]string
		bad    map[string]string // the same request with a wrong signature
		answer string
		amount string // as the alert shows it
	}{
		{"aw", awBody, map[string]string{"x-timestamp": awTS, "x-signature": awSig},
			map[string]string{"x-timestamp": awTS, "x-signature": hexHMAC([]byte("wrong"), []byte(awTS), awBody)}, `"status":"accepted"`, "USD 100.50"},
		{"xnd", xndBody, map[string]string{"x-callback-token": xenditToken, "webhook-id": "whk-e2e-1"},
			map[string]string{"x-callback-token": "wrong", "webhook-id": "whk-e2e-1"}, `"status":"accepted"`, "IDR 10,000.00"},
		{"mt", mtBody, nil, nil, `"status":"accepted"`, "IDR 100,000.00"},
		{"ady", adyBody, nil, nil, "[accepted]", "EUR 10.00"},
		{"ccpp", ccppBody, nil, nil, `"status":"accepted"`, "THB 1,500.50"},
	}
	for _, tc := range tests {
		r := s.post(tc.source, tc.body, tc.header)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", tc.source, r.Body)
		require.Contains(t, r.Body, tc.answer, tc.source)
		if tc.answer == "[accepted]" {
			require.Equal(t, "[accepted]", r.Body, "Adyen's answer is exactly [accepted]")
		}
		if tc.bad != nil {
			r = s.post(tc.source, tc.body, tc.bad)
			require.Equal(t, http.StatusUnauthorized, r.Status, "%s with a wrong signature: %s", tc.source, r.Body)
		}
	}
	// Signature in the body: a tampered amount no longer verifies.
	for source, body := range map[string][]byte{
		"mt":   []byte(strings.Replace(string(mtBody), `"gross_amount":"100000.00"`, `"gross_amount":"900000.00"`, 1)),
		"ady":  []byte(strings.Replace(string(adyBody), `"value":1000`, `"value":9000`, 1)),
		"ccpp": []byte(`{"payload":"` + tok[:len(tok)-2] + `xx"}`),
	} {
		r := s.post(source, body, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s tampered: %s", source, r.Body)
	}

	msgs := fake.WaitForMessages(len(tests), 30*time.Second)
	require.Len(t, msgs, len(tests))
	for _, tc := range tests {
		found := false
		for _, m := range msgs {
			if strings.Contains(m.Text, tc.amount) && strings.Contains(m.Text, tc.source) {
				found = true
			}
		}
		require.True(t, found, "no alert from %s showing %s in %v", tc.source, tc.amount, texts(msgs))
	}
	time.Sleep(500 * time.Millisecond)
	require.Len(t, fake.Messages(), len(tests), "the refused requests sent nothing")
}

func readFixture(t *testing.T, provider, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "bankhooks", "testdata", provider, name))
	require.NoError(t, err)
	return b
}

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func hexHMAC(key []byte, parts ...[]byte) string {
	return hex.EncodeToString(hmacSHA256(key, parts...))
}

func texts(msgs []dingtalktest.Received) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}
