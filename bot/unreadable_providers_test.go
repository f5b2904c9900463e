package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// TestIngest_EveryProviderKeepsUnreadableContent: for every built-in
// provider and a generic source, a correctly signed request whose content
// cannot be read (an unknown currency, an amount that is not a number) is
// answered 200 and stored as an unreadable event, never refused with 400
// (the hardening contract, issue 6 point 1, for every provider).
func TestIngest_EveryProviderKeepsUnreadableContent(t *testing.T) {
	sources := `  aw:
    provider: airwallex
    secrets: [{value: aw-secret}]
  xnd:
    provider: xendit
    secrets: [{value: xnd-token}]
  mt:
    provider: midtrans
    secrets: [{value: mt-server-key}]
  ady:
    provider: adyen
    secrets: [{value: DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00}]
  ccpp:
    provider: twoc2p
    secrets: [{value: 1F4EDB965BBB3094F791A83750FBDCDA3852131CB5218E21E4F42929A1975E60}]
  gen:
    provider: generic
    secrets: [{value: gen-secret}]
    signature:
      header: X-Signature
      algorithm: hmac-sha256
      encoding: hex
      signed: "{body}"
    event:
      id: id
      kind: {path: status, map: {paid: payment.succeeded}}
      amount: amount
      amount_unit: major
      currency: currency
`
	ta := newTestApp(t, testConfig{sources: sources})
	rt := ta.runtime.Load()
	tests := []struct {
		source string
		body   string // signed by the provider's own Sign
		answer string
	}{
		{"aw", `{"id":"evt_bad_aw","name":"payment_intent.succeeded","data":{"object":{"id":"int_1","amount":10,"currency":"XYZ","status":"SUCCEEDED"}}}`, `"unreadable":`},
		{"xnd", `{"event":"payment.capture","business_id":"b","created":"2026-12-01T00:00:00Z","data":{"payment_id":"py-bad","status":"SUCCEEDED","request_amount":"lots","currency":"IDR"}}`, `"unreadable":`},
		{"mt", `{"transaction_status":"settlement","status_code":"200","fraud_status":"accept","order_id":"O-bad","transaction_id":"t-bad","gross_amount":"12,5.00","currency":"IDR"}`, `"unreadable":`},
		{"ady", `{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"XYZ","value":1000},"eventCode":"AUTHORISATION","merchantAccountCode":"M","merchantReference":"R","pspReference":"PSPBAD","success":"true"}}]}`, `[accepted]`},
		{"ccpp", `{"merchantID":"JT01","invoiceNo":"INVBAD","amount":"abc","currencyCode":"THB","tranRef":"T1","respCode":"0000"}`, `"unreadable":`},
		{"gen", `{"id":"gen-bad","status":"paid","amount":"1.2.3","currency":"THB"}`, `"unreadable":`},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			src := rt.Sources[tc.source]
			require.NotNil(t, src)
			signed, err := src.Provider.Sign([]byte(tc.body), src.Keys, ta.clock.Now(), "msg_"+tc.source)
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodPost, "/hooks/"+tc.source, strings.NewReader(string(signed.Body)))
			req.RemoteAddr = "203.0.113.10:40000"
			for k, vs := range signed.Header {
				req.Header[k] = vs
			}
			rec := httptest.NewRecorder()
			ta.hookRouter().ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tc.answer)
			require.Equal(t, 1.0, metricValue(ta.metrics.Received.WithLabelValues(tc.source, "unreadable")))
			evs, err := ta.store.ListEvents(context.Background(), store.EventFilter{Source: tc.source})
			require.NoError(t, err)
			require.Len(t, evs, 1)
			require.Equal(t, bankhooks.KindUnreadable, evs[0].Event.Kind, "stored as unreadable")
			require.NotEmpty(t, evs[0].Event.FailureMessage, "with the reason")
		})
	}
	require.Len(t, ta.deliveries(t), len(tests), "each alerted")
}
