package bot

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/confirm"
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/store"
)

// Metrics are bankbot's Prometheus metrics, on a registry of their own (no
// global registry, so tests can run several apps in one process).
type Metrics struct {
	Registry        *prometheus.Registry
	Received        *prometheus.CounterVec
	Deliveries      *prometheus.CounterVec
	Attempts        *prometheus.CounterVec
	DeliveryLatency *prometheus.HistogramVec
	RenderFailed    *prometheus.CounterVec
	Unrouted        *prometheus.CounterVec
	Messages        *prometheus.CounterVec
	RateLimited     *prometheus.CounterVec
	RobotState      *prometheus.GaugeVec
	OpsAlerts       *prometheus.CounterVec
	ReloadOK        prometheus.Gauge
	ReloadTime      prometheus.Gauge
	Reloads         *prometheus.CounterVec
	ConfigInfo      *prometheus.GaugeVec
	Confirm         *prometheus.CounterVec
	// ScheduleTicks counts scheduled ticks by schedule, job and result
	// (bot/schedule: ok, failed, unavailable, skipped, other_runner …).
	ScheduleTicks *prometheus.CounterVec

	// stateSet lists the robots whose bankbot_robot_state series exist:
	// precreate sets them once, later the deliverer owns them.
	stateMu  sync.Mutex
	stateSet map[string]bool
}

// NewMetrics registers every metric; st feeds the outbox gauges at scrape time.
func NewMetrics(st store.Store, version string, clock Clock) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		stateSet: map[string]bool{},
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_webhooks_received_total",
			Help: "Webhooks received, by source and result (accepted, duplicate, or the rejection reason).",
		}, []string{"source", "result"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_deliveries_total",
			Help: "Delivery attempts by robot and result: sent, retry, dead.",
		}, []string{"robot", "result"}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_delivery_attempts_total",
			Help: "Delivery attempts by robot and reason (ok, rate_limited, network, server, config, permanent …).",
		}, []string{"robot", "reason"}),
		DeliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bankbot_delivery_latency_seconds",
			Help:    "Time from webhook receipt to DingTalk accepting the message.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600},
		}, []string{"robot"}),
		RenderFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_render_failed_total",
			Help: "Messages whose template failed at send time and were sent as the plain fallback.",
		}, []string{"template"}),
		Unrouted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_events_unmatched_total",
			Help: "Stored events that matched no route, by source.",
		}, []string{"source"}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_messages_sent_total",
			Help: "DingTalk messages accepted, by robot and kind: single (one event, its own template) or digest (several events combined in a burst).",
		}, []string{"robot", "kind"}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_robot_rate_limited_total",
			Help: "Times DingTalk answered 410100/130101 (too many messages) and paused the robot; should stay 0.",
		}, []string{"robot"}),
		RobotState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bankbot_robot_state",
			Help: "1 for each robot's current state: ok, paused (DingTalk rate limit), misconfigured, failing (dead letters).",
		}, []string{"robot", "state"}),
		OpsAlerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_ops_alerts_total",
			Help: "Ops alerts queued for the ops route, by robot and state; result skipped when there is no ops route or it uses the failing robot.",
		}, []string{"robot", "state", "result"}),
		ReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bankbot_config_last_reload_successful",
			Help: "1 when the last config load or reload succeeded, 0 when it was refused.",
		}),
		ReloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bankbot_config_last_reload_success_timestamp_seconds",
			Help: "Time of the last successful config load or reload.",
		}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_config_reloads_total",
			Help: "Config reload attempts by result: applied, unchanged, failed, transient (the file could not be read for a moment; retried on the next poll, not a refusal).",
		}, []string{"result"}),
		ConfigInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bankbot_config_info",
			Help: "The running config's hash (value 1).",
		}, []string{"hash"}),
		Confirm: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_confirm_total",
			Help: "Confirmations of money events through the provider's API, by source and result: confirmed, mismatch (security alert), or why the API could not be asked (network, timeout, server, rate_limited, auth, bad_response; the event waits and is retried).",
		}, []string{"source", "result"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "bankbot_build_info",
		Help:        "bankbot version (value 1).",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	m.Registry.MustRegister(m.Received, m.Deliveries, m.Attempts, m.DeliveryLatency, m.RenderFailed,
		m.Unrouted, m.Messages, m.RateLimited, m.RobotState, m.OpsAlerts, m.ReloadOK, m.ReloadTime, m.Reloads, m.ConfigInfo, m.Confirm, build,
		&outboxCollector{st: st, clock: clock},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.ScheduleTicks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bankbot_schedule_ticks_total",
		Help: "Scheduled ticks by schedule, job and result: ok, failed, unavailable (the job cannot run), skipped (missed or overlapping), other_runner (another replica or run claimed it), claim_failed, finish_failed.",
	}, []string{"schedule", "job", "result"})
	m.Registry.MustRegister(m.ScheduleTicks)
	return m
}

var (
	outboxDepthDesc = prometheus.NewDesc("bankbot_outbox_depth",
		"Outbox rows by status (pending, sending, dead) and events not yet routed (unrouted).", []string{"status"}, nil)
	outboxOldestDesc = prometheus.NewDesc("bankbot_outbox_oldest_due_seconds",
		"How long the oldest pending delivery has been due; 0 when none is.", nil, nil)
	storeUpDesc = prometheus.NewDesc("bankbot_store_up", "1 when the store answered the last scrape.", nil, nil)
)

// outboxCollector reads the outbox shape from the store at scrape time.
type outboxCollector struct {
	st    store.Store
	clock Clock
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxOldestDesc
	ch <- storeUpDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.st.Stats(ctx)
	if err == nil {
		// Reads can work while writes fail (a full disk, a deleted SQLite
		// file): Ping answers for the writer too.
		err = c.st.Ping(ctx)
	}
	if err != nil {
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 1)
	for status, n := range map[string]int{"pending": s.Pending, "sending": s.Sending, "dead": s.Dead, "unrouted": s.Unrouted} {
		ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(n), status)
	}
	oldest := 0.0
	if !s.OldestDueSince.IsZero() {
		if d := c.clock.Now().Sub(s.OldestDueSince); d > 0 {
			oldest = d.Seconds()
		}
	}
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, oldest)
}

// hookResults are the results of bankbot_webhooks_received_total that every
// configured source gets at zero: accepted, duplicate, unreadable and each
// rejection reason.
var hookResults = []string{
	"accepted", "duplicate", "unreadable",
	"ip_not_allowed", "body_too_large", "unreadable_body", "store_unavailable",
	bankhooks.Reason(bankhooks.ErrNoActiveKey), bankhooks.Reason(bankhooks.ErrMissingSignature),
	bankhooks.Reason(bankhooks.ErrMalformedSignature), bankhooks.Reason(bankhooks.ErrMissingTimestamp),
	bankhooks.Reason(bankhooks.ErrTimestampOutOfWindow), bankhooks.Reason(bankhooks.ErrSignatureMismatch),
	bankhooks.Reason(bankhooks.ErrKeyExpired),
}

// attemptReasons are the reasons of bankbot_delivery_attempts_total that
// every robot gets at zero.
var attemptReasons = []string{
	"ok", dingtalk.ReasonRateLimited, dingtalk.ReasonQuota, dingtalk.ReasonServer, dingtalk.ReasonNetwork,
	dingtalk.ReasonTimeout, dingtalk.ReasonConfig, dingtalk.ReasonPermanent,
}

// precreate makes every series whose labels the config determines exist at
// zero, so alert rules (rate(...), absent(...), == 0) see them from the start
// instead of only after the first event: each source × result, each robot ×
// delivery result, attempt reason and message kind, each route's template,
// the reload results. A robot seen for the first time gets its
// bankbot_robot_state series from the store's recorded state (ok when none).
// Called at start and after every applied reload; series of sources or
// robots removed by a reload stay, as counters should.
//
// states are the robots' recorded states; with statesKnown false the robots'
// state series are left for the deliverer to create.
func (m *Metrics) precreate(rt *Runtime, states map[string]string, statesKnown bool) {
	m.Received.WithLabelValues("unknown", "unknown_source")
	for name := range rt.Sources {
		for _, r := range hookResults {
			m.Received.WithLabelValues(name, r)
		}
		m.Unrouted.WithLabelValues(name)
		if src := rt.Sources[name]; src.Confirmer != nil {
			for _, r := range append([]string{store.ConfirmConfirmed, store.ConfirmMismatch}, confirm.Reasons()...) {
				m.Confirm.WithLabelValues(name, r)
			}
		}
	}
	for name := range rt.Robots {
		for _, r := range []string{"sent", "retry", "dead"} {
			m.Deliveries.WithLabelValues(name, r)
		}
		for _, r := range attemptReasons {
			m.Attempts.WithLabelValues(name, r)
		}
		for _, k := range []string{"single", "digest"} {
			m.Messages.WithLabelValues(name, k)
		}
		m.RateLimited.WithLabelValues(name)
		m.DeliveryLatency.WithLabelValues(name)
	}
	for _, r := range rt.Routes {
		if r.Template != "" {
			m.RenderFailed.WithLabelValues(r.Template)
		}
	}
	for _, r := range []ReloadResult{ReloadApplied, ReloadUnchanged, "failed", reloadTransient} {
		m.Reloads.WithLabelValues(string(r))
	}
	if !statesKnown {
		return
	}
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	for name := range rt.Robots {
		if m.stateSet[name] {
			continue
		}
		m.stateSet[name] = true
		cur, ok := states[name]
		if !ok {
			cur = stateOK
		}
		for _, s := range robotStates {
			v := 0.0
			if s == cur {
				v = 1
			}
			m.RobotState.WithLabelValues(name, s).Set(v)
		}
	}
}

// precreateMetrics is Metrics.precreate with the robots' recorded states.
//
// Failure policy: fails open because the series are a convenience for alert
// rules: when the store cannot say the recorded states, the robots' state
// series are left for the deliverer to create and everything else is still
// pre-created.
func (a *App) precreateMetrics(rt *Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rs, err := a.store.RobotStates(ctx)
	if err != nil {
		a.log.WithError(err).Warn("cannot read the robots' recorded states; bankbot_robot_state appears with the first delivery")
		a.metrics.precreate(rt, nil, false)
		return
	}
	states := make(map[string]string, len(rs))
	for _, s := range rs {
		states[s.Robot] = s.State
	}
	a.metrics.precreate(rt, states, true)
}
