package render

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
)

// digestItems is a small burst: two payments in THB, one in JPY, a failed
// payment, a test-mode refund, and an ops alert.
func digestItems() []DigestItem {
	ok := goldenData(bankhooks.KindPaymentSucceeded)
	ok.EventID = "ev_01aaaaaaaaaaaaaaaaaaaa1111"
	ok2 := goldenData(bankhooks.KindPaymentSucceeded)
	ok2.EventID, ok2.Event.Amount, ok2.Event.Reference = "ev_01aaaaaaaaaaaaaaaaaaaa2222", 123456, "Order *1002*"
	jpy := goldenData(bankhooks.KindPaymentSucceeded)
	jpy.EventID, jpy.Event.Amount, jpy.Event.Currency = "ev_01aaaaaaaaaaaaaaaaaaaa3333", 1500, "JPY"
	failed := goldenData(bankhooks.KindPaymentFailed)
	failed.EventID = "ev_01aaaaaaaaaaaaaaaaaaaa4444"
	refund := goldenData(bankhooks.KindRefundSucceeded)
	refund.EventID, refund.Event.Livemode = "ev_01aaaaaaaaaaaaaaaaaaaa5555", false
	return []DigestItem{
		{Data: ok}, {Data: ok2}, {Data: jpy}, {Data: failed}, {Data: refund},
		{Data: Data{EventID: "ev_01aaaaaaaaaaaaaaaaaaaa6666"}, Title: "⏸️ Robot finance paused by DingTalk's rate limit"},
	}
}

// TestDigest_Golden proves the digest text byte for byte in each language
// that has digest words, with several currencies in one burst (the golden
// matrix has one currency per digest). Regenerate with -update.
func TestDigest_Golden(t *testing.T) {
	update := updateGolden()
	dir := filepath.Join("testdata", "digest")
	if update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	for _, lang := range Languages() {
		t.Run(lang, func(t *testing.T) {
			r := Digest(digestItems(), DigestOptions{ID: "dm_TEST", Lang: lang, Part: 1, Parts: 2, Limit: 20})
			path := filepath.Join(dir, "digest."+lang+".md")
			if update {
				require.NoError(t, os.WriteFile(path, []byte(r.Text), 0o644))
			}
			golden, err := os.ReadFile(path)
			require.NoError(t, err, "missing golden file; run go test ./bot/render/ -update")
			require.Equal(t, string(golden), r.Text)
			require.True(t, strings.HasPrefix(r.Text, "### "+r.Title+"\n"))
		})
	}
}

// TestDigest_Content checks what every digest must carry, independently of
// the golden bytes.
func TestDigest_Content(t *testing.T) {
	items := digestItems()
	r := Digest(items, DigestOptions{ID: "dm_X", Lang: "en", Limit: 20})
	require.Contains(t, r.Title, "6 alerts")
	require.NotContains(t, r.Title, "part", "a digest in one message is not numbered")
	// Totals per currency, exact: THB 50.00 + 1,234.56 + 50.00 (failed) + 50.00 (refund).
	require.Contains(t, r.Text, "**THB 1,384.56** in 4")
	require.Contains(t, r.Text, "**JPY 1,500** in 1")
	// The failure comes first, with its reason.
	fi := strings.Index(r.Text, "Payment failed")
	require.Positive(t, fi)
	require.Less(t, fi, strings.Index(r.Text, "Payment received"))
	require.Contains(t, r.Text, "insufficient_fund — insufficient funds in the account")
	// Every event by its short id; provider text escaped; test mode marked.
	for _, it := range items {
		require.Contains(t, r.Text, ShortID(it.EventID))
	}
	require.Contains(t, r.Text, `Order \*1002\*`)
	require.Contains(t, r.Text, "[TEST] ↩️ Refund completed")
	require.Contains(t, r.Text, "Robot finance paused")
	require.True(t, strings.HasSuffix(r.Text, "ref: dm_X"))
	// An unsupported language falls back to English.
	require.Equal(t, r, Digest(items, DigestOptions{ID: "dm_X", Lang: "xx", Limit: 20}))
}

// TestDigest_TotalsDoNotOverflow: sums are exact beyond int64, and an
// unknown currency shows raw minor units.
func TestDigest_TotalsDoNotOverflow(t *testing.T) {
	a := goldenData(bankhooks.KindPaymentSucceeded)
	a.Event.Amount = math.MaxInt64
	b := a
	xyz := a
	xyz.Event.Currency, xyz.Event.Amount = "XYZ", 12345
	r := Digest([]DigestItem{{Data: a}, {Data: b}, {Data: xyz}}, DigestOptions{ID: "dm_X", Lang: "en"})
	require.Contains(t, r.Text, "18446744073709551614 THB")
	require.Contains(t, r.Text, "12345 XYZ")
}

func TestShortID(t *testing.T) {
	require.Equal(t, "abcd1234", ShortID("ev_0000000000000000000abcd1234"))
	require.Equal(t, "short", ShortID("short"))
}
