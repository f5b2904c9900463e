package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chatBase is base with an app robot "ops" added.
func chatBase(chatops string) string {
	y := strings.Replace(base(""), "robots:\n", "robots:\n  ops:\n    type: app\n    app_key: k\n    app_secret: s3cret-app\n    robot_code: rc\n    conversation_id: cidOPS\n", 1)
	return y + chatops
}

func TestChatops_Validate(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []string // line prefixes; none = valid
		mode    string
		warning string
	}{
		{name: "callback is the default", yaml: chatBase("chatops:\n  robot: ops\n  allowed_conversations: [cidA]\n"), mode: "callback"},
		{name: "callback explicit", yaml: chatBase("chatops:\n  robot: ops\n  mode: callback\n"), mode: "callback",
			warning: "chatops.allowed_conversations: empty"},
		{name: "stream", yaml: chatBase("chatops:\n  robot: ops\n  mode: stream\n  allowed_conversations: [cidA]\n"), mode: "stream"},
		{name: "stream needs app_secret", yaml: strings.Replace(chatBase("chatops:\n  robot: ops\n  mode: stream\n"), "    app_secret: s3cret-app\n", "", 1),
			want: []string{`chatops.mode: stream needs the chat robot "ops" to have app_key and app_secret`}},
		{name: "unknown mode", yaml: chatBase("chatops:\n  robot: ops\n  mode: websocket\n"),
			want: []string{`chatops.mode: must be callback or stream (got "websocket")`}},
		{name: "robot required", yaml: chatBase("chatops:\n  allowed_staff: [u1]\n"),
			want: []string{"chatops.robot: required"}},
		{name: "custom robot refused", yaml: chatBase("chatops:\n  robot: preview\n"),
			want: []string{`chatops.robot: robot "preview" is type console; chat commands need an app robot (type: app)`}},
		{name: "blank list entries", yaml: chatBase("chatops:\n  robot: ops\n  allowed_conversations: [\"\"]\n  admin_staff: [\" u1\"]\n"),
			want: []string{`chatops.allowed_conversations[0]: empty`, `chatops.admin_staff[0]: empty, or with spaces around it: " u1"`}},
		{name: "unknown key", yaml: chatBase("chatops:\n  robot: ops\n  admins: [u1]\n"),
			want: []string{"chatops.admins"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.yaml, nil)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				require.Equal(t, tc.mode, cfg.Chatops.Mode)
				ws := strings.Join(cfg.Warnings(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), "\n")
				if tc.warning != "" {
					require.Contains(t, ws, tc.warning)
				} else {
					require.NotContains(t, ws, "chatops")
				}
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, "\n"+err.Error(), "\n"+w)
			}
		})
	}
}

// TestChatops_Languages: chatops.language defaults to the top-level
// language; chatops.languages gives groups their own, keeps the case of
// conversation ids, and is validated.
func TestChatops_Languages(t *testing.T) {
	t.Run("defaults and per-group languages", func(t *testing.T) {
		cfg, err := parse(t, chatBase("chatops:\n  robot: ops\n  allowed_conversations: [cidA]\n  languages:\n    zh: [cidHK==, cidSH==]\n    id: [cidJKT==]\n"), nil)
		require.NoError(t, err)
		require.Equal(t, cfg.Language, cfg.Chatops.Language, "chatops.language falls back to language")
		require.Equal(t, map[string]string{"cidHK==": "zh", "cidSH==": "zh", "cidJKT==": "id"}, cfg.Chatops.ConversationLanguages())
	})
	t.Run("own default", func(t *testing.T) {
		cfg, err := parse(t, chatBase("chatops:\n  robot: ops\n  allowed_conversations: [cidA]\n  language: id\n"), nil)
		require.NoError(t, err)
		require.Equal(t, "id", cfg.Chatops.Language)
	})
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad default", "  language: fr\n", `chatops.language: must be one of th, en, zh, id (got "fr")`},
		{"bad group language", "  languages:\n    jp: [cidA]\n", `chatops.languages.jp: must be one of th, en, zh, id (got "jp")`},
		{"blank id", "  languages:\n    th: [\"\"]\n", `chatops.languages.th[0]: empty, or with spaces around it: ""`},
		{"two languages", "  languages:\n    th: [cidA]\n    zh: [cidA]\n", `chatops.languages.zh[0]: conversation "cidA" is also listed under th; give it one language`},
		{"listed twice", "  languages:\n    th: [cidA, cidA]\n", `chatops.languages.th[1]: conversation "cidA" is listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, chatBase("chatops:\n  robot: ops\n  allowed_conversations: [cidA]\n"+tc.yaml), nil)
			require.Error(t, err)
			require.Contains(t, "\n"+err.Error(), "\n"+tc.want)
		})
	}
}
