package dingtalk_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

var keywords = []string{"bankbot", "收款"}

// TestRobot_Keywords sends through a fake robot secured with keywords: every
// message is accepted, with the first keyword added only where none is.
func TestRobot_Keywords(t *testing.T) {
	long := strings.Repeat("ได้รับเงินโอน THB 1,234.56\n", 3000) // ~100 KB, no keyword
	tests := []struct {
		name     string
		m        dingtalk.Message
		wantText string // "" to skip the exact check
		check    func(t *testing.T, got dingtalktest.Received)
	}{
		{
			name:     "markdown without a keyword",
			m:        dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "Payment", Text: "#### THB 50.00"},
			wantText: "#### THB 50.00\n\nbankbot",
		},
		{
			name:     "second keyword already there",
			m:        dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: "#### 收款 THB 50.00"},
			wantText: "#### 收款 THB 50.00",
		},
		{
			name:     "text message",
			m:        dingtalk.Message{Type: dingtalk.MsgText, Text: "THB 50.00"},
			wantText: "THB 50.00\nbankbot",
		},
		{
			name:     "keyword before the mentions",
			m:        dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: "THB 50.00", AtMobiles: []string{"13800001111"}},
			wantText: "THB 50.00\n\nbankbot\n\n@13800001111",
		},
		{
			name:     "a keyword in the title only",
			m:        dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "bankbot", Text: "THB 50.00"},
			wantText: "THB 50.00\n\nbankbot",
		},
		{
			name: "truncated: room is made for the keyword",
			m:    dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: long, AtUserIDs: []string{"manager7675"}},
			check: func(t *testing.T, got dingtalktest.Received) {
				require.LessOrEqual(t, len(got.Raw), dingtalk.MaxBodyBytes)
				require.Greater(t, len(got.Raw), dingtalk.MaxBodyBytes-600)
				require.True(t, strings.HasSuffix(got.Text, dingtalk.TruncatedMarker+"\n\nbankbot\n\n@manager7675"), "ends %q", got.Text[len(got.Text)-60:])
			},
		},
		{
			name: "truncated text whose only keyword was in the cut part",
			m:    dingtalk.Message{Type: dingtalk.MsgText, Text: long + "收款"},
			check: func(t *testing.T, got dingtalktest.Received) {
				require.LessOrEqual(t, len(got.Raw), dingtalk.MaxBodyBytes)
				require.True(t, strings.HasSuffix(got.Text, dingtalk.TruncatedMarker+"\nbankbot"))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, dingtalktest.Options{Keywords: keywords}, dingtalk.RobotConfig{Keywords: keywords})
			require.NoError(t, f.robot.Send(context.Background(), tc.m))
			got := f.fake.Messages()
			require.Len(t, got, 1, "the fake found a keyword")
			if tc.wantText != "" {
				require.Equal(t, tc.wantText, got[0].Text)
			}
			if tc.check != nil {
				tc.check(t, got[0])
			}
			require.Zero(t, f.fake.Count(310000))
			require.Zero(t, f.fake.Count(460101))
		})
	}
}

func TestRobot_WithoutKeywordsIsRefusedByAKeywordRobot(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{Keywords: keywords}, dingtalk.RobotConfig{})
	err := f.robot.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "THB 50.00"})
	de := requireErr(t, err, dingtalk.ClassConfig, dingtalk.ReasonConfig)
	require.Equal(t, dingtalk.CodeSecurity, de.Code)
}

func TestRobot_KeywordDoesNotRescueAnEmptyMessage(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{Keywords: keywords}, dingtalk.RobotConfig{Keywords: keywords})
	err := f.robot.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: " "})
	requireErr(t, err, dingtalk.ClassPermanent, dingtalk.ReasonPermanent)
	require.ErrorIs(t, err, dingtalk.ErrEmptyMessage)
	require.Zero(t, f.fake.Requests())
}

func TestAppRobot_Keywords(t *testing.T) {
	f := newAppFake(t)
	a, err := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{
		AppKey: appKey, AppSecret: appSecret, RobotCode: "r", ConversationID: "c",
		APIBase: f.srv.URL, Keywords: keywords,
	})
	require.NoError(t, err)
	long := strings.Repeat("ยอดรวม THB 1,234.56\n", 3000)
	require.NoError(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: "THB 50"}))
	require.NoError(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: long}))
	_, sends := f.calls()
	require.Len(t, sends, 2)
	require.JSONEq(t, `{"title":"t","text":"THB 50\n\nbankbot"}`, sends[0].MsgParam)
	require.LessOrEqual(t, len(sends[1].MsgParam), dingtalk.MaxAppParamBytes)
	var p struct{ Content string }
	require.NoError(t, json.Unmarshal([]byte(sends[1].MsgParam), &p))
	require.True(t, strings.HasSuffix(p.Content, dingtalk.TruncatedMarker+"\nbankbot"))
}

func TestConsole_Keywords(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	c := dingtalk.Console{Name: "preview", Log: logger, Keywords: keywords}
	require.NoError(t, c.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: "THB 50", AtMobiles: []string{"13800001111"}}))
	require.Equal(t, "THB 50\n\nbankbot\n\n@13800001111", hook.LastEntry().Data["text"])

	require.NoError(t, c.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: strings.Repeat("收", 10000)}))
	e := hook.LastEntry()
	require.Equal(t, true, e.Data["truncated"])
	require.LessOrEqual(t, e.Data["body_bytes"], dingtalk.MaxBodyBytes)
	require.True(t, strings.HasSuffix(e.Data["text"].(string), dingtalk.TruncatedMarker+"\nbankbot"))
}

func TestKeywordsConfig(t *testing.T) {
	eleven := strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")
	tests := []struct {
		name     string
		keywords []string
		want     string // "" means valid
	}{
		{name: "none", keywords: nil},
		{name: "ten", keywords: eleven[:10]},
		{name: "eleven", keywords: eleven, want: "at most 10 keywords"},
		{name: "blank", keywords: []string{"bankbot", "  "}, want: "keywords[1] is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, rerr := dingtalk.NewRobot(dingtalk.RobotConfig{Webhook: "https://oapi.dingtalk.com/robot/send?access_token=" + testToken, Keywords: tc.keywords})
			_, aerr := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{AppKey: "k", AppSecret: appSecret, RobotCode: "r", ConversationID: "c", Keywords: tc.keywords})
			for _, err := range []error{rerr, aerr} {
				if tc.want == "" {
					require.NoError(t, err)
					continue
				}
				require.ErrorIs(t, err, dingtalk.ErrConfig)
				require.Contains(t, err.Error(), tc.want)
			}
		})
	}
}

func TestRobot_KeywordsAreCopied(t *testing.T) {
	kws := []string{"bankbot"}
	f := newFixture(t, dingtalktest.Options{Keywords: []string{"bankbot"}}, dingtalk.RobotConfig{Keywords: kws})
	kws[0] = "changed"
	require.NoError(t, f.robot.Send(context.Background(), msg("THB 50")))
	require.Equal(t, "THB 50\n\nbankbot", f.fake.Messages()[0].Text)
}
