package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DingTalk errcodes with a meaning of their own (dingtalk.md §3.2).
const (
	CodeOK              = 0
	CodeBusy            = -1     // 系统繁忙
	CodeMissingJSON     = 40035  // 缺少参数 json
	CodeBadContentType  = 43004  // 无效的HTTP HEADER Content-Type
	CodeQuota           = 90030  // webhook over limit
	CodeTooLongLegacy   = 101002 // message is too long (legacy)
	CodeRateLimitLegacy = 130101 // send too fast, exceed 20 times per minute (legacy)
	CodeTokenNotExist   = 300001 // token is not exist
	CodeExternalGroup   = 300005 // token is not exist (external group)
	CodeSecurity        = 310000 // 消息校验未通过 (keyword, sign, timestamp, IP)
	CodeGroupDissolved  = 400013 // 群已被解散
	CodeNoAccessToken   = 400101 // access_token不存在
	CodeRobotDisabled   = 400102 // 机器人已停用
	CodeBadMsgType      = 400105 // 不支持的消息类型
	CodeRobotNotExist   = 400106 // 机器人不存在
	CodeRateLimited     = 410100 // 发送速度太快而限流
	CodeUnsafeLink      = 430101 // 含有不安全的外链
	CodeBadText         = 430102 // 含有不合适的文本
	CodeBadImage        = 430103 // 含有不合适的图片
	CodeBadContent      = 430104 // 含有不合适的内容
	CodeTooLong         = 460101 // message too long, exceed 20000 bytes
)

// Waits returned by (*Error).RetryAfter.
const (
	// RateLimitPenalty is how long DingTalk blocks a robot that sent more
	// than 20 messages in a minute (dingtalk.md §3.1).
	RateLimitPenalty = 10 * time.Minute
	// QuotaRetryAfter is the wait after errcode 90030 (quota used up); the
	// official quota period is unconfirmed, so an hour bounds the retries.
	QuotaRetryAfter = time.Hour
	// ThrottleRetryAfter is the wait after HTTP 429 or an OpenAPI throttling code.
	ThrottleRetryAfter = time.Minute
)

// Reason labels returned by (*Error).Reason; stable, for metrics.
const (
	ReasonOK          = "ok"
	ReasonRateLimited = "rate_limited"
	ReasonQuota       = "quota"
	ReasonServer      = "server"
	ReasonNetwork     = "network"
	ReasonTimeout     = "timeout"
	ReasonConfig      = "config"
	ReasonPermanent   = "permanent"
	ReasonTooLarge    = "too_large"
	ReasonContent     = "content"
)

// Sentinel causes carried in Error.Err.
var (
	// ErrTooLarge: the message does not fit DingTalk's size limit even after
	// Fit (title and mentions alone are too long). Permanent.
	ErrTooLarge = errors.New("message too large for dingtalk")
	// ErrBadResponse: DingTalk answered with a body that is not the expected
	// JSON (or lacks errcode). Retried: a proxy or an overloaded gateway is
	// the usual cause, and a message must not be taken as delivered.
	ErrBadResponse = errors.New("unreadable dingtalk response")
	// ErrAttemptTimeout is the context cause when the per-attempt timeout of
	// a sender expires.
	ErrAttemptTimeout = errors.New("dingtalk attempt timed out")
)

// Error is the outcome of a send that DingTalk did not accept. Code and Msg
// are DingTalk's errcode and errmsg (Code 0 when the failure has none),
// APICode the string code of the app robot OpenAPI, HTTPStatus the HTTP
// status (0 when no response arrived), and Err the transport or local cause.
// Class says what to do about it; Reason and RetryAfter refine it.
//
// No field ever holds the access_token, the signing secret or the sign:
// transport errors are redacted with RedactError.
type Error struct {
	Code       int
	Msg        string
	HTTPStatus int
	Class      Class
	Err        error
	// APICode is the app robot's string error code, e.g.
	// "invalidParameter.msgParam.invalid" (dingtalk.md §5).
	APICode string
}

// Error returns a one-line description of DingTalk's answer, or of why none
// came: errcode and errmsg, the HTTP status (an HTTP failure is "http 500",
// never "errcode 0"), the app robot's code and the cause. It holds no
// internal labels (Class and Reason are fields, for logs and metrics) and no
// hint: a hint names the robot's keys, which an Error does not know, so
// callers that show one add HintFor(robot).
func (e *Error) Error() string { return "dingtalk: " + e.describe(false) }

// Status describes what DingTalk answered, for people: "errcode 310000: sign
// not match", "HTTP 500", "HTTP 400, code invalidParameter: …", or why no
// answer came ("cannot reach DingTalk: …"). Unlike Error it has no
// "dingtalk:" prefix.
func (e *Error) Status() string { return e.describe(true) }

// describe is Error without its prefix (human false: "http 500", terse
// wording for logs) or Status (human true: "HTTP 500", and why no answer
// came spelled out).
func (e *Error) describe(human bool) string {
	httpWord, codeSep := "http", " code "
	if human {
		httpWord, codeSep = "HTTP", ", code "
	}
	var b strings.Builder
	switch {
	case e.Code != 0:
		fmt.Fprintf(&b, "errcode %d", e.Code)
		if e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK {
			fmt.Fprintf(&b, " (%s %d)", httpWord, e.HTTPStatus)
		}
	case e.APICode != "":
		fmt.Fprintf(&b, "%s %d%s%s", httpWord, e.HTTPStatus, codeSep, e.APICode)
	case e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK:
		fmt.Fprintf(&b, "%s %d", httpWord, e.HTTPStatus)
	case !human && e.Class == ClassRetry:
		b.WriteString("send failed")
	case errors.Is(e.Err, ErrBadResponse):
		b.WriteString("DingTalk's answer could not be read")
	case e.HTTPStatus == 0 && e.Class == ClassRetry && e.Err != nil && isTimeout(e.Err):
		b.WriteString("no answer from DingTalk in time")
	case e.HTTPStatus == 0 && e.Class == ClassRetry:
		b.WriteString("cannot reach DingTalk")
	default:
		b.WriteString("not sent")
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "dingtalk: "))
	}
	return b.String()
}

// Unwrap returns the transport or local cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the class is ClassRetry.
func (e *Error) Retryable() bool { return e.Class == ClassRetry }

// Reason returns a stable metric label: ok, rate_limited, quota, server,
// network, timeout, config, permanent, too_large or content.
func (e *Error) Reason() string {
	if e == nil || e.Class == ClassOK {
		return ReasonOK
	}
	if e.Err != nil {
		switch {
		case errors.Is(e.Err, ErrTooLarge):
			return ReasonTooLarge
		case errors.Is(e.Err, ErrBadResponse):
			// Falls through to the status/code rules below.
		case e.HTTPStatus == 0 && e.Class == ClassRetry && isTimeout(e.Err):
			return ReasonTimeout
		case e.HTTPStatus == 0 && e.Class == ClassRetry:
			return ReasonNetwork
		}
	}
	switch e.Code {
	case CodeRateLimited, CodeRateLimitLegacy:
		return ReasonRateLimited
	case CodeQuota:
		return ReasonQuota
	case CodeTooLong, CodeTooLongLegacy:
		return ReasonTooLarge
	case CodeUnsafeLink, CodeBadText, CodeBadImage, CodeBadContent:
		return ReasonContent
	}
	if isThrottleCode(e.APICode) || e.HTTPStatus == http.StatusTooManyRequests {
		return ReasonRateLimited
	}
	if e.HTTPStatus >= 500 {
		return ReasonServer
	}
	switch e.Class {
	case ClassConfig:
		return ReasonConfig
	case ClassPermanent:
		return ReasonPermanent
	}
	return ReasonServer
}

// RetryAfter returns the least wait before the next attempt: 10 minutes after
// a rate-limit errcode (DingTalk blocks the robot for 10 minutes), 1 hour
// after the quota errcode 90030, 1 minute after HTTP 429 or a throttling
// API code. It returns 0 when the caller's normal backoff applies.
func (e *Error) RetryAfter() time.Duration {
	switch {
	case e == nil:
		return 0
	case e.Code == CodeRateLimited || e.Code == CodeRateLimitLegacy:
		return RateLimitPenalty
	case e.Code == CodeQuota:
		return QuotaRetryAfter
	case e.HTTPStatus == http.StatusTooManyRequests || isThrottleCode(e.APICode):
		return ThrottleRetryAfter
	}
	return 0
}

// HintFor is Hint naming the robot's keys: robots.finance-th.secret rather
// than robots.<name>.secret. An empty robot keeps the placeholder.
func (e *Error) HintFor(robot string) string { return nameRobot(e.Hint(), robot) }

// Hint returns one line telling an admin what to fix, or "" when there is
// nothing to fix on bankbot's side. It writes the robot's keys as
// robots.<name>.…; HintFor names the robot.
func (e *Error) Hint() string {
	switch {
	case e == nil:
		return ""
	case e.Code != 0:
		return Hint(e.Code, e.Msg)
	case e.HTTPStatus == http.StatusProxyAuthRequired:
		return "the proxy refused bankbot's proxy credentials: check the user and password in robots.<name>.proxy (or HTTPS_PROXY)"
	case errors.Is(e.Err, ErrAppCredentials):
		return "DingTalk refused the app credentials: check robots.<name>.app_key and app_secret (Client ID / Client Secret)"
	case e.APICode != "" || (e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK && e.Class == ClassConfig):
		return appHint(e.HTTPStatus, e.APICode)
	case errors.Is(e.Err, ErrTooLarge):
		return "shorten the template's title or its mention list: the message does not fit even with its text cut"
	case e.HTTPStatus == http.StatusNotFound:
		return "the webhook URL path is wrong: it must be https://oapi.dingtalk.com/robot/send?access_token=… (robots.<name>.webhook)"
	case e.HTTPStatus == http.StatusTooManyRequests:
		return "DingTalk is throttling requests; lower robots.<name>.rate_per_minute"
	case e.HTTPStatus >= 300 && e.HTTPStatus < 400:
		return "the webhook URL redirects; use the exact URL from the robot's settings (robots.<name>.webhook)"
	case e.HTTPStatus >= 400 && e.HTTPStatus < 500:
		return "DingTalk refused the request; check robots.<name>.webhook"
	case e.Err != nil && e.HTTPStatus == 0 && e.Class == ClassRetry && isTimeout(e.Err):
		return "no answer from DingTalk in time; check the network path or proxy to DingTalk"
	case e.Err != nil && e.HTTPStatus == 0 && e.Class == ClassRetry:
		return "cannot reach DingTalk; check DNS, firewall, HTTPS_PROXY and the webhook host"
	case e.HTTPStatus >= 500:
		return "DingTalk had a server error; the message is retried, nothing needs changing unless it persists"
	case errors.Is(e.Err, ErrBadResponse):
		return "the answer was not DingTalk's JSON; a proxy or gateway on the way may have answered: check robots.<name>.proxy, HTTPS_PROXY and robots.<name>.webhook"
	}
	return ""
}

// nameRobot writes robot into a hint's robots.<name> placeholders.
func nameRobot(hint, robot string) string {
	if robot == "" {
		return hint
	}
	return strings.ReplaceAll(hint, "robots.<name>", "robots."+robot)
}

// Classify maps a DingTalk robot errcode to a Class (dingtalk.md §3.2).
//
// Failure policy for an errcode not in the table: ClassRetry. DingTalk has
// renamed codes before (130101 → 410100, 101002 → 460101); treating an
// unknown code as permanent would dead-letter every message the day a
// transient code is renamed, while retrying a truly permanent one only costs
// the bounded retry budget before it is dead-lettered anyway. At-least-once
// delivery prefers the retry. Its Reason is "server".
func Classify(errcode int) Class {
	switch errcode {
	case CodeOK:
		return ClassOK
	case CodeBusy, CodeRateLimited, CodeRateLimitLegacy, CodeQuota:
		return ClassRetry
	case CodeSecurity:
		return ClassConfig
	case CodeGroupDissolved, CodeNoAccessToken, CodeRobotDisabled, CodeBadMsgType,
		CodeRobotNotExist, CodeTokenNotExist, CodeExternalGroup, CodeMissingJSON,
		CodeBadContentType,
		CodeUnsafeLink, CodeBadText, CodeBadImage, CodeBadContent,
		CodeTooLong, CodeTooLongLegacy:
		return ClassPermanent
	}
	return ClassRetry
}

// ClassifyHTTP maps the HTTP status of a custom robot response to a Class:
// 2xx is ClassOK (the errcode then decides), 408, 429 and 5xx are
// ClassRetry, 407 (a proxy refused bankbot's proxy credentials) is
// ClassConfig, anything else ClassPermanent.
func ClassifyHTTP(status int) Class {
	switch {
	case status >= 200 && status < 300:
		return ClassOK
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return ClassRetry
	case status == http.StatusProxyAuthRequired:
		return ClassConfig
	}
	return ClassPermanent
}

// HintFor is Hint naming the robot's keys: robots.finance-th.secret rather
// than robots.<name>.secret. An empty robot keeps the placeholder.
func HintFor(robot string, code int, msg string) string {
	return nameRobot(Hint(code, msg), robot)
}

// Hint returns one line telling an admin what to fix for a DingTalk robot
// errcode, writing the robot's keys as robots.<name>.…; HintFor names the
// robot. For 310000 the sub-reason (keyword, sign, timestamp, IP allowlist)
// is read from errmsg; errmsg is used only for this hint, never to classify.
func Hint(code int, msg string) string {
	switch code {
	case CodeOK:
		return ""
	case CodeBusy:
		return "DingTalk is busy; the message is retried"
	case CodeRateLimited, CodeRateLimitLegacy:
		return "the robot sent more than 20 messages in a minute and is blocked for 10 minutes; lower robots.<name>.rate_per_minute or route fewer events to it"
	case CodeQuota:
		return "the webhook call quota of the DingTalk organisation is used up; wait for it to reset or move the route to an app robot"
	case CodeSecurity:
		return securityHint(msg)
	case CodeNoAccessToken, CodeTokenNotExist:
		return "the access_token in robots.<name>.webhook is wrong; copy the webhook URL again from the robot's settings"
	case CodeExternalGroup:
		return "the robot is in an external group, where this webhook cannot post; use a robot of an internal group"
	case CodeGroupDissolved:
		return "the DingTalk group was dissolved; point the route at another robot"
	case CodeRobotDisabled:
		return "the robot is disabled; a group admin must re-enable it in the group's robot settings"
	case CodeRobotNotExist:
		return "the robot was removed from the group; add it again and update robots.<name>.webhook"
	case CodeBadMsgType, CodeMissingJSON, CodeBadContentType:
		return "bankbot sent a request DingTalk does not accept; report this as a bankbot bug"
	case CodeUnsafeLink:
		return "DingTalk blocked a link in the message as unsafe; remove or change the link in the template"
	case CodeBadText, CodeBadImage, CodeBadContent:
		return "DingTalk's content moderation rejected the message; change the template's wording or images"
	case CodeTooLong, CodeTooLongLegacy:
		return "the message is over 20000 bytes; shorten the template"
	}
	return fmt.Sprintf("unknown DingTalk errcode %d; it is retried, check DingTalk's errcode documentation", code)
}

// securityHint explains a 310000 from its errmsg.
func securityHint(msg string) string {
	l := strings.ToLower(msg)
	switch {
	case strings.Contains(l, "keyword") || strings.Contains(msg, "关键词"):
		return "the message lacks the robot's custom keyword (自定义关键词); add the keyword to the template text or switch the robot to 加签"
	case strings.Contains(l, "sign not match") || strings.Contains(msg, "签名不匹配"):
		return "the robot's secret (SEC…) does not match the robot's 加签 setting, or the server clock is off by more than 1 hour; copy robots.<name>.secret again"
	case strings.Contains(l, "timestamp") || strings.Contains(msg, "签名过期") || strings.Contains(msg, "过期"):
		return "the signature timestamp was rejected: the server clock is off by more than 1 hour; fix NTP on this host"
	case strings.Contains(l, "whitelist") || strings.Contains(msg, "白名单"):
		return "this server's public IP is not in the robot's IP allowlist (IP地址（段）); add the egress IP in the robot's security settings"
	}
	return "the robot's security settings rejected the message (keyword, 加签 secret, clock, or IP allowlist); check robots.<name>.secret and the robot's settings"
}

// appHint explains an app robot OpenAPI failure.
func appHint(status int, code string) string {
	switch {
	case isThrottleCode(code):
		return "the app's API call rate is throttled by DingTalk; the message is retried"
	case isTokenCode(status, code):
		return "the app credentials were refused: check robots.<name>.app_key and app_secret, and that the app has the qyapi_robot_sendmsg permission"
	case strings.Contains(strings.ToLower(code), "robotcode"):
		return "robots.<name>.robot_code is wrong or empty"
	case strings.Contains(strings.ToLower(code), "conversation"):
		return "robots.<name>.conversation_id is wrong, or the robot is not in that group"
	case status >= 500:
		return ""
	}
	return "DingTalk refused the request; check the app robot settings (robot_code, conversation_id, permissions)"
}

// isThrottleCode reports whether an OpenAPI string code means throttling.
func isThrottleCode(code string) bool {
	l := strings.ToLower(code)
	return strings.Contains(l, "throttl") || strings.Contains(l, "qpslimit") || strings.Contains(l, "ratelimit") ||
		strings.Contains(l, "flowcontrol")
}

// isTokenCode reports whether an OpenAPI answer means the access token or the
// app credentials were refused.
func isTokenCode(status int, code string) bool {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return true
	}
	l := strings.ToLower(code)
	return strings.Contains(l, "authentication") || strings.Contains(l, "accesstoken") ||
		strings.Contains(l, "access_token") || strings.Contains(l, "authfailed")
}

// isTimeout reports whether err is a timeout: a context deadline, our
// per-attempt timeout, or a net.Error that says so.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrAttemptTimeout) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// redactedKeys returns the query parameters RedactURL hides.
func redactedKeys() []string { return []string{"access_token", "sign", "timestamp", "session"} }

// RedactURL returns raw with the values of the query parameters
// access_token, sign, timestamp and session replaced by "REDACTED". A URL that
// does not parse loses its whole query.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			return raw[:i] + "?REDACTED"
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery == "" {
		return u.String()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		u.RawQuery = "REDACTED"
		return u.String()
	}
	for _, k := range redactedKeys() {
		if _, ok := q[k]; ok {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// RedactError returns err with the URL of every *url.Error in its chain
// passed through RedactURL, so http.Client errors can be logged. Errors of
// other types are returned unchanged.
func RedactError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	// Rebuild the *url.Error at the top: http.Client returns it outermost.
	if top, ok := err.(*url.Error); ok {
		return &url.Error{Op: top.Op, URL: RedactURL(top.URL), Err: RedactError(top.Err)}
	}
	return &redacted{msg: strings.ReplaceAll(err.Error(), ue.URL, RedactURL(ue.URL)), err: ue.Err}
}

// redacted is an error whose message had a URL redacted. Unwrap returns the
// cause below the *url.Error (so timeouts are still recognised) and never the
// *url.Error itself, whose URL holds the token.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// scrub removes every secret from s. Values shorter than minScrub are left
// alone: real DingTalk tokens (64 hex characters), SEC… secrets and signs are
// far longer, and replacing a 3-letter "secret" would mangle ordinary words
// of the message (a token "tok" inside "access_token").
func scrub(s string, secrets ...string) string {
	for _, x := range secrets {
		if len(x) >= minScrub {
			s = strings.ReplaceAll(s, x, "REDACTED")
		}
	}
	return s
}

// minScrub is the shortest value scrub replaces.
const minScrub = 4

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:runeStart(s, n)] + "…"
}
