package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bot/chatops"
	"github.com/bankbot/bankbot/store"
)

// A real KBank slip (providers.md §11): reference 014242082547BPM04988.
const realSlipKBank = "0041000600000101030040220014242082547BPM049885102TH910434DF"

// TestChat_RealStoreAndSlipParser drives verify, ack and unacked through
// the real SQLite store and the real slip parser (the other chat tests use
// a fake store): a slip whose reference matches a received payment reports
// the match; the second verify of the same slip reports reuse naming the
// first verifier; ack of a failed payment removes it from unacked; every
// command is in the audit table.
func TestChat_RealStoreAndSlipParser(t *testing.T) {
	ct := newChatTest(t, "")
	ct.chat.store = nil                               // the App's own store
	ct.chat.slips = chatops.SlipParserFunc(parseSlip) // as newChatBridge sets it

	paid := storeEvent(t, ct.testApp, "opn", "evnt_slip_paid", "payment.succeeded", 150000, "THB", "014242082547BPM04988", "")
	failed := storeEvent(t, ct.testApp, "opn", "evnt_slip_failed", "payment.failed", 99900, "THB", "chrg_failed_1", "")

	r := strings.Join(ct.ask(t, callback{text: "verify " + realSlipKBank, staff: "s1", nick: "Somchai"}), "\n")
	require.Contains(t, r, "KBANK")
	require.Contains(t, r, "2547BPM04988", "the reference (its long digit run masked like any)")
	require.Contains(t, r, paid, "names the matching payment")

	r = strings.Join(ct.ask(t, callback{text: "verify " + realSlipKBank, staff: "s2", nick: "Malee"}), "\n")
	require.Contains(t, r, "Somchai", "reuse names the first verifier")

	r = strings.Join(ct.ask(t, callback{text: "unacked", staff: "s1", nick: "Somchai"}), "\n")
	require.Contains(t, r, failed)
	r = strings.Join(ct.ask(t, callback{text: "ack " + failed + " called the customer", staff: "s1", nick: "Somchai"}), "\n")
	require.Contains(t, r, failed)
	r = strings.Join(ct.ask(t, callback{text: "unacked", staff: "s1", nick: "Somchai"}), "\n")
	require.NotContains(t, r, failed, "acked events leave unacked")

	ack, ok, err := ct.store.GetAck(context.Background(), failed)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "s1", ack.ByID)
	require.Equal(t, "called the customer", ack.Note)

	audit, err := ct.store.ListAudit(context.Background(), store.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, audit, 5, "every command audited")
	for _, e := range audit {
		require.Equal(t, chatGroup, e.ConversationID)
	}
}
