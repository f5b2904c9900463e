package render

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
)

// englishMarkers are phrases only the English texts (templates, digest words,
// Fallback) use: a zh or id message holding one has fallen back to English.
var englishMarkers = []string{
	"Payment received", "Payment failed", "Payment pending", "Refund completed", "Refund failed",
	"Transfer completed", "Transfer failed", "Account linked", "Account linking failed",
	"Dispute opened", "Other event", "Unreadable event", "Test mode", "no real money",
	"**Reason:**", "Dispute reason", "Payer", "Payee", "Refunded to", "Refund to", "Account name",
	"**Account:**", "**Reference:**", "**Description:**", "**Source:**", "**Time:**",
	"Event type", "Counterparty", "not given by the provider", "Reference ",
	"The signature is valid", "Problem", "Provider event",
	"bankbot alert", "plain fallback", "alerts", "Failed (", "Listed together", "part ",
}

// requireNoEnglish fails when text carries an English marker.
func requireNoEnglish(t *testing.T, text string) {
	t.Helper()
	for _, m := range englishMarkers {
		require.NotContains(t, text, m, "English text in a translated message:\n%s", text)
	}
}

// TestRender_TranslatedLanguagesDoNotFallBack: every built-in set × kind in
// zh and id is rendered from a file of that language (never silently from
// English) and shows no English wording, on every validation fixture.
func TestRender_TranslatedLanguagesDoNotFallBack(t *testing.T) {
	e := newEngine(t, nil)
	for _, lang := range []string{"zh", "id"} {
		for _, set := range e.Sets() {
			for _, kind := range bankhooks.Kinds() {
				t.Run(set+"."+lang+"."+string(kind), func(t *testing.T) {
					f, block := e.resolve(set, lang, string(kind))
					require.NotNil(t, f)
					require.Equal(t, string(kind), block, "the kind's own block, not other")
					require.True(t, strings.HasSuffix(f.name, "."+lang+".tmpl"), "resolved to %s", f.name)
					for _, fx := range fixtures(kind) {
						r, err := e.Render(set, lang, fx.data)
						require.NoError(t, err, fx.name)
						requireNoEnglish(t, r.Text)
					}
				})
			}
		}
	}
}

// TestDigest_TranslatedLanguages: zh and id have digest words of their own,
// so a digest in them is not the English one and shows no English wording
// (the ops alert title in digestItems is English on purpose: drop it here).
func TestDigest_TranslatedLanguages(t *testing.T) {
	items := digestItems()
	items = items[:len(items)-1]
	for _, lang := range Languages() {
		_, ok := digestWords[lang]
		require.True(t, ok, "no digest words for %s", lang)
	}
	for _, lang := range []string{"zh", "id"} {
		t.Run(lang, func(t *testing.T) {
			r := Digest(items, DigestOptions{ID: "dm_X", Lang: lang, Part: 1, Parts: 2, Limit: 20})
			require.NotEqual(t, Digest(items, DigestOptions{ID: "dm_X", Lang: "en", Part: 1, Parts: 2, Limit: 20}), r)
			requireNoEnglish(t, r.Text)
			require.Len(t, digestWords[lang].kinds, len(bankhooks.Kinds()), "a label for every kind")
		})
	}
}

// TestRender_TranslatedNumbers: zh writes 1,234.50 and id 1.234,50
// (golang.org/x/text's conventions for the two languages) in messages too.
func TestRender_TranslatedNumbers(t *testing.T) {
	e := newEngine(t, nil)
	d := goldenData(bankhooks.KindPaymentSucceeded)
	d.Event.Amount = 123450
	for lang, want := range map[string]string{"zh": "THB 1,234.50", "id": "THB 1.234,50"} {
		for _, set := range e.Sets() {
			r, err := e.Render(set, lang, d)
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(r.Title, " "+want), "%s %s: %s", set, lang, r.Title)
			require.Contains(t, r.Text, "2026-03-14 10:30:00 +07", "time in the configured zone")
		}
		dg := Digest([]DigestItem{{Data: d}}, DigestOptions{ID: "dm_X", Lang: lang})
		require.Contains(t, dg.Text, "**"+want+"**")
	}
}
