package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		code int
		want Class
	}{
		{0, ClassOK},
		{-1, ClassRetry},
		{410100, ClassRetry},
		{130101, ClassRetry},
		{90030, ClassRetry},
		{310000, ClassConfig},
		{400013, ClassPermanent},
		{400101, ClassPermanent},
		{400102, ClassPermanent},
		{400105, ClassPermanent},
		{400106, ClassPermanent},
		{300001, ClassPermanent},
		{300005, ClassPermanent},
		{40035, ClassPermanent},
		{43004, ClassPermanent},
		{430101, ClassPermanent},
		{430102, ClassPermanent},
		{430103, ClassPermanent},
		{430104, ClassPermanent},
		{460101, ClassPermanent},
		{101002, ClassPermanent},
		{123456, ClassRetry}, // unknown: retried within the budget (see Classify)
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			require.Equal(t, tc.want, Classify(tc.code))
		})
	}
}

func TestClassifyHTTP(t *testing.T) {
	tests := []struct {
		status int
		want   Class
	}{
		{200, ClassOK}, {204, ClassOK}, {301, ClassPermanent}, {400, ClassPermanent}, {401, ClassPermanent},
		{403, ClassPermanent}, {404, ClassPermanent}, {407, ClassConfig}, {408, ClassRetry}, {429, ClassRetry},
		{500, ClassRetry}, {502, ClassRetry}, {503, ClassRetry}, {504, ClassRetry},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			require.Equal(t, tc.want, ClassifyHTTP(tc.status))
		})
	}
}

func TestHint_SecuritySubReasons(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{
		{"keyword en", "keywords not in content, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]", "keyword"},
		{"keyword cn", "错误描述:关键词不匹配;解决方案:请联系群管理员查看此机器人的关键词，并在发送的信息中包含此关键词;", "keyword"},
		{"sign en", "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]", "SEC…"},
		{"sign cn", "description:机器人发送签名不匹配;solution:请确认签名和生成签名的时间戳必须都放在调用的网址中", "SEC…"},
		{"timestamp en", "invalid timestamp", "clock"},
		{"timestamp cn", "description:机器人发送签名过期;solution:签名生成时间和发送时间请保持在 timestampms 以内;", "clock"},
		{"ip en", "ip 1.2.3.4 not in whitelist", "IP allowlist"},
		{"ip cn", "description:ip 不在白名单中;solution:请联系对应群的管理员，设置机器人安全ip地址段", "IP allowlist"},
		{"unknown", "消息校验未通过，请查看机器人的安全设置", "security settings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, Hint(310000, tc.msg), tc.want)
			require.Equal(t, ClassConfig, Classify(310000), "errmsg never changes the class")
		})
	}
	require.Contains(t, Hint(310000, "sign not match"), "does not match the robot's 加签 setting")
	require.Contains(t, Hint(400101, ""), "access_token in robots.<name>.webhook is wrong")
	require.Empty(t, Hint(0, "ok"))
	for _, code := range []int{-1, 40035, 43004, 90030, 101002, 130101, 300001, 300005, 400013, 400101, 400102, 400105, 400106, 410100, 430101, 430102, 430103, 430104, 460101, 42} {
		require.NotEmpty(t, Hint(code, ""), "code %d", code)
	}
}

func TestErrorReasonAndRetryAfter(t *testing.T) {
	tests := []struct {
		name  string
		err   *Error
		class Class
		want  string
		after time.Duration
	}{
		{"rate limited", &Error{Code: 410100, HTTPStatus: 200, Class: Classify(410100)}, ClassRetry, ReasonRateLimited, 10 * time.Minute},
		{"legacy rate", &Error{Code: 130101, HTTPStatus: 200, Class: Classify(130101)}, ClassRetry, ReasonRateLimited, 10 * time.Minute},
		{"quota", &Error{Code: 90030, HTTPStatus: 200, Class: Classify(90030)}, ClassRetry, ReasonQuota, time.Hour},
		{"busy", &Error{Code: -1, HTTPStatus: 200, Class: Classify(-1)}, ClassRetry, ReasonServer, 0},
		{"unknown code", &Error{Code: 777, HTTPStatus: 200, Class: Classify(777)}, ClassRetry, ReasonServer, 0},
		{"security", &Error{Code: 310000, HTTPStatus: 200, Class: Classify(310000)}, ClassConfig, ReasonConfig, 0},
		{"too long", &Error{Code: 460101, HTTPStatus: 200, Class: Classify(460101)}, ClassPermanent, ReasonTooLarge, 0},
		{"moderation", &Error{Code: 430102, HTTPStatus: 200, Class: Classify(430102)}, ClassPermanent, ReasonContent, 0},
		{"dissolved", &Error{Code: 400013, HTTPStatus: 200, Class: Classify(400013)}, ClassPermanent, ReasonPermanent, 0},
		{"http 429", &Error{HTTPStatus: 429, Class: ClassifyHTTP(429)}, ClassRetry, ReasonRateLimited, time.Minute},
		{"http 502", &Error{HTTPStatus: 502, Class: ClassifyHTTP(502)}, ClassRetry, ReasonServer, 0},
		{"http 404", &Error{HTTPStatus: 404, Class: ClassifyHTTP(404)}, ClassPermanent, ReasonPermanent, 0},
		{"network", &Error{Class: ClassRetry, Err: errors.New("connection refused")}, ClassRetry, ReasonNetwork, 0},
		{"timeout", &Error{Class: ClassRetry, Err: fmt.Errorf("x: %w", context.DeadlineExceeded)}, ClassRetry, ReasonTimeout, 0},
		{"bad response", &Error{HTTPStatus: 200, Class: ClassRetry, Err: ErrBadResponse}, ClassRetry, ReasonServer, 0},
		{"too large locally", &Error{Class: ClassPermanent, Err: ErrTooLarge}, ClassPermanent, ReasonTooLarge, 0},
		{"app throttled", &Error{HTTPStatus: 403, APICode: "Forbidden.AccessDenied.QpsLimitForApi", Class: classifyApp(403, "Forbidden.AccessDenied.QpsLimitForApi")}, ClassRetry, ReasonRateLimited, time.Minute},
		{"app token", &Error{HTTPStatus: 400, APICode: "InvalidAuthentication", Class: classifyApp(400, "InvalidAuthentication")}, ClassConfig, ReasonConfig, 0},
		{"app 401", &Error{HTTPStatus: 401, Class: classifyApp(401, "")}, ClassConfig, ReasonConfig, 0},
		{"app bad param", &Error{HTTPStatus: 400, APICode: "invalidParameter.msgParam.invalid", Class: classifyApp(400, "invalidParameter.msgParam.invalid")}, ClassPermanent, ReasonPermanent, 0},
		{"app 500", &Error{HTTPStatus: 500, Class: classifyApp(500, "")}, ClassRetry, ReasonServer, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.class, tc.err.Class)
			require.Equal(t, tc.want, tc.err.Reason())
			require.Equal(t, tc.after, tc.err.RetryAfter())
			require.Equal(t, tc.class == ClassRetry, tc.err.Retryable())
			require.NotEmpty(t, tc.err.Error())
		})
	}
	var nilErr *Error
	require.Equal(t, ReasonOK, nilErr.Reason())
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name        string
		err         *Error
		error, stat string
	}{
		{"errcode", &Error{Code: 310000, Msg: "sign not match", HTTPStatus: 200, Class: ClassConfig},
			"dingtalk: errcode 310000: sign not match", "errcode 310000: sign not match"},
		{"errcode with http status", &Error{Code: -1, Msg: "busy", HTTPStatus: 503, Class: ClassRetry},
			"dingtalk: errcode -1 (http 503): busy", "errcode -1 (HTTP 503): busy"},
		{"http 500 is never errcode 0", &Error{HTTPStatus: 500, Class: ClassRetry},
			"dingtalk: http 500", "HTTP 500"},
		{"http 500 with a body", &Error{HTTPStatus: 500, Msg: "<html>oops</html>", Class: ClassRetry},
			"dingtalk: http 500: <html>oops</html>", "HTTP 500: <html>oops</html>"},
		{"app code", &Error{HTTPStatus: 400, APICode: "invalidParameter.robotCode", Msg: "bad", Class: ClassPermanent},
			"dingtalk: http 400 code invalidParameter.robotCode: bad", "HTTP 400, code invalidParameter.robotCode: bad"},
		{"network", &Error{Class: ClassRetry, Err: errors.New("connection refused")},
			"dingtalk: send failed: connection refused", "cannot reach DingTalk: connection refused"},
		{"timeout", &Error{Class: ClassRetry, Err: fmt.Errorf("post: %w", context.DeadlineExceeded)},
			"dingtalk: send failed: post: context deadline exceeded", "no answer from DingTalk in time: post: context deadline exceeded"},
		{"bad response", &Error{HTTPStatus: 200, Class: ClassRetry, Err: ErrBadResponse},
			"dingtalk: send failed: unreadable dingtalk response", "DingTalk's answer could not be read: unreadable dingtalk response"},
		{"local", &Error{Class: ClassPermanent, Err: ErrTooLarge},
			"dingtalk: not sent: message too large for dingtalk", "not sent: message too large for dingtalk"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.error, tc.err.Error())
			require.Equal(t, tc.stat, tc.err.Status())
			for _, s := range []string{tc.err.Error(), tc.err.Status()} {
				require.NotContains(t, s, "errcode 0")
				require.NotContains(t, s, "[", "no internal class/reason tags")
				require.NotContains(t, s, "hint")
			}
		})
	}
	inner := errors.New("boom")
	e := &Error{Class: ClassRetry, Err: inner}
	require.ErrorIs(t, e, inner)
}

func TestHintFor_NamesTheRobot(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"sign", HintFor("finance-th", 310000, "sign not match"),
			"the robot's secret (SEC…) does not match the robot's 加签 setting, or the server clock is off by more than 1 hour; copy robots.finance-th.secret again"},
		{"token", HintFor("finance-th", 400101, ""),
			"the access_token in robots.finance-th.webhook is wrong; copy the webhook URL again from the robot's settings"},
		{"rate", HintFor("ops", 410100, ""),
			"the robot sent more than 20 messages in a minute and is blocked for 10 minutes; lower robots.ops.rate_per_minute or route fewer events to it"},
		{"no robot keeps the placeholder", HintFor("", 400101, ""), Hint(400101, "")},
		{"error proxy", (&Error{HTTPStatus: 407, Class: ClassConfig}).HintFor("finance-th"),
			"the proxy refused bankbot's proxy credentials: check the user and password in robots.finance-th.proxy (or HTTPS_PROXY)"},
		{"error app", (&Error{HTTPStatus: 400, APICode: "invalidParameter.robotCode", Class: ClassPermanent}).HintFor("app1"),
			"robots.app1.robot_code is wrong or empty"},
		{"error errcode", (&Error{Code: 310000, Msg: "sign not match", HTTPStatus: 200, Class: ClassConfig}).HintFor("finance-th"),
			HintFor("finance-th", 310000, "sign not match")},
		{"http 500", (&Error{HTTPStatus: 500, Class: ClassRetry}).HintFor("finance-th"),
			"DingTalk had a server error; the message is retried, nothing needs changing unless it persists"},
		{"bad response", (&Error{HTTPStatus: 200, Class: ClassRetry, Err: ErrBadResponse}).HintFor("x"),
			"the answer was not DingTalk's JSON; a proxy or gateway on the way may have answered: check robots.x.proxy, HTTPS_PROXY and robots.x.webhook"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.got)
		})
	}
	for _, code := range []int{-1, 90030, 130101, 300001, 310000, 400101, 400106, 410100, 460101} {
		require.NotContains(t, HintFor("finance-th", code, ""), "<name>", "code %d", code)
	}
	var nilErr *Error
	require.Empty(t, nilErr.HintFor("x"))
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"webhook", "https://oapi.dingtalk.com/robot/send?access_token=abc123&sign=BQK%2B&timestamp=1",
			"https://oapi.dingtalk.com/robot/send?access_token=REDACTED&sign=REDACTED&timestamp=REDACTED"},
		{"session", "https://oapi.dingtalk.com/robot/sendBySession?session=s3cr3t",
			"https://oapi.dingtalk.com/robot/sendBySession?session=REDACTED"},
		{"other params kept", "http://h/p?a=1&access_token=t", "http://h/p?a=1&access_token=REDACTED"},
		{"no query", "http://h/p", "http://h/p"},
		{"userinfo", "http://user:pw@h/p", "http://REDACTED@h/p"},
		{"unparsable", "http://h/%zz?access_token=abc", "http://h/%zz?REDACTED"},
		{"bad query", "http://h/p?access_token=abc;x=%zz", "http://h/p?REDACTED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, RedactURL(tc.in))
		})
	}
}

func TestRedactError(t *testing.T) {
	raw := "https://oapi.dingtalk.com/robot/send?access_token=tok123&sign=sig456&timestamp=1"
	ue := &url.Error{Op: "Post", URL: raw, Err: context.DeadlineExceeded}

	got := RedactError(ue)
	require.NotContains(t, got.Error(), "tok123")
	require.NotContains(t, got.Error(), "sig456")
	require.ErrorIs(t, got, context.DeadlineExceeded)
	require.True(t, isTimeout(got))

	wrapped := RedactError(fmt.Errorf("attempt 3: %w", ue))
	require.NotContains(t, wrapped.Error(), "tok123")
	require.ErrorIs(t, wrapped, context.DeadlineExceeded)
	var back *url.Error
	require.False(t, errors.As(wrapped, &back), "the unredacted *url.Error is not reachable")

	plain := errors.New("plain")
	require.Same(t, plain, RedactError(plain))
}

func FuzzRedactURL(f *testing.F) {
	f.Add("https://oapi.dingtalk.com/robot/send?access_token=abc&sign=x%2B&timestamp=1")
	f.Add("http://h/%zz?access_token=abc")
	f.Add("?access_token=abc")
	f.Add("http://h/p?access_token=a&access_token=b#frag")
	f.Fuzz(func(t *testing.T, raw string) {
		got := RedactURL(raw)
		u, err := url.Parse(got)
		if err != nil {
			return
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return
		}
		for _, k := range redactedKeys() {
			for _, v := range q[k] {
				require.Equal(t, "REDACTED", v, "key %s in %q", k, got)
			}
		}
	})
}

func FuzzParseRobotResponse(f *testing.F) {
	f.Add([]byte(`{"errcode":0,"errmsg":"ok"}`))
	f.Add([]byte(`{"errcode":310000,"errmsg":"sign not match"}`))
	f.Add([]byte(`{"errmsg":"ok"}`))
	f.Add([]byte(`<html>`))
	f.Add([]byte(`{"errcode":"1"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		code, _, err := parseRobotResponse(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrBadResponse)
			require.Zero(t, code)
			return
		}
		c := Classify(code)
		require.Equal(t, code == 0, c == ClassOK)
	})
}
