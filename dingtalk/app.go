package dingtalk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultAPIBase is the host of DingTalk's v1.0 OpenAPI.
const DefaultAPIBase = "https://api.dingtalk.com"

// MaxAppParamBytes is the app robot's limit on msgParam (dingtalk.md §5).
const MaxAppParamBytes = 15000

// tokenEarlyRefresh is how long before its expiry a cached access token is
// replaced.
const tokenEarlyRefresh = 5 * time.Minute

// ErrAppCredentials is the cause of an *Error when DingTalk refuses the app
// key and secret while issuing an access token.
var ErrAppCredentials = errors.New("dingtalk app credentials refused")

// AppRobotConfig configures an enterprise app robot that posts to one group
// through the OpenAPI (groupMessages/send).
type AppRobotConfig struct {
	AppKey    string // Client ID of the app
	AppSecret string // Client Secret of the app
	RobotCode string
	// ConversationID is the group's openConversationId.
	ConversationID string
	// APIBase defaults to DefaultAPIBase; tests point it at httptest.
	APIBase string
	// Client sends the requests; nil means a client that does not follow
	// redirects.
	Client *http.Client
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
	// Timeout bounds each HTTP request; 0 means DefaultTimeout.
	Timeout time.Duration
	// Keywords, when set (at most MaxKeywords), are guaranteed in every
	// message as for RobotConfig.Keywords.
	Keywords []string
	// Proxy, when set, is the proxy all of this robot's requests (token
	// fetches included) go through, as for RobotConfig.Proxy.
	Proxy string
	// Tokens, when set, is where the access token is cached, so that an
	// AppRobot built again on a config reload with the same API base, app
	// key and app secret and the same TokenCache reuses the token instead of
	// fetching a new one. nil means a cache private to this AppRobot.
	Tokens *TokenCache
}

// AppRobot sends messages as an enterprise app robot. It is safe for
// concurrent use. The access token is cached (in AppRobotConfig.Tokens when
// set) until 5 minutes before it expires, and concurrent sends that find no
// valid token fetch it once, across all the AppRobots that share the cached
// token.
//
// Mentions are written into the text only: groupMessages/send has no "at"
// block (dingtalk.md §5), so they are shown but may not notify.
type AppRobot struct {
	cfg     AppRobotConfig
	base    string
	client  *http.Client
	proxy   *url.URL // nil without a per-robot proxy
	shape   shape
	now     func() time.Time
	timeout time.Duration
	tok     *tokenSlot
}

var (
	_ Sender = (*AppRobot)(nil)
	_ Sizer  = (*AppRobot)(nil)
)

// TokenCache keeps app robot access tokens across AppRobots, so that a
// config reload, which builds new AppRobots, does not fetch a new token each
// time (DingTalk asks apps not to fetch tokens often). Tokens are kept per
// API base, app key and SHA-256 of the app secret: an AppRobot with a
// changed key or secret fetches its own token. At most one token fetch per
// key and secret runs at a time.
//
// The zero value is an empty cache ready for use. A TokenCache is safe for
// concurrent use and must not be copied after first use. It keeps one small
// entry per distinct set of credentials it has seen, for its whole life.
type TokenCache struct {
	mu      sync.Mutex
	entries map[tokenKey]*tokenSlot
}

// tokenKey identifies the credentials a token was issued for; the secret is
// only kept as its hash.
type tokenKey struct {
	base, appKey string
	secret       [sha256.Size]byte
}

// slot returns the entry for k, creating it when absent.
func (c *TokenCache) slot(k tokenKey) *tokenSlot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[tokenKey]*tokenSlot)
	}
	s := c.entries[k]
	if s == nil {
		s = newTokenSlot()
		c.entries[k] = s
	}
	return s
}

// tokenSlot is the cached access token of one set of credentials, shared by
// every AppRobot that uses them with the same TokenCache.
type tokenSlot struct {
	fetching chan struct{} // one token fetch at a time

	mu      sync.Mutex
	token   string
	expires time.Time
}

func newTokenSlot() *tokenSlot { return &tokenSlot{fetching: make(chan struct{}, 1)} }

// cached returns the cached token if it is still valid at now.
func (s *tokenSlot) cached(now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && now.Before(s.expires) {
		return s.token
	}
	return ""
}

// store caches tok until expires.
func (s *tokenSlot) store(tok string, expires time.Time) {
	s.mu.Lock()
	s.token, s.expires = tok, expires
	s.mu.Unlock()
}

// drop forgets tok if it is still the cached token.
func (s *tokenSlot) drop(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == tok {
		s.token, s.expires = "", time.Time{}
	}
}

// NewAppRobot validates cfg and returns an AppRobot. Errors wrap ErrConfig
// and never contain the app secret or the proxy URL.
func NewAppRobot(cfg AppRobotConfig) (*AppRobot, error) {
	for _, f := range []struct{ name, v string }{
		{"app_key", cfg.AppKey}, {"app_secret", cfg.AppSecret},
		{"robot_code", cfg.RobotCode}, {"conversation_id", cfg.ConversationID},
	} {
		if strings.TrimSpace(f.v) == "" {
			return nil, fmt.Errorf("%w: app robot needs %s", ErrConfig, f.name)
		}
	}
	base := strings.TrimRight(cfg.APIBase, "/")
	if base == "" {
		base = DefaultAPIBase
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: api_base must be an http or https URL", ErrConfig)
	}
	keywords, err := checkKeywords(cfg.Keywords)
	if err != nil {
		return nil, err
	}
	client, proxy, err := robotClient(cfg.Client, cfg.Proxy)
	if err != nil {
		return nil, err
	}
	cfg.Keywords = keywords
	a := &AppRobot{
		cfg:     cfg,
		base:    base,
		client:  client,
		proxy:   proxy,
		shape:   shape{keywords: keywords, size: appParamSize, max: MaxAppParamBytes},
		now:     cfg.Now,
		timeout: cfg.Timeout,
	}
	if cfg.Tokens != nil {
		a.tok = cfg.Tokens.slot(tokenKey{base: base, appKey: cfg.AppKey, secret: sha256.Sum256([]byte(cfg.AppSecret))})
	} else {
		a.tok = newTokenSlot()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	return a, nil
}

// String describes the robot without its secret or token (and of its proxy
// only the scheme and host).
func (a *AppRobot) String() string {
	s := fmt.Sprintf("dingtalk.AppRobot{api: %s, robot_code: %s, conversation: %s", a.base, a.cfg.RobotCode, a.cfg.ConversationID)
	if a.proxy != nil {
		s += ", proxy: " + proxyLabel(a.proxy)
	}
	return s + "}"
}

// GoString is String, so %#v does not print the secret either.
func (a *AppRobot) GoString() string { return a.String() }

// appParam returns the msgKey and the msgParam JSON string for m.
func appParam(m Message) (key string, param []byte, err error) {
	text, err := m.checkedText()
	if err != nil {
		return "", nil, err
	}
	if m.Type == MsgMarkdown {
		param, err = marshal(wireMarkdown{Title: m.title(), Text: text})
		return "sampleMarkdown", param, err
	}
	param, err = marshal(wireText{Content: text})
	return "sampleText", param, err
}

// appParamSize is the size function of the app robot: the length of msgParam.
func appParamSize(m Message) (int, error) {
	_, p, err := appParam(m)
	return len(p), err
}

// MessageSize returns the length of the msgParam Send would send for m if it
// needed no truncation: keyword added, mentions appended. When it is over
// MaxMessageSize, Send truncates the text. An invalid message is an error
// wrapping ErrUnsupportedType or ErrEmptyMessage.
func (a *AppRobot) MessageSize(m Message) (int, error) { return a.shape.sizeOf(m) }

// MaxMessageSize returns MaxAppParamBytes, the app robot's limit on msgParam.
func (a *AppRobot) MaxMessageSize() int { return MaxAppParamBytes }

// Send delivers m to the configured group. The message is fitted to
// MaxAppParamBytes first, with room left for the keyword; when the robot has
// Keywords and the text holds none, the first is appended as a final line.
// When DingTalk refuses a cached access token, the token is dropped and the
// send is tried once more with a fresh one; a refused fresh token is
// ClassConfig.
//
// Outcomes: 2xx is nil; a throttling code or HTTP 429 and 5xx, network errors
// and timeouts are ClassRetry; token or permission refusals (HTTP 401/403,
// InvalidAuthentication) ClassConfig; other HTTP 4xx ClassPermanent.
func (a *AppRobot) Send(ctx context.Context, m Message) error {
	m, _, err := a.shape.prepare(m)
	if err != nil {
		return &Error{Class: ClassPermanent, Err: err}
	}
	key, param, err := appParam(m)
	if err != nil {
		return &Error{Class: ClassPermanent, Err: err}
	}
	if len(param) > MaxAppParamBytes {
		return &Error{Class: ClassPermanent, Err: fmt.Errorf("%w: msgParam %d bytes", ErrTooLarge, len(param))}
	}
	body, err := marshal(struct {
		MsgKey             string `json:"msgKey"`
		MsgParam           string `json:"msgParam"`
		OpenConversationID string `json:"openConversationId"`
		RobotCode          string `json:"robotCode"`
	}{key, string(param), a.cfg.ConversationID, a.cfg.RobotCode})
	if err != nil {
		return &Error{Class: ClassPermanent, Err: err}
	}
	for attempt := 0; ; attempt++ {
		tok, fresh, err := a.accessToken(ctx)
		if err != nil {
			return err
		}
		err = a.post(ctx, "/v1.0/robot/groupMessages/send", tok, body, nil)
		var e *Error
		if errors.As(err, &e) && e.Class == ClassConfig && isTokenCode(e.HTTPStatus, e.APICode) {
			a.tok.drop(tok)
			if !fresh && attempt == 0 {
				continue // a cached token may have been revoked: one retry with a new one
			}
		}
		return err
	}
}

// accessToken returns a valid token, fetching one when none is cached;
// fresh reports that it was fetched by this call.
func (a *AppRobot) accessToken(ctx context.Context) (tok string, fresh bool, err error) {
	if tok := a.tok.cached(a.now()); tok != "" {
		return tok, false, nil
	}
	select {
	case a.tok.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", false, &Error{Class: ClassRetry, Err: ctx.Err()}
	}
	defer func() { <-a.tok.fetching }()
	if tok := a.tok.cached(a.now()); tok != "" {
		return tok, false, nil // another Send fetched it while we waited
	}
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpireIn    int64  `json:"expireIn"`
	}
	in, err := marshal(struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}{a.cfg.AppKey, a.cfg.AppSecret})
	if err != nil {
		return "", false, &Error{Class: ClassPermanent, Err: err}
	}
	obtained := a.now()
	if err := a.post(ctx, "/v1.0/oauth2/accessToken", "", in, &out); err != nil {
		var e *Error
		if errors.As(err, &e) && e.HTTPStatus >= 400 && e.HTTPStatus < 500 && e.Class != ClassRetry &&
			e.HTTPStatus != http.StatusProxyAuthRequired {
			e.Class = ClassConfig
			e.Err = ErrAppCredentials
		}
		return "", false, err
	}
	if out.AccessToken == "" || out.ExpireIn <= 0 {
		return "", false, &Error{HTTPStatus: http.StatusOK, Class: ClassRetry, Err: fmt.Errorf("%w: no accessToken or expireIn", ErrBadResponse)}
	}
	life := time.Duration(out.ExpireIn) * time.Second
	if life > 2*tokenEarlyRefresh {
		life -= tokenEarlyRefresh
	} else {
		life /= 2
	}
	a.tok.store(out.AccessToken, obtained.Add(life))
	return out.AccessToken, true, nil
}

// post sends one JSON request with its own timeout. A 2xx answer is decoded
// into out when out is not nil; any other answer is an *Error.
func (a *AppRobot) post(ctx context.Context, path, token string, body []byte, out any) error {
	ctx, cancel := context.WithTimeoutCause(ctx, a.timeout, ErrAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return &Error{Class: ClassPermanent, Err: err}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("x-acs-dingtalk-access-token", token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		if errors.Is(context.Cause(ctx), ErrAttemptTimeout) {
			err = fmt.Errorf("%w: %w", ErrAttemptTimeout, err)
		}
		return &Error{Class: ClassRetry, Err: a.redact(err, token)}
	}
	raw, readErr := readBody(resp)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if readErr != nil {
			return &Error{HTTPStatus: resp.StatusCode, Class: ClassRetry, Err: fmt.Errorf("%w: %w", ErrBadResponse, a.redact(readErr, token))}
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return &Error{HTTPStatus: resp.StatusCode, Class: ClassRetry, Err: fmt.Errorf("%w: not json", ErrBadResponse)}
			}
		}
		return nil
	}
	var apiErr struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &apiErr)
	e := &Error{
		HTTPStatus: resp.StatusCode,
		APICode:    clip(scrub(apiErr.Code, token, a.cfg.AppSecret), 128),
		Msg:        clip(scrub(apiErr.Message, token, a.cfg.AppSecret), maxErrMsgBytes),
		Class:      classifyApp(resp.StatusCode, apiErr.Code),
	}
	return e
}

// classifyApp maps an OpenAPI failure to a Class: throttling codes, 429 and
// 5xx retry; token and permission refusals and a proxy's 407 are config; any
// other status is permanent (e.g. 400 invalidParameter.*).
func classifyApp(status int, code string) Class {
	switch {
	case status >= 200 && status < 300:
		return ClassOK
	case isThrottleCode(code), status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return ClassRetry
	case status == http.StatusProxyAuthRequired, isTokenCode(status, code):
		return ClassConfig
	}
	return ClassPermanent
}

// redact removes the token, the secret and the proxy's credentials from a
// transport error.
func (a *AppRobot) redact(err error, token string) error {
	s := err.Error()
	if c := scrub(s, append([]string{token, a.cfg.AppSecret}, proxySecrets(a.proxy)...)...); c != s {
		var cause error
		if isTimeout(err) {
			cause = context.DeadlineExceeded
		}
		return &redacted{msg: c, err: cause}
	}
	return err
}
