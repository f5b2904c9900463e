package bot

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChat_LanguagePerGroup: chatops.language sets the reply language and
// chatops.languages a group's own, through the config as loaded (the
// conversation id keeps its case although config keys are lower-cased).
func TestChat_LanguagePerGroup(t *testing.T) {
	const hk = "cidHongKong+Team=="
	ct := newChatTest(t, "chatops:\n  robot: ops\n  allowed_conversations: [\""+chatGroup+"\", \""+hk+"\"]\n"+
		"  language: id\n  languages:\n    zh: [\""+hk+"\"]\n")
	ct.postCharge(t, "evt_1", 123450, "THB", "order 1")

	replies := ct.ask(t, callback{text: "help"})
	require.Len(t, replies, 1)
	require.Contains(t, replies[0], "Yang bisa Anda tanyakan di sini")

	replies = ct.ask(t, callback{text: "today", conv: hk})
	require.Len(t, replies, 1)
	require.Contains(t, replies[0], "汇总")
	require.Contains(t, replies[0], "THB 1,234.50")

	replies = ct.ask(t, callback{text: "today"})
	require.Len(t, replies, 1)
	require.Contains(t, replies[0], "Ringkasan")
	require.Contains(t, replies[0], "THB 1.234,50", "amounts in the reply language's format")
}
