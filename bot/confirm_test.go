package bot

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/confirm"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
	"github.com/bankbot/bankbot/store"
)

const opnAPIKey = "skey_test_unitconfirm7d1e9a3c5b"

// fakeOpnAPI is a local Opn API: GET /charges/{id} answers the charge set
// for id, after checking basic auth (secret key as user, empty password).
// It can answer 500, hang past the client's timeout, or stop listening
// altogether (connection refused) and come back on the same address.
type fakeOpnAPI struct {
	t    *testing.T
	addr string

	mu      sync.Mutex
	srv     *http.Server
	charges map[string]string // id → JSON
	mode    string            // "" ok | "500" | "hang"
	calls   int
	badAuth int
}

func newFakeOpnAPI(t *testing.T) *fakeOpnAPI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeOpnAPI{t: t, addr: ln.Addr().String(), charges: map[string]string{}}
	f.serve(ln)
	t.Cleanup(func() { f.setUp(false) })
	return f
}

func (f *fakeOpnAPI) URL() string { return "http://" + f.addr }

func (f *fakeOpnAPI) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(f.handle), ReadHeaderTimeout: 5 * time.Second}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// setUp stops listening (connection refused) or listens again.
func (f *fakeOpnAPI) setUp(up bool) {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	if up {
		ln, err := net.Listen("tcp", f.addr)
		require.NoError(f.t, err)
		f.serve(ln)
	}
}

func (f *fakeOpnAPI) set(mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = mode
}

func (f *fakeOpnAPI) charge(id string, amount int64, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.charges[id] = fmt.Sprintf(`{"object":"charge","id":%q,"amount":%d,"currency":"thb","status":%q}`, id, amount, status)
}

func (f *fakeOpnAPI) counts() (calls, badAuth int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.badAuth
}

func (f *fakeOpnAPI) handle(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls++
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(opnAPIKey+":"))
	if r.Header.Get("Authorization") != want {
		f.badAuth++
		f.mu.Unlock()
		http.Error(w, `{"object":"error","code":"authentication_failure"}`, http.StatusUnauthorized)
		return
	}
	mode := f.mode
	body, ok := f.charges[strings.TrimPrefix(r.URL.Path, "/charges/")]
	f.mu.Unlock()
	switch {
	case mode == "500":
		http.Error(w, "internal error", http.StatusInternalServerError)
	case mode == "hang":
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	case !ok:
		http.Error(w, `{"object":"error","code":"not_found"}`, http.StatusNotFound)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}
}

// confirmApp is an app whose source opn confirms through api, with robot
// dt (a fake DingTalk) on route "all" and, when ops is set, a console robot
// on route "ops".
func confirmApp(t *testing.T, api *fakeOpnAPI, ops bool) *dtApp {
	t.Helper()
	cfg := testConfig{
		sources: "  opn:\n    provider: omise\n    secrets:\n      - value: " + keyA + "\n" +
			"    confirm:\n      api_base: " + api.URL() + "\n      api_key: " + opnAPIKey + "\n      timeout: 300ms\n",
	}
	extra := ""
	if ops {
		// Appended after robots.dt: a second robot for the ops route.
		extra = "  opslog:\n    type: console\n"
		cfg.routes = "  - name: all\n    robot: dt\n    language: en\n  - name: ops\n    robot: opslog\n    language: en\n"
	}
	ta := newDTApp(t, cfg, extra, dingtalktest.Options{})
	return ta
}

func (ta *testApp) event(t *testing.T, id string) store.StoredEvent {
	t.Helper()
	e, err := ta.store.GetEvent(context.Background(), id)
	require.NoError(t, err)
	return e
}

func confirmCount(ta *testApp, result string) float64 {
	return metricValue(ta.metrics.Confirm.WithLabelValues("opn", result))
}

// TestConfirm_Outcomes: a money event of a source with confirm is answered
// 200 at once and stored unrouted; the router asks the Opn API, then routes
// it as usual when the API agrees (with the API's kind when it reports a
// later status), or sends a security alert instead when it does not.
func TestConfirm_Outcomes(t *testing.T) {
	tests := []struct {
		name        string
		id          string // the Opn event id; its charge is chrg_test_<id>
		amount      int64  // what the webhook claims (THB minor units)
		pending     bool   // the webhook reports a pending charge
		apiAmount   int64
		apiStatus   string // "" = the API has no such charge
		status      string
		kind        bankhooks.Kind
		title, text []string
		result      string
	}{
		{"match", "evnt_ok", 5000, false, 5000, "successful", store.ConfirmConfirmed,
			bankhooks.KindPaymentSucceeded, nil, []string{"50.00"}, "confirmed"},
		{"amount mismatch", "evnt_forged", 500000, false, 5000, "successful", store.ConfirmMismatch,
			bankhooks.KindPaymentSucceeded, []string{"Webhook not confirmed by Opn"},
			[]string{"not delivered as genuine", "**opn**", "payment.succeeded", "5,000.00", "50.00", "evnt_forged", "amount: webhook THB 5000.00, API THB 50.00"}, "mismatch"},
		{"no such charge", "evnt_ghost", 5000, false, 0, "", store.ConfirmMismatch,
			bankhooks.KindPaymentSucceeded, []string{"Webhook not confirmed by Opn"}, []string{"no such object"}, "mismatch"},
		{"status mismatch", "evnt_failed", 5000, false, 5000, "failed", store.ConfirmMismatch,
			bankhooks.KindPaymentSucceeded, []string{"Webhook not confirmed by Opn"}, []string{"status failed (payment.failed)"}, "mismatch"},
		{"pending, successful since", "evnt_later", 5000, true, 5000, "successful", store.ConfirmConfirmed,
			bankhooks.KindPaymentSucceeded, nil, []string{"50.00"}, "confirmed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeOpnAPI(t)
			ta := confirmApp(t, api, false)
			if tc.apiStatus != "" {
				api.charge("chrg_test_"+tc.id, tc.apiAmount, tc.apiStatus)
			}
			body := charge(tc.id, tc.amount, "THB", "order")
			if tc.pending {
				body = pendingCharge(tc.id, tc.amount)
			}
			r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), body))
			require.Equal(t, http.StatusOK, r.Code)
			require.Equal(t, "accepted", r.Status)
			e := ta.event(t, r.ID)
			require.True(t, e.RoutedAt.IsZero(), "stored unrouted: the answer does not wait for the API")
			require.Equal(t, store.ConfirmUnconfirmed, e.Confirmation.Status)
			calls, _ := api.counts()
			require.Zero(t, calls, "the webhook is answered before the API is asked")

			ta.route(t)
			e = ta.event(t, r.ID)
			require.Equal(t, tc.status, e.Confirmation.Status, e.Confirmation.Reason)
			require.False(t, e.RoutedAt.IsZero())
			require.Equal(t, tc.kind, e.Event.Kind)
			require.Equal(t, 1.0, confirmCount(ta.testApp, tc.result))
			ta.startWorkers(t)
			msgs := ta.dt.WaitForMessages(1, 10*time.Second)
			require.Len(t, msgs, 1, "one message: the normal alert or the security alert, never both")
			for _, s := range tc.title {
				require.Contains(t, msgs[0].Title, s)
			}
			for _, s := range tc.text {
				require.Contains(t, msgs[0].Text, s)
			}
			if tc.status == store.ConfirmMismatch {
				require.NotContains(t, msgs[0].Title, "payment", "the normal alert is not sent")
			} else {
				require.NotContains(t, msgs[0].Text, "not confirmed")
			}
			_, bad := api.counts()
			require.Zero(t, bad, "every request carried the secret key as basic auth")
			require.NotContains(t, ta.logs.String(), opnAPIKey)
		})
	}
}

// pendingCharge is an Opn charge.create event of a pending charge.
func pendingCharge(id string, amount int64) []byte {
	b := strings.Replace(string(charge(id, amount, "THB", "x")), `"status":"successful","paid":true`, `"status":"pending","paid":false`, 1)
	return []byte(strings.Replace(b, `"key":"charge.complete"`, `"key":"charge.create"`, 1))
}

// TestConfirm_NotMoneyRoutedAtIngest: events that move no money are routed
// at ingest as before, and the API is never asked.
func TestConfirm_NotMoneyRoutedAtIngest(t *testing.T) {
	api := newFakeOpnAPI(t)
	ta := confirmApp(t, api, false)
	body := []byte(`{"object":"event","id":"evnt_upd","key":"charge.update","created_at":"2026-11-21T09:59:59Z","data":{"object":"charge","id":"chrg_x","amount":5000,"currency":"thb","status":"successful"}}`)
	r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), body))
	require.Equal(t, "accepted", r.Status)
	e := ta.event(t, r.ID)
	require.False(t, e.RoutedAt.IsZero())
	require.Empty(t, e.Confirmation.Status)
	ta.route(t)
	calls, _ := api.counts()
	require.Zero(t, calls)
}

// TestConfirm_APIDownWaitsAndRetries: while the API fails (500, then a
// timeout, then connection refused) the event waits unrouted, asked again
// on an exponential schedule on the injected clock; it survives a restart,
// the ops route hears after an hour that confirmation is failing, and once
// the API answers the event is delivered with the API's amount.
func TestConfirm_APIDownWaitsAndRetries(t *testing.T) {
	api := newFakeOpnAPI(t)
	api.charge("chrg_test_evnt_down", 5000, "successful")
	ta := confirmApp(t, api, true)
	ta.withRuntime(func(rt *Runtime) { rt.Backoff.Rand = func() float64 { return 0 } })
	id := ta.postCharge(t, "evnt_down", 5000, "THB", "order 9")

	steps := []struct {
		name   string
		fail   func()
		reason string
		wait   time.Duration // the backoff after this attempt (jitter fixed at -50 %)
	}{
		{"500", func() { api.set("500") }, "server", 15 * time.Second},
		{"timeout", func() { api.set("hang") }, "timeout", 30 * time.Second},
		{"connection refused", func() { api.set(""); api.setUp(false) }, "network", time.Minute},
	}
	for i, s := range steps {
		s.fail()
		ta.route(t)
		e := ta.event(t, id)
		require.True(t, e.RoutedAt.IsZero(), "%s: the event waits", s.name)
		require.Equal(t, store.ConfirmUnconfirmed, e.Confirmation.Status)
		require.Equal(t, i+1, e.Confirmation.Attempts)
		require.Equal(t, ta.clock.Now().Add(s.wait), e.Confirmation.NextAt, s.name)
		require.Contains(t, e.Confirmation.Reason, s.reason)
		require.Equal(t, 1.0, confirmCount(ta.testApp, s.reason))

		// Not asked again before its time.
		before, _ := api.counts()
		ta.route(t)
		after, _ := api.counts()
		require.Equal(t, before, after, "%s: no retry before next_attempt_at", s.name)
		ta.clock.Advance(s.wait)
	}
	require.Empty(t, ta.dt.Messages())

	// Restart: the event is still there, unrouted, with its retry state.
	require.NoError(t, ta.store.Close())
	ta2 := openTestApp(t, ta.dir, ta.cfgPath, ta.clock)
	ta2.withRuntime(func(rt *Runtime) { rt.Backoff.Rand = func() float64 { return 0 } })
	e := ta2.event(t, id)
	require.True(t, e.RoutedAt.IsZero())
	require.Equal(t, 3, e.Confirmation.Attempts)

	// An hour after the webhook, still failing: one ops alert, the event waits.
	ta2.clock.Advance(time.Hour)
	ta2.route(t)
	ta2.clock.Advance(time.Hour)
	ta2.route(t)
	ops, err := ta2.store.ListEvents(context.Background(), store.EventFilter{Source: opsSource})
	require.NoError(t, err)
	require.Len(t, ops, 1, "one ops alert per outage, not one per attempt")
	ds, err := ta2.store.ListDeliveries(context.Background(), store.DeliveryFilter{EventID: ops[0].ID})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "opslog", ds[0].Robot)
	require.Contains(t, string(ds[0].Spec), "Confirmation failing for source opn")
	require.True(t, ta2.event(t, id).RoutedAt.IsZero(), "still waiting after the alert: never dropped")

	// The API recovers: delivered once, with the API's amount.
	api.setUp(true)
	ta2.clock.Advance(confirmRetryMax)
	ta2.route(t)
	e = ta2.event(t, id)
	require.Equal(t, store.ConfirmConfirmed, e.Confirmation.Status)
	require.False(t, e.RoutedAt.IsZero())
	require.Equal(t, 1.0, metricValue(ta2.metrics.Confirm.WithLabelValues("opn", "confirmed")))
	ops, err = ta2.store.ListEvents(context.Background(), store.EventFilter{Source: opsSource})
	require.NoError(t, err)
	require.Len(t, ops, 2, "and one when it works again")

	ta2.startWorkers(t)
	msgs := ta.dt.WaitForMessages(1, 10*time.Second)
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Text, "50.00")
	_, bad := api.counts()
	require.Zero(t, bad)
	for _, logs := range []string{ta.logs.String(), ta2.logs.String()} {
		require.NotContains(t, logs, opnAPIKey, "the api_key is never logged")
	}
	require.Contains(t, ta.logs.String(), "cannot confirm the event")
}

// TestConfirm_MetricsAtZero: every result series of a source with confirm
// exists before the first event.
func TestConfirm_MetricsAtZero(t *testing.T) {
	api := newFakeOpnAPI(t)
	ta := confirmApp(t, api, false)
	mfs, err := ta.metrics.Registry.Gather()
	require.NoError(t, err)
	got := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "bankbot_confirm_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					got[l.GetValue()] = true
				}
			}
		}
	}
	for _, r := range []string{"confirmed", "mismatch", "network", "timeout", "server", "rate_limited", "auth", "bad_response"} {
		require.True(t, got[r], "bankbot_confirm_total{result=%q} exists at zero", r)
	}
}

// TestConfirm_Midtrans: the router confirms through the confirmer keyed by
// provider name "midtrans" (GET /v2/{order_id}/status, server key as basic
// auth). The Midtrans provider may not be in this build, so the event is
// stored directly as that provider parses it: Reference = order_id, ID =
// transaction_id:transaction_status, Amount = gross_amount in minor units.
func TestConfirm_Midtrans(t *testing.T) {
	const serverKey = "SB-Mid-server-unitconfirmkey"
	tests := []struct {
		name, gross, status, fraud string
		title, text                string
		result                     string
	}{
		{"settlement matches", "100000.00", "settlement", "accept", "", "100,000.00", store.ConfirmConfirmed},
		{"capture under challenge is not a success", "100000.00", "capture", "challenge", "Webhook not confirmed by Midtrans", "capture/challenge", store.ConfirmMismatch},
		{"gross amount differs", "1000.00", "settlement", "accept", "Webhook not confirmed by Midtrans", "amount: webhook IDR 100000.00, API IDR 1000.00", store.ConfirmMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var paths []string
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				user, pass, ok := r.BasicAuth()
				if !ok || user != serverKey || pass != "" {
					http.Error(w, `{"status_code":"401"}`, http.StatusUnauthorized)
					return
				}
				mu.Lock()
				paths = append(paths, r.URL.Path)
				mu.Unlock()
				fmt.Fprintf(w, `{"status_code":"200","transaction_status":%q,"fraud_status":%q,"gross_amount":%q,"currency":"IDR","order_id":"order-77"}`,
					tc.status, tc.fraud, tc.gross)
			}))
			t.Cleanup(api.Close)
			ta := newDTApp(t, testConfig{}, "", dingtalktest.Options{})
			cf, err := confirm.New("midtrans", confirm.Options{APIBase: api.URL, APIKey: serverKey, Timeout: time.Second, Client: api.Client()})
			require.NoError(t, err)
			ta.withRuntime(func(rt *Runtime) {
				srcs := map[string]*Source{}
				for k, v := range rt.Sources {
					s := *v
					srcs[k] = &s
				}
				srcs["opn"].Confirmer = cf
				rt.Sources = srcs
			})
			_, err = ta.store.InsertEvent(context.Background(), store.NewEvent{
				ID: "ev_midtrans", Source: "opn", ReceivedAt: ta.clock.Now(), Body: []byte(`{}`), Confirmation: store.ConfirmUnconfirmed,
				Event: bankhooks.Event{Provider: "midtrans", ID: "tx-9:settlement", Type: "settlement", Kind: bankhooks.KindPaymentSucceeded,
					Amount: 10000000, Currency: "IDR", Reference: "order-77", Livemode: true, OccurredAt: ta.clock.Now()},
			})
			require.NoError(t, err)
			ta.route(t)
			e := ta.event(t, "ev_midtrans")
			require.Equal(t, tc.result, e.Confirmation.Status, e.Confirmation.Reason)
			mu.Lock()
			require.Equal(t, []string{"/v2/order-77/status"}, paths)
			mu.Unlock()
			ta.startWorkers(t)
			msgs := ta.dt.WaitForMessages(1, 10*time.Second)
			require.Len(t, msgs, 1)
			if tc.title != "" {
				require.Contains(t, msgs[0].Title, tc.title)
			} else {
				require.NotContains(t, msgs[0].Text, "not confirmed")
			}
			require.Contains(t, msgs[0].Text, tc.text)
			require.NotContains(t, ta.logs.String(), serverKey)
		})
	}
}

// TestConfirm_MismatchWithoutRouteGoesToOps: a contradicted webhook that no
// route would have taken still reaches someone: the ops route.
func TestConfirm_MismatchWithoutRouteGoesToOps(t *testing.T) {
	api := newFakeOpnAPI(t)
	cfg := testConfig{
		sources: "  opn:\n    provider: omise\n    secrets:\n      - value: " + keyA + "\n" +
			"    confirm:\n      api_base: " + api.URL() + "\n      api_key: " + opnAPIKey + "\n",
		routes: "  - name: failures\n    robot: dt\n    kinds: [payment.failed]\n  - name: ops\n    robot: opslog\n    language: en\n",
	}
	ta := newDTApp(t, cfg, "  opslog:\n    type: console\n", dingtalktest.Options{})
	id := ta.postCharge(t, "evnt_nobody", 5000, "THB", "x") // the API has no such charge
	ta.route(t)
	require.Equal(t, store.ConfirmMismatch, ta.event(t, id).Confirmation.Status)
	ds, err := ta.store.ListDeliveries(context.Background(), store.DeliveryFilter{EventID: id})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "ops", ds[0].Route)
	require.Equal(t, "opslog", ds[0].Robot)
	require.Contains(t, string(ds[0].Spec), "Webhook not confirmed by Opn")
}
