package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// retentionFixture is a store with events on both sides of a cut-off, in
// every delivery state, with attempts, chat msgIds and audit entries.
type retentionFixture struct {
	cut time.Time
	// purgeable: old events whose deliveries are all sent (or that were
	// routed with none); kept: old events still worked on; newer: events
	// received after the cut-off.
	purgeable, kept, newer []string
	// deliveries by event id (one each; none for the no-delivery event).
	delivery map[string]int64
	// body and canonical event of every event before the purge.
	before map[string]store.StoredEvent
}

// retentionEvent is event i with its own robot, routed to it when routed.
func retentionEvent(i int, routed bool) store.NewEvent {
	e := newEvent(i)
	e.Body = []byte(fmt.Sprintf(`{"id":"evnt_test_%04d","padding":"%0200d"}`, i, i))
	e.Headers = map[string]string{"Content-Type": "application/json", "X-Request-Id": fmt.Sprintf("req-%d", i)}
	if i%3 == 0 {
		e.Event.Currency, e.Event.Amount = "USD", int64(100*i+1)
	}
	if routed {
		e.Routed = true
		e.Deliveries = []store.NewDelivery{{Route: "r0", Robot: fmt.Sprintf("rb%d", i), Spec: []byte("spec")}}
	}
	return e
}

func newRetentionFixture(t *testing.T, s store.Store) *retentionFixture {
	t.Helper()
	f := &retentionFixture{cut: base().Add(100 * time.Second), delivery: map[string]int64{}, before: map[string]store.StoredEvent{}}
	ok := func(at time.Time) store.Attempt {
		return store.Attempt{At: at, Duration: 20 * time.Millisecond, Reason: "ok"}
	}
	add := func(i int, routed bool) (string, time.Time) {
		e := retentionEvent(i, routed)
		mustInsert(t, s, e)
		if routed {
			ds, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{EventID: e.ID})
			require.NoError(t, err)
			require.Len(t, ds, 1)
			f.delivery[e.ID] = ds[0].ID
		}
		return e.ID, e.ReceivedAt
	}
	claim := func(i int, at time.Time) int64 {
		return claimOne(t, s, fmt.Sprintf("rb%d", i), "w", at).ID
	}
	// Old events (received base+0s … base+12s, before the cut at +100s).
	for i := 0; i <= 5; i++ { // sent, attempt before the cut
		id, at := add(i, true)
		require.NoError(t, s.CompleteDelivery(ctx(t), claim(i, at), ok(at.Add(time.Second))))
		f.purgeable = append(f.purgeable, id)
	}
	{ // sent after a retry: one attempt before the cut, the success after it
		id, at := add(6, true)
		d := claim(6, at)
		require.NoError(t, s.RetryDelivery(ctx(t), d, store.Attempt{At: at.Add(time.Second), Reason: "server", Error: "502"}, at.Add(2*time.Second)))
		require.NoError(t, s.CompleteDelivery(ctx(t), claim(6, f.cut.Add(time.Second)), ok(f.cut.Add(2*time.Second))))
		f.purgeable = append(f.purgeable, id)
	}
	{ // routed with no deliveries: nothing to wait for
		e := newEvent(7)
		e.Routed = true
		mustInsert(t, s, e)
		f.purgeable = append(f.purgeable, e.ID)
	}
	{ // dead letter: replay needs it
		id, at := add(8, true)
		require.NoError(t, s.DeadLetter(ctx(t), claim(8, at), store.Attempt{At: at.Add(time.Second), Reason: "permanent", Error: "bad token"}))
		f.kept = append(f.kept, id)
	}
	{ // pending (due later)
		id, _ := add(9, true)
		f.kept = append(f.kept, id)
	}
	{ // sending (claimed, not answered)
		id, at := add(10, true)
		claim(10, at)
		f.kept = append(f.kept, id)
	}
	{ // not routed yet
		id, _ := add(11, false)
		f.kept = append(f.kept, id)
	}
	{ // two deliveries, one sent, one dead
		e := retentionEvent(12, true)
		e.Deliveries = append(e.Deliveries, store.NewDelivery{Route: "r1", Robot: "rb12b", Spec: []byte("spec")})
		mustInsert(t, s, e)
		require.NoError(t, s.CompleteDelivery(ctx(t), claim(12, e.ReceivedAt), ok(e.ReceivedAt)))
		require.NoError(t, s.DeadLetter(ctx(t), claimOne(t, s, "rb12b", "w", e.ReceivedAt).ID, store.Attempt{At: e.ReceivedAt, Reason: "permanent"}))
		f.kept = append(f.kept, e.ID)
	}
	// Newer events (received after the cut), sent.
	for i := 200; i < 204; i++ {
		id, at := add(i, true)
		require.NoError(t, s.CompleteDelivery(ctx(t), claim(i, at), ok(at.Add(time.Second))))
		f.newer = append(f.newer, id)
	}
	for _, id := range append(append(append([]string{}, f.purgeable...), f.kept...), f.newer...) {
		se, err := s.GetEvent(ctx(t), id)
		require.NoError(t, err)
		require.NotEmpty(t, se.Body)
		require.True(t, se.BodyPurgedAt.IsZero())
		f.before[id] = se
	}
	// Chat: one msgId and one audit entry on each side of the cut.
	for _, m := range []struct {
		id string
		at time.Time
	}{{"msg_old", base()}, {"msg_new", f.cut.Add(time.Second)}} {
		first, err := s.ClaimChatMessage(ctx(t), m.id, m.at)
		require.NoError(t, err)
		require.True(t, first)
	}
	for _, at := range []time.Time{base(), f.cut.Add(-time.Millisecond), f.cut, f.cut.Add(time.Hour)} {
		require.NoError(t, s.AppendAudit(ctx(t), store.AuditEntry{At: at, SenderID: "u1", Command: "today", Result: "ok"}))
	}
	return f
}

// totals is the count and sum of amounts per currency of every event.
func totals(t *testing.T, s store.Store) map[string][2]int64 {
	t.Helper()
	es, err := s.ListEvents(ctx(t), store.EventFilter{Limit: 1000})
	require.NoError(t, err)
	out := map[string][2]int64{}
	for _, e := range es {
		v := out[e.Event.Currency]
		out[e.Event.Currency] = [2]int64{v[0] + 1, v[1] + e.Event.Amount}
	}
	return out
}

// bodyBytes is the size of the body and headers Purge accounts for an
// event (the headers as the stored JSON object).
func bodyBytes(t *testing.T, se store.StoredEvent) int64 {
	t.Helper()
	h, err := json.Marshal(se.Headers)
	require.NoError(t, err)
	return int64(len(se.Body) + len(h))
}

func testPurge(t *testing.T, s store.Store) {
	f := newRetentionFixture(t, s)
	sums := totals(t, s)
	now := f.cut.Add(90 * 24 * time.Hour)
	var wantBytes int64
	for _, id := range f.purgeable {
		wantBytes += bodyBytes(t, f.before[id])
	}
	want := store.PurgeResult{
		Bodies: int64(len(f.purgeable)), BodyBytes: wantBytes, Kept: int64(len(f.kept)),
		// Events 0–5; event 6's failed attempt (its success is after the
		// cut); event 12's sent delivery (its event keeps its body for
		// the dead one, whose attempt stays).
		Attempts:     6 + 1 + 1,
		ChatMessages: 1, ChatAudit: 2,
	}

	// A dry run counts and changes nothing.
	dry, err := s.Purge(ctx(t), store.PurgeOptions{Before: f.cut, BatchSize: 2, DryRun: true, Pause: -1})
	require.NoError(t, err)
	require.Zero(t, dry.Batches)
	require.Zero(t, dry.ReclaimedBytes)
	dry.AutoVacuum, dry.Batches = "", 0
	dry.Busy, dry.Waited, dry.YieldedBatches = 0, 0, 0
	require.Equal(t, want, dry)
	for id, se := range f.before {
		got, err := s.GetEvent(ctx(t), id)
		require.NoError(t, err)
		require.Equal(t, se, got, "dry run changed %s", id)
	}
	require.Len(t, attemptLog(t, s, f.delivery[f.purgeable[0]]), 1)

	// The purge, in batches of 2.
	res, err := s.Purge(ctx(t), store.PurgeOptions{Before: f.cut, Now: now, BatchSize: 2, Pause: -1})
	require.NoError(t, err)
	require.GreaterOrEqual(t, res.Batches, 4+4+2, "7 bodies, 8 attempts' deliveries, 3 chat rows in batches of 2")
	require.GreaterOrEqual(t, res.ReclaimedBytes, int64(0))
	got := res
	got.AutoVacuum, got.Batches, got.ReclaimedBytes = "", 0, 0
	require.Positive(t, got.Busy, "the batches' write time")
	require.Zero(t, got.YieldedBatches, "no event arrived in the last 2 s of the purge's clock")
	got.Busy, got.Waited, got.YieldedBatches = 0, 0, 0
	require.Equal(t, want, got)

	for _, id := range f.purgeable {
		se, err := s.GetEvent(ctx(t), id)
		require.NoError(t, err)
		require.Empty(t, se.Body, id)
		require.Empty(t, se.Headers, id)
		require.Equal(t, now.Truncate(time.Millisecond), se.BodyPurgedAt, id)
		exp := f.before[id]
		exp.Body, exp.Headers, exp.BodyPurgedAt = se.Body, se.Headers, se.BodyPurgedAt
		require.Equal(t, exp, se, "only the body and headers change: %s", id)
	}
	for _, id := range append(append([]string{}, f.kept...), f.newer...) {
		se, err := s.GetEvent(ctx(t), id)
		require.NoError(t, err)
		require.Equal(t, f.before[id], se, "kept: %s", id)
	}
	require.Equal(t, sums, totals(t, s), "counts and sums per currency")

	// Lists still find purged events, without bodies either way.
	es, err := s.ListEvents(ctx(t), store.EventFilter{Until: f.cut, Limit: 100})
	require.NoError(t, err)
	require.Len(t, es, len(f.purgeable)+len(f.kept))
	found, err := s.FindEvents(ctx(t), store.EventSearch{Text: f.before[f.purgeable[0]].Event.Reference})
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.False(t, found[0].BodyPurgedAt.IsZero())

	// Attempts: gone for sent deliveries before the cut; the success of
	// event 6 after the cut and every dead letter's stay.
	require.Empty(t, attemptLog(t, s, f.delivery[f.purgeable[0]]))
	log := attemptLog(t, s, f.delivery[f.purgeable[6]])
	require.Len(t, log, 1)
	require.Equal(t, "ok", log[0].Reason)
	require.Len(t, attemptLog(t, s, f.delivery[f.kept[0]]), 1, "dead letter")
	require.Len(t, attemptLog(t, s, f.delivery[f.newer[0]]), 1, "newer")
	// Delivery rows and their status stay.
	d, err := s.GetDelivery(ctx(t), f.delivery[f.purgeable[0]])
	require.NoError(t, err)
	require.Equal(t, store.StatusSent, d.Status)
	require.Equal(t, 1, d.Attempts)

	// Chat: the old msgId is gone (claimable again), the new one stays;
	// audit entries before the cut are gone.
	first, err := s.ClaimChatMessage(ctx(t), "msg_new", now)
	require.NoError(t, err)
	require.False(t, first)
	audit, err := s.ListAudit(ctx(t), store.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, audit, 2)
	for _, a := range audit {
		require.False(t, a.At.Before(f.cut))
	}
	first, err = s.ClaimChatMessage(ctx(t), "msg_old", now)
	require.NoError(t, err)
	require.True(t, first, "purged")

	// A second run finds nothing more.
	again, err := s.Purge(ctx(t), store.PurgeOptions{Before: f.cut, Now: now, BatchSize: 2, Pause: -1})
	require.NoError(t, err)
	again.Busy, again.Waited = 0, 0
	require.Equal(t, store.PurgeResult{Kept: int64(len(f.kept)), AutoVacuum: res.AutoVacuum}, again)

	// Once the pending delivery is sent, the next run purges its body.
	pending := f.kept[1]
	dl := claimOne(t, s, "rb9", "w", now)
	require.Equal(t, f.delivery[pending], dl.ID)
	require.NoError(t, s.CompleteDelivery(ctx(t), dl.ID, store.Attempt{At: now, Reason: "ok"}))
	later, err := s.Purge(ctx(t), store.PurgeOptions{Before: f.cut, Now: now.Add(time.Hour), BatchSize: 2, Pause: -1})
	require.NoError(t, err)
	require.Equal(t, int64(1), later.Bodies)
	require.Equal(t, int64(len(f.kept)-1), later.Kept)
	require.Zero(t, later.Attempts, "its attempt is after the cut")
	se, err := s.GetEvent(ctx(t), pending)
	require.NoError(t, err)
	require.Empty(t, se.Body)
	require.Equal(t, now.Add(time.Hour).Truncate(time.Millisecond), se.BodyPurgedAt)
	require.Equal(t, sums, totals(t, s))
}

// testPurgeYields: while events arrive (the newest was received less than
// 2 s ago by the purge's clock, on any process) the purge waits Yield times
// as long as each batch took; when none arrive, or with Yield negative, it
// does not; either way it purges everything before the cut-off.
func testPurgeYields(t *testing.T, s store.Store) {
	cut := base().Add(time.Hour)
	// The newest event, received after the cut-off.
	newest := newEvent(9000)
	newest.ReceivedAt = cut.Add(time.Hour)
	mustInsert(t, s, newest)
	for n, tc := range []struct {
		name      string
		clock     time.Time
		yield     int
		wantYield bool
	}{
		{"busy: newest event a second old", newest.ReceivedAt.Add(time.Second), 3, true},
		{"busy, but never yield", newest.ReceivedAt.Add(time.Second), -1, false},
		{"quiet: newest event a minute old", newest.ReceivedAt.Add(time.Minute), 3, false},
		{"busy: an event received after the clock (skew) counts", newest.ReceivedAt.Add(-30 * time.Second), 3, true},
		{"quiet: an event stamped far ahead is not traffic", newest.ReceivedAt.Add(-2 * time.Minute), 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Seven old events, routed with no delivery: all purgeable.
			for i := range 7 {
				e := newEvent(9100 + 10*n + i)
				e.ReceivedAt = base().Add(time.Duration(10*n+i) * time.Second)
				e.Routed = true
				mustInsert(t, s, e)
			}
			clock := tc.clock
			var waits []time.Duration
			res, err := s.Purge(ctx(t), store.PurgeOptions{Before: cut, Now: newest.ReceivedAt, BatchSize: 2, Pause: -1,
				Yield: tc.yield, Clock: func() time.Time { return clock },
				Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }})
			require.NoError(t, err)
			var sum time.Duration
			for _, w := range waits {
				sum += w
			}
			require.Equal(t, sum, res.Waited, "the waits asked for")
			require.Equal(t, int64(7), res.Bodies, "every old body, whatever the pace")
			require.Positive(t, res.Busy)
			if !tc.wantYield {
				require.Zero(t, res.YieldedBatches)
				require.Zero(t, res.Waited)
				return
			}
			// 7 bodies in batches of 2: a wait after each of the 3 full
			// batches, each Yield × the batch before it.
			require.GreaterOrEqual(t, res.YieldedBatches, 3)
			require.Positive(t, res.Waited)
		})
	}
}

func testPurgeValidation(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		o    store.PurgeOptions
	}{
		{"zero before", store.PurgeOptions{Now: base()}},
		{"zero now", store.PurgeOptions{Before: base()}},
		{"negative batch", store.PurgeOptions{Before: base(), Now: base(), BatchSize: -1}},
		{"negative vacuum pages", store.PurgeOptions{Before: base(), Now: base(), VacuumPages: -1}},
	} {
		_, err := s.Purge(ctx(t), tc.o)
		invalid(t, err, tc.name)
	}
	// An empty store purges nothing.
	res, err := s.Purge(ctx(t), store.PurgeOptions{Before: base(), Now: base()})
	require.NoError(t, err)
	res.AutoVacuum, res.Busy, res.Waited = "", 0, 0
	require.Equal(t, store.PurgeResult{}, res)
}
