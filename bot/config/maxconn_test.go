package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParse_MaxConnections: server.max_connections defaults to
// DefaultMaxConnections and must be at least 1.
func TestParse_MaxConnections(t *testing.T) {
	tests := []struct {
		name    string
		server  string // YAML under server:, "" = no server block
		want    int
		problem string
	}{
		{"default", "", DefaultMaxConnections, ""},
		{"set", "  max_connections: 64\n", 64, ""},
		{"one", "  max_connections: 1\n", 1, ""},
		{"zero means the default", "  max_connections: 0\n", DefaultMaxConnections, ""},
		{"negative", "  max_connections: -1\n", 0, "server.max_connections: must be at least 1 (got -1)"},
		{"not a number", "  max_connections: lots\n", 0, "server.max_connections"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			extra := ""
			if tc.server != "" {
				extra = "server:\n" + tc.server
			}
			cfg, err := parse(t, base(extra), nil)
			if tc.problem != "" {
				require.ErrorContains(t, err, tc.problem)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.Server.MaxConnections)
		})
	}
}
