package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// TestE2E_SignedButUnreadableIsKept: a correctly signed event bankbot cannot
// read (an unknown currency, a body that is not JSON, an id the store
// refuses) is answered 200 with the problem, stored, and alerted as
// unreadable at DingTalk, naming the source and the problem.
func TestE2E_SignedButUnreadableIsKept(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	s := startServer(t, dir, newParams(t, fake, dir))

	bodies := map[string][]byte{
		"xyz":  []byte(strings.Replace(string(chargeComplete("evnt_xyz", 5000, "THB")), `"currency":"thb"`, `"currency":"xyz"`, 1)),
		"json": []byte(`{"object":"event","id":`),
		"nul":  []byte(strings.Replace(string(chargeComplete("evnt_nul", 100, "THB")), `"id":"evnt_nul"`, `"id":"evnt_\u0000x"`, 1)),
	}
	ids := map[string]string{}
	for name, body := range bodies {
		r := s.postOpn("opn", keyA, time.Now(), body)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", name, r.Body)
		require.Contains(t, r.Body, `"status":"accepted"`)
		require.Contains(t, r.Body, `"unreadable":"`)
		ids[name] = idOf(t, r.Body)
		again := s.postOpn("opn", keyA, time.Now(), body)
		require.Contains(t, again.Body, `"status":"duplicate"`, "%s: the provider's retry", name)
	}
	msgs := fake.WaitForMessages(3, 20*time.Second)
	require.Len(t, msgs, 3)
	var xyz string
	for _, m := range msgs {
		require.Contains(t, m.Title, "Unreadable event from opn")
		if strings.Contains(m.Text, ids["xyz"]) {
			xyz = m.Text
		}
	}
	require.Contains(t, xyz, "xyz", "the alert names the problem")
	require.Contains(t, xyz, "evnt_xyz", "and the provider's event id")
	require.Equal(t, "3", s.metric(`bankbot_webhooks_received_total{result="unreadable",source="opn"}`))
}

// TestE2E_DeletedDatabaseFailsClosed: deleting the SQLite file under the
// running server makes webhooks 503 (the provider retries) and /readyz fail
// within 2 seconds, instead of accepting events into a deleted file.
func TestE2E_DeletedDatabaseFailsClosed(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	s := startServer(t, dir, p)
	r := s.postOpn("opn", keyA, time.Now(), chargeComplete("evnt_before_delete", 100, "THB"))
	require.Equal(t, http.StatusOK, r.Status, r.Body)

	for _, f := range []string{p.DB, p.DB + "-wal", p.DB + "-shm"} {
		_ = os.Remove(f)
	}
	r = s.postOpn("opn", keyA, time.Now(), chargeComplete("evnt_after_delete", 100, "THB"))
	require.Equal(t, http.StatusServiceUnavailable, r.Status, r.Body)
	require.Contains(t, r.Body, `"error":"store_unavailable"`)
	eventually(t, 2*time.Second, func() bool {
		resp, err := http.Get("http://" + s.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode != http.StatusOK
	}, "/readyz still 200 after the database file was deleted")
	require.Equal(t, "0", s.metric("bankbot_store_up"))
	require.Contains(t, s.logs.String(), filepath.Base(p.DB))
}
