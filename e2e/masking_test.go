package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// TestE2E_CardNumberAndLinkInDescription: an Opn charge whose description
// carries a card number and a link reaches DingTalk with the card masked to
// its last 4 and the link defanged.
func TestE2E_CardNumberAndLinkInDescription(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	s := startServer(t, dir, newParams(t, fake, dir))

	body := chargeComplete("evnt_test_masking", 5000, "THB")
	body = []byte(strings.Replace(string(body), `"description":"Order 1001"`,
		`"description":"Paid with 4111 1111 1111 1111, verify at https://evil.example/login"`, 1))
	require.Contains(t, string(body), "4111 1111 1111 1111")
	r := s.postOpn("opn", keyA, time.Now(), body)
	require.Equal(t, http.StatusOK, r.Status, r.Body)

	msgs := fake.WaitForMessages(1, 15*time.Second)
	require.Len(t, msgs, 1, "one message at the fake DingTalk")
	text := msgs[0].Text
	require.Contains(t, text, "Paid with ••••1111")
	require.Contains(t, text, `hxxps://evil\[.\]example/login`)
	for _, leak := range []string{"4111 1111", "41111111", "https://evil", "evil.example"} {
		require.NotContains(t, text, leak)
	}
}
