package dingtalk

import (
	"fmt"
	"net/http"
	"net/url"
)

// robotClient returns the client a robot sends with. Without a proxy it is
// client itself, or, when client is nil, a client that does not follow
// redirects and uses http.DefaultTransport (which honours HTTPS_PROXY and
// NO_PROXY). With a proxy it is a copy of that client whose transport is a
// clone of the client's *http.Transport (of http.DefaultTransport when the
// client has none) that sends every request through the proxy: one
// transport per robot, built here and not per send.
//
// The proxy must be an absolute http, https or socks5 URL with a host.
// Errors wrap ErrConfig and never contain the proxy URL, whose user info may
// hold credentials.
func robotClient(client *http.Client, proxy string) (*http.Client, *url.URL, error) {
	if client == nil {
		client = &http.Client{CheckRedirect: noRedirect}
	}
	if proxy == "" {
		return client, nil, nil
	}
	u, err := parseProxy(proxy)
	if err != nil {
		return nil, nil, err
	}
	var base *http.Transport
	switch t := client.Transport.(type) {
	case nil:
		dt, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			return nil, nil, fmt.Errorf("%w: proxy needs http.DefaultTransport to be an *http.Transport", ErrConfig)
		}
		base = dt
	case *http.Transport:
		base = t
	default:
		return nil, nil, fmt.Errorf("%w: proxy needs a client whose Transport is an *http.Transport, got %T", ErrConfig, t)
	}
	tr := base.Clone()
	tr.Proxy = http.ProxyURL(u)
	c := *client
	c.Transport = tr
	return &c, u, nil
}

// parseProxy validates a proxy URL without ever echoing it.
func parseProxy(proxy string) (*url.URL, error) {
	u, err := url.Parse(proxy)
	if err != nil {
		// url.Parse's error quotes the URL: leave it out.
		return nil, fmt.Errorf("%w: proxy is not a valid URL", ErrConfig)
	}
	switch u.Scheme {
	case "http", "https", "socks5":
	default:
		// Not even the scheme is echoed: in "user:pass@host" it is the user.
		return nil, fmt.Errorf("%w: proxy must be an http://, https:// or socks5:// URL", ErrConfig)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: proxy has no host", ErrConfig)
	}
	return u, nil
}

// proxySecrets returns what must be scrubbed from errors of a robot that
// uses u as its proxy: the user info and the password (the user name alone
// is not treated as a secret).
func proxySecrets(u *url.URL) []string {
	if u == nil || u.User == nil {
		return nil
	}
	out := []string{u.User.String()}
	if p, ok := u.User.Password(); ok {
		out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
	}
	return out
}

// proxyLabel describes u for String: scheme and host, never the user info.
func proxyLabel(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
