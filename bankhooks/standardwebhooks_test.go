package bankhooks

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

// The published vector of the Standard Webhooks Go library
// (libraries/go/webhook_test.go TestWebhookSign).
const (
	swVectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swVectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swVectorTS     = 1614265330
	swVectorBody   = `{"test": 2432232314}`
	swVectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func swHeader(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	return h
}

func TestStandardWebhooksVector(t *testing.T) {
	key := mustKey(t, StandardWebhooks{}, "k", swVectorSecret, time.Time{})
	require.Len(t, key.Material, 24)
	bare := mustKey(t, StandardWebhooks{}, "bare", strings.TrimPrefix(swVectorSecret, "whsec_"), time.Time{})
	require.Equal(t, key.Material, bare.Material, "the whsec_ prefix is optional")

	hSigned, err := StandardWebhooks{}.Sign([]byte(swVectorBody), []Key{key}, time.Unix(swVectorTS, 0), swVectorID)
	h := hSigned.Header
	require.NoError(t, err)
	require.Equal(t, swVectorSig, h.Get("webhook-signature"))
	require.Equal(t, swVectorID, h.Get("webhook-id"))
	require.Equal(t, "1614265330", h.Get("webhook-timestamp"))

	v, err := StandardWebhooks{}.Verify(Request{Header: swHeader(swVectorID, "1614265330", swVectorSig), Body: []byte(swVectorBody)},
		[]Key{key}, VerifyOptions{Now: time.Unix(swVectorTS, 0)})
	require.NoError(t, err)
	require.Equal(t, "k", v.Key)
}

func TestStandardWebhooksInterop(t *testing.T) {
	body := readFixture(t, filepath.Join("standardwebhooks", "payment_succeeded.json"))
	secrets := []string{swVectorSecret, "whsec_YW5vdGhlci0yNC1ieXRlLXNlY3JldCEh"}
	keys := []Key{
		mustKey(t, StandardWebhooks{}, "old", secrets[0], time.Time{}),
		mustKey(t, StandardWebhooks{}, "new", secrets[1], time.Time{}),
	}

	t.Run("library signs, we verify", func(t *testing.T) {
		ts := time.Unix(1715678467, 0)
		for i, secret := range secrets {
			wh, err := standardwebhooks.NewWebhook(secret)
			require.NoError(t, err)
			sig, err := wh.Sign("msg_2fGv6yWZ1qk0pQ8sT3uV", ts, body)
			require.NoError(t, err)
			v, err := StandardWebhooks{}.Verify(Request{Header: swHeader("msg_2fGv6yWZ1qk0pQ8sT3uV", "1715678467", sig), Body: body},
				keys, VerifyOptions{Now: ts})
			require.NoError(t, err)
			require.Equal(t, keys[i].Name, v.Key)
		}
	})

	t.Run("we sign, library verifies", func(t *testing.T) {
		// The library checks the timestamp against the real clock.
		now := time.Now()
		for _, n := range []int{1, 2} {
			hSigned, err := StandardWebhooks{}.Sign(body, keys[:n], now, "msg_2fGv6yWZ1qk0pQ8sT3uV")
			h := hSigned.Header
			require.NoError(t, err)
			require.Len(t, strings.Fields(h.Get("webhook-signature")), n)
			for _, secret := range secrets[:n] {
				wh, err := standardwebhooks.NewWebhook(secret)
				require.NoError(t, err)
				require.NoError(t, wh.Verify(body, h))
			}
			if n == 1 {
				wh, err := standardwebhooks.NewWebhook(secrets[1])
				require.NoError(t, err)
				require.Error(t, wh.Verify(body, h))
			}
		}
	})
}

func TestStandardWebhooksVerifyHeaders(t *testing.T) {
	key := mustKey(t, StandardWebhooks{}, "k", swVectorSecret, time.Time{})
	now := time.Unix(swVectorTS, 0)
	wrong := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	validB64 := strings.TrimPrefix(swVectorSig, "v1,")
	tests := []struct {
		name     string
		header   http.Header
		now      time.Time
		wantErr  error
		checkLib bool // the library must agree (ignoring the clock)
	}{
		{name: "valid", header: swHeader(swVectorID, "1614265330", swVectorSig), checkLib: true},
		{name: "multi: wrong v1, v2 and the valid one", header: swHeader(swVectorID, "1614265330",
			wrong+" v2,"+validB64+" "+swVectorSig+" "+wrong), checkLib: true},
		{name: "v1a is ignored", header: swHeader(swVectorID, "1614265330", "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== "+swVectorSig), checkLib: true},
		{name: "valid signature as v2 only", header: swHeader(swVectorID, "1614265330", "v2,"+validB64), wantErr: ErrMissingSignature, checkLib: true},
		{name: "wrong v1 only", header: swHeader(swVectorID, "1614265330", wrong), wantErr: ErrSignatureMismatch, checkLib: true},
		{name: "partial signature", header: swHeader(swVectorID, "1614265330", "v1,"), wantErr: ErrSignatureMismatch, checkLib: true},
		{name: "non-canonical base64", header: swHeader(swVectorID, "1614265330", "v1,"+strings.TrimSuffix(validB64, "E=")+"F="), wantErr: ErrMissingSignature, checkLib: true},
		{name: "other id", header: swHeader("msg_other", "1614265330", swVectorSig), wantErr: ErrSignatureMismatch, checkLib: true},
		{name: "no signature", header: swHeader(swVectorID, "1614265330", ""), wantErr: ErrMissingSignature},
		{name: "no id", header: swHeader("", "1614265330", swVectorSig), wantErr: ErrMalformedSignature},
		{name: "no timestamp", header: swHeader(swVectorID, "", swVectorSig), wantErr: ErrMissingTimestamp},
		{name: "bad timestamp", header: swHeader(swVectorID, "2021-02-25", swVectorSig), wantErr: ErrMalformedSignature},
		{name: "exactly 5m old", header: swHeader(swVectorID, "1614265330", swVectorSig), now: now.Add(5 * time.Minute)},
		{name: "too old", header: swHeader(swVectorID, "1614265330", swVectorSig), now: now.Add(5*time.Minute + time.Second), wantErr: ErrTimestampOutOfWindow},
		{name: "too new", header: swHeader(swVectorID, "1614265330", swVectorSig), now: now.Add(-5*time.Minute - time.Second), wantErr: ErrTimestampOutOfWindow},
		{name: "lower-case keys in a literal header", header: http.Header{
			"webhook-id": {swVectorID}, "webhook-timestamp": {"1614265330"}, "webhook-signature": {swVectorSig},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := now
			if !tc.now.IsZero() {
				at = tc.now
			}
			r := Request{Header: tc.header, Body: []byte(swVectorBody)}
			_, err := StandardWebhooks{}.Verify(r, []Key{key}, VerifyOptions{Now: at})
			secretsNotIn(t, err, r, swVectorSecret)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			if tc.checkLib {
				wh, werr := standardwebhooks.NewWebhook(swVectorSecret)
				require.NoError(t, werr)
				libErr := wh.VerifyIgnoringTimestamp(r.Body, r.Header)
				require.Equal(t, err == nil, libErr == nil, "library disagrees: ours %v, library %v", err, libErr)
			}
		})
	}
}

func TestStandardWebhooksDecodeKey(t *testing.T) {
	tests := []struct {
		name, secret string
		wantLen      int
		wantErr      bool
	}{
		{name: "whsec", secret: swVectorSecret, wantLen: 24},
		{name: "bare base64", secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantLen: 24},
		{name: "whitespace", secret: "\t" + swVectorSecret + "\n", wantLen: 24},
		{name: "empty", secret: "", wantErr: true},
		{name: "prefix only", secret: "whsec_", wantErr: true},
		{name: "not base64", secret: "whsec_not base64!", wantErr: true},
		{name: "asymmetric secret key", secret: "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantErr: true},
		{name: "asymmetric public key", secret: "whpk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := StandardWebhooks{}.DecodeKey(tc.secret)
			if tc.wantErr {
				require.Error(t, err)
				if len(tc.secret) > 8 {
					require.NotContains(t, err.Error(), strings.TrimSpace(tc.secret)[6:])
				}
				return
			}
			require.NoError(t, err)
			require.Len(t, k, tc.wantLen)
		})
	}
}

func TestStandardWebhooksSignID(t *testing.T) {
	key := mustKey(t, StandardWebhooks{}, "k", swVectorSecret, time.Time{})
	body := []byte(swVectorBody)
	h1Signed, err := StandardWebhooks{}.Sign(body, []Key{key}, time.Unix(swVectorTS, 0), "")
	h1 := h1Signed.Header
	require.NoError(t, err)
	h2Signed, err := StandardWebhooks{}.Sign(body, []Key{key}, time.Unix(swVectorTS+60, 0), "")
	h2 := h2Signed.Header
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h1.Get("webhook-id"), "msg_"))
	require.Equal(t, h1.Get("webhook-id"), h2.Get("webhook-id"), "a re-sent body keeps its id")
	h3Signed, err := StandardWebhooks{}.Sign([]byte(`{"test": 1}`), []Key{key}, time.Unix(swVectorTS, 0), "")
	h3 := h3Signed.Header
	require.NoError(t, err)
	require.NotEqual(t, h1.Get("webhook-id"), h3.Get("webhook-id"))

	_, err = StandardWebhooks{}.Sign(body, []Key{key}, time.Unix(swVectorTS, 0), "msg.1")
	require.Error(t, err)
}

func TestStandardWebhooksParse(t *testing.T) {
	hdr := swHeader("msg_2fGv6yWZ1qk0pQ8sT3uV", "1715678467", "v1,x")
	tests := []struct {
		file string
		want Event
	}{
		{file: "payment_succeeded.json", want: Event{
			Type: "payment.succeeded", Kind: KindPaymentSucceeded, Amount: 1234550, Currency: "IDR",
			Reference: "INV-2024-0519", Account: "***8801", Counterparty: "PT Contoh Jaya",
			Description: "Invoice INV-2024-0519", Livemode: true,
			OccurredAt: time.Date(2024, 5, 14, 9, 21, 7, 123000000, time.UTC),
		}},
		{file: "acme_payment_failed.json", want: Event{
			Type: "acme.payment.failed", Kind: KindPaymentFailed, Amount: 99000, Currency: "THB",
			Reference: "pay_01HXYZ4L0X9W8V7U6T5S4R3Q2P", Counterparty: "Malee Sukjai",
			FailureCode: "insufficient_funds", FailureMessage: "The payer's account has insufficient funds.",
			OccurredAt: time.Date(2024, 5, 14, 9, 30, 0, 0, time.UTC),
		}},
		{file: "invoice_paid.json", want: Event{
			Type: "invoice.paid", Kind: KindOther, Amount: 500, Currency: "USD",
			Reference: "in_01HXYZ5M1Y0X9W8V7U6T5S4R3Q", Livemode: true,
			OccurredAt: time.Date(2024, 5, 14, 9, 21, 7, 0, time.UTC),
		}},
		{file: "thin_no_timestamp.json", want: Event{
			Type: "refund.succeeded", Kind: KindRefundSucceeded, Reference: "rf_01HXYZ6N2Z1Y0X9W8V7U6T5S4R",
			Livemode: true, OccurredAt: time.Unix(1715678467, 0).UTC(),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := StandardWebhooks{}.Parse(Request{Header: hdr, Body: readFixture(t, filepath.Join("standardwebhooks", tc.file))})
			require.NoError(t, err)
			tc.want.Provider = "standardwebhooks"
			tc.want.ID = "msg_2fGv6yWZ1qk0pQ8sT3uV"
			require.Equal(t, tc.want, ev)
		})
	}
}

func TestStandardKind(t *testing.T) {
	tests := map[string]Kind{
		"payment.succeeded":         KindPaymentSucceeded,
		"Payment.Succeeded":         KindPaymentSucceeded,
		"bank.payment.pending":      KindPaymentPending,
		"transfer.failed":           KindTransferFailed,
		"acme.account.link_failed":  KindAccountLinkFailed,
		"dispute.opened":            KindDisputeOpened,
		"refund.failed":             KindRefundFailed,
		"payment_succeeded":         KindOther,
		"xpayment.succeeded":        KindOther,
		"payment.succeeded.later":   KindOther,
		"invoice.paid":              KindOther,
		"other":                     KindOther,
		"account.linked":            KindAccountLinked,
		"transfer.succeeded.failed": KindOther,
	}
	for typ, want := range tests {
		t.Run(typ, func(t *testing.T) {
			require.Equal(t, want, standardKind(typ))
		})
	}
}

func TestStandardWebhooksParseErrors(t *testing.T) {
	hdr := swHeader("msg_1", "1715678467", "v1,x")
	tests := []struct {
		name    string
		header  http.Header
		body    string
		wantMsg string
	}{
		{name: "no webhook-id", header: http.Header{}, body: `{"type":"payment.succeeded"}`, wantMsg: "webhook-id"},
		{name: "not json", header: hdr, body: `type=payment.succeeded`, wantMsg: "not a JSON object"},
		{name: "missing type", header: hdr, body: `{"data":{}}`, wantMsg: `missing "type"`},
		{name: "empty type", header: hdr, body: `{"type":""}`, wantMsg: `missing "type"`},
		{name: "data not object", header: hdr, body: `{"type":"payment.succeeded","data":[1]}`, wantMsg: "data is not an object"},
		{name: "string amount", header: hdr, body: `{"type":"payment.succeeded","data":{"amount":"12.50","currency":"THB"}}`, wantMsg: "amount"},
		{name: "fraction amount", header: hdr, body: `{"type":"payment.succeeded","data":{"amount":12.5,"currency":"THB"}}`, wantMsg: "amount"},
		{name: "amount without currency", header: hdr, body: `{"type":"payment.succeeded","data":{"amount":1250}}`, wantMsg: "no currency"},
		{name: "bad timestamp", header: hdr, body: `{"type":"payment.succeeded","timestamp":"14/05/2024"}`, wantMsg: "timestamp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StandardWebhooks{}.Parse(Request{Header: tc.header, Body: []byte(tc.body)})
			require.ErrorIs(t, err, ErrMalformedPayload)
			require.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

func FuzzStandardWebhooksVerify(f *testing.F) {
	f.Add(swVectorID, "1614265330", swVectorSig, []byte(swVectorBody))
	f.Add(swVectorID, "+1614265330", "v1,bad v2,x "+swVectorSig, []byte(swVectorBody))
	f.Add(swVectorID, "1614265330", "v1,", []byte(swVectorBody))
	f.Add("", "", "", []byte(nil))
	f.Add("msg.1", "01614265330", "v1a,abc v1,"+strings.TrimPrefix(swVectorSig, "v1,")+",x", []byte(swVectorBody))
	key := Key{Name: "k"}
	var err error
	key.Material, err = StandardWebhooks{}.DecodeKey(swVectorSecret)
	require.NoError(f, err)
	wh, err := standardwebhooks.NewWebhookRaw(key.Material)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		now := time.Unix(swVectorTS, 0)
		if sec, err := strconv.ParseInt(ts, 10, 64); err == nil {
			now = time.Unix(sec, 0) // keep the window out of the way
		}
		_, ours := StandardWebhooks{}.Verify(Request{Header: h, Body: body}, []Key{key}, VerifyOptions{Now: now})
		if ours != nil {
			require.NotEqual(t, "error", Reason(ours))
			require.NotContains(t, ours.Error(), swVectorSecret)
		}
		theirs := wh.VerifyIgnoringTimestamp(body, h)
		require.Equal(t, theirs == nil, ours == nil, "id %q ts %q sig %q: ours %v, library %v", id, ts, sig, ours, theirs)
	})
}

func FuzzStandardWebhooksParse(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "standardwebhooks"))
	require.NoError(f, err)
	for _, e := range entries {
		f.Add(readFixture(f, filepath.Join("standardwebhooks", e.Name())), "msg_1")
	}
	f.Add([]byte(`{"type":"x.dispute.opened","timestamp":"2024-05-14T16:30:00+0700","data":{"amount":-5,"currency":"kwd"}}`), "msg_2")
	f.Fuzz(func(t *testing.T, body []byte, id string) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", "1715678467")
		ev, err := StandardWebhooks{}.Parse(Request{Header: h, Body: body})
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedPayload)
			return
		}
		checkEventInvariants(t, "standardwebhooks", ev)
		require.Equal(t, id, ev.ID)
	})
}
