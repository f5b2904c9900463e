package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// TestChat_Stream: with chatops.mode: stream, a bot message delivered over a
// fake Stream gateway (on the fake DingTalk, so api_base points at it) goes
// through the same path as a callback: claimed in the store, run, answered
// on its session webhook; a redelivery of the same msgId is not run again;
// POST /dingtalk/callback is off (404); cancelling ends the stream.
func TestChat_Stream(t *testing.T) {
	ct := newChatTest(t, "chatops:\n  robot: ops\n  mode: stream\n  allowed_conversations: [\""+chatGroup+"\"]\n")
	frames := make(chan []byte, 4)
	acks := make(chan string, 4)
	up := websocket.Upgrader{}
	h := func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/v1.0/gateway/connections/open":
			_ = json.NewEncoder(w).Encode(map[string]string{
				"endpoint": "ws" + strings.TrimPrefix(ct.dt.srv.URL, "http") + "/stream", "ticket": "t1",
			})
			return true
		case "/stream":
			conn, err := up.Upgrade(w, r, nil)
			if err != nil {
				return true
			}
			defer conn.Close()
			go func() {
				for {
					_, b, err := conn.ReadMessage()
					if err != nil {
						return
					}
					acks <- string(b)
				}
			}()
			for {
				select {
				case f := <-frames:
					if conn.WriteMessage(websocket.TextMessage, f) != nil {
						return true
					}
				case <-r.Context().Done():
					return true
				case <-t.Context().Done():
					return true
				}
			}
		}
		return false
	}
	ct.dt.stream.Store(&h)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); ct.runChatStream(ctx) }()

	frame := func(msgID string) []byte {
		now := ct.clock.Now()
		data, _ := json.Marshal(map[string]any{
			"msgtype": "text", "text": map[string]string{"content": " help"}, "msgId": msgID,
			"createAt": now.UnixMilli(), "conversationType": "2", "conversationId": chatGroup,
			"senderId": "$:LWCP_v1:$encu1", "senderNick": "Nok", "senderStaffId": "u1",
			"sessionWebhook":            ct.dt.srv.URL + "/robot/sendBySession?session=s-" + msgID,
			"sessionWebhookExpiredTime": now.Add(90 * time.Minute).UnixMilli(),
		})
		b, _ := json.Marshal(map[string]any{
			"specVersion": "1.0", "type": "CALLBACK", "data": string(data),
			"headers": map[string]string{"topic": "/v1.0/im/bot/messages/get", "messageId": "f-" + msgID, "contentType": "application/json"},
		})
		return b
	}
	frames <- frame("stream-1")
	select {
	case a := <-acks:
		require.Contains(t, a, `"code":200`)
	case <-time.After(10 * time.Second):
		t.Fatal("no ACK for the stream message")
	}
	require.Eventually(t, func() bool { s, _ := ct.dt.replies(); return len(s) == 1 }, 10*time.Second, 10*time.Millisecond,
		"the reply went to the session webhook")
	session, _ := ct.dt.replies()
	require.Contains(t, session[0], "help")

	// A redelivery (same msgId) is acknowledged but not run again.
	frames <- frame("stream-1")
	select {
	case <-acks:
	case <-time.After(10 * time.Second):
		t.Fatal("no ACK for the redelivery")
	}
	ct.chat.wg.Wait()
	session, _ = ct.dt.replies()
	require.Len(t, session, 1)
	require.Equal(t, 1.0, metricValue(ct.chat.streamEvents.WithLabelValues("connect")))
	require.Equal(t, 1.0, metricValue(ct.chat.callbacks.WithLabelValues("duplicate")))

	// The HTTP callback is off in stream mode.
	r := serve(t, ct.hookRouter(), ct.request(t, callback{text: "help"}, ct.clock.Now(), chatSecret))
	require.Equal(t, http.StatusNotFound, r.Code)
	require.Equal(t, "not_configured", r.Error)

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not stop")
	}
}
