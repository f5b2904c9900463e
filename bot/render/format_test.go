package render

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		name     string
		minor    int64
		currency string
		lang     string
		want     string
	}{
		{"opn thb 5000 is fifty baht", 5000, "THB", "th", "50.00"},
		{"thousands separators", 123456789, "THB", "en", "1,234,567.89"},
		{"zero", 0, "THB", "en", "0.00"},
		{"negative", -5000, "THB", "en", "-50.00"},
		{"negative below one", -50, "THB", "en", "-0.50"},
		{"one satang", 1, "THB", "en", "0.01"},
		{"exactly one thousand", 100000, "THB", "en", "1,000.00"},
		{"lower-case code", 5000, "thb", "en", "50.00"},
		{"jpy has no decimals", 5000, "JPY", "en", "5,000"},
		{"jpy small", 999, "JPY", "en", "999"},
		{"kwd has three decimals", 1234567, "KWD", "en", "1,234.567"},
		{"kwd below one", 5, "KWD", "en", "0.005"},
		{"clf has four decimals", 12345, "CLF", "en", "1.2345"},
		{"idr in indonesian", 1234550, "IDR", "id", "12.345,50"},
		{"idr in english", 1234550, "IDR", "en", "12,345.50"},
		{"chinese uses comma grouping", 1234550, "CNY", "zh", "12,345.50"},
		{"max int64", math.MaxInt64, "THB", "en", "92,233,720,368,547,758.07"},
		{"min int64", math.MinInt64, "THB", "en", "-92,233,720,368,547,758.08"},
		{"max int64 jpy", math.MaxInt64, "JPY", "en", "9,223,372,036,854,775,807"},
		{"min int64 indonesian", math.MinInt64, "IDR", "id", "-92.233.720.368.547.758,08"},
		{"no amount and no currency", 0, "", "en", "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatAmount(tc.minor, tc.currency, tc.lang)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFormatAmount_Errors(t *testing.T) {
	tests := []struct {
		name     string
		minor    int64
		currency string
		lang     string
		want     error
	}{
		{"unknown currency", 5000, "XYZ", "en", ErrUnknownCurrency},
		{"metal has no minor unit", 5000, "XAU", "en", ErrUnknownCurrency},
		{"amount without currency", 5000, "", "en", ErrUnknownCurrency},
		{"not a code", 5000, "TH", "en", ErrUnknownCurrency},
		{"not letters", 5000, "T1B", "en", ErrUnknownCurrency},
		{"unknown language", 5000, "THB", "fr", ErrUnknownLanguage},
		{"empty language", 5000, "THB", "", ErrUnknownLanguage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatAmount(tc.minor, tc.currency, tc.lang)
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, got)
			_, err = FormatMoney(tc.minor, tc.currency, tc.lang)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		name     string
		minor    int64
		currency string
		lang     string
		want     string
	}{
		{"thb", 5000, "THB", "th", "THB 50.00"},
		{"lower-case code is shown upper-case", 5000, "thb", "en", "THB 50.00"},
		{"indonesian", 1234550, "IDR", "id", "IDR 12.345,50"},
		{"negative", -1, "USD", "en", "USD -0.01"},
		{"no amount", 0, "", "en", "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatMoney(tc.minor, tc.currency, tc.lang)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestExponent(t *testing.T) {
	tests := []struct {
		code string
		want int
		ok   bool
	}{
		{"THB", 2, true}, {"IDR", 2, true}, {"JPY", 0, true}, {"KWD", 3, true},
		{"USD", 2, true}, {"KRW", 0, true}, {"VND", 0, true}, {"BHD", 3, true},
		{"TND", 3, true}, {"CLF", 4, true}, {"MGA", 2, true}, {"COP", 2, true},
		{"jpy", 0, true}, {"XXX", 0, false}, {"XTS", 0, false}, {"", 0, false},
		{"THBX", 0, false}, {"TH ", 0, false}, {" TH", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			got, ok := exponent(tc.code)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMaskAccount(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty stays empty", "", ""},
		{"blank stays empty", "   ", ""},
		{"thai bank account with dashes", "123-4-56789-0", "••••7890"},
		{"plain digits", "1234567890", "••••7890"},
		{"card already masked by provider", "**** **** **** 4242", "••••4242"},
		{"iban", "GB29NWBK60161331926819", "••••6819"},
		{"five digits shows four", "12345", "••••2345"},
		{"last four only", "1234", "••••1234"},
		{"last four after provider x mask", "xxxx1234", "••••1234"},
		{"last four after upper-case x mask", "XXXX-XXXX-XXXX-4242", "••••4242"},
		{"last four after star mask", "****1234", "••••1234"},
		{"last four after bullet mask", "••••1234", "••••1234"},
		{"single x is a letter", "ab1x2", "••••b1x2"},
		{"only an x mask fully masked", "xxxx", "••••"},
		{"three digits fully masked", "123", "••••"},
		{"one digit fully masked", "7", "••••"},
		{"long but fewer than four digits", "----12", "••••"},
		{"markdown around digits is dropped", "*[12345678]*", "••••5678"},
		{"surrounding spaces ignored", "  12345678  ", "••••5678"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MaskAccount(tc.in)
			require.Equal(t, tc.want, got)
			if len([]rune(strings.TrimSpace(tc.in))) > 4 && !strings.HasPrefix(tc.in, "••••") {
				require.NotContains(t, got, strings.TrimSpace(tc.in), "the full value must never show")
			}
		})
	}
}

func TestEscapeMarkdown(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "Somchai Jaidee", "Somchai Jaidee"},
		{"thai", "บริษัท ตัวอย่าง จำกัด", "บริษัท ตัวอย่าง จำกัด"},
		{"bold", "*Bob*", `\*Bob\*`},
		{"strong", "**Bob**", `\*\*Bob\*\*`},
		{"intraword underscores stay (ids)", "chrg_test_5xyz", `chrg_test_5xyz`},
		{"underscores that could start emphasis are escaped", "_bold_ a_ _b", `\_bold\_ a\_ \_b`},
		{"link", "[click](http://evil.test)", `\[click\](hxxp://evil\[.\]test)`},
		{"image", "![x](http://evil.test/a.png)", `!\[x\](hxxp://evil\[.\]test/a.png)`},
		{"intraword underscore between digits stays", "0_0", "0_0"},
		{"double underscore escaped", "__init__", `\_\_init\_\_`},
		{"ampersand", "A & B", "A &amp; B"},
		{"entity cannot render", "&lt;b&gt; &#8238;", "&amp;lt;b&amp;gt; &amp;#8238;"},
		{"html font tag", `<font color=red>x</font>`, `\<font color=red\>x\</font\>`},
		{"backslash", `a\b`, `a\\b`},
		{"backtick", "`code`", "\\`code\\`"},
		{"strikethrough", "~~x~~", `\~\~x\~\~`},
		{"newline cannot start a heading", "Bob\n### Paid THB 1,000,000", `Bob ### Paid THB 1,000,000`},
		{"crlf and tabs collapse", "a\r\n\tb  c", "a b c"},
		{"leading heading", "# Bob", `\# Bob`},
		{"leading quote", "> Bob", `\> Bob`},
		{"leading list item", "- Bob", `\- Bob`},
		{"leading plus list item", "+ Bob", `\+ Bob`},
		{"leading rule", "---", `\---`},
		{"leading ordered list", "1. Bob", `1\. Bob`},
		{"leading ordered list with paren", "12) Bob", `12\) Bob`},
		{"number alone with dot", "3.", `3\.`},
		{"decimal number untouched", "12.50", "12.50"},
		{"negative number untouched", "-5000", "-5000"},
		{"hash inside untouched", "Order #1001", "Order #1001"},
		{"surrounding space trimmed", "  Bob  ", "Bob"},
		{"only space", " \n\t ", ""},
		{"bidi override dropped", "Bob \u202e00.05\u202c", "Bob 00.05"},
		{"bidi only", "\u202e\u2066", ""},
		{"line separator", "a\u2028b", "a b"},
		{"invalid utf8 replaced", "a\xffb", "a\uFFFDb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, EscapeMarkdown(tc.in))
		})
	}
}

func TestEscapeMarkdown_Truncates(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		runes int
	}{
		{"ascii", strings.Repeat("a", 10000), MaxFieldRunes},
		{"thai", strings.Repeat("ก", 10000), MaxFieldRunes},
		{"exactly the limit is kept", strings.Repeat("a", MaxFieldRunes), MaxFieldRunes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EscapeMarkdown(tc.in)
			require.Equal(t, tc.runes, len([]rune(got)))
			if len([]rune(tc.in)) > MaxFieldRunes {
				require.True(t, strings.HasSuffix(got, "…"))
			} else {
				require.Equal(t, tc.in, got)
			}
		})
	}
}
