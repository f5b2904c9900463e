package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStorageRetention(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		yaml    string
		want    time.Duration
		batch   int
		problem string
	}{
		{name: "default", yaml: "storage: {driver: sqlite}\n", want: 90 * day, batch: DefaultRetentionBatch},
		{name: "days", yaml: "storage: {retention: 30d}\n", want: 30 * day, batch: DefaultRetentionBatch},
		{name: "duration", yaml: "storage: {retention: 36h30m, retention_batch: 200}\n", want: 36*time.Hour + 30*time.Minute, batch: 200},
		{name: "zero", yaml: "storage: {retention: 0d}\n", problem: `storage.retention: "0d" is not positive`},
		{name: "zero duration", yaml: "storage: {retention: 0s}\n", problem: `storage.retention: "0s" is not positive`},
		{name: "negative", yaml: "storage: {retention: -5h}\n", problem: `storage.retention: "-5h" is not positive`},
		{name: "bare number", yaml: "storage: {retention: 90}\n", problem: "storage.retention: 90 has no unit: write days as 90d"},
		{name: "junk", yaml: "storage: {retention: three months}\n", problem: `storage.retention: "three months" is not a length of time`},
		{name: "negative batch", yaml: "storage: {retention_batch: -1}\n", problem: "storage.retention_batch: must be between 1 and 100000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseStorage([]byte(tc.yaml), t.TempDir(), env(nil))
			if tc.problem != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.problem)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.Storage.Retention.Duration())
			require.Equal(t, tc.batch, cfg.Storage.RetentionBatch)
		})
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]string{"90d": "90d", "1d": "1d", "2160h": "90d", "36h": "36h0m0s", " 7d ": "7d"} {
		p, err := ParsePeriod(in)
		require.NoError(t, err, in)
		require.Equal(t, want, p.String(), in)
	}
	for _, in := range []string{"", "d", "0d", "-1d", "1.5d", "1w", "9999999d"} {
		_, err := ParsePeriod(in)
		require.Error(t, err, in)
	}
}
