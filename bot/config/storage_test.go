package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseStorage(t *testing.T) {
	// Every secret of the file comes from a variable that is not set on the
	// operator's host: only storage, timezone, language and delivery are read.
	withSecrets := `
admin:
  token: ${ADMIN_TOKEN}
sources:
  opn:
    provider: omise
    secrets:
      - value: ${OPN_SECRET}
robots:
  ops:
    webhook: ${DINGTALK_WEBHOOK}
routes:
  - name: all
    robot: ops
    typo_key_elsewhere: is not read
`
	tests := []struct {
		name     string
		yaml     string
		vars     map[string]string
		driver   string
		dsn      string // "" = <dir>/data/bankbot.db
		zone     string
		problems []string
	}{
		{name: "defaults", yaml: withSecrets, driver: "sqlite", zone: "Asia/Bangkok"},
		{name: "sqlite relative", yaml: withSecrets + "storage: {dsn: db/x.db}\ntimezone: UTC\n", driver: "sqlite", dsn: "db/x.db", zone: "UTC"},
		{name: "postgres from env", yaml: withSecrets + "storage: {driver: postgres, dsn: '${PG_DSN}'}\n",
			vars: map[string]string{"PG_DSN": "postgres://u:p@db:5432/bankbot"}, driver: "postgres", dsn: "postgres://u:p@db:5432/bankbot", zone: "Asia/Bangkok"},
		{name: "postgres dsn unset", yaml: withSecrets + "storage: {driver: postgres, dsn: '${PG_DSN}'}\n",
			problems: []string{"storage.dsn: environment variable PG_DSN is not set (use ${PG_DSN:-default} for an optional value)"}},
		{name: "bad driver and zone", yaml: "storage: {driver: mysql}\ntimezone: Mars/Base\n",
			problems: []string{`storage.driver: must be sqlite or postgres (got "mysql")`, `timezone: unknown time zone "Mars/Base" (use an IANA name such as Asia/Bangkok)`}},
		{name: "unknown storage key", yaml: "storage: {drvier: sqlite}\n", problems: []string{"storage.drvier"}},
		{name: "not yaml", yaml: "storage: [\n", problems: []string{"not valid YAML"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := ParseStorage([]byte(tc.yaml), dir, env(tc.vars))
			if tc.problems != nil {
				require.Error(t, err)
				require.Nil(t, cfg)
				for _, p := range tc.problems {
					require.Contains(t, err.Error(), p)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.driver, cfg.Storage.Driver)
			want := tc.dsn
			switch {
			case want == "":
				want = filepath.Join(dir, "data/bankbot.db")
			case tc.driver == "sqlite":
				want = filepath.Join(dir, want)
			}
			require.Equal(t, want, cfg.Storage.DSN.Reveal())
			require.Equal(t, tc.zone, cfg.Location.String())
			require.Equal(t, DefaultLanguage, cfg.Language)
			require.Equal(t, DefaultPollInterval, cfg.Delivery.PollInterval)
			require.Empty(t, cfg.Sources, "only the storage keys are decoded")
		})
	}
}

func TestLoadStorage_WhereLoadFailsForSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(base("admin:\n  token: ${ADMIN_TOKEN}\ntimezone: UTC\n")), 0o600))
	_, err := Load(path, env(nil))
	require.ErrorContains(t, err, "ADMIN_TOKEN is not set")
	cfg, err := LoadStorage(path, env(nil))
	require.NoError(t, err)
	require.Equal(t, path, cfg.Path)
	require.Equal(t, "UTC", cfg.Location.String())

	_, err = LoadStorage(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	require.ErrorContains(t, err, "read config")
}
