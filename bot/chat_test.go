package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/chatops"
	"github.com/bankbot/bankbot/store"
)

const (
	chatSecret  = "chat-app-secret-for-unit-tests-0123456789"
	chatGroup   = "cidFINANCE=="
	otherGroup  = "cidOTHER=="
	fullAccount = "123-4-56789-0"
)

// fakeChatStore is chatops.Store in memory over the test App's real store.
type fakeChatStore struct {
	store.Store
	mu     sync.Mutex
	claims map[string]bool
	audit  []chatops.AuditEntry
	acks   map[string]chatops.Ack
	slips  map[string]chatops.SlipRecord
}

var _ chatops.Store = (*fakeChatStore)(nil)

func newFakeChatStore(st store.Store) *fakeChatStore {
	return &fakeChatStore{Store: st, claims: map[string]bool{}, acks: map[string]chatops.Ack{}, slips: map[string]chatops.SlipRecord{}}
}

func (f *fakeChatStore) ClaimChatMessage(_ context.Context, id string, _ time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claims[id] {
		return false, nil
	}
	f.claims[id] = true
	return true, nil
}

func (f *fakeChatStore) AppendAudit(_ context.Context, e chatops.AuditEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e.ID = int64(len(f.audit) + 1)
	f.audit = append(f.audit, e)
	return nil
}

func (f *fakeChatStore) AckEvent(ctx context.Context, id, byID, byName, note string, at time.Time) (chatops.Ack, error) {
	if _, err := f.GetEvent(ctx, id); err != nil {
		return chatops.Ack{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.acks[id]; ok {
		a.Already = true
		return a, nil
	}
	a := chatops.Ack{EventID: id, ByID: byID, ByName: byName, Note: note, At: at}
	f.acks[id] = a
	return a, nil
}

func (f *fakeChatStore) ListUnacked(ctx context.Context, kinds []string, since time.Time, limit int) ([]store.StoredEvent, error) {
	es, err := f.ListEvents(ctx, store.EventFilter{Since: since})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.StoredEvent
	for _, e := range es {
		if _, acked := f.acks[e.ID]; !acked && containsString(kinds, string(e.Event.Kind)) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeChatStore) RecordSlip(_ context.Context, r chatops.SlipRecord) (chatops.SlipRecord, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if first, ok := f.slips[r.Reference]; ok {
		return first, true, nil
	}
	f.slips[r.Reference] = r
	return r, false, nil
}

func (f *fakeChatStore) audits() []chatops.AuditEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chatops.AuditEntry(nil), f.audit...)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fakeDingTalk serves session webhooks and the app robot OpenAPI.
type fakeDingTalk struct {
	srv *httptest.Server
	mu  sync.Mutex
	// session holds the texts posted to /session, openapi those sent with
	// groupMessages/send (by conversation).
	session     []string
	openapi     []string
	openapiConv []string
	sessionCode int // errcode the session webhook answers
	// stream, when set, serves the Stream gateway's requests first
	// (chat_stream_test.go); true = handled.
	stream atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
}

func newFakeDingTalk(t *testing.T) *fakeDingTalk {
	f := &fakeDingTalk{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := f.stream.Load(); h != nil && (*h)(w, r) {
			return
		}
		raw, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		switch r.URL.Path {
		case "/robot/sendBySession":
			var b struct {
				Markdown struct{ Text string } `json:"markdown"`
			}
			_ = json.Unmarshal(raw, &b)
			if f.sessionCode != 0 {
				fmt.Fprintf(w, `{"errcode":%d,"errmsg":"session 不存在"}`, f.sessionCode)
				return
			}
			f.session = append(f.session, b.Markdown.Text)
			fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
		case "/v1.0/oauth2/accessToken":
			fmt.Fprint(w, `{"accessToken":"tok-123456","expireIn":7200}`)
		case "/v1.0/robot/groupMessages/send":
			var b struct {
				MsgParam           string `json:"msgParam"`
				OpenConversationID string `json:"openConversationId"`
			}
			_ = json.Unmarshal(raw, &b)
			var p struct{ Text string }
			_ = json.Unmarshal([]byte(b.MsgParam), &p)
			f.openapi = append(f.openapi, p.Text)
			f.openapiConv = append(f.openapiConv, b.OpenConversationID)
			fmt.Fprint(w, `{"processQueryKey":"q"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDingTalk) replies() (session, openapi []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.session...), append([]string(nil), f.openapi...)
}

// chatTest is a test App with chat commands on.
type chatTest struct {
	*testApp
	dt    *fakeDingTalk
	st    *fakeChatStore
	seq   int
	slips map[string]chatops.Slip
}

func newChatTest(t *testing.T, chatopsYAML string) *chatTest {
	t.Helper()
	dt := newFakeDingTalk(t)
	if chatopsYAML == "" {
		chatopsYAML = "chatops:\n  robot: ops\n  allowed_conversations: [\"" + chatGroup + "\"]\n"
	}
	robots := "  log:\n    type: console\n  ops:\n    type: app\n    app_key: appkey\n    app_secret: " + chatSecret +
		"\n    robot_code: rc1\n    conversation_id: cidOPS\n    api_base: " + dt.srv.URL + "\n"
	cfg := testConfig{robots: robots, routes: "  - name: all\n    robot: log\n    language: en\n" + "_CHATOPS_"}
	ta := newTestAppRaw(t, cfg, chatopsYAML)
	ct := &chatTest{testApp: ta, dt: dt, st: newFakeChatStore(ta.store), slips: map[string]chatops.Slip{}}
	ta.chat.store = ct.st
	ta.chat.slips = chatops.SlipParserFunc(func(text string) (chatops.Slip, error) {
		s, ok := ct.slips[text]
		if !ok {
			return chatops.Slip{}, errors.New("not a slip")
		}
		return s, nil
	})
	return ct
}

// newTestAppRaw is newTestApp with extra top-level YAML appended.
func newTestAppRaw(t *testing.T, cfg testConfig, extra string) *testApp {
	t.Helper()
	cfg.routes = strings.Replace(cfg.routes, "_CHATOPS_", "", 1)
	dir := t.TempDir()
	path := dir + "/config.yaml"
	writeFile(t, path, cfg.yaml()+extra)
	return openTestApp(t, dir, path, newFakeClock(t0))
}

// callback is one @-message.
type callback struct {
	text, conv, staff, nick string
	admin                   bool
	msgID                   string
	sessionExpires          time.Time // zero = in 90 minutes
}

// request builds the signed POST DingTalk would send; sign as DingTalk
// computes it, independently of package dingtalk.
func (ct *chatTest) request(t *testing.T, cb callback, ts time.Time, secret string) *http.Request {
	t.Helper()
	now := ct.clock.Now()
	if cb.conv == "" {
		cb.conv = chatGroup
	}
	if cb.msgID == "" {
		ct.seq++
		cb.msgID = "msg" + strconv.Itoa(ct.seq)
	}
	if cb.sessionExpires.IsZero() {
		cb.sessionExpires = now.Add(90 * time.Minute)
	}
	body, err := json.Marshal(map[string]any{
		"msgtype": "text", "text": map[string]string{"content": " " + cb.text}, "msgId": cb.msgID,
		"createAt": now.UnixMilli(), "conversationType": "2", "conversationId": cb.conv,
		"senderId": "$:LWCP_v1:$enc" + cb.staff, "senderNick": cb.nick, "senderStaffId": cb.staff, "isAdmin": cb.admin,
		"sessionWebhook":            ct.dt.srv.URL + "/robot/sendBySession?session=sess-secret-" + cb.msgID,
		"sessionWebhookExpiredTime": cb.sessionExpires.UnixMilli(),
	})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/dingtalk/callback", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	ms := strconv.FormatInt(ts.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ms + "\n" + secret))
	req.Header.Set("timestamp", ms)
	req.Header.Set("sign", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return req
}

// post sends a callback signed now and waits for the command's reply.
func (ct *chatTest) post(t *testing.T, cb callback) hookReply {
	t.Helper()
	r := serve(t, ct.hookRouter(), ct.request(t, cb, ct.clock.Now(), chatSecret))
	ct.chat.wg.Wait()
	return r
}

// ask sends a command, spaced 16 s after the last so the robot's budget
// (5 in 15.5 s) always has room, and returns the new session replies.
func (ct *chatTest) ask(t *testing.T, cb callback) []string {
	t.Helper()
	ct.clock.Advance(16 * time.Second)
	before, _ := ct.dt.replies()
	r := ct.post(t, cb)
	require.Equal(t, http.StatusOK, r.Code, "%+v", r)
	require.Equal(t, "accepted", r.Status)
	after, _ := ct.dt.replies()
	return after[len(before):]
}

func TestChat_CallbackVerification(t *testing.T) {
	ct := newChatTest(t, "")
	now := ct.clock.Now()
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
	}{
		{"bad sign", func() *http.Request { return ct.request(t, callback{text: "today"}, now, "wrong-secret") }, http.StatusUnauthorized, "bad_signature"},
		{"old timestamp", func() *http.Request {
			return ct.request(t, callback{text: "today"}, now.Add(-61*time.Minute), chatSecret)
		}, http.StatusUnauthorized, "stale_timestamp"},
		{"future timestamp", func() *http.Request {
			return ct.request(t, callback{text: "today"}, now.Add(61*time.Minute), chatSecret)
		}, http.StatusUnauthorized, "stale_timestamp"},
		{"no headers", func() *http.Request {
			r := ct.request(t, callback{text: "today"}, now, chatSecret)
			r.Header.Del("sign")
			return r
		}, http.StatusUnauthorized, "missing_signature"},
		{"body not json", func() *http.Request {
			r := ct.request(t, callback{text: "today"}, now, chatSecret)
			r.Body = io.NopCloser(strings.NewReader("nope"))
			r.ContentLength = 4
			return r
		}, http.StatusBadRequest, "bad_request"},
		{"body too large", func() *http.Request {
			r := ct.request(t, callback{text: strings.Repeat("x", 5000)}, now, chatSecret)
			return r
		}, http.StatusRequestEntityTooLarge, "body_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := serve(t, ct.hookRouter(), tc.req())
			require.Equal(t, tc.status, r.Code)
			require.Equal(t, tc.code, r.Error)
			require.GreaterOrEqual(t, metricValue(ct.chat.callbacks.WithLabelValues(tc.code)), 1.0)
		})
	}
	ct.chat.wg.Wait()
	session, openapi := ct.dt.replies()
	require.Empty(t, session)
	require.Empty(t, openapi)
	require.Empty(t, ct.st.audits(), "nothing rejected reaches a command")
	require.NotContains(t, ct.logs.String(), chatSecret)
}

func TestChat_DuplicateMsgIDAnsweredOnce(t *testing.T) {
	ct := newChatTest(t, "")
	require.Len(t, ct.ask(t, callback{text: "help", msgID: "dup1"}), 1)
	r := ct.post(t, callback{text: "help", msgID: "dup1"})
	require.Equal(t, http.StatusOK, r.Code)
	require.Equal(t, "duplicate", r.Status)
	session, _ := ct.dt.replies()
	require.Len(t, session, 1)
	require.Len(t, ct.st.audits(), 1)
}

func TestChat_Commands(t *testing.T) {
	ct := newChatTest(t, "chatops:\n  robot: ops\n  allowed_conversations: [\""+chatGroup+"\"]\n  admin_staff: [boss]\n")
	// Events of the day (Bangkok): two charges and a failed one with an account.
	paid := ct.postCharge(t, "evt_1", 125050, "THB", "order 1")
	ct.postCharge(t, "evt_2", 5000, "thb", "order 2")
	failed := storeEvent(t, ct.testApp, "opn", "evt_f", "payment.failed", 99900, "THB", "chrg_fail", fullAccount)
	ct.slips["QR-OK"] = chatops.Slip{SendingBank: "004", BankName: "KBank", Reference: "chrg_test_evt_1"}
	ct.slips["QR-NONE"] = chatops.Slip{SendingBank: "014", Reference: "nowhere"}

	tests := []struct {
		name     string
		cb       callback
		contains []string
		absent   []string
		result   string
	}{
		{"help", callback{text: "help", nick: "Som"}, []string{"today", "find", "verify"}, []string{"retry 42"}, "ok"},
		{"unknown answers help", callback{text: "coffee"}, []string{"do not know the command \"coffee\"", "What you can ask me here"}, nil, "unknown"},
		// The two charges come from Opn test keys (livemode false): the test-mode section.
		{"today", callback{text: "วันนี้"}, []string{"Summary 2026-11-21", "1 events", "Failed (1)", "THB 999.00", "••••7890",
			"Test mode, not in the totals (2)**\n\n**opn**\n\n- ✅ Payment received: 2 · THB 1,300.50"}, []string{fullAccount}, "ok"},
		{"summary other day", callback{text: "summary 2026-11-20"}, []string{"No events received that day"}, nil, "ok"},
		{"summary bad day", callback{text: "summary yesterday"}, []string{"YYYY-MM-DD"}, nil, "invalid"},
		{"find amount", callback{text: "find 1,250.50"}, []string{"THB 1,250.50", paid}, []string{"THB 50.00"}, "ok"},
		{"find digits", callback{text: "ค้นหา 7890"}, []string{failed, "••••7890"}, []string{fullAccount}, "ok"},
		{"find nothing", callback{text: "find chrg_zzz"}, []string{"Nothing matches"}, nil, "not_found"},
		{"status", callback{text: "status"}, []string{"opn: 2026-11-21", "dead letters", "ops: ok", "No key expires"}, nil, "ok"},
		{"unacked", callback{text: "unacked"}, []string{failed}, []string{paid}, "ok"},
		{"ack", callback{text: "ack " + failed + " refunded by phone", staff: "u1", nick: "Som"}, []string{"acknowledged by Som", "THB 999.00", "refunded by phone"}, nil, "ok"},
		{"ack again", callback{text: "ack " + failed, nick: "Nok"}, []string{"already acknowledged by Som"}, nil, "ok"},
		{"ack unknown", callback{text: "ack ev_nope"}, []string{"No event"}, nil, "not_found"},
		{"unacked after ack", callback{text: "unacked"}, []string{"Nothing waits"}, nil, "ok"},
		{"verify matched", callback{text: "verify QR-OK", nick: "Som"}, []string{"KBank (004)", "Payment received: **THB 1,250.50**", "First time"}, nil, "ok"},
		{"verify again", callback{text: "ตรวจสลิป QR-OK", nick: "Nok"}, []string{"Verified before** by Som", "in this conversation"}, nil, "ok"},
		{"verify no payment", callback{text: "verify QR-NONE"}, []string{"No received payment"}, nil, "ok"},
		{"verify not a slip", callback{text: "verify hello"}, []string{"not a payment slip"}, nil, "invalid"},
		{"retry needs admin", callback{text: "retry 1", staff: "u1"}, []string{"needs an admin"}, nil, "denied"},
		{"retry by admin", callback{text: "retry 999", staff: "boss"}, []string{"No delivery 999"}, nil, "not_found"},
		{"retry by group admin", callback{text: "retry 999", admin: true}, []string{"No delivery 999"}, nil, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(ct.st.audits())
			replies := ct.ask(t, tc.cb)
			require.Len(t, replies, 1)
			for _, c := range tc.contains {
				require.Contains(t, replies[0], c)
			}
			for _, c := range tc.absent {
				require.NotContains(t, replies[0], c)
			}
			audits := ct.st.audits()
			require.Len(t, audits, n+1)
			a := audits[n]
			require.Equal(t, tc.result, a.Result)
			require.Equal(t, chatGroup, a.ConversationID)
			require.Equal(t, chatops.AuditCommand(chatops.ParseCommand(tc.cb.text)), a.Command)
			require.NotContains(t, a.Command, fullAccount)
		})
	}
	logs := ct.logs.String()
	require.NotContains(t, logs, chatSecret)
	require.NotContains(t, logs, fullAccount)
	require.NotContains(t, logs, "sess-secret")
	require.NotContains(t, logs, "tok-123456")
}

func TestChat_NotAllowed(t *testing.T) {
	ct := newChatTest(t, "chatops:\n  robot: ops\n  allowed_conversations: [\""+chatGroup+"\"]\n  allowed_staff: [u1]\n")
	ct.postCharge(t, "evt_1", 777700, "THB", "order 1")
	tests := []struct {
		name     string
		cb       callback
		contains []string
	}{
		{"group not allowed: no amounts", callback{text: "today", conv: otherGroup}, []string{"only answered in the groups listed", otherGroup}},
		{"group not allowed: find", callback{text: "find 7,777.00", conv: otherGroup, staff: "u1"}, []string{"only answered in the groups listed"}},
		{"sender not allowed: status", callback{text: "status", staff: "u2", nick: "Eve"}, []string{"needs a sender listed in chatops.allowed_staff", "Eve"}},
		{"sender not allowed: ack", callback{text: "ack ev_1", staff: "u2"}, []string{"allowed_staff"}},
		{"allowed staff elsewhere: status", callback{text: "status", staff: "u1", conv: otherGroup}, []string{"bankbot status"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			replies := ct.ask(t, tc.cb)
			require.Len(t, replies, 1)
			for _, c := range tc.contains {
				require.Contains(t, replies[0], c)
			}
			require.NotContains(t, replies[0], "7,777.00")
			require.NotContains(t, replies[0], "chrg_test")
		})
	}
	results := map[string]int{}
	for _, a := range ct.st.audits() {
		results[a.Result]++
	}
	require.Equal(t, map[string]int{"denied": 4, "ok": 1}, results)
}

func TestChat_ExpiredSessionFallsBackToOpenAPI(t *testing.T) {
	tests := []struct {
		name string
		cb   callback
		code int
	}{
		{"expired by time", callback{text: "help", sessionExpires: t0.Add(-time.Minute)}, 0},
		{"refused by dingtalk", callback{text: "help"}, 300001},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := newChatTest(t, "")
			ct.dt.sessionCode = tc.code
			require.Empty(t, ct.ask(t, tc.cb))
			_, openapi := ct.dt.replies()
			require.Len(t, openapi, 1)
			require.Contains(t, openapi[0], "What you can ask me here")
			require.Equal(t, []string{chatGroup}, ct.dt.openapiConv, "the reply goes to the conversation asked in")
			require.Equal(t, 1.0, metricValue(ct.chat.replies.WithLabelValues("openapi", "ok")))
			sends, err := ct.store.RobotSends(context.Background(), "ops", time.Time{})
			require.NoError(t, err)
			require.Len(t, sends, 1+min(tc.code, 1), "every attempt takes a send of the robot's budget")
		})
	}
}

func TestChat_RateLimit(t *testing.T) {
	ct := newChatTest(t, "")
	var answered []int
	for i := range 13 {
		ct.clock.Advance(4 * time.Second)
		before, _ := ct.dt.replies()
		r := ct.post(t, callback{text: "help"})
		require.Equal(t, http.StatusOK, r.Code)
		after, _ := ct.dt.replies()
		answered = append(answered, len(after)-len(before))
		if i == 10 {
			require.Contains(t, after[len(after)-1], "slow down")
		}
	}
	require.Equal(t, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, answered, "10 answers, one slow down, then silence")
	// The minute passes: answered again.
	require.Len(t, ct.ask(t, callback{text: "help"}), 1)
	limited := 0
	for _, a := range ct.st.audits() {
		if a.Result == chatops.ResultRateLimited {
			limited++
		}
	}
	require.Equal(t, 3, limited, "rate-limited commands are audited too")
}

func TestChat_LongReplySplit(t *testing.T) {
	ct := newChatTest(t, "")
	replier := ct.chatReplier(ct.runtime.Load(), ct.runtime.Load().Config.Chatops, ct.runtime.Load().Config.Robots["ops"])
	long := strings.Repeat("line of a long reply ไทย\n", 2000)
	m := chatops.Message{ConversationID: chatGroup, ConversationType: "2", SessionWebhook: ct.dt.srv.URL + "/robot/sendBySession?session=s", SessionExpires: t0.Add(time.Hour)}
	done := make(chan error, 1)
	go func() { done <- replier.Reply(context.Background(), m, chatops.Reply{Title: "bankbot", Text: long}) }()
	// Parts over the budget wait for it on the fake clock.
	for {
		select {
		case err := <-done:
			require.NoError(t, err)
			session, _ := ct.dt.replies()
			require.Greater(t, len(session), 1)
			total := 0
			for i, p := range session {
				require.LessOrEqual(t, len(p), 15000)
				require.Contains(t, p, fmt.Sprintf("(%d/%d)", i+1, len(session)))
				total += strings.Count(p, "line of a long reply ไทย")
			}
			require.Equal(t, 2000, total, "no line lost")
			return
		case <-time.After(time.Millisecond):
			ct.clock.Advance(time.Second)
		}
	}
}

// storeEvent stores an event directly (any kind, with an account).
func storeEvent(t *testing.T, ta *testApp, source, id, kind string, amount int64, currency, ref, account string) string {
	t.Helper()
	now := ta.clock.Now()
	evID := newEventID(now)
	_, err := ta.store.InsertEvent(context.Background(), store.NewEvent{
		ID: evID, Source: source, ReceivedAt: now, Body: []byte("{}"), Routed: true,
		Event: eventOf(id, kind, amount, currency, ref, account),
	})
	require.NoError(t, err)
	return evID
}

func eventOf(id, kind string, amount int64, currency, ref, account string) bankhooks.Event {
	return bankhooks.Event{Provider: "omise", ID: id, Type: kind, Kind: bankhooks.Kind(kind), Amount: amount, Currency: currency,
		Reference: ref, Account: account, FailureMessage: "insufficient funds", Livemode: true}
}
