package chatops

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name, in, cmd, arg string
	}{
		{"empty is help", "", CmdHelp, ""},
		{"only spaces", "   \n ", CmdHelp, ""},
		{"leading space as DingTalk sends", " today", CmdToday, ""},
		{"case-insensitive", "TODAY", CmdToday, ""},
		{"mention left in", "@bankbot find chrg_123", CmdFind, "chrg_123"},
		{"two mentions", "@bankbot @ops  status", CmdStatus, ""},
		{"full-width at", "＠bankbot help", CmdHelp, ""},
		{"slash", "/find 1,250.50", CmdFind, "1,250.50"},
		{"thai today", "วันนี้", CmdToday, ""},
		{"thai find", "ค้นหา 7890", CmdFind, "7890"},
		{"thai status", "สถานะ", CmdStatus, ""},
		{"thai help", "ช่วย", CmdHelp, ""},
		{"chinese find", "查找 chrg_1", CmdFind, "chrg_1"},
		{"indonesian today", "hari ini", CmdToday, ""},
		{"hari alone is unknown", "hari esok", CmdUnknown, "esok"},
		{"summary with date", "summary 2026-11-20", CmdSummary, "2026-11-20"},
		{"ack keeps note spacing", "ack ev_1  paid by  cash", CmdAck, "ev_1  paid by  cash"},
		{"newline as space", "verify\n0046000600000101030", CmdVerify, "0046000600000101030"},
		{"zero-width joiner is space", "find\u200bchrg_1", CmdFind, "chrg_1"},
		{"unknown word", "coffee please", CmdUnknown, "please"},
		{"mention only", "@bankbot", CmdHelp, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ParseCommand(tc.in)
			require.Equal(t, tc.cmd, c.Name)
			require.Equal(t, tc.arg, c.Arg)
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "today", "@bankbot find 1,250.50", "ค้นหา ๗๘๙๐", "hari ini", "ack ev_1 note", "\xff\xfe", "＠x\u200b状态", "verify " + strings.Repeat("0", 5000)} {
		f.Add(s)
	}
	known := map[string]bool{}
	for _, n := range aliases {
		known[n] = true
	}
	known[CmdUnknown] = true
	f.Fuzz(func(t *testing.T, in string) {
		c := ParseCommand(in)
		require.True(t, known[c.Name], "name %q", c.Name)
		require.True(t, utf8.ValidString(c.Arg) && utf8.ValidString(c.Word))
		require.LessOrEqual(t, len(c.Arg), MaxCommandBytes+3*MaxCommandBytes) // replacement runes may grow it
		require.Equal(t, strings.TrimSpace(c.Arg), c.Arg)
		if c.Name == CmdHelp && c.Word == "" {
			require.Empty(t, c.Arg)
		}
		require.Equal(t, c, ParseCommand(c.Word+" "+c.Arg), "parsing is stable")
		a := AuditCommand(c)
		require.LessOrEqual(t, utf8.RuneCountInString(a), maxAuditRunes+1)
	})
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	l := &Limiter{Limit: 3, Window: time.Minute, Now: func() time.Time { return now }}
	var got []Verdict
	for range 6 {
		got = append(got, l.Check("u1"))
	}
	require.Equal(t, []Verdict{Allow, Allow, Allow, SlowDown, Silent, Silent}, got)
	require.Equal(t, Allow, l.Check("u2"), "each sender has a window of their own")
	now = now.Add(59 * time.Second)
	require.Equal(t, Silent, l.Check("u1"))
	now = now.Add(time.Second)
	require.Equal(t, Allow, l.Check("u1"), "the window passed")
	now = now.Add(2 * time.Minute)
	l.Check("u3")
	l.mu.Lock()
	require.Len(t, l.senders, 1, "passed windows are pruned")
	l.mu.Unlock()
}

func TestPolicy(t *testing.T) {
	p := Policy{AllowedConversations: []string{"cidOK"}, AllowedStaff: []string{"staff1"}, AdminStaff: []string{"boss"}}
	open := Policy{AllowedConversations: []string{"cidOK"}}
	msg := func(conv, staff string, admin bool) Message {
		return Message{ConversationID: conv, SenderStaffID: staff, IsAdmin: admin}
	}
	tests := []struct {
		name string
		p    Policy
		m    Message
		cmd  string
		ok   bool
	}{
		{"help anywhere", p, msg("cidOther", "", false), CmdHelp, true},
		{"amounts in allowed group", p, msg("cidOK", "x", false), CmdToday, true},
		{"no amounts elsewhere", p, msg("cidOther", "staff1", false), CmdFind, false},
		{"status for allowed staff anywhere", p, msg("cidOther", "staff1", false), CmdStatus, true},
		{"status not for others in allowed group", p, msg("cidOK", "x", false), CmdStatus, false},
		{"empty allowed_staff: anyone in allowed group", open, msg("cidOK", "", false), CmdAck, true},
		{"empty allowed_staff: not outside", open, msg("cidOther", "x", false), CmdAck, false},
		{"group admin of allowed group", p, msg("cidOK", "x", true), CmdRetry, true},
		{"group admin of another group", p, msg("cidOther", "x", true), CmdRetry, false},
		{"admin_staff anywhere", p, msg("cidOther", "boss", false), CmdRetry, true},
		{"admin is an allowed sender", p, msg("cidOther", "boss", false), CmdStatus, true},
		{"staff is not admin", p, msg("cidOK", "staff1", false), CmdRetry, false},
		{"unknown name never", p, msg("cidOK", "boss", true), "rm", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, _ := tc.p.May(tc.m, tc.cmd)
			require.Equal(t, tc.ok, ok)
		})
	}
}

func TestSplit(t *testing.T) {
	fits := func(n int) func(string) bool { return func(s string) bool { return len(s) <= n } }
	tests := []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"fits", "a\nb", 10, []string{"a\nb"}},
		{"at lines", "aaaa\nbbbb\ncccc", 10, []string{"aaaa\nbbbb", "cccc"}},
		{"long line cut on runes", "วันนี้วันนี้", 7, []string{"วั", "นน", "ี้", "วั", "นน", "ี้"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.text, fits(tc.max))
			for _, p := range got {
				require.True(t, utf8.ValidString(p))
				require.LessOrEqual(t, len(p), tc.max)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestAuditCommand_MasksLongDigits(t *testing.T) {
	tests := []struct{ in, want string }{
		{"find 123-4-56789-0", "find ••••7890"},
		{"find 7890", "find 7890"},
		{"find 1,250.50", "find 1,250.50"},
		{"verify 0046000600000101030060", "verify ••••0060"},
		{"ค้นหา 4111 1111 1111 1111", "find (ค้นหา) ••••1111"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, AuditCommand(ParseCommand(tc.in)))
		})
	}
}
