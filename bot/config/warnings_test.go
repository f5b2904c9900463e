package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWarnings(t *testing.T) {
	const hook = "https://oapi.dingtalk.com/robot/send?access_token=abc"
	tests := []struct {
		name string
		yaml string
		want []string // each must be one of the warnings
		not  []string // no warning may contain these
	}{
		{"valid config: none", base(""), nil, []string{"routes", "sources.opn", "robots"}},
		{"source no route takes",
			strings.Replace(base("    sources: [opn]\n"), "robots:", "  stripe:\n    provider: stripe\n    secrets: [{value: whsec_abc}]\nrobots:", 1),
			[]string{"sources.stripe: no route takes its events; add stripe to a route's sources (or leave a route's sources empty to take every source)"},
			[]string{"sources.opn: no route"}},
		{"only the ops route",
			strings.Replace(base(""), "  - name: all\n", "  - name: ops\n", 1),
			[]string{"routes: only the ops route, which takes bankbot's own alerts; webhooks are received and checked but no message is sent"},
			[]string{"sources.opn: no route"}},
		{"no routes, no robots",
			"sources:\n  opn:\n    provider: omise\n    secrets: [{value: " + demoKey + "}]\n",
			[]string{"robots: none configured; bankbot can send nothing to DingTalk (add a robot, or one with type: console to try it out)",
				"routes: none configured; webhooks are received and checked but no message is sent"},
			[]string{"sources.opn"}},
		{"http webhook",
			strings.Replace(base(""), "type: console", "webhook: http://oapi.dingtalk.com/robot/send?access_token=abc\n    secret: SECabc", 1),
			[]string{"robots.preview.webhook: uses http://, so the access_token and every message cross the network unencrypted; use the https:// URL from the robot's settings"}, nil},
		{"http webhook on this machine is fine",
			strings.Replace(base(""), "type: console", "webhook: http://127.0.0.1:9999/robot/send?access_token=abc\n    secret: SECabc\n  local:\n    webhook: http://localhost:9/robot/send?access_token=abc\n    secret: SECabc", 1),
			nil, []string{"http://"}},
		{"https webhook", strings.Replace(base(""), "type: console", "webhook: "+hook+"\n    secret: SECabc", 1), nil, []string{"webhook"}},
		{"stripe API key pasted as the secret",
			strings.Replace(base(""), "robots:", "  stripe:\n    provider: stripe\n    secrets: [{value: whsec_ok}, {value: sk_live_abc}, {value: abc}]\nrobots:", 1),
			[]string{"sources.stripe.secrets[1].value: this is a Stripe API key (sk_…), not a webhook signing secret: every webhook will get 401; copy the endpoint's signing secret (whsec_…) from the Stripe dashboard (Developers → Webhooks) and revoke the exposed key",
				"sources.stripe.secrets[2].value: a Stripe webhook signing secret starts with whsec_; copy the endpoint's signing secret from the Stripe dashboard (Developers → Webhooks)"},
			[]string{"secrets[0]", "sk_live_abc"}},
		{"keys no schedule makes active",
			strings.Replace(strings.Replace(base("schedules:\n  - name: daily\n    cron: \"0 18 * * *\"\n    job: summary\n    robot: preview\n"),
				"    provider: omise\n", "    provider: omise\n    silence_after: 6h\n", 1),
				"      - value: "+demoKey+"\n", "      - value: "+demoKey+"\n        expires: 2099-01-01T00:00:00Z\n", 1),
			[]string{"sources.opn.silence_after: not active: no schedule runs the watchdog job, so no alert comes when the source goes quiet (add a schedule with job: watchdog, e.g. cron \"*/5 * * * *\")",
				"sources.opn.secrets[0].expires: no reminder comes before the key expires: no schedule runs the key_expiry job (the log and config check still warn in its last 7 days)"},
			[]string{"not run", "schedules"}},
		{"watchdog and key_expiry scheduled: the keys are active",
			strings.Replace(strings.Replace(base("schedules:\n  - {name: dog, cron: \"*/5 * * * *\", job: watchdog, robot: preview}\n  - {name: keys, cron: \"0 9 * * *\", job: key_expiry, robot: preview}\n"),
				"    provider: omise\n", "    provider: omise\n    silence_after: 6h\n", 1),
				"      - value: "+demoKey+"\n", "      - value: "+demoKey+"\n        expires: 2099-01-01T00:00:00Z\n", 1),
			nil, []string{"silence_after", "expires", "schedules"}},
		{"storage.retention set, no retention schedule",
			base("storage:\n  retention: 30d\n"),
			[]string{"storage.retention: not active: no schedule runs the retention job, so nothing is purged and the store keeps every raw body (add a schedule with job: retention, e.g. cron \"30 3 * * *\", or run `bankbot storage purge`)"}, nil},
		{"storage.retention_batch set, no retention schedule",
			base("storage:\n  retention_batch: 50\n"),
			[]string{"storage.retention: not active: no schedule runs the retention job, so nothing is purged and the store keeps every raw body (add a schedule with job: retention, e.g. cron \"30 3 * * *\", or run `bankbot storage purge`)"}, nil},
		{"storage.retention set and scheduled",
			base("storage:\n  retention: 30d\nschedules:\n  - {name: purge, cron: \"30 3 * * *\", job: retention}\n"),
			nil, []string{"storage.retention"}},
		{"storage.retention not set: the default is not a configured key", base(""), nil, []string{"storage.retention"}},
		{"watchdog limited to other sources",
			strings.Replace(strings.Replace(base("schedules:\n  - {name: dog, cron: \"*/5 * * * *\", job: watchdog, robot: preview, sources: [other]}\n"),
				"    provider: omise\n", "    provider: omise\n    silence_after: 6h\n", 1),
				"robots:", "  other:\n    provider: omise\n    silence_after: 1h\n    secrets: [{value: "+demoKey+"}]\nrobots:", 1),
			[]string{"sources.opn.silence_after: not active: no watchdog schedule lists opn in its sources"},
			[]string{"sources.other.silence_after"}},
		{"jobs with nothing to do",
			strings.Replace(base("schedules:\n  - {name: dog, cron: \"*/5 * * * *\", job: watchdog, robot: preview}\n  - {name: keys, cron: \"0 9 * * *\", job: key_expiry, robot: preview}\n"),
				"    provider: omise\n", "    provider: omise\n    silence_hours: {from: \"09:00\", to: \"18:00\"}\n", 1),
			[]string{"schedules[0]: the watchdog job watches no source: set silence_after on the sources to watch",
				"schedules[1]: the key_expiry job has nothing to remind of: no source secret sets expires and no robot sets secret_expires",
				"sources.opn.silence_hours: not active: the source sets no silence_after"}, nil},
		{"robot secret expiring soon and expired",
			strings.Replace(base(""), "type: console", "webhook: "+hook+"\n    secret: SECabc\n    secret_expires: "+time.Now().Add(50*time.Hour).UTC().Format(time.RFC3339)+"\n  old:\n    webhook: "+hook+"\n    secret: SECdef\n    secret_expires: 2001-01-01T00:00:00Z", 1),
			[]string{"robots.old.secret_expires: expired at 2001-01-01T00:00:00Z; DingTalk refuses the robot's messages once its secret is gone: set the new secret"},
			[]string{"robots.old.secret_expires: not active"}},
		{"robot secret_expires without key_expiry",
			strings.Replace(base(""), "type: console", "webhook: "+hook+"\n    secret: SECabc\n    secret_expires: 2099-01-01T00:00:00Z", 1),
			[]string{"robots.preview.secret_expires: not active: no schedule runs the key_expiry job, so no reminder comes before the secret expires"}, nil},
		{"standard webhooks secret without whsec_",
			strings.Replace(base(""), "robots:", "  sw:\n    provider: standardwebhooks\n    secrets: [{value: "+demoKey+"}, {value: whsec_"+demoKey+"}]\nrobots:", 1),
			[]string{"sources.sw.secrets[0].value: a Standard Webhooks secret is usually written whsec_ followed by base64; check that this is the endpoint's signing secret"},
			[]string{"secrets[1]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.yaml, nil)
			require.NoError(t, err)
			ws := cfg.Warnings(time.Now())
			for _, w := range tc.want {
				require.Contains(t, ws, w)
			}
			for _, n := range tc.not {
				for _, w := range ws {
					require.NotContains(t, w, n)
				}
			}
			for _, w := range ws {
				require.NotContains(t, w, "\n", "one line each")
			}
		})
	}
}

func TestWarnings_OpsRouteDoesNotTakeSources(t *testing.T) {
	yaml := strings.Replace(base("  - name: ops\n    robot: preview\n"), "  - name: all\n    robot: preview\n",
		"  - name: some\n    robot: preview\n    sources: [other]\n", 1)
	yaml = strings.Replace(yaml, "robots:", "  other:\n    provider: omise\n    secrets: [{value: "+demoKey+"}]\nrobots:", 1)
	cfg, err := parse(t, yaml, nil)
	require.NoError(t, err)
	require.Contains(t, cfg.Warnings(time.Now()), "sources.opn: no route takes its events; add opn to a route's sources (or leave a route's sources empty to take every source)")
}
