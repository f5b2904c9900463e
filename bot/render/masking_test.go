package render

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
)

// leakedCard reports whether text shows more of the test card 4111 1111 1111
// 1111 than its last 4, in any of the ways it is written in cardValues.
func leakedCard(t *testing.T, text string) {
	t.Helper()
	for _, part := range []string{"41111", "4111 1", "4111-1", "1111 1111", "1111-1111", "GB29", "60161331"} {
		require.NotContains(t, text, part, "a card number or IBAN shows in:\n%s", text)
	}
	require.False(t, longDigits.MatchString(text), "10 or more digits show in:\n%s", text)
}

// cardValues are the ways a provider string may carry a card number or IBAN.
var cardValues = []string{
	"4111111111111111",
	"card 4111 1111 1111 1111 declined",
	"4111-1111-1111-1111",
	"*4111111111111111*",
	"[4111 1111 1111 1111](https://evil.example/4111111111111111)",
	"IBAN GB29 NWBK 6016 1331 9268 19",
}

// eventStringFields returns the names of every string field of
// bankhooks.Event a provider fills, which is every string field but Kind
// (canonical) and Currency (formatted by money, see TestFallback_Masked).
// Reflection keeps the tests below complete when a field is added.
func eventStringFields() []string {
	var names []string
	typ := reflect.TypeFor[bankhooks.Event]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type == reflect.TypeFor[string]() && f.Name != "Currency" {
			names = append(names, f.Name)
		}
	}
	return names
}

// withField returns d with the named Event string field (or "Source") set to v.
func withField(d Data, name, v string) Data {
	if name == "Source" {
		d.Source = v
		return d
	}
	reflect.ValueOf(&d.Event).Elem().FieldByName(name).SetString(v)
	return d
}

// withAllFields returns d with every provider string set to v.
func withAllFields(d Data, v string) Data {
	for _, name := range append(eventStringFields(), "Source") {
		d = withField(d, name, v)
	}
	return d
}

func TestEventStringFields(t *testing.T) {
	require.Subset(t, eventStringFields(), []string{
		"Provider", "ID", "Type", "Reference", "Account", "Counterparty", "Description", "FailureCode", "FailureMessage",
	})
}

// TestRender_EveryProviderStringMasked puts a card number in each provider
// string field of an event, one at a time and all at once, and proves no
// shipped message of any set, language or kind shows more than its last 4.
func TestRender_EveryProviderStringMasked(t *testing.T) {
	e := newEngine(t, nil)
	for _, set := range e.Sets() {
		for _, lang := range Languages() {
			for _, kind := range bankhooks.Kinds() {
				t.Run(set+"."+lang+"."+string(kind), func(t *testing.T) {
					for _, v := range cardValues {
						for _, name := range append(eventStringFields(), "Source") {
							r, err := e.Render(set, lang, withField(goldenData(kind), name, v))
							require.NoError(t, err)
							leakedCard(t, r.Title)
							leakedCard(t, r.Text)
						}
						r, err := e.Render(set, lang, withAllFields(goldenData(kind), v))
						require.NoError(t, err)
						leakedCard(t, r.Title)
						leakedCard(t, r.Text)
						if !strings.Contains(v, "GB29") {
							require.Contains(t, r.Text, "••••1111")
						}
						require.NotContains(t, r.Text, "https://")
					}
				})
			}
		}
	}
}

// TestRender_MaskedFieldsShowLast4 checks that fields the default template
// prints show the card's last 4 where the card was.
func TestRender_MaskedFieldsShowLast4(t *testing.T) {
	e := newEngine(t, nil)
	d := goldenData(bankhooks.KindPaymentFailed)
	d.Event.Description = "Verify 4111 1111 1111 1111 at https://evil.example/login & www.evil.example"
	d.Event.Reference = "ref 4111-1111-1111-1111"
	d.Event.Counterparty = "Somchai 5555555555554444"
	d.Event.FailureMessage = "card 4111111111111111 declined"
	d.Event.Account = "****1234"
	r, err := e.Render("default", "en", d)
	require.NoError(t, err)
	for _, want := range []string{
		`- **Description:** Verify ••••1111 at hxxps://evil\[.\]example/login &amp; www\[.\]evil\[.\]example`,
		"- **Reference:** ref ••••1111",
		"- **Payer:** Somchai ••••4444",
		"insufficient_fund — card ••••1111 declined",
		"- **Account:** ••••1234",
	} {
		require.Contains(t, r.Text, want)
	}
}

// TestFallback_Masked: the fallback masks every provider string, the
// currency of an amount it cannot format included, but never the amount.
func TestFallback_Masked(t *testing.T) {
	for _, kind := range bankhooks.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			for _, v := range cardValues {
				for _, name := range append(eventStringFields(), "Source") {
					fb := Fallback(withField(goldenData(kind), name, v), nil)
					leakedCard(t, fb.Title)
					leakedCard(t, fb.Text)
				}
				d := withAllFields(goldenData(kind), v)
				d.Event.Currency = v
				fb := Fallback(d, nil)
				leakedCard(t, fb.Title)
				leakedCard(t, fb.Text)
				require.Contains(t, fb.Text, "5000 minor units")
			}
		})
	}
	t.Run("a large amount in minor units is shown", func(t *testing.T) {
		d := goldenData(bankhooks.KindPaymentSucceeded)
		d.Event.Amount, d.Event.Currency = 1234567890123, "4111 1111 1111 1111"
		fb := Fallback(d, nil)
		require.Contains(t, fb.Text, "- **Amount:** 1234567890123 minor units (••••1111)\n")
	})
	t.Run("an amount in a known currency is shown", func(t *testing.T) {
		d := goldenData(bankhooks.KindPaymentSucceeded)
		d.Event.Amount = 1234567890123
		fb := Fallback(d, nil)
		require.Contains(t, fb.Title, "THB 12,345,678,901.23")
		require.Contains(t, fb.Text, "- **Amount:** THB 12,345,678,901.23\n")
	})
	t.Run("bankbot's own id is never masked", func(t *testing.T) {
		d := goldenData(bankhooks.KindPaymentSucceeded)
		d.EventID = "ev_06h1qz8w000000000000001234"
		fb := Fallback(d, nil)
		require.True(t, strings.HasSuffix(fb.Text, "ref: ev_06h1qz8w000000000000001234"), fb.Text)
	})
}

// TestDigest_Masked: every provider string a digest line prints is masked,
// the currency of an amount it cannot format included.
func TestDigest_Masked(t *testing.T) {
	for _, v := range cardValues {
		var items []DigestItem
		for _, kind := range bankhooks.Kinds() {
			d := withAllFields(goldenData(kind), v)
			d.EventID = "ev_06h1qz8w000000000000001234"
			items = append(items, DigestItem{Data: d})
			noRef := d
			noRef.Event.Reference = ""
			items = append(items, DigestItem{Data: noRef})
			odd := d
			odd.Event.Currency = v
			items = append(items, DigestItem{Data: odd})
		}
		for _, lang := range []string{"en", "th"} {
			r := Digest(items, DigestOptions{ID: "dm_06h1qz8w000000000000005678", Lang: lang, Limit: 20})
			leakedCard(t, r.Title)
			for _, line := range strings.Split(r.Text, "\n") {
				if !strings.HasPrefix(line, "ref: ") {
					leakedCard(t, line)
				}
			}
			require.True(t, strings.HasSuffix(r.Text, "ref: dm_06h1qz8w000000000000005678"), r.Text)
			require.Contains(t, r.Text, "01234", "the short event id is shown as it is")
		}
	}
}
