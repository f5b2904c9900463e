package dingtalktest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The published CatchZeng vector (dingtalk.md §1.3), checked independently of
// package dingtalk.
const (
	vecSecret = "SECb90923e19e58b466481e9e7b7a5b4f108a4531abde590ad3967fb29f0eae5c68"
	vecTS     = int64(1582163555000)
	vecSign   = "BQKsG+QOCl+bYJOLc6pxDHxjVquzlZPWgvRzeN2J5zY="
)

type answer struct {
	status  int
	errcode int
	errmsg  string
}

func post(t *testing.T, rawURL, contentType, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, rawURL, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return answer{resp.StatusCode, out.ErrCode, out.ErrMsg}
}

func signedURL(s *Server, ts int64, sign string) string {
	q := url.Values{}
	q.Set("access_token", s.Token())
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	q.Set("sign", sign)
	return s.BaseURL() + SendPath + "?" + q.Encode()
}

const jsonType = "application/json; charset=utf-8"

func textBody(s string) string {
	b, _ := json.Marshal(map[string]any{"msgtype": "text", "text": map[string]string{"content": s}})
	return string(b)
}

func TestServer_Signature(t *testing.T) {
	tests := []struct {
		name    string
		now     time.Time
		rawURL  func(s *Server) string
		errcode int
		errmsg  string
	}{
		{name: "published vector accepted", now: time.UnixMilli(vecTS),
			rawURL: func(s *Server) string { return signedURL(s, vecTS, vecSign) }},
		{name: "59 minutes later accepted", now: time.UnixMilli(vecTS).Add(59 * time.Minute),
			rawURL: func(s *Server) string { return signedURL(s, vecTS, vecSign) }},
		{name: "stale by more than 1h", now: time.UnixMilli(vecTS).Add(time.Hour + time.Second),
			rawURL: func(s *Server) string { return signedURL(s, vecTS, vecSign) }, errcode: 310000, errmsg: "invalid timestamp"},
		{name: "from the future by more than 1h", now: time.UnixMilli(vecTS).Add(-time.Hour - time.Second),
			rawURL: func(s *Server) string { return signedURL(s, vecTS, vecSign) }, errcode: 310000, errmsg: "invalid timestamp"},
		{name: "bad sign", now: time.UnixMilli(vecTS),
			rawURL:  func(s *Server) string { return signedURL(s, vecTS, "AAAA"+vecSign[4:]) },
			errcode: 310000, errmsg: "sign not match"},
		{name: "sign of another timestamp", now: time.UnixMilli(vecTS),
			rawURL:  func(s *Server) string { return signedURL(s, vecTS+1, vecSign) },
			errcode: 310000, errmsg: "sign not match"},
		{name: "double url-encoded sign", now: time.UnixMilli(vecTS),
			rawURL:  func(s *Server) string { return signedURL(s, vecTS, url.QueryEscape(vecSign)) },
			errcode: 310000, errmsg: "sign not match"},
		{name: "no sign", now: time.UnixMilli(vecTS),
			rawURL:  func(s *Server) string { return s.URL() + "&timestamp=" + strconv.FormatInt(vecTS, 10) },
			errcode: 310000, errmsg: "sign not match"},
		{name: "sign twice", now: time.UnixMilli(vecTS),
			rawURL:  func(s *Server) string { return signedURL(s, vecTS, vecSign) + "&sign=x" },
			errcode: 310000, errmsg: "sign not match"},
		{name: "no timestamp", now: time.UnixMilli(vecTS),
			rawURL:  func(s *Server) string { return s.URL() + "&sign=" + url.QueryEscape(vecSign) },
			errcode: 310000, errmsg: "invalid timestamp"},
		{name: "wrong token", now: time.UnixMilli(vecTS),
			rawURL: func(s *Server) string {
				return strings.Replace(signedURL(s, vecTS, vecSign), "access_token="+s.Token(), "access_token=nope", 1)
			},
			errcode: 400101},
		{name: "no token", now: time.UnixMilli(vecTS),
			rawURL:  func(s *Server) string { return s.BaseURL() + SendPath },
			errcode: 300001},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(tc.now)
			s := New(t, Options{Secret: vecSecret, Now: clock.Now})
			got := post(t, tc.rawURL(s), jsonType, textBody("hello"))
			require.Equal(t, http.StatusOK, got.status, "DingTalk answers 200 even when it rejects")
			require.Equal(t, tc.errcode, got.errcode)
			if tc.errmsg != "" {
				require.Equal(t, tc.errmsg, got.errmsg)
			}
			if tc.errcode == 0 {
				require.Len(t, s.Messages(), 1)
				require.Equal(t, vecTS, s.Messages()[0].Timestamp)
			} else {
				require.Empty(t, s.Messages())
			}
		})
	}
}

func TestServer_RateLimit(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC))
	s := New(t, Options{Now: clock.Now})
	for i := range 20 {
		require.Zero(t, post(t, s.URL(), jsonType, textBody("m"+strconv.Itoa(i))).errcode, "message %d", i+1)
		clock.Advance(time.Second)
	}
	got := post(t, s.URL(), jsonType, textBody("21st"))
	require.Equal(t, 410100, got.errcode, "the 21st message inside a minute is refused")
	require.Len(t, s.Messages(), 20)

	clock.Advance(5 * time.Minute)
	require.Equal(t, 410100, post(t, s.URL(), jsonType, textBody("blocked")).errcode, "still blocked 5 minutes later")
	clock.Advance(5*time.Minute + time.Second)
	require.Zero(t, post(t, s.URL(), jsonType, textBody("after block")).errcode, "free again after 10 minutes")
	require.Len(t, s.Messages(), 21)
}

func TestServer_RateWindowSlides(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC))
	s := New(t, Options{Now: clock.Now, RatePerMinute: 3})
	for range 3 {
		require.Zero(t, post(t, s.URL(), jsonType, textBody("a")).errcode)
	}
	clock.Advance(61 * time.Second)
	for range 3 {
		require.Zero(t, post(t, s.URL(), jsonType, textBody("b")).errcode, "the window slid past the first three")
	}
	require.True(t, s.BlockedUntil().IsZero())
}

func TestServer_BodyChecks(t *testing.T) {
	exact := func(n int) string {
		b := textBody("")
		return textBody(strings.Repeat("x", n-len(b)))
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		errcode     int
	}{
		{name: "exactly 20000 bytes accepted", contentType: jsonType, body: exact(20000)},
		{name: "20001 bytes refused", contentType: jsonType, body: exact(20001), errcode: 460101},
		{name: "not json", contentType: jsonType, body: "{", errcode: 40035},
		{name: "empty", contentType: jsonType, body: "", errcode: 40035},
		{name: "text without content", contentType: jsonType, body: `{"msgtype":"text","text":{}}`, errcode: 40035},
		{name: "markdown without title", contentType: jsonType, body: `{"msgtype":"markdown","markdown":{"text":"x"}}`, errcode: 40035},
		{name: "unknown msgtype", contentType: jsonType, body: `{"msgtype":"image"}`, errcode: 400105},
		{name: "wrong content type", contentType: "text/plain", body: textBody("x"), errcode: 43004},
		{name: "no content type", body: textBody("x"), errcode: 43004},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, Options{})
			require.Equal(t, tc.errcode, post(t, s.URL(), tc.contentType, tc.body).errcode)
		})
	}
}

func TestServer_DecodesMessages(t *testing.T) {
	s := New(t, Options{})
	body := `{"msgtype":"markdown","markdown":{"title":"收款","text":"THB 50.00\n\n@13800001111"},` +
		`"at":{"atMobiles":["13800001111"],"atUserIds":["u1"],"isAtAll":true},"msgUuid":"evt_1"}`
	require.Zero(t, post(t, s.URL(), jsonType, body).errcode)
	msgs := s.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "markdown", msgs[0].MsgType)
	require.Equal(t, "收款", msgs[0].Title)
	require.Equal(t, "THB 50.00\n\n@13800001111", msgs[0].Text)
	require.Equal(t, []string{"13800001111"}, msgs[0].AtMobiles)
	require.Equal(t, []string{"u1"}, msgs[0].AtUserIDs)
	require.True(t, msgs[0].AtAll)
	require.Equal(t, "evt_1", msgs[0].UUID)
	require.JSONEq(t, body, string(msgs[0].Raw))
}

func TestServer_Keywords(t *testing.T) {
	s := New(t, Options{Keywords: []string{"bankbot"}})
	got := post(t, s.URL(), jsonType, textBody("no word"))
	require.Equal(t, 310000, got.errcode)
	require.Equal(t, "keywords not in content", got.errmsg)
	require.Zero(t, post(t, s.URL(), jsonType, textBody("from bankbot")).errcode)
}

func TestServer_DownModes(t *testing.T) {
	t.Run("503", func(t *testing.T) {
		s := New(t, Options{})
		s.SetDown(true)
		require.Equal(t, http.StatusServiceUnavailable, post(t, s.URL(), jsonType, textBody("x")).status)
		s.SetDown(false)
		require.Zero(t, post(t, s.URL(), jsonType, textBody("x")).errcode)
		require.Equal(t, 2, s.Requests())
		require.Len(t, s.Messages(), 1)
	})
	t.Run("hangup", func(t *testing.T) {
		s := New(t, Options{DownMode: DownHangup})
		s.SetDown(true)
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL(), strings.NewReader(textBody("x")))
		require.NoError(t, err)
		req.Header.Set("Content-Type", jsonType)
		resp, err := http.DefaultClient.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		require.Error(t, err, "the connection is dropped without an answer")
		require.Empty(t, s.Messages())
	})
}

func TestServer_Script(t *testing.T) {
	s := New(t, Options{})
	s.Script(Response{Status: 500}, Response{ErrCode: 130101}, Response{Body: "not json"})
	require.Equal(t, 500, post(t, s.URL(), jsonType, textBody("1")).status)
	got := post(t, s.URL(), jsonType, textBody("2"))
	require.Equal(t, answer{200, 130101, "send too fast, exceed 20 times per minute"}, got)
	got = post(t, s.URL(), jsonType, textBody("3"))
	require.Equal(t, 200, got.status)
	require.Zero(t, got.errcode)
	require.Empty(t, s.Messages(), "scripted answers are not recorded as messages")
	require.Zero(t, post(t, s.URL(), jsonType, textBody("4")).errcode, "normal handling after the script")
	require.Len(t, s.Messages(), 1)
	require.Equal(t, 4, s.Requests())
	answers := s.Answers()
	require.Len(t, answers, 4)
	require.True(t, answers[1].Scripted)
	require.False(t, answers[3].Scripted)
}

func TestServer_StallReleasedByClient(t *testing.T) {
	s := New(t, Options{})
	s.Script(Response{Stall: true})
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL(), strings.NewReader(textBody("x")))
	require.NoError(t, err)
	req.Header.Set("Content-Type", jsonType)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for s.Requests() == 0 { // wait until the request is held by the server
		time.Sleep(time.Millisecond)
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestServer_WaitForMessages(t *testing.T) {
	s := New(t, Options{})
	go func() {
		for i := range 3 {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL(), strings.NewReader(textBody(strconv.Itoa(i))))
			req.Header.Set("Content-Type", jsonType)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	require.Len(t, s.WaitForMessages(3, 10*time.Second), 3)
	require.Len(t, s.WaitForMessages(4, time.Millisecond), 3, "returns what it has on timeout")
}

func TestServer_HandlerMountedElsewhere(t *testing.T) {
	s := New(t, Options{})
	mux := http.NewServeMux()
	mux.Handle(SendPath, s.Handler())
	other := httptest.NewServer(mux)
	t.Cleanup(other.Close)
	require.Zero(t, post(t, other.URL+SendPath+"?access_token="+s.Token(), jsonType, textBody("x")).errcode)
	require.Len(t, s.Messages(), 1)
}

func TestServer_HelpersForChildProcesses(t *testing.T) {
	s := Start(Options{Secret: vecSecret, Token: "tok"})
	defer s.Close()
	env := s.Env("DT")
	require.Contains(t, env, "DT_WEBHOOK="+s.URL())
	require.Contains(t, env, "DT_SECRET="+vecSecret)
	require.Contains(t, env, "DT_TOKEN=tok")
	y := s.RobotYAML("finance-th")
	require.Contains(t, y, "  finance-th:\n    webhook: \""+s.URL()+"\"\n")
	require.Contains(t, y, "secret: \""+vecSecret+"\"")
	require.True(t, strings.HasPrefix(s.URL(), "http://127.0.0.1:"))
	s.Close() // idempotent
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(textBody("x")))
	f.Add([]byte(`{"msgtype":"markdown","markdown":{"title":"t","text":"x"},"at":{"atMobiles":["1"]}}`))
	f.Add([]byte(`{"msgtype":"feedCard","feedCard":{}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rec, code, msg := decode(raw)
		if code != 0 {
			require.Contains(t, []int{40035, 400105}, code)
			require.NotEmpty(t, msg)
			return
		}
		require.Contains(t, []string{"text", "markdown", "link", "actionCard", "feedCard"}, rec.MsgType)
		if rec.MsgType == "text" || rec.MsgType == "markdown" {
			require.NotEmpty(t, rec.Text)
		}
	})
}

func FuzzCheckAuth(f *testing.F) {
	f.Add("dingtalktest-token", strconv.FormatInt(vecTS, 10), vecSign, int64(0))
	f.Add("x", "1", "", int64(5))
	f.Add("dingtalktest-token", "-1", "AAAA", int64(-3600001))
	f.Fuzz(func(t *testing.T, token, ts, sign string, skewMs int64) {
		s := &Server{opts: Options{Token: DefaultToken, Secret: vecSecret}}
		now := time.UnixMilli(vecTS).Add(time.Duration(skewMs) * time.Millisecond)
		q := url.Values{"access_token": {token}, "timestamp": {ts}, "sign": {sign}}
		gotTS, code, _ := s.checkAuth(q, now)
		if code == 0 {
			require.Equal(t, DefaultToken, token)
			require.Equal(t, vecSign, sign, "only the published signature passes for this secret")
			require.Equal(t, vecTS, gotTS)
		}
	})
}

func TestMaxInWindow(t *testing.T) {
	at := func(offsets ...time.Duration) []time.Time {
		out := make([]time.Time, len(offsets))
		for i, o := range offsets {
			out[i] = time.Unix(1_700_000_000, 0).Add(o)
		}
		return out
	}
	s := time.Second
	spread := at(0, 10*s, 59*s, 60*s, 61*s, 130*s)
	tests := []struct {
		name  string
		times []time.Time
		d     time.Duration
		want  int
	}{
		{name: "none", times: nil, d: time.Minute, want: 0},
		{name: "one", times: at(0), d: time.Minute, want: 1},
		{name: "zero window", times: spread, d: 0, want: 0},
		{name: "negative window", times: spread, d: -time.Minute, want: 0},
		{name: "a minute: 10s, 59s, 60s, 61s", times: spread, d: time.Minute, want: 4},
		{name: "exactly d apart are not together", times: spread, d: time.Second, want: 1},
		{name: "59s..61s is 2s: two fit in 2s", times: spread, d: 2 * s, want: 2},
		{name: "three fit in 2s+1ns", times: spread, d: 2*s + 1, want: 3},
		{name: "everything in 10 minutes", times: spread, d: 10 * time.Minute, want: 6},
		{name: "0 and 60s are not in one minute", times: at(0, 60*s), d: time.Minute, want: 1},
		{name: "0 and 60s-1ns are", times: at(0, 60*s-1), d: time.Minute, want: 2},
		{name: "same instant", times: at(5*s, 5*s, 5*s), d: time.Nanosecond, want: 3},
		{name: "order does not matter", times: at(120*s, 0, 30*s, 100*s, 119*s), d: time.Minute, want: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, maxInWindow(tc.times, tc.d))
		})
	}
}

func TestServer_WindowsAndCounts(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC))
	t0 := clock.Now()
	s := New(t, Options{Now: clock.Now, RatePerMinute: 2})

	require.Zero(t, post(t, s.URL(), jsonType, textBody("1")).errcode)
	clock.Advance(time.Second)
	require.Zero(t, post(t, s.URL(), jsonType, textBody("2")).errcode)
	clock.Advance(time.Second)
	require.Equal(t, 410100, post(t, s.URL(), jsonType, textBody("3 over the rate")).errcode)
	clock.Advance(time.Second)
	require.Equal(t, 410100, post(t, s.URL(), jsonType, textBody("4 blocked")).errcode)
	// Refused for other reasons: not counted by MaxRequestsInWindow.
	require.Equal(t, 400101, post(t, strings.Replace(s.URL(), s.Token(), "nope", 1), jsonType, textBody("5")).errcode)
	s.Script(Response{ErrCode: 130101}, Response{Status: http.StatusBadGateway})
	require.Equal(t, 130101, post(t, s.URL(), jsonType, textBody("6")).errcode)
	require.Equal(t, http.StatusBadGateway, post(t, s.URL(), jsonType, textBody("7")).status)
	s.SetDown(true)
	require.Equal(t, http.StatusServiceUnavailable, post(t, s.URL(), jsonType, textBody("8")).status)
	s.SetDown(false)
	clock.Advance(RatePenalty)
	require.Zero(t, post(t, s.URL(), jsonType, textBody("9 after the block")).errcode)

	require.Equal(t, 2, s.MaxInWindow(time.Minute))
	require.Equal(t, 4, s.MaxRequestsInWindow(time.Minute), "accepted and refused by the rate limit")
	require.Equal(t, 1, s.MaxRequestsInWindow(time.Second))
	require.Equal(t, 3, s.MaxInWindow(11*time.Minute))
	require.Equal(t, 5, s.MaxRequestsInWindow(11*time.Minute))

	tests := []struct {
		errcode int
		want    int
	}{
		{0, 3}, {410100, 2}, {400101, 1}, {130101, 1}, {460101, 0},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, s.Count(tc.errcode), "Count(%d)", tc.errcode)
	}

	want := []time.Duration{0, 1, 2, 3, 3, 3, 3, 3, 603}
	arrivals := s.Arrivals()
	require.Len(t, arrivals, len(want), "every request, down and scripted ones too")
	answers := s.Answers()
	for i, w := range want {
		at := t0.Add(w * time.Second)
		require.True(t, at.Equal(arrivals[i]), "arrival %d", i)
		require.True(t, at.Equal(answers[i].At), "answer %d", i)
	}
	msgs := s.Messages()
	require.True(t, t0.Equal(msgs[0].At))
	require.True(t, t0.Add(603*time.Second).Equal(msgs[2].At))
}

// TestServer_RateLimitOnArrivalTime holds a request's body back while the
// clock moves past the window: the request is still judged by the time it
// arrived.
func TestServer_RateLimitOnArrivalTime(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC))
	t0 := clock.Now()
	s := New(t, Options{Now: clock.Now, RatePerMinute: 1})
	require.Zero(t, post(t, s.URL(), jsonType, textBody("first")).errcode)

	clock.Advance(30 * time.Second)
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL(), pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", jsonType)
	done := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{}
			return
		}
		defer resp.Body.Close()
		var out struct{ ErrCode int }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		done <- answer{status: resp.StatusCode, errcode: out.ErrCode}
	}()
	for len(s.Arrivals()) < 2 { // the headers are in, the body is not
		time.Sleep(time.Millisecond)
	}
	clock.Advance(time.Minute) // 90 s after the first message when the body ends
	_, err = io.WriteString(pw, textBody("second"))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	got := <-done
	require.Equal(t, 410100, got.errcode, "30 s after the first message on arrival")
	require.Equal(t, t0.Add(30*time.Second).Add(RatePenalty), s.BlockedUntil(), "the block runs from the arrival")
	require.True(t, t0.Add(30*time.Second).Equal(s.Answers()[1].At))
}

// TestServer_ConcurrentRequestsNeverExceedTheRate: requests racing past the
// block check are refused once a block has started.
func TestServer_ConcurrentRequestsNeverExceedTheRate(t *testing.T) {
	s := New(t, Options{RatePerMinute: 5})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() { post(t, s.URL(), jsonType, textBody(strconv.Itoa(i))) })
	}
	wg.Wait()
	require.Equal(t, 5, len(s.Messages()), "accepted")
	require.Equal(t, 5, s.MaxInWindow(time.Minute))
	require.Equal(t, 40, s.MaxRequestsInWindow(time.Minute))
	require.Equal(t, 35, s.Count(410100))
	require.Equal(t, 5, s.Count(0))
}

// TestServer_SizeCountsRawBytes: the limit counts the bytes on the wire, not
// characters and not the decoded content.
func TestServer_SizeCountsRawBytes(t *testing.T) {
	// sized returns a text body of exactly n bytes whose content is made of
	// unit, topped up with ASCII.
	sized := func(n int, unit string) string {
		gap := n - len(textBody(""))
		return textBody(strings.Repeat(unit, gap/len(unit)) + strings.Repeat("x", gap%len(unit)))
	}
	escaped := `{"msgtype":"text","text":{"content":"` + strings.Repeat(`\u6536`, 3400) + `"}}`
	tests := []struct {
		name    string
		body    string
		errcode int
	}{
		{name: "chinese at exactly 20000 bytes", body: sized(20000, "收")},
		{name: "chinese at 20001 bytes", body: sized(20001, "收"), errcode: 460101},
		{name: "thai at exactly 20000 bytes", body: sized(20000, "ได้")},
		{name: "thai at 20001 bytes", body: sized(20001, "ได้"), errcode: 460101},
		{name: "escapes count as sent, not decoded", body: escaped, errcode: 460101},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, Options{})
			require.Equal(t, tc.errcode, post(t, s.URL(), jsonType, tc.body).errcode)
		})
	}
	var w struct{ Text struct{ Content string } }
	require.NoError(t, json.Unmarshal([]byte(escaped), &w))
	require.Less(t, len(w.Text.Content)+len(textBody("")), 20000, "decoded, the escaped body would fit")
	require.Greater(t, len(escaped), 20000)
	require.Len(t, sized(20000, "收"), 20000)
}
