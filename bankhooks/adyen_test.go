package bankhooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Adyen's published vector (adyen-go-api-library hmacvalidator_test.go,
// also in the Java, Node and .NET libraries).
const (
	adyenVectorKey  = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
	adyenVectorData = "pspReference:originalReference:merchantAccount:reference:1000:EUR:EVENT:true"
	adyenVectorSig  = "ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc="
	// A second hex key for rotation tests.
	adyenOtherKey = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
)

// adyenHandSig computes an item signature without the package: hex-decode
// the key, HMAC-SHA256, standard base64.
func adyenHandSig(t testing.TB, hexKey, data string) string {
	t.Helper()
	k, err := hex.DecodeString(hexKey)
	require.NoError(t, err)
	m := hmac.New(sha256.New, k)
	m.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// adyenTestItem is one notification item as a test writes it.
type adyenTestItem struct {
	psp, orig, merchant, ref string
	value                    string // JSON number text; "" = no value member
	currency                 string
	code, success            string
	eventDate, reason        string
	extra                    string // raw JSON members added to additionalData, e.g. `"cardSummary":"1111"`
	sig                      string // "" = no hmacSignature
}

func (it adyenTestItem) data() string {
	return strings.Join([]string{it.psp, it.orig, it.merchant, it.ref, it.value, it.currency, it.code, it.success}, ":")
}

// signedWith returns it signed by hand with hexKey.
func (it adyenTestItem) signedWith(t testing.TB, hexKey string) adyenTestItem {
	it.sig = adyenHandSig(t, hexKey, it.data())
	return it
}

func (it adyenTestItem) json() string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var ad []string
	if it.sig != "" {
		ad = append(ad, `"hmacSignature":`+q(it.sig))
	}
	if it.extra != "" {
		ad = append(ad, it.extra)
	}
	amount := `"currency":` + q(it.currency)
	if it.value != "" {
		amount = `"value":` + it.value + `,` + amount
	}
	return `{"NotificationRequestItem":{"additionalData":{` + strings.Join(ad, ",") + `},` +
		`"amount":{` + amount + `},"eventCode":` + q(it.code) + `,"eventDate":` + q(it.eventDate) + `,` +
		`"merchantAccountCode":` + q(it.merchant) + `,"merchantReference":` + q(it.ref) + `,` +
		`"originalReference":` + q(it.orig) + `,"pspReference":` + q(it.psp) + `,` +
		`"reason":` + q(it.reason) + `,"success":` + q(it.success) + `}}`
}

func adyenBody(live string, items ...adyenTestItem) []byte {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.json()
	}
	return []byte(`{"live":"` + live + `","notificationItems":[` + strings.Join(parts, ",") + `]}`)
}

var (
	adyenAuth = adyenTestItem{psp: "7914073381342284", merchant: "BankbotTH", ref: "order-1043", value: "5000", currency: "THB",
		code: "AUTHORISATION", success: "true", eventDate: "2026-05-14T16:21:07+07:00", reason: "012345:1111:03/2030",
		extra: `"cardSummary":"1111","cardHolderName":"SOMCHAI JAIDEE"`}
	adyenCapture = adyenTestItem{psp: "8815073381342291", orig: "7914073381342284", merchant: "BankbotTH", ref: "order-1043", value: "5000", currency: "THB",
		code: "CAPTURE", success: "true", eventDate: "2026-05-14T16:25:00+07:00"}
	adyenRefundFailed = adyenTestItem{psp: "9915073381342299", orig: "7914073381342284", merchant: "BankbotTH", ref: "order-1043", value: "2000", currency: "THB",
		code: "REFUND", success: "false", eventDate: "2026-05-15T09:00:00Z", reason: "Insufficient balance on payment"}
)

func adyenKeys(t testing.TB) (Key, Key) {
	return mustKey(t, Adyen{}, "secrets[0]", adyenVectorKey, time.Time{}), mustKey(t, Adyen{}, "secrets[1]", adyenOtherKey, time.Time{})
}

func TestAdyenVector(t *testing.T) {
	key := mustKey(t, Adyen{}, "hmac", adyenVectorKey, time.Time{})
	require.Len(t, key.Material, 32)
	require.Equal(t, adyenVectorSig, adyenHandSig(t, adyenVectorKey, adyenVectorData))
	require.Equal(t, adyenVectorSig, base64.StdEncoding.EncodeToString(hmacSHA256(key.Material, []byte(adyenVectorData))))

	it := adyenTestItem{psp: "pspReference", orig: "originalReference", merchant: "merchantAccount", ref: "reference",
		value: "1000", currency: "EUR", code: "EVENT", success: "true", eventDate: "1970-01-01T00:00:00Z"}
	require.Equal(t, adyenVectorData, it.data())

	t.Run("verify", func(t *testing.T) {
		it := it
		it.sig = adyenVectorSig
		v, err := Adyen{}.Verify(Request{Body: adyenBody("false", it)}, []Key{key}, VerifyOptions{Now: time.Now()})
		require.NoError(t, err)
		require.Equal(t, "hmac", v.Key)
		require.True(t, v.Timestamp.IsZero())
	})
	t.Run("sign", func(t *testing.T) {
		signed, err := Adyen{}.Sign(adyenBody("false", it), []Key{key}, time.Time{}, "")
		require.NoError(t, err)
		require.Equal(t, "application/json", signed.Header.Get("Content-Type"))
		require.Contains(t, string(signed.Body), `"hmacSignature":"`+adyenVectorSig+`"`)
	})
}

func TestAdyenDecodeKey(t *testing.T) {
	tests := []struct {
		name, secret string
		wantLen      int
		wantErr      string
	}{
		{name: "hex", secret: adyenVectorKey, wantLen: 32},
		{name: "lower-case hex with spaces", secret: " " + strings.ToLower(adyenVectorKey) + "\n", wantLen: 32},
		{name: "empty", secret: "", wantErr: "empty"},
		{name: "blank", secret: " \t", wantErr: "empty"},
		{name: "odd length", secret: adyenVectorKey[:63], wantErr: "even number"},
		{name: "not hex", secret: "ZZ" + adyenVectorKey[2:], wantErr: "character 1"},
		{name: "base64 pasted", secret: "c2VjcmV0LWtleS1mb3Itb21pc2UtdGVzdHM=", wantErr: "not hexadecimal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Adyen{}.DecodeKey(tc.secret)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				if s := strings.TrimSpace(tc.secret); s != "" {
					require.NotContains(t, err.Error(), s)
				}
				return
			}
			require.NoError(t, err)
			require.Len(t, got, tc.wantLen)
		})
	}
}

func TestAdyenVerify(t *testing.T) {
	a, b := adyenKeys(t)
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	aExpired := a
	aExpired.Expires = now.Add(-time.Hour)

	auth := adyenAuth.signedWith(t, adyenVectorKey)
	capture := adyenCapture.signedWith(t, adyenVectorKey)
	refund := adyenRefundFailed.signedWith(t, adyenVectorKey)
	tampered := auth
	tampered.value = "500000" // amount changed after signing
	badSig := capture.signedWith(t, adyenOtherKey)
	unsigned := capture
	unsigned.sig = ""
	notB64 := capture
	notB64.sig = "not base64!"
	short := capture
	short.sig = base64.StdEncoding.EncodeToString([]byte("short"))

	tests := []struct {
		name    string
		body    []byte
		keys    []Key
		wantKey string
		wantErr error
	}{
		{name: "one item", body: adyenBody("false", auth), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "three items", body: adyenBody("true", auth, capture, refund), keys: []Key{a}, wantKey: "secrets[0]"},
		{name: "rotation: second configured key", body: adyenBody("false", adyenAuth.signedWith(t, adyenOtherKey)), keys: []Key{a, b}, wantKey: "secrets[1]"},
		{name: "rotation: items signed with different keys", body: adyenBody("false", auth, adyenCapture.signedWith(t, adyenOtherKey)), keys: []Key{a, b}, wantKey: "secrets[0],secrets[1]"},
		{name: "rotation: old key expired, new key signs", body: adyenBody("false", adyenAuth.signedWith(t, adyenOtherKey)), keys: []Key{aExpired, b}, wantKey: "secrets[1]"},
		{name: "only an expired key matches", body: adyenBody("false", auth), keys: []Key{aExpired, b}, wantErr: ErrKeyExpired},
		{name: "wrong key", body: adyenBody("false", auth), keys: []Key{b}, wantErr: ErrSignatureMismatch},
		{name: "no keys", body: adyenBody("false", auth), wantErr: ErrNoActiveKey},
		{name: "only key expired, other signer", body: adyenBody("false", auth), keys: []Key{func() Key { k := b; k.Expires = now; return k }()}, wantErr: ErrNoActiveKey},
		{name: "tampered amount in one item", body: adyenBody("false", tampered), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "tampered amount in the second of three", body: adyenBody("false", capture, tampered, refund), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "one bad item signature refuses the request", body: adyenBody("false", auth, badSig, refund), keys: []Key{a}, wantErr: ErrSignatureMismatch},
		{name: "one unsigned item refuses the request", body: adyenBody("false", auth, unsigned), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "signature not base64", body: adyenBody("false", auth, notB64), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "signature too short", body: adyenBody("false", short), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "zero items", body: []byte(`{"live":"false","notificationItems":[]}`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "no notificationItems", body: []byte(`{"live":"false"}`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "item without NotificationRequestItem", body: []byte(`{"live":"false","notificationItems":[{}]}`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "null item", body: []byte(`{"live":"false","notificationItems":[{"NotificationRequestItem":null}]}`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "signed field of the wrong shape", body: []byte(`{"notificationItems":[{"NotificationRequestItem":{"pspReference":{"x":1},"additionalData":{"hmacSignature":"` + auth.sig + `"}}}]}`), keys: []Key{a}, wantErr: ErrMalformedSignature},
		{name: "not JSON", body: []byte(`pspReference=1&eventCode=AUTHORISATION`), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "trailing data", body: append(adyenBody("false", auth), []byte(`{}`)...), keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "empty body", body: nil, keys: []Key{a}, wantErr: ErrMissingSignature},
		{name: "unsigned field changed still verifies (documented)", body: bytes.Replace(adyenBody("false", auth), []byte(`"reason":"012345:1111:03/2030"`), []byte(`"reason":"edited"`), 1), keys: []Key{a}, wantKey: "secrets[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Request{Body: tc.body}
			v, err := Adyen{}.Verify(r, tc.keys, VerifyOptions{Now: now})
			secretsNotIn(t, err, r, adyenVectorKey, adyenOtherKey, auth.sig)
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

func TestAdyenParseAll(t *testing.T) {
	a, _ := adyenKeys(t)
	body := adyenBody("true", adyenAuth.signedWith(t, adyenVectorKey), adyenCapture.signedWith(t, adyenVectorKey), adyenRefundFailed.signedWith(t, adyenVectorKey))
	_, err := Adyen{}.Verify(Request{Body: body}, []Key{a}, VerifyOptions{Now: time.Now()})
	require.NoError(t, err)
	evs, err := Adyen{}.ParseAll(Request{Body: body})
	require.NoError(t, err)
	require.Equal(t, []Event{
		{Provider: "adyen", ID: "7914073381342284:AUTHORISATION:true", Type: "AUTHORISATION", Kind: KindPaymentSucceeded,
			Amount: 5000, Currency: "THB", Reference: "order-1043", Account: "1111", Counterparty: "SOMCHAI JAIDEE",
			Livemode: true, OccurredAt: time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)},
		{Provider: "adyen", ID: "8815073381342291:CAPTURE:true", Type: "CAPTURE", Kind: KindPaymentSucceeded,
			Amount: 5000, Currency: "THB", Reference: "order-1043",
			Livemode: true, OccurredAt: time.Date(2026, 5, 14, 9, 25, 0, 0, time.UTC)},
		{Provider: "adyen", ID: "9915073381342299:REFUND:false", Type: "REFUND", Kind: KindRefundFailed,
			Amount: 2000, Currency: "THB", Reference: "order-1043", FailureMessage: "Insufficient balance on payment",
			Livemode: true, OccurredAt: time.Date(2026, 5, 15, 9, 0, 0, 0, time.UTC)},
	}, evs)

	first, err := Adyen{}.Parse(Request{Body: body})
	require.NoError(t, err)
	require.Equal(t, evs[0], first)
}

func TestAdyenKindMapping(t *testing.T) {
	tests := []struct {
		code, success string
		want          Kind
	}{
		{"AUTHORISATION", "true", KindPaymentSucceeded},
		{"AUTHORISATION", "false", KindPaymentFailed},
		{"CAPTURE", "true", KindPaymentSucceeded},
		{"CAPTURE", "false", KindPaymentFailed},
		{"CAPTURE_FAILED", "true", KindPaymentFailed},
		{"REFUND", "true", KindRefundSucceeded},
		{"REFUND", "false", KindRefundFailed},
		{"REFUND_FAILED", "true", KindRefundFailed},
		{"REFUNDED_REVERSED", "true", KindRefundFailed},
		{"CANCELLATION", "true", KindOther},
		{"CANCEL_OR_REFUND", "true", KindOther},
		{"CHARGEBACK", "true", KindDisputeOpened},
		{"NOTIFICATION_OF_CHARGEBACK", "true", KindDisputeOpened},
		{"SECOND_CHARGEBACK", "true", KindDisputeOpened},
		{"REPORT_AVAILABLE", "true", KindOther},
		{"authorisation", "true", KindOther}, // event codes are upper case
	}
	for _, tc := range tests {
		t.Run(tc.code+"/"+tc.success, func(t *testing.T) {
			it := adyenTestItem{psp: "P1", code: tc.code, success: tc.success, value: "100", currency: "EUR", reason: "why",
				extra: `"chargebackReasonCode":"10.4"`}
			ev, err := Adyen{}.Parse(Request{Body: adyenBody("false", it)})
			require.NoError(t, err)
			require.Equal(t, tc.want, ev.Kind)
			require.False(t, ev.Livemode)
			checkEventInvariants(t, "adyen", ev)
			switch {
			case tc.want == KindDisputeOpened:
				require.Equal(t, "10.4", ev.FailureCode)
				require.Equal(t, "why", ev.FailureMessage)
			case tc.want.Failed():
				require.Equal(t, "why", ev.FailureMessage)
				require.Empty(t, ev.FailureCode)
			}
		})
	}
}

func TestAdyenUnreadableItems(t *testing.T) {
	good := adyenAuth
	noPSP := adyenCapture
	noPSP.psp = ""
	badCurrency := adyenCapture
	badCurrency.currency = "XYZ"
	floatAmount := adyenRefundFailed
	floatAmount.value = "20.5"
	negative := adyenRefundFailed
	negative.psp, negative.value = "NEG1", "-5"
	badDate := adyenCapture
	badDate.psp, badDate.eventDate = "DATE1", "yesterday"
	badSuccess := adyenCapture
	badSuccess.psp, badSuccess.success = "SUCC1", "maybe"

	body := adyenBody("false", good, noPSP, badCurrency, floatAmount, negative, badDate, badSuccess)
	evs, err := Adyen{}.ParseAll(Request{Body: body})
	require.NoError(t, err)
	require.Len(t, evs, 7)
	require.Equal(t, KindPaymentSucceeded, evs[0].Kind)
	require.False(t, evs[0].Livemode)
	ids := map[string]bool{}
	for i, ev := range evs[1:] {
		require.Equal(t, KindUnreadable, ev.Kind, "item %d", i+1)
		require.NotEmpty(t, ev.FailureMessage)
		require.False(t, ev.Livemode)
		require.Zero(t, ev.Amount)
		require.Equal(t, "adyen", ev.Provider)
		ids[ev.ID] = true
	}
	require.Len(t, ids, 6, "unreadable items have ids of their own")
	require.Equal(t, BodyID(body)+":1", evs[1].ID, "no pspReference: body hash and index")
	require.Equal(t, "8815073381342291:CAPTURE:true", evs[2].ID, "signed fields give the dedupe key")
	require.Contains(t, evs[2].FailureMessage, "currency")
	require.Contains(t, evs[3].FailureMessage, "amount")
	require.Contains(t, evs[4].FailureMessage, "negative")
	require.Contains(t, evs[5].FailureMessage, "eventDate")
	require.Contains(t, evs[6].FailureMessage, "success")

	t.Run("Parse of an unreadable first item is an error", func(t *testing.T) {
		_, err := Adyen{}.Parse(Request{Body: adyenBody("false", badCurrency, good)})
		require.ErrorIs(t, err, ErrMalformedPayload)
	})
	t.Run("null item", func(t *testing.T) {
		evs, err := Adyen{}.ParseAll(Request{Body: []byte(`{"live":"true","notificationItems":[{"NotificationRequestItem":null},` + good.json() + `]}`)})
		require.NoError(t, err)
		require.Equal(t, KindUnreadable, evs[0].Kind)
		require.Equal(t, KindPaymentSucceeded, evs[1].Kind)
	})
}

func TestAdyenParseErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not json":           `<xml/>`,
		"empty":              ``,
		"no items":           `{"live":"false","notificationItems":[]}`,
		"items not an array": `{"live":"false","notificationItems":{}}`,
		"trailing data":      `{"notificationItems":[]} x`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Adyen{}.ParseAll(Request{Body: []byte(body)})
			require.ErrorIs(t, err, ErrMalformedPayload)
			_, err = Adyen{}.Parse(Request{Body: []byte(body)})
			require.ErrorIs(t, err, ErrMalformedPayload)
		})
	}
}

func TestAdyenLivemode(t *testing.T) {
	for live, want := range map[string]bool{"false": false, "FALSE": false, "true": true, "": true, "maybe": true} {
		ev, err := Adyen{}.Parse(Request{Body: adyenBody(live, adyenAuth)})
		require.NoError(t, err)
		require.Equal(t, want, ev.Livemode, "live %q", live)
	}
}

func TestAdyenSignRoundTrip(t *testing.T) {
	a, b := adyenKeys(t)
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	unsigned := adyenBody("false", adyenAuth, adyenCapture, adyenRefundFailed)

	signed, err := Adyen{}.Sign(unsigned, []Key{b, a}, now, "")
	require.NoError(t, err)
	v, err := Adyen{}.Verify(Request{Body: signed.Body}, []Key{a, b}, VerifyOptions{Now: now})
	require.NoError(t, err)
	require.Equal(t, "secrets[1]", v.Key, "Sign uses the first key")
	_, err = Adyen{}.Verify(Request{Body: signed.Body}, []Key{a}, VerifyOptions{Now: now})
	require.ErrorIs(t, err, ErrSignatureMismatch)

	// The signatures are the hand-computed ones, and other content is kept.
	before, err := Adyen{}.ParseAll(Request{Body: unsigned})
	require.NoError(t, err)
	after, err := Adyen{}.ParseAll(Request{Body: signed.Body})
	require.NoError(t, err)
	require.Equal(t, before, after)
	for _, it := range []adyenTestItem{adyenAuth, adyenCapture, adyenRefundFailed} {
		require.Contains(t, string(signed.Body), adyenHandSig(t, adyenOtherKey, it.data()))
	}
	require.Contains(t, string(signed.Body), `"cardHolderName":"SOMCHAI JAIDEE"`)

	// Re-signing replaces the signature.
	again, err := Adyen{}.Sign(signed.Body, []Key{a}, now, "")
	require.NoError(t, err)
	_, err = Adyen{}.Verify(Request{Body: again.Body}, []Key{a}, VerifyOptions{Now: now})
	require.NoError(t, err)

	for name, body := range map[string]string{
		"not json": `nope`, "no items": `{"live":"false"}`, "empty items": `{"notificationItems":[]}`,
		"item not object": `{"notificationItems":[1]}`, "null wrapper": `{"notificationItems":[null]}`,
		"additionalData not object": `{"notificationItems":[{"NotificationRequestItem":{"additionalData":"x"}}]}`,
	} {
		_, err := Adyen{}.Sign([]byte(body), []Key{a}, now, "")
		require.Error(t, err, name)
	}
	_, err = Adyen{}.Sign(unsigned, nil, now, "")
	require.ErrorIs(t, err, ErrNoActiveKey)
}

func TestAdyenSampleRoundTrip(t *testing.T) {
	a, _ := adyenKeys(t)
	now := time.Date(2026, 5, 14, 9, 21, 7, 123456789, time.UTC)
	want := map[string]Kind{
		"AUTHORISATION": KindPaymentSucceeded, "CAPTURE": KindPaymentSucceeded, "REFUND": KindRefundSucceeded,
		"CHARGEBACK": KindDisputeOpened, "AUTHORISATION:failed": KindPaymentFailed,
	}
	types := Adyen{}.SampleTypes()
	require.Equal(t, "AUTHORISATION", types[0])
	require.Len(t, types, len(want))
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			body, err := Adyen{}.Sample(typ, SampleParams{Now: now, Amount: 129900, Currency: "thb"})
			require.NoError(t, err)
			_, err = Adyen{}.Verify(Request{Body: body}, []Key{a}, VerifyOptions{Now: now})
			require.ErrorIs(t, err, ErrMissingSignature, "a sample is unsigned")
			signed, err := Adyen{}.Sign(body, []Key{a}, now, "")
			require.NoError(t, err)
			_, err = Adyen{}.Verify(Request{Body: signed.Body}, []Key{a}, VerifyOptions{Now: now})
			require.NoError(t, err)
			evs, err := Adyen{}.ParseAll(Request{Body: signed.Body})
			require.NoError(t, err)
			require.Len(t, evs, 1)
			ev := evs[0]
			checkEventInvariants(t, "adyen", ev)
			require.Equal(t, want[typ], ev.Kind)
			require.Equal(t, int64(129900), ev.Amount)
			require.Equal(t, "THB", ev.Currency)
			require.False(t, ev.Livemode)
			require.Equal(t, now.Truncate(time.Second), ev.OccurredAt)
		})
	}
	body, err := Adyen{}.Sample("", SampleParams{Now: now, ID: "ABCDEF0123456789"})
	require.NoError(t, err)
	ev, err := Adyen{}.Parse(Request{Body: body})
	require.NoError(t, err)
	require.Equal(t, "ABCDEF0123456789:AUTHORISATION:true", ev.ID)
	require.Equal(t, int64(5000), ev.Amount)

	_, err = Adyen{}.Sample("NOPE", SampleParams{Now: now})
	require.ErrorIs(t, err, ErrUnknownEventType)
	_, err = Adyen{}.Sample("", SampleParams{Now: now, Currency: "XAU"})
	require.Error(t, err)
}

func TestAdyenAck(t *testing.T) {
	var p Provider = Adyen{}
	ack, ok := p.(Acknowledger)
	require.True(t, ok)
	ct, body := ack.Ack()
	require.Equal(t, "text/plain; charset=utf-8", ct)
	require.Equal(t, "[accepted]", string(body))
	_, ok = p.(MultiParser)
	require.True(t, ok)
	require.Equal(t, "adyen", p.Name())
}

// adyenIndependentCheck recomputes every item's signature from body with
// a generic JSON decode and exact member names. It reports false when the
// body is outside what that decode can judge (member names that differ only
// in case, duplicate members, values of other shapes).
func adyenIndependentCheck(t *testing.T, body []byte, hexKey string) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top map[string]any
	if dec.Decode(&top) != nil {
		return false
	}
	items, ok := top["notificationItems"].([]any)
	if !ok || len(items) == 0 {
		return false
	}
	fields := []string{"pspReference", "originalReference", "merchantAccountCode", "merchantReference"}
	str := func(v any) (string, bool) {
		switch v := v.(type) {
		case nil:
			return "", true
		case string:
			return v, true
		case json.Number:
			return string(v), true
		case bool:
			if v {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	for _, w := range items {
		wm, ok := w.(map[string]any)
		if !ok {
			return false
		}
		item, ok := wm["NotificationRequestItem"].(map[string]any)
		if !ok || len(wm) != 1 {
			return false
		}
		for k := range item {
			for _, f := range append(fields, "amount", "eventCode", "success", "additionalData") {
				if k != f && strings.EqualFold(k, f) {
					return false
				}
			}
		}
		var parts []string
		for _, f := range fields {
			s, ok := str(item[f])
			if !ok {
				return false
			}
			parts = append(parts, s)
		}
		amount, _ := item["amount"].(map[string]any)
		if item["amount"] != nil && amount == nil || len(amount) > 2 {
			return false
		}
		v, ok1 := str(amount["value"])
		c, ok2 := str(amount["currency"])
		code, ok3 := str(item["eventCode"])
		succ, ok4 := str(item["success"])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return false
		}
		parts = append(parts, v, c, code, succ)
		ad, _ := item["additionalData"].(map[string]any)
		sig, _ := ad["hmacSignature"].(string)
		require.Equal(t, adyenHandSig(t, hexKey, strings.Join(parts, ":")), strings.TrimSpace(sig))
	}
	return true
}

func FuzzAdyenVerify(f *testing.F) {
	f.Add(adyenBody("false", adyenAuth.signedWith(f, adyenVectorKey)))
	f.Add(adyenBody("true", adyenAuth.signedWith(f, adyenVectorKey), adyenCapture.signedWith(f, adyenVectorKey), adyenRefundFailed.signedWith(f, adyenVectorKey)))
	f.Add(adyenBody("false", adyenAuth.signedWith(f, adyenOtherKey)))
	f.Add(adyenBody("false", adyenCapture))
	f.Add([]byte(`{"notificationItems":[{"NotificationRequestItem":{"success":true,"amount":{"value":"1"},"additionalData":{"hmacSignature":"` + adyenVectorSig + `"}}}]}`))
	f.Add([]byte(`{"notificationItems":[]}`))
	f.Add([]byte(`[]`))
	key := mustKey(f, Adyen{}, "k", adyenVectorKey, time.Time{})
	other := mustKey(f, Adyen{}, "other", adyenOtherKey, time.Time{})
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := Request{Body: body}
		v, err := Adyen{}.Verify(r, []Key{key}, VerifyOptions{Now: now})
		if err != nil {
			require.NotEqual(t, "error", Reason(err), "unclassified error %v", err)
			require.NotContains(t, err.Error(), adyenVectorKey)
			require.NotContains(t, err.Error(), string(key.Material))
			return
		}
		require.Equal(t, "k", v.Key)
		// Never verified without the key: another key refuses the same body.
		_, err = Adyen{}.Verify(r, []Key{other}, VerifyOptions{Now: now})
		require.Error(t, err)
		adyenIndependentCheck(t, body, adyenVectorKey)
		// A verified body always parses into valid events.
		evs, err := Adyen{}.ParseAll(r)
		require.NoError(t, err)
		require.NotEmpty(t, evs)
	})
}

func FuzzAdyenParse(f *testing.F) {
	f.Add(adyenBody("false", adyenAuth))
	f.Add(adyenBody("true", adyenAuth, adyenCapture, adyenRefundFailed))
	f.Add([]byte(`{"live":"true","notificationItems":[{"NotificationRequestItem":null},{"NotificationRequestItem":{"pspReference":"P","eventCode":"CHARGEBACK","success":"true","amount":{"value":-1,"currency":"eur"}}}]}`))
	f.Add([]byte(`{"notificationItems":[{"NotificationRequestItem":{"pspReference":"P","eventCode":"REFUND","success":"false","amount":{"value":1e3,"currency":"JPY"},"eventDate":"2026-01-01T00:00:00Z"}}]}`))
	for _, typ := range (Adyen{}).SampleTypes() {
		b, err := Adyen{}.Sample(typ, SampleParams{Now: time.Unix(1700000000, 0)})
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Adyen{}.ParseAll(Request{Body: body})
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedPayload)
			return
		}
		require.NotEmpty(t, evs)
		for _, ev := range evs {
			require.True(t, ev.Kind.Valid(), "kind %q", ev.Kind)
			require.GreaterOrEqual(t, ev.Amount, int64(0))
			require.NotEmpty(t, ev.ID)
			require.Equal(t, "adyen", ev.Provider)
			if ev.Kind != KindUnreadable {
				checkEventInvariants(t, "adyen", ev)
			}
		}
		first, err := Adyen{}.Parse(Request{Body: body})
		if evs[0].Kind == KindUnreadable {
			require.ErrorIs(t, err, ErrMalformedPayload)
		} else {
			require.NoError(t, err)
			require.Equal(t, evs[0], first)
		}
	})
}
