package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout is the per-attempt timeout of a send when none is configured.
const DefaultTimeout = 10 * time.Second

// maxResponseBytes caps how much of a DingTalk response is read.
const maxResponseBytes = 64 << 10

// maxErrMsgBytes caps the errmsg kept in an Error.
const maxErrMsgBytes = 512

// Errors returned by NewRobot and NewAppRobot.
var (
	// ErrConfig wraps every configuration error of a robot.
	ErrConfig = errors.New("dingtalk: invalid robot config")
)

// RobotConfig configures a custom group robot (自定义机器人).
type RobotConfig struct {
	// Webhook is the robot's URL with its access_token, e.g.
	// https://oapi.dingtalk.com/robot/send?access_token=…; tests point it at
	// an httptest server.
	Webhook string
	// Secret is the robot's 加签 secret (starts with "SEC"); empty when the
	// robot uses another security setting (keyword or IP allowlist).
	Secret string
	// Client sends the requests. nil means a client that does not follow
	// redirects (the per-attempt timeout comes from Timeout either way).
	Client *http.Client
	// Now is the clock used for the signature timestamp; nil means time.Now.
	Now func() time.Time
	// Timeout bounds each Send attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Keywords are the robot's custom keywords (at most MaxKeywords), when
	// it is secured with them: every message sent then contains one of
	// them, the first being appended as a final line of a text that has
	// none (dingtalk.md §4). Empty means no keyword is added.
	Keywords []string
	// Proxy, when set, is the http://, https:// or socks5:// URL of a proxy
	// that all of this robot's requests go through, overriding HTTPS_PROXY
	// and NO_PROXY. The robot then sends with a clone of Client's
	// *http.Transport (http.DefaultTransport's when Client has none) whose
	// Proxy is this URL; Client's Transport must be an *http.Transport.
	// Empty means Client as is, which with the default transport honours
	// HTTPS_PROXY and NO_PROXY.
	Proxy string
}

// Robot sends messages through a custom group robot's webhook. It is safe
// for concurrent use. It does not retry and does not rate-limit: the caller's
// outbox does both, using the Class, Reason and RetryAfter of the returned
// *Error.
type Robot struct {
	base    *url.URL // webhook without timestamp/sign
	token   string
	secret  string
	client  *http.Client
	proxy   *url.URL // nil without a per-robot proxy
	shape   shape
	now     func() time.Time
	timeout time.Duration
}

var (
	_ Sender = (*Robot)(nil)
	_ Sizer  = (*Robot)(nil)
)

// NewRobot validates cfg and returns a Robot. The webhook must be an
// absolute http(s) URL with a non-empty access_token; the secret, when set,
// must start with "SEC"; the keywords and the proxy must be valid. Errors wrap
// ErrConfig and never contain the token, the secret or the proxy URL.
func NewRobot(cfg RobotConfig) (*Robot, error) {
	u, err := url.Parse(cfg.Webhook)
	if err != nil {
		return nil, fmt.Errorf("%w: webhook is not a valid URL", ErrConfig)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: webhook must be an http or https URL, got scheme %q", ErrConfig, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: webhook has no host", ErrConfig)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: webhook query does not parse", ErrConfig)
	}
	token := q.Get("access_token")
	if strings.TrimSpace(token) == "" {
		return nil, fmt.Errorf("%w: webhook has no access_token query parameter (copy the whole URL from the robot's settings)", ErrConfig)
	}
	if len(q["access_token"]) > 1 {
		return nil, fmt.Errorf("%w: webhook has more than one access_token", ErrConfig)
	}
	if cfg.Secret != "" && !strings.HasPrefix(cfg.Secret, "SEC") {
		return nil, fmt.Errorf("%w: secret must be the SEC… string shown under the robot's 加签 setting", ErrConfig)
	}
	keywords, err := checkKeywords(cfg.Keywords)
	if err != nil {
		return nil, err
	}
	client, proxy, err := robotClient(cfg.Client, cfg.Proxy)
	if err != nil {
		return nil, err
	}
	q.Del("timestamp")
	q.Del("sign")
	u.RawQuery = q.Encode()
	u.Fragment = ""
	r := &Robot{
		base:    u,
		token:   token,
		secret:  cfg.Secret,
		client:  client,
		proxy:   proxy,
		shape:   shape{keywords: keywords, size: bodySize, max: MaxBodyBytes},
		now:     cfg.Now,
		timeout: cfg.Timeout,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	return r, nil
}

// noRedirect stops http.Client from following a redirect: a POST must not
// turn into a GET, and the token must not travel to another host.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// String describes the robot with its access_token masked (and of its proxy
// only the scheme and host).
func (r *Robot) String() string {
	s := fmt.Sprintf("dingtalk.Robot{webhook: %s, signed: %t", RedactURL(r.base.String()), r.secret != "")
	if r.proxy != nil {
		s += ", proxy: " + proxyLabel(r.proxy)
	}
	return s + "}"
}

// GoString is String, so %#v does not print the token either.
func (r *Robot) GoString() string { return r.String() }

// MessageSize returns the length of the request body Send would send for m
// if it needed no truncation: keyword added, mentions appended, msgUuid
// included. When it is over MaxMessageSize, Send truncates the text. An
// invalid message is an error wrapping ErrUnsupportedType or ErrEmptyMessage.
func (r *Robot) MessageSize(m Message) (int, error) { return r.shape.sizeOf(m) }

// MaxMessageSize returns MaxBodyBytes, the custom robot's limit on a request
// body.
func (r *Robot) MaxMessageSize() int { return MaxBodyBytes }

// Send delivers m. The message is first fitted (as Fit does) so it is never
// sent over MaxBodyBytes, with room left for the robot's keyword so the cut
// never removes it; a message that cannot be made to fit is a permanent
// *Error wrapping ErrTooLarge and is not sent. When the robot has Keywords
// and the text holds none, the first is appended as a final line. Each call
// signs with a fresh millisecond timestamp from Now, and has its own timeout.
//
// Send returns nil when DingTalk answered errcode 0, and otherwise an
// *Error: HTTP 5xx/429 and network errors and timeouts are ClassRetry, other
// HTTP statuses ClassPermanent, and errcodes as Classify says.
func (r *Robot) Send(ctx context.Context, m Message) error {
	m, _, err := r.shape.prepare(m)
	if err != nil {
		return &Error{Class: ClassPermanent, Err: err}
	}
	body, err := m.Body()
	if err != nil {
		return &Error{Class: ClassPermanent, Err: err}
	}
	if len(body) > MaxBodyBytes {
		return &Error{Class: ClassPermanent, Err: fmt.Errorf("%w: %d bytes", ErrTooLarge, len(body))}
	}

	target, sign := r.base, ""
	if r.secret != "" {
		// Fresh timestamp on every call: a timestamp computed once goes
		// stale after an hour (dingtalk.md §1.2 "recurring bug").
		target = SignURL(r.base, r.secret, r.now().UnixMilli())
		sign = target.Query().Get("sign")
	}

	ctx, cancel := context.WithTimeoutCause(ctx, r.timeout, ErrAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return &Error{Class: ClassPermanent, Err: r.redact(err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := r.client.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && errors.Is(cause, ErrAttemptTimeout) {
			err = fmt.Errorf("%w: %w", ErrAttemptTimeout, err)
		}
		return &Error{Class: ClassRetry, Err: r.redact(err)}
	}
	raw, readErr := readBody(resp)
	return r.outcome(resp.StatusCode, raw, readErr, sign)
}

// readBody reads at most maxResponseBytes of resp, then drains a bounded
// remainder and closes the body so the connection can be reused.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	return raw, err
}

// robotResponse is the custom robot's answer.
type robotResponse struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// parseRobotResponse decodes {"errcode":N,"errmsg":"…"}. A body that is not
// JSON or has no errcode is ErrBadResponse.
func parseRobotResponse(raw []byte) (code int, msg string, err error) {
	var rr robotResponse
	if err := json.Unmarshal(raw, &rr); err != nil {
		return 0, "", fmt.Errorf("%w: not json", ErrBadResponse)
	}
	if rr.ErrCode == nil {
		return 0, rr.ErrMsg, fmt.Errorf("%w: no errcode", ErrBadResponse)
	}
	return *rr.ErrCode, rr.ErrMsg, nil
}

// outcome turns an HTTP status and body into nil or an *Error.
// sign is the request's signature, scrubbed from errmsg like the token.
func (r *Robot) outcome(status int, raw []byte, readErr error, sign string) error {
	code, msg, perr := parseRobotResponse(raw)
	msg = clip(scrub(r.scrubString(msg), sign, url.QueryEscape(sign)), maxErrMsgBytes)
	if hc := ClassifyHTTP(status); hc != ClassOK {
		e := &Error{HTTPStatus: status, Class: hc, Msg: msg}
		if perr == nil {
			e.Code = code
		} else if e.Msg == "" {
			e.Msg = clip(scrub(r.scrubString(strings.TrimSpace(string(raw))), sign, url.QueryEscape(sign)), 200)
		}
		return e
	}
	if readErr != nil {
		return &Error{HTTPStatus: status, Class: ClassRetry, Err: fmt.Errorf("%w: %w", ErrBadResponse, r.redact(readErr))}
	}
	if perr != nil {
		return &Error{HTTPStatus: status, Class: ClassRetry, Msg: msg, Err: perr}
	}
	if code == CodeOK {
		return nil
	}
	return &Error{Code: code, Msg: msg, HTTPStatus: status, Class: Classify(code)}
}

// redact removes the token and sign from a transport error.
func (r *Robot) redact(err error) error {
	err = RedactError(err)
	if s := err.Error(); s != r.scrubString(s) {
		// The token leaked into a nested message: keep only the text and
		// whether it was a timeout, never the original chain.
		var cause error
		if isTimeout(err) {
			cause = context.DeadlineExceeded
		}
		return &redacted{msg: r.scrubString(s), err: cause}
	}
	return err
}

// scrubString removes the token, the secret and the proxy's credentials
// from s.
func (r *Robot) scrubString(s string) string {
	return scrub(s, append([]string{r.token, url.QueryEscape(r.token), r.secret}, proxySecrets(r.proxy)...)...)
}
