package bot

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

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
}

// NewMetrics registers every metric; st feeds the outbox gauges at scrape time.
func NewMetrics(st store.Store, version string, clock Clock) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
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
			Help: "Config reload attempts by result: applied, unchanged, failed.",
		}, []string{"result"}),
		ConfigInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bankbot_config_info",
			Help: "The running config's hash (value 1).",
		}, []string{"hash"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "bankbot_build_info",
		Help:        "bankbot version (value 1).",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	m.Registry.MustRegister(m.Received, m.Deliveries, m.Attempts, m.DeliveryLatency, m.RenderFailed,
		m.Unrouted, m.Messages, m.RateLimited, m.RobotState, m.OpsAlerts, m.ReloadOK, m.ReloadTime, m.Reloads, m.ConfigInfo, build,
		&outboxCollector{st: st, clock: clock},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
