package bot

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// scheduleRoutes is the routes section with a schedules section after it
// (testConfig writes routes last).
const scheduleRoutes = "  - name: all\n    robot: log\n    language: en\nschedules:\n  - {name: daily, cron: \"0 18 * * *\", job: summary, robot: log, language: en}\n"

// waitScheduled waits for the delivery of the scheduled message of
// schedule. The scheduler sleeps at most a minute of clock time, so while
// the message is missing the clock moves on by a minute: whatever the
// scheduler was doing when the test moved the clock, its next round sees
// the new time.
func (ta *testApp) waitScheduled(t *testing.T, schedule string) store.Delivery {
	t.Helper()
	var found store.Delivery
	require.Eventually(t, func() bool {
		for _, d := range ta.deliveries(t) {
			if d.Route == scheduleRoute(schedule) {
				found = d
				return true
			}
		}
		ta.clock.Advance(time.Minute)
		return false
	}, 10*time.Second, 20*time.Millisecond, "no delivery of schedule %s", schedule)
	return found
}

func TestSchedules_SummaryGoesThroughTheOutbox(t *testing.T) {
	// t0 is 17:00 in Bangkok.
	ta := newTestApp(t, testConfig{routes: scheduleRoutes})
	ta.postCharge(t, "evnt_1", 123456, "THB", "order 1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	mark := ta.clock.mark()
	go func() {
		ta.scheduler.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	require.Contains(t, scrape(t, ta), `bankbot_schedule_ticks_total{job="summary",result="failed",schedule="daily"} 0`, "precreated")
	ta.clock.waitTimer(t, mark, anyTimer)
	ta.clock.Advance(time.Hour) // 18:00 Bangkok
	d := ta.waitScheduled(t, "daily")
	require.Equal(t, "log", d.Robot)
	require.Equal(t, store.StatusPending, d.Status)
	var spec Spec
	require.NoError(t, json.Unmarshal(d.Spec, &spec))
	require.Equal(t, "📊 Summary: daily", spec.Title)
	require.Contains(t, spec.Text, "2026-11-21 00:00 – 18:00 (Asia/Bangkok)")
	require.Contains(t, spec.Text, "- ✅ Payment received: 1 · **THB 1,234.56**")
	ev, err := ta.store.GetEvent(context.Background(), d.EventID)
	require.NoError(t, err)
	require.Equal(t, opsSource, ev.Source)
	require.Equal(t, "summary:daily:2026-11-21T11:00:00Z", ev.Event.ID)
	require.Eventually(t, func() bool {
		return metricValue(ta.metrics.ScheduleTicks.WithLabelValues("daily", "summary", "ok")) == 1
	}, 10*time.Second, 2*time.Millisecond)

	// The robot's worker sends it like any alert.
	ta.startWorkers(t)
	ta.waitDelivery(t, d.ID, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
	require.Contains(t, ta.logs.String(), "Summary: daily")

	// A reload adds a schedule: it runs at its time.
	writeFile(t, ta.cfgPath, testConfig{routes: scheduleRoutes + "  - {name: evening, cron: \"0 19 * * *\", job: summary, robot: log, language: zh}\n"}.yaml())
	res, err := ta.Reload("test")
	require.NoError(t, err)
	require.Equal(t, ReloadApplied, res)
	ta.clock.Advance(time.Hour - time.Minute) // 19:00 less the minute waitScheduled adds
	d = ta.waitScheduled(t, "evening")
	require.NoError(t, json.Unmarshal(d.Spec, &spec))
	require.Contains(t, spec.Text, "2026-11-21 00:00 – 19:00 (Asia/Bangkok)", "the 19:00 tick, a first run: the day so far")
	require.Equal(t, "📊 汇总：evening", spec.Title)
	require.Equal(t, "zh", spec.Language)
}

func TestSchedules_ConfigCheckWarnings(t *testing.T) {
	ta := newTestApp(t, testConfig{sources: "  opn:\n    provider: omise\n    silence_after: 6h\n    secrets:\n      - value: " + keyA + "\n"})
	require.Contains(t, ta.logs.String(), "sources.opn.silence_after: not active: no schedule runs the watchdog job")
}

func TestSchedules_RetentionPurgesThroughTheConfig(t *testing.T) {
	// The default storage.retention is 90 days: an event older than that
	// whose delivery was sent loses its raw body; a newer one and one whose
	// delivery is not sent keep theirs.
	ta := newTestApp(t, testConfig{routes: "  - name: all\n    robot: log\n    language: en\n"})
	ctx := context.Background()
	old := ta.postCharge(t, "evnt_old", 100, "THB", "old and sent")
	stop := ta.startWorkers(t)
	for _, d := range ta.deliveries(t) {
		ta.waitDelivery(t, d.ID, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
	}
	stop()
	pending := ta.postCharge(t, "evnt_pending", 200, "THB", "old, not sent yet")
	ta.route(t)
	ta.clock.Advance(89 * 24 * time.Hour)
	recent := ta.postCharge(t, "evnt_recent", 300, "THB", "recent")

	what, err := ta.retention(ctx, ta.clock.Now().Add(2*24*time.Hour)) // 91 days after the first two
	require.NoError(t, err)
	require.Contains(t, what, "1 bodies")
	require.Contains(t, what, "1 old events kept")

	// Only the latest tick of a schedule stays once it is older than the
	// cut-off.
	for _, at := range []time.Time{ta.clock.Now().Add(-95 * 24 * time.Hour), ta.clock.Now().Add(-94 * 24 * time.Hour)} {
		won, err := ta.store.ClaimTick(ctx, "daily", at, "test", at)
		require.NoError(t, err)
		require.True(t, won)
	}
	_, err = ta.retention(ctx, ta.clock.Now().Add(2*24*time.Hour))
	require.NoError(t, err)
	tick, ok, err := ta.store.LastTick(ctx, "daily", ta.clock.Now(), "")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ta.clock.Now().Add(-94*24*time.Hour).UTC().Truncate(time.Millisecond), tick.TickAt)
	_, ok, err = ta.store.LastTick(ctx, "daily", tick.TickAt, "")
	require.NoError(t, err)
	require.False(t, ok, "the older tick was purged")

	for id, purged := range map[string]bool{old: true, pending: false, recent: false} {
		ev, err := ta.store.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, purged, len(ev.Body) == 0, "event %s body purged", ev.Event.ID)
		require.Equal(t, purged, !ev.BodyPurgedAt.IsZero(), "event %s purge stamp", ev.Event.ID)
		require.NotZero(t, ev.Event.Amount, "the canonical event stays")
	}
}
