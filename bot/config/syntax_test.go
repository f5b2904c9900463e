package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse_YAMLSyntaxErrorNamesLineAndPath(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"bad indent under a key",
			"server:\n  listen: \":8080\"\n admin: x\n",
			"server.admin: not valid YAML at line 3: did not find expected key"},
		{"bad indent in a nested map",
			"sources:\n  opn:\n    provider: omise\n   secrets: []\n",
			"sources.opn.secrets: not valid YAML at line 4: did not find expected key"},
		{"tab",
			"language: en\n\tserver: x\n",
			"language: not valid YAML at line 2: found a tab character that violates indentation"},
		{"mapping value in a list item",
			"routes:\n  - name: all\n    robot: a: b\n",
			"routes[0].robot: not valid YAML at line 3: mapping values are not allowed in this context"},
		{"second list item",
			"routes:\n  - name: all\n    robot: x\n  - name: two\n    robot: a: b\n",
			"routes[1].robot: not valid YAML at line 5: mapping values are not allowed in this context"},
		{"unclosed flow list",
			"language: en\nsources: [\n",
			"sources: not valid YAML at line 3: did not find expected node content"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.yaml, nil)
			var ps Problems
			require.ErrorAs(t, err, &ps)
			require.Len(t, ps, 1)
			require.Equal(t, tc.want, ps[0].String())
		})
	}
}

func TestPathAtLine(t *testing.T) {
	lines := []string{
		"server:",                // 1
		"  listen: :80",          // 2
		"routes:",                // 3
		"- name: a",              // 4
		"  robot: x",             // 5
		"  mention:",             // 6
		"    mobiles:",           // 7
		"      - \"138\"",        // 8
		"- name: b",              // 9
		"# comment",              // 10
		"robots:",                // 11
		"  Finance:",             // 12
		"    webhook: https://x", // 13
	}
	want := map[int]string{1: "server", 2: "server.listen", 3: "routes", 4: "routes[0].name", 5: "routes[0].robot",
		7: "routes[0].mention.mobiles", 8: "routes[0].mention.mobiles[0]", 9: "routes[1].name", 10: "routes[1].name",
		12: "robots.finance", 13: "robots.finance.webhook"}
	for n, p := range want {
		require.Equal(t, p, pathAtLine(lines, n), "line %d", n)
	}
}

func TestParse_YAMLSyntaxErrorInAListItem(t *testing.T) {
	yaml := "robots:\n  a:\n    type: console\nroutes:\n  - name: x\n    robot: a\n  - name: y\n     robot: a\n"
	_, err := parse(t, yaml, nil)
	var ps Problems
	require.ErrorAs(t, err, &ps)
	require.Len(t, ps, 1)
	require.Contains(t, ps[0].String(), "at line 8:")
}
