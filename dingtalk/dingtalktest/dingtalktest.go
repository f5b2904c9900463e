// Package dingtalktest is a fake DingTalk custom group robot for tests of the
// whole project.
//
// Server checks what the real webhook checks (dingtalk.md §1–§4) and answers
// the way DingTalk does, HTTP 200 with {"errcode":N,"errmsg":"…"}:
//
//   - access_token missing → 300001, wrong → 400101;
//   - with Options.Secret: timestamp missing, malformed or more than 1 hour
//     from Now → 310000 "invalid timestamp"; sign missing, repeated or wrong →
//     310000 "sign not match" (the check is written here independently of
//     package dingtalk, so it proves the client's signing);
//   - Options.Keywords: none in the message → 310000 "keywords not in content";
//   - Content-Type not application/json → 43004; body not JSON → 40035;
//     unknown msgtype → 400105; body over MaxBody → 460101;
//   - more than RatePerMinute accepted messages in a sliding 60 s window →
//     410100, and every request for the next 10 minutes gets 410100 too
//     (both counted on each request's arrival time, taken before its body is
//     read).
//
// The size limit counts the raw request body bytes, as sent on the wire.
//
// It can also be taken down (HTTP 503 or a dropped connection) and scripted
// with canned responses. It records every request's arrival time and answer,
// so that tests can prove the rate limit was never tripped (MaxInWindow,
// MaxRequestsInWindow, Count). It does not import package dingtalk.
//
// For end-to-end tests of the real binary, the test process hosts the fake
// (Start, or New in a test) and hands its address to the binary through
// config: Env gives environment variables, RobotYAML a robots entry.
package dingtalktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of Options.
const (
	DefaultToken         = "dingtalktest-token"
	DefaultRatePerMinute = 20
	DefaultMaxBody       = 20000
	// RatePenalty is how long a robot stays blocked after exceeding the rate.
	RatePenalty = 10 * time.Minute
	// SignWindow is the allowed distance between the signed timestamp and Now.
	SignWindow = time.Hour
	// SendPath is the webhook path.
	SendPath = "/robot/send"
)

// DownMode says how a down server fails.
type DownMode int

// Down modes.
const (
	// DownUnavailable answers HTTP 503.
	DownUnavailable DownMode = iota
	// DownHangup closes the connection without an answer (the client sees a
	// network error such as EOF).
	DownHangup
)

// Options configures a Server. The zero value is a robot with the default
// token, no signing, 20 messages a minute and a 20000-byte limit.
type Options struct {
	// Secret is the robot's SEC… signing secret; when set every request must
	// carry a valid timestamp and sign.
	Secret string
	// Token is the access_token the robot requires; "" means DefaultToken.
	Token string
	// Keywords, when set, are the robot's custom keywords; a message must
	// contain one of them.
	Keywords []string
	// RatePerMinute is the number of messages accepted in any 60 s window;
	// 0 means DefaultRatePerMinute, negative means unlimited.
	RatePerMinute int
	// MaxBody is the largest body accepted, in bytes; 0 means DefaultMaxBody.
	MaxBody int
	// Now is the server's clock; nil means time.Now.
	Now func() time.Time
	// DownMode is how SetDown(true) fails requests.
	DownMode DownMode
}

// Response is a canned answer queued with Script. The zero Status is 200.
// Body, when set, is sent as is instead of {"errcode","errmsg"}; an empty
// ErrMsg for a non-zero ErrCode is filled with DingTalk's message for it.
type Response struct {
	Status  int
	ErrCode int
	ErrMsg  string
	Body    string
	// Stall holds the request until the client gives up (its context ends)
	// or the server closes: for per-attempt timeout tests without sleeps.
	Stall bool
	// Hangup closes the connection without an answer.
	Hangup bool
}

// Received is one message the server accepted.
type Received struct {
	MsgType   string
	Title     string // markdown, link and actionCard
	Text      string // text content or markdown text
	AtMobiles []string
	AtUserIDs []string
	AtAll     bool
	UUID      string    // msgUuid
	Timestamp int64     // signed timestamp (ms); 0 without signing
	Raw       []byte    // the request body
	At        time.Time // arrival time, by Options.Now
}

// Answer is the server's answer to one request (scripted, rejected or
// accepted), for assertions on what a client was told.
type Answer struct {
	HTTPStatus int // 0 when the connection was dropped
	ErrCode    int
	ErrMsg     string
	Scripted   bool
	At         time.Time // arrival time of the request, by Options.Now
}

// Server is a fake DingTalk custom robot on an httptest server. All methods
// are safe for concurrent use.
type Server struct {
	opts   Options
	srv    *httptest.Server
	closed chan struct{}
	once   sync.Once

	mu           sync.Mutex
	down         bool
	downMode     DownMode
	script       []Response
	requests     int
	messages     []Received
	answers      []Answer
	window       []time.Time
	arrivals     []time.Time // of every request
	limited      []time.Time // of every request the rate limit accepted or refused
	codes        map[int]int // answers written as {"errcode":N}, by N
	blockedUntil time.Time
	changed      chan struct{} // closed and replaced when a message is accepted
}

// New starts a Server and closes it when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := Start(opts)
	t.Cleanup(s.Close)
	return s
}

// Start starts a Server without a testing.TB (e.g. from TestMain). The
// caller must Close it.
func Start(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.RatePerMinute == 0 {
		opts.RatePerMinute = DefaultRatePerMinute
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:     opts,
		closed:   make(chan struct{}),
		downMode: opts.DownMode,
		changed:  make(chan struct{}),
		codes:    make(map[int]int),
	}
	s.srv = httptest.NewServer(s.Handler())
	return s
}

// URL returns the full webhook URL, access_token included.
func (s *Server) URL() string { return s.srv.URL + SendPath + "?access_token=" + s.opts.Token }

// BaseURL returns the server's root URL (scheme and host).
func (s *Server) BaseURL() string { return s.srv.URL }

// Token returns the access_token the server requires.
func (s *Server) Token() string { return s.opts.Token }

// Secret returns the signing secret ("" when signing is off).
func (s *Server) Secret() string { return s.opts.Secret }

// Env returns environment variables for a child process: PREFIX_WEBHOOK
// (the full URL), PREFIX_TOKEN and PREFIX_SECRET.
func (s *Server) Env(prefix string) []string {
	return []string{
		prefix + "_WEBHOOK=" + s.URL(),
		prefix + "_TOKEN=" + s.opts.Token,
		prefix + "_SECRET=" + s.opts.Secret,
	}
}

// RobotYAML returns a robots entry for config.yaml, indented to sit under a
// "robots:" key:
//
//	name:
//	  webhook: http://127.0.0.1:…/robot/send?access_token=…
//	  secret: SEC…
func (s *Server) RobotYAML(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:\n    webhook: %q\n", name, s.URL())
	if s.opts.Secret != "" {
		fmt.Fprintf(&b, "    secret: %q\n", s.opts.Secret)
	}
	return b.String()
}

// Close shuts the server down, releasing stalled requests first. It is
// idempotent.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Messages returns the accepted messages in arrival order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// Answers returns the server's answer to every request, in order.
func (s *Server) Answers() []Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Answer(nil), s.answers...)
}

// WaitForMessages waits until at least n messages were accepted or timeout
// passed, and returns the accepted messages (fewer than n on timeout; assert
// on the length). It wakes on each accepted message instead of sleeping.
func (s *Server) WaitForMessages(n int, timeout time.Duration) []Received {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			out := append([]Received(nil), s.messages...)
			s.mu.Unlock()
			return out
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return s.Messages()
		case <-s.closed:
			return s.Messages()
		}
	}
}

// SetDown takes the server down (every request fails as DownMode says) or
// brings it back.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// SetDownMode changes how a down server fails.
func (s *Server) SetDownMode(m DownMode) {
	s.mu.Lock()
	s.downMode = m
	s.mu.Unlock()
}

// Script queues canned responses. Each request consumes one, before any
// check; a scripted request is counted but never recorded as a message.
func (s *Server) Script(responses ...Response) {
	s.mu.Lock()
	s.script = append(s.script, responses...)
	s.mu.Unlock()
}

// Requests returns how many requests reached the server.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Arrivals returns the arrival time, by Options.Now, of every request that
// reached the server (scripted, down, refused or accepted), in arrival order.
// The arrival time is taken when the request's headers are in, before its
// body is read, and it is the time every check of that request uses.
func (s *Server) Arrivals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrivals...)
}

// Count returns how many answers carried errcode: the answers the server
// wrote as {"errcode":errcode,…}, scripted ones included. Count(0) counts
// accepted messages and scripted successes; HTTP errors without an errcode
// (503, 404), dropped connections and scripted Body answers are not counted.
func (s *Server) Count(errcode int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[errcode]
}

// MaxInWindow returns the largest number of accepted messages whose arrival
// times lie in one window of length d, over every position of a sliding
// window: a window holds the arrivals t with start <= t < start+d, so two
// arrivals exactly d apart are never in the same window, as in the fake's
// own rate limit. It is exact (not bucketed) and independent of the order in
// which the messages were recorded. MaxInWindow(time.Minute) <= 20 means
// DingTalk's rate limit of 20 messages a minute was never exceeded. It
// returns 0 when d <= 0.
func (s *Server) MaxInWindow(d time.Duration) int {
	s.mu.Lock()
	times := make([]time.Time, len(s.messages))
	for i, m := range s.messages {
		times[i] = m.At
	}
	s.mu.Unlock()
	return maxInWindow(times, d)
}

// MaxRequestsInWindow is MaxInWindow over every request that reached the
// rate-limit check: the accepted messages and the requests refused with
// 410100 by the fake's rate limit (over the rate, or during the 10-minute
// block). Requests refused for another reason (token, sign, keyword, size,
// body), scripted answers and requests to a down server are not counted.
func (s *Server) MaxRequestsInWindow(d time.Duration) int {
	s.mu.Lock()
	times := append([]time.Time(nil), s.limited...)
	s.mu.Unlock()
	return maxInWindow(times, d)
}

// maxInWindow returns the largest number of times t with
// start <= t < start+d for any start. It sorts times in place.
func maxInWindow(times []time.Time, d time.Duration) int {
	if d <= 0 {
		return 0
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi, t := range times {
		// The best window ending with times[hi] starts just after t-d.
		for !times[lo].After(t.Add(-d)) {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// BlockedUntil returns the end of the current rate-limit block (zero when
// the robot was never blocked).
func (s *Server) BlockedUntil() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blockedUntil
}

// Handler returns the fake as an http.Handler, to mount in another server.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	at := s.opts.Now() // the arrival time, before the body is read
	s.requests++
	s.arrivals = append(s.arrivals, at)
	down, mode := s.down, s.downMode
	var scripted *Response
	if !down && len(s.script) > 0 {
		scripted = &s.script[0]
		s.script = s.script[1:]
	}
	s.mu.Unlock()

	switch {
	case down && mode == DownHangup:
		s.record(Answer{At: at})
		s.hangup(w)
	case down:
		s.reply(w, Answer{At: at, HTTPStatus: http.StatusServiceUnavailable}, "service unavailable")
	case scripted != nil:
		s.playScript(w, r, at, *scripted)
	default:
		s.handle(w, r, at)
	}
}

func (s *Server) playScript(w http.ResponseWriter, r *http.Request, at time.Time, sr Response) {
	if sr.Stall {
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		s.record(Answer{At: at, Scripted: true})
		return
	}
	if sr.Hangup {
		s.record(Answer{At: at, Scripted: true})
		s.hangup(w)
		return
	}
	a := Answer{At: at, HTTPStatus: sr.Status, ErrCode: sr.ErrCode, ErrMsg: sr.ErrMsg, Scripted: true}
	if a.HTTPStatus == 0 {
		a.HTTPStatus = http.StatusOK
	}
	if a.ErrMsg == "" && a.ErrCode != 0 {
		a.ErrMsg = errMsg(a.ErrCode)
	}
	s.reply(w, a, sr.Body)
}

// handle runs the real checks on one request.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, at time.Time) {
	if r.URL.Path != SendPath {
		s.reply(w, Answer{At: at, HTTPStatus: http.StatusNotFound}, "404 page not found")
		return
	}
	if r.Method != http.MethodPost {
		s.reply(w, Answer{At: at, HTTPStatus: http.StatusMethodNotAllowed}, "method not allowed")
		return
	}
	now := at // every check, the rate limit included, uses the arrival time
	q := r.URL.Query()
	ts, code, msg := s.checkAuth(q, now)
	if code != 0 {
		s.reject(w, at, code, msg)
		return
	}
	s.mu.Lock()
	blocked := now.Before(s.blockedUntil)
	if blocked {
		s.limited = append(s.limited, now)
	}
	s.mu.Unlock()
	if blocked {
		s.reject(w, at, 410100, errMsg(410100))
		return
	}
	limit := int64(s.opts.MaxBody)
	if limit < 1<<20 {
		limit = 1 << 20
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		s.reply(w, Answer{At: at, HTTPStatus: http.StatusBadRequest}, "bad request")
		return
	}
	if len(raw) > s.opts.MaxBody {
		s.reject(w, at, 460101, fmt.Sprintf("message too long, exceed %d bytes", s.opts.MaxBody))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.reject(w, at, 43004, errMsg(43004))
		return
	}
	rec, code, msg := decode(raw)
	if code != 0 {
		s.reject(w, at, code, msg)
		return
	}
	if len(s.opts.Keywords) > 0 && !containsAny(rec.Title+"\n"+rec.Text, s.opts.Keywords) {
		s.reject(w, at, 310000, "keywords not in content")
		return
	}
	rec.Timestamp, rec.At = ts, at
	if code := s.admit(rec, now); code != 0 {
		s.reject(w, at, code, errMsg(code))
		return
	}
	s.reply(w, Answer{At: at, HTTPStatus: http.StatusOK, ErrMsg: "ok"}, "")
}

// checkAuth checks access_token, timestamp and sign. It returns the signed
// timestamp, or a non-zero errcode and errmsg.
func (s *Server) checkAuth(q map[string][]string, now time.Time) (ts int64, code int, msg string) {
	tokens := q["access_token"]
	switch {
	case len(tokens) == 0 || tokens[0] == "":
		return 0, 300001, "token is not exist"
	case len(tokens) != 1 || !hmac.Equal([]byte(tokens[0]), []byte(s.opts.Token)):
		return 0, 400101, errMsg(400101)
	}
	if s.opts.Secret == "" {
		return 0, 0, ""
	}
	tss, signs := q["timestamp"], q["sign"]
	if len(tss) != 1 {
		return 0, 310000, "invalid timestamp"
	}
	ts, err := strconv.ParseInt(tss[0], 10, 64)
	if err != nil || ts <= 0 {
		return 0, 310000, "invalid timestamp"
	}
	if d := now.Sub(time.UnixMilli(ts)); d > SignWindow || d < -SignWindow {
		return 0, 310000, "invalid timestamp"
	}
	m := hmac.New(sha256.New, []byte(s.opts.Secret))
	m.Write([]byte(tss[0] + "\n" + s.opts.Secret))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if len(signs) != 1 || !hmac.Equal([]byte(signs[0]), []byte(want)) {
		return 0, 310000, "sign not match"
	}
	return ts, 0, ""
}

// admit applies the rate limit and records rec. It returns 410100 when rec is
// one message too many in the sliding window (and starts the block), or when
// a concurrent request started a block since handle checked for one.
func (s *Server) admit(rec Received, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited = append(s.limited, now)
	if now.Before(s.blockedUntil) {
		return 410100
	}
	if s.opts.RatePerMinute > 0 {
		cutoff := now.Add(-time.Minute)
		kept := s.window[:0]
		for _, t := range s.window {
			if t.After(cutoff) {
				kept = append(kept, t)
			}
		}
		s.window = kept
		if len(s.window) >= s.opts.RatePerMinute {
			s.blockedUntil = now.Add(RatePenalty)
			s.window = nil
			return 410100
		}
		s.window = append(s.window, now)
	}
	s.messages = append(s.messages, rec)
	close(s.changed)
	s.changed = make(chan struct{})
	return 0
}

func (s *Server) reject(w http.ResponseWriter, at time.Time, code int, msg string) {
	s.reply(w, Answer{At: at, HTTPStatus: http.StatusOK, ErrCode: code, ErrMsg: msg}, "")
}

// reply writes a and records it. A non-empty body replaces the JSON
// {"errcode","errmsg"}; a non-200 answer without a body gets the JSON only
// when it has an errcode.
func (s *Server) reply(w http.ResponseWriter, a Answer, body string) {
	s.record(a)
	if body == "" && (a.HTTPStatus == http.StatusOK || a.ErrCode != 0) {
		s.mu.Lock()
		if s.codes == nil {
			s.codes = make(map[int]int)
		}
		s.codes[a.ErrCode]++
		s.mu.Unlock()
		b, _ := json.Marshal(struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}{a.ErrCode, a.ErrMsg})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.HTTPStatus)
		_, _ = w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(a.HTTPStatus)
	_, _ = io.WriteString(w, body)
}

func (s *Server) record(a Answer) {
	s.mu.Lock()
	s.answers = append(s.answers, a)
	s.mu.Unlock()
}

// hangup closes the connection without an answer, or answers 503 when the
// connection cannot be hijacked (HTTP/2). The caller records the answer.
func (s *Server) hangup(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	_ = conn.Close()
}

// wire is the request body of the webhook.
type wire struct {
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	Markdown *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	Link *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"link"`
	ActionCard *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"actionCard"`
	FeedCard *struct{} `json:"feedCard"`
	At       *struct {
		AtMobiles []string `json:"atMobiles"`
		AtUserIDs []string `json:"atUserIds"`
		IsAtAll   bool     `json:"isAtAll"`
	} `json:"at"`
	MsgUUID string `json:"msgUuid"`
}

// decode parses a webhook body into a Received, or returns an errcode.
func decode(raw []byte) (Received, int, string) {
	var w wire
	if len(raw) == 0 || json.Unmarshal(raw, &w) != nil {
		return Received{}, 40035, errMsg(40035)
	}
	rec := Received{MsgType: w.MsgType, UUID: w.MsgUUID, Raw: raw}
	if w.At != nil {
		rec.AtMobiles, rec.AtUserIDs, rec.AtAll = w.At.AtMobiles, w.At.AtUserIDs, w.At.IsAtAll
	}
	missing := false
	switch w.MsgType {
	case "text":
		missing = w.Text == nil || w.Text.Content == ""
		if !missing {
			rec.Text = w.Text.Content
		}
	case "markdown":
		missing = w.Markdown == nil || w.Markdown.Title == "" || w.Markdown.Text == ""
		if !missing {
			rec.Title, rec.Text = w.Markdown.Title, w.Markdown.Text
		}
	case "link":
		missing = w.Link == nil
		if !missing {
			rec.Title, rec.Text = w.Link.Title, w.Link.Text
		}
	case "actionCard":
		missing = w.ActionCard == nil
		if !missing {
			rec.Title, rec.Text = w.ActionCard.Title, w.ActionCard.Text
		}
	case "feedCard":
		missing = w.FeedCard == nil
	default:
		return Received{}, 400105, errMsg(400105)
	}
	if missing {
		return Received{}, 40035, errMsg(40035)
	}
	return rec, 0, ""
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if w != "" && strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// errMsg returns DingTalk's message for the codes the fake produces.
func errMsg(code int) string {
	switch code {
	case -1:
		return "系统繁忙"
	case 40035:
		return "缺少参数 json"
	case 43004:
		return "无效的HTTP HEADER Content-Type"
	case 90030:
		return "webhook over limit"
	case 130101:
		return "send too fast, exceed 20 times per minute"
	case 300001, 300005:
		return "token is not exist"
	case 310000:
		return "消息校验未通过，请查看机器人的安全设置"
	case 400013:
		return "群已被解散"
	case 400101:
		return "access_token不存在"
	case 400102:
		return "机器人已停用"
	case 400105:
		return "不支持的消息类型"
	case 400106:
		return "机器人不存在"
	case 410100:
		return "发送速度太快而限流"
	case 430101:
		return "含有不安全的外链"
	case 430102:
		return "含有不合适的文本"
	case 430103:
		return "含有不合适的图片"
	case 430104:
		return "含有不合适的内容"
	case 460101:
		return "message too long, exceed 20000 bytes"
	}
	return "error"
}
