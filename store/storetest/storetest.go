// Package storetest is the contract test suite every store.Store
// implementation must pass. Each driver's tests call Run with a function
// that opens a fresh, empty store; the suite never assumes which database is
// behind the interface.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// Run runs every contract subtest. open must return a new, empty store for
// each call and arrange its cleanup on the t it is given; the suite closes
// the store itself only where the test is about Close.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"InsertEvent/RoundTrip", testInsertRoundTrip},
		{"InsertEvent/EmptyBodyAndHeaders", testInsertEmpty},
		{"InsertEvent/Validation", testInsertValidation},
		{"InsertEvent/Duplicate", testInsertDuplicate},
		{"InsertEvent/ConcurrentDuplicates", testInsertConcurrentDuplicates},
		{"InsertEvent/ConcurrentDistinct", testInsertConcurrentDistinct},
		{"InsertEvent/Routed", testInsertRouted},
		{"InsertEvent/RoutedNoDeliveries", testInsertRoutedNoDeliveries},
		{"InsertEvent/RoutedDuplicate", testInsertRoutedDuplicate},
		{"InsertEvent/RoutedValidation", testInsertRoutedValidation},
		{"InsertEvent/RoutedMany", testInsertRoutedMany},
		{"InsertEvent/RoutedConcurrent", testInsertRoutedConcurrent},
		{"Times/MillisecondUTC", testTimeRoundTrip},
		{"UnroutedEvents/OldestFirst", testUnroutedOldestFirst},
		{"Confirmation/DeferAndConfirm", testConfirmation},
		{"Confirmation/Mismatch", testConfirmationMismatch},
		{"GetEvents/Bulk", testGetEvents},
		{"ListEvents/Filter", testListEvents},
		{"FindEvents/Match", testFindEvents},
		{"Console/PageEventsCursor", testPageEventsCursor},
		{"Console/PageEventsFilters", testPageEventsFilters},
		{"Console/SourceActivity", testSourceActivity},
		{"Console/EventsPerHour", testEventsPerHour},
		{"Console/RobotActivity", testRobotActivity},
		{"RouteEvent/CreatesDeliveries", testRouteEvent},
		{"RouteEvent/Idempotent", testRouteEventIdempotent},
		{"RouteEvent/Validation", testRouteValidation},
		{"RouteEvent/ConcurrentWithReplay", testRouteConcurrent},
		{"Claim/DueOrderLimitRobot", testClaimDue},
		{"Claim/ExclusiveUnderConcurrency", testClaimExclusive},
		{"Claim/LeaseExpiryReclaim", testClaimLeaseExpiry},
		{"Claim/Validation", testClaimValidation},
		{"Delivery/Complete", testComplete},
		{"Delivery/Retry", testRetry},
		{"Delivery/Release", testRelease},
		{"Delivery/RetryThrottled", testRetryThrottled},
		{"Delivery/DeadLetterAndRequeue", testDeadAndRequeue},
		{"Delivery/WrongState", testWrongState},
		{"RequeueEvent/Replay", testRequeueEvent},
		{"RerouteEvent/MovesToNewRobot", testRerouteEvent},
		{"Message/Assign", testAssignMessage},
		{"Message/Lifecycle", testMessageIDLifecycle},
		{"Batch/Complete", testCompleteDeliveries},
		{"Batch/Retry", testRetryDeliveries},
		{"Batch/DeadLetter", testDeadLetterDeliveries},
		{"Batch/Release", testReleaseDeliveries},
		{"Batch/Validation", testBatchValidation},
		{"Batch/Concurrent", testBatchConcurrent},
		{"Budget/Windows", testBudgetWindows},
		{"Budget/Reserve", testReserveSend},
		{"Budget/StampAndCancel", testSendStamps},
		{"Budget/Block", testBlockRobot},
		{"Budget/ConcurrentReservers", testReserveConcurrent},
		{"Budget/Pruning", testSendPruning},
		{"Budget/Validation", testBudgetValidation},
		{"RobotState/CompareAndSet", testRobotState},
		{"RobotState/Concurrent", testRobotStateConcurrent},
		{"ListDeliveries", testListDeliveries},
		{"Stats", testStats},
		{"OutboxRobots", testOutboxRobots},
		{"Concurrency/FailedWriteIsolated", testFailedWriteIsolated},
		{"ChatOps/ClaimChatMessage", testClaimChatMessage},
		{"ChatOps/ClaimChatMessageConcurrent", testClaimChatMessageConcurrent},
		{"Lease/OneHolder", testLease},
		{"Lease/Concurrent", testLeaseConcurrent},
		{"ChatOps/Audit", testAudit},
		{"ChatOps/AckEvent", testAckEvent},
		{"ChatOps/AckEventConcurrent", testAckEventConcurrent},
		{"ChatOps/ListUnacked", testListUnacked},
		{"ChatOps/RecordSlip", testRecordSlip},
		{"ChatOps/RecordSlipConcurrent", testRecordSlipConcurrent},
		{"ChatOps/FindEventsBySlipReference", testFindEventsBySlipReference},
		{"Retention/Purge", testPurge},
		{"Retention/Yields", testPurgeYields},
		{"Retention/Validation", testPurgeValidation},
		{"NotFound", testNotFound},
		{"Ping", testPing},
		{"Unavailable/CanceledContext", testUnavailableCanceled},
		{"Unavailable/AfterClose", testUnavailableAfterClose},
	}
	tests = append(tests, scheduleTests()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// base is the fixed instant every test's clock starts from.
func base() time.Time { return time.Date(2026, 5, 17, 3, 4, 5, 0, time.UTC) }

// allBytes is every byte value once: not valid UTF-8, NUL included.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// newEvent builds a valid event numbered i, received at base()+i seconds.
func newEvent(i int) store.NewEvent {
	return store.NewEvent{
		ID:     fmt.Sprintf("evt_%04d", i),
		Source: "opn",
		Event: bankhooks.Event{
			Provider:   "omise",
			ID:         fmt.Sprintf("evnt_test_%04d", i),
			Type:       "charge.complete",
			Kind:       bankhooks.KindPaymentSucceeded,
			Amount:     int64(5000 + i),
			Currency:   "THB",
			Reference:  fmt.Sprintf("chrg_%04d", i),
			OccurredAt: base().Add(time.Duration(i)*time.Second - time.Minute),
		},
		ReceivedAt: base().Add(time.Duration(i) * time.Second),
		RemoteIP:   "203.0.113.7",
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       []byte(fmt.Sprintf(`{"id":"evnt_test_%04d"}`, i)),
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func mustInsert(t *testing.T, s store.Store, e store.NewEvent) {
	t.Helper()
	res, err := s.InsertEvent(ctx(t), e)
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	require.Equal(t, e.ID, res.ID)
}

// routed inserts event i and routes it to the given robot under route names
// "r0", "r1" …, due at now. It returns the delivery ids in route order.
func routed(t *testing.T, s store.Store, i int, robot string, routes int, now time.Time) []int64 {
	t.Helper()
	e := newEvent(i)
	mustInsert(t, s, e)
	var ds []store.NewDelivery
	for r := range routes {
		ds = append(ds, store.NewDelivery{Route: fmt.Sprintf("r%d", r), Robot: robot, Spec: []byte(fmt.Sprintf("spec-%d-%d", i, r))})
	}
	require.NoError(t, s.RouteEvent(ctx(t), e.ID, ds, now))
	list, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{EventID: e.ID})
	require.NoError(t, err)
	require.Len(t, list, routes)
	byRoute := map[string]int64{}
	for _, d := range list {
		byRoute[d.Route] = d.ID
	}
	ids := make([]int64, routes)
	for r := range routes {
		ids[r] = byRoute[fmt.Sprintf("r%d", r)]
		require.NotZero(t, ids[r])
	}
	return ids
}

// claimOne claims exactly the one due delivery of robot at now.
func claimOne(t *testing.T, s store.Store, robot, owner string, now time.Time) store.Delivery {
	t.Helper()
	got, err := s.ClaimDeliveries(ctx(t), store.Claim{Robot: robot, Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
	require.NoError(t, err)
	require.Len(t, got, 1)
	return got[0]
}

func claimIDs(t *testing.T, s store.Store, c store.Claim) []int64 {
	t.Helper()
	got, err := s.ClaimDeliveries(ctx(t), c)
	require.NoError(t, err)
	ids := make([]int64, 0, len(got))
	for _, d := range got {
		ids = append(ids, d.ID)
	}
	return ids
}

func getDelivery(t *testing.T, s store.Store, id int64) store.Delivery {
	t.Helper()
	d, err := s.GetDelivery(ctx(t), id)
	require.NoError(t, err)
	return d
}

func requireUTC(t *testing.T, name string, tm time.Time) {
	t.Helper()
	if !tm.IsZero() {
		require.Equal(t, time.UTC, tm.Location(), "%s must be read back in UTC", name)
	}
}

func testInsertRoundTrip(t *testing.T, s store.Store) {
	bangkok := time.FixedZone("ICT", 7*3600)
	e := newEvent(1)
	e.Event.Account = "123-4-56789-0"
	e.Event.Counterparty = "สมชาย ใจดี"
	e.Event.Description = "订单 #42 \u0000 with NUL"
	e.Event.FailureCode = "insufficient_fund"
	e.Event.FailureMessage = "insufficient funds"
	e.Event.Livemode = true
	e.Event.OccurredAt = time.Date(2026, 5, 17, 10, 0, 0, 123456789, bangkok)
	e.ReceivedAt = time.Date(2026, 5, 17, 10, 0, 1, 987654321, bangkok)
	e.RemoteIP = "2001:db8::1"
	e.Headers = map[string]string{
		"Content-Type":    "application/json; charset=utf-8",
		"User-Agent":      "Omise/2019-05-29",
		"X-Request-Id":    "req_123",
		"X-Unicode-Value": "ทดสอบ 测试 ✓",
		"X-Empty":         "",
	}
	e.Body = append([]byte(`{"object":"event"}`), allBytes()...)

	mustInsert(t, s, e)
	got, err := s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)

	want := e.Event
	want.OccurredAt = time.Date(2026, 5, 17, 3, 0, 0, 123000000, time.UTC)
	require.Equal(t, store.StoredEvent{
		ID:         e.ID,
		Source:     e.Source,
		Event:      want,
		ReceivedAt: time.Date(2026, 5, 17, 3, 0, 1, 987000000, time.UTC),
		RemoteIP:   e.RemoteIP,
		Headers:    e.Headers,
		Body:       e.Body,
	}, got)
	require.True(t, got.RoutedAt.IsZero())
	requireUTC(t, "ReceivedAt", got.ReceivedAt)
	requireUTC(t, "OccurredAt", got.Event.OccurredAt)
}

func testInsertEmpty(t *testing.T, s store.Store) {
	e := newEvent(1)
	e.Headers = nil
	e.Body = nil
	e.RemoteIP = ""
	e.Event.OccurredAt = time.Time{}
	e.Event.Currency = ""
	e.Event.Amount = 0
	mustInsert(t, s, e)
	got, err := s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)
	require.Empty(t, got.Headers)
	require.Empty(t, got.Body)
	require.Empty(t, got.RemoteIP)
	require.True(t, got.Event.OccurredAt.IsZero(), "a zero OccurredAt stays zero, got %v", got.Event.OccurredAt)
	require.Equal(t, e.Event, got.Event)
}

func testInsertValidation(t *testing.T, s store.Store) {
	tests := []struct {
		name   string
		mutate func(e *store.NewEvent)
	}{
		{"empty id", func(e *store.NewEvent) { e.ID = "" }},
		{"empty source", func(e *store.NewEvent) { e.Source = "" }},
		{"empty provider event id", func(e *store.NewEvent) { e.Event.ID = "" }},
		{"zero received at", func(e *store.NewEvent) { e.ReceivedAt = time.Time{} }},
		{"source not utf-8", func(e *store.NewEvent) { e.Source = "op\xffn" }},
		{"provider event id with NUL", func(e *store.NewEvent) { e.Event.ID = "evnt\x00x" }},
		{"id not utf-8", func(e *store.NewEvent) { e.ID = "\xc3\x28" }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEvent(i)
			tc.mutate(&e)
			_, err := s.InsertEvent(ctx(t), e)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.NotErrorIs(t, err, store.ErrUnavailable)
		})
	}
	st, err := s.Stats(ctx(t))
	require.NoError(t, err)
	require.Zero(t, st.Unrouted, "a refused event must not be stored")
}

func testInsertDuplicate(t *testing.T, s store.Store) {
	first := newEvent(1)
	mustInsert(t, s, first)

	again := newEvent(1)
	again.ID = "evt_second_delivery"
	again.Body = []byte(`{"retry":true}`)
	again.ReceivedAt = first.ReceivedAt.Add(time.Hour)
	res, err := s.InsertEvent(ctx(t), again)
	require.NoError(t, err)
	require.Equal(t, store.InsertResult{ID: first.ID, Duplicate: true}, res)

	_, err = s.GetEvent(ctx(t), again.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "the duplicate must not be stored under its own id")
	got, err := s.GetEvent(ctx(t), first.ID)
	require.NoError(t, err)
	require.Equal(t, first.Body, got.Body, "the first body is kept")

	other := newEvent(1)
	other.ID = "evt_other_source"
	other.Source = "stripe"
	res, err = s.InsertEvent(ctx(t), other)
	require.NoError(t, err)
	require.Equal(t, store.InsertResult{ID: other.ID}, res, "the same provider id from another source is a new event")
}

func testInsertConcurrentDuplicates(t *testing.T, s store.Store) {
	const n = 64
	results := make([]store.InsertResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			e := newEvent(7)
			e.ID = fmt.Sprintf("evt_race_%02d", i)
			<-start
			results[i], errs[i] = s.InsertEvent(ctx(t), e)
		})
	}
	close(start)
	wg.Wait()

	fresh := 0
	for i := range n {
		require.NoError(t, errs[i], "goroutine %d", i)
		if !results[i].Duplicate {
			fresh++
			require.Equal(t, fmt.Sprintf("evt_race_%02d", i), results[i].ID)
		}
	}
	require.Equal(t, 1, fresh, "exactly one insert wins")
	for i := range n {
		require.Equal(t, results[0].ID, results[i].ID, "every caller gets the winner's id")
	}
	_, err := s.GetEvent(ctx(t), results[0].ID)
	require.NoError(t, err)
	st, err := s.Stats(ctx(t))
	require.NoError(t, err)
	require.Equal(t, 1, st.Unrouted)
}

func testInsertConcurrentDistinct(t *testing.T, s store.Store) {
	const goroutines, each = 64, 4
	errs := make(chan error, goroutines*each)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for k := range each {
				res, err := s.InsertEvent(ctx(t), newEvent(g*each+k))
				if err == nil && res.Duplicate {
					err = errors.New("distinct event reported as duplicate")
				}
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st, err := s.Stats(ctx(t))
	require.NoError(t, err)
	require.Equal(t, goroutines*each, st.Unrouted)
}

func testTimeRoundTrip(t *testing.T, s store.Store) {
	zone := time.FixedZone("X", -5*3600-30*60)
	tests := []struct {
		name string
		in   time.Time
	}{
		{"nanoseconds in a non-UTC zone", time.Date(2026, 1, 2, 3, 4, 5, 678912345, zone)},
		{"exact millisecond", time.Date(2026, 12, 31, 23, 59, 59, 999000000, time.UTC)},
		{"before 1970", time.Date(1969, 7, 20, 20, 17, 40, 500999999, time.UTC)},
		{"far future", time.Date(2199, 3, 4, 5, 6, 7, 8000000, time.UTC)},
		{"local monotonic reading", time.Now().Add(-time.Hour)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.in.Truncate(time.Millisecond).UTC()
			e := newEvent(i)
			e.ReceivedAt = tc.in
			e.Event.OccurredAt = tc.in
			mustInsert(t, s, e)
			got, err := s.GetEvent(ctx(t), e.ID)
			require.NoError(t, err)
			require.Equal(t, want, got.ReceivedAt)
			require.Equal(t, want, got.Event.OccurredAt)
			requireUTC(t, "ReceivedAt", got.ReceivedAt)

			robot := fmt.Sprintf("robot-%d", i)
			require.NoError(t, s.RouteEvent(ctx(t), e.ID, []store.NewDelivery{{Route: "r", Robot: robot}}, tc.in))
			got, err = s.GetEvent(ctx(t), e.ID)
			require.NoError(t, err)
			require.Equal(t, want, got.RoutedAt)

			lease := tc.in.Add(90*time.Second + 1234567*time.Nanosecond)
			claimed, err := s.ClaimDeliveries(ctx(t), store.Claim{Robot: robot, Owner: "w", Now: tc.in, LeaseUntil: lease, Limit: 1})
			require.NoError(t, err)
			require.Len(t, claimed, 1)
			d := claimed[0]
			require.Equal(t, want, d.NextAttemptAt)
			require.Equal(t, want, d.CreatedAt)
			require.Equal(t, want, d.UpdatedAt)
			require.Equal(t, lease.Truncate(time.Millisecond).UTC(), d.LeaseUntil)
			for name, v := range map[string]time.Time{"NextAttemptAt": d.NextAttemptAt, "LeaseUntil": d.LeaseUntil, "CreatedAt": d.CreatedAt} {
				requireUTC(t, name, v)
			}

			at := tc.in.Add(2*time.Second + 999999*time.Nanosecond)
			require.NoError(t, s.CompleteDelivery(ctx(t), d.ID, store.Attempt{At: at, Duration: 1500*time.Millisecond + 999*time.Microsecond, Reason: "ok"}))
			d = getDelivery(t, s, d.ID)
			require.Equal(t, at.Truncate(time.Millisecond).UTC(), d.SentAt)
			require.Equal(t, at.Truncate(time.Millisecond).UTC(), d.UpdatedAt)
			requireUTC(t, "SentAt", d.SentAt)
			log, err := s.Attempts(ctx(t), d.ID)
			require.NoError(t, err)
			require.Equal(t, []store.Attempt{{At: at.Truncate(time.Millisecond).UTC(), Duration: 1500 * time.Millisecond, Reason: "ok"}}, log)
		})
	}
}

// testGetEvents: a bulk read over several statements returns each known
// event once, parsed, without body or headers; unknown ids are left out.
func testGetEvents(t *testing.T, s store.Store) {
	var ids []string
	for i := range 250 {
		e := newEvent(i)
		mustInsert(t, s, e)
		ids = append(ids, e.ID)
	}
	got, err := s.GetEvents(ctx(t), append(ids, "evt_missing"))
	require.NoError(t, err)
	require.Len(t, got, 250)
	for i, id := range ids {
		ev, ok := got[id]
		require.True(t, ok, id)
		require.Equal(t, newEvent(i).Event.ID, ev.Event.ID)
		require.Equal(t, int64(5000+i), ev.Event.Amount)
		require.True(t, newEvent(i).ReceivedAt.Equal(ev.ReceivedAt))
		require.Empty(t, ev.Body)
	}
	empty, err := s.GetEvents(ctx(t), nil)
	require.NoError(t, err)
	require.Empty(t, empty)
}

func testUnroutedOldestFirst(t *testing.T, s store.Store) {
	for _, i := range []int{5, 2, 9, 1, 7} {
		mustInsert(t, s, newEvent(i))
	}
	ids := func(evs []store.StoredEvent) []string {
		out := make([]string, 0, len(evs))
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	got, err := s.UnroutedEvents(ctx(t), 3)
	require.NoError(t, err)
	require.Equal(t, []string{"evt_0001", "evt_0002", "evt_0005"}, ids(got))
	require.Equal(t, newEvent(1).Event, got[0].Event, "unrouted events carry the parsed event")
	require.Equal(t, "opn", got[0].Source)
	require.Equal(t, newEvent(1).ReceivedAt, got[0].ReceivedAt)
	require.Empty(t, got[0].Body, "routing never needs the raw body: it is not loaded (GetEvent has it)")
	require.Empty(t, got[0].Headers)

	require.NoError(t, s.RouteEvent(ctx(t), "evt_0002", nil, base()))
	got, err = s.UnroutedEvents(ctx(t), 10)
	require.NoError(t, err)
	require.Equal(t, []string{"evt_0001", "evt_0005", "evt_0007", "evt_0009"}, ids(got))

	e, err := s.GetEvent(ctx(t), "evt_0002")
	require.NoError(t, err)
	require.Equal(t, base(), e.RoutedAt, "routing with no deliveries still marks the event routed")
}

func testRouteEvent(t *testing.T, s store.Store) {
	e := newEvent(1)
	mustInsert(t, s, e)
	now := base().Add(time.Minute)
	spec := append([]byte(`{"template":"payment"}`), 0xff, 0x00)
	err := s.RouteEvent(ctx(t), e.ID, []store.NewDelivery{
		{Route: "payments", Robot: "finance-th", Spec: spec},
		{Route: "ops", Robot: "ops"},
	}, now)
	require.NoError(t, err)

	list, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{EventID: e.ID})
	require.NoError(t, err)
	require.Len(t, list, 2)
	byRoute := map[string]store.Delivery{}
	for _, d := range list {
		byRoute[d.Route] = d
	}
	d := byRoute["payments"]
	require.NotZero(t, d.ID)
	require.Equal(t, store.Delivery{
		ID: d.ID, EventID: e.ID, Route: "payments", Robot: "finance-th", Spec: spec,
		Status: store.StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}, d)
	require.Equal(t, "ops", byRoute["ops"].Robot)
	require.Empty(t, byRoute["ops"].Spec)

	got, err := s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, now, got.RoutedAt)
	unrouted, err := s.UnroutedEvents(ctx(t), 10)
	require.NoError(t, err)
	require.Empty(t, unrouted)
}

func testRouteEventIdempotent(t *testing.T, s store.Store) {
	ids := routed(t, s, 1, "finance-th", 1, base())
	claimed := claimOne(t, s, "finance-th", "w1", base())
	require.Equal(t, ids[0], claimed.ID)

	// Routing again (e.g. after a crash between routing and the caller's
	// bookkeeping) leaves the existing row alone and adds only new routes.
	later := base().Add(time.Hour)
	err := s.RouteEvent(ctx(t), newEvent(1).ID, []store.NewDelivery{
		{Route: "r0", Robot: "finance-th", Spec: []byte("changed")},
		{Route: "extra", Robot: "ops"},
	}, later)
	require.NoError(t, err)

	d := getDelivery(t, s, ids[0])
	require.Equal(t, store.StatusSending, d.Status, "an existing (event, route) row is untouched")
	require.Equal(t, []byte("spec-1-0"), d.Spec)
	list, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{EventID: newEvent(1).ID})
	require.NoError(t, err)
	require.Len(t, list, 2)
	ev, err := s.GetEvent(ctx(t), newEvent(1).ID)
	require.NoError(t, err)
	require.Equal(t, base(), ev.RoutedAt, "the first routing time is kept")
}

func testRouteValidation(t *testing.T, s store.Store) {
	e := newEvent(1)
	mustInsert(t, s, e)
	tests := []struct {
		name string
		ds   []store.NewDelivery
	}{
		{"empty route", []store.NewDelivery{{Route: "ok", Robot: "a"}, {Route: "", Robot: "a"}}},
		{"empty robot", []store.NewDelivery{{Route: "x", Robot: ""}}},
		{"robot not utf-8", []store.NewDelivery{{Route: "x", Robot: "\xff"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.RouteEvent(ctx(t), e.ID, tc.ds, base())
			require.ErrorIs(t, err, store.ErrInvalid)
			list, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{EventID: e.ID})
			require.NoError(t, err)
			require.Empty(t, list, "nothing is created when any delivery is refused")
			got, err := s.GetEvent(ctx(t), e.ID)
			require.NoError(t, err)
			require.True(t, got.RoutedAt.IsZero(), "the event stays unrouted")
		})
	}
}

// testRouteConcurrent runs transactions that read before they write
// (RouteEvent, RequeueEvent) from 64 goroutines at once, with claims in
// between: none may fail with a lock error (SQLite: a deferred transaction
// upgrading its read lock gets SQLITE_BUSY).
func testRouteConcurrent(t *testing.T, s store.Store) {
	const n = 64
	for i := range n {
		mustInsert(t, s, newEvent(i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			id := newEvent(i).ID
			ds := []store.NewDelivery{{Route: "a", Robot: "r"}, {Route: "b", Robot: "r"}}
			errs <- s.RouteEvent(ctx(t), id, ds, base())
			_, err := s.RequeueEvent(ctx(t), id, base().Add(time.Second))
			errs <- err
			_, err = s.ClaimDeliveries(ctx(t), store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 1})
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st, err := s.Stats(ctx(t))
	require.NoError(t, err)
	require.Zero(t, st.Unrouted)
	require.Equal(t, 2*n, st.Pending+st.Sending)
}

func testClaimDue(t *testing.T, s store.Store) {
	// Event i is due at base()+i minutes.
	var a []int64
	for i := range 5 {
		a = append(a, routed(t, s, i, "a", 1, base().Add(time.Duration(i)*time.Minute))[0])
	}
	b := routed(t, s, 10, "b", 1, base())[0]

	now := base().Add(3 * time.Minute)
	lease := now.Add(time.Minute)
	got, err := s.ClaimDeliveries(ctx(t), store.Claim{Robot: "a", Owner: "w1", Now: now, LeaseUntil: lease, Limit: 3})
	require.NoError(t, err)
	require.Len(t, got, 3)
	for k, d := range got {
		require.Equal(t, a[k], d.ID, "oldest due first")
		require.Equal(t, store.StatusSending, d.Status)
		require.Equal(t, "w1", d.LeaseOwner)
		require.Equal(t, lease, d.LeaseUntil)
		require.Equal(t, now, d.UpdatedAt)
		require.Zero(t, d.Attempts, "a claim is not an attempt")
		require.Equal(t, "a", d.Robot)
		require.Equal(t, []byte(fmt.Sprintf("spec-%d-0", k)), d.Spec)
	}
	stored := getDelivery(t, s, a[0])
	require.Equal(t, store.StatusSending, stored.Status)
	require.Equal(t, "w1", stored.LeaseOwner)

	// a[3] is due exactly at now (next_attempt_at <= Now); a[4] is not yet due.
	require.Equal(t, []int64{a[3]}, claimIDs(t, s, store.Claim{Robot: "a", Owner: "w2", Now: now, LeaseUntil: lease, Limit: 10}))
	require.Empty(t, claimIDs(t, s, store.Claim{Robot: "a", Owner: "w2", Now: now, LeaseUntil: lease, Limit: 10}))
	require.Equal(t, []int64{b}, claimIDs(t, s, store.Claim{Robot: "b", Owner: "w2", Now: now, LeaseUntil: lease, Limit: 10}))
	require.Equal(t, store.StatusPending, getDelivery(t, s, a[4]).Status)
}

func testClaimExclusive(t *testing.T, s store.Store) {
	const rows, workers = 120, 8
	for i := range rows / 2 {
		routed(t, s, i, "busy", 2, base())
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var dup []int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			owner := fmt.Sprintf("w%d", w)
			<-start
			for {
				got, err := s.ClaimDeliveries(ctx(t), store.Claim{Robot: "busy", Owner: owner, Now: base(), LeaseUntil: base().Add(time.Hour), Limit: 3})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					if _, ok := seen[d.ID]; ok {
						dup = append(dup, d.ID)
					}
					seen[d.ID] = owner
					if d.LeaseOwner != owner {
						dup = append(dup, d.ID)
					}
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Empty(t, dup, "no row is handed to two claimers")
	require.Len(t, seen, rows)
	for id, owner := range seen {
		require.Equal(t, owner, getDelivery(t, s, id).LeaseOwner)
	}
	st, err := s.Stats(ctx(t))
	require.NoError(t, err)
	require.Equal(t, rows, st.Sending)
	require.Zero(t, st.Pending)
}

func testClaimLeaseExpiry(t *testing.T, s store.Store) {
	id := routed(t, s, 1, "r", 1, base())[0]
	lease := base().Add(90 * time.Second)
	require.Equal(t, []int64{id}, claimIDs(t, s, store.Claim{Robot: "r", Owner: "crashed", Now: base(), LeaseUntil: lease, Limit: 1}))

	// The worker "crashes": it never completes. Before the lease ends the row
	// belongs to it; from LeaseUntil on it is due again for anyone.
	require.Empty(t, claimIDs(t, s, store.Claim{Robot: "r", Owner: "other", Now: lease.Add(-time.Millisecond), LeaseUntil: lease.Add(time.Hour), Limit: 1}))
	newLease := lease.Add(90 * time.Second)
	got, err := s.ClaimDeliveries(ctx(t), store.Claim{Robot: "r", Owner: "other", Now: lease, LeaseUntil: newLease, Limit: 1})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, id, got[0].ID)
	require.Equal(t, "other", got[0].LeaseOwner)
	require.Equal(t, newLease, got[0].LeaseUntil)
	require.Zero(t, got[0].Attempts, "the crashed attempt left no record")

	require.NoError(t, s.CompleteDelivery(ctx(t), id, store.Attempt{At: lease.Add(time.Second), Reason: "ok"}))
	d := getDelivery(t, s, id)
	require.Equal(t, store.StatusSent, d.Status)
	require.Empty(t, claimIDs(t, s, store.Claim{Robot: "r", Owner: "third", Now: newLease.Add(time.Hour), LeaseUntil: newLease.Add(2 * time.Hour), Limit: 1}),
		"a sent row is never reclaimed")
}

func testClaimValidation(t *testing.T, s store.Store) {
	routed(t, s, 1, "r", 1, base())
	ok := store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 1}
	tests := []struct {
		name   string
		mutate func(c *store.Claim)
	}{
		{"zero limit", func(c *store.Claim) { c.Limit = 0 }},
		{"negative limit", func(c *store.Claim) { c.Limit = -1 }},
		{"empty robot", func(c *store.Claim) { c.Robot = "" }},
		{"empty owner", func(c *store.Claim) { c.Owner = "" }},
		{"zero now", func(c *store.Claim) { c.Now = time.Time{} }},
		{"lease not after now", func(c *store.Claim) { c.LeaseUntil = c.Now }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			_, err := s.ClaimDeliveries(ctx(t), c)
			require.ErrorIs(t, err, store.ErrInvalid)
		})
	}
	require.Len(t, claimIDs(t, s, ok), 1, "refused claims took nothing")
}

func testComplete(t *testing.T, s store.Store) {
	id := routed(t, s, 1, "r", 1, base())[0]
	claimOne(t, s, "r", "w", base())
	at := base().Add(2 * time.Second)
	require.NoError(t, s.CompleteDelivery(ctx(t), id, store.Attempt{At: at, Duration: 250 * time.Millisecond, Reason: "ok"}))

	d := getDelivery(t, s, id)
	require.Equal(t, store.StatusSent, d.Status)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, at, d.SentAt)
	require.Equal(t, at, d.UpdatedAt)
	require.Empty(t, d.LeaseOwner)
	require.True(t, d.LeaseUntil.IsZero())
	log, err := s.Attempts(ctx(t), id)
	require.NoError(t, err)
	require.Equal(t, []store.Attempt{{At: at, Duration: 250 * time.Millisecond, Reason: "ok"}}, log)

	err = s.CompleteDelivery(ctx(t), id, store.Attempt{At: at, Reason: "ok"})
	require.ErrorIs(t, err, store.ErrConflict, "a sent row cannot be completed twice")
	log, err = s.Attempts(ctx(t), id)
	require.NoError(t, err)
	require.Len(t, log, 1, "a refused transition records no attempt")
}

func testRetry(t *testing.T, s store.Store) {
	id := routed(t, s, 1, "r", 1, base())[0]
	var want []store.Attempt
	now := base()
	for n := 1; n <= 3; n++ {
		claimOne(t, s, "r", "w", now)
		a := store.Attempt{At: now.Add(time.Second), Duration: time.Duration(n) * time.Second, Reason: "server", Error: fmt.Sprintf("http 50%d", n)}
		next := now.Add(time.Duration(n) * time.Minute)
		require.NoError(t, s.RetryDelivery(ctx(t), id, a, next))
		want = append(want, a)

		d := getDelivery(t, s, id)
		require.Equal(t, store.StatusPending, d.Status)
		require.Equal(t, n, d.Attempts)
		require.Equal(t, next, d.NextAttemptAt)
		require.Equal(t, "server", d.LastReason)
		require.Equal(t, a.Error, d.LastError)
		require.Empty(t, d.LeaseOwner)
		require.True(t, d.LeaseUntil.IsZero())
		require.True(t, d.SentAt.IsZero())

		require.Empty(t, claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: next.Add(-time.Millisecond), LeaseUntil: next.Add(time.Hour), Limit: 1}),
			"not due before next")
		now = next
	}
	log, err := s.Attempts(ctx(t), id)
	require.NoError(t, err)
	require.Equal(t, want, log, "attempt log oldest first")
}

func testRelease(t *testing.T, s store.Store) {
	id := routed(t, s, 1, "r", 1, base())[0]
	claimOne(t, s, "r", "w", base())
	next := base().Add(45 * time.Second)
	require.NoError(t, s.ReleaseDelivery(ctx(t), id, next))

	d := getDelivery(t, s, id)
	require.Equal(t, store.StatusPending, d.Status)
	require.Zero(t, d.Attempts, "a release is not an attempt")
	require.Equal(t, next, d.NextAttemptAt)
	require.Empty(t, d.LeaseOwner)
	require.True(t, d.LeaseUntil.IsZero())
	log, err := s.Attempts(ctx(t), id)
	require.NoError(t, err)
	require.Empty(t, log)
	require.Empty(t, claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: next.Add(-time.Millisecond), LeaseUntil: next.Add(time.Hour), Limit: 1}))
	require.Equal(t, []int64{id}, claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: next, LeaseUntil: next.Add(time.Hour), Limit: 1}))
}

func testDeadAndRequeue(t *testing.T, s store.Store) {
	id := routed(t, s, 1, "r", 1, base())[0]
	claimOne(t, s, "r", "w", base())
	first := store.Attempt{At: base().Add(time.Second), Duration: time.Second, Reason: "network", Error: "dial tcp: i/o timeout"}
	require.NoError(t, s.RetryDelivery(ctx(t), id, first, base().Add(time.Minute)))
	claimOne(t, s, "r", "w", base().Add(time.Minute))
	fatal := store.Attempt{At: base().Add(61 * time.Second), Duration: 2 * time.Second, Reason: "permanent", Error: "errcode 310000 keywords not in content"}
	require.NoError(t, s.DeadLetter(ctx(t), id, fatal))

	d := getDelivery(t, s, id)
	require.Equal(t, store.StatusDead, d.Status)
	require.Equal(t, 2, d.Attempts)
	require.Equal(t, "permanent", d.LastReason)
	require.Equal(t, fatal.Error, d.LastError)
	require.Empty(t, d.LeaseOwner)
	require.Empty(t, claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: base().Add(24 * time.Hour), LeaseUntil: base().Add(25 * time.Hour), Limit: 1}),
		"a dead row is never claimed")

	now := base().Add(2 * time.Hour)
	require.NoError(t, s.RequeueDelivery(ctx(t), id, now))
	d = getDelivery(t, s, id)
	require.Equal(t, store.StatusPending, d.Status)
	require.Equal(t, now, d.NextAttemptAt)
	require.Equal(t, now, d.UpdatedAt)
	require.Equal(t, 2, d.Attempts, "requeue keeps the attempt count")

	err := s.RequeueDelivery(ctx(t), id, now)
	require.ErrorIs(t, err, store.ErrConflict, "only a dead delivery can be requeued")

	claimOne(t, s, "r", "w", now)
	next := store.Attempt{At: now.Add(time.Second), Reason: "ok"}
	require.NoError(t, s.CompleteDelivery(ctx(t), id, next))
	log, err := s.Attempts(ctx(t), id)
	require.NoError(t, err)
	require.Equal(t, []store.Attempt{first, fatal, next}, log, "the attempt history survives a requeue")
	require.Equal(t, 3, getDelivery(t, s, id).Attempts)
}

func testWrongState(t *testing.T, s store.Store) {
	ids := routed(t, s, 1, "r", 2, base())
	pending := ids[0]
	a := store.Attempt{At: base(), Reason: "ok"}
	tests := []struct {
		name string
		call func() error
	}{
		{"complete pending", func() error { return s.CompleteDelivery(ctx(t), pending, a) }},
		{"retry pending", func() error { return s.RetryDelivery(ctx(t), pending, a, base()) }},
		{"release pending", func() error { return s.ReleaseDelivery(ctx(t), pending, base()) }},
		{"dead-letter pending", func() error { return s.DeadLetter(ctx(t), pending, a) }},
		{"requeue pending", func() error { return s.RequeueDelivery(ctx(t), pending, base()) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.call(), store.ErrConflict)
			d := getDelivery(t, s, pending)
			require.Equal(t, store.StatusPending, d.Status)
			require.Zero(t, d.Attempts)
		})
	}
	log, err := s.Attempts(ctx(t), pending)
	require.NoError(t, err)
	require.Empty(t, log)
}

func testRequeueEvent(t *testing.T, s store.Store) {
	ids := routed(t, s, 1, "r", 4, base())
	got := claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 4})
	require.ElementsMatch(t, ids, got)
	at := base().Add(time.Second)
	require.NoError(t, s.CompleteDelivery(ctx(t), ids[0], store.Attempt{At: at, Reason: "ok"}))
	require.NoError(t, s.DeadLetter(ctx(t), ids[1], store.Attempt{At: at, Reason: "permanent", Error: "bad"}))
	require.NoError(t, s.RetryDelivery(ctx(t), ids[2], store.Attempt{At: at, Reason: "server"}, base().Add(time.Hour)))
	// ids[3] stays sending.

	other := routed(t, s, 2, "r", 1, base())[0]

	now := base().Add(10 * time.Minute)
	n, err := s.RequeueEvent(ctx(t), newEvent(1).ID, now)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	for k, id := range ids {
		d := getDelivery(t, s, id)
		require.Equal(t, store.StatusPending, d.Status, "delivery %d", k)
		require.Equal(t, now, d.NextAttemptAt, "delivery %d", k)
		require.Empty(t, d.LeaseOwner, "delivery %d", k)
		require.True(t, d.LeaseUntil.IsZero(), "delivery %d", k)
	}
	require.Equal(t, 1, getDelivery(t, s, ids[0]).Attempts, "replay keeps attempts")
	log, err := s.Attempts(ctx(t), ids[1])
	require.NoError(t, err)
	require.Len(t, log, 1, "replay keeps the attempt log")

	require.Equal(t, base(), getDelivery(t, s, other).NextAttemptAt, "other events are untouched")

	got = claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
	require.ElementsMatch(t, append(slices.Clone(ids), other), got)

	e := newEvent(3)
	mustInsert(t, s, e)
	n, err = s.RequeueEvent(ctx(t), e.ID, now)
	require.NoError(t, err)
	require.Zero(t, n, "an event without deliveries replays nothing")
}

func testListDeliveries(t *testing.T, s store.Store) {
	var all []int64
	for i := range 3 {
		all = append(all, routed(t, s, i, "r", 2, base())...)
	}
	require.Equal(t, all[:1], claimIDs(t, s, store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 1}))
	require.NoError(t, s.DeadLetter(ctx(t), all[0], store.Attempt{At: base(), Reason: "permanent"}))
	sort.Slice(all, func(i, j int) bool { return all[i] > all[j] })

	ids := func(ds []store.Delivery) []int64 {
		out := make([]int64, 0, len(ds))
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    store.DeliveryFilter
		want []int64
	}{
		{"all newest first", store.DeliveryFilter{}, all},
		{"limit", store.DeliveryFilter{Limit: 2}, all[:2]},
		{"by status", store.DeliveryFilter{Status: store.StatusDead}, all[len(all)-1:]},
		{"pending", store.DeliveryFilter{Status: store.StatusPending}, all[:len(all)-1]},
		{"by event", store.DeliveryFilter{EventID: newEvent(1).ID}, all[2:4]},
		{"by event and status", store.DeliveryFilter{EventID: newEvent(0).ID, Status: store.StatusDead}, all[5:]},
		{"unknown event", store.DeliveryFilter{EventID: "nope"}, []int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListDeliveries(ctx(t), tc.f)
			require.NoError(t, err)
			require.Equal(t, tc.want, ids(got))
		})
	}
}

func testStats(t *testing.T, s store.Store) {
	st, err := s.Stats(ctx(t))
	require.NoError(t, err)
	require.Equal(t, store.Stats{}, st, "an empty store")

	mustInsert(t, s, newEvent(100)) // unrouted
	mustInsert(t, s, newEvent(101)) // unrouted
	late := routed(t, s, 1, "r", 1, base().Add(time.Hour))[0]
	early := routed(t, s, 2, "q", 3, base().Add(-time.Hour))
	sent := routed(t, s, 3, "s", 1, base())[0]
	_ = late

	// q: one sending, one dead, one left pending at base()-1h.
	got := claimIDs(t, s, store.Claim{Robot: "q", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 2})
	require.Len(t, got, 2)
	require.NoError(t, s.DeadLetter(ctx(t), got[1], store.Attempt{At: base(), Reason: "permanent"}))
	claimOne(t, s, "s", "w", base())
	require.NoError(t, s.CompleteDelivery(ctx(t), sent, store.Attempt{At: base(), Reason: "ok"}))

	st, err = s.Stats(ctx(t))
	require.NoError(t, err)
	require.Equal(t, store.Stats{
		Pending:        2,
		Sending:        1,
		Dead:           1,
		Unrouted:       2,
		OldestDueSince: getDelivery(t, s, early[2]).NextAttemptAt,
	}, st)
	require.Equal(t, base().Add(-time.Hour), st.OldestDueSince)
	requireUTC(t, "OldestDueSince", st.OldestDueSince)
}

// testFailedWriteIsolated runs many writes at once, some of which fail
// (routing an event that does not exist, a duplicate id with another key):
// each failure gets its own error and every other write commits. Stores that
// commit concurrent writes together (SQLite's group commit) must keep them
// apart.
func testFailedWriteIsolated(t *testing.T, s store.Store) {
	const n = 96
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			switch i % 3 {
			case 0: // fails: no such event
				errs[i] = s.RouteEvent(ctx(t), fmt.Sprintf("missing_%d", i), []store.NewDelivery{{Route: "r", Robot: "x"}}, base())
			case 1: // fails: the same bankbot id as event i-1's twin below, different dedupe key
				e := newEvent(10000 + i)
				e.ID = fmt.Sprintf("twin_%d", i)
				if _, err := s.InsertEvent(ctx(t), e); err != nil {
					errs[i] = err
					return
				}
				e2 := newEvent(20000 + i)
				e2.ID = fmt.Sprintf("twin_%d", i)
				_, errs[i] = s.InsertEvent(ctx(t), e2)
			default: // succeeds
				_, errs[i] = s.InsertEvent(ctx(t), newEvent(i))
			}
		})
	}
	wg.Wait()
	for i := range n {
		switch i % 3 {
		case 0:
			require.ErrorIs(t, errs[i], store.ErrNotFound, "write %d", i)
		case 1:
			require.Error(t, errs[i], "write %d: a second event with the same bankbot id", i)
			require.NotErrorIs(t, errs[i], store.ErrUnavailable, "write %d: a refused write is not an outage", i)
			got, err := s.GetEvent(ctx(t), fmt.Sprintf("twin_%d", i))
			require.NoError(t, err, "write %d: the first twin committed", i)
			require.Equal(t, fmt.Sprintf("evnt_test_%04d", 10000+i), got.Event.ID)
		default:
			require.NoError(t, errs[i], "write %d", i)
			got, err := s.GetEvent(ctx(t), fmt.Sprintf("evt_%04d", i))
			require.NoError(t, err, "write %d committed", i)
			require.Equal(t, int64(5000+i), got.Event.Amount)
		}
	}
}

// testRetryThrottled: a throttled answer is logged and counted apart, and
// does not spend the retry budget.
func testRetryThrottled(t *testing.T, s store.Store) {
	id := routed(t, s, 1, "r", 1, base())[0]
	claimOne(t, s, "r", "w", base())
	require.NoError(t, s.RetryDelivery(ctx(t), id, store.Attempt{At: base(), Reason: "server", Error: "503"}, base().Add(time.Second)))
	claimOne(t, s, "r", "w", base().Add(time.Second))
	require.NoError(t, s.RetryDelivery(ctx(t), id, store.Attempt{At: base().Add(time.Second), Reason: "rate_limited", Error: "410100", Throttled: true}, base().Add(10*time.Minute)))
	d := getDelivery(t, s, id)
	require.Equal(t, 1, d.Attempts, "the throttled answer does not spend the budget")
	require.Equal(t, 1, d.Throttles)
	require.Equal(t, "rate_limited", d.LastReason)
	require.Equal(t, "410100", d.LastError)
	require.Equal(t, base().Add(10*time.Minute), d.NextAttemptAt)

	claimOne(t, s, "r", "w", base().Add(10*time.Minute))
	require.NoError(t, s.CompleteDelivery(ctx(t), id, store.Attempt{At: base().Add(10 * time.Minute), Reason: "ok"}))
	as, err := s.Attempts(ctx(t), id)
	require.NoError(t, err)
	reasons := make([]string, len(as))
	for i, a := range as {
		reasons[i] = a.Reason
	}
	require.Equal(t, []string{"server", "rate_limited", "ok"}, reasons, "every answer is in the log, in order")
	d = getDelivery(t, s, id)
	require.Equal(t, 2, d.Attempts)
	require.Equal(t, 1, d.Throttles)
}

// testRerouteEvent: a dead delivery of a robot that was renamed is moved to
// the new robot and made due; a route new in the config gets a row; other
// routes' rows are left alone.
func testRerouteEvent(t *testing.T, s store.Store) {
	ids := routed(t, s, 1, "old-robot", 2, base()) // routes r0, r1
	require.Len(t, claimIDs(t, s, store.Claim{Robot: "old-robot", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 2}), 2)
	require.NoError(t, s.DeadLetter(ctx(t), ids[0], store.Attempt{At: base(), Reason: "config", Error: "robot gone"}))
	require.NoError(t, s.CompleteDelivery(ctx(t), ids[1], store.Attempt{At: base(), Reason: "ok"}))

	later := base().Add(time.Hour)
	n, err := s.RerouteEvent(ctx(t), newEvent(1).ID, []store.NewDelivery{
		{Route: "r0", Robot: "new-robot", Spec: []byte("spec-new")},
		{Route: "r9", Robot: "new-robot", Spec: []byte("spec-r9")},
	}, later)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	d := getDelivery(t, s, ids[0])
	require.Equal(t, store.StatusPending, d.Status)
	require.Equal(t, "new-robot", d.Robot)
	require.Equal(t, []byte("spec-new"), d.Spec)
	require.Equal(t, later, d.NextAttemptAt)
	require.Equal(t, 1, d.Attempts, "the attempt history stays")
	require.Equal(t, store.StatusSent, getDelivery(t, s, ids[1]).Status, "a route not given is left alone")
	list, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{EventID: newEvent(1).ID})
	require.NoError(t, err)
	require.Len(t, list, 3, "r9 was created")
	got := claimIDs(t, s, store.Claim{Robot: "new-robot", Owner: "w", Now: later, LeaseUntil: later.Add(time.Minute), Limit: 10})
	require.Len(t, got, 2)

	_, err = s.RerouteEvent(ctx(t), "no-such-event", []store.NewDelivery{{Route: "r", Robot: "x"}}, later)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.RerouteEvent(ctx(t), newEvent(1).ID, []store.NewDelivery{{Route: "", Robot: "x"}}, later)
	require.ErrorIs(t, err, store.ErrInvalid)
}

func testOutboxRobots(t *testing.T, s store.Store) {
	robots, err := s.OutboxRobots(ctx(t))
	require.NoError(t, err)
	require.Empty(t, robots, "an empty store")

	routed(t, s, 1, "pending-robot", 1, base())
	routed(t, s, 2, "sending-robot", 1, base())
	claimOne(t, s, "sending-robot", "w", base())
	dead := routed(t, s, 3, "dead-robot", 1, base())[0]
	claimOne(t, s, "dead-robot", "w", base())
	require.NoError(t, s.DeadLetter(ctx(t), dead, store.Attempt{At: base(), Reason: "permanent"}))
	sent := routed(t, s, 4, "sent-robot", 1, base())[0]
	claimOne(t, s, "sent-robot", "w", base())
	require.NoError(t, s.CompleteDelivery(ctx(t), sent, store.Attempt{At: base(), Reason: "ok"}))

	robots, err = s.OutboxRobots(ctx(t))
	require.NoError(t, err)
	require.Equal(t, []string{"pending-robot", "sending-robot"}, robots, "only robots with work left, sorted")
}

func testNotFound(t *testing.T, s store.Store) {
	routed(t, s, 1, "r", 1, base()) // something exists, just not these ids
	const missing = int64(987654321)
	a := store.Attempt{At: base(), Reason: "ok"}
	tests := []struct {
		name string
		call func() error
	}{
		{"GetEvent", func() error { _, err := s.GetEvent(ctx(t), "evt_missing"); return err }},
		{"RouteEvent", func() error {
			return s.RouteEvent(ctx(t), "evt_missing", []store.NewDelivery{{Route: "r", Robot: "r"}}, base())
		}},
		{"RouteEvent without deliveries", func() error { return s.RouteEvent(ctx(t), "evt_missing", nil, base()) }},
		{"RequeueEvent", func() error { _, err := s.RequeueEvent(ctx(t), "evt_missing", base()); return err }},
		{"GetDelivery", func() error { _, err := s.GetDelivery(ctx(t), missing); return err }},
		{"Attempts", func() error { _, err := s.Attempts(ctx(t), missing); return err }},
		{"CompleteDelivery", func() error { return s.CompleteDelivery(ctx(t), missing, a) }},
		{"RetryDelivery", func() error { return s.RetryDelivery(ctx(t), missing, a, base()) }},
		{"ReleaseDelivery", func() error { return s.ReleaseDelivery(ctx(t), missing, base()) }},
		{"DeadLetter", func() error { return s.DeadLetter(ctx(t), missing, a) }},
		{"RequeueDelivery", func() error { return s.RequeueDelivery(ctx(t), missing, base()) }},
		{"StampSend", func() error { return s.StampSend(ctx(t), missing, base()) }},
		{"CancelSend", func() error { return s.CancelSend(ctx(t), missing) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.ErrorIs(t, err, store.ErrNotFound)
			require.NotErrorIs(t, err, store.ErrUnavailable)
		})
	}
	list, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1, "RouteEvent of a missing event created nothing")
}

func testPing(t *testing.T, s store.Store) {
	require.NoError(t, s.Ping(ctx(t)))
}

func testUnavailableCanceled(t *testing.T, s store.Store) {
	canceled, cancel := context.WithCancel(ctx(t))
	cancel()
	_, err := s.InsertEvent(canceled, newEvent(1))
	require.ErrorIs(t, err, store.ErrUnavailable, "a write that could not be committed is unavailable, so the provider retries")
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.GetEvent(ctx(t), newEvent(1).ID)
	require.ErrorIs(t, err, store.ErrNotFound, "nothing was committed")
	mustInsert(t, s, newEvent(1))

	q := store.BudgetQuery{Robot: "r", Now: base(), Rules: []store.SendRule{{Window: time.Minute, Limit: 20}}}
	id, _, err := s.ReserveSend(canceled, q, base(), "m")
	require.ErrorIs(t, err, store.ErrUnavailable, "a reservation that may not have committed is unavailable: the caller sends nothing")
	require.Zero(t, id)
	_, err = s.SendBudget(canceled, q)
	require.ErrorIs(t, err, store.ErrUnavailable)
}

func testUnavailableAfterClose(t *testing.T, s store.Store) {
	id := routed(t, s, 1, "r", 1, base())[0]
	require.NoError(t, s.Close())
	a := store.Attempt{At: base(), Reason: "ok"}
	budgetQuery := store.BudgetQuery{Robot: "r", Now: base(), Rules: []store.SendRule{{Window: time.Minute, Limit: 20}}}
	tests := []struct {
		name string
		call func() error
	}{
		{"InsertEvent", func() error { _, err := s.InsertEvent(ctx(t), newEvent(2)); return err }},
		{"GetEvent", func() error { _, err := s.GetEvent(ctx(t), newEvent(1).ID); return err }},
		{"UnroutedEvents", func() error { _, err := s.UnroutedEvents(ctx(t), 1); return err }},
		{"RouteEvent", func() error { return s.RouteEvent(ctx(t), newEvent(1).ID, nil, base()) }},
		{"ClaimDeliveries", func() error {
			_, err := s.ClaimDeliveries(ctx(t), store.Claim{Robot: "r", Owner: "w", Now: base(), LeaseUntil: base().Add(time.Minute), Limit: 1})
			return err
		}},
		{"CompleteDelivery", func() error { return s.CompleteDelivery(ctx(t), id, a) }},
		{"RetryDelivery", func() error { return s.RetryDelivery(ctx(t), id, a, base()) }},
		{"ReleaseDelivery", func() error { return s.ReleaseDelivery(ctx(t), id, base()) }},
		{"DeadLetter", func() error { return s.DeadLetter(ctx(t), id, a) }},
		{"RequeueDelivery", func() error { return s.RequeueDelivery(ctx(t), id, base()) }},
		{"RequeueEvent", func() error { _, err := s.RequeueEvent(ctx(t), newEvent(1).ID, base()); return err }},
		{"GetDelivery", func() error { _, err := s.GetDelivery(ctx(t), id); return err }},
		{"ListDeliveries", func() error { _, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{}); return err }},
		{"Attempts", func() error { _, err := s.Attempts(ctx(t), id); return err }},
		{"Stats", func() error { _, err := s.Stats(ctx(t)); return err }},
		{"Ping", func() error { return s.Ping(ctx(t)) }},
		{"InsertEvent routed", func() error { _, err := s.InsertEvent(ctx(t), routedEvent(3, "r", 1)); return err }},
		{"AssignMessage", func() error { _, err := s.AssignMessage(ctx(t), []int64{id}, "m"); return err }},
		{"CompleteDeliveries", func() error { _, err := s.CompleteDeliveries(ctx(t), []int64{id}, a); return err }},
		{"RetryDeliveries", func() error { _, err := s.RetryDeliveries(ctx(t), []int64{id}, a, base()); return err }},
		{"DeadLetterDeliveries", func() error { _, err := s.DeadLetterDeliveries(ctx(t), []int64{id}, a); return err }},
		{"ReleaseDeliveries", func() error { _, err := s.ReleaseDeliveries(ctx(t), []int64{id}, base()); return err }},
		{"SendBudget", func() error { _, err := s.SendBudget(ctx(t), budgetQuery); return err }},
		{"ReserveSend", func() error { _, _, err := s.ReserveSend(ctx(t), budgetQuery, base(), "m"); return err }},
		{"StampSend", func() error { return s.StampSend(ctx(t), 1, base()) }},
		{"CancelSend", func() error { return s.CancelSend(ctx(t), 1) }},
		{"BlockRobot", func() error { return s.BlockRobot(ctx(t), "r", base()) }},
		{"RobotSends", func() error { _, err := s.RobotSends(ctx(t), "r", time.Time{}); return err }},
		{"SetRobotState", func() error { _, _, err := s.SetRobotState(ctx(t), "r", "paused", "", base()); return err }},
		{"RobotStates", func() error { _, err := s.RobotStates(ctx(t)); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.call(), store.ErrUnavailable)
		})
	}
	require.NoError(t, s.Close(), "Close is idempotent")
}
