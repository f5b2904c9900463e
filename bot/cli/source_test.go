package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sourceTestConfig is goodConfig with the opn source's secrets and
// allow_ips replaced.
func sourceTestConfig(secrets, allow string) string {
	cfg := strings.Replace(goodConfig("@DIR@", ""), "    secrets: [{value: "+opnKey+"}]\n",
		"    secrets: "+secrets+"\n    allow_ips: "+allow+"\n", 1)
	return cfg
}

func TestSourceTest(t *testing.T) {
	opnIPs := "[54.169.118.227/32, 52.74.199.0/24, 18.139.13.19]"
	soon := time.Now().Add(3 * 24 * time.Hour).UTC().Format(time.RFC3339)
	later := time.Now().Add(60 * 24 * time.Hour).UTC().Format(time.RFC3339)
	past := "2001-01-01T00:00:00Z"
	tests := []struct {
		name  string
		cfg   string
		args  []string
		code  int
		lines []string // each must appear in the output
		not   []string
	}{
		{"opn with its published addresses", sourceTestConfig("[{value: "+opnKey+"}]", opnIPs),
			[]string{"opn", "--public-url", "https://hooks.example.com/"}, 0,
			[]string{
				"source opn (provider omise)",
				"info  url        the provider must POST to https://hooks.example.com/hooks/opn",
				"ok    keys       secrets[0] decodes; active, no expiry",
				"ok    signature  a sample charge.complete event signed with secrets[0] verifies (matched secrets[0]) and reads as payment.succeeded, THB 50.00",
				"info  clock      the scheme signs a timestamp (max_skew 5m0s); not checked",
				"ok    allowlist  every address omise publishes is in allow_ips",
				"no check failed (0 warnings)",
			}, []string{opnKey}},
		{"a published address missing from allow_ips", sourceTestConfig("[{value: "+opnKey+"}]", "[54.169.118.227/32, 10.0.0.0/8]"),
			[]string{"opn"}, 1,
			[]string{"FAIL  allowlist  omise sends from 52.74.199.175/32, 18.139.13.19/32, which sources.opn.allow_ips does not contain", "1 check failed"}, nil},
		{"no allowlist: the published list is suggested", sourceTestConfig("[{value: "+opnKey+"}]", "[]"),
			[]string{"opn"}, 0,
			[]string{"info  allowlist  allow_ips is empty: any address may call; omise publishes 54.169.118.227/32"}, nil},
		{"rotation: an expired key, one expiring soon, one later", sourceTestConfig(
			fmt.Sprintf("[{value: %s, expires: %q}, {value: %s, expires: %q}, {value: %s, expires: %q}]", opnKey, past, opnKey, soon, opnKey, later), opnIPs),
			[]string{"opn"}, 0,
			[]string{
				"warn  keys       secrets[0] expired at 2001-01-01T00:00:00Z and is no longer accepted: remove it",
				"warn  keys       secrets[1] decodes; expires in 2 days",
				"ok    keys       secrets[2] decodes; active until " + later,
				"signed with secrets[2] verifies",
				"no check failed (2 warnings)",
			}, nil},
		{"every key expired", sourceTestConfig(fmt.Sprintf("[{value: %s, expires: %q}]", opnKey, past), opnIPs),
			[]string{"opn"}, 1,
			[]string{"FAIL  keys       no active secret", "FAIL  signature  cannot sign a test event"}, nil},
		{"standard webhooks signs a timestamp, no published list", goodConfig("@DIR@", ""),
			[]string{"sw"}, 0,
			[]string{"source sw (provider standardwebhooks)", "ok    signature  a sample ", "info  clock      the scheme signs a timestamp",
				"allow_ips is empty: any address may call (standardwebhooks publishes no addresses"}, nil},
		{"unknown source", goodConfig("@DIR@", ""), []string{"nope"}, 1, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, path := writeConfig(t, tc.cfg)
			r := run(t, path, "", append([]string{"source", "test"}, tc.args...)...)
			require.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			for _, l := range tc.lines {
				require.Contains(t, r.stdout, l)
			}
			for _, l := range tc.not {
				require.NotContains(t, r.stdout+r.stderr, l)
			}
			if tc.name == "unknown source" {
				require.Contains(t, r.stderr, `no source named "nope" in the config (sources: opn, stripe, sw)`)
			}
		})
	}
}

// TestSourceTest_Clock compares the clock with a local server whose Date
// header is right, or 10 minutes off.
func TestSourceTest_Clock(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration
		code   int
		want   string
	}{
		{"in step", 0, 0, "ok    clock      this machine is "},
		{"10 minutes behind the server", 10 * time.Minute, 1, "FAIL  clock      this machine is 10m0s behind"},
		{"a minute ahead of the server", -time.Minute, 0, "warn  clock      this machine is 1m0s ahead of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Date", time.Now().Add(tc.offset).UTC().Format(http.TimeFormat))
			}))
			defer srv.Close()
			_, path := writeConfig(t, goodConfig("@DIR@", ""))
			r := run(t, path, "", "source", "test", "opn", "--time-url", srv.URL)
			require.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			require.Contains(t, r.stdout, tc.want)
		})
	}
	t.Run("no Date header", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Header()["Date"] = nil }))
		defer srv.Close()
		_, path := writeConfig(t, goodConfig("@DIR@", ""))
		r := run(t, path, "", "source", "test", "opn", "--time-url", srv.URL)
		require.Equal(t, 1, r.code, r.stdout+r.stderr)
		require.Contains(t, r.stdout, "FAIL  clock      cannot read the time from "+srv.URL+": the answer has no valid Date header")
	})
}
