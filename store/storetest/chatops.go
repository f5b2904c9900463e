package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// invalid asserts err is a refused argument, not a database failure.
func invalid(t *testing.T, err error, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, store.ErrInvalid, msgAndArgs...)
	require.NotErrorIs(t, err, store.ErrUnavailable, msgAndArgs...)
}

func testClaimChatMessage(t *testing.T, s store.Store) {
	first, err := s.ClaimChatMessage(ctx(t), "msg_1", base())
	require.NoError(t, err)
	require.True(t, first)
	first, err = s.ClaimChatMessage(ctx(t), "msg_1", base().Add(time.Minute))
	require.NoError(t, err)
	require.False(t, first, "a repeat")
	first, err = s.ClaimChatMessage(ctx(t), "msg_2", base())
	require.NoError(t, err)
	require.True(t, first)

	for _, tc := range []struct {
		name string
		id   string
		at   time.Time
	}{
		{"empty id", "", base()},
		{"NUL", "msg\x00", base()},
		{"not utf-8", "msg\xff", base()},
		{"oversize", strings.Repeat("m", store.MaxKeyLen+1), base()},
		{"zero time", "msg_3", time.Time{}},
	} {
		_, err := s.ClaimChatMessage(ctx(t), tc.id, tc.at)
		invalid(t, err, tc.name)
	}
}

// Replicas receiving the same callback: exactly one claims it.
func testClaimChatMessageConcurrent(t *testing.T, s store.Store) {
	const callers = 16
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		firsts int
	)
	for range callers {
		wg.Go(func() {
			first, err := s.ClaimChatMessage(ctx(t), "msg_race", base())
			require.NoError(t, err)
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, firsts)
}

func testAudit(t *testing.T, s store.Store) {
	bangkok := time.FixedZone("ICT", 7*3600)
	at := func(m int) time.Time { return base().Add(time.Duration(m) * time.Minute) }
	entries := []store.AuditEntry{
		{At: at(0), SenderID: "u1", SenderName: "สมชาย", ConversationID: "cidA", Command: "today", Result: "ok"},
		{At: at(1), SenderID: "u2", SenderName: "Li Wei 李伟", ConversationID: "cidA", Command: "find chrg_1", Result: "denied"},
		{At: at(2), SenderID: "u1", ConversationID: "cidB", Command: "verify 0041…", Result: "error: slip checksum does not match"},
		{At: at(3).In(bangkok).Add(123456789), SenderID: "u1", ConversationID: "cidA", Command: "ack ev_1", Result: "ok"},
		{At: at(3).Add(123 * time.Millisecond), SenderID: "u3", ConversationID: "cidA", Command: "", Result: "ok"}, // same millisecond: the later id first
	}
	for _, e := range entries {
		require.NoError(t, s.AppendAudit(ctx(t), e))
	}
	commands := func(es []store.AuditEntry) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.SenderID + ":" + e.Command
		}
		return out
	}
	tests := []struct {
		name string
		f    store.AuditFilter
		want []string
	}{
		{"all newest first", store.AuditFilter{}, []string{"u3:", "u1:ack ev_1", "u1:verify 0041…", "u2:find chrg_1", "u1:today"}},
		{"limit", store.AuditFilter{Limit: 2}, []string{"u3:", "u1:ack ev_1"}},
		{"since inclusive until exclusive", store.AuditFilter{Since: at(1), Until: at(3)}, []string{"u1:verify 0041…", "u2:find chrg_1"}},
		{"sender", store.AuditFilter{SenderID: "u1"}, []string{"u1:ack ev_1", "u1:verify 0041…", "u1:today"}},
		{"conversation", store.AuditFilter{ConversationID: "cidB"}, []string{"u1:verify 0041…"}},
		{"sender and conversation since", store.AuditFilter{SenderID: "u1", ConversationID: "cidA", Since: at(1)}, []string{"u1:ack ev_1"}},
		{"nothing", store.AuditFilter{SenderID: "nobody"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx(t), tc.f)
			require.NoError(t, err)
			require.Equal(t, tc.want, commands(got))
		})
	}

	all, err := s.ListAudit(ctx(t), store.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, all, len(entries))
	ids := map[int64]bool{}
	for _, e := range all {
		require.Positive(t, e.ID)
		ids[e.ID] = true
		requireUTC(t, "audit at", e.At)
	}
	require.Len(t, ids, len(entries), "ids are distinct")
	got := all[1]
	require.Equal(t, at(3).Add(123*time.Millisecond), got.At, "stored in UTC at millisecond precision")
	want := entries[3]
	want.ID, want.At = got.ID, got.At
	require.Equal(t, want, got)
	require.Equal(t, "Li Wei 李伟", all[3].SenderName)

	for _, tc := range []struct {
		name string
		e    store.AuditEntry
	}{
		{"zero time", store.AuditEntry{Result: "ok"}},
		{"no result", store.AuditEntry{At: at(0)}},
		{"NUL in command", store.AuditEntry{At: at(0), Result: "ok", Command: "today\x00"}},
		{"sender not utf-8", store.AuditEntry{At: at(0), Result: "ok", SenderID: "u\xff"}},
		{"oversize command", store.AuditEntry{At: at(0), Result: "ok", Command: strings.Repeat("x", store.MaxTextLen+1)}},
		{"oversize sender name", store.AuditEntry{At: at(0), Result: "ok", SenderName: strings.Repeat("x", store.MaxKeyLen+1)}},
	} {
		invalid(t, s.AppendAudit(ctx(t), tc.e), tc.name)
	}
	require.NoError(t, s.AppendAudit(ctx(t), store.AuditEntry{At: at(9), Result: "ok", Command: strings.Repeat("x", store.MaxTextLen)}), "the limit itself is allowed")
	for _, f := range []store.AuditFilter{{Limit: -1}, {Since: at(2), Until: at(2)}, {Since: at(3), Until: at(1)}, {SenderID: "u\x00"}} {
		_, err := s.ListAudit(ctx(t), f)
		invalid(t, err, "%+v", f)
	}
}

// failureFixture inserts events 0..5 received a minute apart: even ones
// failed payments, 3 a failed refund, 1 and 5 successes.
func failureFixture(t *testing.T, s store.Store) {
	t.Helper()
	for i := range 6 {
		e := newEvent(i)
		e.ReceivedAt = base().Add(time.Duration(i) * time.Minute)
		switch {
		case i%2 == 0:
			e.Event.Kind = bankhooks.KindPaymentFailed
		case i == 3:
			e.Event.Kind = bankhooks.KindRefundFailed
		}
		mustInsert(t, s, e)
	}
}

func testAckEvent(t *testing.T, s store.Store) {
	failureFixture(t, s)
	bangkok := time.FixedZone("ICT", 7*3600)
	at := base().Add(time.Hour).In(bangkok).Add(456789)

	_, ok, err := s.GetAck(ctx(t), "evt_0000")
	require.NoError(t, err)
	require.False(t, ok)

	ack, err := s.AckEvent(ctx(t), "evt_0000", "u1", "สมชาย", "called the customer", at)
	require.NoError(t, err)
	want := store.Ack{EventID: "evt_0000", ByID: "u1", ByName: "สมชาย", Note: "called the customer", At: base().Add(time.Hour)}
	require.Equal(t, want, ack)
	requireUTC(t, "ack at", ack.At)

	again, err := s.AckEvent(ctx(t), "evt_0000", "u2", "Other", "me too", at.Add(time.Minute))
	require.NoError(t, err)
	want.Already = true
	require.Equal(t, want, again, "the first ack is kept")

	got, ok, err := s.GetAck(ctx(t), "evt_0000")
	require.NoError(t, err)
	require.True(t, ok)
	want.Already = false
	require.Equal(t, want, got)
	requireUTC(t, "ack at", got.At)

	_, err = s.AckEvent(ctx(t), "evt_nope", "u1", "", "", at)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, ok, err = s.GetAck(ctx(t), "evt_nope")
	require.NoError(t, err)
	require.False(t, ok)

	for _, tc := range []struct {
		name                    string
		event, by, byName, note string
		at                      time.Time
	}{
		{"empty event", "", "u1", "", "", at},
		{"empty acknowledger", "evt_0002", "", "", "", at},
		{"zero time", "evt_0002", "u1", "", "", time.Time{}},
		{"NUL in note", "evt_0002", "u1", "", "a\x00b", at},
		{"name not utf-8", "evt_0002", "u1", "\xc3\x28", "", at},
		{"oversize note", "evt_0002", "u1", "", strings.Repeat("n", store.MaxTextLen+1), at},
	} {
		_, err := s.AckEvent(ctx(t), tc.event, tc.by, tc.byName, tc.note, tc.at)
		invalid(t, err, tc.name)
	}
	_, ok, err = s.GetAck(ctx(t), "evt_0002")
	require.NoError(t, err)
	require.False(t, ok, "a refused ack records nothing")
}

// Two people acking at once: one ack is recorded, the other sees it.
func testAckEventConcurrent(t *testing.T, s store.Store) {
	mustInsert(t, s, newEvent(1))
	const callers = 12
	acks := make([]store.Ack, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var err error
			acks[i], err = s.AckEvent(ctx(t), "evt_0001", fmt.Sprintf("u%d", i), "", "", base().Add(time.Duration(i)*time.Second))
			require.NoError(t, err)
		})
	}
	wg.Wait()
	fresh := 0
	for _, a := range acks {
		if !a.Already {
			fresh++
		}
	}
	require.Equal(t, 1, fresh)
	got, ok, err := s.GetAck(ctx(t), "evt_0001")
	require.NoError(t, err)
	require.True(t, ok)
	for _, a := range acks {
		a.Already = false
		require.Equal(t, got, a, "every caller sees the one recorded ack")
	}
}

func testListUnacked(t *testing.T, s store.Store) {
	failureFixture(t, s)
	failed := []string{string(bankhooks.KindPaymentFailed), string(bankhooks.KindRefundFailed)}
	list := func(kinds []string, since time.Time, limit int) []string {
		t.Helper()
		es, err := s.ListUnacked(ctx(t), kinds, since, limit)
		require.NoError(t, err)
		for _, e := range es {
			require.Empty(t, e.Body, "no raw body in a listing")
			requireUTC(t, "received_at", e.ReceivedAt)
		}
		return eventIDs(es)
	}
	require.Equal(t, []string{"evt_0004", "evt_0003", "evt_0002", "evt_0000"}, list(failed, base(), 0))
	require.Equal(t, []string{"evt_0004", "evt_0002", "evt_0000"}, list(failed[:1], base(), 0))
	require.Equal(t, []string{"evt_0004", "evt_0003"}, list(failed, base(), 2))
	require.Equal(t, []string{"evt_0004", "evt_0003", "evt_0002"}, list(failed, base().Add(2*time.Minute), 0), "since is inclusive")

	_, err := s.AckEvent(ctx(t), "evt_0003", "u1", "", "", base().Add(time.Hour))
	require.NoError(t, err)
	_, err = s.AckEvent(ctx(t), "evt_0001", "u1", "", "", base().Add(time.Hour)) // a success: not listed anyway
	require.NoError(t, err)
	require.Equal(t, []string{"evt_0004", "evt_0002", "evt_0000"}, list(failed, base(), 0))
	require.Equal(t, []string{}, list([]string{"dispute.opened"}, base(), 0))

	for _, tc := range []struct {
		name  string
		kinds []string
		since time.Time
		limit int
	}{
		{"no kinds", nil, base(), 0},
		{"empty kind", []string{""}, base(), 0},
		{"kind with NUL", []string{"payment.failed\x00"}, base(), 0},
		{"zero since", failed, time.Time{}, 0},
		{"negative limit", failed, base(), -1},
	} {
		_, err := s.ListUnacked(ctx(t), tc.kinds, tc.since, tc.limit)
		invalid(t, err, tc.name)
	}
}

func testRecordSlip(t *testing.T, s store.Store) {
	bangkok := time.FixedZone("ICT", 7*3600)
	r := store.SlipRecord{Reference: "014242082547BPM04988", SendingBank: "004", VerifiedByID: "u1", VerifiedByName: "สมชาย",
		ConversationID: "cidA", At: base().In(bangkok).Add(999999), MatchedEventID: "evt_0001"}
	first, reused, err := s.RecordSlip(ctx(t), r)
	require.NoError(t, err)
	require.False(t, reused)
	want := r
	want.At = base()
	require.Equal(t, want, first)
	requireUTC(t, "slip at", first.At)

	again := store.SlipRecord{Reference: r.Reference, SendingBank: r.SendingBank, VerifiedByID: "u2", ConversationID: "cidB", At: base().Add(time.Hour)}
	got, reused, err := s.RecordSlip(ctx(t), again)
	require.NoError(t, err)
	require.True(t, reused, "the same slip again")
	require.Equal(t, want, got, "the first verification is kept")
	requireUTC(t, "slip at", got.At)

	// The key is (sending bank, reference): the same reference from
	// another bank is another slip.
	other := again
	other.SendingBank = "014"
	got, reused, err = s.RecordSlip(ctx(t), other)
	require.NoError(t, err)
	require.False(t, reused)
	require.Equal(t, other, got)

	for _, tc := range []struct {
		name   string
		mutate func(r *store.SlipRecord)
	}{
		{"empty reference", func(r *store.SlipRecord) { r.Reference = "" }},
		{"empty bank", func(r *store.SlipRecord) { r.SendingBank = "" }},
		{"zero time", func(r *store.SlipRecord) { r.At = time.Time{} }},
		{"NUL in reference", func(r *store.SlipRecord) { r.Reference = "ref\x00" }},
		{"verifier not utf-8", func(r *store.SlipRecord) { r.VerifiedByName = "\xff" }},
		{"oversize reference", func(r *store.SlipRecord) { r.Reference = strings.Repeat("r", store.MaxKeyLen+1) }},
	} {
		x := r
		x.Reference = "fresh-" + tc.name
		tc.mutate(&x)
		_, _, err := s.RecordSlip(ctx(t), x)
		invalid(t, err, tc.name)
	}
}

// One slip shown in two groups at once: exactly one is its first
// verification.
func testRecordSlipConcurrent(t *testing.T, s store.Store) {
	const callers = 12
	reused := make([]bool, callers)
	firsts := make([]store.SlipRecord, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var err error
			firsts[i], reused[i], err = s.RecordSlip(ctx(t), store.SlipRecord{Reference: "REF1", SendingBank: "014",
				VerifiedByID: fmt.Sprintf("u%d", i), At: base().Add(time.Duration(i) * time.Second)})
			require.NoError(t, err)
		})
	}
	wg.Wait()
	n := 0
	for i := range callers {
		if !reused[i] {
			n++
		}
		require.Equal(t, firsts[0], firsts[i], "every caller gets the one first verification")
	}
	require.Equal(t, 1, n)
}

// A slip's reference finds its events through FindEvents.
func testFindEventsBySlipReference(t *testing.T, s store.Store) {
	e := newEvent(1)
	e.Event.Reference = "014242082547BPM04988"
	mustInsert(t, s, e)
	mustInsert(t, s, newEvent(2))
	es, err := s.FindEvents(ctx(t), store.EventSearch{Text: "014242082547BPM04988", Since: base()})
	require.NoError(t, err)
	require.Equal(t, []string{"evt_0001"}, eventIDs(es))
}
