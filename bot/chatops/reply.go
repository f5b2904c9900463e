package chatops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/dingtalk"
)

// Defaults of a Replier.
const (
	// DefaultMaxWait is the longest a reply waits for the robot's budget.
	DefaultMaxWait = 2 * time.Minute
	// sessionMargin: a sessionWebhook this close to its expiry is not used.
	sessionMargin = time.Minute
	// partMarkRoom is room left in each part for its "(1/3)" mark.
	partMarkRoom = 32
	// maxSessionResponse caps how much of a session webhook's answer is read.
	maxSessionResponse = 64 << 10
)

// DefaultSessionHosts are the hosts a sessionWebhook may point at
// (https://oapi.dingtalk.com/robot/sendBySession?session=…, dingtalk.md §6.4).
var DefaultSessionHosts = []string{"oapi.dingtalk.com", "oapi.dingtalk.io"}

// Clock is the time source of a Replier.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Budget takes sends from the reply robot's send budget, shared with its
// alerts (bot.ReserveSlot).
type Budget interface {
	// Reserve takes one send at now. slot is 0 when none is free; next is
	// then when one will be.
	Reserve(ctx context.Context, now time.Time) (slot int64, next time.Time, err error)
	// Stamp moves a reserved send's stamp to the time DingTalk answered.
	Stamp(ctx context.Context, slot int64, at time.Time) error
}

// Replier sends replies: to the message's sessionWebhook while it is valid,
// else (or when the session webhook fails) through the app robot's OpenAPI
// into the message's conversation. A long reply is split into parts that
// each fit both ways, and every part takes one send of the robot's budget
// first.
type Replier struct {
	// Client posts to session webhooks; it must have a timeout.
	Client *http.Client
	Clock  Clock
	// Fallback returns the app robot's sender posting into conversationID
	// (groupMessages/send); nil, or an error, means no fallback.
	Fallback func(conversationID string) (dingtalk.Sender, error)
	Budget   Budget
	// SessionHosts are the hosts a sessionWebhook may point at; the body
	// of a callback is not signed, so any other host is refused (a forged
	// body must not send amounts elsewhere). Empty means DefaultSessionHosts.
	SessionHosts []string
	// Timeout bounds each send; 0 means dingtalk.DefaultTimeout.
	Timeout time.Duration
	// MaxWait bounds the wait for the budget; 0 means DefaultMaxWait.
	MaxWait time.Duration
	Log     logrus.FieldLogger
	// Sent, when set, is called after each part with how it went ("session"
	// or "openapi") and the outcome ("ok", or a dingtalk reason).
	Sent func(via, result string)
}

// ErrNoRoute: neither the session webhook nor the app robot could take the reply.
var ErrNoRoute = errors.New("chatops: no way to send the reply")

// ErrNoBudget: the robot's budget stayed spent for longer than MaxWait.
var ErrNoBudget = errors.New("chatops: the robot's send budget stayed spent")

// Reply sends rep in answer to m. It returns the first error that stopped
// a part; the parts before it were sent.
func (r *Replier) Reply(ctx context.Context, m Message, rep Reply) error {
	if rep.Silent || strings.TrimSpace(rep.Text) == "" {
		return nil
	}
	var fallback dingtalk.Sender
	if r.Fallback != nil && m.ConversationType != ConversationSingle {
		if s, err := r.Fallback(m.ConversationID); err == nil {
			fallback = s
		} else {
			r.log().WithError(err).Warn("chat reply: no app robot fallback")
		}
	}
	session := r.sessionUsable(m)
	title := rep.Title
	if title == "" {
		title = "bankbot"
	}
	parts := Split(rep.Text, func(text string) bool {
		return fits(dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: title, Text: text}, fallback)
	})
	for i, p := range parts {
		msg := dingtalk.Message{Type: dingtalk.MsgMarkdown, Title: title, Text: p}
		if len(parts) > 1 {
			msg.Text += fmt.Sprintf("\n\n(%d/%d)", i+1, len(parts))
		}
		if session {
			err := r.send(ctx, "session", func(ctx context.Context) error { return r.postSession(ctx, m.SessionWebhook, msg) })
			if err == nil {
				continue
			}
			if errors.Is(err, ErrNoBudget) || ctx.Err() != nil {
				return err
			}
			session = false // expired or refused: the rest goes through the OpenAPI
			r.log().WithError(err).Info("chat reply: session webhook failed; using the app robot")
		}
		if fallback == nil {
			return fmt.Errorf("%w: session webhook unusable and no app robot fallback", ErrNoRoute)
		}
		if err := r.send(ctx, "openapi", func(ctx context.Context) error { return fallback.Send(ctx, msg) }); err != nil {
			return err
		}
	}
	return nil
}

// fits reports whether msg is within DingTalk's limits both as a session
// webhook body and, when there is a fallback that can tell, as its message,
// with room for a part mark.
func fits(msg dingtalk.Message, fallback dingtalk.Sender) bool {
	body, err := msg.Body()
	if err != nil || len(body)+partMarkRoom > dingtalk.MaxBodyBytes {
		return false
	}
	if sz, ok := fallback.(dingtalk.Sizer); ok {
		n, err := sz.MessageSize(msg)
		return err == nil && n+partMarkRoom <= sz.MaxMessageSize()
	}
	return true
}

// send takes one send of the budget, runs do, and restamps the send.
func (r *Replier) send(ctx context.Context, via string, do func(context.Context) error) error {
	slot, err := r.reserve(ctx)
	if err != nil {
		r.sent(via, "no_budget")
		return err
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = dingtalk.DefaultTimeout
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	err = do(sendCtx)
	cancel()
	if slot != 0 {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if serr := r.Budget.Stamp(bg, slot, r.Clock.Now()); serr != nil {
			r.log().WithError(serr).Warn("chat reply: cannot restamp the send slot; its earlier stamp stands")
		}
		cancel()
	}
	result := dingtalk.ReasonOK
	var de *dingtalk.Error
	switch {
	case errors.As(err, &de):
		result = de.Reason()
	case err != nil:
		result = "error"
	}
	r.sent(via, result)
	return err
}

func (r *Replier) sent(via, result string) {
	if r.Sent != nil {
		r.Sent(via, result)
	}
}

// reserve waits for one send of the robot's budget, at most MaxWait.
//
// Failure policy: fails closed (a reply is never sent outside the budget,
// so it cannot get the robot's alerts blocked by DingTalk); after MaxWait,
// or when the store cannot be read, the reply is dropped with a log line.
func (r *Replier) reserve(ctx context.Context) (int64, error) {
	if r.Budget == nil {
		return 0, nil
	}
	maxWait := r.MaxWait
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	start := r.Clock.Now()
	for {
		now := r.Clock.Now()
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		slot, next, err := r.Budget.Reserve(bg, now)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("reserve a send: %w", err)
		}
		if slot != 0 {
			return slot, nil
		}
		if next.Sub(start) > maxWait {
			return 0, fmt.Errorf("%w until %s", ErrNoBudget, next.UTC().Format(time.RFC3339))
		}
		wait := max(next.Sub(now), time.Millisecond)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-r.Clock.After(wait):
		}
	}
}

// sessionUsable reports whether m's sessionWebhook may be used now: an
// http(s) URL on one of SessionHosts, not expired (with a minute's margin).
func (r *Replier) sessionUsable(m Message) bool {
	if m.SessionWebhook == "" {
		return false
	}
	if !m.SessionExpires.IsZero() && !r.Clock.Now().Add(sessionMargin).Before(m.SessionExpires) {
		return false
	}
	u, err := url.Parse(m.SessionWebhook)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return false
	}
	hosts := r.SessionHosts
	if len(hosts) == 0 {
		hosts = DefaultSessionHosts
	}
	if !slices.Contains(hosts, u.Host) && !slices.Contains(hosts, u.Hostname()) {
		r.log().WithField("host", u.Host).Warn("chat reply: sessionWebhook points at a host that is not DingTalk's; not used")
		return false
	}
	// Plain http only to a host configured explicitly (a test server).
	return u.Scheme == "https" || slices.Contains(r.SessionHosts, u.Host)
}

// postSession posts msg to a session webhook. DingTalk answers HTTP 200
// with {"errcode":N,"errmsg":…}; only errcode 0 is success (an expired
// session is errcode 300001).
func (r *Replier) postSession(ctx context.Context, webhook string, msg dingtalk.Message) error {
	body, err := msg.Body()
	if err != nil {
		return &dingtalk.Error{Class: dingtalk.ClassPermanent, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return &dingtalk.Error{Class: dingtalk.ClassPermanent, Err: dingtalk.RedactError(err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return &dingtalk.Error{Class: dingtalk.ClassRetry, Err: dingtalk.RedactError(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxSessionResponse))
	if resp.StatusCode != http.StatusOK {
		return &dingtalk.Error{HTTPStatus: resp.StatusCode, Class: dingtalk.ClassifyHTTP(resp.StatusCode)}
	}
	var out struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err != nil || json.Unmarshal(raw, &out) != nil || out.ErrCode == nil {
		return &dingtalk.Error{HTTPStatus: resp.StatusCode, Class: dingtalk.ClassRetry, Err: dingtalk.ErrBadResponse}
	}
	if *out.ErrCode != dingtalk.CodeOK {
		return &dingtalk.Error{HTTPStatus: resp.StatusCode, Code: *out.ErrCode, Msg: clipRunes(out.ErrMsg, 200), Class: dingtalk.Classify(*out.ErrCode)}
	}
	return nil
}

func (r *Replier) log() logrus.FieldLogger {
	if r.Log == nil {
		return discardLog
	}
	return r.Log
}

// Split cuts text into parts for which fits is true: at line ends where it
// can, and a line too long on its own at a rune boundary (never inside a
// character). A text that fits is one part.
func Split(text string, fits func(string) bool) []string {
	if fits(text) {
		return []string{text}
	}
	var parts []string
	cur := ""
	flush := func() {
		if strings.TrimSpace(cur) != "" {
			parts = append(parts, strings.TrimRight(cur, "\n"))
		}
		cur = ""
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		if fits(cur + line) {
			cur += line
			continue
		}
		flush()
		for !fits(line) {
			k := longestPrefix(line, fits)
			if k == 0 {
				return parts // nothing fits at all (a sender with no room)
			}
			parts = append(parts, line[:k])
			line = line[k:]
		}
		cur = line
	}
	flush()
	return parts
}

// longestPrefix is the byte length of the longest prefix of s, cut at a
// rune boundary, that fits.
func longestPrefix(s string, fits func(string) bool) int {
	lo, hi := 0, len(s)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		for mid > lo && !utf8.RuneStart(s[mid]) {
			mid--
		}
		if mid == lo {
			mid = (lo + hi) / 2
			for mid < hi && !utf8.RuneStart(s[mid]) {
				mid++
			}
			if mid == hi {
				break
			}
		}
		if fits(s[:mid]) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}
