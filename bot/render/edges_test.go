package render

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/bankbot/bankbot/bankhooks"
)

// TestFormatAmount_Edges: 0, one minor unit, 10^15 minor units and
// negative refunds in each golden currency and each language, exactly;
// th and zh write numbers as en does, id swaps the separators.
func TestFormatAmount_Edges(t *testing.T) {
	const e15 = int64(1_000_000_000_000_000)
	type row struct {
		minor int64
		cur   string
		en    string // en, th and zh
		id    string
	}
	rows := []row{
		{0, "THB", "0.00", "0,00"}, {0, "IDR", "0.00", "0,00"}, {0, "JPY", "0", "0"}, {0, "USD", "0.00", "0,00"}, {0, "KWD", "0.000", "0,000"},
		{1, "THB", "0.01", "0,01"}, {1, "IDR", "0.01", "0,01"}, {1, "JPY", "1", "1"}, {1, "USD", "0.01", "0,01"}, {1, "KWD", "0.001", "0,001"},
		{e15, "THB", "10,000,000,000,000.00", "10.000.000.000.000,00"},
		{e15, "IDR", "10,000,000,000,000.00", "10.000.000.000.000,00"},
		{e15, "JPY", "1,000,000,000,000,000", "1.000.000.000.000.000"},
		{e15, "USD", "10,000,000,000,000.00", "10.000.000.000.000,00"},
		{e15, "KWD", "1,000,000,000,000.000", "1.000.000.000.000,000"},
		{-1, "THB", "-0.01", "-0,01"}, {-1, "JPY", "-1", "-1"}, {-1, "KWD", "-0.001", "-0,001"},
		{-200000, "IDR", "-2,000.00", "-2.000,00"}, {-200000, "USD", "-2,000.00", "-2.000,00"},
		{-200000, "JPY", "-200,000", "-200.000"}, {-200000, "KWD", "-200.000", "-200,000"},
		{-e15, "THB", "-10,000,000,000,000.00", "-10.000.000.000.000,00"},
		{-e15, "JPY", "-1,000,000,000,000,000", "-1.000.000.000.000.000"},
		{-e15, "KWD", "-1,000,000,000,000.000", "-1.000.000.000.000,000"},
	}
	for _, r := range rows {
		for _, lang := range Languages() {
			want := r.en
			if lang == "id" {
				want = r.id
			}
			got, err := FormatAmount(r.minor, r.cur, lang)
			require.NoError(t, err)
			require.Equal(t, want, got, "%d %s %s", r.minor, r.cur, lang)
			m, err := FormatMoney(r.minor, strings.ToLower(r.cur), lang)
			require.NoError(t, err)
			require.Equal(t, r.cur+" "+want, m)

			// The digits and sign are the minor units, whatever the locale.
			major, err := bankhooks.FormatMajor(r.minor, r.cur)
			require.NoError(t, err)
			group, dec, _ := separators(lang)
			require.Equal(t, major, strings.ReplaceAll(strings.ReplaceAll(got, group, ""), dec, "."))
		}
	}
}

// TestRender_EdgeAmounts: the same edges end to end through the shipped
// templates (a refund of a negative amount, a zero-amount event).
func TestRender_EdgeAmounts(t *testing.T) {
	e := newEngine(t, nil)
	for _, tc := range []struct {
		kind  bankhooks.Kind
		minor int64
		cur   string
		lang  string
		want  string
	}{
		{bankhooks.KindRefundSucceeded, -200000, "IDR", "id", "IDR -2.000,00"},
		{bankhooks.KindRefundSucceeded, -1, "KWD", "zh", "KWD -0.001"},
		{bankhooks.KindPaymentSucceeded, 0, "JPY", "th", "JPY 0"},
		{bankhooks.KindPaymentSucceeded, 1_000_000_000_000_000, "USD", "en", "USD 10,000,000,000,000.00"},
		{bankhooks.KindPaymentFailed, 1, "THB", "id", "THB 0,01"},
	} {
		for _, set := range []string{"default", "payment"} {
			d := goldenData(tc.kind)
			d.Event.Amount, d.Event.Currency = tc.minor, tc.cur
			r, err := e.Render(set, tc.lang, d)
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(r.Title, tc.want), "%s %s: %q", set, tc.lang, r.Title)
		}
	}
}

// TestFormatAmount_GroupsLikeXText: the integer part is grouped exactly as
// golang.org/x/text writes the same integer in each language (FormatAmount
// only borrows the separators, so this checks the grouping too).
func TestFormatAmount_GroupsLikeXText(t *testing.T) {
	for _, lang := range Languages() {
		p := message.NewPrinter(language.MustParse(lang))
		for _, major := range []int64{0, 7, 999, 1000, 12345, 999999, 1234567, 1_000_000_000_000_000, math.MaxInt64 / 1000} {
			got, err := FormatAmount(major*1000, "KWD", lang)
			require.NoError(t, err)
			_, dec, _ := separators(lang)
			intPart, frac, ok := strings.Cut(got, dec)
			require.True(t, ok)
			require.Equal(t, "000", frac)
			require.Equal(t, p.Sprint(number.Decimal(major)), intPart, "%s %d", lang, major)
		}
	}
}
