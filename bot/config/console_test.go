package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The web console's keys: admin.viewer_token and admin.session_ttl.
func TestConsoleKeys(t *testing.T) {
	cfg, err := parse(t, base("admin:\n  token: admin-tok\n  viewer_token: viewer-tok\n"), nil)
	require.NoError(t, err)
	require.Equal(t, "viewer-tok", cfg.Admin.ViewerToken.Reveal())
	require.Equal(t, "<secret>", cfg.Admin.ViewerToken.String())
	require.Equal(t, DefaultSessionTTL, cfg.Admin.SessionTTL)

	cfg, err = parse(t, base("admin:\n  token: admin-tok\n  session_ttl: 30m\n"), nil)
	require.NoError(t, err)
	require.Equal(t, 30*time.Minute, cfg.Admin.SessionTTL)

	tests := []struct{ name, admin, want string }{
		{"viewer equals admin", "  token: same\n  viewer_token: same\n", "admin.viewer_token: must differ from admin.token"},
		{"viewer without admin", "  viewer_token: v\n", "admin.viewer_token: needs admin.token"},
		{"ttl too short", "  token: a\n  session_ttl: 10s\n", "admin.session_ttl: must be between 1m and 720h"},
		{"ttl too long", "  token: a\n  session_ttl: 800h\n", "admin.session_ttl: must be between 1m and 720h"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, base("admin:\n"+tc.admin), nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "same", "no token in the problem")
		})
	}
}
