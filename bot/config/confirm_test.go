package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// withConfirm is base() with a confirm block under sources.opn.
func withConfirm(block string) string {
	return strings.Replace(base(""), "provider: omise", "provider: omise\n    confirm:\n"+block, 1)
}

func TestParse_Confirm(t *testing.T) {
	cfg, err := parse(t, withConfirm("      api_base: https://api.omise.co\n      api_key: ${OPN_SECRET_KEY}\n"),
		map[string]string{"OPN_SECRET_KEY": "skey_test_unitconfirm"})
	require.NoError(t, err)
	c := cfg.Sources["opn"].Confirm
	require.NotNil(t, c)
	require.Equal(t, "https://api.omise.co", c.APIBase)
	require.Equal(t, "skey_test_unitconfirm", c.APIKey.Reveal())
	require.Equal(t, "<secret>", c.APIKey.String(), "the key prints masked")
	require.Equal(t, 10*time.Second, c.Timeout, "default timeout")

	cfg, err = parse(t, withConfirm("      api_base: http://127.0.0.1:8081/\n      api_key: skey_test_secretvalue\n      timeout: 3s\n"), nil)
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, cfg.Sources["opn"].Confirm.Timeout)
}

func TestParse_ConfirmProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // a whole line starts with it
	}{
		{"provider without confirmer",
			strings.Replace(withConfirm("      api_base: https://api.stripe.com\n      api_key: skey_test_secretvalue\n"), "provider: omise", "provider: stripe", 1),
			`sources.opn.confirm: provider "stripe" cannot confirm events through its API (confirm is available for: midtrans, omise)`},
		{"api_base not a URL", withConfirm("      api_base: api.omise.co\n      api_key: skey_test_secretvalue\n"),
			`sources.opn.confirm.api_base: not an http(s) URL: "api.omise.co"`},
		{"api_base not http", withConfirm("      api_base: ftp://api.omise.co\n      api_key: skey_test_secretvalue\n"),
			`sources.opn.confirm.api_base: not an http(s) URL`},
		{"api_base missing", withConfirm("      api_key: skey_test_secretvalue\n"),
			`sources.opn.confirm.api_base: required`},
		{"api_key missing", withConfirm("      api_base: https://api.omise.co\n"),
			`sources.opn.confirm.api_key: required`},
		{"api_key from an empty variable", withConfirm("      api_base: https://api.omise.co\n      api_key: ${OPN_SECRET_KEY:-}\n"),
			`sources.opn.confirm.api_key: required`},
		{"negative timeout", withConfirm("      api_base: https://api.omise.co\n      api_key: skey_test_secretvalue\n      timeout: -1s\n"),
			`sources.opn.confirm.timeout: must not be negative`},
		{"unknown key", withConfirm("      api_base: https://api.omise.co\n      api_key: skey_test_secretvalue\n      apikey: k\n"),
			`sources.opn.confirm.apikey: unknown key`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.yaml, nil)
			require.Error(t, err)
			found := false
			for _, line := range strings.Split(err.Error(), "\n") {
				found = found || strings.HasPrefix(line, tc.want)
			}
			require.True(t, found, "want a line starting with %q in:\n%s", tc.want, err)
			require.NotContains(t, err.Error(), "skey_test_secretvalue", "the key is never in a problem")
		})
	}
}
