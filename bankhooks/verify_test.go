package bankhooks

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// providerCase is one built-in provider with secrets in its own format.
type providerCase struct {
	p                Provider
	secretA, secretB string
}

func providerCases() []providerCase {
	return []providerCase{
		{Omise{}, "c2VjcmV0LWtleS1mb3Itb21pc2UtdGVzdHM=", base64.StdEncoding.EncodeToString([]byte("second-omise-secret-0123456789"))},
		{Stripe{}, "whsec_test_secret", "whsec_rolled_7f3a9c2e1b4d"},
		{StandardWebhooks{}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-24-byte-secret!!"))},
	}
}

// mustKey decodes secret with the provider and names the key.
func mustKey(t testing.TB, p Provider, name, secret string, expires time.Time) Key {
	t.Helper()
	m, err := p.DecodeKey(secret)
	require.NoError(t, err)
	return Key{Name: name, Material: m, Expires: expires}
}

// signedRequest signs body with keys at ts the way the provider would.
func signedRequest(t testing.TB, p Provider, body []byte, keys []Key, ts time.Time) Request {
	t.Helper()
	hSigned, err := p.Sign(body, keys, ts, "msg_2fGv6yWZ1qk0pQ8sT3uV")
	h := hSigned.Header
	require.NoError(t, err)
	return Request{Header: h, Body: body}
}

// secretsNotIn fails if err's text contains a signature header value or
// secret material.
func secretsNotIn(t *testing.T, err error, r Request, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, vs := range r.Header {
		for _, v := range vs {
			for _, part := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '=' }) {
				if len(part) >= 16 {
					require.NotContains(t, msg, part, "error leaks a header value")
				}
			}
		}
	}
	for _, s := range secrets {
		require.NotContains(t, msg, s, "error leaks a secret")
	}
}

func TestVerifyCommon(t *testing.T) {
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	body := []byte(`{"id":"evt_test_webhook","object":"event"}`)

	for _, pc := range providerCases() {
		t.Run(pc.p.Name(), func(t *testing.T) {
			p := pc.p
			a := mustKey(t, p, "secrets[0]", pc.secretA, time.Time{})
			b := mustKey(t, p, "secrets[1]", pc.secretB, time.Time{})
			aExpired := a
			aExpired.Expires = now.Add(-time.Hour)
			aExpiresNow := a
			aExpiresNow.Expires = now
			aLater := a
			aLater.Expires = now.Add(time.Hour)

			tests := []struct {
				name    string
				signers []Key
				keys    []Key
				signAt  time.Time
				body    []byte // tampered body, when set
				skew    time.Duration
				wantKey string
				wantErr error
			}{
				{name: "one key", signers: []Key{a}, keys: []Key{a}, signAt: now, wantKey: "secrets[0]"},
				{name: "second configured key matches", signers: []Key{b}, keys: []Key{a, b}, signAt: now, wantKey: "secrets[1]"},
				{name: "two signatures, new key only", signers: []Key{a, b}, keys: []Key{b}, signAt: now, wantKey: "secrets[1]"},
				{name: "two signatures, old key only", signers: []Key{a, b}, keys: []Key{a}, signAt: now, wantKey: "secrets[0]"},
				{name: "key expiring later", signers: []Key{a}, keys: []Key{aLater}, signAt: now, wantKey: "secrets[0]"},
				{name: "rotation: old key expired, new key signs", signers: []Key{b}, keys: []Key{aExpired, b}, signAt: now, wantKey: "secrets[1]"},
				{name: "rotation: only the expired key signs", signers: []Key{a}, keys: []Key{aExpired, b}, signAt: now, wantErr: ErrKeyExpired},
				{name: "only key expired and matches", signers: []Key{a}, keys: []Key{aExpired}, signAt: now, wantErr: ErrKeyExpired},
				{name: "expiry instant is not active", signers: []Key{a}, keys: []Key{aExpiresNow}, signAt: now, wantErr: ErrKeyExpired},
				{name: "only key expired, other signer", signers: []Key{b}, keys: []Key{aExpired}, signAt: now, wantErr: ErrNoActiveKey},
				{name: "no keys", signers: []Key{a}, keys: nil, signAt: now, wantErr: ErrNoActiveKey},
				{name: "empty key material is never used", signers: []Key{a}, keys: []Key{{Name: "empty"}}, signAt: now, wantErr: ErrNoActiveKey},
				{name: "wrong key", signers: []Key{b}, keys: []Key{a}, signAt: now, wantErr: ErrSignatureMismatch},
				{name: "tampered body", signers: []Key{a}, keys: []Key{a}, signAt: now, body: []byte(`{"id":"evt_test_webhook","object":"event","amount":1}`), wantErr: ErrSignatureMismatch},
				{name: "300s old is inside default window", signers: []Key{a}, keys: []Key{a}, signAt: now.Add(-300 * time.Second), wantKey: "secrets[0]"},
				{name: "301s old with valid MAC is stale", signers: []Key{a}, keys: []Key{a}, signAt: now.Add(-301 * time.Second), wantErr: ErrTimestampOutOfWindow},
				{name: "301s in the future is rejected", signers: []Key{a}, keys: []Key{a}, signAt: now.Add(301 * time.Second), wantErr: ErrTimestampOutOfWindow},
				{name: "300s in the future is accepted", signers: []Key{a}, keys: []Key{a}, signAt: now.Add(300 * time.Second), wantKey: "secrets[0]"},
				{name: "custom skew widens the window", signers: []Key{a}, keys: []Key{a}, signAt: now.Add(-9 * time.Minute), skew: 10 * time.Minute, wantKey: "secrets[0]"},
				{name: "custom skew narrows the window", signers: []Key{a}, keys: []Key{a}, signAt: now.Add(-61 * time.Second), skew: time.Minute, wantErr: ErrTimestampOutOfWindow},
				{name: "stale beats expired key", signers: []Key{a}, keys: []Key{aExpired}, signAt: now.Add(-time.Hour), wantErr: ErrTimestampOutOfWindow},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r := signedRequest(t, p, body, tc.signers, tc.signAt)
					if tc.body != nil {
						r.Body = tc.body
					}
					v, err := p.Verify(r, tc.keys, VerifyOptions{Now: now, MaxSkew: tc.skew})
					secretsNotIn(t, err, r, pc.secretA, pc.secretB)
					if tc.wantErr != nil {
						require.ErrorIs(t, err, tc.wantErr)
						require.NotEqual(t, "error", Reason(err))
						return
					}
					require.NoError(t, err)
					require.Equal(t, tc.wantKey, v.Key)
					require.Equal(t, tc.signAt.Unix(), v.Timestamp.Unix())
				})
			}
		})
	}
}

func TestVerifyMissingHeaders(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, pc := range providerCases() {
		t.Run(pc.p.Name(), func(t *testing.T) {
			key := mustKey(t, pc.p, "k", pc.secretA, time.Time{})
			_, err := pc.p.Verify(Request{Header: http.Header{}, Body: []byte(`{}`)}, []Key{key}, VerifyOptions{Now: now})
			require.ErrorIs(t, err, ErrMissingSignature)
			_, err = pc.p.Verify(Request{Body: []byte(`{}`)}, []Key{key}, VerifyOptions{Now: now})
			require.ErrorIs(t, err, ErrMissingSignature, "nil header map")
		})
	}
}

func TestSignRefusesBadKeys(t *testing.T) {
	for _, pc := range providerCases() {
		t.Run(pc.p.Name(), func(t *testing.T) {
			_, err := pc.p.Sign([]byte(`{}`), nil, time.Unix(1700000000, 0), "msg_1")
			require.ErrorIs(t, err, ErrNoActiveKey)
			_, err = pc.p.Sign([]byte(`{}`), []Key{{Name: "empty"}}, time.Unix(1700000000, 0), "msg_1")
			require.Error(t, err)
		})
	}
}

// TestSampleRoundTrip signs every sample type with one and two keys,
// verifies and parses it, and checks the canonical fields.
func TestSampleRoundTrip(t *testing.T) {
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	wantKind := map[string]Kind{
		"omise/charge.complete":                KindPaymentSucceeded,
		"omise/charge.complete:failed":         KindPaymentFailed,
		"omise/refund.create":                  KindRefundSucceeded,
		"omise/transfer.pay":                   KindTransferSucceeded,
		"omise/transfer.fail":                  KindTransferFailed,
		"omise/linked_account.complete":        KindAccountLinked,
		"omise/linked_account.complete:failed": KindAccountLinkFailed,
		"omise/dispute.create":                 KindDisputeOpened,
		"stripe/payment_intent.succeeded":      KindPaymentSucceeded,
		"stripe/payment_intent.payment_failed": KindPaymentFailed,
		"stripe/charge.refunded":               KindRefundSucceeded,
		"stripe/payout.paid":                   KindTransferSucceeded,
		"stripe/payout.failed":                 KindTransferFailed,
		"standardwebhooks/payment.succeeded":   KindPaymentSucceeded,
		"standardwebhooks/payment.failed":      KindPaymentFailed,
	}
	seen := 0
	for _, pc := range providerCases() {
		p := pc.p
		a := mustKey(t, p, "a", pc.secretA, time.Time{})
		b := mustKey(t, p, "b", pc.secretB, time.Time{})
		for _, typ := range p.SampleTypes() {
			want, ok := wantKind[p.Name()+"/"+typ]
			require.True(t, ok, "sample type %s/%s has no expected kind", p.Name(), typ)
			seen++
			for _, signers := range [][]Key{{a}, {a, b}} {
				t.Run(p.Name()+"/"+typ+"/"+strings.Repeat("k", len(signers)), func(t *testing.T) {
					body, err := p.Sample(typ, SampleParams{Now: now, ID: "evt_fixed_1", Amount: 123456, Currency: "thb"})
					require.NoError(t, err)
					r := signedRequest(t, p, body, signers, now)
					v, err := p.Verify(r, []Key{b}, VerifyOptions{Now: now.Add(2 * time.Second)})
					if len(signers) == 1 {
						require.ErrorIs(t, err, ErrSignatureMismatch)
						v, err = p.Verify(r, []Key{a}, VerifyOptions{Now: now.Add(2 * time.Second)})
					}
					require.NoError(t, err)
					require.NotEmpty(t, v.Key)

					ev, err := p.Parse(r)
					require.NoError(t, err)
					require.Equal(t, p.Name(), ev.Provider)
					require.Equal(t, want, ev.Kind)
					if want == KindAccountLinked || want == KindAccountLinkFailed {
						// Linking an account moves no money.
						require.Zero(t, ev.Amount)
						require.Empty(t, ev.Currency)
					} else {
						require.Equal(t, int64(123456), ev.Amount)
						require.Equal(t, "THB", ev.Currency)
					}
					require.False(t, ev.Livemode)
					require.True(t, ev.OccurredAt.Equal(now), "occurred %s", ev.OccurredAt)
					if p.Name() != "standardwebhooks" {
						require.Equal(t, "evt_fixed_1", ev.ID)
					} else {
						require.Equal(t, "msg_2fGv6yWZ1qk0pQ8sT3uV", ev.ID)
					}
					if want.Failed() {
						require.NotEmpty(t, ev.FailureCode)
					}
				})
			}
		}
		t.Run(p.Name()+"/default type", func(t *testing.T) {
			def, err := p.Sample("", SampleParams{Now: now})
			require.NoError(t, err)
			first, err := p.Sample(p.SampleTypes()[0], SampleParams{Now: now})
			require.NoError(t, err)
			require.JSONEq(t, string(first), string(def))
			ev, err := p.Parse(Request{Header: http.Header{"Webhook-Id": {"msg_x"}}, Body: def})
			require.NoError(t, err)
			require.Equal(t, int64(5000), ev.Amount)
			require.Equal(t, "THB", ev.Currency)
		})
		t.Run(p.Name()+"/unknown type", func(t *testing.T) {
			_, err := p.Sample("no.such.event", SampleParams{Now: now})
			require.ErrorIs(t, err, ErrUnknownEventType)
		})
		t.Run(p.Name()+"/bad params", func(t *testing.T) {
			_, err := p.Sample("", SampleParams{Now: now, Amount: -1})
			require.ErrorIs(t, err, ErrInvalidAmount)
			_, err = p.Sample("", SampleParams{Now: now, Currency: "ZZZ"})
			require.ErrorIs(t, err, ErrUnknownCurrency)
		})
		t.Run(p.Name()+"/ids differ with time", func(t *testing.T) {
			x, err := p.Sample("", SampleParams{Now: now})
			require.NoError(t, err)
			y, err := p.Sample("", SampleParams{Now: now.Add(time.Millisecond)})
			require.NoError(t, err)
			require.NotEqual(t, string(x), string(y))
		})
	}
	require.Equal(t, len(wantKind), seen, "every expected sample type is offered")
}

func TestSampleCurrencies(t *testing.T) {
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	for _, pc := range providerCases() {
		for _, cur := range []string{"JPY", "KWD", "IDR", "ISK", "MGA", "USD"} {
			t.Run(pc.p.Name()+"/"+cur, func(t *testing.T) {
				body, err := pc.p.Sample("", SampleParams{Now: now, Amount: 7000, Currency: cur})
				require.NoError(t, err)
				ev, err := pc.p.Parse(Request{Header: http.Header{"Webhook-Id": {"msg_x"}}, Body: body})
				require.NoError(t, err)
				require.Equal(t, int64(7000), ev.Amount)
				require.Equal(t, cur, ev.Currency)
			})
		}
	}
}
