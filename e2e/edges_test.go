package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// TestE2E_GarbledForwardedForFailsClosed: behind a trusted proxy whose own
// address is in a source's allow_ips, a garbled right-most X-Forwarded-For hop
// is no client address at all (403), never the proxy's; a source without
// allow_ips still accepts it.
func TestE2E_GarbledForwardedForFailsClosed(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	p.Server = "  trusted_proxies: [127.0.0.0/8]\n"
	p.WalledAllow = "[127.0.0.1/32, 10.9.9.0/24]" // the proxy itself is allowed
	s := startServer(t, dir, p)

	tests := []struct {
		name   string
		source string
		xff    *string
		status int
	}{
		{"allowed client via the proxy", "walled", ptr("10.9.9.5"), 200},
		{"the proxy itself, no X-Forwarded-For", "walled", nil, 200},
		{"right-most hop with a port", "walled", ptr("10.9.9.5, 1.2.3.4:5678"), 403},
		{"bracketed IPv6 hop", "walled", ptr("[2001:db8::1]"), 403},
		{"garbage hop", "walled", ptr("garbage"), 403},
		{"empty header", "walled", ptr(""), 403},
		{"trailing comma", "walled", ptr("10.9.9.5,"), 403},
		{"disallowed client via the proxy", "walled", ptr("6.6.6.6"), 403},
		{"garbage hop, source without allow_ips", "opn", ptr("garbage"), 200},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := chargeComplete("evnt_e2e_xff_"+strconv.Itoa(i), 100, "THB")
			ts := time.Now()
			req, err := http.NewRequest(http.MethodPost, s.url(tc.source), bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Omise-Signature", opnSign(t, keyA, ts.Unix(), body))
			req.Header.Set("Omise-Signature-Timestamp", strconv.FormatInt(ts.Unix(), 10))
			if tc.xff != nil {
				req.Header["X-Forwarded-For"] = []string{*tc.xff}
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode, string(b))
			if tc.status == 403 {
				require.Contains(t, string(b), `"error":"ip_not_allowed"`)
				if tc.xff != nil && *tc.xff != "6.6.6.6" {
					require.Contains(t, string(b), "no valid client address")
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestE2E_HookAndAdminEdges: /hooks/opn/ is answered, not redirected; the
// Bearer scheme is case-insensitive; every documented series is on /metrics
// at zero right after start.
func TestE2E_HookAndAdminEdges(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	s := startServer(t, dir, newParams(t, fake, dir))

	for _, series := range []string{
		`bankbot_webhooks_received_total{result="accepted",source="opn"}`,
		`bankbot_webhooks_received_total{result="bad_signature",source="walled"}`,
		`bankbot_webhooks_received_total{result="ip_not_allowed",source="walled"}`,
		`bankbot_deliveries_total{result="dead",robot="finance"}`,
		`bankbot_messages_sent_total{kind="digest",robot="finance"}`,
		`bankbot_robot_rate_limited_total{robot="finance"}`,
		`bankbot_config_reloads_total{result="failed"}`,
	} {
		require.Equal(t, "0", s.metric(series), series)
	}
	require.Equal(t, "1", s.metric(`bankbot_robot_state{robot="finance",state="ok"}`))

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	body := chargeComplete("evnt_e2e_slash", 100, "THB")
	ts := time.Now()
	req, err := http.NewRequest(http.MethodPost, s.url("opn")+"/", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Omise-Signature", opnSign(t, keyA, ts.Unix(), body))
	req.Header.Set("Omise-Signature-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	require.Contains(t, string(b), `"status":"accepted"`)

	for _, h := range []string{"Bearer " + adminToken, "bearer " + adminToken, "BEARER " + adminToken} {
		req, err := http.NewRequest(http.MethodGet, "http://"+s.admin+"/admin/", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", strings.Fields(h)[0], b)
		require.Contains(t, string(b), `"last_reload"`)
	}
}

// TestE2E_MaxConnections: with server.max_connections 2, a third connection
// is not served while two are open, and is served once one closes; the admin
// listener is not capped.
func TestE2E_MaxConnections(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	p.Server = "  max_connections: 2\n"
	s := startServer(t, dir, p)

	get := func(c net.Conn, wait time.Duration) (string, error) {
		require.NoError(t, c.SetDeadline(time.Now().Add(wait)))
		if _, err := c.Write([]byte("GET /hooks/opn HTTP/1.1\r\nHost: bankbot\r\n\r\n")); err != nil {
			return "", err
		}
		return bufio.NewReader(c).ReadString('\n')
	}
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", s.hookAddr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		line, err := get(c, 10*time.Second)
		require.NoError(t, err)
		require.Contains(t, line, "405") // answered; the connection stays open
		held = append(held, c)
	}
	third, err := net.Dial("tcp", s.hookAddr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = third.Close() })
	_, err = get(third, 500*time.Millisecond)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "the third connection was served: %v", err)

	resp, err := http.Get("http://" + s.admin + "/healthz")
	require.NoError(t, err, "the admin listener is not capped")
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, held[0].Close())
	require.NoError(t, third.SetDeadline(time.Now().Add(10*time.Second)))
	line, err := bufio.NewReader(third).ReadString('\n')
	require.NoError(t, err, "served once a slot freed")
	require.Contains(t, line, "405")
}
