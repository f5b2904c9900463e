package dingtalk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

const (
	testSecret = "SECb90923e19e58b466481e9e7b7a5b4f108a4531abde590ad3967fb29f0eae5c68"
	testToken  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

var t0 = time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)

type fixture struct {
	clock *dingtalktest.Clock
	fake  *dingtalktest.Server
	robot *dingtalk.Robot
}

// newFixture starts a signing fake and a robot sharing one fake clock.
func newFixture(t *testing.T, opts dingtalktest.Options, cfg dingtalk.RobotConfig) fixture {
	t.Helper()
	clock := dingtalktest.NewClock(t0)
	if opts.Secret == "" {
		opts.Secret = testSecret
	}
	if opts.Token == "" {
		opts.Token = testToken
	}
	opts.Now = clock.Now
	fake := dingtalktest.New(t, opts)
	if cfg.Webhook == "" {
		cfg.Webhook = fake.URL()
	}
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	r, err := dingtalk.NewRobot(cfg)
	require.NoError(t, err)
	return fixture{clock: clock, fake: fake, robot: r}
}

func msg(text string) dingtalk.Message {
	return dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "收款", Text: text}
}

// requireErr asserts err is an *Error of the class and reason, and that no
// secret leaks into its text.
func requireErr(t *testing.T, err error, class dingtalk.Class, reason string) *dingtalk.Error {
	t.Helper()
	var de *dingtalk.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, class, de.Class, "class of %v", err)
	require.Equal(t, reason, de.Reason(), "reason of %v", err)
	requireNoSecret(t, err.Error())
	return de
}

func requireNoSecret(t *testing.T, s string) {
	t.Helper()
	require.NotContains(t, s, testToken)
	require.NotContains(t, s, testToken[:16])
	require.NotContains(t, s, testSecret)
	require.NotContains(t, s, "SECb90923")
}

func TestRobot_SendSuccess(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
	m := msg("#### THB 50.00 ได้รับแล้ว")
	m.AtMobiles = []string{"0812345678"}
	m.UUID = "evt_123"
	require.NoError(t, f.robot.Send(context.Background(), m))

	got := f.fake.Messages()
	require.Len(t, got, 1, "the fake verified token, timestamp and sign")
	require.Equal(t, "markdown", got[0].MsgType)
	require.Equal(t, "收款", got[0].Title)
	require.Equal(t, "#### THB 50.00 ได้รับแล้ว\n\n@0812345678", got[0].Text)
	require.Equal(t, []string{"0812345678"}, got[0].AtMobiles)
	require.Equal(t, "evt_123", got[0].UUID)
	require.Equal(t, t0.UnixMilli(), got[0].Timestamp)
}

func TestRobot_UnsignedRobot(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Token: testToken})
	r, err := dingtalk.NewRobot(dingtalk.RobotConfig{Webhook: fake.URL()})
	require.NoError(t, err)
	require.NoError(t, r.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "hi"}))
	require.Zero(t, fake.Messages()[0].Timestamp)
}

func TestRobot_FreshTimestampPerSend(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
	require.NoError(t, f.robot.Send(context.Background(), msg("first")))
	f.clock.Advance(2 * time.Hour) // a timestamp computed once would now be stale
	require.NoError(t, f.robot.Send(context.Background(), msg("second")))

	got := f.fake.Messages()
	require.Len(t, got, 2)
	require.Equal(t, t0.UnixMilli(), got[0].Timestamp)
	require.Equal(t, t0.Add(2*time.Hour).UnixMilli(), got[1].Timestamp)
}

func TestRobot_ClockSkewIsConfig(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
	robotClock := dingtalktest.NewClock(t0.Add(-61 * time.Minute))
	r, err := dingtalk.NewRobot(dingtalk.RobotConfig{Webhook: f.fake.URL(), Secret: testSecret, Now: robotClock.Now})
	require.NoError(t, err)
	err = r.Send(context.Background(), msg("x"))
	de := requireErr(t, err, dingtalk.ClassConfig, dingtalk.ReasonConfig)
	require.Equal(t, 310000, de.Code)
	require.Contains(t, de.Hint(), "clock")
}

func TestRobot_WrongSecretIsConfigWithHint(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{Secret: "SECwrong0000000000000000000000000000"})
	err := f.robot.Send(context.Background(), msg("x"))
	de := requireErr(t, err, dingtalk.ClassConfig, dingtalk.ReasonConfig)
	require.Equal(t, 310000, de.Code)
	require.Equal(t, "sign not match", de.Msg)
	require.Contains(t, de.HintFor("dt"), "does not match the robot's 加签 setting")
	require.NotContains(t, err.Error(), "SECwrong")
}

func TestRobot_RateLimited(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
	for i := range 20 {
		require.NoError(t, f.robot.Send(context.Background(), msg(fmt.Sprint("m", i))))
	}
	err := f.robot.Send(context.Background(), msg("21st"))
	de := requireErr(t, err, dingtalk.ClassRetry, dingtalk.ReasonRateLimited)
	require.Equal(t, 410100, de.Code)
	require.GreaterOrEqual(t, de.RetryAfter(), 10*time.Minute)

	f.clock.Advance(de.RetryAfter() + time.Second)
	require.NoError(t, f.robot.Send(context.Background(), msg("after the penalty")))
}

func TestRobot_OversizeIsShortenedNeverSent(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
	m := msg(strings.Repeat("ได้รับเงินโอน 收款 THB 1,234.56\n", 2000)) // ~90 KB
	m.AtUserIDs = []string{"manager7675"}
	require.NoError(t, f.robot.Send(context.Background(), m))

	got := f.fake.Messages()
	require.Len(t, got, 1)
	require.LessOrEqual(t, len(got[0].Raw), dingtalk.MaxBodyBytes)
	require.Contains(t, got[0].Text, dingtalk.TruncatedMarker)
	require.True(t, strings.HasSuffix(got[0].Text, "@manager7675"), "the mention line survives")
	for _, a := range f.fake.Answers() {
		require.NotEqual(t, 460101, a.ErrCode)
	}
}

func TestRobot_UnfittableIsPermanentAndNotSent(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
	m := msg("x")
	m.Title = strings.Repeat("t", dingtalk.MaxBodyBytes)
	err := f.robot.Send(context.Background(), m)
	requireErr(t, err, dingtalk.ClassPermanent, dingtalk.ReasonTooLarge)
	require.ErrorIs(t, err, dingtalk.ErrTooLarge)
	require.Zero(t, f.fake.Requests())
}

func TestRobot_InvalidMessageIsPermanent(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
	err := f.robot.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText})
	requireErr(t, err, dingtalk.ClassPermanent, dingtalk.ReasonPermanent)
	require.ErrorIs(t, err, dingtalk.ErrEmptyMessage)
	require.Zero(t, f.fake.Requests())
}

func TestRobot_Classification(t *testing.T) {
	tests := []struct {
		name   string
		script dingtalktest.Response
		class  dingtalk.Class
		reason string
	}{
		// Every errcode of dingtalk.md §3.2.
		{"errcode -1 busy", dingtalktest.Response{ErrCode: -1}, dingtalk.ClassRetry, dingtalk.ReasonServer},
		{"errcode 40035 missing json", dingtalktest.Response{ErrCode: 40035}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"errcode 43004 content-type", dingtalktest.Response{ErrCode: 43004}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"errcode 310000 security", dingtalktest.Response{ErrCode: 310000}, dingtalk.ClassConfig, dingtalk.ReasonConfig},
		{"errcode 400013 dissolved", dingtalktest.Response{ErrCode: 400013}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"errcode 400101 no token", dingtalktest.Response{ErrCode: 400101}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"errcode 400102 disabled", dingtalktest.Response{ErrCode: 400102}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"errcode 400105 msgtype", dingtalktest.Response{ErrCode: 400105}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"errcode 400106 no robot", dingtalktest.Response{ErrCode: 400106}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"errcode 410100 rate", dingtalktest.Response{ErrCode: 410100}, dingtalk.ClassRetry, dingtalk.ReasonRateLimited},
		{"errcode 430101 unsafe link", dingtalktest.Response{ErrCode: 430101}, dingtalk.ClassPermanent, dingtalk.ReasonContent},
		{"errcode 430102 text", dingtalktest.Response{ErrCode: 430102}, dingtalk.ClassPermanent, dingtalk.ReasonContent},
		{"errcode 430103 image", dingtalktest.Response{ErrCode: 430103}, dingtalk.ClassPermanent, dingtalk.ReasonContent},
		{"errcode 430104 content", dingtalktest.Response{ErrCode: 430104}, dingtalk.ClassPermanent, dingtalk.ReasonContent},
		{"errcode 460101 too long", dingtalktest.Response{ErrCode: 460101}, dingtalk.ClassPermanent, dingtalk.ReasonTooLarge},
		{"errcode 300001 token", dingtalktest.Response{ErrCode: 300001}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"errcode 300005 external", dingtalktest.Response{ErrCode: 300005}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"errcode 130101 legacy rate", dingtalktest.Response{ErrCode: 130101}, dingtalk.ClassRetry, dingtalk.ReasonRateLimited},
		{"errcode 101002 legacy long", dingtalktest.Response{ErrCode: 101002}, dingtalk.ClassPermanent, dingtalk.ReasonTooLarge},
		{"errcode 90030 quota", dingtalktest.Response{ErrCode: 90030}, dingtalk.ClassRetry, dingtalk.ReasonQuota},
		{"errcode unknown", dingtalktest.Response{ErrCode: 555555, ErrMsg: "new"}, dingtalk.ClassRetry, dingtalk.ReasonServer},
		// HTTP statuses.
		{"http 200 ok", dingtalktest.Response{Status: 200}, dingtalk.ClassOK, dingtalk.ReasonOK},
		{"http 400", dingtalktest.Response{Status: 400}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"http 401", dingtalktest.Response{Status: 401}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"http 403", dingtalktest.Response{Status: 403}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"http 404", dingtalktest.Response{Status: 404}, dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"http 429", dingtalktest.Response{Status: 429}, dingtalk.ClassRetry, dingtalk.ReasonRateLimited},
		{"http 500", dingtalktest.Response{Status: 500}, dingtalk.ClassRetry, dingtalk.ReasonServer},
		{"http 502", dingtalktest.Response{Status: 502, Body: "<html>bad gateway</html>"}, dingtalk.ClassRetry, dingtalk.ReasonServer},
		{"http 503", dingtalktest.Response{Status: 503}, dingtalk.ClassRetry, dingtalk.ReasonServer},
		{"http 500 with errcode", dingtalktest.Response{Status: 500, ErrCode: 400102}, dingtalk.ClassRetry, dingtalk.ReasonServer},
		{"http 200 not json", dingtalktest.Response{Body: "<html>proxy</html>"}, dingtalk.ClassRetry, dingtalk.ReasonServer},
		{"http 200 no errcode", dingtalktest.Response{Body: `{"errmsg":"ok"}`}, dingtalk.ClassRetry, dingtalk.ReasonServer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
			f.fake.Script(tc.script)
			err := f.robot.Send(context.Background(), msg("x"))
			require.Equal(t, 1, f.fake.Requests())
			if tc.class == dingtalk.ClassOK {
				require.NoError(t, err)
				return
			}
			de := requireErr(t, err, tc.class, tc.reason)
			if tc.script.ErrCode != 0 {
				require.Equal(t, tc.script.ErrCode, de.Code)
				require.Equal(t, dingtalk.Classify(tc.script.ErrCode) == dingtalk.ClassRetry || tc.script.Status >= 500, de.Retryable())
			}
			if tc.script.Status != 0 {
				require.Equal(t, tc.script.Status, de.HTTPStatus)
			}
			if tc.class != dingtalk.ClassRetry {
				require.NotEmpty(t, de.Hint(), "an admin is told what to do")
			}
		})
	}
}

func TestRobot_ScriptedRetriesThenSucceeds(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
	f.fake.Script(dingtalktest.Response{Status: 500}, dingtalktest.Response{ErrCode: 130101})
	requireErr(t, f.robot.Send(context.Background(), msg("x")), dingtalk.ClassRetry, dingtalk.ReasonServer)
	requireErr(t, f.robot.Send(context.Background(), msg("x")), dingtalk.ClassRetry, dingtalk.ReasonRateLimited)
	require.NoError(t, f.robot.Send(context.Background(), msg("x")))
	require.Len(t, f.fake.Messages(), 1)
}

func TestRobot_NetworkErrors(t *testing.T) {
	t.Run("closed server", func(t *testing.T) {
		f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
		f.fake.Close()
		err := f.robot.Send(context.Background(), msg("x"))
		de := requireErr(t, err, dingtalk.ClassRetry, dingtalk.ReasonNetwork)
		require.Zero(t, de.HTTPStatus)
		require.Contains(t, err.Error(), "access_token=REDACTED")
		require.Contains(t, err.Error(), "sign=REDACTED")
	})
	t.Run("down with 503", func(t *testing.T) {
		f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
		f.fake.SetDown(true)
		requireErr(t, f.robot.Send(context.Background(), msg("x")), dingtalk.ClassRetry, dingtalk.ReasonServer)
	})
	t.Run("connection dropped", func(t *testing.T) {
		f := newFixture(t, dingtalktest.Options{DownMode: dingtalktest.DownHangup}, dingtalk.RobotConfig{})
		f.fake.SetDown(true)
		requireErr(t, f.robot.Send(context.Background(), msg("x")), dingtalk.ClassRetry, dingtalk.ReasonNetwork)
	})
}

func TestRobot_Timeouts(t *testing.T) {
	t.Run("per-attempt timeout", func(t *testing.T) {
		f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{Timeout: 50 * time.Millisecond})
		f.fake.Script(dingtalktest.Response{Stall: true})
		err := f.robot.Send(context.Background(), msg("x"))
		requireErr(t, err, dingtalk.ClassRetry, dingtalk.ReasonTimeout)
		require.ErrorIs(t, err, dingtalk.ErrAttemptTimeout)
	})
	t.Run("caller deadline", func(t *testing.T) {
		f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
		f.fake.Script(dingtalktest.Response{Stall: true})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := f.robot.Send(ctx, msg("x"))
		requireErr(t, err, dingtalk.ClassRetry, dingtalk.ReasonTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotErrorIs(t, err, dingtalk.ErrAttemptTimeout)
	})
	t.Run("caller cancel", func(t *testing.T) {
		f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := f.robot.Send(ctx, msg("x"))
		requireErr(t, err, dingtalk.ClassRetry, dingtalk.ReasonNetwork)
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestRobot_DoesNotFollowRedirects(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Token: testToken})
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fake.URL(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	r, err := dingtalk.NewRobot(dingtalk.RobotConfig{Webhook: redirect.URL + "/robot/send?access_token=" + testToken})
	require.NoError(t, err)
	err = r.Send(context.Background(), msg("x"))
	de := requireErr(t, err, dingtalk.ClassPermanent, dingtalk.ReasonPermanent)
	require.Equal(t, http.StatusTemporaryRedirect, de.HTTPStatus)
	require.Zero(t, fake.Requests(), "the token did not travel to the redirect target")
}

func TestRobot_ConcurrentSends(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{RatePerMinute: -1}, dingtalk.RobotConfig{})
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() {
			errs <- f.robot.Send(context.Background(), msg(fmt.Sprint("m", i)))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, f.fake.Messages(), 30)
}

func TestNewRobot_Validation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     dingtalk.RobotConfig
		wantMsg string
	}{
		{"not a url", dingtalk.RobotConfig{Webhook: "http://[::1"}, "not a valid URL"},
		{"ftp", dingtalk.RobotConfig{Webhook: "ftp://oapi.dingtalk.com/robot/send?access_token=" + testToken}, "http or https"},
		{"relative", dingtalk.RobotConfig{Webhook: "/robot/send?access_token=" + testToken}, "http or https"},
		{"no host", dingtalk.RobotConfig{Webhook: "https:///robot/send?access_token=" + testToken}, "no host"},
		{"no token", dingtalk.RobotConfig{Webhook: "https://oapi.dingtalk.com/robot/send"}, "no access_token"},
		{"empty token", dingtalk.RobotConfig{Webhook: "https://oapi.dingtalk.com/robot/send?access_token="}, "no access_token"},
		{"two tokens", dingtalk.RobotConfig{Webhook: "https://oapi.dingtalk.com/robot/send?access_token=" + testToken + "&access_token=x"}, "more than one"},
		{"secret without SEC", dingtalk.RobotConfig{Webhook: "https://oapi.dingtalk.com/robot/send?access_token=" + testToken, Secret: "b90923e19e58b466481e9e7b7a5b4f108a4531abde590ad3967fb29f0eae5c68"}, "SEC…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dingtalk.NewRobot(tc.cfg)
			require.ErrorIs(t, err, dingtalk.ErrConfig)
			require.Contains(t, err.Error(), tc.wantMsg)
			requireNoSecret(t, err.Error())
			require.NotContains(t, err.Error(), "b90923e19e58")
		})
	}
}

func TestRobot_StringMasksToken(t *testing.T) {
	r, err := dingtalk.NewRobot(dingtalk.RobotConfig{
		Webhook: "https://oapi.dingtalk.com/robot/send?access_token=" + testToken,
		Secret:  testSecret,
	})
	require.NoError(t, err)
	for _, s := range []string{r.String(), fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s", r, r, r, r)} {
		requireNoSecret(t, s)
		require.Contains(t, s, "access_token=REDACTED")
	}
}

func TestRobot_ErrorNeverLeaksSecrets(t *testing.T) {
	// The fake echoes the request URL in errmsg: the worst case of a server
	// that reflects what it got.
	var status atomic.Int32
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status.Load() == http.StatusBadRequest {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprint(w, "bad request "+r.URL.String()+" "+testSecret)
			return
		}
		_, _ = fmt.Fprintf(w, `{"errcode":310000,"errmsg":%q}`, "bad request "+r.URL.String()+" "+testSecret)
	}))
	t.Cleanup(echo.Close)
	clock := dingtalktest.NewClock(t0)
	sign := dingtalk.Sign(testSecret, t0.UnixMilli())
	r, err := dingtalk.NewRobot(dingtalk.RobotConfig{Webhook: echo.URL + "/robot/send?access_token=" + testToken, Secret: testSecret, Now: clock.Now})
	require.NoError(t, err)
	for _, st := range []int32{http.StatusOK, http.StatusBadRequest} {
		status.Store(st)
		err = r.Send(context.Background(), msg("x"))
		var de *dingtalk.Error
		require.True(t, errors.As(err, &de))
		require.Contains(t, de.Msg, "REDACTED", "the echo was scrubbed, not dropped")
		for _, s := range []string{err.Error(), de.Msg} {
			requireNoSecret(t, s)
			require.NotContains(t, s, sign)
			require.NotContains(t, s, url.QueryEscape(sign))
		}
	}
}
