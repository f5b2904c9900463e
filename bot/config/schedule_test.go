package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse_ScheduleKeys(t *testing.T) {
	yaml := strings.Replace(base("schedules:\n  - {name: daily-th, cron: \"CRON_TZ=Asia/Bangkok 0 18 * * *\", job: summary, robot: preview, language: zh, sources: [opn]}\n  - {name: dog, cron: \"@every 5m\", job: watchdog, robot: preview}\n"),
		"    provider: omise\n", "    provider: omise\n    silence_after: 6h\n    silence_hours: {days: [mon, TUE, fri], from: \"09:00\", to: \"24:00\"}\n", 1)
	yaml = strings.Replace(yaml, "    type: console\n", "    webhook: https://oapi.dingtalk.com/robot/send?access_token=x\n    secret: SECabc\n    secret_expires: 2027-01-02T03:04:05+07:00\n", 1)
	cfg, err := parse(t, yaml, nil)
	require.NoError(t, err)
	h := cfg.Sources["opn"].SilenceHours
	require.Equal(t, map[time.Weekday]bool{time.Monday: true, time.Tuesday: true, time.Friday: true}, h.Weekdays)
	require.Equal(t, 9*60, h.FromMin)
	require.Equal(t, 24*60, h.ToMin)
	require.True(t, cfg.Robots["preview"].SecretExpiresAt.Equal(time.Date(2027, 1, 1, 20, 4, 5, 0, time.UTC)))
	require.Equal(t, Secret("SECabc"), cfg.Robots["preview"].ExpiringSecret())
	require.Equal(t, []string{"opn"}, cfg.Schedules[0].Sources)
	require.Equal(t, "zh", cfg.Schedules[0].Language)
	require.Equal(t, cfg.Language, cfg.Schedules[1].Language, "the config's language by default")

	// No days: every day.
	cfg, err = parse(t, strings.Replace(base(""), "    provider: omise\n", "    provider: omise\n    silence_after: 6h\n    silence_hours: {from: \"00:00\", to: \"06:30\"}\n", 1), nil)
	require.NoError(t, err)
	require.Len(t, cfg.Sources["opn"].SilenceHours.Weekdays, 7)
	require.Equal(t, 6*60+30, cfg.Sources["opn"].SilenceHours.ToMin)
}

func TestWarnings_RobotSecretExpiresSoon(t *testing.T) {
	yaml := strings.Replace(base(""), "    type: console\n", "    webhook: https://oapi.dingtalk.com/robot/send?access_token=x\n    secret: SECabc\n    secret_expires: 2027-01-10T00:00:00Z\n", 1)
	cfg, err := parse(t, yaml, nil)
	require.NoError(t, err)
	at := time.Date(2027, 1, 7, 22, 0, 0, 0, time.UTC)
	require.Contains(t, cfg.Warnings(at), "robots.preview.secret_expires: expires at 2027-01-10T00:00:00Z (in 50h0m0s)")
	for _, w := range cfg.Warnings(at.Add(-8 * 24 * time.Hour)) {
		require.NotContains(t, w, "expires at", "more than 7 days ahead: only the key_expiry hint")
	}
}
