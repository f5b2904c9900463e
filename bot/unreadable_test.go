package bot

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// TestIngest_UnreadableAccepted: a correctly signed body that bankbot cannot
// read is never refused: it is stored raw, answered 200 accepted with the
// problem, deduplicated on the provider id (or the body's hash), routed to
// every route of its source whatever their kinds, and alerted as unreadable.
func TestIngest_UnreadableAccepted(t *testing.T) {
	ta := newTestApp(t, testConfig{routes: "  - name: payments\n    robot: log\n    kinds: [payment.succeeded]\n    min_amount: 1000\n"})
	weird := func(id, field, value string) []byte {
		return []byte(strings.Replace(string(charge(id, 5000, "THB", "x")), field, value, 1))
	}
	tests := []struct {
		name    string
		body    []byte
		wantID  string // provider id kept for dedupe; "" = the body's hash
		problem string
	}{
		{"unknown currency", weird("evnt_u_cur", `"currency":"thb"`, `"currency":"xyz"`), "evnt_u_cur", "XYZ"},
		{"amount too large", weird("evnt_u_big", `"amount":5000`, `"amount":99999999999999999999999`), "evnt_u_big", "amount"},
		{"fractional amount", weird("evnt_u_frac", `"amount":5000`, `"amount":5000.5`), "evnt_u_frac", "amount"},
		{"not JSON", []byte("this is not json"), "", ""},
		{"cut-off JSON", []byte(`{"object":"event","id":"evnt_cut"`), "", ""},
		{"id with a NUL byte", []byte(`{"object":"event","id":"evnt_\u0000x","key":"charge.complete","livemode":true,"created_at":"2026-11-21T09:59:59Z","data":{"object":"charge","id":"chrg_n","amount":100,"currency":"thb","status":"successful"}}`), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), tc.body))
			require.Equal(t, http.StatusOK, r.Code, "%+v", r)
			require.Equal(t, "accepted", r.Status)
			require.NotEmpty(t, r.Unreadable)
			require.Contains(t, r.Unreadable, tc.problem)
			ev, err := ta.store.GetEvent(context.Background(), r.ID)
			require.NoError(t, err)
			require.Equal(t, tc.body, ev.Body, "the raw body is kept byte for byte")
			require.Equal(t, bankhooks.KindUnreadable, ev.Event.Kind)
			require.Equal(t, r.Unreadable, ev.Event.FailureMessage)
			if tc.wantID != "" {
				require.Equal(t, tc.wantID, ev.Event.ID, "deduped on the provider's id")
			} else {
				require.Equal(t, bankhooks.BodyID(tc.body), ev.Event.ID, "deduped on the body's hash")
			}
			ds, err := ta.store.ListDeliveries(context.Background(), store.DeliveryFilter{EventID: r.ID})
			require.NoError(t, err)
			require.Len(t, ds, 1, "routed whatever the route's kinds and minimum")

			again := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), tc.body))
			require.Equal(t, http.StatusOK, again.Code)
			require.Equal(t, "duplicate", again.Status, "the provider's retry is a duplicate")
			require.Equal(t, r.ID, again.ID)
		})
	}
	require.Equal(t, float64(len(tests)), received(ta.App, "opn", "unreadable"))
	require.Zero(t, received(ta.App, "opn", "accepted"))

	t.Run("the alert names the source, the problem and the event", func(t *testing.T) {
		s := &scriptedSender{}
		ta.withRuntime(func(rt *Runtime) { rt.Robots["log"].Sender = s })
		ta.startWorkers(t)
		require.Eventually(t, func() bool { return len(s.sent()) > 0 }, 10*time.Second, 2*time.Millisecond)
		m := s.sent()[0]
		require.Contains(t, m.Title+m.Text, "opn")
		require.True(t, strings.Contains(m.Text, "nrea") || strings.Contains(m.Text, "ไม่ได้"), m.Text)
	})
}
