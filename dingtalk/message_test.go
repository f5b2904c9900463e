package dingtalk

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestMessageBody(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{
			name: "markdown with missing mentions appended on their own line",
			m: Message{
				Type: MsgMarkdown, Title: "收款", Text: "#### 收款 THB 50.00",
				AtMobiles: []string{"13800001111"}, AtUserIDs: []string{"user1"},
			},
			want: `{"msgtype":"markdown","markdown":{"title":"收款","text":"#### 收款 THB 50.00\n\n@13800001111 @user1"},"at":{"atMobiles":["13800001111"],"atUserIds":["user1"],"isAtAll":false}}`,
		},
		{
			name: "text with mention already present is not repeated",
			m:    Message{Type: MsgText, Text: "hi @13800001111 look", AtMobiles: []string{"13800001111"}},
			want: `{"msgtype":"text","text":{"content":"hi @13800001111 look"},"at":{"atMobiles":["13800001111"],"isAtAll":false}}`,
		},
		{
			name: "a longer number is not a mention of a prefix of it",
			m:    Message{Type: MsgText, Text: "call @1380000111122", AtMobiles: []string{"13800001111"}},
			want: `{"msgtype":"text","text":{"content":"call @1380000111122\n@13800001111"},"at":{"atMobiles":["13800001111"],"isAtAll":false}}`,
		},
		{
			name: "empty and duplicate mentions dropped, uuid and at-all kept",
			m: Message{
				Type: MsgText, Text: "x\n", AtMobiles: []string{" +852-12345678 ", "", "+852-12345678"},
				AtAll: true, UUID: "evt_1",
			},
			want: `{"msgtype":"text","text":{"content":"x\n@+852-12345678"},"at":{"atMobiles":["+852-12345678"],"isAtAll":true},"msgUuid":"evt_1"}`,
		},
		{
			name: "html is not escaped",
			m:    Message{Type: MsgMarkdown, Title: "a & b", Text: `<font color=#ff0000>失败</font> & "q"`},
			want: `{"msgtype":"markdown","markdown":{"title":"a & b","text":"<font color=#ff0000>失败</font> & \"q\""},"at":{"isAtAll":false}}`,
		},
		{
			name: "markdown title derived from the first line",
			m:    Message{Type: MsgMarkdown, Text: "\n### ได้รับเงิน THB 50.00\nbody"},
			want: `{"msgtype":"markdown","markdown":{"title":"ได้รับเงิน THB 50.00","text":"\n### ได้รับเงิน THB 50.00\nbody"},"at":{"isAtAll":false}}`,
		},
		{
			name: "mentions only",
			m:    Message{Type: MsgText, AtUserIDs: []string{"manager7675"}},
			want: `{"msgtype":"text","text":{"content":"@manager7675"},"at":{"atUserIds":["manager7675"],"isAtAll":false}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.m.Body()
			require.NoError(t, err)
			require.Equal(t, tc.want, string(b))
			require.True(t, json.Valid(b))
		})
	}
}

func TestMessageBody_Invalid(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want error
	}{
		{name: "no type", m: Message{Text: "x"}, want: ErrUnsupportedType},
		{name: "link", m: Message{Type: "link", Text: "x"}, want: ErrUnsupportedType},
		{name: "empty text", m: Message{Type: MsgText}, want: ErrEmptyMessage},
		{name: "blank markdown", m: Message{Type: MsgMarkdown, Title: "t", Text: " \n "}, want: ErrEmptyMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.m.Body()
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func bodyLen(t *testing.T, m Message) int {
	t.Helper()
	b, err := m.Body()
	require.NoError(t, err)
	return len(b)
}

// checkFitted asserts the invariants of a truncated message.
func checkFitted(t *testing.T, orig, got Message, max int) {
	t.Helper()
	require.LessOrEqual(t, bodyLen(t, got), max)
	require.True(t, utf8.ValidString(got.Text))
	require.True(t, strings.HasSuffix(got.Text, TruncatedMarker))
	kept := strings.TrimSuffix(got.Text, TruncatedMarker)
	require.True(t, strings.HasPrefix(orig.Text, kept), "the kept text is a prefix of the original")
	if rest := orig.Text[len(kept):]; rest != "" {
		r, _ := utf8.DecodeRuneInString(rest)
		require.False(t, unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc), "cut between a character and its mark %q", r)
	}
	full := got.FullText()
	for _, x := range cleanMentions(orig.AtMobiles) {
		require.True(t, containsMention(full, x), "mention %s kept", x)
	}
	for _, x := range cleanMentions(orig.AtUserIDs) {
		require.True(t, containsMention(full, x), "mention %s kept", x)
	}
}

func TestFit(t *testing.T) {
	thai := strings.Repeat("ได้รับเงินโอนจากธนาคารกสิกรไทย จำนวน ๕๐.๐๐ บาท ", 300) // ~3 bytes per rune, with marks
	chinese := strings.Repeat("收到付款金额人民币五十元整", 700)                                // 3 bytes per rune, no spaces or newlines
	lines := strings.Repeat("| 2026-01-02 | chrg_0001 | THB 1,234,567.89 |\n", 600)

	tests := []struct {
		name string
		m    Message
		max  int
	}{
		{name: "thai markdown with mention", max: MaxBodyBytes, m: Message{Type: MsgMarkdown, Title: "รับเงิน", Text: thai, AtMobiles: []string{"0812345678"}}},
		{name: "chinese text with user mention", max: MaxBodyBytes, m: Message{Type: MsgText, Text: chinese, AtUserIDs: []string{"manager7675"}}},
		{name: "chinese small limit", max: 301, m: Message{Type: MsgText, Text: chinese}},
		{name: "lines cut at a line end", max: 5000, m: Message{Type: MsgMarkdown, Title: "t", Text: lines}},
		{name: "json escapes count", max: 1000, m: Message{Type: MsgText, Text: strings.Repeat("\"\\\n\x01", 2000)}},
		{name: "inline mention cut off is re-appended", max: 500, m: Message{Type: MsgText, Text: strings.Repeat("x", 2000) + " @13800001111 " + strings.Repeat("y", 200), AtMobiles: []string{"13800001111"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Greater(t, bodyLen(t, tc.m), tc.max, "precondition: the message is too big")
			got, truncated := Fit(tc.m, tc.max)
			require.True(t, truncated)
			checkFitted(t, tc.m, got, tc.max)
			// The cut keeps most of what fits: at most a line's worth is lost.
			require.Greater(t, bodyLen(t, got), tc.max-600)
		})
	}
}

func TestFit_LineBoundary(t *testing.T) {
	line := "| 2026-01-02 | chrg_0001 | THB 1,234,567.89 |\n"
	m := Message{Type: MsgMarkdown, Title: "t", Text: strings.Repeat(line, 600)}
	got, truncated := Fit(m, 5000)
	require.True(t, truncated)
	kept := strings.TrimSuffix(got.Text, TruncatedMarker)
	require.True(t, strings.HasSuffix(kept, "\n"), "cut at the end of a line, not inside an amount")
	require.Zero(t, len(kept)%len(line))
}

func TestFit_ExactlyAtLimit(t *testing.T) {
	m := Message{Type: MsgMarkdown, Title: "ยอดเงิน", Text: strings.Repeat("ยอดรวม 收款 ", 1000), AtMobiles: []string{"13800001111"}}
	n := bodyLen(t, m)

	got, truncated := Fit(m, n)
	require.False(t, truncated, "a body of exactly max bytes is sent as is")
	require.Equal(t, m, got)

	got, truncated = Fit(m, n-1)
	require.True(t, truncated, "one byte over is truncated")
	checkFitted(t, m, got, n-1)
}

func TestFit_EveryLimitNearTheSize(t *testing.T) {
	m := Message{Type: MsgText, Text: strings.Repeat("ก่ี้収", 120), AtUserIDs: []string{"u1"}}
	n := bodyLen(t, m)
	for max := n - 1; max > n-200; max-- {
		got, truncated := Fit(m, max)
		require.True(t, truncated)
		checkFitted(t, m, got, max)
	}
}

func TestFit_CannotFit(t *testing.T) {
	m := Message{Type: MsgMarkdown, Title: strings.Repeat("t", 300), Text: "body"}
	got, truncated := Fit(m, 100)
	require.True(t, truncated)
	require.Greater(t, bodyLen(t, got), 100, "title alone is over the limit; the caller must refuse it")
}

func TestFit_InvalidMessageUnchanged(t *testing.T) {
	m := Message{Type: "feedCard", Text: strings.Repeat("x", 100)}
	got, truncated := Fit(m, 10)
	require.False(t, truncated)
	require.Equal(t, m, got)
}

func FuzzFit(f *testing.F) {
	f.Add("hello world", "title", "13800001111", 40, true)
	f.Add(strings.Repeat("ได้รับเงิน ", 50), "", "", 200, false)
	f.Add(strings.Repeat("收款\n", 50), "t", "u1", 150, true)
	f.Add("a\u0301\u0301\u0301b", "t", "", 60, false)
	f.Fuzz(func(t *testing.T, text, title, mention string, max int, markdown bool) {
		if !utf8.ValidString(text) || max < 0 || max > 4000 {
			return
		}
		m := Message{Type: MsgText, Title: title, Text: text}
		if markdown {
			m.Type = MsgMarkdown
		}
		if mention != "" {
			m.AtMobiles = []string{mention}
		}
		orig, err := m.Body()
		got, truncated := Fit(m, max)
		if err != nil {
			require.False(t, truncated)
			return
		}
		if len(orig) <= max {
			require.False(t, truncated)
			require.Equal(t, m, got)
			return
		}
		require.True(t, truncated)
		kept := strings.TrimSuffix(got.Text, TruncatedMarker)
		require.True(t, strings.HasPrefix(text, kept))
		require.True(t, utf8.ValidString(got.Text))
		b, err := got.Body()
		require.NoError(t, err)
		if len(b) > max {
			// Only allowed when even an empty text does not fit.
			c := m
			c.Text = TruncatedMarker
			require.Greater(t, bodyLen(t, c), max)
		}
	})
}

func FuzzBody(f *testing.F) {
	f.Add("hi", "t", "138", "u", true)
	f.Add("<a>&\"\\\n\x00", "", "", "", false)
	f.Add("@138 x", "", "138", "", false)
	f.Fuzz(func(t *testing.T, text, title, mobile, user string, markdown bool) {
		m := Message{Type: MsgText, Title: title, Text: text, AtMobiles: []string{mobile}, AtUserIDs: []string{user}}
		if markdown {
			m.Type = MsgMarkdown
		}
		b, err := m.Body()
		if err != nil {
			require.ErrorIs(t, err, ErrEmptyMessage)
			return
		}
		var w wireBody
		require.NoError(t, json.Unmarshal(b, &w))
		require.Equal(t, m.Type, w.MsgType)
		got := ""
		if markdown {
			got = w.Markdown.Text
			require.NotEmpty(t, w.Markdown.Title)
		} else {
			got = w.Text.Content
		}
		if utf8.ValidString(m.FullText()) {
			require.Equal(t, m.FullText(), got)
		}
		for _, x := range cleanMentions(m.AtMobiles) {
			require.True(t, containsMention(got, x) || !utf8.ValidString(x))
		}
	})
}
