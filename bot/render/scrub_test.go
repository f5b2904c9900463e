package render

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEscapeMarkdown_MasksNumbers(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"luhn-valid 16 digits", "card 4111111111111111", "card ••••1111"},
		{"luhn-invalid 16 digits still masked as a long run", "card 4111111111111112", "card ••••1112"},
		{"luhn-valid with spaces", "card 4111 1111 1111 1111 ok", "card ••••1111 ok"},
		{"luhn-valid with dashes", "4111-1111-1111-1111", "••••1111"},
		{"luhn-valid with mixed separators", "5555 5555-5555 4444", "••••4444"},
		{"amex 4-6-5", "Amex 3782 822463 10005", "Amex ••••0005"},
		{"19-digit card 4-4-4-4-3", "6304 0000 0000 0000 018", "••••0018"},
		{"luhn-invalid with spaces is not a card", "4111 1111 1111 1112", "4111 1111 1111 1112"},
		{"luhn-invalid with dashes is a long run", "4111-1111-1111-1112", "••••1112"},
		{"card after an order number", "Order 1001 4111 1111 1111 1111", "Order 1001 ••••1111"},
		{"card glued to letters", "pan4111111111111111x", "pan••••1111x"},
		{"card inside markdown", "*4111111111111111*", `\*••••1111\*`},
		{"two cards", "4111111111111111/5555555555554444", "••••1111/••••4444"},
		{"small groups are not a card", "1 000 000 000 000 000", "1 000 000 000 000 000"},
		{"9 digits shown", "acct 123456789", "acct 123456789"},
		{"10 digits masked", "acct 1234567890", "acct ••••7890"},
		{"10 digits with dashes masked", "to 123-4-56789-0 today", "to ••••7890 today"},
		{"10 digits with spaces shown", "ref 12345 67890", "ref 12345 67890"},
		{"date and time shown", "2026-03-14 10:30:00", "2026-03-14 10:30:00"},
		{"phone-like dashed run masked", "081-234-5678", "••••5678"},
		{"decimal amount shown", "paid 1234567.89", "paid 1234567.89"},
		{"grouped amount shown", "THB 1,234,567,890.00", "THB 1,234,567,890.00"},
		{"iban", "GB29NWBK60161331926819", "••••6819"},
		{"iban with spaces", "to GB29 NWBK 6016 1331 9268 19 now", "to ••••6819 now"},
		{"iban lower case", "gb29nwbk60161331926819", "••••6819"},
		{"iban with a bad checksum keeps letters, digits masked", "GB28NWBK60161331926819", "GB28NWBK••••6819"},
		{"iban with a bad checksum and spaces", "GB28 NWBK 6016 1331 9268 19", "GB28 NWBK 6016 1331 9268 19"},
		{"short letters-digits code shown", "AB12 CD", "AB12 CD"},
		{"bankbot event id untouched", "ev_06h1qz8w000000000000001234", "ev_06h1qz8w000000000000001234"},
		{"bankbot message id untouched", "dm_06h1qz8w000000000000001234", "dm_06h1qz8w000000000000001234"},
		{"id-like text in a sentence masked", "see ev_06h1qz8w000000000000001234", "see ev_06h1qz8w••••1234"},
		{"sha256 body id untouched", "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"uuid untouched", "123e4567-e89b-12d3-a456-4266141740001234", "123e4567-e89b-12d3-a456-4266141740001234"},
		{"all-digit 32-run is no hash", strings.Repeat("1", 32), "••••1111"},
		{"provider id with a long digit run masked", "pi_3N1234567890abcd", "pi_3N••••7890abcd"},
		{"card in Thai digits", "บัตร ๔๑๑๑ ๑๑๑๑ ๑๑๑๑ ๑๑๑๑", "บัตร ••••๑๑๑๑"},
		{"luhn-invalid Thai digits with spaces shown", "๔๑๑๑ ๑๑๑๑ ๑๑๑๑ ๑๑๑๒", "๔๑๑๑ ๑๑๑๑ ๑๑๑๑ ๑๑๑๒"},
		{"fullwidth digits run", "acct １２３４５６７８９０", "acct ••••７８９０"},
		{"mixed scripts run", "123๔๕๖789０", "••••789０"},
		{"nine Thai digits shown", "๑๒๓๔๕๖๗๘๙", "๑๒๓๔๕๖๗๘๙"},
		{"Devanagari card", "४१११११११११११११११", "••••११११"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, EscapeMarkdown(tc.in))
		})
	}
}

func TestEscapeMarkdown_DefangsURLs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"https", "Verify at https://evil.example/login", `Verify at hxxps://evil\[.\]example/login`},
		{"http upper case", "HTTP://EVIL.EXAMPLE", `HxxP://EVIL\[.\]EXAMPLE`},
		{"host without dots", "https://x", "hxxps://x"},
		{"markdown link", "[click](https://x)", `\[click\](hxxps://x)`},
		{"markdown link with host", "[click](https://a.b.example/p?q=1#f)", `\[click\](hxxps://a\[.\]b\[.\]example/p?q=1#f)`},
		{"autolink", "<https://evil.example>", `\<hxxps://evil\[.\]example\>`},
		{"www", "www.evil.example", `www\[.\]evil\[.\]example`},
		{"www with path", "go to WWW.evil.example/a.html now", `go to WWW\[.\]evil\[.\]example/a.html now`},
		{"bare host with path", "evil.example/login", `evil\[.\]example/login`},
		{"ftp", "ftp://files.example", `fxp://files\[.\]example`},
		{"other scheme", "dingtalk://dingtalkclient/page/link?url=x", `dingtalk\[:\]//dingtalkclient/page/link?url=x`},
		{"ip host", "http://10.0.0.1:8080/x", `hxxp://10\[.\]0\[.\]0\[.\]1:8080/x`},
		{"url with a card number", "https://pay.example/?pan=4111111111111111", `hxxps://pay\[.\]example/?pan=••••1111`},
		{"url with an ampersand", "https://e.example/?a=1&b=2", `hxxps://e\[.\]example/?a=1&amp;b=2`},
		{"bare host name", "paid via shop.example", `paid via shop\[.\]example`},
		{"bare host at the end of a sentence", "Go to evil.example.", `Go to evil\[.\]example.`},
		{"e-mail address", "contact pay@evil.example now", `contact pay@evil\[.\]example now`},
		{"sub-domains", "login.evil-bank.co.th", `login\[.\]evil-bank\[.\]co\[.\]th`},
		{"version and amounts shown", "v1.2.3 costs 12.50", "v1.2.3 costs 12.50"},
		{"sentence with dots shown", "Co. Ltd. e.g. 12.50", "Co. Ltd. e.g. 12.50"},
		{"no scheme", "://evil.example", `\[:\]//evil\[.\]example`},
		{"scheme after an underscore", "_https://evil.example", `\_hxxps://evil\[.\]example`},
		{"www after an underscore", "_www.evil.example", `\_www\[.\]evil\[.\]example`},
		{"www inside a word is a bare host", "awww.example", `awww\[.\]example`},
		{"event type shown", "customer.update charge.complete payment.new", "customer.update charge.complete payment.new"},
		{"gTLD", "see secure-login.bank now", `see secure-login\[.\]bank now`},
		{"ampersand", "Tom & Jerry", "Tom &amp; Jerry"},
		{"named entity", "&amp;", "&amp;amp;"},
		{"numeric entity", "&#x202e;", "&amp;#x202e;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, EscapeMarkdown(tc.in))
		})
	}
}

func TestEscapeMarkdown_CutNeverShowsPartOfANumber(t *testing.T) {
	tests := []struct {
		name string
		in   string
		hide string
	}{
		// The long run masks to 8 characters, so the card far beyond
		// scanRunes would come into the cut value if it were read.
		{"card cut in its last group", strings.Repeat("1", scanRunes-20) + " x 4111 1111 1111 1111", "4111"},
		{"card cut in its third group", strings.Repeat("1", scanRunes-12) + " x 4111 1111 1111 1111", "4111"},
		{"card cut in its first group", strings.Repeat("1", scanRunes-5) + " x 4111 1111 1111 1111", "41"},
		{"contiguous card cut", strings.Repeat("1", scanRunes-10) + " x 4111111111111111", "4111"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EscapeMarkdown(tc.in)
			require.NotContains(t, got, tc.hide)
			require.True(t, strings.HasSuffix(got, "••••1111 x…"), got)
		})
	}
}

func TestIsBankbotID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"ev_06h1qz8w000000000000001234", true}, {"dm_06h1qz8w000000000000001234", true},
		{"ev_06h1qz8w00000000000000123", false}, {"ev_06h1qz8w0000000000000012345", false},
		{"ev_06h1qz8w00000000000000123u", false}, {"ev_06H1qz8w000000000000001234", false},
		{"xx_06h1qz8w000000000000001234", false}, {" ev_06h1qz8w00000000000000123", false}, {"", false},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			require.Equal(t, tc.want, isBankbotID(tc.id))
		})
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		digits string
		want   bool
	}{
		{"4111111111111111", true}, {"4111111111111112", false}, {"5555555555554444", true},
		{"378282246310005", true}, {"6011000990139424", true}, {"0", true}, {"1", false}, {"", false},
	}
	for _, tc := range tests {
		t.Run(tc.digits, func(t *testing.T) {
			require.Equal(t, tc.want, luhn([]rune(tc.digits)))
		})
	}
}

func TestIBANChecksum(t *testing.T) {
	tests := []struct {
		iban string
		want bool
	}{
		{"GB29NWBK60161331926819", true}, {"DE89370400440532013000", true},
		{"FR1420041010050500013M02606", true}, {"GB28NWBK60161331926819", false},
		{"DE89370400440532013001", false},
	}
	for _, tc := range tests {
		t.Run(tc.iban, func(t *testing.T) {
			require.Equal(t, tc.want, ibanChecksum([]rune(tc.iban)))
		})
	}
}

// TestEscapeMarkdown_ManyDigitGroups: a value of many short digit groups,
// where card numbers are looked for, stays fast.
func TestEscapeMarkdown_ManyDigitGroups(t *testing.T) {
	for _, in := range []string{strings.Repeat("1 ", 5000), strings.Repeat("1234 ", 5000), strings.Repeat("1-", 5000), strings.Repeat("GB29 ", 5000), strings.Repeat("1a", 5000)} {
		start := time.Now()
		got := EscapeMarkdown(in)
		require.Less(t, time.Since(start), time.Second, "%.20q", in)
		require.LessOrEqual(t, len([]rune(got)), 5*MaxFieldRunes)
	}
}
