package dingtalk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

const (
	appKey    = "dingappkey123"
	appSecret = "appsecret-0123456789-very-secret"
)

type appSend struct {
	Token              string
	MsgKey             string `json:"msgKey"`
	MsgParam           string `json:"msgParam"`
	OpenConversationID string `json:"openConversationId"`
	RobotCode          string `json:"robotCode"`
}

// appFake is a minimal api.dingtalk.com: it issues tokens tok-1, tok-2, …
// and accepts sends carrying a token it issued and has not revoked.
type appFake struct {
	srv *httptest.Server

	mu          sync.Mutex
	tokenCalls  int
	revoked     map[string]bool
	sends       []appSend
	tokenStatus int    // answer of the token endpoint when not 0
	sendStatus  int    // answer of the send endpoint when not 0
	sendCode    string // code of that answer
	expireIn    int
	creds       map[string]string // app key → app secret accepted
}

func newAppFake(t *testing.T) *appFake {
	f := &appFake{revoked: map[string]bool{}, expireIn: 7200, creds: map[string]string{appKey: appSecret}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *appFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v1.0/oauth2/accessToken":
		var in struct{ AppKey, AppSecret string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.tokenCalls++
		if f.tokenStatus != 0 {
			w.WriteHeader(f.tokenStatus)
			fmt.Fprintf(w, `{"code":"invalidClientIdOrSecret","message":"bad %s"}`, in.AppSecret)
			return
		}
		if want, ok := f.creds[in.AppKey]; !ok || in.AppSecret != want {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"code":"invalidClientIdOrSecret","message":"无效的clientId或clientSecret"}`)
			return
		}
		fmt.Fprintf(w, `{"accessToken":"tok-%d","expireIn":%d}`, f.tokenCalls, f.expireIn)
	case "/v1.0/robot/groupMessages/send":
		tok := r.Header.Get("x-acs-dingtalk-access-token")
		if !strings.HasPrefix(tok, "tok-") || f.revoked[tok] {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"code":"InvalidAuthentication","message":"不合法的access_token %s"}`, tok)
			return
		}
		if f.sendStatus != 0 {
			w.WriteHeader(f.sendStatus)
			fmt.Fprintf(w, `{"code":%q,"message":"refused %s"}`, f.sendCode, tok)
			return
		}
		var s appSend
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.Token = tok
		f.sends = append(f.sends, s)
		fmt.Fprint(w, `{"processQueryKey":"pqk"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *appFake) calls() (tokens int, sends []appSend) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls, append([]appSend(nil), f.sends...)
}

func (f *appFake) set(fn func(f *appFake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func newApp(t *testing.T, f *appFake, clock *dingtalktest.Clock) *dingtalk.AppRobot {
	t.Helper()
	a, err := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{
		AppKey: appKey, AppSecret: appSecret, RobotCode: "dingrobot", ConversationID: "cidGroup==",
		APIBase: f.srv.URL + "/", Now: clock.Now,
	})
	require.NoError(t, err)
	return a
}

func requireNoAppSecret(t *testing.T, s string) {
	t.Helper()
	require.NotContains(t, s, appSecret)
	require.NotContains(t, s, "tok-")
}

func TestAppRobot_SendMarkdown(t *testing.T) {
	f := newAppFake(t)
	a := newApp(t, f, dingtalktest.NewClock(t0))
	m := dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "收款", Text: "THB 50.00", AtUserIDs: []string{"u1"}}
	require.NoError(t, a.Send(context.Background(), m))

	tokens, sends := f.calls()
	require.Equal(t, 1, tokens)
	require.Len(t, sends, 1)
	require.Equal(t, "tok-1", sends[0].Token)
	require.Equal(t, "sampleMarkdown", sends[0].MsgKey)
	require.Equal(t, "cidGroup==", sends[0].OpenConversationID)
	require.Equal(t, "dingrobot", sends[0].RobotCode)
	require.JSONEq(t, `{"title":"收款","text":"THB 50.00\n\n@u1"}`, sends[0].MsgParam)
}

func TestAppRobot_SendText(t *testing.T) {
	f := newAppFake(t)
	a := newApp(t, f, dingtalktest.NewClock(t0))
	require.NoError(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "hello <b>"}))
	_, sends := f.calls()
	require.Equal(t, "sampleText", sends[0].MsgKey)
	require.JSONEq(t, `{"content":"hello <b>"}`, sends[0].MsgParam)
}

func TestAppRobot_TokenFetchedOnceForConcurrentSends(t *testing.T) {
	f := newAppFake(t)
	a := newApp(t, f, dingtalktest.NewClock(t0))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			errs <- a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	tokens, sends := f.calls()
	require.Equal(t, 1, tokens)
	require.Len(t, sends, 20)
}

func TestAppRobot_TokenRefreshedBeforeExpiry(t *testing.T) {
	f := newAppFake(t)
	clock := dingtalktest.NewClock(t0)
	a := newApp(t, f, clock)
	send := func() {
		require.NoError(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "x"}))
	}

	send()
	clock.Advance(7200*time.Second - 5*time.Minute - time.Second)
	send()
	tokens, _ := f.calls()
	require.Equal(t, 1, tokens, "still cached just before the early-refresh point")

	clock.Advance(2 * time.Second)
	send()
	tokens, sends := f.calls()
	require.Equal(t, 2, tokens, "refreshed 5 minutes before expiry")
	require.Equal(t, "tok-2", sends[2].Token)
}

func TestAppRobot_RevokedCachedTokenIsReplacedOnce(t *testing.T) {
	f := newAppFake(t)
	a := newApp(t, f, dingtalktest.NewClock(t0))
	require.NoError(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "1"}))
	f.set(func(f *appFake) { f.revoked["tok-1"] = true })

	require.NoError(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "2"}))
	tokens, sends := f.calls()
	require.Equal(t, 2, tokens)
	require.Equal(t, "tok-2", sends[1].Token)
}

func TestAppRobot_RefusedFreshTokenIsConfig(t *testing.T) {
	f := newAppFake(t)
	a := newApp(t, f, dingtalktest.NewClock(t0))
	f.set(func(f *appFake) { f.revoked["tok-1"], f.revoked["tok-2"] = true, true })
	err := a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "x"})
	de := requireErr(t, err, dingtalk.ClassConfig, dingtalk.ReasonConfig)
	require.Equal(t, http.StatusUnauthorized, de.HTTPStatus)
	require.Equal(t, "InvalidAuthentication", de.APICode)
	require.Contains(t, de.Hint(), "app_key")
	requireNoAppSecret(t, err.Error())
	tokens, _ := f.calls()
	require.Equal(t, 1, tokens, "a fresh token that is refused is not fetched again in a loop")

	// The refused token was dropped: the next Send fetches a new one.
	f.set(func(f *appFake) { f.revoked = map[string]bool{} })
	require.NoError(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "y"}))
	tokens, _ = f.calls()
	require.Equal(t, 2, tokens)
}

func TestAppRobot_Classification(t *testing.T) {
	tests := []struct {
		name        string
		tokenStatus int
		sendStatus  int
		sendCode    string
		class       dingtalk.Class
		reason      string
	}{
		{"bad parameter", 0, 400, "invalidParameter.msgParam.invalid", dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"robot code", 0, 400, "invalidParameter.robotCode.empty", dingtalk.ClassPermanent, dingtalk.ReasonPermanent},
		{"qps limit 403", 0, 403, "Forbidden.AccessDenied.QpsLimitForApi", dingtalk.ClassRetry, dingtalk.ReasonRateLimited},
		{"throttling 400", 0, 400, "Throttling.User", dingtalk.ClassRetry, dingtalk.ReasonRateLimited},
		{"429", 0, 429, "", dingtalk.ClassRetry, dingtalk.ReasonRateLimited},
		{"permission 403", 0, 403, "Forbidden.AccessDenied.AccessTokenPermissionDenied", dingtalk.ClassConfig, dingtalk.ReasonConfig},
		{"server 500", 0, 500, "ServiceUnavailable", dingtalk.ClassRetry, dingtalk.ReasonServer},
		{"bad credentials", 400, 0, "", dingtalk.ClassConfig, dingtalk.ReasonConfig},
		{"token endpoint 503", 503, 0, "", dingtalk.ClassRetry, dingtalk.ReasonServer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newAppFake(t)
			f.set(func(f *appFake) { f.tokenStatus, f.sendStatus, f.sendCode = tc.tokenStatus, tc.sendStatus, tc.sendCode })
			a := newApp(t, f, dingtalktest.NewClock(t0))
			err := a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "x"})
			de := requireErr(t, err, tc.class, tc.reason)
			requireNoAppSecret(t, err.Error())
			if tc.tokenStatus == 400 {
				require.ErrorIs(t, err, dingtalk.ErrAppCredentials)
			}
			if tc.class == dingtalk.ClassConfig || tc.class == dingtalk.ClassPermanent {
				require.NotEmpty(t, de.Hint())
			}
		})
	}
}

func TestAppRobot_NetworkAndTimeout(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		f := newAppFake(t)
		a := newApp(t, f, dingtalktest.NewClock(t0))
		f.srv.Close()
		requireErr(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "x"}), dingtalk.ClassRetry, dingtalk.ReasonNetwork)
	})
	t.Run("stalled", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		a, err := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{
			AppKey: appKey, AppSecret: appSecret, RobotCode: "r", ConversationID: "c",
			APIBase: srv.URL, Timeout: 50 * time.Millisecond,
		})
		require.NoError(t, err)
		err = a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "x"})
		requireErr(t, err, dingtalk.ClassRetry, dingtalk.ReasonTimeout)
		require.ErrorIs(t, err, dingtalk.ErrAttemptTimeout)
	})
}

func TestAppRobot_FitsMsgParam(t *testing.T) {
	f := newAppFake(t)
	a := newApp(t, f, dingtalktest.NewClock(t0))
	m := dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: "t", Text: strings.Repeat("ยอดรวม 收款\n", 3000), AtMobiles: []string{"13800001111"}}
	require.NoError(t, a.Send(context.Background(), m))
	_, sends := f.calls()
	require.LessOrEqual(t, len(sends[0].MsgParam), dingtalk.MaxAppParamBytes)
	require.Greater(t, len(sends[0].MsgParam), dingtalk.MaxAppParamBytes-200)
	var p struct{ Text string }
	require.NoError(t, json.Unmarshal([]byte(sends[0].MsgParam), &p))
	require.Contains(t, p.Text, dingtalk.TruncatedMarker)
	require.True(t, strings.HasSuffix(p.Text, "@13800001111"))
}

func TestNewAppRobot_Validation(t *testing.T) {
	ok := dingtalk.AppRobotConfig{AppKey: "k", AppSecret: appSecret, RobotCode: "r", ConversationID: "c"}
	tests := []struct {
		name string
		edit func(c *dingtalk.AppRobotConfig)
		want string
	}{
		{"no key", func(c *dingtalk.AppRobotConfig) { c.AppKey = "" }, "app_key"},
		{"no secret", func(c *dingtalk.AppRobotConfig) { c.AppSecret = " " }, "app_secret"},
		{"no robot code", func(c *dingtalk.AppRobotConfig) { c.RobotCode = "" }, "robot_code"},
		{"no conversation", func(c *dingtalk.AppRobotConfig) { c.ConversationID = "" }, "conversation_id"},
		{"bad base", func(c *dingtalk.AppRobotConfig) { c.APIBase = "ftp://x" }, "api_base"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			_, err := dingtalk.NewAppRobot(c)
			require.ErrorIs(t, err, dingtalk.ErrConfig)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), appSecret)
		})
	}
	a, err := dingtalk.NewAppRobot(ok)
	require.NoError(t, err)
	require.Contains(t, a.String(), dingtalk.DefaultAPIBase)
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", a, a, a), appSecret)
}
