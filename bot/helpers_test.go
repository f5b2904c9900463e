package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bot/internal/clocktest"
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/store"
)

// t0 is the fake clock's start: a fixed instant, so event ids, signatures
// and store times are reproducible.
var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// Opn webhook secrets (base64, as the dashboard shows them).
var (
	keyA = base64.StdEncoding.EncodeToString([]byte("key-A-for-bankbot-unit-tests"))
	keyB = base64.StdEncoding.EncodeToString([]byte("key-B-for-bankbot-unit-tests"))
	keyC = base64.StdEncoding.EncodeToString([]byte("key-C-for-bankbot-unit-tests"))
)

// fakeClock is the manual clock of clocktest: After registers a timer that
// fires when Advance moves the clock to or past its deadline; waitTimer lets
// a test wait until a worker has gone to sleep on a given deadline, so no
// test sleeps.
type fakeClock struct{ *clocktest.Clock }

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{clocktest.New(t)} }

// mark returns the sequence number of the last timer registered.
func (c *fakeClock) mark() int { return c.Mark() }

// waitTimer waits (up to 10 s of real time) until a timer registered after
// mark is pending and satisfies pred, and returns its deadline.
func (c *fakeClock) waitTimer(t *testing.T, mark int, pred func(at time.Time) bool) time.Time {
	t.Helper()
	return c.WaitTimer(t, mark, pred)
}

// anyTimer matches every timer.
func anyTimer(time.Time) bool { return true }

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConfig renders a config.yaml for tests. Zero fields take the defaults
// below: one Opn source "opn" with keyA, one console robot "log" and one
// route sending everything there.
type testConfig struct {
	maxBody        int
	trustedProxies []string
	adminToken     string
	templatesDir   string
	delivery       string // YAML under delivery:
	sources        string // YAML under sources:
	robots         string // YAML under robots:
	routes         string // YAML under routes:
	logLevel       string
}

func (c testConfig) yaml() string {
	var b strings.Builder
	maxBody := c.maxBody
	if maxBody == 0 {
		maxBody = 4096
	}
	fmt.Fprintf(&b, "server:\n  listen: \"127.0.0.1:0\"\n  max_body_bytes: %d\n", maxBody)
	if len(c.trustedProxies) > 0 {
		fmt.Fprintf(&b, "  trusted_proxies: [%s]\n", strings.Join(c.trustedProxies, ", "))
	}
	b.WriteString("admin:\n  listen: \"127.0.0.1:0\"\n")
	if c.adminToken != "" {
		fmt.Fprintf(&b, "  token: %q\n", c.adminToken)
	}
	b.WriteString("storage:\n  driver: sqlite\n  dsn: bankbot.db\n")
	b.WriteString("timezone: Asia/Bangkok\nlanguage: en\n")
	level := c.logLevel
	if level == "" {
		level = "debug"
	}
	fmt.Fprintf(&b, "log:\n  level: %s\n  format: json\n", level)
	if c.templatesDir != "" {
		fmt.Fprintf(&b, "templates:\n  dir: %q\n", c.templatesDir)
	}
	if c.delivery != "" {
		b.WriteString("delivery:\n" + c.delivery)
	}
	sources := c.sources
	if sources == "" {
		sources = "  opn:\n    provider: omise\n    secrets:\n      - value: " + keyA + "\n"
	}
	robots := c.robots
	if robots == "" {
		robots = "  log:\n    type: console\n"
	}
	routes := c.routes
	if routes == "" {
		routes = "  - name: all\n    robot: log\n    language: en\n"
	}
	b.WriteString("sources:\n" + sources + "robots:\n" + robots + "routes:\n" + routes)
	return b.String()
}

// writeFile writes data to path, creating directories.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
}

func removeFile(path string) error { return os.Remove(path) }

// testApp is an App on a temp config, a fake clock and captured logs.
type testApp struct {
	*App
	dir     string
	cfgPath string
	clock   *fakeClock
	logs    *syncBuffer
}

// newTestApp writes cfg into a temp dir and builds an App on it. The store
// is closed and workers stopped when the test ends.
func newTestApp(t *testing.T, cfg testConfig) *testApp {
	t.Helper()
	return newTestAppClock(t, cfg, newFakeClock(t0))
}

// newTestAppClock is newTestApp on a given clock (shared with a fake DingTalk).
func newTestAppClock(t *testing.T, cfg testConfig, clock *fakeClock) *testApp {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, cfg.yaml())
	return openTestApp(t, dir, path, clock)
}

// openTestApp builds an App on an existing config file (a restart).
func openTestApp(t *testing.T, dir, path string, clock *fakeClock) *testApp {
	t.Helper()
	logs := &syncBuffer{}
	a, err := newApp(context.Background(), Options{
		ConfigPath: path,
		Clock:      clock,
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		LogOutput:  logs,
		Env:        func(string) (string, bool) { return "", false },
		Version:    "test",
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.store.Close() })
	return &testApp{App: a, dir: dir, cfgPath: path, clock: clock, logs: logs}
}

// startWorkers starts one delivery worker per robot of the running config and
// stops them (waiting for in-flight sends) when the test ends or stop is called.
func (ta *testApp) startWorkers(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ta.deliverer.sync(ctx)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			ta.deliverer.wait()
		})
	}
	t.Cleanup(stop)
	return stop
}

// withRuntime swaps in a copy of the running runtime changed by edit (e.g. a
// fixed jitter or a scripted sender). Call before the workers start.
func (ta *testApp) withRuntime(edit func(rt *Runtime)) {
	rt := *ta.runtime.Load()
	robots := make(map[string]*Robot, len(rt.Robots))
	for k, v := range rt.Robots {
		r := *v
		robots[k] = &r
	}
	rt.Robots = robots
	edit(&rt)
	ta.runtime.Store(&rt)
}

// opnSign is Opn's signature, computed here independently of bankhooks: hex
// HMAC-SHA256 over "<ts>.<body>" keyed by the base64-decoded secret.
func opnSign(t *testing.T, secretB64 string, ts int64, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(secretB64)
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// charge is an Opn charge.complete event body.
func charge(id string, amount int64, currency, description string) []byte {
	return []byte(fmt.Sprintf(`{"object":"event","id":%q,"livemode":false,"key":"charge.complete","created_at":"2026-11-21T09:59:59Z","data":{"object":"charge","id":"chrg_test_%s","livemode":false,"amount":%d,"currency":%q,"status":"successful","paid":true,"description":%q,"created_at":"2026-11-21T09:59:58Z","source":{"object":"source","type":"promptpay"}}}`,
		id, id, amount, strings.ToLower(currency), description))
}

// hookRequest is a POST /hooks/{source} signed with key at ts.
func hookRequest(t *testing.T, source, key string, ts time.Time, body []byte) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hooks/"+source, bytes.NewReader(body))
	req.RemoteAddr = "203.0.113.10:40000"
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		sec := ts.Unix()
		req.Header.Set("Omise-Signature", opnSign(t, key, sec, body))
		req.Header.Set("Omise-Signature-Timestamp", strconv.FormatInt(sec, 10))
	}
	return req
}

// hookReply is a decoded answer of the webhook endpoint.
type hookReply struct {
	Code    int
	Status  string `json:"status"`
	ID      string `json:"id"`
	Error   string `json:"error"`
	Message string `json:"message"`
	// Unreadable is the problem of a signed event that could not be read.
	Unreadable string `json:"unreadable"`
}

func serve(t *testing.T, h http.Handler, req *http.Request) hookReply {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var r hookReply
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r), "body: %s", rec.Body.String())
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	r.Code = rec.Code
	return r
}

// postCharge POSTs a signed Opn charge and requires it accepted.
func (ta *testApp) postCharge(t *testing.T, id string, amount int64, currency, description string) string {
	t.Helper()
	r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), charge(id, amount, currency, description)))
	require.Equal(t, http.StatusOK, r.Code, "%+v", r)
	require.Equal(t, "accepted", r.Status)
	return r.ID
}

// deliveries lists every delivery of the store, oldest first.
func (ta *testApp) deliveries(t *testing.T) []store.Delivery {
	t.Helper()
	ds, err := ta.store.ListDeliveries(context.Background(), store.DeliveryFilter{Limit: 1000})
	require.NoError(t, err)
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}

// waitDelivery waits until delivery id satisfies ok, and returns it.
func (ta *testApp) waitDelivery(t *testing.T, id int64, what string, ok func(store.Delivery) bool) store.Delivery {
	t.Helper()
	var d store.Delivery
	require.Eventually(t, func() bool {
		var err error
		d, err = ta.store.GetDelivery(context.Background(), id)
		return err == nil && ok(d)
	}, 10*time.Second, 2*time.Millisecond, "delivery %d never became %s (last: %+v)", id, what, d)
	return d
}

// route runs one routing pass.
func (ta *testApp) route(t *testing.T) {
	t.Helper()
	ta.routePending(context.Background())
}

// scriptedSender is a fake dingtalk.Sender answering from a script; after
// the script it accepts everything. Every message is recorded.
type scriptedSender struct {
	mu       sync.Mutex
	script   []error
	messages []dingtalk.Message
	calls    int
}

func (s *scriptedSender) Send(_ context.Context, m dingtalk.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.script) > 0 {
		err := s.script[0]
		s.script = s.script[1:]
		if err != nil {
			return err
		}
	}
	s.messages = append(s.messages, m)
	return nil
}

func (s *scriptedSender) sent() []dingtalk.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dingtalk.Message(nil), s.messages...)
}

// metricValue reads a counter or gauge. (prometheus/testutil is not usable:
// its diff dependency is not in go.sum.)
func metricValue(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		panic(err)
	}
	switch {
	case out.Counter != nil:
		return out.Counter.GetValue()
	case out.Gauge != nil:
		return out.Gauge.GetValue()
	case out.Histogram != nil:
		return out.Histogram.GetSampleSum()
	}
	panic("not a counter or gauge")
}

// deliverOne plans and sends one claimed delivery the way a worker does.
func (ta *testApp) deliverOne(t *testing.T, d store.Delivery) {
	t.Helper()
	ctx := context.Background()
	rt := ta.runtime.Load()
	robot := rt.Robots[d.Robot]
	require.NotNil(t, robot)
	log := ta.log.WithField("robot", d.Robot)
	msgs, rest := ta.plan(ctx, log, rt, robot, []store.Delivery{d}, 1, 1)
	require.Len(t, msgs, 1)
	require.Empty(t, rest)
	_, ok := ta.sendOne(ctx, log, robot, msgs[0])
	require.True(t, ok, "a send slot was granted")
}
