package bot

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
	"github.com/bankbot/bankbot/store"
)

const dtSecret = "SECunit0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

// dtApp is an App whose robot "dt" is a custom robot pointed at a fake
// DingTalk that checks every signature and shares the app's fake clock.
type dtApp struct {
	*testApp
	dt *dingtalktest.Server
}

// newDTApp builds it. robotExtra is YAML added under robots.dt (e.g.
// "    timeout: 200ms\n"); cfg.robots and cfg.routes default to that robot.
func newDTApp(t *testing.T, cfg testConfig, robotExtra string, opts dingtalktest.Options) *dtApp {
	t.Helper()
	clock := newFakeClock(t0)
	if opts.Secret == "" {
		opts.Secret = dtSecret
	}
	opts.Now = clock.Now
	dt := dingtalktest.New(t, opts)
	if cfg.robots == "" {
		cfg.robots = dt.RobotYAML("dt") + robotExtra
	}
	if cfg.routes == "" {
		cfg.routes = "  - name: all\n    robot: dt\n    language: en\n"
	}
	ta := newTestAppClock(t, cfg, clock)
	ta.withRuntime(func(rt *Runtime) { rt.Backoff.Rand = func() float64 { return 0 } })
	return &dtApp{testApp: ta, dt: dt}
}

// settle wakes robot's worker and waits until it has gone back to sleep,
// so the test knows it has seen the current time and found nothing to do.
func (ta *testApp) settle(t *testing.T, robot string) {
	t.Helper()
	mark := ta.clock.mark()
	ta.deliverer.wake(robot)
	ta.clock.waitTimer(t, mark, anyTimer)
}

// advanceTo moves the fake clock to at and wakes robot's worker.
func (ta *testApp) advanceTo(at time.Time, robot string) {
	ta.clock.Advance(at.Sub(ta.clock.Now()))
	ta.deliverer.wake(robot)
}

func (ta *testApp) attempts(t *testing.T, id int64) []store.Attempt {
	t.Helper()
	as, err := ta.store.Attempts(context.Background(), id)
	require.NoError(t, err)
	return as
}

func onlyDelivery(t *testing.T, ta *testApp) store.Delivery {
	t.Helper()
	ds := ta.deliveries(t)
	require.Len(t, ds, 1)
	return ds[0]
}

// TestDeliver_RetriesThenSucceeds (anchors §8.2): HTTP 500, then errcode -1,
// then ok: one message arrives, three attempts are recorded with their
// reasons, and each retry waits exactly the backoff (jitter fixed at 0).
func TestDeliver_RetriesThenSucceeds(t *testing.T) {
	ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
	ta.dt.Script(dingtalktest.Response{Status: 500}, dingtalktest.Response{ErrCode: -1})
	evID := ta.postCharge(t, "evnt_retry", 5000, "THB", "Order 1")
	ta.route(t)
	id := onlyDelivery(t, ta.testApp).ID
	ta.startWorkers(t)

	d := ta.waitDelivery(t, id, "retried once", func(d store.Delivery) bool { return d.Attempts == 1 })
	require.Equal(t, store.StatusPending, d.Status)
	require.Equal(t, "server", d.LastReason)
	require.Equal(t, t0.Add(500*time.Millisecond), d.NextAttemptAt, "Initial 1s × 0.5")

	// Not a moment early.
	ta.advanceTo(d.NextAttemptAt.Add(-time.Millisecond), "dt")
	ta.settle(t, "dt")
	require.Equal(t, 1, ta.dt.Requests())

	ta.advanceTo(d.NextAttemptAt, "dt")
	d = ta.waitDelivery(t, id, "retried twice", func(d store.Delivery) bool { return d.Attempts == 2 })
	require.Equal(t, store.StatusPending, d.Status)
	require.Equal(t, t0.Add(1500*time.Millisecond), d.NextAttemptAt, "then 2s × 0.5 after the second attempt")

	ta.advanceTo(d.NextAttemptAt, "dt")
	d = ta.waitDelivery(t, id, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
	require.Equal(t, 3, d.Attempts)
	require.True(t, t0.Add(1500*time.Millisecond).Equal(d.SentAt))
	ta.settle(t, "dt") // the worker has finished recording (metrics follow the store write)

	as := ta.attempts(t, id)
	require.Len(t, as, 3)
	wantAt := []time.Time{t0, t0.Add(500 * time.Millisecond), t0.Add(1500 * time.Millisecond)}
	wantReason := []string{"server", "server", "ok"}
	wantErr := []string{"http 500", "errcode -1", ""}
	for i, a := range as {
		require.True(t, wantAt[i].Equal(a.At), "attempt %d at %s", i+1, a.At)
		require.Equal(t, wantReason[i], a.Reason, "attempt %d", i+1)
		if wantErr[i] == "" {
			require.Empty(t, a.Error)
		} else {
			require.Contains(t, a.Error, wantErr[i], "attempt %d", i+1)
		}
	}

	msgs := ta.dt.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "markdown", msgs[0].MsgType)
	require.Contains(t, msgs[0].Text, "ref: "+evID)
	require.Regexp(t, `^dm_[0-9a-z]{26}$`, msgs[0].UUID)
	require.Equal(t, d.MessageID, msgs[0].UUID, "the message id was written before the first attempt and kept by every retry")
	require.Equal(t, 2.0, metricValue(ta.metrics.Attempts.WithLabelValues("dt", "server")))
	require.Equal(t, 1.0, metricValue(ta.metrics.Attempts.WithLabelValues("dt", "ok")))
	require.Equal(t, 2.0, metricValue(ta.metrics.Deliveries.WithLabelValues("dt", "retry")))
	require.Equal(t, 1.0, metricValue(ta.metrics.Deliveries.WithLabelValues("dt", "sent")))
	require.InDelta(t, 1.5, metricValue(ta.metrics.DeliveryLatency.WithLabelValues("dt").(prometheus.Metric)), 1e-9, "latency is receipt → accepted")
}

// TestDeliver_RetryClassification drives one attempt per DingTalk answer
// through the real robot client and checks what bankbot does with it:
// dead-letter, or retry after the backoff or DingTalk's own wait.
func TestDeliver_RetryClassification(t *testing.T) {
	ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
	const backoff1 = 500 * time.Millisecond // Initial 1s, jitter fixed at 0
	tests := []struct {
		name   string
		answer dingtalktest.Response
		status string
		reason string
		wait   time.Duration // 0 for dead
		blocks bool          // the robot's limiter is blocked for wait
	}{
		{"http 500", dingtalktest.Response{Status: 500}, store.StatusPending, "server", backoff1, false},
		{"http 502", dingtalktest.Response{Status: 502}, store.StatusPending, "server", backoff1, false},
		{"http 503", dingtalktest.Response{Status: 503}, store.StatusPending, "server", backoff1, false},
		{"http 408", dingtalktest.Response{Status: 408}, store.StatusPending, "server", backoff1, false},
		{"http 429", dingtalktest.Response{Status: 429}, store.StatusPending, "rate_limited", time.Minute, true},
		{"connection dropped", dingtalktest.Response{Hangup: true}, store.StatusPending, "network", backoff1, false},
		{"not JSON", dingtalktest.Response{Body: "<html>gateway</html>"}, store.StatusPending, "server", backoff1, false},
		{"errcode -1 busy", dingtalktest.Response{ErrCode: -1}, store.StatusPending, "server", backoff1, false},
		{"errcode 410100 rate limited", dingtalktest.Response{ErrCode: 410100}, store.StatusPending, "rate_limited", 10 * time.Minute, true},
		{"errcode 130101 legacy rate limit", dingtalktest.Response{ErrCode: 130101}, store.StatusPending, "rate_limited", 10 * time.Minute, true},
		{"errcode 90030 quota", dingtalktest.Response{ErrCode: 90030}, store.StatusPending, "quota", time.Hour, false},
		{"errcode 310000 security (config; retried)", dingtalktest.Response{ErrCode: 310000}, store.StatusPending, "config", backoff1, false},
		{"unknown errcode", dingtalktest.Response{ErrCode: 987654}, store.StatusPending, "server", backoff1, false},
		{"http 400", dingtalktest.Response{Status: 400}, store.StatusDead, "permanent", 0, false},
		{"http 404", dingtalktest.Response{Status: 404}, store.StatusDead, "permanent", 0, false},
		{"errcode 400102 robot disabled", dingtalktest.Response{ErrCode: 400102}, store.StatusDead, "permanent", 0, false},
		{"errcode 400013 group dissolved", dingtalktest.Response{ErrCode: 400013}, store.StatusDead, "permanent", 0, false},
		{"errcode 400101 no access_token", dingtalktest.Response{ErrCode: 400101}, store.StatusDead, "permanent", 0, false},
		{"errcode 300001 token", dingtalktest.Response{ErrCode: 300001}, store.StatusDead, "permanent", 0, false},
		{"errcode 460101 too long", dingtalktest.Response{ErrCode: 460101}, store.StatusDead, "too_large", 0, false},
		{"errcode 430104 content", dingtalktest.Response{ErrCode: 430104}, store.StatusDead, "content", 0, false},
		{"ok (the fake's own checks pass)", dingtalktest.Response{}, store.StatusSent, "ok", 0, false},
	}
	ctx := context.Background()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh spread window for each case (the budget allows 5 sends
			// in 15.5 s), and past the block a previous case set.
			ta.clock.Advance(16 * time.Second)
			if tc.status != store.StatusSent {
				ta.dt.Script(tc.answer) // a scripted answer is never recorded as a message
			}
			ta.postCharge(t, "evnt_class_"+strconv.Itoa(i), 5000, "THB", "x")
			ta.route(t)
			now := ta.clock.Now()
			claimed, err := ta.store.ClaimDeliveries(ctx, store.Claim{Robot: "dt", Owner: ta.owner, Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
			require.NoError(t, err)
			require.Len(t, claimed, 1)
			ta.deliverOne(t, claimed[0])

			d, err := ta.store.GetDelivery(ctx, claimed[0].ID)
			require.NoError(t, err)
			require.Equal(t, tc.status, d.Status)
			require.Equal(t, tc.reason, d.LastReason)
			if tc.reason == "rate_limited" || tc.reason == "quota" {
				require.Equal(t, 0, d.Attempts, "throttling does not spend the retry budget")
				require.Equal(t, 1, d.Throttles)
			} else {
				require.Equal(t, 1, d.Attempts)
				require.Equal(t, 0, d.Throttles)
			}
			if tc.status == store.StatusPending {
				require.Equal(t, now.Add(tc.wait), d.NextAttemptAt)
				require.NotEmpty(t, d.LastError)
			}
			b, err := ta.store.SendBudget(ctx, budgetQuery(ta.runtime.Load().Robots["dt"], now))
			require.NoError(t, err)
			if tc.blocks {
				require.Equal(t, 0, b.Free, "the robot is paused in the store")
				require.Equal(t, now.Add(tc.wait), b.NextAt)
				ta.clock.Advance(tc.wait)
			} else {
				require.Positive(t, b.Free)
			}
			if d.Status == store.StatusPending {
				// Out of the way of the next case: dead-letter the row.
				later := ta.clock.Now().Add(48 * time.Hour)
				again, err := ta.store.ClaimDeliveries(ctx, store.Claim{Robot: "dt", Owner: ta.owner, Now: later, LeaseUntil: later.Add(time.Minute), Limit: 10})
				require.NoError(t, err)
				require.Len(t, again, 1)
				_, err = ta.store.DeadLetterDeliveries(ctx, []int64{again[0].ID}, store.Attempt{At: later, Reason: "test"})
				require.NoError(t, err)
			}
		})
	}
	require.Len(t, ta.dt.Messages(), 1, "only the ok answer delivered a message")
}

// TestDeliver_Permanent_NoRetry: a permanent answer dead-letters after one
// attempt, and the worker never sends it again.
func TestDeliver_Permanent_NoRetry(t *testing.T) {
	ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
	ta.dt.Script(dingtalktest.Response{ErrCode: 400102})
	ta.postCharge(t, "evnt_perm", 5000, "THB", "x")
	ta.route(t)
	id := onlyDelivery(t, ta.testApp).ID
	ta.startWorkers(t)

	d := ta.waitDelivery(t, id, "dead", func(d store.Delivery) bool { return d.Status == store.StatusDead })
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, "permanent", d.LastReason)
	require.Contains(t, d.LastError, "400102")
	ta.advanceTo(t0.Add(24*time.Hour), "dt")
	ta.settle(t, "dt")
	require.Equal(t, 1, ta.dt.Requests())
	require.Equal(t, 1.0, metricValue(ta.metrics.Deliveries.WithLabelValues("dt", "dead")))
}

// TestDeliver_BudgetExhausted_DeadLetter: after max_attempts failures, or
// once max_age has passed, the delivery is dead with every attempt recorded.
func TestDeliver_BudgetExhausted_DeadLetter(t *testing.T) {
	t.Run("max_attempts", func(t *testing.T) {
		ta := newDTApp(t, testConfig{delivery: "  retry:\n    max_attempts: 3\n"}, "", dingtalktest.Options{})
		ta.dt.Script(dingtalktest.Response{Status: 500}, dingtalktest.Response{Status: 500}, dingtalktest.Response{Status: 500})
		ta.postCharge(t, "evnt_budget", 5000, "THB", "x")
		ta.route(t)
		id := onlyDelivery(t, ta.testApp).ID
		ta.startWorkers(t)
		for n := 1; n <= 2; n++ {
			d := ta.waitDelivery(t, id, "failed again", func(d store.Delivery) bool { return d.Attempts == n })
			require.Equal(t, store.StatusPending, d.Status)
			ta.advanceTo(d.NextAttemptAt, "dt")
		}
		d := ta.waitDelivery(t, id, "dead", func(d store.Delivery) bool { return d.Status == store.StatusDead })
		require.Equal(t, 3, d.Attempts)
		require.Len(t, ta.attempts(t, id), 3)
		for _, a := range ta.attempts(t, id) {
			require.Equal(t, "server", a.Reason)
		}
		ta.advanceTo(t0.Add(time.Hour), "dt")
		ta.settle(t, "dt")
		require.Equal(t, 3, ta.dt.Requests(), "no fourth attempt")
		require.Empty(t, ta.dt.Messages())
	})
	t.Run("throttling does not spend it", func(t *testing.T) {
		// max_attempts 3, but DingTalk says "too fast" five times first: the
		// message still goes out, and a later real failure still has its budget.
		ta := newDTApp(t, testConfig{delivery: "  retry:\n    max_attempts: 3\n"}, "", dingtalktest.Options{})
		var script []dingtalktest.Response
		for range 5 {
			script = append(script, dingtalktest.Response{ErrCode: 410100})
		}
		script = append(script, dingtalktest.Response{Status: 500})
		ta.dt.Script(script...)
		ta.postCharge(t, "evnt_throttled", 5000, "THB", "x")
		ta.route(t)
		id := onlyDelivery(t, ta.testApp).ID
		ta.startWorkers(t)
		for n := 1; n <= 5; n++ {
			d := ta.waitDelivery(t, id, "throttled again", func(d store.Delivery) bool { return d.Throttles == n })
			require.Equal(t, store.StatusPending, d.Status)
			require.Zero(t, d.Attempts)
			ta.advanceTo(d.NextAttemptAt, "dt")
		}
		d := ta.waitDelivery(t, id, "failed once", func(d store.Delivery) bool { return d.Attempts == 1 })
		require.Equal(t, store.StatusPending, d.Status, "one real failure of a budget of 3")
		ta.advanceTo(d.NextAttemptAt, "dt")
		d = ta.waitDelivery(t, id, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
		require.Equal(t, 2, d.Attempts)
		require.Equal(t, 5, d.Throttles)
		require.Len(t, ta.attempts(t, id), 7, "every answer is in the attempt log")
		require.Len(t, ta.dt.Messages(), 1)
	})
	t.Run("max_age", func(t *testing.T) {
		ta := newDTApp(t, testConfig{delivery: "  retry:\n    max_age: 1h\n"}, "", dingtalktest.Options{})
		ta.dt.Script(dingtalktest.Response{Status: 500}, dingtalktest.Response{Status: 500})
		ta.postCharge(t, "evnt_age", 5000, "THB", "x")
		ta.route(t)
		id := onlyDelivery(t, ta.testApp).ID
		ta.startWorkers(t)
		ta.waitDelivery(t, id, "failed", func(d store.Delivery) bool { return d.Attempts == 1 })
		ta.advanceTo(t0.Add(time.Hour), "dt") // the delivery is an hour old
		d := ta.waitDelivery(t, id, "dead", func(d store.Delivery) bool { return d.Status == store.StatusDead })
		require.Equal(t, 2, d.Attempts, "dead by age, not by count (budget 20)")
	})
}

// TestDeliver_RateLimited: errcode 410100 blocks the robot for DingTalk's
// 10-minute penalty: the row is rescheduled (not dead), the rest of the
// claimed batch is handed back without an attempt, and nothing is sent to the
// robot before the block ends.
func TestDeliver_RateLimited(t *testing.T) {
	ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
	ta.dt.Script(dingtalktest.Response{ErrCode: 410100})
	for i := range 3 {
		ta.postCharge(t, "evnt_rl_"+strconv.Itoa(i), 5000, "THB", "x")
	}
	ta.route(t)
	ds := ta.deliveries(t)
	require.Len(t, ds, 3)
	mark := ta.clock.mark()
	ta.startWorkers(t)

	blockedUntil := t0.Add(dingtalk.RateLimitPenalty)
	// The worker sleeps until the block ends, not just until the next poll.
	ta.clock.waitTimer(t, mark, func(at time.Time) bool { return at.Equal(blockedUntil) })
	d := ta.waitDelivery(t, ds[0].ID, "rescheduled", func(d store.Delivery) bool { return d.Throttles == 1 })
	require.Zero(t, d.Attempts, "a throttled answer does not spend the retry budget")
	require.Equal(t, store.StatusPending, d.Status)
	require.Equal(t, "rate_limited", d.LastReason)
	require.Equal(t, blockedUntil, d.NextAttemptAt)
	for _, other := range ds[1:] {
		d := ta.waitDelivery(t, other.ID, "released", func(d store.Delivery) bool { return d.Status == store.StatusPending })
		require.Zero(t, d.Attempts, "handed back, not attempted")
		require.Empty(t, d.LeaseOwner)
	}
	require.Equal(t, 1, ta.dt.Requests())

	// Another event meanwhile waits too.
	ta.postCharge(t, "evnt_rl_late", 5000, "THB", "x")
	ta.route(t)
	ta.advanceTo(blockedUntil.Add(-time.Second), "dt")
	ta.settle(t, "dt")
	require.Equal(t, 1, ta.dt.Requests(), "nothing sent while blocked")

	ta.advanceTo(blockedUntil, "dt")
	require.Len(t, ta.dt.WaitForMessages(4, 10*time.Second), 4)
	for _, d := range ds {
		ta.waitDelivery(t, d.ID, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
	}
}

// TestRateLimit_21stMessageDelayedNotFailed (anchors §8.1.8): with the
// robot's budget spent (20 sends in the last minute, recorded in the store by
// an earlier process), a new alert waits in the outbox with no failed
// attempt, and goes out alone exactly when the oldest send leaves bankbot's
// 62 s window. The fake DingTalk never answers 410100.
func TestRateLimit_21stMessageDelayedNotFailed(t *testing.T) {
	ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
	ctx := context.Background()
	// 20 sends stamped over the last 20 s, as a process that just died left them.
	for i := range 20 {
		at := t0.Add(-20*time.Second + time.Duration(i)*time.Second)
		id, _, err := ta.store.ReserveSend(ctx, store.BudgetQuery{Robot: "dt", Now: at, Rules: []store.SendRule{{Window: time.Minute, Limit: 100}}}, at, "dm_earlier")
		require.NoError(t, err)
		require.Positive(t, id)
	}
	mark := ta.clock.mark()
	evID := ta.postCharge(t, "evnt_21st", 1000, "THB", "x")
	ta.startWorkers(t)
	freeAt := ta.clock.waitTimer(t, mark, func(at time.Time) bool { return at.After(t0.Add(time.Second)) })
	require.Equal(t, t0.Add(-20*time.Second).Add(dingtalkWindow+windowMargin), freeAt, "the worker sleeps until the oldest stamp leaves the window")
	d := onlyDelivery(t, ta.testApp)
	require.Equal(t, store.StatusPending, d.Status)
	require.Zero(t, d.Attempts, "waiting for the budget is not an attempt")
	require.Empty(t, ta.attempts(t, d.ID))
	require.Zero(t, ta.dt.Requests())

	ta.advanceTo(freeAt, "dt")
	msgs := ta.dt.WaitForMessages(1, 10*time.Second)
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Text, "ref: "+evID, "a lone alert goes out by its own template")
	require.Equal(t, freeAt, msgs[0].At)
	d = ta.waitDelivery(t, d.ID, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, msgs[0].UUID, d.MessageID, "the row records the message it went out in")
	require.Zero(t, ta.dt.Count(410100))
	require.Zero(t, metricValue(ta.metrics.Deliveries.WithLabelValues("dt", "retry")))
}

// TestDeliver_TimeoutPerAttempt: a DingTalk that never answers costs one
// attempt of robots.timeout, then the send is retried.
func TestDeliver_TimeoutPerAttempt(t *testing.T) {
	ta := newDTApp(t, testConfig{}, "    timeout: 150ms\n", dingtalktest.Options{})
	ta.dt.Script(dingtalktest.Response{Stall: true})
	ta.postCharge(t, "evnt_slow", 5000, "THB", "x")
	ta.route(t)
	id := onlyDelivery(t, ta.testApp).ID
	ta.startWorkers(t)
	d := ta.waitDelivery(t, id, "timed out", func(d store.Delivery) bool { return d.Attempts == 1 })
	require.Equal(t, store.StatusPending, d.Status)
	require.Equal(t, "timeout", d.LastReason)
	ta.advanceTo(d.NextAttemptAt, "dt")
	ta.waitDelivery(t, id, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
	require.Len(t, ta.dt.Messages(), 1)
}

// TestDeliver_TemplateFailureFallsBack (anchors §8.1.6): a template that
// fails at send time never drops the alert: the plain fallback goes out with
// the event id, and bankbot_render_failed_total counts it.
func TestDeliver_TemplateFailureFallsBack(t *testing.T) {
	t.Run("spec names a set that no longer exists", func(t *testing.T) {
		// Today's route takes no charges: only the old row is sent.
		ta := newDTApp(t, testConfig{routes: "  - name: all\n    robot: dt\n    kinds: [dispute.opened]\n"}, "", dingtalktest.Options{})
		evID := ta.postCharge(t, "evnt_tpl_gone", 5000, "THB", "x")
		// Routed under an older config whose set has since been removed.
		require.NoError(t, ta.store.RouteEvent(context.Background(), evID, []store.NewDelivery{
			{Route: "old", Robot: "dt", Spec: []byte(`{"template":"gone","language":"en"}`)},
		}, t0))
		ta.startWorkers(t)
		ta.deliverer.wake("dt")
		msgs := ta.dt.WaitForMessages(1, 10*time.Second)
		require.Len(t, msgs, 1)
		require.Contains(t, msgs[0].Text, "The message template failed")
		require.True(t, strings.HasSuffix(msgs[0].Text, "ref: "+evID), "fallback ends with the event id: %q", msgs[0].Text)
		require.Equal(t, 1.0, metricValue(ta.metrics.RenderFailed.WithLabelValues("gone")))
		require.Contains(t, ta.logs.String(), "sending the plain fallback message")
	})

	t.Run("template errors on one event's field", func(t *testing.T) {
		dir := t.TempDir()
		// Passes every validation fixture; fails only for description BOOM.
		writeFile(t, dir+"/boom.en.tmpl", `{{define "payment.succeeded"}}### Paid {{md .Event.Description}}
{{if eq .Event.Description "BOOM"}}{{index .Event.Description 99}}{{end}}
ref: {{.EventID}}{{end}}`)
		ta := newDTApp(t, testConfig{templatesDir: dir, routes: "  - name: all\n    robot: dt\n    template: boom\n    language: en\n"}, "", dingtalktest.Options{})
		fine := ta.postCharge(t, "evnt_fine", 5000, "THB", "fine")
		boom := ta.postCharge(t, "evnt_boom", 5000, "THB", "BOOM")
		ta.route(t)
		ta.startWorkers(t)
		msgs := ta.dt.WaitForMessages(2, 10*time.Second)
		require.Len(t, msgs, 2)
		byRef := map[string]dingtalktest.Received{}
		for _, m := range msgs {
			byRef[m.Text[strings.LastIndex(m.Text, "ref: ")+5:]] = m
		}
		require.Equal(t, "Paid fine", byRef[fine].Title)
		require.NotContains(t, byRef[fine].Text, "template failed")
		require.Contains(t, byRef[boom].Text, "The message template failed")
		require.Contains(t, byRef[boom].Text, "payment.succeeded")
		require.Equal(t, 1.0, metricValue(ta.metrics.RenderFailed.WithLabelValues("boom")))
		for _, d := range ta.deliveries(t) {
			ta.waitDelivery(t, d.ID, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
		}
	})
}

// crashOnComplete loses the "sent" write, as a process killed right after
// DingTalk's ok would.
type crashOnComplete struct{ store.Store }

func (crashOnComplete) CompleteDelivery(context.Context, int64, store.Attempt) error {
	return errors.New("killed before the write")
}

func (crashOnComplete) CompleteDeliveries(context.Context, []int64, store.Attempt) (int, error) {
	return 0, errors.New("killed before the write")
}

// TestCrash_ResumesAfterRestart (anchors §8.1.4, §8.1.10): a delivery left
// "sending" by a dead process is sent by the next one after the lease, once
// when the crash came before the send, twice (same ref, same msgUuid) when it
// came after DingTalk's ok.
func TestCrash_ResumesAfterRestart(t *testing.T) {
	const lease = 20 * time.Second
	cfg := testConfig{delivery: "  lease: 20s\n"}

	t.Run("crash before the send: exactly once", func(t *testing.T) {
		first := newDTApp(t, cfg, "", dingtalktest.Options{})
		evID := first.postCharge(t, "evnt_crash", 5000, "THB", "x")
		first.route(t)
		claimed, err := first.store.ClaimDeliveries(context.Background(), store.Claim{
			Robot: "dt", Owner: "dead-host/1/x", Now: t0, LeaseUntil: t0.Add(lease), Limit: 10})
		require.NoError(t, err)
		require.Len(t, claimed, 1)
		require.NoError(t, first.store.Close()) // the process dies holding the lease

		second := &dtApp{testApp: openTestApp(t, first.dir, first.cfgPath, first.clock), dt: first.dt}
		second.startWorkers(t)
		second.settle(t, "dt")
		require.Zero(t, second.dt.Requests(), "the lease is still held")

		second.advanceTo(t0.Add(lease), "dt")
		msgs := second.dt.WaitForMessages(1, 10*time.Second)
		require.Len(t, msgs, 1)
		require.Contains(t, msgs[0].Text, "ref: "+evID)
		d := second.waitDelivery(t, claimed[0].ID, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
		require.Equal(t, 1, d.Attempts, "the crashed claim is not an attempt")

		second.advanceTo(t0.Add(time.Hour), "dt")
		second.settle(t, "dt")
		require.Len(t, second.dt.Messages(), 1, "sent exactly once")
	})

	t.Run("crash after DingTalk's ok: a second, recognisable copy", func(t *testing.T) {
		first := newDTApp(t, cfg, "", dingtalktest.Options{})
		first.postCharge(t, "evnt_crash2", 5000, "THB", "x")
		first.route(t)
		id := onlyDelivery(t, first.testApp).ID
		real := first.store
		first.store = crashOnComplete{real}
		stop := first.startWorkers(t)
		require.Len(t, first.dt.WaitForMessages(1, 10*time.Second), 1)
		first.settle(t, "dt")
		stop()
		d, err := real.GetDelivery(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, store.StatusSending, d.Status, "the outcome was never written")
		require.NoError(t, real.Close())

		second := &dtApp{testApp: openTestApp(t, first.dir, first.cfgPath, first.clock), dt: first.dt}
		second.startWorkers(t)
		second.advanceTo(t0.Add(lease), "dt")
		msgs := second.dt.WaitForMessages(2, 10*time.Second)
		require.Len(t, msgs, 2)
		require.Equal(t, msgs[0].Text, msgs[1].Text, "same message, same ref line")
		require.Equal(t, msgs[0].UUID, msgs[1].UUID)
		second.waitDelivery(t, id, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
	})
}

// blockingSender holds each Send until released, then reports whether its
// context was cancelled meanwhile.
type blockingSender struct {
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	sent    int
}

func (s *blockingSender) Send(ctx context.Context, _ dingtalk.Message) error {
	s.started <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.sent++
	s.mu.Unlock()
	return nil
}

// TestShutdown_DrainsInFlightWithinDeadline (anchors §8.1.11): stopping the
// workers lets the send in progress finish and be recorded, hands the other
// claimed rows back without counting an attempt, and a send that hangs is cut
// by the robot's timeout.
func TestShutdown_DrainsInFlightWithinDeadline(t *testing.T) {
	t.Run("in-flight send completes, the rest is released", func(t *testing.T) {
		ta := newTestApp(t, testConfig{})
		bs := &blockingSender{started: make(chan struct{}, 10), release: make(chan struct{})}
		ta.withRuntime(func(rt *Runtime) { rt.Robots["log"].Sender = bs })
		for i := range 3 {
			ta.postCharge(t, "evnt_sd_"+strconv.Itoa(i), 100, "THB", "x")
		}
		ta.route(t)
		ctx, cancel := context.WithCancel(context.Background())
		ta.deliverer.sync(ctx)
		<-bs.started
		cancel() // shutdown begins while the send is in flight
		stopped := make(chan struct{})
		go func() { ta.deliverer.wait(); close(stopped) }()
		select {
		case <-stopped:
			t.Fatal("shutdown did not wait for the send in progress")
		default:
		}
		close(bs.release)
		<-stopped

		var sent, pending int
		for _, d := range ta.deliveries(t) {
			switch d.Status {
			case store.StatusSent:
				sent++
				require.Equal(t, 1, d.Attempts)
			case store.StatusPending:
				pending++
				require.Zero(t, d.Attempts)
				require.Empty(t, d.LeaseOwner, "released, not left to its lease")
			default:
				t.Fatalf("delivery %d is %s", d.ID, d.Status)
			}
		}
		require.Equal(t, 1, sent)
		require.Equal(t, 2, pending)
		require.Equal(t, 1, bs.sent)
	})

	t.Run("a hung send is bounded by the robot timeout", func(t *testing.T) {
		ta := newTestApp(t, testConfig{robots: "  log:\n    type: console\n    timeout: 100ms\n"})
		bs := &blockingSender{started: make(chan struct{}, 10), release: make(chan struct{})}
		ta.withRuntime(func(rt *Runtime) { rt.Robots["log"].Sender = bs })
		ta.postCharge(t, "evnt_hung", 100, "THB", "x")
		ta.route(t)
		id := onlyDelivery(t, ta).ID
		stop := ta.startWorkers(t)
		<-bs.started
		stop() // returns once the send gives up
		d, err := ta.store.GetDelivery(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, store.StatusPending, d.Status, "the timed-out attempt is retried later")
		require.Equal(t, 1, d.Attempts)
	})
}

// TestDeliver_RobotRemovedByReload: rows queued for a robot that a reload
// removed are dead-lettered with a clear reason (replayable), not stranded.
func TestDeliver_RobotRemovedByReload(t *testing.T) {
	ta := newTestApp(t, testConfig{
		robots: "  log:\n    type: console\n  gone:\n    type: console\n",
		routes: "  - name: to-gone\n    robot: gone\n",
	})
	ta.postCharge(t, "evnt_orphan", 100, "THB", "x")
	ta.route(t)
	id := onlyDelivery(t, ta).ID
	writeFile(t, ta.cfgPath, testConfig{}.yaml())
	res, err := ta.Reload("test")
	require.NoError(t, err)
	require.Equal(t, ReloadApplied, res)
	ta.startWorkers(t)

	d := ta.waitDelivery(t, id, "dead", func(d store.Delivery) bool { return d.Status == store.StatusDead })
	require.Equal(t, "config", d.LastReason)
	require.Contains(t, d.LastError, `robot "gone" is not configured`)
	require.Eventually(t, func() bool {
		ta.deliverer.mu.Lock()
		defer ta.deliverer.mu.Unlock()
		_, ok := ta.deliverer.workers["gone"]
		return !ok
	}, 10*time.Second, 2*time.Millisecond, "the drained worker ends")
}

// TestDeliver_MessageContent: the routed spec (template, language, mentions)
// reaches DingTalk, signed, as markdown.
func TestDeliver_MessageContent(t *testing.T) {
	ta := newDTApp(t, testConfig{routes: `  - name: all
    robot: dt
    template: default
    language: en
    mention: {mobiles: ["+66-811111111"], on_failure: true}
`}, "", dingtalktest.Options{})
	evID := ta.postCharge(t, "evnt_content", 123456, "THB", "Order 42")
	ta.route(t)
	ta.startWorkers(t)
	msgs := ta.dt.WaitForMessages(1, 10*time.Second)
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.Equal(t, "markdown", m.MsgType)
	require.Contains(t, m.Title, "Payment received")
	require.Contains(t, m.Text, "1,234.56")
	require.Contains(t, m.Text, "Order 42")
	require.Contains(t, m.Text, "ref: "+evID)
	require.Empty(t, m.AtMobiles, "on_failure: a success mentions nobody")
	require.Equal(t, t0.UnixMilli(), m.Timestamp, "signed with the app's clock")
}
