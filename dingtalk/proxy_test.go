package dingtalk_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

const proxyPassword = "Pr0xyPassw0rd"

// forwardProxy is a plain-HTTP forward proxy: it takes requests whose target
// is an absolute URL, as a client sends them to an http:// proxy, and
// forwards them directly to that URL.
type forwardProxy struct {
	srv      *httptest.Server
	wantAuth string // when set, other Proxy-Authorization values get 407

	mu    sync.Mutex
	hits  []proxyHit
	conns map[string]bool // client connections seen (remote addresses)
}

type proxyHit struct {
	Host, Path string
	Auth       string // Proxy-Authorization
}

func newForwardProxy(t *testing.T) *forwardProxy {
	p := &forwardProxy{conns: map[string]bool{}}
	direct := &http.Client{Transport: &http.Transport{}} // no proxy of its own
	t.Cleanup(direct.CloseIdleConnections)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.hits = append(p.hits, proxyHit{Host: r.URL.Host, Path: r.URL.Path, Auth: r.Header.Get("Proxy-Authorization")})
		p.conns[r.RemoteAddr] = true
		wantAuth := p.wantAuth
		p.mu.Unlock()
		if wantAuth != "" && r.Header.Get("Proxy-Authorization") != wantAuth {
			w.Header().Set("Proxy-Authenticate", `Basic realm="proxy"`)
			http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
			return
		}
		out, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		out.Header.Del("Proxy-Authorization")
		out.Header.Del("Proxy-Connection")
		resp, err := direct.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *forwardProxy) seen() (hits []proxyHit, conns int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]proxyHit(nil), p.hits...), len(p.conns)
}

// urlWithUser returns the proxy's URL with user info.
func (p *forwardProxy) urlWithUser(user, password string) string {
	u, _ := url.Parse(p.srv.URL)
	u.User = url.UserPassword(user, password)
	return u.String()
}

// countingTransport returns a transport whose Proxy function refuses and
// counts its calls, to prove the robot did not use it as is.
func countingTransport() (*http.Transport, *atomic.Int32) {
	var calls atomic.Int32
	return &http.Transport{Proxy: func(*http.Request) (*url.URL, error) {
		calls.Add(1)
		return nil, fmt.Errorf("the caller's proxy was used")
	}}, &calls
}

func TestRobot_Proxy(t *testing.T) {
	p := newForwardProxy(t)
	callerTransport, calls := countingTransport()
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{
		Proxy:  p.urlWithUser("bankbot", proxyPassword),
		Client: &http.Client{Transport: callerTransport},
	})
	for i := range 3 {
		require.NoError(t, f.robot.Send(context.Background(), msg(fmt.Sprint("via proxy ", i))))
	}
	require.Len(t, f.fake.Messages(), 3, "the fake verified token and sign after the proxy forwarded")

	hits, conns := p.seen()
	require.Len(t, hits, 3, "every request went through the proxy")
	fakeURL, err := url.Parse(f.fake.BaseURL())
	require.NoError(t, err)
	for _, h := range hits {
		require.Equal(t, fakeURL.Host, h.Host)
		require.Equal(t, dingtalktest.SendPath, h.Path)
		require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("bankbot:"+proxyPassword)), h.Auth)
	}
	require.Equal(t, 1, conns, "one transport per robot: the connection to the proxy is reused")

	// The caller's transport was neither used nor changed.
	require.Zero(t, calls.Load())
	_, err = callerTransport.Proxy(httptest.NewRequest(http.MethodGet, "http://example.com/", nil))
	require.Error(t, err)
	require.Equal(t, int32(1), calls.Load())

	s := f.robot.String()
	require.Contains(t, s, "proxy: "+p.srv.URL)
	require.NotContains(t, s, proxyPassword)
	require.NotContains(t, fmt.Sprintf("%#v", f.robot), proxyPassword)
}

func TestRobot_NoProxyGoesDirect(t *testing.T) {
	p := newForwardProxy(t)
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{})
	require.NoError(t, f.robot.Send(context.Background(), msg("direct")))
	hits, _ := p.seen()
	require.Empty(t, hits)
	require.NotContains(t, f.robot.String(), "proxy")
}

func TestRobot_ProxyDownIsRetryAndHidesCredentials(t *testing.T) {
	p := newForwardProxy(t)
	proxyURL := p.urlWithUser("bankbot", proxyPassword)
	p.srv.Close()
	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{Proxy: proxyURL})
	err := f.robot.Send(context.Background(), msg("x"))
	requireErr(t, err, dingtalk.ClassRetry, dingtalk.ReasonNetwork)
	require.NotContains(t, err.Error(), proxyPassword)
	require.Zero(t, f.fake.Requests())
}

func TestProxy_RefusedCredentialsAreConfig(t *testing.T) {
	p := newForwardProxy(t)
	p.mu.Lock()
	p.wantAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte("bankbot:right-password"))
	p.mu.Unlock()
	proxyURL := p.urlWithUser("bankbot", proxyPassword)

	f := newFixture(t, dingtalktest.Options{}, dingtalk.RobotConfig{Proxy: proxyURL})
	err := f.robot.Send(context.Background(), msg("x"))
	de := requireErr(t, err, dingtalk.ClassConfig, dingtalk.ReasonConfig)
	require.Equal(t, http.StatusProxyAuthRequired, de.HTTPStatus)
	require.Contains(t, de.Hint(), "proxy")
	require.NotContains(t, err.Error(), proxyPassword)
	require.Zero(t, f.fake.Requests())

	app := newAppFake(t)
	a, err := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{
		AppKey: appKey, AppSecret: appSecret, RobotCode: "r", ConversationID: "c", APIBase: app.srv.URL, Proxy: proxyURL,
	})
	require.NoError(t, err)
	err = a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "x"})
	de = requireErr(t, err, dingtalk.ClassConfig, dingtalk.ReasonConfig)
	require.NotErrorIs(t, err, dingtalk.ErrAppCredentials, "the app credentials were never seen by DingTalk")
	require.Contains(t, de.Hint(), "proxy")
	require.NotContains(t, err.Error(), proxyPassword)
	tokens, _ := app.calls()
	require.Zero(t, tokens)
}

func TestAppRobot_Proxy(t *testing.T) {
	p := newForwardProxy(t)
	f := newAppFake(t)
	callerTransport, calls := countingTransport()
	a, err := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{
		AppKey: appKey, AppSecret: appSecret, RobotCode: "r", ConversationID: "c",
		APIBase: f.srv.URL, Proxy: p.srv.URL, Client: &http.Client{Transport: callerTransport},
	})
	require.NoError(t, err)
	require.NoError(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: "x"}))
	require.Zero(t, calls.Load(), "the caller's transport was not used")
	hits, _ := p.seen()
	require.Len(t, hits, 2)
	require.Equal(t, "/v1.0/oauth2/accessToken", hits[0].Path, "the token fetch goes through the proxy too")
	require.Equal(t, "/v1.0/robot/groupMessages/send", hits[1].Path)
	tokens, sends := f.calls()
	require.Equal(t, 1, tokens)
	require.Len(t, sends, 1)
	require.Contains(t, a.String(), "proxy: "+p.srv.URL)
}

func TestProxyConfig(t *testing.T) {
	type roundTripper struct{ http.RoundTripper }
	tests := []struct {
		name   string
		proxy  string
		client *http.Client
		want   string // "" means valid
	}{
		{name: "http", proxy: "http://proxy.internal:3128"},
		{name: "https with credentials", proxy: "https://bankbot:" + proxyPassword + "@proxy.internal:3129"},
		{name: "socks5", proxy: "socks5://127.0.0.1:1080"},
		{name: "socks5 with credentials", proxy: "socks5://u:" + proxyPassword + "@127.0.0.1:1080"},
		{name: "ipv6", proxy: "http://[::1]:3128"},
		{name: "caller's transport cloned", proxy: "http://proxy.internal:3128", client: &http.Client{Transport: &http.Transport{}}},
		{name: "ftp", proxy: "ftp://bankbot:" + proxyPassword + "@proxy.internal:21", want: "http://, https:// or socks5://"},
		{name: "socks4", proxy: "socks4://bankbot:" + proxyPassword + "@proxy.internal:1080", want: "http://, https:// or socks5://"},
		{name: "no scheme, user in the scheme's place", proxy: "bankbot:" + proxyPassword + "@proxy.internal:3128", want: "http://, https:// or socks5://"},
		{name: "host and port only", proxy: "proxy.internal:3128", want: "http://, https:// or socks5://"},
		{name: "relative", proxy: "/proxy", want: "http://, https:// or socks5://"},
		{name: "no host", proxy: "http://bankbot:" + proxyPassword + "@", want: "no host"},
		{name: "opaque", proxy: "http:" + proxyPassword, want: "no host"},
		{name: "bad escape", proxy: "http://bankbot:" + proxyPassword + "%zz@proxy.internal:3128", want: "not a valid URL"},
		{name: "control character", proxy: "http://proxy.internal:3128/\n" + proxyPassword, want: "not a valid URL"},
		{name: "custom round tripper cannot be cloned", proxy: "http://proxy.internal:3128", client: &http.Client{Transport: roundTripper{}}, want: "*http.Transport"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, rerr := dingtalk.NewRobot(dingtalk.RobotConfig{
				Webhook: "https://oapi.dingtalk.com/robot/send?access_token=" + testToken, Proxy: tc.proxy, Client: tc.client,
			})
			_, aerr := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{
				AppKey: "k", AppSecret: appSecret, RobotCode: "r", ConversationID: "c", Proxy: tc.proxy, Client: tc.client,
			})
			for _, err := range []error{rerr, aerr} {
				if tc.want == "" {
					require.NoError(t, err)
					continue
				}
				require.ErrorIs(t, err, dingtalk.ErrConfig)
				require.Contains(t, err.Error(), tc.want)
				require.NotContains(t, err.Error(), proxyPassword)
				require.NotContains(t, err.Error(), "bankbot")
				require.NotContains(t, err.Error(), "proxy.internal")
				require.False(t, strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), appSecret))
			}
		})
	}
}
