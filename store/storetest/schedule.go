package storetest

import (
	"fmt"
	"math"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// scheduleTests are the contract subtests of the schedule methods (issue 9).
func scheduleTests() []struct {
	name string
	fn   func(t *testing.T, s store.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Schedules/ClaimFinishLastTick", testTicks},
		{"Schedules/ClaimTickConcurrent", testClaimTickConcurrent},
		{"Schedules/TickValidation", testTickValidation},
		{"Schedules/PurgeTicks", testPurgeTicks},
		{"Schedules/SummarizeEvents", testSummarizeEvents},
		{"Schedules/PeriodEvents", testPeriodEvents},
		{"Schedules/LastReceived", testLastReceived},
		{"Schedules/Marks", testMarks},
		{"Schedules/MarksConcurrent", testMarksConcurrent},
	}
}

func testTicks(t *testing.T, s store.Store) {
	t1, t2 := base(), base().Add(24*time.Hour)
	_, ok, err := s.LastTick(ctx(t), "daily", t2, "")
	require.NoError(t, err)
	require.False(t, ok, "no tick yet")

	won, err := s.ClaimTick(ctx(t), "daily", t1, "a", t1.Add(time.Second))
	require.NoError(t, err)
	require.True(t, won)
	won, err = s.ClaimTick(ctx(t), "daily", t1, "b", t1.Add(2*time.Second))
	require.NoError(t, err)
	require.False(t, won, "claimed by a")
	won, err = s.ClaimTick(ctx(t), "daily", t1, "a", t1.Add(3*time.Second))
	require.NoError(t, err)
	require.False(t, won, "a claim is never handed out twice, not even to its owner")
	won, err = s.ClaimTick(ctx(t), "other", t1, "b", t1)
	require.NoError(t, err)
	require.True(t, won, "ticks are per schedule")

	got, ok, err := s.LastTick(ctx(t), "daily", t2, "")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, store.ScheduleTick{Name: "daily", TickAt: t1, Owner: "a", ClaimedAt: t1.Add(time.Second)}, got, "unfinished")
	_, ok, err = s.LastTick(ctx(t), "daily", t2, "ok")
	require.NoError(t, err)
	require.False(t, ok, "no finished tick with result ok")
	_, ok, err = s.LastTick(ctx(t), "daily", t1, "")
	require.NoError(t, err)
	require.False(t, ok, "before is exclusive")

	require.NoError(t, s.FinishTick(ctx(t), "daily", t1, "ok", t1.Add(5*time.Second+1500*time.Microsecond)))
	won, err = s.ClaimTick(ctx(t), "daily", t2, "b", t2)
	require.NoError(t, err)
	require.True(t, won)
	require.NoError(t, s.FinishTick(ctx(t), "daily", t2, "failed", t2.Add(time.Second)))

	got, ok, err = s.LastTick(ctx(t), "daily", t2.Add(time.Hour), "ok")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, store.ScheduleTick{Name: "daily", TickAt: t1, Owner: "a", ClaimedAt: t1.Add(time.Second),
		DoneAt: t1.Add(5*time.Second + time.Millisecond), Result: "ok"}, got, "the latest ok one, times in ms UTC")
	got, ok, err = s.LastTick(ctx(t), "daily", t2.Add(time.Hour), "")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, t2, got.TickAt)
	require.Equal(t, "failed", got.Result)

	require.ErrorIs(t, s.FinishTick(ctx(t), "daily", t2.Add(time.Hour), "ok", t2), store.ErrNotFound)
}

func testClaimTickConcurrent(t *testing.T, s store.Store) {
	const callers = 12
	wins := make([]bool, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var err error
			wins[i], err = s.ClaimTick(ctx(t), "daily", base(), fmt.Sprintf("r%d", i), base())
			require.NoError(t, err)
		})
	}
	wg.Wait()
	n := 0
	for _, w := range wins {
		if w {
			n++
		}
	}
	require.Equal(t, 1, n, "exactly one replica runs the tick")
}

func testTickValidation(t *testing.T, s store.Store) {
	now := base()
	_, err := s.ClaimTick(ctx(t), "", now, "a", now)
	invalid(t, err, "empty name")
	_, err = s.ClaimTick(ctx(t), "n", time.Time{}, "a", now)
	invalid(t, err, "zero tick")
	_, err = s.ClaimTick(ctx(t), "n", now, "", now)
	invalid(t, err, "empty owner")
	_, err = s.ClaimTick(ctx(t), "n", now, "a", time.Time{})
	invalid(t, err, "zero now")
	invalid(t, s.FinishTick(ctx(t), "n", now, "", now), "empty result")
	_, _, err = s.LastTick(ctx(t), "n", time.Time{}, "")
	invalid(t, err, "zero before")
}

// periodFixture inserts events of two sources around base(): opn THB
// payments (two succeeded, one failed), a stripe USD refund, a THB payment
// at until exactly and one a second before since, all live; and two opn
// THB payments the provider sent in test mode (one succeeded, one failed).
func periodFixture(t *testing.T, s store.Store) (since, until time.Time) {
	t.Helper()
	since, until = base(), base().Add(time.Hour)
	insert := func(i int, source string, kind bankhooks.Kind, amount int64, currency string, at time.Time, live bool) {
		e := newEvent(i)
		e.Source, e.Event.Kind, e.Event.Amount, e.Event.Currency, e.ReceivedAt = source, kind, amount, currency, at
		e.Event.Livemode = live
		mustInsert(t, s, e)
	}
	add := func(i int, source string, kind bankhooks.Kind, amount int64, currency string, at time.Time) {
		insert(i, source, kind, amount, currency, at, true)
	}
	insert(9, "opn", bankhooks.KindPaymentSucceeded, 123, "THB", since.Add(4*time.Minute), false)
	insert(10, "opn", bankhooks.KindPaymentFailed, 55, "THB", since.Add(5*time.Minute), false)
	add(1, "opn", bankhooks.KindPaymentSucceeded, 5000, "THB", since)
	add(2, "opn", bankhooks.KindPaymentSucceeded, math.MaxInt64, "THB", since.Add(time.Minute))
	add(3, "opn", bankhooks.KindPaymentFailed, 700, "THB", since.Add(2*time.Minute))
	add(4, "stripe", bankhooks.KindRefundSucceeded, -1_000_000_250, "USD", until.Add(-time.Millisecond))
	add(8, "stripe", bankhooks.KindRefundSucceeded, -7, "USD", until.Add(-2*time.Millisecond))
	add(5, "opn", bankhooks.KindPaymentSucceeded, 1, "THB", until)
	add(6, "opn", bankhooks.KindPaymentFailed, 1, "THB", since.Add(-time.Second))
	add(7, "stripe", bankhooks.KindPaymentFailed, 900, "USD", since.Add(3*time.Minute))
	return since, until
}

func testSummarizeEvents(t *testing.T, s store.Store) {
	since, until := periodFixture(t, s)
	big2 := new(big.Int).Add(big.NewInt(5000), big.NewInt(math.MaxInt64))
	got, err := s.SummarizeEvents(ctx(t), store.EventPeriod{Since: since, Until: until})
	require.NoError(t, err)
	require.Equal(t, []store.EventTotal{
		{Source: "opn", Kind: "payment.failed", Currency: "THB", Count: 1, Sum: big.NewInt(700)},
		{Source: "opn", Kind: "payment.failed", Currency: "THB", Count: 1, Sum: big.NewInt(55), Test: true},
		{Source: "opn", Kind: "payment.succeeded", Currency: "THB", Count: 2, Sum: big2},
		{Source: "opn", Kind: "payment.succeeded", Currency: "THB", Count: 1, Sum: big.NewInt(123), Test: true},
		{Source: "stripe", Kind: "payment.failed", Currency: "USD", Count: 1, Sum: big.NewInt(900)},
		{Source: "stripe", Kind: "refund.succeeded", Currency: "USD", Count: 2, Sum: big.NewInt(-1_000_000_257)},
	}, got, "since inclusive, until exclusive, sums exact past int64, test mode apart")

	got, err = s.SummarizeEvents(ctx(t), store.EventPeriod{Since: since, Until: until, Sources: []string{"stripe", "nope"}})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "stripe", got[0].Source)
	require.Equal(t, "stripe", got[1].Source)

	got, err = s.SummarizeEvents(ctx(t), store.EventPeriod{Since: until.Add(time.Hour), Until: until.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Empty(t, got)

	_, err = s.SummarizeEvents(ctx(t), store.EventPeriod{Since: since})
	invalid(t, err, "no until")
	_, err = s.SummarizeEvents(ctx(t), store.EventPeriod{Since: until, Until: since})
	invalid(t, err, "since after until")
}

func testPeriodEvents(t *testing.T, s store.Store) {
	since, until := periodFixture(t, s)
	failed := []string{"payment.failed", "refund.failed"}
	es, total, err := s.PeriodEvents(ctx(t), store.PeriodQuery{EventPeriod: store.EventPeriod{Since: since, Until: until}, Kinds: failed})
	require.NoError(t, err)
	require.Equal(t, 3, total)
	require.Equal(t, []string{"evt_0003", "evt_0007", "evt_0010"}, eventIDs(es), "oldest first, window [since, until)")
	require.Empty(t, es[0].Body, "no raw body")

	es, total, err = s.PeriodEvents(ctx(t), store.PeriodQuery{EventPeriod: store.EventPeriod{Since: since, Until: until}, Kinds: failed, LiveOnly: true})
	require.NoError(t, err)
	require.Equal(t, 2, total)
	require.Equal(t, []string{"evt_0003", "evt_0007"}, eventIDs(es), "test mode left out")

	es, total, err = s.PeriodEvents(ctx(t), store.PeriodQuery{EventPeriod: store.EventPeriod{Since: since, Until: until}, Kinds: failed, LiveOnly: true, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, 2, total, "the total counts past the limit")
	require.Equal(t, []string{"evt_0003"}, eventIDs(es))

	_, err = s.AckEvent(ctx(t), "evt_0003", "u1", "", "", until)
	require.NoError(t, err)
	es, total, err = s.PeriodEvents(ctx(t), store.PeriodQuery{EventPeriod: store.EventPeriod{Since: since, Until: until}, Kinds: failed, Unacked: true, LiveOnly: true})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, []string{"evt_0007"}, eventIDs(es))

	es, total, err = s.PeriodEvents(ctx(t), store.PeriodQuery{EventPeriod: store.EventPeriod{Since: since, Until: until, Sources: []string{"opn"}}, Kinds: failed, Unacked: true, LiveOnly: true})
	require.NoError(t, err)
	require.Zero(t, total)
	require.Empty(t, es)

	_, _, err = s.PeriodEvents(ctx(t), store.PeriodQuery{EventPeriod: store.EventPeriod{Since: since, Until: until}})
	invalid(t, err, "no kinds")
	_, _, err = s.PeriodEvents(ctx(t), store.PeriodQuery{EventPeriod: store.EventPeriod{Since: since, Until: until}, Kinds: failed, Limit: -1})
	invalid(t, err, "negative limit")
}

func testLastReceived(t *testing.T, s store.Store) {
	_, until := periodFixture(t, s)
	got, err := s.LastReceived(ctx(t), []string{"opn", "stripe", "quiet"})
	require.NoError(t, err)
	require.Equal(t, map[string]time.Time{"opn": until, "stripe": until.Add(-time.Millisecond)}, got)
	got, err = s.LastReceived(ctx(t), nil)
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = s.LastReceived(ctx(t), []string{""})
	invalid(t, err, "empty source")
}

func testMarks(t *testing.T, s store.Store) {
	at := base().Add(1500 * time.Microsecond)
	m, first, err := s.SetMark(ctx(t), store.Mark{Key: "silence/opn", Value: "x", At: at})
	require.NoError(t, err)
	require.True(t, first)
	require.Equal(t, store.Mark{Key: "silence/opn", Value: "x", At: base().Add(time.Millisecond)}, m)
	m, first, err = s.SetMark(ctx(t), store.Mark{Key: "silence/opn", Value: "y", At: at.Add(time.Hour)})
	require.NoError(t, err)
	require.False(t, first)
	require.Equal(t, "x", m.Value, "the first mark is kept")
	require.Equal(t, base().Add(time.Millisecond), m.At)
	_, _, err = s.SetMark(ctx(t), store.Mark{Key: "silence/stripe", At: at})
	require.NoError(t, err)
	_, _, err = s.SetMark(ctx(t), store.Mark{Key: "silence_/x", At: at})
	require.NoError(t, err)
	_, _, err = s.SetMark(ctx(t), store.Mark{Key: "key/a", At: at})
	require.NoError(t, err)

	ms, err := s.ListMarks(ctx(t), "silence/")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	require.Equal(t, "silence/opn", ms[0].Key)
	require.Equal(t, "silence/stripe", ms[1].Key)
	ms, err = s.ListMarks(ctx(t), "silence_")
	require.NoError(t, err)
	require.Len(t, ms, 1, "_ is not a wildcard")
	ms, err = s.ListMarks(ctx(t), "")
	require.NoError(t, err)
	require.Len(t, ms, 4)

	m, existed, err := s.DeleteMark(ctx(t), "silence/opn")
	require.NoError(t, err)
	require.True(t, existed)
	require.Equal(t, "x", m.Value)
	_, existed, err = s.DeleteMark(ctx(t), "silence/opn")
	require.NoError(t, err)
	require.False(t, existed)
	_, first, err = s.SetMark(ctx(t), store.Mark{Key: "silence/opn", Value: "z", At: at})
	require.NoError(t, err)
	require.True(t, first, "deleted marks can be set again")

	_, _, err = s.SetMark(ctx(t), store.Mark{Key: "", At: at})
	invalid(t, err, "empty key")
	_, _, err = s.SetMark(ctx(t), store.Mark{Key: "k"})
	invalid(t, err, "zero at")
	_, _, err = s.DeleteMark(ctx(t), "")
	invalid(t, err, "empty key")
}

func testMarksConcurrent(t *testing.T, s store.Store) {
	const callers = 12
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		firsts, delets int
	)
	for i := range callers {
		wg.Go(func() {
			_, first, err := s.SetMark(ctx(t), store.Mark{Key: "k", Value: fmt.Sprint(i), At: base()})
			require.NoError(t, err)
			mu.Lock()
			if first {
				firsts++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	for range callers {
		wg.Go(func() {
			_, existed, err := s.DeleteMark(ctx(t), "k")
			require.NoError(t, err)
			mu.Lock()
			if existed {
				delets++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, 1, firsts)
	require.Equal(t, 1, delets)
}

func testPurgeTicks(t *testing.T, s store.Store) {
	// daily: ok on days 0–4, failed on day 5, unfinished on day 6; hourly:
	// ok every hour of day 0.
	day := func(i int) time.Time { return base().Add(time.Duration(i) * 24 * time.Hour) }
	for i := range 7 {
		won, err := s.ClaimTick(ctx(t), "daily", day(i), "a", day(i))
		require.NoError(t, err)
		require.True(t, won)
		switch {
		case i < 5:
			require.NoError(t, s.FinishTick(ctx(t), "daily", day(i), "ok", day(i).Add(time.Second)))
		case i == 5:
			require.NoError(t, s.FinishTick(ctx(t), "daily", day(i), "failed", day(i).Add(time.Second)))
		}
	}
	for h := range 24 {
		at := base().Add(time.Duration(h) * time.Hour)
		_, err := s.ClaimTick(ctx(t), "hourly", at, "a", at)
		require.NoError(t, err)
		require.NoError(t, s.FinishTick(ctx(t), "hourly", at, "ok", at))
	}
	_, err := s.PurgeTicks(ctx(t), time.Time{})
	require.ErrorIs(t, err, store.ErrInvalid)

	// Before day 3: daily's days 0–2 go; hourly keeps only its latest.
	n, err := s.PurgeTicks(ctx(t), day(3))
	require.NoError(t, err)
	require.Equal(t, int64(3+23), n)
	got, ok, err := s.LastTick(ctx(t), "daily", day(3), "")
	require.NoError(t, err)
	require.False(t, ok, "daily's ticks before day 3 are gone: %+v", got)
	got, ok, err = s.LastTick(ctx(t), "hourly", day(3), "ok")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, base().Add(23*time.Hour), got.TickAt, "the latest ok tick of a schedule stays")

	// Far in the future: each schedule keeps its latest tick of each
	// result, so LastTick answers as before.
	n, err = s.PurgeTicks(ctx(t), day(100))
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "daily's day 3; day 4 is its latest ok, day 5 its latest failed, day 6 unfinished")
	for _, c := range []struct {
		result string
		want   time.Time
	}{{"ok", day(4)}, {"failed", day(5)}, {"", day(6)}} {
		got, ok, err := s.LastTick(ctx(t), "daily", day(100), c.result)
		require.NoError(t, err)
		require.True(t, ok, c.result)
		require.Equal(t, c.want, got.TickAt, c.result)
	}
	n, err = s.PurgeTicks(ctx(t), day(100))
	require.NoError(t, err)
	require.Zero(t, n, "idempotent")
}
