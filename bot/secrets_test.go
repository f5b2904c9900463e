package bot

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
	"github.com/bankbot/bankbot/store"
)

// TestSecrets_NeverLogged (anchors §8.2): a full ingest and delivery, with
// failures on the way (a refused webhook, a DingTalk that drops the
// connection, a security errcode, a bad reload), leaves no secret in the
// logs, the admin status page or /metrics: not the DingTalk access_token nor
// its SEC secret, not the Opn webhook secret (raw or base64), not a
// signature, not the admin token.
func TestSecrets_NeverLogged(t *testing.T) {
	const (
		dtToken    = "TOKENunit7f3a9c1e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a"
		dtSecret   = "SECunitSecretQ8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3j2k1l"
		downToken  = "TOKENdown5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d"
		adminToken = "ADMINunitTokenZ1x2c3v4b5n6m7"
		opnRaw     = "opn-webhook-SECRET-raw-bytes-42"
	)
	opnKey := base64.StdEncoding.EncodeToString([]byte(opnRaw))
	clock := newFakeClock(t0)
	dt := dingtalktest.New(t, dingtalktest.Options{Token: dtToken, Secret: dtSecret, Now: clock.Now})
	down := dingtalktest.New(t, dingtalktest.Options{Token: downToken, Now: clock.Now, DownMode: dingtalktest.DownHangup})
	down.SetDown(true)
	cfg := testConfig{
		adminToken: adminToken,
		sources:    "  opn:\n    provider: omise\n    secrets: [{value: " + opnKey + "}]\n",
		robots:     dt.RobotYAML("dt") + down.RobotYAML("down"),
		routes:     "  - name: all\n    robot: dt\n  - name: down\n    robot: down\n",
	}
	ta := newTestAppClock(t, cfg, clock)
	ta.withRuntime(func(rt *Runtime) { rt.Backoff.Rand = func() float64 { return 0 } })
	dt.Script(dingtalktest.Response{ErrCode: 310000, ErrMsg: "sign not match"})

	// A webhook with a wrong signature, then a good one.
	body := charge("evnt_secret", 5000, "THB", "x")
	bad := hookRequest(t, "opn", keyC, clock.Now(), body)
	r := serve(t, ta.hookRouter(), bad)
	require.Equal(t, http.StatusUnauthorized, r.Code)
	good := hookRequest(t, "opn", opnKey, clock.Now(), body)
	signature := good.Header.Get("Omise-Signature")
	r = serve(t, ta.hookRouter(), good)
	require.Equal(t, "accepted", r.Status)
	ta.route(t)
	ta.startWorkers(t)

	var dtID, downID int64
	for _, d := range ta.deliveries(t) {
		if d.Robot == "dt" {
			dtID = d.ID
		} else {
			downID = d.ID
		}
	}
	d := ta.waitDelivery(t, dtID, "refused once", func(d store.Delivery) bool { return d.Attempts == 1 })
	require.Equal(t, "config", d.LastReason)
	d = ta.waitDelivery(t, downID, "failed once", func(d store.Delivery) bool { return d.Attempts == 1 })
	require.Equal(t, "network", d.LastReason)
	ta.advanceTo(clock.Now().Add(time.Second), "dt")
	ta.waitDelivery(t, dtID, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })
	require.Len(t, dt.Messages(), 1)
	ta.settle(t, "dt")
	ta.settle(t, "down")

	// A refused reload logs every problem.
	writeFile(t, ta.cfgPath, strings.Replace(cfg.yaml(), "routes:\n", "routes:\n  - name: broken\n    robot: nobody\n", 1))
	_, err := ta.Reload("test")
	require.Error(t, err)

	get := func(path string, auth bool) string {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+adminToken)
		}
		rec := httptest.NewRecorder()
		ta.adminRouter().ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", path, rec.Body.String())
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	status := get("/admin/", true)
	metrics := get("/metrics", false)
	logs := ta.logs.String()

	// The outputs are not empty, so their silence means something.
	require.Contains(t, logs, "delivered")
	require.Contains(t, logs, "delivery failed; will retry")
	require.Contains(t, logs, "config reload refused")
	require.Contains(t, logs, "webhook rejected")
	require.Contains(t, status, "access_token=REDACTED")
	require.Contains(t, metrics, "bankbot_webhooks_received_total")

	secrets := map[string]string{
		"dingtalk access_token":   dtToken,
		"down robot access_token": downToken,
		"dingtalk SEC secret":     dtSecret,
		"opn secret, raw":         opnRaw,
		"opn secret, base64":      opnKey,
		"Omise-Signature":         signature,
		"refused Omise-Signature": bad.Header.Get("Omise-Signature"),
		"admin token":             adminToken,
		"dingtalk secret, no SEC": strings.TrimPrefix(dtSecret, "SEC"),
	}
	for name, secret := range secrets {
		t.Run(name, func(t *testing.T) {
			require.NotContains(t, logs, secret, "logs")
			require.NotContains(t, status, secret, "admin status page")
			require.NotContains(t, metrics, secret, "/metrics")
		})
	}
}

// TestAdmin_Auth: the admin API is off without a token, and checks the
// bearer token otherwise; health, readiness and metrics need none.
func TestAdmin_Auth(t *testing.T) {
	tests := []struct {
		name   string
		token  string // configured
		header string
		path   string
		method string
		status int
		code   string
	}{
		{"no token configured: status off", "", "Bearer anything", "/admin/", http.MethodGet, 403, "admin_disabled"},
		{"no token configured: reload off", "", "", "/admin/reload", http.MethodPost, 403, "admin_disabled"},
		{"no bearer", "s3cret", "", "/admin/", http.MethodGet, 401, "unauthorized"},
		{"wrong bearer", "s3cret", "Bearer s3cre", "/admin/", http.MethodGet, 401, "unauthorized"},
		{"token with a longer prefix", "s3cret", "Bearer s3cretX", "/admin/", http.MethodGet, 401, "unauthorized"},
		{"not a bearer scheme", "s3cret", "Basic s3cret", "/admin/", http.MethodGet, 401, "unauthorized"},
		{"lower-case scheme", "s3cret", "bearer s3cret", "/admin/", http.MethodGet, 200, ""},
		{"upper-case scheme", "s3cret", "BEARER s3cret", "/admin/reload", http.MethodPost, 200, ""},
		{"mixed-case scheme, extra spaces", "s3cret", "  bEaReR   s3cret ", "/admin/", http.MethodGet, 200, ""},
		{"scheme without a token", "s3cret", "Bearer", "/admin/", http.MethodGet, 401, "unauthorized"},
		{"scheme and a space only", "s3cret", "bearer ", "/admin/", http.MethodGet, 401, "unauthorized"},
		{"token is case-sensitive", "s3cret", "bearer S3CRET", "/admin/", http.MethodGet, 401, "unauthorized"},
		{"scheme glued to the token", "s3cret", "Bearers3cret", "/admin/", http.MethodGet, 401, "unauthorized"},
		{"right bearer", "s3cret", "Bearer s3cret", "/admin/", http.MethodGet, 200, ""},
		{"right bearer, reload", "s3cret", "Bearer s3cret", "/admin/reload", http.MethodPost, 200, ""},
		{"healthz is open", "s3cret", "", "/healthz", http.MethodGet, 200, ""},
		{"readyz is open", "s3cret", "", "/readyz", http.MethodGet, 200, ""},
		{"metrics are open", "", "", "/metrics", http.MethodGet, 200, ""},
	}
	apps := map[string]*testApp{"": newTestApp(t, testConfig{}), "s3cret": newTestApp(t, testConfig{adminToken: "s3cret"})}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ta := apps[tc.token]
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			ta.adminRouter().ServeHTTP(rec, req)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.code != "" {
				var body map[string]string
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				require.Equal(t, tc.code, body["error"])
				require.NotEmpty(t, body["message"])
				require.NotContains(t, rec.Body.String(), "s3cret")
				if tc.code == "admin_disabled" {
					require.Contains(t, body["message"], "BANKBOT_ADMIN_TOKEN", "names the variable the shipped config.yaml reads")
				}
				if tc.status == http.StatusUnauthorized {
					require.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
				}
			}
		})
	}
}

// TestAdmin_Status: the status page shows the configuration and the outbox.
func TestAdmin_Status(t *testing.T) {
	ta := newTestApp(t, testConfig{
		adminToken: "tok",
		sources: "  opn:\n    provider: omise\n    secrets:\n      - value: " + keyA + "\n" +
			"      - value: " + keyB + "\n        expires: 2026-11-01T00:00:00Z\n    allow_ips: [203.0.113.0/24]\n",
	})
	ta.postCharge(t, "evnt_status", 100, "THB", "x")
	req := httptest.NewRequest(http.MethodGet, "/admin/", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	ta.adminRouter().ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	var body struct {
		Version string `json:"version"`
		Sources map[string]struct {
			Provider string `json:"provider"`
			URL      string `json:"url"`
			Keys     []struct {
				Name   string `json:"name"`
				Active bool   `json:"active"`
			} `json:"keys"`
			AllowIPs []string `json:"allow_ips"`
		} `json:"sources"`
		Outbox   map[string]int `json:"outbox"`
		Warnings []string       `json:"warnings"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Equal(t, "test", body.Version)
	src := body.Sources["opn"]
	require.Equal(t, "omise", src.Provider)
	require.Equal(t, "/hooks/opn", src.URL)
	require.Len(t, src.Keys, 2)
	require.True(t, src.Keys[0].Active)
	require.False(t, src.Keys[1].Active, "expired key shown inactive")
	require.Equal(t, []string{"203.0.113.0/24"}, src.AllowIPs)
	require.Equal(t, 0, body.Outbox["unrouted"], "routed at ingest")
	require.Equal(t, 1, body.Outbox["pending"])
	require.NotEmpty(t, body.Warnings)
}
