package dingtalk_test

import (
	"context"
	"strings"
	"testing"

	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// sizerMessages are messages of every shape MessageSize must measure exactly.
var sizerMessages = []struct {
	name string
	m    dingtalk.Message
}{
	{"markdown", dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "Payment", Text: "#### THB 50.00"}},
	{"markdown with a keyword", dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: "#### 收款 THB 50.00"}},
	{"text", dingtalk.Message{Type: dingtalk.MsgText, Text: "ได้รับเงิน THB 50.00"}},
	{"derived title", dingtalk.Message{Type: dingtalk.MsgMarkdown, Text: "### ได้รับเงิน THB 50.00\nbody"}},
	{"mentions appended", dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: "x", AtMobiles: []string{"13800001111", " 13800001111"}, AtUserIDs: []string{"u1"}, AtAll: true}},
	{"mention already in the text", dingtalk.Message{Type: dingtalk.MsgText, Text: "hi @13800001111", AtMobiles: []string{"13800001111"}}},
	{"mentions only", dingtalk.Message{Type: dingtalk.MsgText, AtUserIDs: []string{"manager7675"}}},
	{"msgUuid and escapes", dingtalk.Message{Type: dingtalk.MsgText, Text: "<b>\"q\"</b> & \\ \n\t\x01", UUID: "evt_123"}},
}

func TestSizer_RobotMatchesTheWire(t *testing.T) {
	for _, kws := range [][]string{nil, keywords} {
		for _, tc := range sizerMessages {
			t.Run(tc.name+" keywords="+strings.Join(kws, ","), func(t *testing.T) {
				f := newFixture(t, dingtalktest.Options{Keywords: kws}, dingtalk.RobotConfig{Keywords: kws})
				n, err := f.robot.MessageSize(tc.m)
				require.NoError(t, err)
				require.NoError(t, f.robot.Send(context.Background(), tc.m))
				got := f.fake.Messages()
				require.Len(t, got, 1)
				require.Equal(t, len(got[0].Raw), n)
			})
		}
	}
}

func TestSizer_AppRobotMatchesTheWire(t *testing.T) {
	for _, kws := range [][]string{nil, keywords} {
		for _, tc := range sizerMessages {
			t.Run(tc.name+" keywords="+strings.Join(kws, ","), func(t *testing.T) {
				f := newAppFake(t)
				a, err := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{
					AppKey: appKey, AppSecret: appSecret, RobotCode: "r", ConversationID: "c", APIBase: f.srv.URL, Keywords: kws,
				})
				require.NoError(t, err)
				n, err := a.MessageSize(tc.m)
				require.NoError(t, err)
				require.NoError(t, a.Send(context.Background(), tc.m))
				_, sends := f.calls()
				require.Len(t, sends, 1)
				require.Equal(t, len(sends[0].MsgParam), n)
			})
		}
	}
}

func TestSizer_ConsoleMatchesItsBody(t *testing.T) {
	for _, tc := range sizerMessages {
		t.Run(tc.name, func(t *testing.T) {
			logger, hook := logtest.NewNullLogger()
			c := dingtalk.Console{Log: logger, Keywords: keywords}
			n, err := c.MessageSize(tc.m)
			require.NoError(t, err)
			require.NoError(t, c.Send(context.Background(), tc.m))
			require.Equal(t, n, hook.LastEntry().Data["body_bytes"])
		})
	}
}

// TestSizer_ExactlyAtTheLimit builds a message whose MessageSize is exactly
// the limit: it is sent whole, one byte more is truncated.
func TestSizer_ExactlyAtTheLimit(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{Keywords: keywords}, dingtalk.RobotConfig{Keywords: keywords})
	var s dingtalk.Sizer = f.robot
	require.Equal(t, dingtalk.MaxBodyBytes, s.MaxMessageSize())
	m := dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: "THB", AtMobiles: []string{"13800001111"}, UUID: "evt_1"}
	n, err := s.MessageSize(m)
	require.NoError(t, err)
	m.Text += strings.Repeat("x", s.MaxMessageSize()-n)
	n, err = s.MessageSize(m)
	require.NoError(t, err)
	require.Equal(t, s.MaxMessageSize(), n)

	require.NoError(t, f.robot.Send(context.Background(), m))
	got := f.fake.Messages()
	require.Len(t, got[0].Raw, dingtalk.MaxBodyBytes)
	require.NotContains(t, got[0].Text, dingtalk.TruncatedMarker)

	m.Text += "y"
	n, err = s.MessageSize(m)
	require.NoError(t, err)
	require.Equal(t, s.MaxMessageSize()+1, n, "MessageSize does not truncate")
	require.NoError(t, f.robot.Send(context.Background(), m))
	got = f.fake.Messages()
	require.LessOrEqual(t, len(got[1].Raw), dingtalk.MaxBodyBytes)
	require.Contains(t, got[1].Text, dingtalk.TruncatedMarker)
}

func TestSizer_Limits(t *testing.T) {
	r, err := dingtalk.NewRobot(dingtalk.RobotConfig{Webhook: "https://oapi.dingtalk.com/robot/send?access_token=" + testToken})
	require.NoError(t, err)
	a, err := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{AppKey: "k", AppSecret: appSecret, RobotCode: "r", ConversationID: "c"})
	require.NoError(t, err)
	tests := []struct {
		name string
		s    dingtalk.Sizer
		want int
	}{
		{"robot", r, 20000},
		{"app robot", a, 15000},
		{"console", dingtalk.Console{}, 20000},
		{"console pointer", &dingtalk.Console{}, 20000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.s.MaxMessageSize())
			_, err := tc.s.MessageSize(dingtalk.Message{Type: dingtalk.MsgText})
			require.ErrorIs(t, err, dingtalk.ErrEmptyMessage)
			_, err = tc.s.MessageSize(dingtalk.Message{Type: "link", Text: "x"})
			require.ErrorIs(t, err, dingtalk.ErrUnsupportedType)
		})
	}
}
