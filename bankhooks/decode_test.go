package bankhooks

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// parseCase is one provider's Parse and its legacy reference.
type parseCase struct {
	name   string
	p      Provider
	legacy func(Request) (Event, error)
	nested string // the member decodeOnce watches for duplicates
}

func parseCases() []parseCase {
	return []parseCase{
		{"omise", Omise{}, legacyOmiseParse, "data"},
		{"stripe", Stripe{}, legacyStripeParse, "object"},
		{"standardwebhooks", StandardWebhooks{}, legacyStandardWebhooksParse, "data"},
	}
}

// parseHeader is the header every differential case is parsed with (only
// Standard Webhooks reads it).
func parseHeader() http.Header {
	return http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1715678467"}}
}

// requireSameParse fails unless Parse and the legacy parser agree exactly:
// the same Event, or errors with the same text.
func requireSameParse(t *testing.T, pc parseCase, r Request) {
	t.Helper()
	want, wantErr := pc.legacy(r)
	got, gotErr := pc.p.Parse(r)
	if wantErr != nil {
		require.Error(t, gotErr, "legacy refused %q with %v", r.Body, wantErr)
		require.Equal(t, wantErr.Error(), gotErr.Error(), "body %q", r.Body)
		require.ErrorIs(t, gotErr, ErrMalformedPayload)
		return
	}
	require.NoError(t, gotErr, "body %q", r.Body)
	require.Equal(t, want, got, "body %q", r.Body)
}

// trickyBodies are bodies where a single json.Unmarshal and the legacy
// two-step decode could differ: duplicate, case-folded and escaped member
// names, null after an object, non-JSON white space after the value, type
// errors on either side of the envelope checks.
var trickyBodies = map[string][]string{
	"omise": {
		`{"object":"event","id":"e","key":"charge.complete","data":{"object":"charge","status":"successful","amount":100,"currency":"thb"},"data":{"object":"charge","status":"pending"}}`,
		`{"object":"event","id":"e","key":"charge.complete","DATA":{"object":"charge","status":"successful","amount":100,"currency":"thb"},"data":{"status":"failed"}}`,
		`{"object":"event","id":"e","key":"charge.complete","d\u0061ta":{"object":"charge","status":"successful","amount":100,"currency":"thb"},"data":{"status":"failed"}}`,
		`{"object":"event","id":"e","key":"charge.complete","data":{"object":"charge","status":"successful","amount":100,"currency":"thb"},"data":null}`,
		`{"object":"event","id":"e","key":"charge.complete","data":null,"data":{"object":"charge","status":"successful","amount":100,"currency":"thb"}}`,
		`{"object":"event","id":"e","key":"charge.complete","data":"chrg_1","data":{"object":"charge","status":"successful","amount":100,"currency":"thb"}}`,
		`{"object":"event","id":"e","key":"charge.complete","data":{"object":"charge","status":"successful","amount":100,"currency":"thb"},"data":"chrg_1"}`,
		`{"object":"event","id":"e","key":"charge.complete","Data":{"object":"charge","status":"successful","amount":100,"currency":"thb","metadata":{"data":{"x":1}}}}`,
		`{"object":"event","id":"e","key":"charge.complete","data":{"object":"charge","status":"successful","amount":100,"currency":"thb","description":"\"data\": {"}}`,
		`{"object":"event","id":"e","key":"refund.create","data":{"object":"refund","charge":{"id":"chrg_1"},"charge":"chrg_2"}}`,
		`{"object":"event","id":"e","key":"charge.complete","data":{}}` + "\u00a0\f\v",
		"\ufeff" + `{"object":"event","id":"e","key":"charge.complete","data":{}}`,
		`{"object":"charge","id":"e","key":"charge.complete","data":{"status":5}}`,
		`{"object":"event","id":"e","key":"charge.complete","data":{"status":5},"id":5}`,
		`{"object":"event","id":"e","\u212aey":"charge.complete","data":{}}`,
		`{"object":"event","id":"e","key":"charge.complete","data":{"object":"charge","status":"successful","amount":"100","currency":"thb"}}`,
		`null`, `{}`, `[]`, `"event"`, `{"data":{}}`,
	},
	"stripe": {
		`{"object":"event","id":"e","type":"charge.succeeded","data":{"object":{"object":"charge","amount":100,"currency":"usd"},"object":{"object":"charge","id":"ch_2"}}}`,
		`{"object":"event","id":"e","type":"charge.succeeded","data":{"object":{"object":"charge","amount":100,"currency":"usd"}},"data":{"object":{"object":"charge","id":"ch_2"}}}`,
		`{"object":"event","id":"e","type":"charge.succeeded","data":{"object":{"object":"charge","amount":100,"currency":"usd"}},"data":{}}`,
		`{"object":"event","id":"e","type":"charge.succeeded","data":{"object":{"object":"charge","amount":100,"currency":"usd"}},"data":{"object":null}}`,
		`{"object":"event","id":"e","type":"charge.succeeded","data":{"object":{"object":"charge","amount":100,"currency":"usd"}},"data":null}`,
		`{"object":"event","id":"e","type":"charge.succeeded","data":{"OBJECT":{"object":"charge","amount":100,"currency":"usd"},"object":{"id":"ch_2"}}}`,
		`{"object":"event","id":"e","type":"charge.succeeded","data":{"obj\u0065ct":{"object":"charge","amount":100,"currency":"usd"},"object":{"id":"ch_2"}}}`,
		`{"object":"event","id":"e","type":"charge.succeeded","data":{"object":null,"object":{"object":"charge","amount":100,"currency":"usd"}}}`,
		`{"object":"event","id":"e","type":"charge.succeeded","data":{"object":"ch_1","object":{"object":"charge","amount":100,"currency":"usd"}}}`,
		`{"object":{"object":"event"},"id":"e","type":"charge.succeeded","data":{"object":{}}}`,
		`{"object":"event","id":"e","type":"charge.succeeded","created":"1715678467","data":{"object":{}}}`,
		`{"object":"event","id":"e","type":"charge.succeeded","created":null,"data":{"object":{}}}`,
		`{"object":"event","id":"e","type":"payout.paid","data":{"object":{"object":"payout","destination":{"id":"ba_1","last4":6789},"amount":1,"currency":"usd"}}}`,
		`{"object":"event","id":"e","type":"payout.paid","data":{"object":{"object":"payout","destination":{"id":"ba_1","last4":"6789"},"destination":"ba_2","amount":1,"currency":"usd"}}}`,
		`{"object":"event","id":"e","type":"t","data":{"object":{"amount":"x"}}}` + "\u0085",
		`{"object":"v2.core.event","id":"e","type":"t","data":{"object":{"amount":"x"}}}`,
		`null`, `{}`, `{"data":{"object":{}}}`,
	},
	"standardwebhooks": {
		`{"type":"payment.succeeded","data":{"amount":100,"currency":"THB"},"data":{"reference":"r"}}`,
		`{"type":"payment.succeeded","data":{"amount":100,"currency":"THB"},"data":null}`,
		`{"type":"payment.succeeded","data":null,"data":{"amount":100,"currency":"THB"}}`,
		`{"type":"payment.succeeded","DaTa":{"amount":100,"currency":"THB"},"data":{"reference":"r"}}`,
		`{"type":"payment.succeeded","data":[1],"data":{"amount":100,"currency":"THB"}}`,
		`{"type":"payment.succeeded","data":{"amount":100,"currency":"THB"},"data":true}`,
		`{"type":"payment.succeeded","data":{"livemode":false},"data":{"livemode":null}}`,
		`{"type":"payment.succeeded","timestamp":null,"data":{}}`,
		`{"type":"payment.succeeded","timestamp":"2024-05-14T09:21:07Z","timestamp":null}`,
		`{"type":null,"type":"payment.failed","data":{"failure_code":"x"}}`,
		`{"type":"payment.succeeded","data":{}}` + "\r\n\u2028",
		`null`, `{}`, `5`, ` `,
	},
}

func TestParseMatchesLegacy(t *testing.T) {
	for _, pc := range parseCases() {
		t.Run(pc.name, func(t *testing.T) {
			entries, err := os.ReadDir(filepath.Join("testdata", pc.name))
			require.NoError(t, err)
			var bodies []string
			for _, e := range entries {
				bodies = append(bodies, string(readFixture(t, filepath.Join(pc.name, e.Name()))))
			}
			bodies = append(bodies, trickyBodies[pc.name]...)
			for _, b := range bodies {
				requireSameParse(t, pc, Request{Header: parseHeader(), Body: []byte(b)})
			}
		})
	}
}

// TestParseDecodesFixturesOnce checks that every fixture a provider accepts
// takes the single pass, not the exact decoder.
func TestParseDecodesFixturesOnce(t *testing.T) {
	docs := map[string]func() any{
		"omise":            func() any { return &omiseDocument{} },
		"stripe":           func() any { return &stripeDocument{} },
		"standardwebhooks": func() any { return &standardDocument{} },
	}
	for _, pc := range parseCases() {
		entries, err := os.ReadDir(filepath.Join("testdata", pc.name))
		require.NoError(t, err)
		for _, e := range entries {
			t.Run(pc.name+"/"+e.Name(), func(t *testing.T) {
				body := readFixture(t, filepath.Join(pc.name, e.Name()))
				if _, err := pc.p.Parse(Request{Header: parseHeader(), Body: body}); err != nil {
					t.Skipf("refused fixture: %v", err)
				}
				require.True(t, decodeOnce(body, docs[pc.name](), pc.nested))
			})
		}
	}
}

// TestParseErrorText pins the exact error text Parse returns (bankbot sends
// it back to the caller), recorded from the legacy parsers.
func TestParseErrorText(t *testing.T) {
	tests := []struct {
		p    Provider
		body string
		want string
	}{
		{Omise{}, ``, `malformed payload: not a JSON event object: EOF`},
		{Omise{}, `{"object":"event","id":`, `malformed payload: not a JSON event object: unexpected EOF`},
		{Omise{}, `{"object":"event","id":5,"key":"k"}`, `malformed payload: not a JSON event object: json: cannot unmarshal number into Go struct field omiseEnvelope.id of type string`},
		{Omise{}, `{"object":"event","id":"e","key":"charge.complete","data":{"status":5}}`, `malformed payload: data: json: cannot unmarshal number into Go struct field omiseData.status of type string`},
		{Omise{}, `{"object":"charge","id":"e","key":"charge.complete","data":{"status":5}}`, `malformed payload: object is "charge", want "event"`},
		{Omise{}, `{"object":"event","id":"e","key":"charge.complete","data":"x"}`, `malformed payload: data: json: cannot unmarshal string into Go value of type bankhooks.omiseData`},
		{Omise{}, `{"object":"event","id":"e","key":"charge.complete","data":{"card":{"name":1}}}`, `malformed payload: data: json: cannot unmarshal number into Go struct field omiseParty.card.name of type string`},
		{Omise{}, `{"object":"event","id":"e","key":"charge.complete","data":{}} x`, `malformed payload: not a JSON event object: trailing data after the JSON value`},
		{Omise{}, `{"object":"event","id":"e","key":"refund.create","data":{"charge":5}}`, `malformed payload: data: expected an id string or an object`},
		{Stripe{}, `{"object":"event","id":"e","type":"t","data":{"object":{"amount":"x"}}}`, `malformed payload: data.object: json: invalid number literal, trying to unmarshal "\"x\"" into Number`},
		{Stripe{}, `{"object":"event","id":"e","type":"t","data":{"object":{"last_payment_error":{"code":1}}}}`, `malformed payload: data.object: json: cannot unmarshal number into Go struct field .last_payment_error.code of type string`},
		{Stripe{}, `{"object":"event","id":"e","type":"t","data":5}`, `malformed payload: not a JSON event object: json: cannot unmarshal number into Go struct field stripeEnvelope.data of type struct { Object json.RawMessage "json:\"object\"" }`},
		{Stripe{}, `{"object":"event","id":"e","type":"t","data":{"object":"x"}}`, `malformed payload: data.object: json: cannot unmarshal string into Go value of type bankhooks.stripeObject`},
		{Stripe{}, `{"object":"event","id":"e","type":"t","data":{"object":{"destination":{"id":5}}}}`, `malformed payload: data.object: json: cannot unmarshal number into Go struct field stripeObject.destination.id of type string`},
		{StandardWebhooks{}, `{"type":5}`, `malformed payload: not a JSON object: json: cannot unmarshal number into Go struct field standardEnvelope.type of type string`},
		{StandardWebhooks{}, `{"type":"payment.succeeded","data":{"amount":true}}`, `malformed payload: data: json: cannot unmarshal bool into Go struct field standardData.amount of type json.Number`},
		{StandardWebhooks{}, `{"type":"payment.succeeded","data":"x"}`, `malformed payload: data is not an object`},
		{StandardWebhooks{}, `{"type":"payment.succeeded","data":{"livemode":"yes"}}`, `malformed payload: data: json: cannot unmarshal string into Go struct field standardData.livemode of type bool`},
	}
	for _, tc := range tests {
		t.Run(tc.p.Name()+"/"+tc.body, func(t *testing.T) {
			_, err := tc.p.Parse(Request{Header: parseHeader(), Body: []byte(tc.body)})
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestObjectMembers(t *testing.T) {
	tests := []struct {
		name, body, member string
		want               int
	}{
		{"none", `{"a":1}`, "data", 0},
		{"one", `{"data":{"a":1}}`, "data", 1},
		{"white space around the colon", "{\"data\" \t\r\n: \n{}}", "data", 1},
		{"two", `{"data":{},"data":{}}`, "data", 2},
		{"stops at two", `{"data":{},"data":{},"data":{}}`, "data", 2},
		{"case folded", `{"DATA":{},"Data":{}}`, "data", 2},
		{"escaped name counts whatever it spells", `{"d\u0061ta":{},"x\ny":{}}`, "data", 2},
		{"not object values", `{"data":null,"data":[],"data":"{","data":1}`, "data", 0},
		{"nested counts", `{"a":{"data":{}},"b":[{"data":{}}]}`, "data", 2},
		{"longer name", `{"metadata":{},"data_x":{}}`, "data", 0},
		{"inside a string", `{"s":"\"data\":{"}`, "data", 0},
		{"escaped backslash before the quote", `{"data\\":{}}`, "data", 1},
		{"top level object", `{}`, "data", 0},
		{"no opening quote", `data":{`, "data", 0},
		{"empty", ``, "data", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, objectMembers([]byte(tc.body), tc.member))
		})
	}
	body := readFixture(t, filepath.Join("stripe", "payment_intent_succeeded.json"))
	require.Zero(t, testing.AllocsPerRun(100, func() { objectMembers(body, "object") }))
}

// TestObjectMembersLinear guards against quadratic walks on hostile bodies
// (Parse runs after Verify, but bodies can still be large).
func TestObjectMembersLinear(t *testing.T) {
	hostile := []string{
		`{"s":"` + strings.Repeat(`\":{`, 1<<16) + `"}`,
		`[` + strings.Repeat(`1,`, 1<<16) + strings.Repeat(`": {",`, 1<<16) + `1]`,
		`{"` + strings.Repeat(`a`, 1<<17) + strings.Repeat(`":{`, 1<<15),
	}
	for _, h := range hostile {
		start := time.Now()
		objectMembers([]byte(h), "data")
		// Linear: well under a second for ~256 KiB even on a loaded
		// machine; the quadratic walk would take minutes.
		require.Less(t, time.Since(start), 5*time.Second)
	}
}

// TestVerifyDoesNotReadJSON: every scheme signs the raw bytes, so Verify
// accepts a correctly signed body that is not JSON at all (Parse then
// refuses it).
func TestVerifyDoesNotReadJSON(t *testing.T) {
	now := time.Unix(1715678467, 0)
	for _, pc := range providerCases() {
		t.Run(pc.p.Name(), func(t *testing.T) {
			key := mustKey(t, pc.p, "k", pc.secretA, time.Time{})
			for _, body := range []string{``, `not json {`, `{"id":`} {
				r := signedRequest(t, pc.p, []byte(body), []Key{key}, now)
				_, err := pc.p.Verify(r, []Key{key}, VerifyOptions{Now: now})
				require.NoError(t, err, "body %q", body)
				_, err = pc.p.Parse(r)
				require.ErrorIs(t, err, ErrMalformedPayload)
			}
		})
	}
}

// fuzzParseMatchesLegacy seeds f with pc's fixtures and tricky bodies and
// checks Parse against the legacy parser.
func fuzzParseMatchesLegacy(f *testing.F, pc parseCase) {
	entries, err := os.ReadDir(filepath.Join("testdata", pc.name))
	require.NoError(f, err)
	for _, e := range entries {
		f.Add(readFixture(f, filepath.Join(pc.name, e.Name())))
	}
	for _, b := range trickyBodies[pc.name] {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		requireSameParse(t, pc, Request{Header: parseHeader(), Body: body})
	})
}

func FuzzParseMatchesLegacyOmise(f *testing.F) { fuzzParseMatchesLegacy(f, parseCases()[0]) }

func FuzzParseMatchesLegacyStripe(f *testing.F) { fuzzParseMatchesLegacy(f, parseCases()[1]) }

func FuzzParseMatchesLegacyStandardWebhooks(f *testing.F) {
	fuzzParseMatchesLegacy(f, parseCases()[2])
}
