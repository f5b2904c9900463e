package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// eventIDs lists the bankbot ids of es, in order.
func eventIDs(es []store.StoredEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// lookupFixture inserts six events received a minute apart (evt_0000 the
// oldest): two sources, two kinds, accounts with separators.
func lookupFixture(t *testing.T, s store.Store) {
	t.Helper()
	for i := range 6 {
		e := newEvent(i)
		e.ReceivedAt = base().Add(time.Duration(i) * time.Minute)
		if i%2 == 1 {
			e.Source = "stripe"
			e.Event.Kind = bankhooks.KindPaymentFailed
		}
		e.Event.Account = []string{"123-4-56789-0", "xxxx1234", "", "DE89 3704 0044 0532 0130 00", "4321", "acct_AbC9"}[i]
		mustInsert(t, s, e)
	}
	// Same provider event id as evt_0002, other source.
	e := newEvent(2)
	e.ID, e.Source = "evt_dup2", "kbank"
	e.ReceivedAt = base().Add(10 * time.Minute)
	mustInsert(t, s, e)
}

func testListEvents(t *testing.T, s store.Store) {
	lookupFixture(t, s)
	at := func(m int) time.Time { return base().Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		f    store.EventFilter
		want []string
	}{
		{"all newest first", store.EventFilter{}, []string{"evt_dup2", "evt_0005", "evt_0004", "evt_0003", "evt_0002", "evt_0001", "evt_0000"}},
		{"limit", store.EventFilter{Limit: 2}, []string{"evt_dup2", "evt_0005"}},
		{"since inclusive until exclusive", store.EventFilter{Since: at(1), Until: at(3)}, []string{"evt_0002", "evt_0001"}},
		{"since only", store.EventFilter{Since: at(5)}, []string{"evt_dup2", "evt_0005"}},
		{"until only", store.EventFilter{Until: at(1)}, []string{"evt_0000"}},
		{"source", store.EventFilter{Source: "stripe"}, []string{"evt_0005", "evt_0003", "evt_0001"}},
		{"kind", store.EventFilter{Kind: string(bankhooks.KindPaymentFailed)}, []string{"evt_0005", "evt_0003", "evt_0001"}},
		{"source and kind", store.EventFilter{Source: "opn", Kind: string(bankhooks.KindPaymentSucceeded)}, []string{"evt_0004", "evt_0002", "evt_0000"}},
		{"provider id across sources", store.EventFilter{ProviderEventID: "evnt_test_0002"}, []string{"evt_dup2", "evt_0002"}},
		{"nothing", store.EventFilter{Source: "nope"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es, err := s.ListEvents(ctx(t), tc.f)
			require.NoError(t, err)
			require.Equal(t, tc.want, eventIDs(es))
			for _, e := range es {
				requireUTC(t, "received_at", e.ReceivedAt)
				require.Empty(t, e.Body, "no raw body in a listing")
				require.NotEmpty(t, e.Event.ID)
			}
		})
	}
	es, err := s.ListEvents(ctx(t), store.EventFilter{ProviderEventID: "evnt_test_0003"})
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, "DE89 3704 0044 0532 0130 00", es[0].Event.Account)
	require.Equal(t, int64(5003), es[0].Event.Amount)
	require.Equal(t, base().Add(3*time.Minute), es[0].ReceivedAt)

	for _, f := range []store.EventFilter{{Limit: -1}, {Since: at(2), Until: at(2)}, {Since: at(3), Until: at(2)}} {
		_, err := s.ListEvents(ctx(t), f)
		require.ErrorIs(t, err, store.ErrInvalid, "%+v", f)
		require.False(t, errors.Is(err, store.ErrUnavailable))
	}
}

func testFindEvents(t *testing.T, s store.Store) {
	lookupFixture(t, s)
	at := func(m int) time.Time { return base().Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		q    store.EventSearch
		want []string
	}{
		{"bankbot id", store.EventSearch{Text: "evt_0003"}, []string{"evt_0003"}},
		{"provider id", store.EventSearch{Text: "evnt_test_0002"}, []string{"evt_dup2", "evt_0002"}},
		{"reference", store.EventSearch{Text: "chrg_0004"}, []string{"evt_0004"}},
		{"text is exact", store.EventSearch{Text: "chrg_000"}, []string{}},
		{"amount", store.EventSearch{Amounts: []int64{5001}}, []string{"evt_0001"}},
		{"amounts", store.EventSearch{Amounts: []int64{5001, 5004, 1}}, []string{"evt_0004", "evt_0001"}},
		{"account digits across separators", store.EventSearch{AccountDigits: "7890"}, []string{"evt_0000"}},
		{"account digits with separators", store.EventSearch{AccountDigits: "30 00"}, []string{"evt_0003"}},
		{"account suffix is case-insensitive", store.EventSearch{AccountDigits: "abc9"}, []string{"evt_0005"}},
		{"account whole", store.EventSearch{AccountDigits: "4321"}, []string{"evt_0004"}},
		{"account is a suffix only", store.EventSearch{AccountDigits: "1234"}, []string{"evt_0001"}},
		{"any criterion", store.EventSearch{Text: "chrg_0000", Amounts: []int64{5005}, AccountDigits: "1234"}, []string{"evt_0005", "evt_0001", "evt_0000"}},
		{"window", store.EventSearch{Text: "evnt_test_0002", Since: at(5)}, []string{"evt_dup2"}},
		{"window until", store.EventSearch{AccountDigits: "0", Until: at(3)}, []string{"evt_0000"}},
		{"limit", store.EventSearch{Text: "evnt_test_0002", Limit: 1}, []string{"evt_dup2"}},
		{"limit with account", store.EventSearch{AccountDigits: "4", Amounts: []int64{5000, 5001, 5002}, Limit: 2}, []string{"evt_dup2", "evt_0002"}},
		{"no match", store.EventSearch{Text: "nope", AccountDigits: "9999"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es, err := s.FindEvents(ctx(t), tc.q)
			require.NoError(t, err)
			require.Equal(t, tc.want, eventIDs(es))
			for _, e := range es {
				require.Empty(t, e.Body)
			}
		})
	}
	for _, q := range []store.EventSearch{{}, {AccountDigits: " - "}, {Text: "x", Limit: -1}, {Text: "x", Since: at(2), Until: at(1)}} {
		_, err := s.FindEvents(ctx(t), q)
		require.ErrorIs(t, err, store.ErrInvalid, "%+v", q)
	}
}
