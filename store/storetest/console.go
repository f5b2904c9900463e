package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// The web console's reads (issue 10).

// testPageEventsCursor walks every event page by page, with several events
// sharing one receive time across the page boundaries: each event is listed
// exactly once, in (received_at, id) descending order.
func testPageEventsCursor(t *testing.T, s store.Store) {
	var want []string
	// 9 events: three timestamps, three events each; ids inserted in an
	// order that is not their sort order.
	for i, id := range []string{"evt_b", "evt_c", "evt_a", "evt_e", "evt_d", "evt_f", "evt_h", "evt_i", "evt_g"} {
		e := newEvent(i)
		e.ID = id
		e.ReceivedAt = base().Add(time.Duration(i/3) * time.Second)
		mustInsert(t, s, e)
	}
	want = []string{"evt_i", "evt_h", "evt_g", "evt_f", "evt_e", "evt_d", "evt_c", "evt_b", "evt_a"}
	for _, size := range []int{1, 2, 3, 4, 9, 10} {
		t.Run(fmt.Sprintf("page %d", size), func(t *testing.T) {
			var got []string
			var after store.EventCursor
			for range 20 {
				res, err := s.PageEvents(ctx(t), store.EventPage{After: after, Limit: size})
				require.NoError(t, err)
				require.LessOrEqual(t, len(res.Events), size)
				for _, e := range res.Events {
					got = append(got, e.ID)
					require.Empty(t, e.Body)
				}
				if res.Next.IsZero() {
					require.Less(t, len(res.Events), size, "a full page has a next")
					break
				}
				last := res.Events[len(res.Events)-1]
				require.Equal(t, store.EventCursor{ReceivedAt: last.ReceivedAt, ID: last.ID}, res.Next)
				after = res.Next
			}
			require.Equal(t, want, got)
		})
	}
	// The cursor is exclusive, and the filters apply with it.
	res, err := s.PageEvents(ctx(t), store.EventPage{After: store.EventCursor{ReceivedAt: base().Add(time.Second), ID: "evt_e"}, Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"evt_d", "evt_c"}, eventIDs(res.Events))
	_, err = s.PageEvents(ctx(t), store.EventPage{After: store.EventCursor{ID: "evt_e"}})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.PageEvents(ctx(t), store.EventPage{Limit: -1})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.PageEvents(ctx(t), store.EventPage{ScanLimit: -1})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func testPageEventsFilters(t *testing.T, s store.Store) {
	lookupFixture(t, s)
	at := func(m int) time.Time { return base().Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		p    store.EventPage
		want []string
	}{
		{"all", store.EventPage{}, []string{"evt_dup2", "evt_0005", "evt_0004", "evt_0003", "evt_0002", "evt_0001", "evt_0000"}},
		{"source", store.EventPage{Source: "stripe"}, []string{"evt_0005", "evt_0003", "evt_0001"}},
		{"source after cursor", store.EventPage{Source: "stripe", After: store.EventCursor{ReceivedAt: at(5), ID: "evt_0005"}}, []string{"evt_0003", "evt_0001"}},
		{"kind", store.EventPage{Kind: string(bankhooks.KindPaymentSucceeded)}, []string{"evt_dup2", "evt_0004", "evt_0002", "evt_0000"}},
		{"window", store.EventPage{Since: at(1), Until: at(3)}, []string{"evt_0002", "evt_0001"}},
		{"search reference", store.EventPage{Search: &store.EventSearch{Text: "chrg_0003"}}, []string{"evt_0003"}},
		{"search provider id", store.EventPage{Search: &store.EventSearch{Text: "evnt_test_0002"}}, []string{"evt_dup2", "evt_0002"}},
		{"search provider id and source", store.EventPage{Source: "opn", Search: &store.EventSearch{Text: "evnt_test_0002"}}, []string{"evt_0002"}},
		{"search amount", store.EventPage{Search: &store.EventSearch{Amounts: []int64{5001, 5004}}}, []string{"evt_0004", "evt_0001"}},
		{"search digits", store.EventPage{Search: &store.EventSearch{AccountDigits: "7890"}}, []string{"evt_0000"}},
		{"search digits after cursor", store.EventPage{Search: &store.EventSearch{AccountDigits: "1234"}, After: store.EventCursor{ReceivedAt: at(4), ID: "evt_0004"}}, []string{"evt_0001"}},
		{"search digits limit", store.EventPage{Search: &store.EventSearch{AccountDigits: "1234"}, Limit: 1}, []string{"evt_0001"}},
		{"search nothing found", store.EventPage{Search: &store.EventSearch{Text: "nope"}}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.PageEvents(ctx(t), tc.p)
			require.NoError(t, err)
			require.Equal(t, tc.want, eventIDs(res.Events))
		})
	}
	_, err := s.PageEvents(ctx(t), store.EventPage{Search: &store.EventSearch{}})
	require.ErrorIs(t, err, store.ErrInvalid)

	// Every row's account_rev is filled (migration 0011: the insert
	// writes it), so a search by account digits reads its matches from the
	// index: ScanLimit, which bounds a read event by event (rows not yet
	// backfilled, or digits that match many events), does not cut it short.
	digits := &store.EventSearch{AccountDigits: "1234"} // only evt_0001 ("xxxx1234") matches
	res, err := s.PageEvents(ctx(t), store.EventPage{Search: digits, ScanLimit: 3})
	require.NoError(t, err)
	require.Equal(t, []string{"evt_0001"}, eventIDs(res.Events))
	require.True(t, res.Next.IsZero(), "nothing follows")
	// Digits and text in one search: either matches (the OR of FindEvents).
	res, err = s.PageEvents(ctx(t), store.EventPage{Search: &store.EventSearch{Text: "chrg_0003", AccountDigits: "7890"}})
	require.NoError(t, err)
	require.Equal(t, []string{"evt_0003", "evt_0000"}, eventIDs(res.Events))
}

func testSourceActivity(t *testing.T, s store.Store) {
	lookupFixture(t, s) // opn at minutes 0, 2, 4; stripe at 1, 3, 5; kbank at 10
	got, err := s.SourceActivity(ctx(t), []string{"opn", "stripe", "kbank", "silent"}, base().Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, map[string]store.SourceActivity{
		"opn":    {Last: base().Add(4 * time.Minute), Count: 2},
		"stripe": {Last: base().Add(5 * time.Minute), Count: 2},
		"kbank":  {Last: base().Add(10 * time.Minute), Count: 1},
		"silent": {},
	}, got)
	requireUTC(t, "last", got["opn"].Last)
	_, err = s.SourceActivity(ctx(t), []string{"opn"}, time.Time{})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func testEventsPerHour(t *testing.T, s store.Store) {
	start := base().Truncate(time.Hour) // 03:00
	for i, off := range []time.Duration{0, 59*time.Minute + 59*time.Second, time.Hour, 3*time.Hour + time.Minute, -time.Second, 4 * time.Hour} {
		e := newEvent(i)
		e.ReceivedAt = start.Add(off)
		if i == 2 {
			e.Source = "stripe"
		}
		mustInsert(t, s, e)
	}
	got, err := s.EventsPerHour(ctx(t), []string{"opn", "stripe", "silent"}, start, 4)
	require.NoError(t, err)
	require.Equal(t, map[string][]int{
		"opn":    {2, 0, 0, 1}, // the event before start and the one at start+4h are outside
		"stripe": {0, 1, 0, 0},
		"silent": {0, 0, 0, 0},
	}, got)
	for _, h := range []int{0, -1, 24*31 + 1} {
		_, err = s.EventsPerHour(ctx(t), []string{"opn"}, start, h)
		require.ErrorIs(t, err, store.ErrInvalid)
	}
}

func testRobotActivity(t *testing.T, s store.Store) {
	now := base()
	// robot a: two deliveries sent in one message (a digest), one sent
	// alone, one sent before since, one pending, one dead; robot b: one
	// sending.
	ids := routed(t, s, 1, "a", 6, now)
	routedTo := routed(t, s, 2, "b", 1, now)
	require.Len(t, routedTo, 1)
	ds, err := s.ClaimDeliveries(ctx(t), store.Claim{Robot: "a", Owner: "w", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
	require.NoError(t, err)
	require.Len(t, ds, 6)
	ok := func(at time.Time) store.Attempt { return store.Attempt{At: at, Reason: "ok"} }
	n, err := s.AssignMessage(ctx(t), ids[:2], "dm_digest")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	since := now.Add(time.Hour)
	_, err = s.CompleteDeliveries(ctx(t), ids[:2], ok(since.Add(time.Minute)))
	require.NoError(t, err)
	require.NoError(t, s.CompleteDelivery(ctx(t), ids[2], ok(since.Add(2*time.Minute))))
	require.NoError(t, s.CompleteDelivery(ctx(t), ids[3], ok(since.Add(-time.Minute))))
	require.NoError(t, s.ReleaseDelivery(ctx(t), ids[4], now))
	require.NoError(t, s.DeadLetter(ctx(t), ids[5], store.Attempt{At: now, Reason: "permanent", Error: "x"}))
	claimOne(t, s, "b", "w", now)

	got, err := s.RobotActivity(ctx(t), since)
	require.NoError(t, err)
	require.Equal(t, map[string]store.RobotActivity{
		"a": {Sent: 2, Pending: 1, Dead: 1},
		"b": {Sending: 1},
	}, got)
	_, err = s.RobotActivity(ctx(t), time.Time{})
	require.ErrorIs(t, err, store.ErrInvalid)
}
