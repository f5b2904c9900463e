package render

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
)

// update rewrites the golden files: go test ./bot/render/ -update (or, as
// before, BANKBOT_UPDATE_GOLDEN=1 go test ./bot/render/). Review the diff.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// updateGolden reports whether this run rewrites golden files.
func updateGolden() bool { return *update || os.Getenv("BANKBOT_UPDATE_GOLDEN") == "1" }

// goldenCurrencies are the currencies of the golden matrix: two-decimal THB
// and USD, IDR (two decimals by ISO 4217 though CLDR writes none), JPY with
// none and KWD with three.
var goldenCurrencies = []string{"THB", "IDR", "JPY", "USD", "KWD"}

// goldenMatrixAmount is the amount of every event of the matrix, in minor
// units: 1,234,567.89 THB, 123,456,789 JPY, 123,456.789 KWD; id writes
// 1.234.567,89.
const goldenMatrixAmount = 123456789

// matrixData is goldenData in currency, with a failure code for each failed
// kind that shows both paths: codes bankbot explains in plain words (Opn's
// insufficient_fund, Stripe's fraudulent and expired_card) and one it does
// not know, which shows as the provider sent it.
func matrixData(kind bankhooks.Kind, currency string) Data {
	d := goldenData(kind)
	d.Event.Amount, d.Event.Currency = goldenMatrixAmount, currency
	switch kind {
	case bankhooks.KindRefundFailed:
		d.Event.Provider, d.Event.FailureCode, d.Event.FailureMessage = "stripe", "expired_or_canceled_card", ""
	case bankhooks.KindTransferFailed:
		d.Event.FailureCode, d.Event.FailureMessage = "bank_maintenance_window", "The receiving bank is under maintenance"
	case bankhooks.KindDisputeOpened:
		d.Event.Provider, d.Event.FailureCode, d.Event.FailureMessage = "stripe", "fraudulent", ""
	case bankhooks.KindUnreadable:
		d.Event = bankhooks.Event{Provider: "omise", ID: "evnt_5xyz7k2m", Kind: kind, Livemode: true,
			FailureMessage: "amount: \"12.5\" is not an integer"}
	}
	return d
}

// matrixFile is every kind of one set, language and currency as one golden
// file: each message's title and text under a line naming its kind.
func matrixFile(t *testing.T, e *Engine, set, lang, currency string) string {
	t.Helper()
	var b strings.Builder
	for _, kind := range bankhooks.Kinds() {
		r, err := e.Render(set, lang, matrixData(kind, currency))
		require.NoError(t, err, "%s %s %s %s", set, lang, currency, kind)
		fmt.Fprintf(&b, "<!-- kind: %s -->\n<!-- title: %s -->\n%s\n\n", kind, r.Title, r.Text)
	}
	return b.String()
}

// matrixDigest is a burst digest of one event of every kind in currency,
// plus an ops alert, as part 1 of 2.
func matrixDigest(lang, currency string) string {
	var items []DigestItem
	for i, kind := range bankhooks.Kinds() {
		d := matrixData(kind, currency)
		d.EventID = fmt.Sprintf("ev_01aaaaaaaaaaaaaaaaaaaa%04d", i)
		items = append(items, DigestItem{Data: d})
	}
	items = append(items, DigestItem{Data: Data{EventID: "ev_01aaaaaaaaaaaaaaaaaaaa9999"}, Title: "⏸️ Robot finance paused by DingTalk's rate limit"})
	r := Digest(items, DigestOptions{ID: "dm_TEST", Lang: lang, Part: 1, Parts: 2, Limit: 20})
	return fmt.Sprintf("<!-- title: %s -->\n%s\n", r.Title, r.Text)
}

// TestGoldenMatrix proves, byte for byte, every canonical kind (unreadable
// included) of every shipped set, and a burst digest, in each of the 4
// languages and 5 currencies. Regenerate with -update.
func TestGoldenMatrix(t *testing.T) {
	e := newEngine(t, nil)
	dir := filepath.Join("testdata", "golden")
	if updateGolden() {
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	check := func(t *testing.T, name, got string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if updateGolden() {
			require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "missing golden file; run go test ./bot/render/ -update")
		require.Equal(t, string(want), got)
	}
	var names []string
	for _, lang := range Languages() {
		for _, cur := range goldenCurrencies {
			for _, set := range []string{"default", "payment"} {
				name := fmt.Sprintf("%s.%s.%s.md", set, lang, cur)
				names = append(names, name)
				t.Run(name, func(t *testing.T) { check(t, name, matrixFile(t, e, set, lang, cur)) })
			}
			name := fmt.Sprintf("digest.%s.%s.md", lang, cur)
			names = append(names, name)
			t.Run(name, func(t *testing.T) { check(t, name, matrixDigest(lang, cur)) })
		}
	}
	t.Run("no stale golden files", func(t *testing.T) {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var got []string
		for _, ent := range entries {
			got = append(got, ent.Name())
		}
		slices.Sort(names)
		require.Equal(t, names, got)
	})
}

// TestGoldenMatrix_Numbers checks the matrix's amounts independently of
// the golden bytes: each locale's separators and each currency's digits.
func TestGoldenMatrix_Numbers(t *testing.T) {
	want := map[string]map[string]string{
		"en": {"THB": "THB 1,234,567.89", "IDR": "IDR 1,234,567.89", "JPY": "JPY 123,456,789", "USD": "USD 1,234,567.89", "KWD": "KWD 123,456.789"},
		"id": {"THB": "THB 1.234.567,89", "IDR": "IDR 1.234.567,89", "JPY": "JPY 123.456.789", "USD": "USD 1.234.567,89", "KWD": "KWD 123.456,789"},
	}
	want["th"], want["zh"] = want["en"], want["en"]
	e := newEngine(t, nil)
	for _, lang := range Languages() {
		for _, cur := range goldenCurrencies {
			for _, set := range []string{"default", "payment"} {
				text := matrixFile(t, e, set, lang, cur)
				require.NotContains(t, text, "<!-- title: #", "a title does not carry the heading marks")
				require.Equal(t, 2*(len(bankhooks.Kinds())-1), strings.Count(text, want[lang][cur]),
					"%s %s %s: every kind but unreadable shows the amount in its title (listed, then as the heading)", set, lang, cur)
			}
			require.Contains(t, matrixDigest(lang, cur), "**"+want[lang][cur]+"**")
		}
	}
}
