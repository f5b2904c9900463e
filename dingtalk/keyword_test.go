package dingtalk

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestWithKeyword(t *testing.T) {
	kw := []string{"bankbot", "收款"}
	tests := []struct {
		name     string
		m        Message
		keywords []string
		want     string // FullText of the result
	}{
		{name: "no keywords", m: Message{Type: MsgText, Text: "hi"}, want: "hi"},
		{name: "first keyword present", m: Message{Type: MsgText, Text: "from bankbot"}, keywords: kw, want: "from bankbot"},
		{name: "second keyword present", m: Message{Type: MsgMarkdown, Text: "#### 收款 THB 50"}, keywords: kw, want: "#### 收款 THB 50"},
		{name: "markdown: a paragraph of its own", m: Message{Type: MsgMarkdown, Text: "THB 50"}, keywords: kw, want: "THB 50\n\nbankbot"},
		{name: "markdown ending in a newline", m: Message{Type: MsgMarkdown, Text: "THB 50\n"}, keywords: kw, want: "THB 50\n\nbankbot"},
		{name: "text: a line of its own", m: Message{Type: MsgText, Text: "THB 50"}, keywords: kw, want: "THB 50\nbankbot"},
		{name: "text ending in a newline", m: Message{Type: MsgText, Text: "THB 50\n"}, keywords: kw, want: "THB 50\nbankbot"},
		{name: "a keyword in the title only does not count", m: Message{Type: MsgMarkdown, Title: "bankbot", Text: "THB 50"}, keywords: kw, want: "THB 50\n\nbankbot"},
		{
			name: "keyword line before the mentions", keywords: kw,
			m:    Message{Type: MsgMarkdown, Text: "THB 50", AtMobiles: []string{"13800001111"}},
			want: "THB 50\n\nbankbot\n\n@13800001111",
		},
		{name: "mentions only", m: Message{Type: MsgText, AtUserIDs: []string{"u1"}}, keywords: kw, want: "bankbot\n@u1"},
		{name: "blank keywords ignored", m: Message{Type: MsgText, Text: "x"}, keywords: []string{"", " ", "kw"}, want: "x\nkw"},
		{name: "only blank keywords", m: Message{Type: MsgText, Text: "x"}, keywords: []string{""}, want: "x"},
		{name: "case matters", m: Message{Type: MsgText, Text: "BANKBOT"}, keywords: kw, want: "BANKBOT\nbankbot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := withKeyword(tc.m, tc.keywords)
			require.NoError(t, err)
			require.Equal(t, tc.want, got.FullText())
			again, err := withKeyword(got, tc.keywords)
			require.NoError(t, err)
			require.Equal(t, got, again, "idempotent")
		})
	}
}

func TestWithKeyword_InvalidMessage(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want error
	}{
		{name: "empty message does not become a bare keyword", m: Message{Type: MsgText}, want: ErrEmptyMessage},
		{name: "blank markdown", m: Message{Type: MsgMarkdown, Title: "t", Text: " \n"}, want: ErrEmptyMessage},
		{name: "unsupported type", m: Message{Type: "link", Text: "x"}, want: ErrUnsupportedType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := withKeyword(tc.m, []string{"bankbot"})
			require.ErrorIs(t, err, tc.want)
			s := shape{keywords: []string{"bankbot"}, size: bodySize, max: MaxBodyBytes}
			_, err = s.sizeOf(tc.m)
			require.ErrorIs(t, err, tc.want)
			_, _, err = s.prepare(tc.m)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestCheckKeywords(t *testing.T) {
	tests := []struct {
		name     string
		keywords []string
		ok       bool
	}{
		{name: "none", ok: true},
		{name: "ten", keywords: strings.Split("a,b,c,d,e,f,g,h,i,j", ","), ok: true},
		{name: "eleven", keywords: strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")},
		{name: "blank", keywords: []string{"a", " "}},
		{name: "empty", keywords: []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkKeywords(tc.keywords)
			if tc.ok {
				require.NoError(t, err)
				require.Equal(t, len(tc.keywords), len(got))
				return
			}
			require.ErrorIs(t, err, ErrConfig)
		})
	}
}

// TestPrepare_KeywordSurvivesTruncation: the cut leaves room for the keyword,
// including when the text's only keyword is in the part that is cut off.
func TestPrepare_KeywordSurvivesTruncation(t *testing.T) {
	long := strings.Repeat("ได้รับเงินโอน 收到 THB 1,234.56\n", 2000)
	tests := []struct {
		name     string
		m        Message
		keywords []string
		size     func(Message) (int, error)
		max      int
	}{
		{name: "custom robot markdown", m: Message{Type: MsgMarkdown, Title: "t", Text: long}, keywords: []string{"bankbot"}, size: bodySize, max: MaxBodyBytes},
		{name: "keyword only at the end is cut and re-added", m: Message{Type: MsgText, Text: long + "bankbot"}, keywords: []string{"bankbot"}, size: bodySize, max: MaxBodyBytes},
		{name: "with mentions", m: Message{Type: MsgMarkdown, Text: long, AtMobiles: []string{"13800001111"}, AtUserIDs: []string{"manager7675"}}, keywords: []string{"告警", "bankbot"}, size: bodySize, max: MaxBodyBytes},
		{name: "app robot msgParam", m: Message{Type: MsgMarkdown, Title: "t", Text: long}, keywords: []string{"bankbot"}, size: appParamSize, max: MaxAppParamBytes},
		{name: "long keyword, small limit", m: Message{Type: MsgText, Text: long}, keywords: []string{strings.Repeat("关键词", 20)}, size: bodySize, max: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := shape{keywords: tc.keywords, size: tc.size, max: tc.max}
			n, err := s.sizeOf(tc.m)
			require.NoError(t, err)
			require.Greater(t, n, tc.max, "precondition: the message is too big")

			sent, truncated, err := s.prepare(tc.m)
			require.NoError(t, err)
			require.True(t, truncated)
			got, err := tc.size(sent)
			require.NoError(t, err)
			require.LessOrEqual(t, got, tc.max)
			require.Greater(t, got, tc.max-600, "the cut keeps most of what fits")
			require.True(t, containsAny(sent.FullText(), tc.keywords), "keyword kept: %q", tail(sent.FullText()))
			require.Contains(t, sent.Text, TruncatedMarker+lineSep(sent.Type, TruncatedMarker)+tc.keywords[0],
				"the keyword is the line after the marker")
			require.True(t, utf8.ValidString(sent.Text))
			for _, x := range append(cleanMentions(tc.m.AtMobiles), cleanMentions(tc.m.AtUserIDs)...) {
				require.True(t, containsMention(sent.FullText(), x))
			}
		})
	}
}

// TestPrepare_EveryLimitNearTheSize checks the invariants for every limit just
// under the size of a message that needs its keyword appended.
func TestPrepare_EveryLimitNearTheSize(t *testing.T) {
	m := Message{Type: MsgText, Text: strings.Repeat("ก่ี้収", 120), AtUserIDs: []string{"u1"}}
	s := shape{keywords: []string{"bankbot"}, size: bodySize}
	n, err := s.sizeOf(m)
	require.NoError(t, err)
	for s.max = n - 1; s.max > n-200; s.max-- {
		sent, truncated, err := s.prepare(m)
		require.NoError(t, err)
		require.True(t, truncated)
		require.LessOrEqual(t, bodyLen(t, sent), s.max)
		require.Contains(t, sent.FullText(), "bankbot")
		require.True(t, containsMention(sent.FullText(), "u1"))
	}
}

func FuzzPrepare(f *testing.F) {
	f.Add("hello world", "bankbot", "13800001111", 80, true)
	f.Add(strings.Repeat("ได้รับเงิน ", 50), "收款", "", 200, false)
	f.Add(strings.Repeat("收款\n", 50)+"kw", "kw", "u1", 150, true)
	f.Fuzz(func(t *testing.T, text, keyword, mention string, max int, markdown bool) {
		if !utf8.ValidString(text) || !utf8.ValidString(keyword) || strings.TrimSpace(keyword) == "" || max < 0 || max > 4000 {
			return
		}
		m := Message{Type: MsgText, Text: text}
		if markdown {
			m.Type = MsgMarkdown
		}
		if mention != "" {
			m.AtMobiles = []string{mention}
		}
		s := shape{keywords: []string{keyword}, size: bodySize, max: max}
		sent, _, err := s.prepare(m)
		if err != nil {
			_, berr := m.Body()
			require.Error(t, berr, "prepare fails only on an invalid message")
			return
		}
		require.Contains(t, sent.FullText(), keyword)
		if bodyLen(t, sent) > max {
			// Only allowed when even the marker and the keyword do not fit.
			c := m
			c.Text = TruncatedMarker
			n, err := s.sizeOf(c)
			require.NoError(t, err)
			require.Greater(t, n, max)
		}
	})
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func tail(s string) string {
	if len(s) > 80 {
		return s[len(s)-80:]
	}
	return s
}
