package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// An unknown key no longer hides the other problems: they are all reported
// in one run, each once, with its key path.
func TestParse_UnknownKeysAndValidationProblemsAtOnce(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		vars map[string]string
		want []string // exactly the problems, in order
	}{
		{"unknown key and a bad value",
			strings.Replace(base("langauge: en\ntimezone: Nowhere/Here\n"), "robot: preview", "robot: nobody", 1), nil,
			[]string{
				`langauge: unknown key (did you mean "language"?)`,
				`routes[0].robot: no robot named "nobody" (robots: preview)`,
				`timezone: unknown time zone "Nowhere/Here" (use an IANA name such as Asia/Bangkok)`,
			}},
		{"unknown nested key and a bad secret",
			strings.Replace(base(""), "provider: omise", "provider: omise\n    max_skw: 5m\n    allow_ips: [nope]", 1), nil,
			[]string{
				`sources.opn.allow_ips[0]: not a CIDR or IP address: "nope"`,
				`sources.opn.max_skw: unknown key (did you mean "max_skew"?)`,
			}},
		{"unset variable is reported once",
			strings.Replace(base(""), "type: console", "webhook: ${DT_WEBHOOK}\n    secret: SECabc\n    sekret: x", 1), nil,
			[]string{
				`robots.preview.sekret: unknown key (did you mean "secret"?)`,
				`robots.preview.webhook: environment variable DT_WEBHOOK is not set (use ${DT_WEBHOOK:-default} for an optional value)`,
			}},
		{"unknown key and a decode problem",
			base("serverr: 1\nserver:\n  max_body_bytes: lots\n"), nil,
			[]string{
				`server.max_body_bytes: wrong type: expected type 'int64', got unconvertible type 'string'`,
				`serverr: unknown key (did you mean "server"?)`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.yaml, tc.vars)
			var ps Problems
			require.ErrorAs(t, err, &ps)
			require.Equal(t, tc.want, ps.Lines())
		})
	}
}
