package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

func TestAuditList(t *testing.T) {
	dir, path := writeConfig(t, secretlessConfig("@DIR@"))
	db := filepath.Join(dir, "bankbot.db")
	now := time.Now().UTC().Truncate(time.Second)
	st := openTestStore(t, db)
	for _, e := range []store.AuditEntry{
		{At: now.Add(-3 * time.Hour), SenderID: "u1", SenderName: "สมชาย", ConversationID: "cidA", Command: "today", Result: "ok"},
		{At: now.Add(-2 * time.Hour), SenderID: "u2", SenderName: "Li Wei", ConversationID: "cidB", Command: "find chrg_1", Result: "denied"},
		{At: now.Add(-time.Hour), SenderID: "u1", ConversationID: "cidA", Command: "verify 0041\n0006", Result: "error: slip checksum does not match"},
	} {
		require.NoError(t, st.AppendAudit(context.Background(), e))
	}
	require.NoError(t, st.Close())

	tests := []struct {
		name string
		args []string
		want []string // commands, in order
	}{
		{"all newest first", nil, []string{"verify 0041 0006", "find chrg_1", "today"}},
		{"sender", []string{"--sender", "u1"}, []string{"verify 0041 0006", "today"}},
		{"conversation", []string{"--conversation", "cidB"}, []string{"find chrg_1"}},
		{"since", []string{"--since", "150m"}, []string{"verify 0041 0006", "find chrg_1"}},
		{"until", []string{"--until", now.Add(-90 * time.Minute).Format(time.RFC3339)}, []string{"find chrg_1", "today"}},
		{"limit", []string{"--limit", "1"}, []string{"verify 0041 0006"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, path, "", append([]string{"audit", "list"}, tc.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Empty(t, r.stderr, "no secret is needed")
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			require.Len(t, lines, len(tc.want)+1, r.stdout)
			require.Regexp(t, `^TIME\s+SENDER\s+NAME\s+CONVERSATION\s+COMMAND\s+RESULT$`, lines[0])
			for i, c := range tc.want {
				require.Contains(t, lines[i+1], c)
			}
		})
	}

	t.Run("table row", func(t *testing.T) {
		r := run(t, path, "", "audit", "list", "--sender", "u2")
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `\n`+now.Add(-2*time.Hour).Format("2006-01-02 15:04:05")+`\s+u2\s+Li Wei\s+cidB\s+find chrg_1\s+denied\n$`, r.stdout)
	})

	t.Run("json", func(t *testing.T) {
		r := run(t, path, "", "audit", "list", "--json", "--conversation", "cidA")
		require.Equal(t, 0, r.code, r.stderr)
		var got []auditJSON
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
		require.Len(t, got, 2)
		require.Equal(t, "verify 0041\n0006", got[0].Command, "JSON keeps the command as given")
		require.Equal(t, "error: slip checksum does not match", got[0].Result)
		require.Equal(t, now.Add(-time.Hour), got[0].At)
		require.Equal(t, "สมชาย", got[1].SenderName)
		require.Positive(t, got[1].ID)
	})

	t.Run("nothing", func(t *testing.T) {
		r := run(t, path, "", "audit", "list", "--sender", "nobody")
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, "no audited commands\n", r.stdout)
		r = run(t, path, "", "audit", "list", "--sender", "nobody", "--json")
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, "[]\n", r.stdout)
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad limit", []string{"--limit", "0"}, "--limit must be positive"},
		{"bad since", []string{"--since", "yesterday"}, `--since: "yesterday" is not a time`},
		{"since after until", []string{"--since", "1h", "--until", "2h"}, "is not before --until"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, path, "", append([]string{"audit", "list"}, tc.args...)...)
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, tc.want)
		})
	}
}
