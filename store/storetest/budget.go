package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// Contract tests for the robots' shared send budget and state.

// sec is base() plus s seconds (fractions allowed).
func sec(s float64) time.Time { return base().Add(time.Duration(s * float64(time.Second))) }

// loose is a budget rule that never refuses a send: the tests record stamps
// with it and then ask the budget under the rules they study.
var loose = []store.SendRule{{Window: time.Hour, Limit: 1_000_000}}

// stampAt records one send of robot stamped at (reserved at now = at).
func stampAt(t *testing.T, s store.Store, robot string, at time.Time) int64 {
	t.Helper()
	id, _, err := s.ReserveSend(ctx(t), store.BudgetQuery{Robot: robot, Now: at, Rules: loose}, at, "msg")
	require.NoError(t, err)
	require.Positive(t, id)
	return id
}

func budgetAt(t *testing.T, s store.Store, robot string, now time.Time, rules []store.SendRule) store.Budget {
	t.Helper()
	b, err := s.SendBudget(ctx(t), store.BudgetQuery{Robot: robot, Now: now, Rules: rules})
	require.NoError(t, err)
	return b
}

func sends(t *testing.T, s store.Store, robot string, since time.Time) []time.Time {
	t.Helper()
	got, err := s.RobotSends(ctx(t), robot, since)
	require.NoError(t, err)
	return got
}

// testBudgetWindows checks the window arithmetic of two rules against a
// fixed set of stamps, future stamps included (a stamp counts while
// stamp > now - Window, whether or not it lies after now).
func testBudgetWindows(t *testing.T, s store.Store) {
	// Robot a: stamps at 0, 1, 2, 30 and 50 s. Rules: 5 per 60 s, 2 per 10 s.
	for _, at := range []float64{0, 1, 2, 30, 50} {
		stampAt(t, s, "a", sec(at))
	}
	// Robot b: stamps at 0, 55, 56 s. Rules: 3 per 60 s, 2 per 10 s.
	for _, at := range []float64{0, 55, 56} {
		stampAt(t, s, "b", sec(at))
	}
	a := []store.SendRule{{Window: time.Minute, Limit: 5}, {Window: 10 * time.Second, Limit: 2}}
	b := []store.SendRule{{Window: time.Minute, Limit: 3}, {Window: 10 * time.Second, Limit: 2}}
	tests := []struct {
		name  string
		robot string
		rules []store.SendRule
		now   time.Time
		want  store.Budget
	}{
		{"a before any stamp: the future stamps count", "a", a, sec(-1),
			// 60 s: all 5 → free when the 1st (0 s) leaves, at 60 s.
			// 10 s: all 5 → free when the 4th (30 s) leaves, at 40 s.
			store.Budget{NextAt: sec(60)}},
		{"a at 2 s", "a", a, sec(2), store.Budget{NextAt: sec(60)}},
		{"a at 41 s: the 10 s rule has room, the 60 s rule none", "a", a, sec(41), store.Budget{NextAt: sec(60)}},
		{"a 1 ms before the oldest leaves", "a", a, sec(59.999), store.Budget{NextAt: sec(60)}},
		{"a when the oldest leaves (stamp = now - window no longer counts)", "a", a, sec(60),
			// 60 s: 1, 2, 30, 50 → 1 free. 10 s: none → 2 free.
			store.Budget{Free: 1}},
		{"a at 61 s", "a", a, sec(61), store.Budget{Free: 2}},
		{"a at 100 s", "a", a, sec(100), store.Budget{Free: 2}},
		{"a under the 60 s rule only, at 100 s", "a", a[:1], sec(100), store.Budget{Free: 4}},
		{"a under the 10 s rule only, at 45 s", "a", a[1:], sec(45), store.Budget{Free: 1}},
		{"a under the 10 s rule only, at 1.5 s", "a", a[1:], sec(1.5),
			// counted: 0, 1, 2, 30, 50 (> -8.5 s) → drops to 1 when 30 s leaves.
			store.Budget{NextAt: sec(40)}},
		{"b at 57 s: the later rule decides", "b", b, sec(57),
			// 60 s: 0, 55, 56 → free at 60 s. 10 s: 55, 56 → free at 65 s.
			store.Budget{NextAt: sec(65)}},
		{"b at 60 s", "b", b, sec(60), store.Budget{NextAt: sec(65)}},
		{"b at 65 s", "b", b, sec(65), store.Budget{Free: 1}},
		{"b at 200 s", "b", b, sec(200), store.Budget{Free: 2}},
		{"unknown robot", "c", b, sec(0), store.Budget{Free: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := budgetAt(t, s, tc.robot, tc.now, tc.rules)
			require.Equal(t, tc.want, got)
			requireUTC(t, "NextAt", got.NextAt)
		})
	}
	require.Equal(t, []time.Time{sec(0), sec(1), sec(2), sec(30), sec(50)}, sends(t, s, "a", time.Time{}))
	require.Equal(t, []time.Time{sec(30), sec(50)}, sends(t, s, "a", sec(2)), "stamps strictly after since")
}

// testReserveSend takes sends one by one under two rules: each reservation
// answers the budget after it, and a refused one the current budget.
func testReserveSend(t *testing.T, s store.Store) {
	rules := []store.SendRule{{Window: time.Minute, Limit: 3}, {Window: 10 * time.Second, Limit: 2}}
	reserve := func(now, stamp time.Time) (int64, store.Budget) {
		t.Helper()
		id, after, err := s.ReserveSend(ctx(t), store.BudgetQuery{Robot: "r", Now: now, Rules: rules}, stamp, fmt.Sprint("m", now.Unix()))
		require.NoError(t, err)
		require.Equal(t, after, budgetAt(t, s, "r", now, rules), "the answer is the budget as stored")
		return id, after
	}
	require.Equal(t, store.Budget{Free: 2}, budgetAt(t, s, "r", sec(0), rules))
	id1, after := reserve(sec(0), sec(0))
	require.Positive(t, id1)
	require.Equal(t, store.Budget{Free: 1}, after)
	id2, after := reserve(sec(1), sec(1))
	require.Greater(t, id2, id1)
	require.Equal(t, store.Budget{NextAt: sec(10)}, after, "the 10 s rule is full until the 0 s stamp leaves")
	id, after := reserve(sec(5), sec(5))
	require.Zero(t, id, "nothing free: no slot")
	require.Equal(t, store.Budget{NextAt: sec(10)}, after)
	require.Len(t, sends(t, s, "r", time.Time{}), 2, "a refused reservation records nothing")

	id3, after := reserve(sec(10), sec(10))
	require.Positive(t, id3)
	require.Equal(t, store.Budget{NextAt: sec(60)}, after, "now the 60 s rule is full until the 0 s stamp leaves")
	id, after = reserve(sec(30), sec(30))
	require.Zero(t, id)
	require.Equal(t, store.Budget{NextAt: sec(60)}, after)
	id4, after := reserve(sec(60), sec(60))
	require.Positive(t, id4)
	require.Equal(t, store.Budget{NextAt: sec(61)}, after, "1, 10 and 60 s fill the 60 s rule again until 1 s leaves")
	require.Equal(t, []time.Time{sec(0), sec(1), sec(10), sec(60)}, sends(t, s, "r", time.Time{}))
}

// testSendStamps: a slot is reserved stamped in the future (the latest
// moment the request can reach DingTalk), then restamped with the response
// time; an unused slot is cancelled. Slot ids are never handed out twice.
func testSendStamps(t *testing.T, s store.Store) {
	rules := []store.SendRule{{Window: time.Minute, Limit: 2}}
	q := store.BudgetQuery{Robot: "r", Now: sec(0), Rules: rules}
	slot1, after, err := s.ReserveSend(ctx(t), q, sec(10), "m1")
	require.NoError(t, err)
	require.Equal(t, store.Budget{Free: 1}, after)
	slot2, after, err := s.ReserveSend(ctx(t), q, sec(10.5), "m2")
	require.NoError(t, err)
	require.Equal(t, store.Budget{NextAt: sec(70)}, after, "future stamps count, and leave their window a minute after the stamp")

	require.NoError(t, s.StampSend(ctx(t), slot1, sec(1.2345)))
	require.Equal(t, []time.Time{sec(1.234), sec(10.5)}, sends(t, s, "r", time.Time{}), "restamped, to the millisecond, oldest first")
	require.Equal(t, store.Budget{NextAt: sec(61.234)}, budgetAt(t, s, "r", sec(2), rules))
	require.NoError(t, s.StampSend(ctx(t), slot2, sec(0.5)))
	require.Equal(t, []time.Time{sec(0.5), sec(1.234)}, sends(t, s, "r", time.Time{}))
	require.Equal(t, store.Budget{NextAt: sec(60.5)}, budgetAt(t, s, "r", sec(2), rules))
	require.Equal(t, store.Budget{Free: 1}, budgetAt(t, s, "r", sec(60.5), rules))

	require.NoError(t, s.CancelSend(ctx(t), slot2))
	require.Equal(t, []time.Time{sec(1.234)}, sends(t, s, "r", time.Time{}))
	require.Equal(t, store.Budget{Free: 1}, budgetAt(t, s, "r", sec(2), rules), "a cancelled slot frees its send")
	slot3, after, err := s.ReserveSend(ctx(t), store.BudgetQuery{Robot: "r", Now: sec(2), Rules: rules}, sec(12), "m3")
	require.NoError(t, err)
	require.NotContains(t, []int64{0, slot1, slot2}, slot3, "a new slot, never an earlier id")
	require.Equal(t, store.Budget{NextAt: sec(61.234)}, after)

	require.ErrorIs(t, s.CancelSend(ctx(t), slot2), store.ErrNotFound, "cancelled twice")
	require.ErrorIs(t, s.StampSend(ctx(t), slot2, sec(3)), store.ErrNotFound, "restamping a cancelled slot")
	require.Equal(t, []time.Time{sec(1.234), sec(12)}, sends(t, s, "r", time.Time{}), "the refused calls changed nothing")
}

func testBlockRobot(t *testing.T, s store.Store) {
	rules := []store.SendRule{{Window: time.Minute, Limit: 20}}
	until := sec(600)
	require.NoError(t, s.BlockRobot(ctx(t), "r", until))
	require.Equal(t, store.Budget{NextAt: until, BlockedUntil: until}, budgetAt(t, s, "r", sec(0), rules))
	id, after, err := s.ReserveSend(ctx(t), store.BudgetQuery{Robot: "r", Now: sec(0), Rules: rules}, sec(0), "m")
	require.NoError(t, err)
	require.Zero(t, id, "a blocked robot is granted nothing")
	require.Equal(t, store.Budget{NextAt: until, BlockedUntil: until}, after)
	require.Empty(t, sends(t, s, "r", time.Time{}))
	require.Equal(t, store.Budget{Free: 20}, budgetAt(t, s, "other", sec(0), rules), "blocks are per robot")

	require.NoError(t, s.BlockRobot(ctx(t), "r", sec(300)))
	require.Equal(t, until, budgetAt(t, s, "r", sec(0), rules).BlockedUntil, "an earlier end never shortens a block")
	later := sec(900)
	require.NoError(t, s.BlockRobot(ctx(t), "r", later))
	require.Equal(t, store.Budget{NextAt: later, BlockedUntil: later}, budgetAt(t, s, "r", sec(600), rules), "a later end extends it")
	require.Equal(t, store.Budget{NextAt: later, BlockedUntil: later}, budgetAt(t, s, "r", later.Add(-time.Millisecond), rules))
	require.Equal(t, store.Budget{Free: 20}, budgetAt(t, s, "r", later, rules), "free again when the block ends")
	id, _, err = s.ReserveSend(ctx(t), store.BudgetQuery{Robot: "r", Now: later, Rules: rules}, later, "m")
	require.NoError(t, err)
	require.Positive(t, id)

	// Sends that fill the window beyond the block's end: NextAt is the later.
	full := []store.SendRule{{Window: time.Minute, Limit: 1}}
	stampAt(t, s, "q", sec(1200))
	require.NoError(t, s.BlockRobot(ctx(t), "q", sec(600)))
	require.Equal(t, store.Budget{NextAt: sec(1260), BlockedUntil: sec(600)}, budgetAt(t, s, "q", sec(0), full))

	states, err := s.RobotStates(ctx(t))
	require.NoError(t, err)
	require.Equal(t, []store.RobotState{
		{Robot: "q", State: store.RobotOK, BlockedUntil: sec(600)},
		{Robot: "r", State: store.RobotOK, BlockedUntil: later},
	}, states, "RobotStates keeps the last block, past or not")
}

// testReserveConcurrent: 50 goroutines race for 20 sends; exactly 20 get a
// slot, and each winner saw a different budget after its reservation.
func testReserveConcurrent(t *testing.T, s store.Store) {
	const racers, limit = 50, 20
	rules := []store.SendRule{{Window: time.Minute, Limit: limit}}
	ids := make([]int64, racers)
	afters := make([]store.Budget, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			now := sec(0).Add(time.Duration(i) * time.Millisecond)
			<-start
			ids[i], afters[i], errs[i] = s.ReserveSend(ctx(t), store.BudgetQuery{Robot: "r", Now: now, Rules: rules}, now.Add(10*time.Second), fmt.Sprint("m", i))
		})
	}
	close(start)
	wg.Wait()
	seen := map[int64]bool{}
	var frees []int
	for i := range racers {
		require.NoError(t, errs[i])
		if ids[i] == 0 {
			require.Zero(t, afters[i].Free)
			continue
		}
		require.False(t, seen[ids[i]], "slot %d handed out twice", ids[i])
		seen[ids[i]] = true
		frees = append(frees, afters[i].Free)
	}
	require.Len(t, seen, limit, "exactly the limit is granted")
	sort.Ints(frees)
	want := make([]int, limit)
	for k := range want {
		want[k] = k
	}
	require.Equal(t, want, frees, "each winner saw the budget its own reservation left")
	require.Len(t, sends(t, s, "r", time.Time{}), limit)
}

// testSendPruning: a reservation deletes its robot's stamps older than an
// hour (or the longest window, if longer), and no other robot's.
func testSendPruning(t *testing.T, s store.Store) {
	now := sec(10_000)
	for _, ago := range []time.Duration{2 * time.Hour, 61 * time.Minute, 59 * time.Minute} {
		stampAt(t, s, "r", now.Add(-ago))
		stampAt(t, s, "other", now.Add(-ago))
	}
	// Recording the stamp of -59 min (its now) deleted the one of -2 h,
	// more than an hour older; -61 min was less than an hour older.
	older := []time.Time{now.Add(-61 * time.Minute), now.Add(-59 * time.Minute)}
	require.Equal(t, older, sends(t, s, "r", time.Time{}))
	stampAt(t, s, "r", now)
	require.Equal(t, []time.Time{now.Add(-59 * time.Minute), now}, sends(t, s, "r", time.Time{}))
	require.Equal(t, older, sends(t, s, "other", time.Time{}), "another robot's stamps stay")

	long := []store.SendRule{{Window: 3 * time.Hour, Limit: 100}}
	id, after, err := s.ReserveSend(ctx(t), store.BudgetQuery{Robot: "other", Now: now, Rules: long}, now, "m")
	require.NoError(t, err)
	require.Positive(t, id)
	require.Equal(t, store.Budget{Free: 97}, after, "a rule longer than an hour keeps what it counts")
	require.Equal(t, append(older, now), sends(t, s, "other", time.Time{}))
}

func testBudgetValidation(t *testing.T, s store.Store) {
	ok := store.BudgetQuery{Robot: "r", Now: sec(0), Rules: []store.SendRule{{Window: time.Minute, Limit: 20}}}
	queries := []struct {
		name   string
		mutate func(q *store.BudgetQuery)
	}{
		{"empty robot", func(q *store.BudgetQuery) { q.Robot = "" }},
		{"robot not utf-8", func(q *store.BudgetQuery) { q.Robot = "r\xff" }},
		{"zero now", func(q *store.BudgetQuery) { q.Now = time.Time{} }},
		{"no rule", func(q *store.BudgetQuery) { q.Rules = nil }},
		{"zero window", func(q *store.BudgetQuery) { q.Rules = []store.SendRule{{Window: 0, Limit: 1}} }},
		{"negative window", func(q *store.BudgetQuery) {
			q.Rules = []store.SendRule{{Window: time.Minute, Limit: 1}, {Window: -time.Second, Limit: 1}}
		}},
		{"zero limit", func(q *store.BudgetQuery) { q.Rules = []store.SendRule{{Window: time.Minute, Limit: 0}} }},
		{"negative limit", func(q *store.BudgetQuery) { q.Rules = []store.SendRule{{Window: time.Minute, Limit: -1}} }},
	}
	for _, tc := range queries {
		t.Run(tc.name, func(t *testing.T) {
			q := ok
			tc.mutate(&q)
			_, err := s.SendBudget(ctx(t), q)
			require.ErrorIs(t, err, store.ErrInvalid)
			id, _, err := s.ReserveSend(ctx(t), q, sec(0), "m")
			require.ErrorIs(t, err, store.ErrInvalid)
			require.NotErrorIs(t, err, store.ErrUnavailable)
			require.Zero(t, id)
		})
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"reserve zero stamp", func() error { _, _, err := s.ReserveSend(ctx(t), ok, time.Time{}, "m"); return err }},
		{"stamp zero slot", func() error { return s.StampSend(ctx(t), 0, sec(0)) }},
		{"stamp zero time", func() error { return s.StampSend(ctx(t), 1, time.Time{}) }},
		{"cancel negative slot", func() error { return s.CancelSend(ctx(t), -1) }},
		{"block empty robot", func() error { return s.BlockRobot(ctx(t), "", sec(60)) }},
		{"block zero until", func() error { return s.BlockRobot(ctx(t), "r", time.Time{}) }},
		{"sends empty robot", func() error { _, err := s.RobotSends(ctx(t), "", time.Time{}); return err }},
		{"state empty robot", func() error { _, _, err := s.SetRobotState(ctx(t), "", "ok", "", sec(0)); return err }},
		{"state empty state", func() error { _, _, err := s.SetRobotState(ctx(t), "r", "", "", sec(0)); return err }},
		{"state zero now", func() error { _, _, err := s.SetRobotState(ctx(t), "r", "paused", "", time.Time{}); return err }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.ErrorIs(t, err, store.ErrInvalid)
			require.NotErrorIs(t, err, store.ErrUnavailable)
		})
	}
	require.Empty(t, sends(t, s, "r", time.Time{}))
	states, err := s.RobotStates(ctx(t))
	require.NoError(t, err)
	require.Empty(t, states, "refused calls recorded nothing")
}

func testRobotState(t *testing.T, s store.Store) {
	states, err := s.RobotStates(ctx(t))
	require.NoError(t, err)
	require.Equal(t, []store.RobotState{}, states)

	steps := []struct {
		state, reason string
		at            time.Time
		changed       bool
		prev          string
	}{
		{store.RobotOK, "", sec(0), false, store.RobotOK}, // an unknown robot is ok already
		{"paused", "410100 until 03:14", sec(1), true, store.RobotOK},
		{"paused", "410100 until 03:20", sec(2), false, "paused"},
		{"misconfigured", "errcode 310000", sec(3), true, "paused"},
		{store.RobotOK, "", sec(4), true, "misconfigured"},
		{store.RobotOK, "", sec(5), false, store.RobotOK},
	}
	for i, st := range steps {
		changed, prev, err := s.SetRobotState(ctx(t), "a", st.state, st.reason, st.at)
		require.NoError(t, err, "step %d", i)
		require.Equal(t, st.changed, changed, "step %d", i)
		require.Equal(t, st.prev, prev, "step %d", i)
		if i == 2 {
			states, err := s.RobotStates(ctx(t))
			require.NoError(t, err)
			require.Equal(t, []store.RobotState{{Robot: "a", State: "paused", Reason: "410100 until 03:20", ChangedAt: sec(1)}}, states,
				"the same state again refreshes the reason, not the change time")
		}
	}
	_, _, err = s.SetRobotState(ctx(t), "b", "failing", "3 dead\xff", sec(6))
	require.NoError(t, err)
	require.NoError(t, s.BlockRobot(ctx(t), "c", sec(600)))
	states, err = s.RobotStates(ctx(t))
	require.NoError(t, err)
	require.Equal(t, []store.RobotState{
		{Robot: "a", State: store.RobotOK, ChangedAt: sec(4)},
		{Robot: "b", State: "failing", Reason: "3 dead\uFFFD", ChangedAt: sec(6)},
		{Robot: "c", State: store.RobotOK, BlockedUntil: sec(600)},
	}, states)
	for _, st := range states {
		requireUTC(t, "ChangedAt", st.ChangedAt)
		requireUTC(t, "BlockedUntil", st.BlockedUntil)
	}
}

// testRobotStateConcurrent: of many callers setting one state at once, one
// sees the change (and would send the one ops alert).
func testRobotStateConcurrent(t *testing.T, s store.Store) {
	const callers = 32
	for round, state := range []string{"paused", "paused", store.RobotOK, "failing"} {
		changed := make([]bool, callers)
		prevs := make([]string, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				changed[i], prevs[i], errs[i] = s.SetRobotState(ctx(t), "r", state, fmt.Sprint("caller ", i), sec(float64(round)))
			})
		}
		close(start)
		wg.Wait()
		n := 0
		for i := range callers {
			require.NoError(t, errs[i])
			if changed[i] {
				n++
				continue
			}
			require.Equal(t, state, prevs[i], "round %d: a caller that changed nothing found the new state", round)
		}
		if round == 1 {
			require.Zero(t, n, "round %d: the state was already %s", round, state)
			continue
		}
		require.Equal(t, 1, n, "round %d: exactly one caller changes the state", round)
	}
}
