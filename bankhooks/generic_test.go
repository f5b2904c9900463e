package bankhooks

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testGenericScheme = Scheme{Header: "X-Sig", Algorithm: "hmac-sha256", Signed: "{body}", IDHeader: "X-Request-Id"}

var testMapping = Mapping{
	ID: "data.txn_id", KindPath: "data.status",
	KindMap: map[string]Kind{"SUCCESS": KindPaymentSucceeded, "failed": KindPaymentFailed, "PENDING": KindPaymentPending},
	Amount:  "data.amount", AmountUnit: "major", Currency: "data.currency",
	Reference: "data.reference", Account: "data.account_no", Counterparty: "data.payer_name",
	Description: "data.note", FailureCode: "data.error.code", FailureMessage: "data.error.message",
	OccurredAt: "data.paid_at",
}

func mustGeneric(t testing.TB, s Scheme, m Mapping) *Generic {
	t.Helper()
	g, err := NewGeneric(s, m)
	require.NoError(t, err)
	return g
}

func TestGenericParse(t *testing.T) {
	g := mustGeneric(t, testGenericScheme, testMapping)
	minor := testMapping
	minor.AmountUnit = "minor"
	gm := mustGeneric(t, testGenericScheme, minor)
	tests := []struct {
		name    string
		g       *Generic
		header  http.Header
		body    string
		want    Event
		wantErr string
	}{
		{name: "major decimal string", g: g, body: `{"data":{"txn_id":"T1","status":"success","amount":"1234.50","currency":"thb","reference":"INV-1","account_no":"123-4-56789","payer_name":"Somchai","note":"rent","paid_at":"2024-05-14T16:21:07+07:00"}}`,
			want: Event{ID: "T1", Type: "success", Kind: KindPaymentSucceeded, Amount: 123450, Currency: "THB", Reference: "INV-1",
				Account: "123-4-56789", Counterparty: "Somchai", Description: "rent", OccurredAt: time.Date(2024, 5, 14, 9, 21, 7, 0, time.UTC)}},
		{name: "major JSON number, never a float", g: g, body: `{"data":{"txn_id":7,"status":"PENDING","amount":10000000000000001.25,"currency":"USD","paid_at":1715678467}}`,
			want: Event{ID: "7", Type: "PENDING", Kind: KindPaymentPending, Amount: 1000000000000000125, Currency: "USD", OccurredAt: time.Unix(1715678467, 0).UTC()}},
		{name: "failure fields for a failure kind", g: g, body: `{"data":{"txn_id":"T2","status":"FAILED","amount":"5","currency":"JPY","error":{"code":"E51","message":"no funds"},"paid_at":1715678467123}}`,
			want: Event{ID: "T2", Type: "FAILED", Kind: KindPaymentFailed, Amount: 5, Currency: "JPY", FailureCode: "E51", FailureMessage: "no funds", OccurredAt: time.UnixMilli(1715678467123).UTC()}},
		{name: "failure fields dropped otherwise", g: g, body: `{"data":{"txn_id":"T3","status":"REVERSED","error":{"code":"X"}}}`,
			want: Event{ID: "T3", Type: "REVERSED", Kind: KindOther}},
		{name: "minor integer", g: gm, body: `{"data":{"txn_id":"T4","status":"success","amount":123450,"currency":"THB"}}`,
			want: Event{ID: "T4", Type: "success", Kind: KindPaymentSucceeded, Amount: 123450, Currency: "THB"}},
		{name: "id from the id header", g: g, header: http.Header{"X-Request-Id": {"req-9"}}, body: `{"data":{"status":"success"}}`,
			want: Event{ID: "req-9", Type: "success", Kind: KindPaymentSucceeded}},
		{name: "id from the body hash", g: g, body: `{"data":{"status":"x"}}`,
			want: Event{ID: BodyID([]byte(`{"data":{"status":"x"}}`)), Type: "x", Kind: KindOther}},
		{name: "not JSON", g: g, body: `status=success`, wantErr: "not JSON"},
		{name: "not an object", g: g, body: `[1]`, wantErr: "not a JSON object"},
		{name: "float minor amount", g: gm, body: `{"data":{"amount":12.5,"currency":"THB"}}`, wantErr: "amount"},
		{name: "too many decimals", g: g, body: `{"data":{"amount":"12.345","currency":"THB"}}`, wantErr: "amount"},
		{name: "exponent", g: g, body: `{"data":{"amount":1e3,"currency":"THB"}}`, wantErr: "amount"},
		{name: "amount without currency", g: g, body: `{"data":{"amount":"12.00"}}`, wantErr: "no currency"},
		{name: "unknown currency", g: g, body: `{"data":{"amount":"12.00","currency":"BHT"}}`, wantErr: "currency"},
		{name: "currency not a string", g: g, body: `{"data":{"amount":"12.00","currency":764}}`, wantErr: "currency"},
		{name: "amount an object", g: g, body: `{"data":{"amount":{},"currency":"THB"}}`, wantErr: "amount"},
		{name: "bad time", g: g, body: `{"data":{"paid_at":"14/05/2024"}}`, wantErr: "occurred_at"},
		{name: "fractional unix time", g: g, body: `{"data":{"paid_at":1.5}}`, wantErr: "occurred_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := tc.g.Parse(Request{Header: tc.header, Body: []byte(tc.body)})
			if tc.wantErr != "" {
				require.ErrorIs(t, err, ErrMalformedPayload)
				require.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.want.Provider = "generic"
			tc.want.Livemode = true
			require.Equal(t, tc.want, ev)
			checkEventInvariants(t, "generic", ev)
		})
	}
}

func TestNewGenericProblems(t *testing.T) {
	_, err := NewGeneric(Scheme{Header: "X", Algorithm: "hmac-sha256", Format: "csv"}, Mapping{
		ID: "a[0]", Amount: "amount", AmountUnit: "cents",
		KindPath: "status", KindMap: map[string]Kind{"OK": "paid", "ok": KindPaymentSucceeded, "bad": KindUnreadable},
	})
	var se *SchemeError
	require.ErrorAs(t, err, &se)
	want := []string{
		`signature.format: unknown "csv"`,
		`event.id: "a[0]" is not a simple dotted JSON path`,
		`event.amount_unit: unknown "cents" (one of minor, major)`,
		`event.currency: required with amount`,
		`event.kind.map.OK: "paid" is not a canonical kind`,
		`event.kind.map.ok: given twice (OK and ok)`,
		`event.kind.map.bad: "unreadable" is not a canonical kind`,
	}
	for _, w := range want {
		require.Contains(t, err.Error(), w)
	}
	require.Len(t, se.Problems, len(want), err.Error())
}

func TestGenericSample(t *testing.T) {
	g := mustGeneric(t, testGenericScheme, testMapping)
	require.Equal(t, "SUCCESS", g.SampleTypes()[0], "a success value first")
	require.ElementsMatch(t, []string{"SUCCESS", "failed", "PENDING"}, g.SampleTypes())
	now := time.Date(2026, 5, 14, 9, 21, 7, 0, time.UTC)
	key := Key{Name: "k", Material: []byte("generic-key")}
	for _, typ := range g.SampleTypes() {
		body, err := g.Sample(typ, SampleParams{Now: now, Amount: 700, Currency: "kwd"})
		require.NoError(t, err)
		s, err := g.Sign(body, []Key{key}, now, "")
		require.NoError(t, err)
		r := Request{Header: s.Header, Body: s.Body}
		_, err = g.Verify(r, []Key{key}, VerifyOptions{Now: now})
		require.NoError(t, err)
		ev, err := g.Parse(r)
		require.NoError(t, err)
		require.Equal(t, int64(700), ev.Amount)
		require.Equal(t, "KWD", ev.Currency)
		require.Equal(t, g.kindMap[strings.ToLower(typ)], ev.Kind)
		require.True(t, ev.OccurredAt.Equal(now))
		checkEventInvariants(t, "generic", ev)
	}
	_, err := g.Sample("nope", SampleParams{Now: now})
	require.ErrorIs(t, err, ErrUnknownEventType)

	bare := mustGeneric(t, Scheme{Algorithm: "none"}, Mapping{ID: "id"})
	require.Equal(t, []string{"event"}, bare.SampleTypes())
	body, err := bare.Sample("", SampleParams{Now: now, ID: "x1"})
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"x1"}`, string(body))

	clash := mustGeneric(t, testGenericScheme, Mapping{ID: "data", Reference: "data.ref"})
	_, err = clash.Sample("", SampleParams{Now: now})
	require.Error(t, err)
}

func FuzzGenericParse(f *testing.F) {
	f.Add([]byte(`{"data":{"txn_id":"T1","status":"success","amount":"1234.50","currency":"thb","paid_at":"2024-05-14T16:21:07+07:00"}}`), "")
	f.Add([]byte(`{"data":{"txn_id":7,"status":"FAILED","amount":1.5,"currency":"JPY","error":{"code":1},"paid_at":17156784671230}}`), "id")
	f.Add([]byte(`{"data":null}`), "")
	f.Add([]byte(`[`), "x")
	g := mustGeneric(f, testGenericScheme, testMapping)
	minor := testMapping
	minor.AmountUnit = "minor"
	gm := mustGeneric(f, testGenericScheme, minor)
	f.Fuzz(func(t *testing.T, body []byte, id string) {
		for _, p := range []*Generic{g, gm} {
			ev, err := p.Parse(Request{Header: http.Header{"X-Request-Id": {id}}, Body: body})
			if err != nil {
				require.ErrorIs(t, err, ErrMalformedPayload)
				continue
			}
			checkEventInvariants(t, "generic", ev)
			require.LessOrEqual(t, len(ev.ID), 200)
		}
	})
}
