package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
	"github.com/bankbot/bankbot/store"
)

// failedCharge is an Opn charge.complete of a failed charge.
func failedCharge(id string, amount int64) []byte {
	s := string(charge(id, amount, "THB", "declined"))
	s = strings.Replace(s, `"status":"successful","paid":true`, `"status":"failed","paid":false,"failure_code":"insufficient_fund","failure_message":"insufficient funds"`, 1)
	return []byte(s)
}

func (ta *testApp) postFailed(t *testing.T, id string, amount int64) string {
	t.Helper()
	r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), failedCharge(id, amount)))
	require.Equal(t, http.StatusOK, r.Code, "%+v", r)
	return r.ID
}

// shownIn returns how many of msgs name event id (a single message by its
// ref line, a digest by the short id).
func shownIn(msgs []dingtalktest.Received, id string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(m.Text, render.ShortID(id)) {
			n++
		}
	}
	return n
}

// TestDeliver_BurstBecomesDigest: 30 alerts waiting for a robot whose budget
// allows 5 now go out as one digest: every event listed, every row sent and
// marked with the digest's id, which is the message's msgUuid.
func TestDeliver_BurstBecomesDigest(t *testing.T) {
	ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
	var ids []string
	for i := range 30 {
		ids = append(ids, ta.postCharge(t, "evnt_digest_"+strconv.Itoa(i), int64(1000+i), "THB", "x"))
	}
	ta.startWorkers(t)
	msgs := ta.dt.WaitForMessages(1, 10*time.Second)
	require.Len(t, msgs, 1)
	ta.settle(t, "dt")
	require.Len(t, ta.dt.Messages(), 1, "one message for 30 alerts")
	m := msgs[0]
	require.Contains(t, m.Title, "30 alerts")
	for _, id := range ids {
		require.Equal(t, 1, shownIn(msgs, id), "event %s listed", id)
	}
	// 1000 + … + 1029 satang.
	require.Contains(t, m.Text, "**THB 304.35** in 30")
	require.Regexp(t, `^dm_`, m.UUID)
	require.True(t, strings.HasSuffix(m.Text, "ref: "+m.UUID))
	for _, d := range ta.deliveries(t) {
		d = ta.waitDelivery(t, d.ID, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
		require.Equal(t, m.UUID, d.MessageID, "each row records the digest it went out in")
		require.Equal(t, 1, d.Attempts)
	}
	require.Equal(t, 1.0, metricValue(ta.metrics.Messages.WithLabelValues("dt", "digest")))
	require.Equal(t, 30.0, metricValue(ta.metrics.Deliveries.WithLabelValues("dt", "sent")))
}

// TestDeliver_FewAlertsGoAlone: as many alerts as the budget allows go out
// one by one, each by its own template.
func TestDeliver_FewAlertsGoAlone(t *testing.T) {
	ta := newDTApp(t, testConfig{delivery: "  lease: 5m\n"}, "", dingtalktest.Options{})
	var ids []string
	for i := range 5 { // the spread rule allows 5 of 20 now
		ids = append(ids, ta.postCharge(t, "evnt_alone_"+strconv.Itoa(i), 1000, "THB", "x"))
	}
	ta.startWorkers(t)
	msgs := ta.dt.WaitForMessages(5, 10*time.Second)
	require.Len(t, msgs, 5)
	ta.settle(t, "dt")
	for i, id := range ids {
		require.Equal(t, 1, shownIn(msgs, id))
		require.Contains(t, msgs[i].Text, "ref: "+id)
		require.Contains(t, msgs[i].Title, "Payment received")
	}
	require.Equal(t, 5.0, metricValue(ta.metrics.Messages.WithLabelValues("dt", "single")))
}

// TestDeliver_FailuresNotBuried: in a burst, failed payments go out alone
// while the budget allows them and the digest; when it does not, they are
// listed first in the digest with their reason.
func TestDeliver_FailuresNotBuried(t *testing.T) {
	t.Run("alone while the budget allows", func(t *testing.T) {
		ta := newDTApp(t, testConfig{delivery: "  lease: 5m\n"}, "", dingtalktest.Options{})
		f1 := ta.postFailed(t, "evnt_f1", 500)
		for i := range 20 {
			ta.postCharge(t, "evnt_ok_"+strconv.Itoa(i), 1000, "THB", "x")
		}
		f2 := ta.postFailed(t, "evnt_f2", 700)
		ta.startWorkers(t)
		msgs := ta.dt.WaitForMessages(3, 10*time.Second)
		require.Len(t, msgs, 3, "two failures alone and one digest of the rest")
		require.Contains(t, msgs[0].Text, "ref: "+f1)
		require.Contains(t, msgs[0].Title, "Payment failed")
		require.Contains(t, msgs[1].Text, "ref: "+f2)
		require.Contains(t, msgs[2].Title, "20 alerts")
	})
	t.Run("listed first when there are too many", func(t *testing.T) {
		ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
		for i := range 10 {
			ta.postCharge(t, "evnt_ok_"+strconv.Itoa(i), 1000, "THB", "x")
		}
		var failed []string
		for i := range 8 {
			failed = append(failed, ta.postFailed(t, "evnt_bad_"+strconv.Itoa(i), 500))
		}
		ta.startWorkers(t)
		msgs := ta.dt.WaitForMessages(1, 10*time.Second)
		require.Len(t, msgs, 1)
		text := msgs[0].Text
		section := strings.Index(text, "❌ Failed (8)")
		others := strings.Index(text, "Other alerts (10)")
		require.Positive(t, section)
		require.Greater(t, others, section)
		for _, id := range failed {
			i := strings.Index(text, render.ShortID(id))
			require.True(t, i > section && i < others, "failure %s is in the failed section", id)
		}
		require.Contains(t, text, "insufficient_fund — insufficient funds")
	})
}

// TestDeliver_DigestSplitUnderSizeLimit: a burst whose digest would be far
// over 20,000 bytes is split into numbered parts, each under the limit (the
// fake refuses anything larger with 460101), each carrying the robot's
// keyword (the fake refuses a message without one with 310000), and the
// mentions of every event.
func TestDeliver_DigestSplitUnderSizeLimit(t *testing.T) {
	ta := newDTApp(t, testConfig{
		routes: "  - name: all\n    robot: dt\n    language: en\n    mention: {mobiles: [\"13800000000\"]}\n",
	}, "    keywords: [付款]\n", dingtalktest.Options{Keywords: []string{"付款"}})
	var ids []string
	long := strings.Repeat("long reference text ", 4)
	for i := range 300 {
		body := strings.Replace(string(charge("evnt_split_"+strconv.Itoa(i), 1000, "THB", "x")), `"id":"chrg_test_`, `"id":"chrg_`+strings.ReplaceAll(long, " ", "_")+`_`, 1)
		r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), []byte(body)))
		require.Equal(t, http.StatusOK, r.Code, "%+v", r)
		ids = append(ids, r.ID)
	}
	ta.startWorkers(t)
	require.Eventually(t, func() bool {
		msgs := ta.dt.Messages()
		for _, id := range ids {
			if shownIn(msgs, id) == 0 {
				return false
			}
		}
		return true
	}, 60*time.Second, 10*time.Millisecond)
	msgs := ta.dt.Messages()
	require.Greater(t, len(msgs), 1, "split")
	for _, m := range msgs {
		require.LessOrEqual(t, len(m.Raw), dingtalk.MaxBodyBytes)
		require.Contains(t, m.Text, "付款")
		require.Contains(t, m.Title, "part ")
	}
	require.Zero(t, ta.dt.Count(460101))
	require.Zero(t, ta.dt.Count(310000))
	for _, m := range msgs {
		require.Equal(t, []string{"13800000000"}, m.AtMobiles, "the events' mention is kept in each digest")
		require.Contains(t, m.Text, "@13800000000")
	}
}

// TestDeliver_RateLimitedSendsOneOpsAlert: a 410100 pauses the robot in the
// store and queues one ops alert, through another robot; a second "too
// fast" in the same state queues none; delivering again queues "ok".
func TestDeliver_RateLimitedSendsOneOpsAlert(t *testing.T) {
	ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
	cfg := testConfig{
		robots: ta.dt.RobotYAML("dt") + "  it:\n    type: console\n",
		routes: "  - name: all\n    robot: dt\n    language: en\n  - name: ops\n    robot: it\n    language: en\n",
	}
	writeFile(t, ta.cfgPath, cfg.yaml())
	_, err := ta.Reload("test")
	require.NoError(t, err)
	ops := &scriptedSender{}
	ta.withRuntime(func(rt *Runtime) { rt.Robots["it"].Sender = ops; rt.Backoff.Rand = func() float64 { return 0 } })
	ta.dt.Script(dingtalktest.Response{ErrCode: 410100})
	ta.postCharge(t, "evnt_ops_1", 5000, "THB", "x")
	alertID := onlyDelivery(t, ta.testApp).ID
	ta.startWorkers(t)

	require.Eventually(t, func() bool { return len(ops.sent()) == 1 }, 10*time.Second, 2*time.Millisecond)
	m := ops.sent()[0]
	require.Contains(t, m.Title, "Robot dt paused")
	require.Contains(t, m.Text, "410100")
	require.Equal(t, 1.0, metricValue(ta.metrics.RateLimited.WithLabelValues("dt")))
	require.Equal(t, 1.0, metricValue(ta.metrics.RobotState.WithLabelValues("dt", statePaused)))
	b, err := ta.store.SendBudget(context.Background(), budgetQuery(ta.runtime.Load().Robots["dt"], ta.clock.Now()))
	require.NoError(t, err)
	require.Equal(t, t0.Add(dingtalk.RateLimitPenalty), b.BlockedUntil, "the pause is in the store, for every replica")

	// The block ends; DingTalk says "too fast" once more: still paused, no new alert.
	ta.dt.Script(dingtalktest.Response{ErrCode: 410100})
	ta.advanceTo(t0.Add(dingtalk.RateLimitPenalty), "dt")
	require.Eventually(t, func() bool { return ta.dt.Requests() == 2 }, 10*time.Second, 2*time.Millisecond)
	// Wait until the worker has written the second "too fast" (the request
	// reaching the fake is not the worker having handled its answer; moving
	// the clock before that would push the new block past the next step).
	ta.waitDelivery(t, alertID, "throttled twice", func(d store.Delivery) bool {
		return d.Throttles == 2 && d.LeaseOwner == "" && d.NextAttemptAt.Equal(t0.Add(2*dingtalk.RateLimitPenalty))
	})
	ta.settle(t, "dt")
	require.Len(t, ops.sent(), 1, "at most one alert per state change")

	// Then it delivers: one "delivers again" alert.
	ta.advanceTo(t0.Add(2*dingtalk.RateLimitPenalty), "dt")
	require.Len(t, ta.dt.WaitForMessages(1, 10*time.Second), 1)
	require.Eventually(t, func() bool { return len(ops.sent()) == 2 }, 10*time.Second, 2*time.Millisecond)
	require.Contains(t, ops.sent()[1].Title, "Robot dt delivers again")
	require.Len(t, ta.dt.Messages(), 1, "no ops alert went through the paused robot")
}

// TestDeliver_OpsRouteOnFailingRobotIsSkipped: an ops route that uses the
// robot in trouble sends nothing through it.
func TestDeliver_OpsRouteOnFailingRobotIsSkipped(t *testing.T) {
	ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
	writeFile(t, ta.cfgPath, testConfig{
		robots: ta.dt.RobotYAML("dt"),
		routes: "  - name: all\n    robot: dt\n    language: en\n  - name: ops\n    robot: dt\n",
	}.yaml())
	_, err := ta.Reload("test")
	require.NoError(t, err)
	ta.dt.Script(dingtalktest.Response{ErrCode: 400102})
	ta.postCharge(t, "evnt_ops_self", 5000, "THB", "x")
	ta.startWorkers(t)
	d := ta.waitDelivery(t, onlyDelivery(t, ta.testApp).ID, "dead", func(d store.Delivery) bool { return d.Status == store.StatusDead })
	require.Equal(t, "permanent", d.LastReason)
	require.Eventually(t, func() bool {
		return metricValue(ta.metrics.OpsAlerts.WithLabelValues("dt", stateFailing, "skipped")) == 1
	}, 10*time.Second, 2*time.Millisecond)
	require.Contains(t, ta.logs.String(), "the ops route sends through the robot that changed state")
	require.Len(t, ta.deliveries(t), 1, "no ops row was queued")
}

// TestRoute_MinAmountPerCurrency: a per-currency minimum picks events by
// their own currency; "*" covers the rest.
func TestRoute_MinAmountPerCurrency(t *testing.T) {
	ta := newTestApp(t, testConfig{routes: `  - name: big
    robot: log
    min_amount: {THB: 1000, JPY: 100000}
  - name: any
    robot: log
    min_amount: {THB: 1000, "*": 50}
`})
	cases := []struct {
		amount   int64
		currency string
		routes   []string
	}{
		{99999, "THB", nil},                     // THB 999.99
		{100000, "THB", []string{"any", "big"}}, // THB 1,000.00
		{99999, "JPY", []string{"any"}},         // under big's JPY 100,000; over any's "*" 50
		{100000, "JPY", []string{"any", "big"}},
		{4999, "USD", []string{"big"}}, // USD 49.99: not listed in big (no minimum), below "*" in any
		{5000, "USD", []string{"any", "big"}},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d %s", tc.amount, tc.currency), func(t *testing.T) {
			id := ta.postCharge(t, "evnt_min_"+strconv.Itoa(i), tc.amount, tc.currency, "x")
			ds, err := ta.store.ListDeliveries(context.Background(), store.DeliveryFilter{EventID: id})
			require.NoError(t, err)
			var got []string
			for _, d := range ds {
				got = append(got, d.Route)
			}
			require.ElementsMatch(t, tc.routes, got)
		})
	}
}

// TestRoute_MentionAll: mention.all @-mentions everyone (isAtAll).
func TestRoute_MentionAll(t *testing.T) {
	ta := newTestApp(t, testConfig{routes: "  - name: all\n    robot: log\n    mention: {all: true}\n"})
	id := ta.postCharge(t, "evnt_all", 1000, "THB", "x")
	ds, err := ta.store.ListDeliveries(context.Background(), store.DeliveryFilter{EventID: id})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	var spec Spec
	require.NoError(t, json.Unmarshal(ds[0].Spec, &spec))
	require.True(t, spec.AtAll)
	s := &scriptedSender{}
	ta.withRuntime(func(rt *Runtime) { rt.Robots["log"].Sender = s })
	ta.startWorkers(t)
	require.Eventually(t, func() bool { return len(s.sent()) == 1 }, 10*time.Second, 2*time.Millisecond)
	require.True(t, s.sent()[0].AtAll)
}

// TestReload_AppRobotKeepsToken: a reload that leaves an app robot's key and
// secret alone reuses its access token; changing the secret fetches a new one.
func TestReload_AppRobotKeepsToken(t *testing.T) {
	var fetches, sends atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1.0/oauth2/accessToken":
			fetches.Add(1)
			_, _ = w.Write([]byte(`{"accessToken":"tok-` + strconv.Itoa(int(fetches.Load())) + `","expireIn":7200}`))
		case "/v1.0/robot/groupMessages/send":
			sends.Add(1)
			_, _ = w.Write([]byte(`{"processQueryKey":"k"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(api.Close)
	robot := func(secret string, rate int) string {
		return fmt.Sprintf("  app:\n    type: app\n    app_key: key\n    app_secret: %s\n    robot_code: rc\n    conversation_id: cid\n    api_base: %s\n    rate_per_minute: %d\n", secret, api.URL, rate)
	}
	cfg := testConfig{robots: robot("secret-1", 20), routes: "  - name: all\n    robot: app\n    language: en\n"}
	ta := newTestApp(t, cfg)
	send := func() {
		t.Helper()
		r := ta.runtime.Load().Robots["app"]
		require.NoError(t, r.Sender.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: "### t"}))
	}
	send()
	require.Equal(t, int32(1), fetches.Load())

	cfg.robots = robot("secret-1", 19) // another key of the robot changes
	writeFile(t, ta.cfgPath, cfg.yaml())
	res, err := ta.Reload("test")
	require.NoError(t, err)
	require.Equal(t, ReloadApplied, res)
	send()
	require.Equal(t, int32(1), fetches.Load(), "same key and secret: the token survives the reload")

	cfg.robots = robot("secret-2", 19)
	writeFile(t, ta.cfgPath, cfg.yaml())
	_, err = ta.Reload("test")
	require.NoError(t, err)
	send()
	require.Equal(t, int32(2), fetches.Load(), "a new secret needs a new token")
	require.Equal(t, int32(3), sends.Load())
}

// TestDeliver_AloneWhenSlotsFreeAnInstantLater: waking on the first slot of
// the spread window to free, with the next ones freeing milliseconds later,
// alerts still go out alone rather than folded into a digest.
func TestDeliver_AloneWhenSlotsFreeAnInstantLater(t *testing.T) {
	ta := newDTApp(t, testConfig{delivery: "  lease: 5m\n"}, "", dingtalktest.Options{})
	ctx := context.Background()
	spread := (dingtalkWindow + windowMargin) / spreadParts
	for i := range 5 { // 5 sends 10 ms apart: the first leaves the spread window at t0
		at := t0.Add(-spread + time.Duration(i)*10*time.Millisecond)
		id, _, err := ta.store.ReserveSend(ctx, store.BudgetQuery{Robot: "dt", Now: at, Rules: []store.SendRule{{Window: time.Minute, Limit: 100}}}, at, "")
		require.NoError(t, err)
		require.Positive(t, id)
	}
	var ids []string
	for i := range 4 {
		ids = append(ids, ta.postCharge(t, "evnt_instant_"+strconv.Itoa(i), 1000, "THB", "x"))
	}
	ta.startWorkers(t)
	require.Len(t, ta.dt.WaitForMessages(1, 10*time.Second), 1)
	ta.advanceTo(t0.Add(50*time.Millisecond), "dt")
	msgs := ta.dt.WaitForMessages(4, 10*time.Second)
	require.Len(t, msgs, 4)
	for i, id := range ids {
		require.Contains(t, msgs[i].Text, "ref: "+id, "each alone, by its own template")
	}
}
