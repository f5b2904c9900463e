package schedule

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
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
