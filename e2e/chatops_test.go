package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

const (
	e2eChatSecret = "e2e-chat-app-secret-0123456789abcdef"
	e2eChatGroup  = "cidE2EFINANCE=="
	// A real KBank slip (providers.md §11); its reference is 014242082547BPM04988.
	e2eSlip    = "0041000600000101030040220014242082547BPM049885102TH910434DF"
	e2eSlipRef = "014242082547BPM04988"
)

// sessionFake is DingTalk's side of chat replies: the session webhook and the
// app robot's OpenAPI.
type sessionFake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	replies []string
}

func newSessionFake(t *testing.T) *sessionFake {
	f := &sessionFake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/robot/sendBySession":
			var b struct {
				Markdown struct{ Text string }    `json:"markdown"`
				Text     struct{ Content string } `json:"text"`
			}
			_ = json.Unmarshal(raw, &b)
			f.mu.Lock()
			f.replies = append(f.replies, b.Markdown.Text+b.Text.Content)
			f.mu.Unlock()
			fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
		case "/v1.0/oauth2/accessToken":
			fmt.Fprint(w, `{"accessToken":"tok-e2e","expireIn":7200}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *sessionFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.replies)
}

func (f *sessionFake) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.replies[len(f.replies)-1]
}

// TestE2E_ChatVerifySlipAckUnacked: with the real binary, a payment webhook
// arrives; `verify` with a slip whose reference matches reports the match; a
// second `verify` of the same slip reports reuse naming the first verifier;
// `ack` of a failed payment removes it from `unacked`. Callbacks are signed
// as DingTalk signs them, computed here.
func TestE2E_ChatVerifySlipAckUnacked(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	chat := newSessionFake(t)
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	p.RobotExtra = "  ops:\n    type: app\n    app_key: e2e-app\n    app_secret: " + e2eChatSecret +
		"\n    robot_code: rc-e2e\n    conversation_id: cidOPS\n    timeout: 2s\n    api_base: " + chat.srv.URL + "\n"
	p.Extra = "chatops:\n  robot: ops\n  allowed_conversations: [\"" + e2eChatGroup + "\"]\n"
	s := startServer(t, dir, p)

	// The payment the slip is for (Opn's charge id is the event's
	// reference), and a failed payment to acknowledge.
	paid := strings.Replace(string(chargeComplete("evnt_e2e_slip", 150000, "THB")), `"id":"chrg_test_evnt_e2e_slip"`, `"id":"`+e2eSlipRef+`"`, 1)
	r := s.postOpn("opn", keyA, time.Now(), []byte(paid))
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	paidID := idOf(t, r.Body)
	failed := strings.Replace(string(chargeComplete("evnt_e2e_fail", 99900, "THB")), `"status":"successful","paid":true`, `"status":"failed","paid":false,"failure_code":"insufficient_fund","failure_message":"insufficient funds"`, 1)
	r = s.postOpn("opn", keyA, time.Now(), []byte(failed))
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	failedID := idOf(t, r.Body)

	seq := 0
	ask := func(text, staff, nick string) string {
		t.Helper()
		seq++
		before := chat.count()
		now := time.Now()
		body, err := json.Marshal(map[string]any{
			"msgtype": "text", "text": map[string]string{"content": " " + text}, "msgId": "e2e-msg-" + strconv.Itoa(seq),
			"createAt": now.UnixMilli(), "conversationType": "2", "conversationId": e2eChatGroup,
			"senderStaffId": staff, "senderNick": nick, "isAdmin": false,
			"sessionWebhook":            chat.srv.URL + "/robot/sendBySession?session=e2e-" + strconv.Itoa(seq),
			"sessionWebhookExpiredTime": now.Add(time.Hour).UnixMilli(),
		})
		require.NoError(t, err)
		ms := strconv.FormatInt(now.UnixMilli(), 10)
		mac := hmac.New(sha256.New, []byte(e2eChatSecret))
		mac.Write([]byte(ms + "\n" + e2eChatSecret))
		req, err := http.NewRequest(http.MethodPost, "http://"+s.hookAddr+"/dingtalk/callback", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("timestamp", ms)
		req.Header.Set("sign", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		eventually(t, 60*time.Second, func() bool { return chat.count() > before }, "no reply to %q", text)
		return chat.last()
	}

	reply := ask("verify "+e2eSlip, "staff-1", "Somchai")
	require.Contains(t, reply, "KBANK")
	require.Contains(t, reply, paidID, "the matching payment is named")
	require.Contains(t, reply, "THB 1,500.00")

	reply = ask("verify "+e2eSlip, "staff-2", "Malee")
	require.Contains(t, reply, "Somchai", "the reuse names the first verifier")

	require.Contains(t, ask("unacked", "staff-1", "Somchai"), failedID)
	require.Contains(t, ask("ack "+failedID+" called the customer", "staff-1", "Somchai"), failedID)
	require.NotContains(t, ask("unacked", "staff-1", "Somchai"), failedID, "acknowledged: no longer unacked")

	// The audit trail, from the CLI.
	b, err := exec.Command(binPath, "audit", "list", "--config", s.cfgPath).CombinedOutput()
	out := string(b)
	require.NoError(t, err, out)
	require.Contains(t, out, "verify")
	require.Contains(t, out, "ack")
	require.NotContains(t, s.logs.String(), e2eChatSecret)
}
