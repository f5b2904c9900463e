package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// scrape returns the /metrics text of the admin listener.
func scrape(t *testing.T, ta *testApp) string {
	t.Helper()
	rec := httptest.NewRecorder()
	ta.adminRouter().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// TestMetrics_PrecreatedAtStart: every series whose labels the config
// determines is on /metrics at 0 right after start, before any webhook or
// delivery, so alert rules have their series; a reload adds the new ones.
func TestMetrics_PrecreatedAtStart(t *testing.T) {
	ta := newTestApp(t, testConfig{
		routes: "  - name: all\n    robot: log\n    template: payment\n    language: en\n",
	})
	text := scrape(t, ta)
	want := []string{
		`bankbot_webhooks_received_total{result="unknown_source",source="unknown"} 0`,
		`bankbot_events_unmatched_total{source="opn"} 0`,
		`bankbot_robot_rate_limited_total{robot="log"} 0`,
		`bankbot_robot_state{robot="log",state="ok"} 1`,
		`bankbot_robot_state{robot="log",state="paused"} 0`,
		`bankbot_robot_state{robot="log",state="misconfigured"} 0`,
		`bankbot_robot_state{robot="log",state="failing"} 0`,
		`bankbot_render_failed_total{template="payment"} 0`,
		`bankbot_delivery_latency_seconds_count{robot="log"} 0`,
		`bankbot_config_last_reload_successful 1`,
	}
	for _, r := range []string{"accepted", "duplicate", "ip_not_allowed", "body_too_large", "bad_signature",
		"stale_timestamp", "missing_signature", "expired_key", "no_active_key", "store_unavailable"} {
		want = append(want, `bankbot_webhooks_received_total{result="`+r+`",source="opn"} 0`)
	}
	for _, r := range []string{"sent", "retry", "dead"} {
		want = append(want, `bankbot_deliveries_total{result="`+r+`",robot="log"} 0`)
	}
	for _, r := range []string{"ok", "rate_limited", "network", "server", "config", "permanent"} {
		want = append(want, `bankbot_delivery_attempts_total{reason="`+r+`",robot="log"} 0`)
	}
	for _, k := range []string{"single", "digest"} {
		want = append(want, `bankbot_messages_sent_total{kind="`+k+`",robot="log"} 0`)
	}
	for _, r := range []string{"applied", "unchanged", "failed"} {
		want = append(want, `bankbot_config_reloads_total{result="`+r+`"} 0`)
	}
	for _, w := range want {
		require.Contains(t, text, w+"\n")
	}

	// A reload adds the series of a new source and robot; the old stay.
	writeFile(t, ta.cfgPath, testConfig{
		sources: "  opn:\n    provider: omise\n    secrets: [{value: " + keyA + "}]\n" +
			"  scb:\n    provider: omise\n    secrets: [{value: " + keyB + "}]\n",
		robots: "  log:\n    type: console\n  ops:\n    type: console\n",
		routes: "  - name: all\n    robot: log\n  - name: more\n    robot: ops\n",
	}.yaml())
	_, err := ta.Reload("test")
	require.NoError(t, err)
	text = scrape(t, ta)
	for _, w := range []string{
		`bankbot_webhooks_received_total{result="accepted",source="scb"} 0`,
		`bankbot_webhooks_received_total{result="bad_signature",source="scb"} 0`,
		`bankbot_deliveries_total{result="dead",robot="ops"} 0`,
		`bankbot_robot_state{robot="ops",state="ok"} 1`,
		`bankbot_webhooks_received_total{result="accepted",source="opn"} 0`,
		`bankbot_config_reloads_total{result="applied"} 1`,
	} {
		require.Contains(t, text, w+"\n")
	}
}

// TestMetrics_RobotStateFromStore: a robot paused when bankbot stopped is
// shown paused after the restart, not ok.
func TestMetrics_RobotStateFromStore(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	_, _, err := ta.store.SetRobotState(context.Background(), "log", statePaused, "test", ta.clock.Now())
	require.NoError(t, err)
	require.NoError(t, ta.store.Close())

	again := openTestApp(t, ta.dir, ta.cfgPath, ta.clock)
	text := scrape(t, again)
	require.Contains(t, text, `bankbot_robot_state{robot="log",state="paused"} 1`+"\n")
	require.Contains(t, text, `bankbot_robot_state{robot="log",state="ok"} 0`+"\n")
}

// TestAdmin_DisabledMessageNamesShippedEnvVar: the admin_disabled message
// names the variable the shipped config.yaml reads the token from.
func TestAdmin_DisabledMessageNamesShippedEnvVar(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "config.yaml"))
	require.NoError(t, err)
	require.True(t, strings.Contains(string(b), "token: ${BANKBOT_ADMIN_TOKEN"), "config.yaml no longer reads BANKBOT_ADMIN_TOKEN: update requireToken's message")
	ta := newTestApp(t, testConfig{})
	rec := httptest.NewRecorder()
	ta.adminRouter().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/", nil))
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Contains(t, rec.Body.String(), "BANKBOT_ADMIN_TOKEN")
}
