package schedule

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

const dailySummary = `schedules:
  - {name: daily, cron: "0 18 * * *", job: summary, robot: finance, language: en}
`

func TestEntries_ZonesAndEvery(t *testing.T) {
	cfg := loadConfig(t, `schedules:
  - {name: local, cron: "0 18 * * *", job: summary, robot: finance}
  - {name: utc, cron: "CRON_TZ=UTC 0 18 * * *", job: summary, robot: finance}
  - {name: tokyo, cron: "TZ=Asia/Tokyo 0 18 * * *", job: summary, robot: finance}
  - {name: every, cron: "@every 15m", job: watchdog, robot: finance}
`)
	es, err := Entries(cfg)
	require.NoError(t, err)
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		next, loc string
	}{
		{"local", "2026-12-01T11:00:00Z", "Asia/Bangkok"},
		{"utc", "2026-12-01T18:00:00Z", "UTC"},
		{"tokyo", "2026-12-01T09:00:00Z", "Asia/Tokyo"},
		{"every", "2026-12-01T00:15:00Z", "Asia/Bangkok"},
	}
	for i, tc := range tests {
		e := es[i]
		require.Equal(t, tc.name, e.Name)
		require.Equal(t, tc.next, e.Next(from).UTC().Format(time.RFC3339), tc.name)
		require.Equal(t, tc.loc, e.Location.String(), tc.name)
	}
	// @every is aligned, so every replica computes the same ticks.
	every := es[3]
	require.Equal(t, every.Next(from.Add(7*time.Minute)), every.Next(from.Add(14*time.Minute)))
	// Prev is the latest scheduled time at or before t.
	local := es[0]
	require.Equal(t, bkk(2026, 12, 1, 18, 0, 0), local.Prev(bkk(2026, 12, 1, 18, 0, 0)))
	require.Equal(t, bkk(2026, 11, 30, 18, 0, 0), local.Prev(bkk(2026, 12, 1, 17, 59, 59)))
	yearly := loadConfig(t, "schedules:\n  - {name: y, cron: \"0 0 29 2 *\", job: summary, robot: finance}\n")
	ey, err := Entries(yearly)
	require.NoError(t, err)
	require.Equal(t, bkk(2024, 2, 29, 0, 0, 0), ey[0].Prev(bkk(2026, 12, 1, 0, 0, 0)), "leap days only: four years back")
}

func TestRunner_SummaryCoversTheDay(t *testing.T) {
	for _, driver := range stores() {
		t.Run(driver, func(t *testing.T) {
			st := openStore(t, driver)
			event(t, st, "ev_yesterday", "opn", bankhooks.KindPaymentSucceeded, 100000, "THB", bkk(2026, 11, 30, 17, 0, 0))
			event(t, st, "ev_midnight", "opn", bankhooks.KindPaymentSucceeded, 10000, "THB", bkk(2026, 12, 1, 0, 0, 0))
			event(t, st, "ev_morning", "opn", bankhooks.KindPaymentSucceeded, 20000, "THB", bkk(2026, 12, 1, 10, 0, 0))
			event(t, st, "ev_last", "stripe", bankhooks.KindPaymentFailed, 777, "THB", bkk(2026, 12, 1, 17, 59, 59))
			event(t, st, "ev_at_tick", "opn", bankhooks.KindPaymentSucceeded, 500000, "THB", bkk(2026, 12, 1, 18, 0, 0))
			event(t, st, "ev_own", "_bankbot", bankhooks.KindOther, 0, "", bkk(2026, 12, 1, 12, 0, 0))

			clock := newFakeClock(bkk(2026, 12, 1, 17, 59, 0))
			p := &posted{}
			r := startRunner(t, "a", clock, st, loadConfig(t, dailySummary), p)
			clock.waitSleeping(t, 0, 1)
			r.none(t)
			clock.advance(t, bkk(2026, 12, 1, 18, 0, 0), 1)
			require.Equal(t, tickResult{"daily", "summary", ResultOK}, r.next(t))
			msgs := p.all()
			require.Len(t, msgs, 1)
			m := msgs[0]
			require.Equal(t, "finance", m.Robot)
			require.Equal(t, "summary:daily:2026-12-01T11:00:00Z", m.Key)
			require.Contains(t, m.Text, "2026-12-01 00:00 – 18:00 (Asia/Bangkok)")
			require.Contains(t, m.Text, "**opn**\n- ✅ Payment received: 2 · **THB 300.00**\n**stripe**\n- ❌ Payment failed: 1 · **THB 7.77**\n")
			require.Contains(t, m.Text, "3 events in all.")
			require.Contains(t, m.Text, "#### ❌ Failed (1)\n\n- stripe · ❌ Payment failed · **THB 7.77** · ref-ev_last · ev_last\n")
			require.Contains(t, m.Text, "#### 🔔 Not acknowledged (1)")
			for _, out := range []string{"1,000.00", "5,000.00", "_bankbot", "bankbot"} {
				require.NotContains(t, m.Text, out)
			}

			// The next day's summary starts at the last one: the event at
			// 18:00:00 is in it, once.
			_, err := st.AckEvent(t.Context(), "ev_last", "u1", "", "", bkk(2026, 12, 1, 19, 0, 0))
			require.NoError(t, err)
			clock.advance(t, bkk(2026, 12, 2, 18, 0, 0), 1)
			require.Equal(t, tickResult{"daily", "summary", ResultOK}, r.next(t))
			msgs = p.all()
			require.Len(t, msgs, 2)
			require.Contains(t, msgs[1].Text, "2026-12-01 18:00 – 2026-12-02 18:00 (Asia/Bangkok)")
			require.Contains(t, msgs[1].Text, "- ✅ Payment received: 1 · **THB 5,000.00**")
			require.NotContains(t, msgs[1].Text, "Failed")
			require.NotContains(t, msgs[1].Text, "Not acknowledged")
		})
	}
}

func TestRunner_TwoRunnersOneStorePostOnce(t *testing.T) {
	for _, driver := range stores() {
		t.Run(driver, func(t *testing.T) {
			st := openStore(t, driver)
			event(t, st, "ev_1", "opn", bankhooks.KindPaymentSucceeded, 10000, "THB", bkk(2026, 12, 1, 9, 0, 0))
			cfg := loadConfig(t, dailySummary)
			clock := newFakeClock(bkk(2026, 12, 1, 17, 59, 0))
			p := &posted{}
			a := startRunner(t, "replica-a", clock, st, cfg, p)
			b := startRunner(t, "replica-b", clock, st, cfg, p)
			clock.waitSleeping(t, 0, 2)
			clock.advance(t, bkk(2026, 12, 1, 18, 0, 0), 2)
			got := []string{a.next(t).result, b.next(t).result}
			require.ElementsMatch(t, []string{ResultOK, ResultOtherRunner}, got)
			require.Len(t, p.all(), 1, "posted once")
		})
	}
}

func TestRunner_RestartCatchesUpOnce(t *testing.T) {
	for _, driver := range stores() {
		t.Run(driver, func(t *testing.T) {
			st := openStore(t, driver)
			event(t, st, "ev_1", "opn", bankhooks.KindPaymentSucceeded, 10000, "THB", bkk(2026, 12, 1, 9, 0, 0))
			cfg := loadConfig(t, dailySummary)
			p := &posted{}

			// Running since the morning, stopped just before 18:00.
			clock := newFakeClock(bkk(2026, 12, 1, 8, 0, 0))
			a := startRunner(t, "run-1", clock, st, cfg, p)
			clock.waitSleeping(t, 0, 1)
			clock.advance(t, bkk(2026, 12, 1, 17, 59, 50), 1)
			a.stop()
			a.none(t)

			// Restarted at 18:00:30: the 18:00 tick runs once, late.
			clock = newFakeClock(bkk(2026, 12, 1, 18, 0, 30))
			b := startRunner(t, "run-2", clock, st, cfg, p)
			require.Equal(t, tickResult{"daily", "summary", ResultOK}, b.next(t))
			msgs := p.all()
			require.Len(t, msgs, 1)
			require.Contains(t, msgs[0].Text, "2026-12-01 00:00 – 18:00", "the period of the scheduled time, not of the restart")
			require.Contains(t, b.logText(), "run=catch-up")
			b.stop()

			// Restarted again at 18:01: nothing more.
			clock = newFakeClock(bkk(2026, 12, 1, 18, 1, 0))
			c := startRunner(t, "run-3", clock, st, cfg, p)
			require.Equal(t, tickResult{"daily", "summary", ResultOtherRunner}, c.next(t))
			c.stop()
			require.Len(t, p.all(), 1)

			// Down from 2 Dec 17:00 to 4 Dec 17:00: the 3 Dec tick (23 h
			// ago, younger than the 24 h interval) runs; the 2 Dec one is
			// older than an interval and skipped with a log line.
			clock = newFakeClock(bkk(2026, 12, 4, 17, 0, 0))
			d := startRunner(t, "run-4", clock, st, cfg, p)
			require.Equal(t, tickResult{"daily", "summary", ResultSkipped}, d.next(t))
			require.Equal(t, tickResult{"daily", "summary", ResultOK}, d.next(t))
			msgs = p.all()
			require.Len(t, msgs, 2)
			require.Equal(t, "summary:daily:2026-12-03T11:00:00Z", msgs[1].Key)
			require.Contains(t, msgs[1].Text, "2026-12-01 18:00 – 2026-12-03 18:00", "the summary after a skipped tick covers it too")
			require.Contains(t, d.logText(), "older than one interval")
			require.Contains(t, d.logText(), "2026-12-02 18:00:00 +0700")
		})
	}
}

func TestRunner_NewScheduleDoesNotReportThePast(t *testing.T) {
	st := openStore(t, "sqlite")
	clock := newFakeClock(bkk(2026, 12, 1, 10, 0, 0))
	p := &posted{}
	r := startRunner(t, "a", clock, st, loadConfig(t, dailySummary), p)
	clock.waitSleeping(t, 0, 1)
	r.none(t)
	require.Empty(t, p.all(), "yesterday's 18:00 was before the schedule existed")
}

func TestRunner_ReloadAddsAndRemoves(t *testing.T) {
	st := openStore(t, "sqlite")
	clock := newFakeClock(bkk(2026, 12, 1, 17, 0, 0))
	p := &posted{}
	r := startRunner(t, "a", clock, st, loadConfig(t, dailySummary), p)
	clock.waitSleeping(t, 0, 1)

	// daily is renamed to evening and a 17:30 schedule is added.
	r.apply(t, clock, loadConfig(t, `schedules:
  - {name: evening, cron: "0 18 * * *", job: summary, robot: finance}
  - {name: half, cron: "30 17 * * *", job: summary, robot: finance, language: th}
`))
	clock.advance(t, bkk(2026, 12, 1, 17, 30, 0), 1)
	require.Equal(t, tickResult{"half", "summary", ResultOK}, r.next(t))
	clock.advance(t, bkk(2026, 12, 1, 18, 0, 0), 1)
	require.Equal(t, tickResult{"evening", "summary", ResultOK}, r.next(t))
	r.none(t)
	msgs := p.all()
	require.Len(t, msgs, 2)
	require.Equal(t, "th", msgs[0].Language)
	require.Contains(t, msgs[0].Title, "สรุปยอด")
	require.Equal(t, "summary:evening:2026-12-01T11:00:00Z", msgs[1].Key)
	require.Contains(t, r.logText(), "schedule removed")

	// Every schedule removed: nothing runs the next day.
	r.apply(t, clock, loadConfig(t, ""))
	clock.advance(t, bkk(2026, 12, 2, 18, 0, 0), 1)
	r.none(t)
	require.Len(t, p.all(), 2)
}

func TestRunner_RetentionNotWired(t *testing.T) {
	st := openStore(t, "sqlite")
	clock := newFakeClock(bkk(2026, 12, 1, 2, 59, 0))
	p := &posted{}
	r := startRunner(t, "a", clock, st, loadConfig(t, "schedules:\n  - {name: purge, cron: \"0 3 * * *\", job: retention}\n"), p)
	clock.waitSleeping(t, 0, 1)
	clock.advance(t, bkk(2026, 12, 1, 3, 0, 0), 1)
	require.Equal(t, tickResult{"purge", "retention", ResultUnavailable}, r.next(t))
	require.Contains(t, r.logText(), "retention is not available")
	last, ok, err := st.LastTick(t.Context(), "purge", bkk(2026, 12, 2, 0, 0, 0), "")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ResultUnavailable, last.Result)
	require.Empty(t, p.all())
}

func TestRunner_FailedPostIsRecordedAndNextSummaryCoversIt(t *testing.T) {
	st := openStore(t, "sqlite")
	event(t, st, "ev_1", "opn", bankhooks.KindPaymentSucceeded, 10000, "THB", bkk(2026, 12, 2, 9, 0, 0))
	clock := newFakeClock(bkk(2026, 12, 1, 17, 59, 0))
	p := &posted{}
	r := startRunner(t, "a", clock, st, loadConfig(t, dailySummary), p)
	clock.waitSleeping(t, 0, 1)
	clock.advance(t, bkk(2026, 12, 1, 18, 0, 0), 1)
	require.Equal(t, tickResult{"daily", "summary", ResultOK}, r.next(t))

	p.mu.Lock()
	p.fail = errors.New("outbox down")
	p.mu.Unlock()
	clock.advance(t, bkk(2026, 12, 2, 18, 0, 0), 1)
	require.Equal(t, tickResult{"daily", "summary", ResultFailed}, r.next(t))
	require.Contains(t, r.logText(), "outbox down")

	p.mu.Lock()
	p.fail = nil
	p.mu.Unlock()
	clock.advance(t, bkk(2026, 12, 3, 18, 0, 0), 1)
	require.Equal(t, tickResult{"daily", "summary", ResultOK}, r.next(t))
	msgs := p.all()
	require.Len(t, msgs, 2)
	require.True(t, strings.Contains(msgs[1].Text, "2026-12-01 18:00 – 2026-12-03 18:00"), msgs[1].Text)
	require.Contains(t, msgs[1].Text, "**THB 100.00**", "the failed tick's events are in the next summary")
}

func TestRunner_OverlapAndChangeWhileRunning(t *testing.T) {
	st := openStore(t, "sqlite")
	started, release := make(chan time.Time, 4), make(chan struct{})
	jobs := map[string]Job{"summary": func(ctx context.Context, _ *Deps, tk Tick) (string, error) {
		started <- tk.At
		<-release
		return ResultOK, nil
	}}
	clock := newFakeClock(bkk(2026, 12, 1, 17, 59, 0))
	r := startRunnerJobs(t, "a", clock, st, loadConfig(t, "schedules:\n  - {name: x, cron: \"*/30 * * * *\", job: summary, robot: finance}\n"), &posted{}, jobs)
	clock.waitSleeping(t, 0, 1)
	clock.advance(t, bkk(2026, 12, 1, 18, 0, 0), 1)
	require.Equal(t, bkk(2026, 12, 1, 18, 0, 0), recv(t, started).In(bangkok))

	// The 18:30 tick comes while 18:00 still runs: skipped, not run twice
	// at once.
	clock.advance(t, bkk(2026, 12, 1, 18, 30, 0), 1)
	require.Equal(t, tickResult{"x", "summary", ResultSkipped}, r.next(t))
	require.Contains(t, r.logText(), "the previous tick still runs")

	// The schedule changes while its tick runs; when it ends, the new
	// definition runs at its time.
	r.apply(t, clock, loadConfig(t, "schedules:\n  - {name: x, cron: \"0 19 * * *\", job: summary, robot: finance}\n"))
	release <- struct{}{}
	require.Equal(t, tickResult{"x", "summary", ResultOK}, r.next(t))
	clock.advance(t, bkk(2026, 12, 1, 19, 0, 0), 1)
	require.Equal(t, bkk(2026, 12, 1, 19, 0, 0), recv(t, started).In(bangkok))
	release <- struct{}{}
	require.Equal(t, tickResult{"x", "summary", ResultOK}, r.next(t))
}

// recv receives from ch, failing the test after 10 s of real time.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received")
		var zero T
		return zero
	}
}

// TestEntries_DaylightSaving: a spec with set hours follows the zone's wall
// clock across daylight-saving changes (a skipped time runs when the clocks
// jump, a repeated one once); a spec that runs every hour keeps real time.
func TestEntries_DaylightSaving(t *testing.T) {
	cfg := loadConfig(t, `schedules:
  - {name: skipped, cron: "CRON_TZ=America/New_York 30 2 * * *", job: summary, robot: finance}
  - {name: repeated, cron: "CRON_TZ=America/New_York 30 1 * * *", job: summary, robot: finance}
  - {name: at-jump, cron: "CRON_TZ=America/New_York 0 2 * * *", job: summary, robot: finance}
  - {name: twice-a-day, cron: "CRON_TZ=America/New_York 30 1,13 * * *", job: summary, robot: finance}
  - {name: every30, cron: "CRON_TZ=America/New_York */30 * * * *", job: watchdog, robot: finance}
  - {name: lordhowe, cron: "CRON_TZ=Australia/Lord_Howe 15 2 * * *", job: summary, robot: finance}
  - {name: lordhowe-back, cron: "CRON_TZ=Australia/Lord_Howe 45 1 * * *", job: summary, robot: finance}
  - {name: sydney, cron: "CRON_TZ=Australia/Sydney 30 2 * * *", job: summary, robot: finance}
  - {name: bangkok, cron: "0 18 * * *", job: summary, robot: finance}
`)
	es, err := Entries(cfg)
	require.NoError(t, err)
	byName := map[string]*Entry{}
	for _, e := range es {
		byName[e.Name] = e
	}
	// ticks lists the next n ticks after from, in the entry's zone.
	ticks := func(name string, from time.Time, n int) []string {
		e := byName[name]
		var out []string
		for at := from; len(out) < n; {
			at = e.Next(at)
			out = append(out, at.In(e.Location).Format("2006-01-02 15:04 MST"))
		}
		return out
	}
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	spring := time.Date(2026, 3, 7, 12, 0, 0, 0, ny) // clocks jump 02:00 EST → 03:00 EDT on 8 March
	fall := time.Date(2026, 10, 31, 12, 0, 0, 0, ny) // clocks go back 02:00 EDT → 01:00 EST on 1 November
	tests := []struct {
		name string
		from time.Time
		want []string
	}{
		{"skipped", spring, []string{"2026-03-08 03:00 EDT", "2026-03-09 02:30 EDT", "2026-03-10 02:30 EDT"}},
		{"at-jump", spring, []string{"2026-03-08 03:00 EDT", "2026-03-09 02:00 EDT"}},
		{"repeated", spring, []string{"2026-03-08 01:30 EST", "2026-03-09 01:30 EDT"}},
		{"repeated", fall, []string{"2026-11-01 01:30 EDT", "2026-11-02 01:30 EST", "2026-11-03 01:30 EST"}},
		// From inside the repeated hour, after 01:30 EDT ran: not again at 01:30 EST.
		{"repeated", time.Date(2026, 11, 1, 6, 10, 0, 0, time.UTC), []string{"2026-11-02 01:30 EST"}}, // 01:10 EST
		{"skipped", fall, []string{"2026-11-01 02:30 EST", "2026-11-02 02:30 EST"}},
		{"twice-a-day", fall, []string{"2026-10-31 13:30 EDT", "2026-11-01 01:30 EDT", "2026-11-01 13:30 EST", "2026-11-02 01:30 EST"}},
		// Every 30 minutes: real time, so the repeated hour is watched twice.
		{"every30", time.Date(2026, 11, 1, 0, 45, 0, 0, ny), []string{"2026-11-01 01:00 EDT", "2026-11-01 01:30 EDT",
			"2026-11-01 01:00 EST", "2026-11-01 01:30 EST", "2026-11-01 02:00 EST"}},
		{"every30", time.Date(2026, 3, 8, 1, 15, 0, 0, ny), []string{"2026-03-08 01:30 EST", "2026-03-08 03:00 EDT", "2026-03-08 03:30 EDT"}},
		// Lord Howe moves its clocks by 30 minutes: 02:00 → 02:30 on 4
		// October, 02:00 → 01:30 on 5 April.
		{"lordhowe", time.Date(2026, 10, 3, 12, 0, 0, 0, time.UTC), []string{"2026-10-04 02:30 +11", "2026-10-05 02:15 +11"}},
		{"lordhowe-back", time.Date(2026, 4, 4, 0, 0, 0, 0, time.UTC), []string{"2026-04-05 01:45 +11", "2026-04-06 01:45 +1030"}},
		// Sydney: 02:00 AEST → 03:00 AEDT on 4 October.
		{"sydney", time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC), []string{"2026-10-04 03:00 AEDT", "2026-10-05 02:30 AEDT"}},
		{"bangkok", time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), []string{"2026-03-07 18:00 +07", "2026-03-08 18:00 +07"}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" from "+tc.from.Format("01-02"), func(t *testing.T) {
			require.Equal(t, tc.want, ticks(tc.name, tc.from, len(tc.want)))
		})
	}
	// Prev agrees with Next across the change: the tick of the skipped
	// time is found again, and the repeated time is one tick.
	skipped := byName["skipped"]
	jump := skipped.Next(spring)
	require.Equal(t, jump, skipped.Prev(jump.Add(time.Minute)))
	repeated := byName["repeated"]
	first := repeated.Next(fall)
	require.Equal(t, first, repeated.Prev(first.Add(90*time.Minute)), "01:30 EST is not a second tick")
}

// TestRunner_DaylightSavingOnceADay: a daily summary in a zone with daylight
// saving is posted once on the day the clocks jump over its time (when they
// jump) and once on the day they show it twice (the first time).
func TestRunner_DaylightSavingOnceADay(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, spec string
		start      time.Time
		steps      []time.Time // clock moves; a tick is expected at each marked true
		posts      []bool
		keys       []string
	}{
		{"spring forward: 02:30 runs at 03:00", "30 2 * * *", time.Date(2026, 3, 8, 1, 0, 0, 0, ny),
			[]time.Time{time.Date(2026, 3, 8, 3, 0, 0, 0, ny), time.Date(2026, 3, 9, 2, 30, 0, 0, ny)},
			[]bool{true, true}, []string{"summary:d:2026-03-08T07:00:00Z", "summary:d:2026-03-09T06:30:00Z"}},
		{"fall back: 01:30 runs once", "30 1 * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, ny),
			[]time.Time{time.Date(2026, 11, 1, 1, 30, 0, 0, ny), time.Date(2026, 11, 1, 1, 30, 0, 0, ny).Add(time.Hour), time.Date(2026, 11, 2, 1, 30, 0, 0, ny)},
			[]bool{true, false, true}, []string{"summary:d:2026-11-01T05:30:00Z", "summary:d:2026-11-02T06:30:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t, "sqlite")
			clock := newFakeClock(tc.start)
			p := &posted{}
			r := startRunner(t, "a", clock, st, loadConfig(t, "schedules:\n  - {name: d, cron: \"CRON_TZ=America/New_York "+tc.spec+"\", job: summary, robot: finance, language: en}\n"), p)
			clock.waitSleeping(t, 0, 1)
			for i, at := range tc.steps {
				clock.advance(t, at, 1)
				if tc.posts[i] {
					require.Equal(t, tickResult{"d", "summary", ResultOK}, r.next(t), "step %d", i)
				} else {
					r.none(t)
				}
			}
			var keys []string
			for _, m := range p.all() {
				keys = append(keys, m.Key)
			}
			require.Equal(t, tc.keys, keys)
		})
	}
}

// TestRunner_SummaryLeavesOutTestMode: events the provider sent in test mode
// are not in the totals nor the failed and unacknowledged lists; one line
// counts them.
func TestRunner_SummaryLeavesOutTestMode(t *testing.T) {
	for _, driver := range stores() {
		t.Run(driver, func(t *testing.T) {
			st := openStore(t, driver)
			event(t, st, "ev_live", "opn", bankhooks.KindPaymentSucceeded, 10000, "THB", bkk(2026, 12, 1, 9, 0, 0))
			testModeEvent(t, st, "ev_test_ok", "opn", bankhooks.KindPaymentSucceeded, 990000, "THB", bkk(2026, 12, 1, 10, 0, 0))
			testModeEvent(t, st, "ev_test_failed", "opn", bankhooks.KindPaymentFailed, 4400, "THB", bkk(2026, 12, 1, 11, 0, 0))
			clock := newFakeClock(bkk(2026, 12, 1, 17, 59, 0))
			p := &posted{}
			r := startRunner(t, "a", clock, st, loadConfig(t, dailySummary), p)
			clock.waitSleeping(t, 0, 1)
			clock.advance(t, bkk(2026, 12, 1, 18, 0, 0), 1)
			require.Equal(t, tickResult{"daily", "summary", ResultOK}, r.next(t))
			msgs := p.all()
			require.Len(t, msgs, 1)
			text := msgs[0].Text
			live, test, ok := strings.Cut(text, "#### 🧪 Test mode, not in the totals (2)\n\n")
			require.True(t, ok, text)
			require.Contains(t, live, "**opn**\n- ✅ Payment received: 1 · **THB 100.00**\n\n1 events in all.")
			require.Contains(t, test, "**opn**\n- ❌ Payment failed: 1 · **THB 44.00**\n- ✅ Payment received: 1 · **THB 9,900.00**\n")
			for _, out := range []string{"Failed", "Not acknowledged", "ev_test"} {
				require.NotContains(t, text, out, "test-mode events are not listed")
			}

			// Only test-mode events: no "no events" line, the test section.
			_, only := SummaryText(SummaryData{Schedule: "s", Lang: "th", Location: time.UTC, Since: bkk(2026, 12, 1, 0, 0, 0), Until: bkk(2026, 12, 1, 18, 0, 0),
				Totals: []store.EventTotal{{Source: "opn", Kind: "payment.succeeded", Currency: "THB", Count: 3, Sum: big.NewInt(300), Test: true}}})
			require.Contains(t, only, "#### 🧪 โหมดทดสอบ ไม่นับรวมในยอด (3)")
			require.NotContains(t, only, allWords["th"].noEvents)
			require.NotContains(t, only, "รวมทั้งหมด")
		})
	}
}
