package chatstream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bot/chatops"
	"github.com/bankbot/bankbot/store"
)

// fastClock runs the supervisor's waits 1000× faster than real time (1 s
// of backoff is 1 ms), with Now advancing at the same rate.
type fastClock struct{ start, real time.Time }

func newFastClock() *fastClock {
	return &fastClock{start: time.Unix(1_700_000_000, 0), real: time.Now()}
}

func (c *fastClock) Now() time.Time { return c.start.Add(time.Since(c.real) * 1000) }
func (c *fastClock) After(d time.Duration) <-chan time.Time {
	return time.After(d / 1000)
}

// gateway fakes DingTalk's Stream gateway (modelled on the SDK's
// client/client_test.go): POST /v1.0/gateway/connections/open answers an
// endpoint and a ticket; the WebSocket at /connect delivers one bot message
// per connection (msgId msg-<n>), reads its ACK, then drops the connection
// when drop(n) says so, else holds it open.
type gateway struct {
	t     *testing.T
	srv   *httptest.Server
	drop  func(n int) bool
	opens atomic.Int32
	conns atomic.Int32
	live  atomic.Int32
	acks  chan map[string]any
	// Session webhook replies POSTed to /session.
	replies chan string
}

func newGateway(t *testing.T, drop func(n int) bool) *gateway {
	g := &gateway{t: t, drop: drop, acks: make(chan map[string]any, 16), replies: make(chan string, 16)}
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1.0/gateway/connections/open", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		if json.NewDecoder(r.Body).Decode(&req) != nil || req["clientId"] != "key" || req["clientSecret"] != "secret" {
			http.Error(w, `{"code":"InvalidAuthentication"}`, http.StatusUnauthorized)
			return
		}
		n := g.opens.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"endpoint": "ws" + strings.TrimPrefix(g.srv.URL, "http") + "/connect", "ticket": fmt.Sprintf("ticket-%d", n),
		})
	})
	mux.HandleFunc("/connect", func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		g.live.Add(1)
		defer g.live.Add(-1)
		n := int(g.conns.Add(1))
		if err := conn.WriteJSON(botFrame(g.srv.URL, n)); err != nil {
			return
		}
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var ack map[string]any
		_ = json.Unmarshal(data, &ack)
		g.acks <- ack
		if g.drop(n) {
			return // the drop: the server closes the TCP connection
		}
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("POST /session", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g.replies <- string(b)
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// botFrame is a CALLBACK data frame carrying the n-th bot message.
func botFrame(base string, n int) map[string]any {
	data, _ := json.Marshal(map[string]any{
		"msgtype": "text", "text": map[string]string{"content": " help"},
		"msgId": fmt.Sprintf("msg-%d", n), "createAt": 1700000000000,
		"conversationType": "2", "conversationId": "cid-1", "conversationTitle": "Finance",
		"senderId": "enc-1", "senderNick": "Somchai", "senderStaffId": "staff-1", "isAdmin": true,
		"sessionWebhook": base + "/session", "sessionWebhookExpiredTime": 1700000600000,
		"chatbotUserId": "bot-1", "robotCode": "robot-1",
	})
	return map[string]any{
		"specVersion": "1.0", "type": "CALLBACK",
		"headers": map[string]string{
			"topic": "/v1.0/im/bot/messages/get", "messageId": fmt.Sprintf("frame-%d", n),
			"contentType": "application/json", "time": "1700000000000",
		},
		"data": string(data),
	}
}

func openStore(t *testing.T) store.Store {
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "bankbot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

type events struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *events) add(ev string) { e.mu.Lock(); e.n[ev]++; e.mu.Unlock() }
func (e *events) get(ev string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[ev]
}

func options(g *gateway, st Lease, owner string, ev *events) (Options, *test.Hook) {
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	return Options{
		AppKey: "key", AppSecret: "secret", APIBase: g.srv.URL,
		Lease: st, Owner: owner, Clock: newFastClock(), Poll: 5 * time.Millisecond,
		Rand: func() float64 { return 0.5 }, Log: log, OnEvent: ev.add,
	}, hook
}

// runAsync runs Run and returns a func that cancels it and asserts it ends.
func runAsync(t *testing.T, o Options, h Handler) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not end after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func recv[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestRunHandlesMessagesAndSurvivesDrop(t *testing.T) {
	g := newGateway(t, func(n int) bool { return n == 1 })
	ev := &events{n: map[string]int{}}
	o, hook := options(g, openStore(t), "replica-a", ev)
	got := make(chan chatops.Message, 4)
	stop := runAsync(t, o, func(_ context.Context, m chatops.Message) error {
		got <- m
		return nil
	})

	m := recv(t, got, "the first message")
	require.Equal(t, chatops.Message{
		MsgID: "msg-1", MsgType: "text", Text: " help", SenderID: "enc-1", SenderStaffID: "staff-1",
		SenderNick: "Somchai", IsAdmin: true, ConversationID: "cid-1", ConversationType: chatops.ConversationGroup,
		SessionWebhook: g.srv.URL + "/session", SessionExpires: time.UnixMilli(1700000600000),
		CreatedAt: time.UnixMilli(1700000000000),
	}, m)
	ack := recv(t, g.acks, "the first ACK")
	require.EqualValues(t, 200, ack["code"], "acknowledged as handled: %v", ack)

	// The gateway dropped the first connection: a reconnect delivers msg-2.
	require.Equal(t, "msg-2", recv(t, got, "the message after the drop").MsgID)
	recv(t, g.acks, "the second ACK")
	require.GreaterOrEqual(t, ev.get(EventConnect), 2)
	require.GreaterOrEqual(t, ev.get(EventDrop), 1)
	require.Zero(t, ev.get(EventPanic))

	stop()
	require.Eventually(t, func() bool { return g.live.Load() == 0 }, 5*time.Second, 10*time.Millisecond,
		"shutdown closes the connection")
	var msgs []string
	for _, e := range hook.AllEntries() {
		msgs = append(msgs, e.Message)
	}
	require.Contains(t, msgs, "chat stream: connected")
	require.Contains(t, msgs, "chat stream: connection dropped")
	require.Contains(t, msgs, "chat stream: stopped")
}

func TestRunRecoversHandlerPanic(t *testing.T) {
	g := newGateway(t, func(n int) bool { return n == 1 })
	ev := &events{n: map[string]int{}}
	o, _ := options(g, openStore(t), "replica-a", ev)
	got := make(chan string, 4)
	runAsync(t, o, func(_ context.Context, m chatops.Message) error {
		if m.MsgID == "msg-1" {
			panic("boom")
		}
		got <- m.MsgID
		return nil
	})
	ack := recv(t, g.acks, "the ACK of the panicking message")
	require.NotEqualValues(t, 200, ack["code"], "a panicking handler nacks: %v", ack)
	require.Equal(t, "msg-2", recv(t, got, "the message after the panic"))
	require.Equal(t, 1, ev.get(EventPanic))
}

// Two supervisors share one store: only the lease holder connects; when it
// stops (releasing the lease), the other takes over.
func TestLeaseOneStreamPerDeployment(t *testing.T) {
	g := newGateway(t, func(int) bool { return false })
	st := openStore(t)
	evA, evB := &events{n: map[string]int{}}, &events{n: map[string]int{}}
	oa, _ := options(g, st, "replica-a", evA)
	ob, _ := options(g, st, "replica-b", evB)
	// The clocks run 1000× faster than real time: with the default 30 s
	// lease (30 ms real) a scheduling stall on a loaded machine lets A's
	// lease lapse and B take over. An hour (3.6 s real, renewed every
	// 1.2 s real) keeps the test about who holds the lease, not about
	// timing; A's release on stop still hands over at once.
	oa.LeaseTTL, ob.LeaseTTL = time.Hour, time.Hour
	got := make(chan string, 8)
	h := func(_ context.Context, m chatops.Message) error { got <- m.MsgID; return nil }

	stopA := runAsync(t, oa, h)
	require.Equal(t, "msg-1", recv(t, got, "A's message"))
	runAsync(t, ob, h)
	// B retries the lease every 20 min of its clock (1.2 s here): give it
	// a couple of tries.
	time.Sleep(2500 * time.Millisecond)
	require.EqualValues(t, 1, g.conns.Load(), "only the lease holder connects")
	require.EqualValues(t, 1, g.live.Load())
	require.Equal(t, 1, evA.get(EventConnect))
	require.Zero(t, evB.get(EventConnect))

	stopA()
	require.Equal(t, "msg-2", recv(t, got, "B's message after A stopped"))
	require.Equal(t, 1, evB.get(EventConnect))
	require.EqualValues(t, 1, g.live.Load())
}

// Losing the lease (another owner took it over) closes the connection.
func TestLeaseLostClosesStream(t *testing.T) {
	g := newGateway(t, func(int) bool { return false })
	st := openStore(t)
	ev := &events{n: map[string]int{}}
	o, _ := options(g, st, "replica-a", ev)
	o.Lease = &stealable{Lease: st}
	got := make(chan string, 8)
	runAsync(t, o, func(_ context.Context, m chatops.Message) error { got <- m.MsgID; return nil })
	recv(t, got, "the message")
	o.Lease.(*stealable).stolen.Store(true)
	require.Eventually(t, func() bool { return g.live.Load() == 0 && ev.get(EventLeaseLost) > 0 },
		5*time.Second, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	require.EqualValues(t, 1, g.conns.Load(), "no reconnect without the lease")
}

type stealable struct {
	Lease
	stolen atomic.Bool
}

func (s *stealable) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration, now time.Time) (bool, error) {
	if s.stolen.Load() {
		return false, nil
	}
	return s.Lease.AcquireLease(ctx, name, owner, ttl, now)
}

func TestRunConnectErrorBacksOff(t *testing.T) {
	g := newGateway(t, func(int) bool { return false })
	ev := &events{n: map[string]int{}}
	o, _ := options(g, openStore(t), "replica-a", ev)
	o.AppSecret = "wrong"
	runAsync(t, o, func(context.Context, chatops.Message) error { return nil })
	require.Eventually(t, func() bool { return ev.get(EventConnectError) >= 3 }, 5*time.Second, 5*time.Millisecond)
	require.Zero(t, ev.get(EventConnect))
}

func TestOptionsRequired(t *testing.T) {
	h := func(context.Context, chatops.Message) error { return nil }
	require.ErrorContains(t, Run(t.Context(), Options{AppKey: "k", AppSecret: "s"}, h), "lease is required")
	require.ErrorContains(t, Run(t.Context(), Options{Lease: openStore(t)}, h), "app_key")
	require.ErrorContains(t, Run(t.Context(), Options{AppKey: "k", AppSecret: "s", Lease: openStore(t)}, nil), "handler")
}

func TestBackoff(t *testing.T) {
	o := Options{AppKey: "k", AppSecret: "s", Lease: &stealable{}, Rand: func() float64 { return 0.5 }}
	require.NoError(t, o.defaults())
	var got []time.Duration
	for a := 1; a <= 8; a++ {
		got = append(got, o.backoff(a))
	}
	s := time.Second
	require.Equal(t, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s}, got)
	o.Rand = func() float64 { return 0 }
	require.Equal(t, 500*time.Millisecond, o.backoff(1), "jitter: half")
	o.Rand = func() float64 { return 0.999 }
	require.Equal(t, 60*s, o.backoff(7), "jitter never passes MaxBackoff")
}

func TestToMessageRefusesWhatTheCallbackRefuses(t *testing.T) {
	_, err := ToMessage(&chatbot.BotCallbackDataModel{ConversationId: "c"})
	require.ErrorIs(t, err, chatops.ErrBadCallback)
	_, err = ToMessage(nil)
	require.ErrorIs(t, err, chatops.ErrBadCallback)
	m, err := ToMessage(&chatbot.BotCallbackDataModel{MsgId: "m", ConversationId: "c", Msgtype: "picture", Text: chatbot.BotCallbackDataTextModel{Content: "x"}})
	require.NoError(t, err)
	require.Empty(t, m.Text, "only text messages carry a command")
}

func TestSDKShapeIsKnown(t *testing.T) {
	// sdkConnected reads the pinned SDK's unexported fields.
	_, err := sdkConnected(newTestClient())
	require.NoError(t, err)
}

func newTestClient() *client.StreamClient {
	return client.NewStreamClient(client.WithAutoReconnect(false))
}
