package dingtalk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk"
)

func TestConsole_LogsMessage(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	c := dingtalk.Console{Name: "preview", Log: logger}
	m := dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "收款", Text: "THB 50.00", AtMobiles: []string{"13800001111"}, UUID: "evt_1"}
	require.NoError(t, c.Send(context.Background(), m))

	require.Len(t, hook.AllEntries(), 1)
	e := hook.LastEntry()
	require.Equal(t, logrus.InfoLevel, e.Level)
	require.Equal(t, "preview", e.Data["robot"])
	require.Equal(t, "markdown", e.Data["msgtype"])
	require.Equal(t, "收款", e.Data["title"])
	require.Equal(t, "THB 50.00\n\n@13800001111", e.Data["text"])
	require.Equal(t, "evt_1", e.Data["msg_uuid"])
	require.Equal(t, false, e.Data["truncated"])
}

func TestConsole_FitsLikeARobot(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	c := dingtalk.Console{Name: "preview", Log: logger}
	require.NoError(t, c.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: strings.Repeat("收", 10000)}))
	e := hook.LastEntry()
	require.Equal(t, true, e.Data["truncated"])
	require.LessOrEqual(t, e.Data["body_bytes"], dingtalk.MaxBodyBytes)
}

func TestConsole_InvalidMessage(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	c := dingtalk.Console{Log: logger}
	err := c.Send(context.Background(), dingtalk.Message{Type: "link", Text: "x"})
	requireErr(t, err, dingtalk.ClassPermanent, dingtalk.ReasonPermanent)
	require.ErrorIs(t, err, dingtalk.ErrUnsupportedType)
	require.Empty(t, hook.AllEntries())
}

func TestConsole_NilLogDiscards(t *testing.T) {
	require.NoError(t, dingtalk.Console{}.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "x"}))
}
