package config

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/bankbot/bankbot/bankhooks"
)

// genericConfig is a valid config with one generic source "bank" whose
// source block (indented under sources.bank) is src.
func genericConfig(src string) string {
	return `
sources:
  bank:
    provider: generic
` + src + `
robots:
  preview:
    type: console
routes:
  - name: all
    robot: preview
`
}

// buildGeneric loads yaml (one generic source "bank") and returns its
// provider and decoded keys, as the runtime builds them.
func buildGeneric(t *testing.T, yaml string) (bankhooks.Provider, []bankhooks.Key) {
	t.Helper()
	cfg, err := parse(t, yaml, nil)
	require.NoError(t, err)
	src := cfg.Sources["bank"]
	p, err := src.BuildProvider()
	require.NoError(t, err)
	require.Equal(t, "generic", p.Name())
	var keys []bankhooks.Key
	for i, s := range src.Secrets {
		m, err := p.DecodeKey(s.Value.Reveal())
		require.NoError(t, err)
		keys = append(keys, bankhooks.Key{Name: "secrets[" + strconv.Itoa(i) + "]", Material: m, Expires: s.ExpiresAt})
	}
	return p, keys
}

func readBankhooksFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "bankhooks", "testdata", name))
	require.NoError(t, err)
	return b
}

// TestGenericSchemesFromYAML configures the schemes of Stripe, Standard
// Webhooks, Airwallex and GitHub as generic sources, in YAML only, and
// verifies signatures made independently of the engine: by stripe-go, the
// Standard Webhooks library, the built-in providers' Sign (for Stripe and
// Standard Webhooks), and crypto/hmac (Airwallex, GitHub).
func TestGenericSchemesFromYAML(t *testing.T) {
	t.Run("stripe", func(t *testing.T) {
		p, keys := buildGeneric(t, genericConfig(`
    secrets:
      - value: whsec_test_secret
      - value: whsec_rolled_7f3a9c2e1b4d
    signature:
      header: Stripe-Signature
      format: kv
      algorithm: hmac-sha256
      signed: "{timestamp}.{body}"
    event:
      id: id
      type: type
      kind:
        path: type
        map:
          payment_intent.succeeded: payment.succeeded
          payment_intent.payment_failed: payment.failed
      amount: data.object.amount
      amount_unit: minor
      currency: data.object.currency
      reference: data.object.id
      description: data.object.description
      occurred_at: created
`))
		body := readBankhooksFixture(t, filepath.Join("stripe", "payment_intent_succeeded.json"))
		ts := time.Unix(1715678467, 0)
		for i, secret := range []string{"whsec_test_secret", "whsec_rolled_7f3a9c2e1b4d"} {
			sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: ts})
			r := bankhooks.Request{Header: http.Header{"Stripe-Signature": {sp.Header}}, Body: body}
			v, err := p.Verify(r, keys, bankhooks.VerifyOptions{Now: ts.Add(time.Minute)})
			require.NoError(t, err)
			require.Equal(t, keys[i].Name, v.Key)
			_, err = p.Verify(r, keys, bankhooks.VerifyOptions{Now: ts.Add(10 * time.Minute)})
			require.ErrorIs(t, err, bankhooks.ErrTimestampOutOfWindow)
		}
		// The built-in provider signs with both keys (a rolled secret).
		stripeKeys := []bankhooks.Key{{Name: "a", Material: []byte("whsec_test_secret")}, {Name: "b", Material: []byte("whsec_rolled_7f3a9c2e1b4d")}}
		signed, err := bankhooks.Stripe{}.Sign(body, stripeKeys, ts, "")
		require.NoError(t, err)
		_, err = p.Verify(bankhooks.Request{Header: signed.Header, Body: body}, keys[1:], bankhooks.VerifyOptions{Now: ts})
		require.NoError(t, err)
		tampered := append([]byte(nil), body...)
		tampered[len(tampered)-2] = ' '
		_, err = p.Verify(bankhooks.Request{Header: signed.Header, Body: tampered}, keys, bankhooks.VerifyOptions{Now: ts})
		require.ErrorIs(t, err, bankhooks.ErrSignatureMismatch)

		ev, err := p.Parse(bankhooks.Request{Header: signed.Header, Body: body})
		require.NoError(t, err)
		require.Equal(t, "evt_3PGx1aKXyZ2bC3dE0aBcDeF1", ev.ID)
		require.Equal(t, bankhooks.KindPaymentSucceeded, ev.Kind)
		require.Equal(t, int64(150000), ev.Amount)
		require.Equal(t, "THB", ev.Currency)
		require.Equal(t, "pi_3PGx1aKXyZ2bC3dE0aBcDeF0", ev.Reference)
		require.Equal(t, time.Unix(1715678467, 0).UTC(), ev.OccurredAt)
	})

	t.Run("standardwebhooks", func(t *testing.T) {
		const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		p, keys := buildGeneric(t, genericConfig(`
    secrets:
      - value: `+secret+`
    signature:
      header: webhook-signature
      format: space-list
      algorithm: hmac-sha256
      key_encoding: whsec
      encoding: base64
      signed: "{id}.{timestamp}.{body}"
      timestamp_header: webhook-timestamp
      id_header: webhook-id
    event:
      type: type
      kind: {path: type, map: {payment.succeeded: payment.succeeded}}
      amount: data.amount
      amount_unit: minor
      currency: data.currency
`))
		// The library's published vector.
		h := http.Header{}
		h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
		h.Set("webhook-timestamp", "1614265330")
		h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		_, err := p.Verify(bankhooks.Request{Header: h, Body: []byte(`{"test": 2432232314}`)}, keys, bankhooks.VerifyOptions{Now: time.Unix(1614265330, 0)})
		require.NoError(t, err)

		body := readBankhooksFixture(t, filepath.Join("standardwebhooks", "payment_succeeded.json"))
		now := time.Unix(1715678467, 0)
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		sig, err := wh.Sign("msg_2fGv6yWZ1qk0pQ8sT3uV", now, body)
		require.NoError(t, err)
		h = http.Header{}
		h.Set("webhook-id", "msg_2fGv6yWZ1qk0pQ8sT3uV")
		h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		h.Set("webhook-signature", "v1a,ignored "+sig)
		_, err = p.Verify(bankhooks.Request{Header: h, Body: body}, keys, bankhooks.VerifyOptions{Now: now})
		require.NoError(t, err)
		h.Set("webhook-id", "msg_other")
		_, err = p.Verify(bankhooks.Request{Header: h, Body: body}, keys, bankhooks.VerifyOptions{Now: now})
		require.ErrorIs(t, err, bankhooks.ErrSignatureMismatch)

		swKey, err := bankhooks.StandardWebhooks{}.DecodeKey(secret)
		require.NoError(t, err)
		signed, err := bankhooks.StandardWebhooks{}.Sign(body, []bankhooks.Key{{Name: "k", Material: swKey}}, now, "msg_1")
		require.NoError(t, err)
		_, err = p.Verify(bankhooks.Request{Header: signed.Header, Body: body}, keys, bankhooks.VerifyOptions{Now: now})
		require.NoError(t, err)
		ev, err := p.Parse(bankhooks.Request{Header: signed.Header, Body: body})
		require.NoError(t, err)
		require.Equal(t, "msg_1", ev.ID, "no id path: the id header")
		require.Equal(t, bankhooks.KindPaymentSucceeded, ev.Kind)
	})

	t.Run("airwallex", func(t *testing.T) {
		const secret = "airwallex-webhook-secret"
		p, keys := buildGeneric(t, genericConfig(`
    secrets:
      - value: `+secret+`
    signature:
      header: x-signature
      algorithm: hmac-sha256
      encoding: hex
      signed: "{timestamp}{body}"
      timestamp_header: x-timestamp
      timestamp_unit: ms
    event:
      id: id
      kind: {path: name, map: {payment_attempt.authorized: payment.pending, payment_intent.succeeded: payment.succeeded}}
      amount: data.object.amount
      amount_unit: major
      currency: data.object.currency
      occurred_at: created_at
`))
		body := []byte(`{"id":"evt_awx_1","name":"payment_intent.succeeded","created_at":"2024-05-14T09:21:07Z","data":{"object":{"amount":1234.5,"currency":"HKD"}}}`)
		now := time.UnixMilli(1715678467123)
		ts := strconv.FormatInt(now.UnixMilli(), 10)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts))
		m.Write(body)
		r := bankhooks.Request{Header: http.Header{"X-Signature": {hex.EncodeToString(m.Sum(nil))}, "X-Timestamp": {ts}}, Body: body}
		v, err := p.Verify(r, keys, bankhooks.VerifyOptions{Now: now})
		require.NoError(t, err)
		require.Equal(t, now.UTC(), v.Timestamp)
		_, err = p.Verify(r, keys, bankhooks.VerifyOptions{Now: now.Add(-6 * time.Minute)})
		require.ErrorIs(t, err, bankhooks.ErrTimestampOutOfWindow, "a future timestamp is refused")
		ev, err := p.Parse(r)
		require.NoError(t, err)
		require.Equal(t, int64(123450), ev.Amount, "major 1234.5 HKD read exactly")
		require.Equal(t, bankhooks.KindPaymentSucceeded, ev.Kind)
		require.Equal(t, "evt_awx_1", ev.ID)
	})

	t.Run("github body hmac", func(t *testing.T) {
		const secret = "It's a Secret to Everybody"
		p, keys := buildGeneric(t, genericConfig(`
    secrets:
      - value: "`+secret+`"
      - value: old-secret
        expires: 2020-01-01T00:00:00Z
    signature:
      header: X-Hub-Signature-256
      prefix: "sha256="
      algorithm: hmac-sha256
      signed: "{body}"
      id_header: X-GitHub-Delivery
    event:
      kind: {path: action, map: {completed: payment.succeeded}}
`))
		// GitHub's documented example (docs.github.com, "Validating webhook
		// deliveries"): secret "It's a Secret to Everybody", payload
		// "Hello, World!".
		body := []byte("Hello, World!")
		const want = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		require.Equal(t, want, hex.EncodeToString(m.Sum(nil)))
		now := time.Now()
		r := bankhooks.Request{Header: http.Header{"X-Hub-Signature-256": {"sha256=" + want}}, Body: body}
		_, err := p.Verify(r, keys, bankhooks.VerifyOptions{Now: now})
		require.NoError(t, err)
		r.Header.Set("X-Hub-Signature-256", want)
		_, err = p.Verify(r, keys, bankhooks.VerifyOptions{Now: now})
		require.ErrorIs(t, err, bankhooks.ErrMalformedSignature, "the prefix is required")

		// A signature by the expired key is reported as such.
		m = hmac.New(sha256.New, []byte("old-secret"))
		m.Write(body)
		r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		_, err = p.Verify(r, keys, bankhooks.VerifyOptions{Now: now})
		require.ErrorIs(t, err, bankhooks.ErrKeyExpired)
		require.Equal(t, "expired_key", bankhooks.Reason(err))

		// Not JSON: the event is unreadable (ErrMalformedPayload), not refused.
		_, err = p.Parse(r)
		require.ErrorIs(t, err, bankhooks.ErrMalformedPayload)
		jb := []byte(`{"action":"completed"}`)
		ev, err := p.Parse(bankhooks.Request{Header: http.Header{"X-Github-Delivery": {"d-1"}}, Body: jb})
		require.NoError(t, err)
		require.Equal(t, "d-1", ev.ID)
		ev, err = p.Parse(bankhooks.Request{Header: http.Header{}, Body: jb})
		require.NoError(t, err)
		require.Equal(t, bankhooks.BodyID(jb), ev.ID)
	})
}

func TestGenericAlgorithmNone(t *testing.T) {
	yaml := genericConfig(`
    allow_ips: [203.0.113.0/24]
    signature:
      algorithm: none
    event:
      id: txn_id
`)
	cfg, err := parse(t, yaml, nil)
	require.NoError(t, err, "none with allow_ips and no secrets is valid")
	p, err := cfg.Sources["bank"].BuildProvider()
	require.NoError(t, err)
	_, err = p.Verify(bankhooks.Request{Body: []byte(`{}`)}, nil, bankhooks.VerifyOptions{Now: time.Now()})
	require.NoError(t, err)
}

// TestGenericConfigProblems: what config check says for each mistake in a
// generic source, at its key path.
func TestGenericConfigProblems(t *testing.T) {
	const okSig = `
    secrets: [{value: s3cret}]
    signature:
      header: X-Sig
      algorithm: hmac-sha256
      signed: "{body}"
`
	const okEvent = `
    event:
      id: id
`
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"no signature or event", "    secrets: [{value: s3cret}]\n",
			[]string{"sources.bank.signature: required for provider: generic", "sources.bank.event: required for provider: generic"}},
		{"unknown algorithm", strings.Replace(okSig, "hmac-sha256", "md5", 1) + okEvent,
			[]string{`sources.bank.signature.algorithm: unknown "md5" (one of hmac-sha256, hmac-sha512, sha256-digest, sha512-digest, static-token, none)`}},
		{"no algorithm", strings.Replace(okSig, "algorithm: hmac-sha256", "format: plain", 1) + okEvent,
			[]string{"sources.bank.signature.algorithm: required"}},
		{"no header nor body_field", strings.Replace(okSig, "header: X-Sig", "format: plain", 1) + okEvent,
			[]string{"sources.bank.signature.header: give header"}},
		{"header and body_field", strings.Replace(okSig, "header: X-Sig", "header: X-Sig\n      body_field: sig", 1) + okEvent,
			[]string{"sources.bank.signature.body_field: give header or body_field, not both"}},
		{"unknown format", strings.Replace(okSig, "header: X-Sig", "header: X-Sig\n      format: csv", 1) + okEvent,
			[]string{`sources.bank.signature.format: unknown "csv" (one of plain, comma-list, space-list, kv)`}},
		{"timestamp without a source", strings.Replace(okSig, `"{body}"`, `"{timestamp}.{body}"`, 1) + okEvent,
			[]string{"sources.bank.signature.signed: {timestamp} used but no timestamp_header and format is not kv"}},
		{"timestamp header not signed", strings.Replace(okSig, "header: X-Sig", "header: X-Sig\n      timestamp_header: X-Time", 1) + okEvent,
			[]string{"sources.bank.signature.timestamp_header: set but {timestamp} is not in signed"}},
		{"secret with hmac", strings.Replace(okSig, `"{body}"`, `"{body}{secret}"`, 1) + okEvent,
			[]string{"sources.bank.signature.signed: {secret} is only for the digest algorithms"}},
		{"digest without secret", strings.Replace(okSig, "hmac-sha256", "sha512-digest", 1) + okEvent,
			[]string{"sources.bank.signature.signed: sha512-digest needs {secret}"}},
		{"unknown placeholder", strings.Replace(okSig, `"{body}"`, `"{ts}.{body}"`, 1) + okEvent,
			[]string{"sources.bank.signature.signed: unknown placeholder {ts}"}},
		{"unknown key encoding", strings.Replace(okSig, "header: X-Sig", "header: X-Sig\n      key_encoding: b64", 1) + okEvent,
			[]string{`sources.bank.signature.key_encoding: unknown "b64" (one of raw, base64, hex, whsec)`}},
		{"secret not hex", strings.Replace(okSig, "header: X-Sig", "header: X-Sig\n      key_encoding: hex", 1) + okEvent,
			[]string{"sources.bank.secrets[0].value: generic: secret is not hex"}},
		{"typo in a signature key", strings.Replace(okSig, "algorithm:", "algoritm:", 1) + okEvent,
			[]string{`sources.bank.signature.algoritm: unknown key (did you mean "algorithm"?)`}},
		{"none without allow_ips", "    signature:\n      algorithm: none\n" + okEvent,
			[]string{"sources.bank.signature.algorithm: none verifies nothing: it is only accepted together with a non-empty allow_ips"}},
		{"none with a header", "    allow_ips: [10.0.0.1]\n    signature:\n      algorithm: none\n      header: X-Sig\n" + okEvent,
			[]string{"sources.bank.signature.header: not used with algorithm none"}},
		{"amount without unit and currency", okSig + okEvent + "      amount: data.amount\n",
			[]string{"sources.bank.event.amount_unit: required with amount", "sources.bank.event.currency: required with amount"}},
		{"bad amount unit", okSig + okEvent + "      amount: data.amount\n      amount_unit: cents\n      currency: data.currency\n",
			[]string{`sources.bank.event.amount_unit: unknown "cents" (one of minor, major)`}},
		{"kind value not canonical", okSig + okEvent + "      kind: {path: status, map: {SUCCESS: paid}}\n",
			[]string{`sources.bank.event.kind.map.success: "paid" is not a canonical kind`}},
		{"kind map without path", okSig + okEvent + "      kind: {map: {SUCCESS: payment.succeeded}}\n",
			[]string{"sources.bank.event.kind.path: required with kind.map"}},
		{"bad path", okSig + "    event:\n      id: data[0].id\n",
			[]string{`sources.bank.event.id: "data[0].id" is not a simple dotted JSON path`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, genericConfig(tc.src), nil)
			require.Error(t, err)
			var ps Problems
			require.ErrorAs(t, err, &ps)
			for _, w := range tc.want {
				found := false
				for _, line := range ps.Lines() {
					if strings.HasPrefix(line, w) {
						found = true
					}
				}
				require.True(t, found, "want a line starting with %q in:\n%s", w, err)
			}
		})
	}
	t.Run("signature block on a built-in provider", func(t *testing.T) {
		yaml := strings.Replace(base(""), "provider: omise", "provider: omise\n    signature: {header: X}", 1)
		_, err := parse(t, yaml, nil)
		require.ErrorContains(t, err, "sources.opn: signature and event are only for provider: generic")
	})
}

func TestGenericSimulateRoundTrip(t *testing.T) {
	p, keys := buildGeneric(t, genericConfig(`
    secrets: [{value: s3cret}]
    signature:
      body_field: meta.signature
      algorithm: sha512-digest
      signed: "{json:data.txn_id}{json:data.amount}{secret}"
    event:
      id: data.txn_id
      kind: {path: data.status, map: {SUCCESS: payment.succeeded, FAILED: payment.failed}}
      amount: data.amount
      amount_unit: major
      currency: data.currency
      reference: data.reference
      failure_code: data.error.code
      occurred_at: data.paid_at
`))
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	for _, typ := range p.SampleTypes() {
		body, err := p.Sample(typ, bankhooks.SampleParams{Now: now, ID: "txn-1", Amount: 123456, Currency: "IDR"})
		require.NoError(t, err)
		s, err := p.Sign(body, keys, now, "")
		require.NoError(t, err)
		r := bankhooks.Request{Header: s.Header, Body: s.Body}
		_, err = p.Verify(r, keys, bankhooks.VerifyOptions{Now: now})
		require.NoError(t, err, "%s", s.Body)
		ev, err := p.Parse(r)
		require.NoError(t, err)
		require.Equal(t, "txn-1", ev.ID)
		require.Equal(t, int64(123456), ev.Amount)
		require.Equal(t, "IDR", ev.Currency)
		require.True(t, ev.OccurredAt.Equal(now))
		if typ == "failed" {
			require.Equal(t, bankhooks.KindPaymentFailed, ev.Kind)
			require.NotEmpty(t, ev.FailureCode)
		} else {
			require.Equal(t, bankhooks.KindPaymentSucceeded, ev.Kind)
		}
	}
	require.Equal(t, "success", p.SampleTypes()[0])
}
