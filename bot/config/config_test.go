package config

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
		{"unknown provider lists the available ones", strings.Replace(base(""), "provider: omise", "provider: paypal", 1), nil,
			[]string{`sources.opn.provider: unknown provider "paypal" (available: adyen, airwallex, generic, midtrans, omise, standardwebhooks, stripe, twoc2p, xendit)`}},
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
		{"min_amount not an ISO code", base("  - name: big\n    robot: preview\n    min_amount: {baht: 1, TH: 2, \"T1B\": 3}\n"), nil,
			[]string{`routes[1].min_amount.BAHT: not an ISO 4217 currency code (three letters such as THB) or "*" for every currency not listed`,
				`routes[1].min_amount.TH: not an ISO 4217 currency code`, `routes[1].min_amount.T1B: not an ISO 4217 currency code`}},
		{"min_amount unknown currency", base("  - name: big\n    robot: preview\n    min_amount: {QQQ: 1}\n"), nil,
			[]string{`routes[1].min_amount.QQQ: unknown ISO 4217 currency code "QQQ"`}},
		{"min_amount per currency not a decimal", base("  - name: big\n    robot: preview\n    min_amount: {THB: lots, USD: -5, JPY: 1e400, \"*\": 1.5.5}\n"), nil,
			[]string{`routes[1].min_amount.THB: not a non-negative decimal amount in major units (e.g. 1000 or 99.50): "lots"`,
				`routes[1].min_amount.USD: not a non-negative decimal amount`, `routes[1].min_amount.JPY: not a non-negative decimal amount`,
				`routes[1].min_amount.*: not a non-negative decimal amount`}},
		{"min_amount per currency empty", base("  - name: big\n    robot: preview\n    min_amount: {THB: }\n"), nil,
			[]string{`routes[1].min_amount.THB: no amount`}},
		{"min_amount negative", base("  - name: big\n    robot: preview\n    min_amount: -1\n"), nil,
			[]string{`routes[1].min_amount: not a non-negative decimal amount in major units (e.g. 1000 or 99.50): "-1"`}},
		{"min_amount a list", base("  - name: big\n    robot: preview\n    min_amount: [1, 2]\n"), nil,
			[]string{`routes[1].min_amount: wrong type: want an amount such as 1000 or "99.50", or a map of currency to amount such as {THB: 100000, "*": 1000}; got a list`}},
		{"min_amount a bool", base("  - name: big\n    robot: preview\n    min_amount: true\n"), nil,
			[]string{`routes[1].min_amount: wrong type`}},
		{"min_amount per currency a list", base("  - name: big\n    robot: preview\n    min_amount: {thb: [1], usd: {a: 1}, \"*\": true}\n"), nil,
			[]string{`routes[1].min_amount.THB: wrong type: want an amount such as 1000 or "99.50"; got a list`,
				`routes[1].min_amount.USD: wrong type: want an amount such as 1000 or "99.50"; got a map`,
				`routes[1].min_amount.*: wrong type: want an amount such as 1000 or "99.50"; got true/false`}},
		{"min_amount code twice", base("  - name: big\n    robot: preview\n    min_amount: {THB: 1, thb: 2}\n"), nil,
			[]string{`routes[1].min_amount.THB: given twice (THB and thb): currency codes are not case-sensitive`}},
		{"mention min_amount bad code", base("  - name: big\n    robot: preview\n    mention:\n      min_amount: {XX: 1}\n"), nil,
			[]string{`routes[1].mention.min_amount.XX: not an ISO 4217 currency code`}},
		{"mention all not a bool", base("  - name: big\n    robot: preview\n    mention:\n      all: everyone\n"), nil,
			[]string{`routes[1].mention.all: wrong type`}},
		{"ops route with sources, kinds, min_amount", base("  - name: x\n    robot: preview\n  - name: y\n    robot: preview\n  - name: ops\n    robot: preview\n    sources: [opn]\n    kinds: [payment.failed]\n    min_amount: {THB: 1}\n    mention:\n      min_amount: 5\n"), nil,
			[]string{"routes[3].kinds: the ops route takes bankbot's own alerts only; remove kinds",
				"routes[3].sources: the ops route takes bankbot's own alerts only; remove sources",
				"routes[3].min_amount: the ops route takes bankbot's own alerts only; remove min_amount",
				"routes[3].mention.min_amount: the ops route takes bankbot's own alerts only; remove mention.min_amount"}},
		{"ops route with zero min_amount", base("  - name: ops\n    robot: preview\n    min_amount: 0\n"), nil,
			[]string{"routes[1].min_amount: the ops route takes bankbot's own alerts only; remove min_amount"}},
		{"ops route to unknown robot", base("  - name: ops\n    robot: oncall\n"), nil,
			[]string{`routes[1].robot: no robot named "oncall"`}},
		{"ops route without robot", base("  - name: ops\n"), nil,
			[]string{`routes[1].robot: required`}},
		{"too many keywords", strings.Replace(base(""), "type: console", "type: console\n    keywords: [a, b, c, d, e, f, g, h, i, j, k]", 1), nil,
			[]string{"robots.preview.keywords: at most 10 keywords: DingTalk's keyword security allows 10 (got 11)"}},
		{"empty keyword", strings.Replace(base(""), "type: console", "type: console\n    keywords: [bankbot, \"  \", \"\"]", 1), nil,
			[]string{"robots.preview.keywords[1]: empty keyword", "robots.preview.keywords[2]: empty keyword"}},
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
		{"@every under a minute", base("schedules:\n  - {name: fast, cron: \"@every 10s\", job: watchdog, robot: preview}\n"), nil,
			[]string{"schedules[0].cron: @every must be at least 1m (got 10s)"}},
		{"schedule names", base("schedules:\n  - {name: daily, cron: \"0 18 * * *\", job: summary, robot: preview}\n  - {name: daily, cron: \"0 9 * * *\", job: summary, robot: preview}\n  - {name: \"a b\", cron: \"0 9 * * *\", job: summary, robot: preview}\n"), nil,
			[]string{`schedules[1].name: another schedule is named "daily"`, `schedules[2].name: use up to 64 letters`}},
		{"schedule sources", base("schedules:\n  - {name: daily, cron: \"0 18 * * *\", job: summary, robot: preview, sources: [opn, stripe]}\n  - {name: keys, cron: \"0 9 * * *\", job: key_expiry, robot: preview, sources: [opn]}\n"), nil,
			[]string{`schedules[0].sources[1]: no source named "stripe" is configured`, `schedules[1].sources: only the summary and watchdog jobs take sources`}},
		{"silence_hours", strings.Replace(base(""), "    provider: omise\n", "    provider: omise\n    silence_after: 1h\n    silence_hours: {days: [mon, funday], from: \"9:00\", to: \"24:30\"}\n", 1), nil,
			[]string{`sources.opn.silence_hours.days[1]: not a weekday (mon tue wed thu fri sat sun): "funday"`,
				`sources.opn.silence_hours.from: not a time of day HH:MM`, `sources.opn.silence_hours.to: not a time of day HH:MM`}},
		{"silence_hours backwards", strings.Replace(base(""), "    provider: omise\n", "    provider: omise\n    silence_after: 1h\n    silence_hours: {from: \"18:00\", to: \"09:00\"}\n", 1), nil,
			[]string{`sources.opn.silence_hours.to: must be after from (18:00)`}},
		{"secret_expires", strings.Replace(base(""), "    type: console\n", "    type: console\n    secret_expires: soon\n  other:\n    webhook: https://oapi.dingtalk.com/robot/send?access_token=x\n    secret_expires: 2099-01-01T00:00:00Z\n", 1), nil,
			[]string{`robots.preview.secret_expires: not an RFC 3339 time`, `robots.other.secret_expires: the robot has no secret to expire`}},
		{"chatops needs app robot", base("chatops:\n  robot: preview\n"), nil,
			[]string{`chatops.robot: robot "preview" is type console; chat commands need an app robot`}},
		{"bad storage driver", base("storage:\n  driver: mysql\n"), nil,
			[]string{`storage.driver: must be sqlite or postgres (got "mysql")`}},
		{"invalid yaml", "sources: [\n", nil,
			[]string{"sources: not valid YAML at line 2: did not find expected node content"}},
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

func TestParse_ReportsEveryDecodeProblemAtOnce(t *testing.T) {
	yaml := base("  - name: a\n    robot: preview\n    min_amount: true\n" +
		"  - name: b\n    robot: preview\n    min_amount: {THB: [1]}\n    mention: {all: everyone}\n" +
		"server:\n  max_body_bytes: lots\n")
	_, err := parse(t, yaml, nil)
	var ps Problems
	require.ErrorAs(t, err, &ps)
	paths := make([]string, len(ps))
	for i, p := range ps {
		paths[i] = p.Path
	}
	require.Equal(t, []string{"routes[1].min_amount", "routes[2].mention.all", "routes[2].min_amount.THB", "server.max_body_bytes"}, paths, err.Error())
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

// TestParse_ValueFileTransientReadError: a secret file that cannot be read
// for a moment (out of file descriptors) makes Parse return no Config and an
// error TransientReadError recognises, so a reload is retried instead of
// refused; a missing file stays a config problem.
func TestParse_ValueFileTransientReadError(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "old.key"), []byte(demoKey+"\n"), 0o600))
	yaml := strings.Replace(base(""), "- value: "+demoKey,
		"- value: "+demoKey+"\n      - value_file: old.key", 1)
	tests := []struct {
		name      string
		err       error
		transient bool
	}{
		{"too many open files", syscall.EMFILE, true},
		{"file table full", syscall.ENFILE, true},
		{"interrupted", syscall.EINTR, true},
		{"missing", fs.ErrNotExist, false},
		{"forbidden", fs.ErrPermission, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := readFile
			t.Cleanup(func() { readFile = orig })
			readFile = func(name string) ([]byte, error) {
				if filepath.Base(name) == "old.key" {
					return nil, &fs.PathError{Op: "open", Path: name, Err: tc.err}
				}
				return orig(name)
			}
			cfg, err := Parse([]byte(yaml), dir, env(nil))
			require.Error(t, err)
			require.Equal(t, tc.transient, TransientReadError(err), "%v", err)
			if tc.transient {
				require.Nil(t, cfg, "no half-read config")
				require.Contains(t, err.Error(), "sources.opn.secrets[1].value_file: cannot read right now")
				return
			}
			require.Contains(t, err.Error(), "sources.opn.secrets[1].value_file: cannot read:")
		})
	}
}

func TestParse_MinAmount(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string // the value of min_amount
		want    MinAmount
		mention bool // also written as mention.min_amount
	}{
		{"absent", "", MinAmount{}, true},
		{"null", "null", MinAmount{}, false},
		{"integer", "100000", MinAmount{All: "100000"}, true},
		{"zero", "0", MinAmount{All: "0"}, false},
		{"float", "99.5", MinAmount{All: "99.5"}, true},
		{"float keeps its trailing zero", "99.50", MinAmount{All: "99.50"}, false},
		{"0.1 is not 0.1000000000000000055511151231257827", "0.1", MinAmount{All: "0.1"}, true},
		{"uint64", "12345678901234567890", MinAmount{All: "12345678901234567890"}, true},
		{"beyond uint64", "123456789012345678901234", MinAmount{All: "123456789012345678901234"}, false},
		{"more digits than float64", "1234567890123.456789", MinAmount{All: "1234567890123.456789"}, true},
		{"exponent", "1e3", MinAmount{All: "1000"}, false},
		{"negative exponent", "1.5e-3", MinAmount{All: "0.0015"}, false},
		{"underscores", "1_000.5", MinAmount{All: "1000.5"}, false},
		{"string", `"99.50"`, MinAmount{All: "99.50"}, true},
		{"map, codes upper-cased", `{THB: 100000, jpy: 1000000, "*": 0.1}`,
			MinAmount{PerCurrency: map[string]Decimal{"THB": "100000", "JPY": "1000000", "*": "0.1"}}, true},
		{"map keeps every digit", `{THB: 12345678901234567890.25, USD: "99.50", KRW: 123456789012345678901234}`,
			MinAmount{PerCurrency: map[string]Decimal{"THB": "12345678901234567890.25", "USD": "99.50", "KRW": "123456789012345678901234"}}, true},
		{"block map", "\n      THB: 100000\n      USD: 2500.75",
			MinAmount{PerCurrency: map[string]Decimal{"THB": "100000", "USD": "2500.75"}}, false},
		{"empty map", "{}", MinAmount{PerCurrency: map[string]Decimal{}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			route := "  - name: big\n    robot: preview\n"
			if tc.yaml != "" {
				route += "    min_amount: " + tc.yaml + "\n"
			}
			cfg, err := parse(t, base(route), nil)
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.Routes[1].MinAmount)
			if !tc.mention {
				return
			}
			yaml := "  - name: big\n    robot: preview\n    mention:\n      on_failure: true\n"
			if tc.yaml != "" {
				yaml += "      min_amount: " + tc.yaml + "\n"
			}
			cfg, err = parse(t, base(yaml), nil)
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.Routes[1].Mention.MinAmount)
			require.True(t, cfg.Routes[1].MinAmount.IsZero())
		})
	}
}

func TestParse_MinAmountThroughAlias(t *testing.T) {
	yaml := base("  - name: big\n    robot: preview\n    min_amount: &big {THB: 0.1}\n  - name: big2\n    robot: preview\n    min_amount: *big\n")
	cfg, err := parse(t, yaml, nil)
	require.NoError(t, err)
	require.Equal(t, Decimal("0.1"), cfg.Routes[2].MinAmount.PerCurrency["THB"])
}

func TestParse_MinAmountThroughMergeKey(t *testing.T) {
	yaml := base("  - &big\n    name: big\n    robot: preview\n    min_amount: 1234567890123.456789\n" +
		"    mention: {min_amount: 0.10}\n  - <<: *big\n    name: big2\n")
	cfg, err := parse(t, yaml, nil)
	require.NoError(t, err)
	require.Equal(t, MinAmount{All: "1234567890123.456789"}, cfg.Routes[2].MinAmount)
	require.Equal(t, MinAmount{All: "0.10"}, cfg.Routes[2].Mention.MinAmount)
}

func TestAmountText_RefusesFloatsThatLostDigits(t *testing.T) {
	s, err := amountText(0.1)
	require.NoError(t, err)
	require.Equal(t, "0.1", s)
	s, err = amountText(uint64(12345678901234567890))
	require.NoError(t, err)
	require.Equal(t, "12345678901234567890", s)
	_, err = amountText(1234567890123.456789)
	require.ErrorContains(t, err, "more than 15 significant digits")
	_, err = amountText(true)
	require.ErrorContains(t, err, "wrong type")
}

func TestYAMLDecimal(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0.1", "0.1", true},
		{"99.50", "99.50", true},
		{"+5", "5", true},
		{"-2.5", "-2.5", true},
		{".5", "0.5", true},
		{"5.", "5", true},
		{"007.5", "7.5", true},
		{"1e3", "1000", true},
		{"1.25E+2", "125", true},
		{"1.5e-3", "0.0015", true},
		{"12345e-2", "123.45", true},
		{"1_000_000.5", "1000000.5", true},
		{"123456789012345678901234", "123456789012345678901234", true},
		{".inf", "", false},
		{".nan", "", false},
		{"1e400", "", false},
		{"0x1p3", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := yamlDecimal(tc.in)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMinAmount_For(t *testing.T) {
	perCurrency := MinAmount{PerCurrency: map[string]Decimal{"THB": "100000", "JPY": "1000000"}}
	withStar := MinAmount{PerCurrency: map[string]Decimal{"THB": "100000", "*": "500"}}
	tests := []struct {
		name     string
		m        MinAmount
		currency string
		want     Decimal
		wantOK   bool
	}{
		{"unset", MinAmount{}, "THB", "", false},
		{"empty map", MinAmount{PerCurrency: map[string]Decimal{}}, "THB", "", false},
		{"one amount for every currency", MinAmount{All: "1000"}, "USD", "1000", true},
		{"one amount, event without currency", MinAmount{All: "1000"}, "", "1000", true},
		{"listed", perCurrency, "JPY", "1000000", true},
		{"listed, lower-case code", perCurrency, "thb", "100000", true},
		{"not listed, no star: no minimum", perCurrency, "USD", "", false},
		{"not listed, star", withStar, "USD", "500", true},
		{"listed wins over star", withStar, "THB", "100000", true},
		{"event without currency takes star", withStar, "", "500", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.m.For(tc.currency)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMinAmount_IsZeroAndJSON(t *testing.T) {
	tests := []struct {
		m        MinAmount
		zero     bool
		wantJSON string
	}{
		{MinAmount{}, true, `""`},
		{MinAmount{PerCurrency: map[string]Decimal{}}, true, `{}`},
		{MinAmount{All: "0"}, false, `"0"`},
		{MinAmount{All: "99.50"}, false, `"99.50"`},
		{MinAmount{PerCurrency: map[string]Decimal{"THB": "100000", "*": "1"}}, false, `{"*":"1","THB":"100000"}`},
	}
	for _, tc := range tests {
		t.Run(tc.wantJSON, func(t *testing.T) {
			require.Equal(t, tc.zero, tc.m.IsZero())
			b, err := json.Marshal(tc.m)
			require.NoError(t, err)
			require.JSONEq(t, tc.wantJSON, string(b))
		})
	}
}

func TestParse_RobotKeywordsAndProxy(t *testing.T) {
	robot := "webhook: https://oapi.dingtalk.com/robot/send?access_token=abc\n    keywords: [\" 到账 \", bankbot]\n    proxy: socks5://user:hunter2@proxy.internal:1080"
	cfg, err := parse(t, strings.Replace(base(""), "type: console", robot, 1), nil)
	require.NoError(t, err)
	r := cfg.Robots["preview"]
	require.Equal(t, []string{"到账", "bankbot"}, r.Keywords, "keywords are trimmed")
	require.Equal(t, "socks5://user:hunter2@proxy.internal:1080", r.Proxy.Reveal())
	require.NotContains(t, fmt.Sprintf("%+v", r), "hunter2", "the proxy is a Secret")
	require.NotContains(t, strings.Join(cfg.Warnings(time.Now()), "\n"), "robots.preview.secret",
		"a robot with keywords has DingTalk security without a signing secret")

	for _, proxy := range []string{"http://proxy.internal:3128", "https://proxy.internal", "socks5://10.0.0.1:1080", "${PROXY}"} {
		cfg, err := parse(t, strings.Replace(base(""), "type: console", "type: console\n    proxy: "+proxy, 1),
			map[string]string{"PROXY": "http://u:p@proxy:8080"})
		require.NoError(t, err, proxy)
		require.NotEmpty(t, cfg.Robots["preview"].Proxy)
	}
}

func TestParse_ProxyProblemsHideCredentials(t *testing.T) {
	tests := []struct {
		proxy string
		want  string
	}{
		{"ftp://alice:hunter2@proxy.internal:21", "robots.preview.proxy: the scheme must be http, https or socks5"},
		{"alice:hunter2@proxy.internal:3128", "robots.preview.proxy: the scheme must be http, https or socks5"},
		{"http://alice:hunter2@[::1", "robots.preview.proxy: not a URL"},
		{"hunter2:x@proxy.internal", "robots.preview.proxy: the scheme must be http, https or socks5"},
		{"http://alice:hunter2@", "robots.preview.proxy: has no host"},
		{"http://alice:hunter2@proxy.internal:3128/%zz", "robots.preview.proxy: not a URL"},
		{"proxy.internal:3128", "robots.preview.proxy: the scheme must be http, https or socks5"},
	}
	for _, tc := range tests {
		t.Run(tc.proxy, func(t *testing.T) {
			_, err := parse(t, strings.Replace(base(""), "type: console", "type: console\n    proxy: \""+tc.proxy+"\"", 1), nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "hunter2")
			require.NotContains(t, err.Error(), "alice")
		})
	}
}

func TestParse_OpsRoute(t *testing.T) {
	cfg, err := parse(t, base(""), nil)
	require.NoError(t, err)
	require.Nil(t, cfg.OpsRoute())

	cfg, err = parse(t, base("  - name: ops\n    robot: preview\n    kinds: []\n    mention:\n      all: true\n"), nil)
	require.NoError(t, err)
	require.NotNil(t, cfg.OpsRoute())
	require.Same(t, cfg.Routes[1], cfg.OpsRoute())
	require.True(t, cfg.OpsRoute().IsOps())
	require.False(t, cfg.Routes[0].IsOps())
	require.True(t, cfg.OpsRoute().Mention.All)
}

func TestParse_MentionAll(t *testing.T) {
	cfg, err := parse(t, base("  - name: big\n    robot: preview\n    mention:\n      all: true\n      min_amount: {THB: 1000000}\n"), nil)
	require.NoError(t, err)
	m := cfg.Routes[1].Mention
	require.True(t, m.All, "mention.all is DingTalk's isAtAll")
	require.False(t, m.OnFailure)
	require.Empty(t, m.Mobiles)
	require.False(t, cfg.Routes[0].Mention.All, "all defaults to false")
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
	// Retention is on out of the box, and config check has nothing to say.
	require.Len(t, cfg.Schedules, 1)
	require.Equal(t, JobRetention, cfg.Schedules[0].Job)
	require.Empty(t, cfg.Warnings(time.Now()))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(base("")))
	f.Add([]byte("sources: [\n"))
	f.Add([]byte("server:\n  listen: 1\nroutes: {a: 1}\n"))
	f.Add([]byte(base("  - <<: {name: x}\n    robot: preview\n    min_amount: {THB: 1e3, \"*\": .5, thb: 2}\n    mention: {all: true, min_amount: 0.1}\n")))
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
