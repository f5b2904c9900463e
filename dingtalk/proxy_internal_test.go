package dingtalk

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRobotClient(t *testing.T) {
	redirects := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	callerTransport := &http.Transport{ResponseHeaderTimeout: 7 * time.Second, MaxIdleConnsPerHost: 3, Proxy: http.ProxyFromEnvironment}
	caller := &http.Client{Transport: callerTransport, Timeout: 30 * time.Second, CheckRedirect: redirects}
	req := httptest.NewRequest(http.MethodPost, "https://oapi.dingtalk.com/robot/send", nil)

	tests := []struct {
		name   string
		client *http.Client
		check  func(t *testing.T, got *http.Client, tr *http.Transport)
	}{
		{
			name:   "caller's client and transport settings kept",
			client: caller,
			check: func(t *testing.T, got *http.Client, tr *http.Transport) {
				require.NotSame(t, caller, got)
				require.NotSame(t, callerTransport, tr)
				require.Equal(t, 7*time.Second, tr.ResponseHeaderTimeout)
				require.Equal(t, 3, tr.MaxIdleConnsPerHost)
				require.Equal(t, 30*time.Second, got.Timeout)
				require.NotNil(t, got.CheckRedirect)
				require.Equal(t, 7*time.Second, callerTransport.ResponseHeaderTimeout)
			},
		},
		{
			name:   "no client: a clone of http.DefaultTransport, no redirects",
			client: nil,
			check: func(t *testing.T, got *http.Client, tr *http.Transport) {
				dt := http.DefaultTransport.(*http.Transport)
				require.NotSame(t, dt, tr)
				require.Equal(t, dt.TLSHandshakeTimeout, tr.TLSHandshakeTimeout)
				require.NotNil(t, got.CheckRedirect)
				if u, err := dt.Proxy(req); err == nil && u != nil {
					require.NotEqual(t, "proxy.internal:3128", u.Host, "http.DefaultTransport is not changed")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, u, err := robotClient(tc.client, "http://user:pw123456@proxy.internal:3128")
			require.NoError(t, err)
			tr, ok := got.Transport.(*http.Transport)
			require.True(t, ok)
			pu, err := tr.Proxy(req)
			require.NoError(t, err)
			require.Equal(t, u, pu)
			require.Equal(t, "proxy.internal:3128", pu.Host)
			require.Equal(t, "http://proxy.internal:3128", proxyLabel(u))
			require.Equal(t, "dingtalk: REDACTED refused", scrub("dingtalk: user:pw123456 refused", proxySecrets(u)...))
			tc.check(t, got, tr)
		})
	}

	// Without a proxy the caller's client is used as is.
	got, u, err := robotClient(caller, "")
	require.NoError(t, err)
	require.Same(t, caller, got)
	require.Nil(t, u)
}
