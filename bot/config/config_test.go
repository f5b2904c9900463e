package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const demoKey = "YmFua2JvdC1kZW1vLXNlY3JldC1kby1ub3QtdXNlLWluLXByb2R1Y3Rpb24="

// base is a minimal valid config; cases append or replace parts of it.
func base(extra string) string {
	return `
sources:
  opn:
    provider: omise
    secrets:
      - value: ` + demoKey + `
robots:
  preview:
    type: console
routes:
  - name: all
    robot: preview
` + extra
}

func env(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func parse(t *testing.T, yaml string, vars map[string]string) (*Config, error) {
	t.Helper()
	return Parse([]byte(yaml), t.TempDir(), env(vars))
}

func TestParse_ValidMinimalGetsDefaults(t *testing.T) {
	cfg, err := parse(t, base(""), nil)
	require.NoError(t, err)
	require.Equal(t, ":8080", cfg.Server.Listen)
	require.Equal(t, int64(DefaultMaxBodyBytes), cfg.Server.MaxBodyBytes)
	require.Equal(t, "127.0.0.1:9090", cfg.Admin.Listen)
	require.Equal(t, "sqlite", cfg.Storage.Driver)
	require.True(t, filepath.IsAbs(cfg.Storage.DSN.Reveal()), "sqlite path is made absolute against the config dir")
	require.Equal(t, "Asia/Bangkok", cfg.Location.String())
	require.Equal(t, "th", cfg.Language)
	require.Equal(t, DefaultMaxSkew, cfg.Sources["opn"].MaxSkew)
	require.Equal(t, 20, cfg.Robots["preview"].RatePerMinute)
	require.Equal(t, "default", cfg.Routes[0].Template)
	require.Equal(t, "th", cfg.Routes[0].Language, "a route inherits the top-level language")
	require.Len(t, cfg.Hash, 64)
}

func TestParse_Problems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		vars map[string]string
		want []string // each must appear as a whole line
	}{
		{"unknown top-level key", base("sourcez: {opn: 1}\n"), nil,
			[]string{`sourcez: unknown key (did you mean "sources"?)`}},
		{"unknown nested key", strings.Replace(base(""), "provider: omise", "provider: omise\n    secrt: x", 1), nil,
			[]string{`sources.opn.secrt: unknown key (did you mean "secrets"?)`}},
		{"unknown key in a list item", strings.Replace(base(""), "- value: "+demoKey, "- value: "+demoKey+"\n        expire: 2026-01-01T00:00:00Z", 1), nil,
			[]string{`sources.opn.secrets[0].expire: unknown key (did you mean "expires"?)`}},
		{"bad expires", strings.Replace(base(""), "- value: "+demoKey, "- value: "+demoKey+"\n      - value: "+demoKey+"\n        expires: next tuesday", 1), nil,
			[]string{`sources.opn.secrets[1].expires: not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z): "next tuesday"`}},
		{"unset env var", strings.Replace(base(""), demoKey, "${OPN_SECRET}", 1), nil,
			[]string{`sources.opn.secrets[0].value: environment variable OPN_SECRET is not set (use ${OPN_SECRET:-default} for an optional value)`}},
		{"bad duration", strings.Replace(base(""), "provider: omise", "provider: omise\n    max_skew: 5 minutes", 1), nil,
			[]string{"sources.opn.max_skew: not a duration"}},
		{"wrong type", base("server:\n  max_body_bytes: lots\n"), nil,
			[]string{"server.max_body_bytes: wrong type"}},
		{"unknown provider", strings.Replace(base(""), "provider: omise", "provider: paypal", 1), nil,
			[]string{`sources.opn.provider: unknown provider "paypal"`}},
		{"planned provider", strings.Replace(base(""), "provider: omise", "provider: airwallex", 1), nil,
			[]string{`sources.opn.provider: "airwallex" is not available in this version of bankbot`}},
		{"no secrets", strings.Replace(base(""), "secrets:\n      - value: "+demoKey, "secrets: []", 1), nil,
			[]string{"sources.opn.secrets: at least one secret is required"}},
		{"opn secret not base64", strings.Replace(base(""), demoKey, "not*base64!", 1), nil,
			[]string{"sources.opn.secrets[0].value:"}},
		{"missing value_file", strings.Replace(base(""), "- value: "+demoKey, "- value_file: nope.txt", 1), nil,
			[]string{"sources.opn.secrets[0].value_file: cannot read:"}},
		{"bad cidr", strings.Replace(base(""), "provider: omise", "provider: omise\n    allow_ips: [10.0.0.0/33]", 1), nil,
			[]string{`sources.opn.allow_ips[0]: not a CIDR or IP address: "10.0.0.0/33"`}},
		{"bad trusted proxy", base("server:\n  trusted_proxies: [localhost]\n"), nil,
			[]string{`server.trusted_proxies[0]: not a CIDR or IP address: "localhost"`}},
		{"bad listen", base("server:\n  listen: localhost\n"), nil,
			[]string{`server.listen: not a host:port address`}},
		{"listen as a number", base("server:\n  listen: 8080\n"), nil,
			[]string{`server.listen: wrong type`}},
		{"route to unknown robot", strings.Replace(base(""), "robot: preview", "robot: finance", 1), nil,
			[]string{`routes[0].robot: no robot named "finance"`}},
		{"route with unknown kind and source", base("  - name: x\n    robot: preview\n    kinds: [payment.done]\n    sources: [stripe]\n"), nil,
			[]string{`routes[1].kinds[0]: unknown kind "payment.done"`, `routes[1].sources[0]: no source named "stripe"`}},
		{"duplicate route name", base("  - name: all\n    robot: preview\n"), nil,
			[]string{`routes[1].name: duplicate route name "all"`}},
		{"bad min_amount", base("  - name: big\n    robot: preview\n    min_amount: lots\n"), nil,
			[]string{`routes[1].min_amount: not a non-negative decimal amount`}},
		{"robot webhook without token", strings.Replace(base(""), "type: console", "webhook: https://oapi.dingtalk.com/robot/send", 1), nil,
			[]string{"robots.preview.webhook: has no access_token query parameter"}},
		{"robot secret without SEC", strings.Replace(base(""), "type: console", "webhook: https://oapi.dingtalk.com/robot/send?access_token=abc\n    secret: hunter2", 1), nil,
			[]string{"robots.preview.secret: a DingTalk signing secret starts with SEC"}},
		{"robot timeout longer than half the lease", strings.Replace(base("delivery:\n  lease: 10s\n"), "type: console", "webhook: https://oapi.dingtalk.com/robot/send?access_token=abc\n    timeout: 6s", 1), nil,
			[]string{"robots.preview.timeout: must be at most half of delivery.lease (10s)"}},
		{"rate over dingtalk limit", strings.Replace(base(""), "type: console", "type: console\n    rate_per_minute: 30", 1), nil,
			[]string{"robots.preview.rate_per_minute: must be 1..20"}},
		{"app robot missing fields", strings.Replace(base(""), "type: console", "type: app", 1), nil,
			[]string{"robots.preview.app_key: required for type: app", "robots.preview.robot_code: required for type: app"}},
		{"bad timezone", base("timezone: Mars/Olympus\n"), nil,
			[]string{`timezone: unknown time zone "Mars/Olympus"`}},
		{"bad language", base("language: fr\n"), nil,
			[]string{`language: must be one of th, en, zh, id (got "fr")`}},
		{"bad cron", base("schedules:\n  - name: daily\n    cron: \"0 25 * * *\"\n    job: summary\n    robot: preview\n"), nil,
			[]string{"schedules[0].cron: not a cron spec"}},
		{"bad job", base("schedules:\n  - name: daily\n    cron: \"0 18 * * *\"\n    job: coffee\n    robot: preview\n"), nil,
			[]string{`schedules[0].job: must be summary, watchdog, key_expiry or retention (got "coffee")`}},
		{"chatops needs app robot", base("chatops:\n  robot: preview\n"), nil,
			[]string{`chatops.robot: robot "preview" is type console; chat commands need an app robot`}},
		{"bad storage driver", base("storage:\n  driver: mysql\n"), nil,
			[]string{`storage.driver: must be sqlite or postgres (got "mysql")`}},
		{"invalid yaml", "sources: [\n", nil,
			[]string{"not valid YAML"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.yaml, tc.vars)
			require.Error(t, err)
			var ps Problems
			if tc.name != "invalid yaml" {
				require.ErrorAs(t, err, &ps)
			}
			got := err.Error()
			for _, w := range tc.want {
				found := false
				for _, line := range strings.Split(got, "\n") {
					if strings.HasPrefix(line, w) {
						found = true
					}
				}
				require.True(t, found, "want a line starting with %q in:\n%s", w, got)
			}
		})
	}
}

func TestParse_ReportsEveryProblemAtOnce(t *testing.T) {
	yaml := base("language: fr\ntimezone: Nowhere/Here\n")
	yaml = strings.Replace(yaml, "robot: preview", "robot: nobody", 1)
	_, err := parse(t, yaml, nil)
	var ps Problems
	require.ErrorAs(t, err, &ps)
	require.Len(t, ps, 3, err.Error())
}

func TestParse_EnvExpansion(t *testing.T) {
	yaml := strings.Replace(base("admin:\n  token: ${ADMIN_TOKEN:-}\n"), demoKey, "${OPN_SECRET}", 1)
	cfg, err := parse(t, yaml, map[string]string{"OPN_SECRET": demoKey})
	require.NoError(t, err)
	require.Equal(t, demoKey, cfg.Sources["opn"].Secrets[0].Value.Reveal())
	require.Equal(t, "", cfg.Admin.Token.Reveal(), "${VAR:-} defaults to empty")

	// $$ is a literal dollar, and a value with YAML-significant characters is
	// substituted as data, not as YAML text.
	yaml = base("admin:\n  token: ${ADMIN_TOKEN}\nlog:\n  level: info\n")
	cfg, err = parse(t, yaml, map[string]string{"ADMIN_TOKEN": "a: b # c $$ {d}"})
	require.NoError(t, err)
	require.Equal(t, "a: b # c $$ {d}", cfg.Admin.Token.Reveal())
	cfg, err = parse(t, base("admin:\n  token: pa$$word\n"), nil)
	require.NoError(t, err)
	require.Equal(t, "pa$word", cfg.Admin.Token.Reveal())
}

func TestParse_ValueFileAndExpiry(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "old.key"), []byte(demoKey+"\n"), 0o600))
	yaml := strings.Replace(base(""), "- value: "+demoKey,
		"- value: "+demoKey+"\n      - value_file: old.key\n        expires: 2026-12-01T00:00:00Z", 1)
	cfg, err := Parse([]byte(yaml), dir, env(nil))
	require.NoError(t, err)
	s := cfg.Sources["opn"].Secrets[1]
	require.Equal(t, demoKey, s.Value.Reveal(), "the trailing newline of a secret file is dropped")
	require.Equal(t, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), s.ExpiresAt.UTC())

	// Changing the secret file changes the hash: a rotated file is a config change.
	before := cfg.Hash
	require.NoError(t, os.WriteFile(filepath.Join(dir, "old.key"), []byte("b3RoZXIta2V5\n"), 0o600))
	cfg, err = Parse([]byte(yaml), dir, env(nil))
	require.NoError(t, err)
	require.NotEqual(t, before, cfg.Hash)
}

func TestParse_MinAmountKeptExact(t *testing.T) {
	cfg, err := parse(t, base("  - name: big\n    robot: preview\n    min_amount: 99.5\n    mention:\n      min_amount: 100000\n"), nil)
	require.NoError(t, err)
	require.Equal(t, Decimal("99.5"), cfg.Routes[1].MinAmount)
	require.Equal(t, Decimal("100000"), cfg.Routes[1].Mention.MinAmount)
}

func TestWarnings_KeyExpiry(t *testing.T) {
	yaml := strings.Replace(base(""), "- value: "+demoKey,
		"- value: "+demoKey+"\n        expires: 2026-12-01T00:00:00Z", 1)
	cfg, err := parse(t, yaml, nil)
	require.NoError(t, err)
	soon := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	require.Contains(t, strings.Join(cfg.Warnings(soon), "\n"), "sources.opn.secrets[0]: expires at 2026-12-01T00:00:00Z")
	later := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	ws := strings.Join(cfg.Warnings(later), "\n")
	require.Contains(t, ws, "expired at 2026-12-01T00:00:00Z")
	require.Contains(t, ws, "sources.opn: every secret has expired")
}

func TestSecret_NeverPrinted(t *testing.T) {
	s := Secret("SEChunter2")
	for _, f := range []string{"%v", "%s", "%q", "%+v", "%#v", "%x"} {
		require.NotContains(t, fmt.Sprintf(f, s), "hunter2", f)
	}
	r := Robot{Webhook: "https://x/robot/send?access_token=tok123", Secret: s}
	require.NotContains(t, fmt.Sprintf("%+v", r), "tok123")
	require.NotContains(t, fmt.Sprintf("%+v", r), "hunter2")
	require.Equal(t, "https://x/robot/send?access_token=REDACTED", RedactURL("https://x/robot/send?access_token=tok123"))
	require.Equal(t, "postgres://u:REDACTED@db/x", RedactURL("postgres://u:pw@db/x"))
}

func TestShippedConfigIsValid(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "config.yaml"), env(nil))
	require.NoError(t, err)
	require.Contains(t, cfg.Sources, "demo")
	require.Equal(t, "console", cfg.Robots["console"].Type)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(base("")))
	f.Add([]byte("sources: [\n"))
	f.Add([]byte("server:\n  listen: 1\nroutes: {a: 1}\n"))
	f.Add([]byte(base("schedules:\n  - {name: a, cron: '* * * * *', job: summary, robot: preview}\n")))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b, t.TempDir(), env(nil))
		if err == nil {
			require.NotNil(t, cfg.Location)
			require.NotEmpty(t, cfg.Hash)
		} else {
			require.NotEmpty(t, err.Error())
		}
	})
}
