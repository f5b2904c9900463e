package storetest

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// Contract tests for routing at ingest, message ids and the batch outcomes.

// routedEvent is newEvent(i) routed at ingest to robot under routes "r0",
// "r1" …
func routedEvent(i int, robot string, routes int) store.NewEvent {
	e := newEvent(i)
	e.Routed = true
	for r := range routes {
		e.Deliveries = append(e.Deliveries, store.NewDelivery{Route: fmt.Sprintf("r%d", r), Robot: robot, Spec: []byte(fmt.Sprintf("spec-%d-%d", i, r))})
	}
	return e
}

// byRoute lists an event's deliveries keyed by route.
func byRoute(t *testing.T, s store.Store, eventID string) map[string]store.Delivery {
	t.Helper()
	list, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{EventID: eventID, Limit: 1000})
	require.NoError(t, err)
	out := map[string]store.Delivery{}
	for _, d := range list {
		_, dup := out[d.Route]
		require.False(t, dup, "route %s has two rows", d.Route)
		out[d.Route] = d
	}
	return out
}

func deliveryIDs(ds []store.Delivery) []int64 {
	out := make([]int64, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func attemptLog(t *testing.T, s store.Store, id int64) []store.Attempt {
	t.Helper()
	log, err := s.Attempts(ctx(t), id)
	require.NoError(t, err)
	return log
}

func testInsertRouted(t *testing.T, s store.Store) {
	bangkok := time.FixedZone("ICT", 7*3600)
	e := newEvent(1)
	e.ReceivedAt = time.Date(2026, 5, 17, 10, 0, 1, 987654321, bangkok)
	received := time.Date(2026, 5, 17, 3, 0, 1, 987000000, time.UTC)
	spec := append([]byte(`{"template":"payment"}`), 0xff, 0x00)
	e.Routed = true
	e.Deliveries = []store.NewDelivery{
		{Route: "payments", Robot: "finance-th", Spec: spec},
		{Route: "ops", Robot: "ops"},
	}
	mustInsert(t, s, e)

	got, err := s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, received, got.RoutedAt, "routed at ingest: routed_at is the receive time")

	rows := byRoute(t, s, e.ID)
	require.Len(t, rows, 2)
	d := rows["payments"]
	require.NotZero(t, d.ID)
	require.Equal(t, store.Delivery{
		ID: d.ID, EventID: e.ID, Route: "payments", Robot: "finance-th", Spec: spec,
		Status: store.StatusPending, NextAttemptAt: received, CreatedAt: received, UpdatedAt: received,
	}, d)
	require.Equal(t, "ops", rows["ops"].Robot)
	require.Empty(t, rows["ops"].Spec)

	unrouted, err := s.UnroutedEvents(ctx(t), 10)
	require.NoError(t, err)
	require.Empty(t, unrouted, "the background router has nothing to do")
	st, err := s.Stats(ctx(t))
	require.NoError(t, err)
	require.Equal(t, store.Stats{Pending: 2, OldestDueSince: received}, st)
	require.Equal(t, []int64{d.ID}, claimIDs(t, s, store.Claim{Robot: "finance-th", Owner: "w", Now: received, LeaseUntil: received.Add(time.Minute), Limit: 10}),
		"due at the receive time")

	// Routing the event again (the router racing ingest) keeps everything.
	require.NoError(t, s.RouteEvent(ctx(t), e.ID, e.Deliveries, received.Add(time.Hour)))
	require.Len(t, byRoute(t, s, e.ID), 2)
	got, err = s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, received, got.RoutedAt)
}

func testInsertRoutedNoDeliveries(t *testing.T, s store.Store) {
	e := newEvent(1)
	e.Routed = true
	mustInsert(t, s, e)
	got, err := s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, e.ReceivedAt, got.RoutedAt, "matched no route: routed with no rows")
	require.Empty(t, byRoute(t, s, e.ID))
	st, err := s.Stats(ctx(t))
	require.NoError(t, err)
	require.Equal(t, store.Stats{}, st)

	plain := newEvent(2)
	mustInsert(t, s, plain)
	got, err = s.GetEvent(ctx(t), plain.ID)
	require.NoError(t, err)
	require.True(t, got.RoutedAt.IsZero(), "not routed at ingest: left to the router")
	unrouted, err := s.UnroutedEvents(ctx(t), 10)
	require.NoError(t, err)
	require.Len(t, unrouted, 1)
	require.Equal(t, plain.ID, unrouted[0].ID)
}

func testInsertRoutedDuplicate(t *testing.T, s store.Store) {
	tests := []struct {
		name        string
		first       store.NewEvent
		wantRoutes  []string
		wantRouted  bool
		wantRobotR0 string
	}{
		{"first not routed", newEvent(1), nil, false, ""},
		{"first routed", routedEvent(2, "first-robot", 1), []string{"r0"}, true, "first-robot"},
		{"first routed to nothing", func() store.NewEvent { e := newEvent(3); e.Routed = true; return e }(), nil, true, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustInsert(t, s, tc.first)
			again := routedEvent(i+1, "second-robot", 3)
			again.ID = tc.first.ID + "_again"
			again.ReceivedAt = tc.first.ReceivedAt.Add(time.Hour)
			res, err := s.InsertEvent(ctx(t), again)
			require.NoError(t, err)
			require.Equal(t, store.InsertResult{ID: tc.first.ID, Duplicate: true}, res)

			rows := byRoute(t, s, tc.first.ID)
			var routes []string
			for r := range rows {
				routes = append(routes, r)
			}
			sort.Strings(routes)
			require.Equal(t, tc.wantRoutes, routes, "a duplicate inserts no delivery")
			if tc.wantRobotR0 != "" {
				require.Equal(t, tc.wantRobotR0, rows["r0"].Robot)
			}
			require.Empty(t, byRoute(t, s, again.ID))
			got, err := s.GetEvent(ctx(t), tc.first.ID)
			require.NoError(t, err)
			require.Equal(t, tc.wantRouted, !got.RoutedAt.IsZero(), "a duplicate does not change routed_at")
			if tc.wantRouted {
				require.Equal(t, tc.first.ReceivedAt, got.RoutedAt)
			}
		})
	}
}

func testInsertRoutedValidation(t *testing.T, s store.Store) {
	tests := []struct {
		name   string
		mutate func(e *store.NewEvent)
	}{
		{"empty route", func(e *store.NewEvent) { e.Deliveries[1].Route = "" }},
		{"empty robot", func(e *store.NewEvent) { e.Deliveries[0].Robot = "" }},
		{"robot not utf-8", func(e *store.NewEvent) { e.Deliveries[0].Robot = "\xff" }},
		{"route with NUL", func(e *store.NewEvent) { e.Deliveries[1].Route = "r\x00" }},
		{"deliveries without routed", func(e *store.NewEvent) { e.Routed = false }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := routedEvent(i, "r", 2)
			tc.mutate(&e)
			_, err := s.InsertEvent(ctx(t), e)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.NotErrorIs(t, err, store.ErrUnavailable)
			_, err = s.GetEvent(ctx(t), e.ID)
			require.ErrorIs(t, err, store.ErrNotFound, "nothing is stored when a delivery is refused")
		})
	}
	list, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{})
	require.NoError(t, err)
	require.Empty(t, list)
}

// testInsertRoutedMany routes one event to more routes than one statement
// carries, with one route given twice (the first is kept, as RouteEvent).
func testInsertRoutedMany(t *testing.T, s store.Store) {
	const routes = 70
	e := routedEvent(1, "bulk", routes)
	e.Deliveries = append(e.Deliveries, store.NewDelivery{Route: "r5", Robot: "second"})
	mustInsert(t, s, e)
	rows := byRoute(t, s, e.ID)
	require.Len(t, rows, routes)
	for r := range routes {
		d := rows[fmt.Sprintf("r%d", r)]
		require.Equal(t, "bulk", d.Robot, "route r%d", r)
		require.Equal(t, []byte(fmt.Sprintf("spec-1-%d", r)), d.Spec, "route r%d", r)
		require.Equal(t, store.StatusPending, d.Status)
	}
}

// testInsertRoutedConcurrent races many inserts of one key, each with its
// own routing, beside distinct routed events: the winner's deliveries are
// the only ones of the key.
func testInsertRoutedConcurrent(t *testing.T, s store.Store) {
	const racers, distinct = 32, 32
	results := make([]store.InsertResult, racers)
	errs := make([]error, racers+distinct)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			e := newEvent(7)
			e.ID = fmt.Sprintf("evt_race_%02d", i)
			e.Routed = true
			e.Deliveries = []store.NewDelivery{{Route: "r", Robot: fmt.Sprintf("robot-%02d", i)}}
			<-start
			results[i], errs[i] = s.InsertEvent(ctx(t), e)
		})
	}
	for i := range distinct {
		wg.Go(func() {
			<-start
			_, errs[racers+i] = s.InsertEvent(ctx(t), routedEvent(100+i, "many", 1))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "insert %d", i)
	}
	winner := -1
	for i, r := range results {
		if !r.Duplicate {
			require.Equal(t, -1, winner, "exactly one insert wins")
			winner = i
		}
	}
	require.NotEqual(t, -1, winner)
	rows := byRoute(t, s, results[winner].ID)
	require.Len(t, rows, 1)
	require.Equal(t, fmt.Sprintf("robot-%02d", winner), rows["r"].Robot, "only the winner's routing is stored")
	st, err := s.Stats(ctx(t))
	require.NoError(t, err)
	require.Equal(t, 1+distinct, st.Pending)
	require.Zero(t, st.Unrouted)
}

func testAssignMessage(t *testing.T, s store.Store) {
	ids := routed(t, s, 1, "r", 4, base())
	claimed := claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 3})
	require.Len(t, claimed, 3)
	var pending int64
	for _, id := range ids {
		if !slices.Contains(claimed, id) {
			pending = id
		}
	}
	const missing = int64(987654321)

	n, err := s.AssignMessage(ctx(t), append(slices.Clone(claimed), pending, missing, claimed[0]), "msg-1")
	require.NoError(t, err)
	require.Equal(t, 3, n, "only sending rows take the message id")
	for _, id := range claimed {
		require.Equal(t, "msg-1", getDelivery(t, s, id).MessageID)
	}
	require.Empty(t, getDelivery(t, s, pending).MessageID, "a pending row keeps none")

	n, err = s.AssignMessage(ctx(t), claimed, "msg-1")
	require.NoError(t, err)
	require.Equal(t, 3, n, "rows already carrying the id still count: they are all still ours")

	n, err = s.AssignMessage(ctx(t), claimed[:1], "msg-2")
	require.NoError(t, err)
	require.Equal(t, 1, n)

	want := slices.Clone(claimed[1:])
	sort.Slice(want, func(i, j int) bool { return want[i] > want[j] })
	tests := []struct {
		name string
		f    store.DeliveryFilter
		want []int64
	}{
		{"by message", store.DeliveryFilter{MessageID: "msg-1"}, want},
		{"by other message", store.DeliveryFilter{MessageID: "msg-2"}, claimed[:1]},
		{"by message and status", store.DeliveryFilter{MessageID: "msg-1", Status: store.StatusSending}, want},
		{"by message, other status", store.DeliveryFilter{MessageID: "msg-1", Status: store.StatusPending}, []int64{}},
		{"by message and event", store.DeliveryFilter{MessageID: "msg-1", EventID: newEvent(1).ID, Limit: 1}, want[:1]},
		{"unknown message", store.DeliveryFilter{MessageID: "nope"}, []int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListDeliveries(ctx(t), tc.f)
			require.NoError(t, err)
			require.Equal(t, tc.want, deliveryIDs(got))
		})
	}

	n, err = s.AssignMessage(ctx(t), nil, "msg-3")
	require.NoError(t, err)
	require.Zero(t, n)
	for _, bad := range []string{"", "m\xff", "m\x00"} {
		_, err = s.AssignMessage(ctx(t), claimed, bad)
		require.ErrorIs(t, err, store.ErrInvalid, "message id %q", bad)
	}
	require.Equal(t, "msg-2", getDelivery(t, s, claimed[0]).MessageID, "refused calls changed nothing")
}

// testMessageIDLifecycle: outcomes keep the message id (the row went out in
// that message); replays clear it (a replay is a new message); a reclaim
// after a lost lease keeps it (the message is sent again with its id).
func testMessageIDLifecycle(t *testing.T, s store.Store) {
	at := base().Add(time.Second)
	a := store.Attempt{At: at, Reason: "server", Error: "503"}
	later := base().Add(time.Hour)
	tests := []struct {
		name string
		act  func(t *testing.T, id int64, eventID string)
		want string
	}{
		{"complete", func(t *testing.T, id int64, _ string) { require.NoError(t, s.CompleteDelivery(ctx(t), id, a)) }, "m"},
		{"retry", func(t *testing.T, id int64, _ string) { require.NoError(t, s.RetryDelivery(ctx(t), id, a, later)) }, "m"},
		{"release", func(t *testing.T, id int64, _ string) { require.NoError(t, s.ReleaseDelivery(ctx(t), id, later)) }, "m"},
		{"dead-letter", func(t *testing.T, id int64, _ string) { require.NoError(t, s.DeadLetter(ctx(t), id, a)) }, "m"},
		{"complete batch", func(t *testing.T, id int64, _ string) { batchOne(t)(s.CompleteDeliveries(ctx(t), []int64{id}, a)) }, "m"},
		{"retry batch", func(t *testing.T, id int64, _ string) { batchOne(t)(s.RetryDeliveries(ctx(t), []int64{id}, a, later)) }, "m"},
		{"release batch", func(t *testing.T, id int64, _ string) { batchOne(t)(s.ReleaseDeliveries(ctx(t), []int64{id}, later)) }, "m"},
		{"dead-letter batch", func(t *testing.T, id int64, _ string) { batchOne(t)(s.DeadLetterDeliveries(ctx(t), []int64{id}, a)) }, "m"},
		{"reclaim after lease", func(t *testing.T, id int64, _ string) {
			got := claimIDs(t, s, store.Claim{Robot: "r", Owner: "w2", Now: later, LeaseUntil: later.Add(time.Minute), Limit: 10})
			require.Contains(t, got, id)
		}, "m"},
		{"requeue delivery", func(t *testing.T, id int64, _ string) {
			require.NoError(t, s.DeadLetter(ctx(t), id, a))
			require.NoError(t, s.RequeueDelivery(ctx(t), id, later))
		}, ""},
		{"requeue event", func(t *testing.T, id int64, eventID string) {
			require.NoError(t, s.CompleteDelivery(ctx(t), id, a))
			n, err := s.RequeueEvent(ctx(t), eventID, later)
			require.NoError(t, err)
			require.Equal(t, 1, n)
		}, ""},
		{"reroute event", func(t *testing.T, id int64, eventID string) {
			require.NoError(t, s.CompleteDelivery(ctx(t), id, a))
			n, err := s.RerouteEvent(ctx(t), eventID, []store.NewDelivery{{Route: "r0", Robot: "r"}}, later)
			require.NoError(t, err)
			require.Equal(t, 1, n)
		}, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := routed(t, s, i, "r", 1, base())[0]
			require.Equal(t, []int64{id}, claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 10}))
			batchOne(t)(s.AssignMessage(ctx(t), []int64{id}, "m"))
			tc.act(t, id, newEvent(i).ID)
			require.Equal(t, tc.want, getDelivery(t, s, id).MessageID)
			// Leave nothing due for the next case's claim.
			d := getDelivery(t, s, id)
			switch d.Status {
			case store.StatusPending:
				claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: later, LeaseUntil: later.Add(time.Minute), Limit: 10})
				require.NoError(t, s.CompleteDelivery(ctx(t), id, a))
			case store.StatusSending:
				require.NoError(t, s.CompleteDelivery(ctx(t), id, a))
			}
		})
	}
}

// batchOne returns a checker of a batch call that acted on exactly one row.
func batchOne(t *testing.T) func(n int, err error) {
	return func(n int, err error) {
		t.Helper()
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
}

// batchFixture is five deliveries of one event, all claimed once, then:
// [0] retried and claimed again (one attempt logged), [1] sending, [2] sent,
// [3] released (pending), [4] dead. Only [0] and [1] are sending.
func batchFixture(t *testing.T, s store.Store) (ids []int64, first store.Attempt) {
	t.Helper()
	ids = routed(t, s, 1, "r", 5, base())
	require.ElementsMatch(t, ids, claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 10}))
	first = store.Attempt{At: base(), Duration: time.Second, Reason: "network", Error: "timeout"}
	next := base().Add(time.Second)
	require.NoError(t, s.RetryDelivery(ctx(t), ids[0], first, next))
	require.NoError(t, s.CompleteDelivery(ctx(t), ids[2], store.Attempt{At: base(), Reason: "ok"}))
	require.NoError(t, s.ReleaseDelivery(ctx(t), ids[3], base().Add(time.Hour)))
	require.NoError(t, s.DeadLetter(ctx(t), ids[4], store.Attempt{At: base(), Reason: "permanent"}))
	require.Equal(t, []int64{ids[0]}, claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: next, LeaseUntil: next.Add(time.Minute), Limit: 10}))
	return ids, first
}

// requireUntouched checks that rows [2], [3] and [4] of batchFixture kept
// their state and log.
func requireUntouched(t *testing.T, s store.Store, ids []int64) {
	t.Helper()
	require.Equal(t, store.StatusSent, getDelivery(t, s, ids[2]).Status)
	require.Len(t, attemptLog(t, s, ids[2]), 1)
	d := getDelivery(t, s, ids[3])
	require.Equal(t, store.StatusPending, d.Status)
	require.Equal(t, base().Add(time.Hour), d.NextAttemptAt)
	require.Empty(t, attemptLog(t, s, ids[3]))
	require.Equal(t, store.StatusDead, getDelivery(t, s, ids[4]).Status)
	require.Len(t, attemptLog(t, s, ids[4]), 1)
}

// withMissing is ids plus an id that does not exist and a repeated id.
func withMissing(ids []int64) []int64 {
	return append(slices.Clone(ids), 987654321, ids[1])
}

func testCompleteDeliveries(t *testing.T, s store.Store) {
	ids, first := batchFixture(t, s)
	a := store.Attempt{At: base().Add(2 * time.Second), Duration: 300 * time.Millisecond, Reason: "ok"}
	n, err := s.CompleteDeliveries(ctx(t), withMissing(ids), a)
	require.NoError(t, err)
	require.Equal(t, 2, n, "only the sending rows")
	for _, id := range ids[:2] {
		d := getDelivery(t, s, id)
		require.Equal(t, store.StatusSent, d.Status)
		require.Equal(t, a.At, d.SentAt)
		require.Equal(t, a.At, d.UpdatedAt)
		require.Equal(t, "ok", d.LastReason)
		require.Empty(t, d.LastError)
		require.Empty(t, d.LeaseOwner)
		require.True(t, d.LeaseUntil.IsZero())
	}
	require.Equal(t, 2, getDelivery(t, s, ids[0]).Attempts)
	require.Equal(t, 1, getDelivery(t, s, ids[1]).Attempts)
	require.Equal(t, []store.Attempt{first, a}, attemptLog(t, s, ids[0]), "numbered after the earlier attempt")
	require.Equal(t, []store.Attempt{a}, attemptLog(t, s, ids[1]))
	requireUntouched(t, s, ids)

	n, err = s.CompleteDeliveries(ctx(t), ids, a)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is sending any more")
	require.Len(t, attemptLog(t, s, ids[0]), 2, "a skipped row records no attempt")
}

func testRetryDeliveries(t *testing.T, s store.Store) {
	ids, first := batchFixture(t, s)
	throttled := store.Attempt{At: base().Add(2 * time.Second), Reason: "rate_limited", Error: "410100", Throttled: true}
	next := base().Add(10 * time.Minute)
	n, err := s.RetryDeliveries(ctx(t), withMissing(ids), throttled, next)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for k, id := range ids[:2] {
		d := getDelivery(t, s, id)
		require.Equal(t, store.StatusPending, d.Status)
		require.Equal(t, next, d.NextAttemptAt)
		require.Equal(t, throttled.At, d.UpdatedAt)
		require.Equal(t, 1, d.Throttles, "row %d", k)
		require.Equal(t, "410100", d.LastError)
		require.Empty(t, d.LeaseOwner)
		require.True(t, d.LeaseUntil.IsZero())
		require.True(t, d.SentAt.IsZero())
	}
	require.Equal(t, 1, getDelivery(t, s, ids[0]).Attempts, "a throttled answer spends no retry budget")
	require.Zero(t, getDelivery(t, s, ids[1]).Attempts)
	requireUntouched(t, s, ids)

	require.ElementsMatch(t, ids[:2], claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: next, LeaseUntil: next.Add(time.Minute), Limit: 10}))
	failed := store.Attempt{At: next.Add(time.Second), Duration: 2 * time.Second, Reason: "server", Error: "502"}
	n, err = s.RetryDeliveries(ctx(t), ids[:2], failed, next.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 2, getDelivery(t, s, ids[0]).Attempts)
	require.Equal(t, 1, getDelivery(t, s, ids[1]).Attempts)
	require.Equal(t, []store.Attempt{first, {At: throttled.At, Reason: throttled.Reason, Error: throttled.Error}, failed}, attemptLog(t, s, ids[0]),
		"the log numbers counted and throttled answers together")
	require.Equal(t, []store.Attempt{{At: throttled.At, Reason: throttled.Reason, Error: throttled.Error}, failed}, attemptLog(t, s, ids[1]))
}

func testDeadLetterDeliveries(t *testing.T, s store.Store) {
	ids, first := batchFixture(t, s)
	a := store.Attempt{At: base().Add(2 * time.Second), Duration: time.Second, Reason: "permanent", Error: "errcode 310000"}
	n, err := s.DeadLetterDeliveries(ctx(t), withMissing(ids), a)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for _, id := range ids[:2] {
		d := getDelivery(t, s, id)
		require.Equal(t, store.StatusDead, d.Status)
		require.Equal(t, a.At, d.UpdatedAt)
		require.Equal(t, "permanent", d.LastReason)
		require.Equal(t, a.Error, d.LastError)
		require.Empty(t, d.LeaseOwner)
	}
	require.Equal(t, 2, getDelivery(t, s, ids[0]).Attempts)
	require.Equal(t, []store.Attempt{first, a}, attemptLog(t, s, ids[0]))
	require.Equal(t, []store.Attempt{a}, attemptLog(t, s, ids[1]))
	requireUntouched(t, s, ids)
	require.NoError(t, s.RequeueDelivery(ctx(t), ids[1], base().Add(time.Hour)), "a batch dead letter is replayable")
}

func testReleaseDeliveries(t *testing.T, s store.Store) {
	ids, _ := batchFixture(t, s)
	before := getDelivery(t, s, ids[1])
	next := base().Add(45 * time.Second)
	n, err := s.ReleaseDeliveries(ctx(t), withMissing(ids), next)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for _, id := range ids[:2] {
		d := getDelivery(t, s, id)
		require.Equal(t, store.StatusPending, d.Status)
		require.Equal(t, next, d.NextAttemptAt)
		require.Empty(t, d.LeaseOwner)
		require.True(t, d.LeaseUntil.IsZero())
	}
	d := getDelivery(t, s, ids[1])
	require.Zero(t, d.Attempts, "a release is not an attempt")
	require.Equal(t, before.UpdatedAt, d.UpdatedAt, "as ReleaseDelivery, updated_at is left")
	require.Empty(t, attemptLog(t, s, ids[1]))
	require.Len(t, attemptLog(t, s, ids[0]), 1)
	requireUntouched(t, s, ids)
	require.ElementsMatch(t, ids[:2], claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: next, LeaseUntil: next.Add(time.Minute), Limit: 2}))
}

func testBatchValidation(t *testing.T, s store.Store) {
	ids := routed(t, s, 1, "r", 2, base())
	claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 10})
	a := store.Attempt{At: base(), Reason: "ok"}
	noTime := store.Attempt{Reason: "ok"}
	tests := []struct {
		name string
		call func() (int, error)
	}{
		{"complete without attempt time", func() (int, error) { return s.CompleteDeliveries(ctx(t), ids, noTime) }},
		{"retry without attempt time", func() (int, error) { return s.RetryDeliveries(ctx(t), ids, noTime, base()) }},
		{"retry without next", func() (int, error) { return s.RetryDeliveries(ctx(t), ids, a, time.Time{}) }},
		{"dead-letter without attempt time", func() (int, error) { return s.DeadLetterDeliveries(ctx(t), ids, noTime) }},
		{"release without next", func() (int, error) { return s.ReleaseDeliveries(ctx(t), ids, time.Time{}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.call()
			require.ErrorIs(t, err, store.ErrInvalid)
			require.NotErrorIs(t, err, store.ErrUnavailable)
			require.Zero(t, n)
		})
	}
	for _, id := range ids {
		d := getDelivery(t, s, id)
		require.Equal(t, store.StatusSending, d.Status, "refused calls changed nothing")
		require.Empty(t, attemptLog(t, s, id))
	}

	empty := []struct {
		name string
		call func() (int, error)
	}{
		{"complete", func() (int, error) { return s.CompleteDeliveries(ctx(t), nil, a) }},
		{"retry", func() (int, error) { return s.RetryDeliveries(ctx(t), []int64{}, a, base()) }},
		{"dead-letter", func() (int, error) { return s.DeadLetterDeliveries(ctx(t), nil, a) }},
		{"release", func() (int, error) { return s.ReleaseDeliveries(ctx(t), nil, base()) }},
	}
	for _, tc := range empty {
		t.Run("no ids/"+tc.name, func(t *testing.T) {
			n, err := tc.call()
			require.NoError(t, err)
			require.Zero(t, n)
		})
	}
}

// testBatchConcurrent: workers that lost their leases race to record
// outcomes for the same rows; each row takes exactly one outcome and one
// attempt, and the counts add up.
func testBatchConcurrent(t *testing.T, s store.Store) {
	var ids []int64
	for i := range 10 {
		ids = append(ids, routed(t, s, i, "r", 2, base())...)
	}
	require.Len(t, claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 100}), len(ids))
	const workers = 8
	counts := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			mine := slices.Clone(ids)
			if w%2 == 1 {
				slices.Reverse(mine)
			}
			a := store.Attempt{At: base().Add(time.Second), Reason: fmt.Sprintf("w%d", w)}
			<-start
			switch w % 4 {
			case 0:
				counts[w], errs[w] = s.CompleteDeliveries(ctx(t), mine, a)
			case 1:
				counts[w], errs[w] = s.DeadLetterDeliveries(ctx(t), mine, a)
			case 2:
				counts[w], errs[w] = s.RetryDeliveries(ctx(t), mine, a, base().Add(time.Hour))
			default:
				counts[w], errs[w] = s.ReleaseDeliveries(ctx(t), mine, base().Add(time.Hour))
			}
		})
	}
	close(start)
	wg.Wait()
	total := 0
	for w := range workers {
		require.NoError(t, errs[w])
		total += counts[w]
	}
	require.Equal(t, len(ids), total, "every row changed exactly once")
	for _, id := range ids {
		d := getDelivery(t, s, id)
		require.NotEqual(t, store.StatusSending, d.Status)
		log := attemptLog(t, s, id)
		require.LessOrEqual(t, len(log), 1, "delivery %d", id)
		require.Equal(t, len(log), d.Attempts, "delivery %d: the log matches the counter", id)
	}
}
