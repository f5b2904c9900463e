package render

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Languages returns the message languages bankbot accepts, in a stable order.
// A language without its own template file falls back to English text (its
// number separators still apply).
func Languages() []string { return []string{"th", "en", "zh", "id"} }

// ValidLanguage reports whether lang is one of Languages.
func ValidLanguage(lang string) bool {
	_, _, ok := separators(lang)
	return ok
}

// separators returns the thousands and decimal separators of lang.
func separators(lang string) (group, decimal byte, ok bool) {
	switch lang {
	case "en", "th", "zh":
		return ',', '.', true
	case "id":
		return '.', ',', true
	}
	return 0, 0, false
}

// FormatAmount formats minor units of currency as a decimal number in lang's
// notation: FormatAmount(123456789, "THB", "en") is "1,234,567.89" and
// FormatAmount(1234550, "IDR", "id") is "12.345,50". The number of decimals is
// the currency's ISO 4217 exponent. It uses integer arithmetic only and is
// exact for every int64, math.MinInt64 included.
//
// An empty currency with a zero amount (an event that carries no amount)
// formats as "0". Any other currency the table does not know is an error
// wrapping ErrUnknownCurrency, never a guess at the exponent; an unsupported
// lang wraps ErrUnknownLanguage.
func FormatAmount(minor int64, currency, lang string) (string, error) {
	group, dec, ok := separators(lang)
	if !ok {
		return "", fmt.Errorf("format amount: %w: %s", ErrUnknownLanguage, quote(lang))
	}
	if currency == "" && minor == 0 {
		return "0", nil
	}
	exp, ok := exponent(currency)
	if !ok {
		return "", fmt.Errorf("format amount: %w: %s", ErrUnknownCurrency, quote(currency))
	}
	return formatMinor(minor, exp, group, dec), nil
}

// FormatMoney is the currency code, a space and FormatAmount:
// FormatMoney(5000, "thb", "th") is "THB 50.00".
func FormatMoney(minor int64, currency, lang string) (string, error) {
	s, err := FormatAmount(minor, currency, lang)
	if err != nil || currency == "" {
		return s, err
	}
	return strings.ToUpper(currency) + " " + s, nil
}

// formatMinor writes minor as a decimal with exp fraction digits, grouping the
// integer part by thousands.
func formatMinor(minor int64, exp int, group, dec byte) string {
	neg := minor < 0
	mag := uint64(minor)
	if neg {
		// -(minor+1) cannot overflow, so MinInt64 works too.
		mag = uint64(-(minor + 1)) + 1
	}
	digits := strconv.FormatUint(mag, 10)
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	intPart, frac := digits[:len(digits)-exp], digits[len(digits)-exp:]

	var b strings.Builder
	b.Grow(len(digits) + len(digits)/3 + 2)
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(intPart); i++ {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(group)
		}
		b.WriteByte(intPart[i])
	}
	if exp > 0 {
		b.WriteByte(dec)
		b.WriteString(frac)
	}
	return b.String()
}

// maskDots is what stands for the hidden part of an account number.
const maskDots = "••••"

// MaskAccount hides an account or card number except its last 4 letters or
// digits: "123-4-56789-0" becomes "••••7890". A value shorter than 5
// characters, or with fewer than 4 letters and digits, is fully masked as
// "••••", and an empty value stays empty (so templates can leave the line
// out). The result never contains markdown-significant characters.
func MaskAccount(account string) string {
	account = strings.TrimSpace(account)
	if account == "" {
		return ""
	}
	if utf8.RuneCountInString(account) < 5 {
		return maskDots
	}
	var last [4]rune
	n := 0
	rs := []rune(account)
	for i := len(rs) - 1; i >= 0 && n < 4; i-- {
		if unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i]) {
			n++
			last[4-n] = rs[i]
		}
	}
	if n < 4 {
		return maskDots
	}
	return maskDots + string(last[:])
}

// MaxFieldRunes is how many characters of one provider-supplied string
// EscapeMarkdown keeps; longer strings are cut and end in "…".
const MaxFieldRunes = 256

// EscapeMarkdown makes a provider-supplied string safe to place inside a line
// of DingTalk markdown: it shows as the same text and cannot change the
// layout. It
//   - replaces invalid UTF-8, control characters (newlines included) and
//     Unicode line/paragraph separators with spaces, collapses runs of
//     white space and trims the ends, so the value stays on its line;
//   - drops bidirectional-override characters, which could make "50.00"
//     display as "00.05";
//   - cuts the value to MaxFieldRunes characters;
//   - puts a backslash before \ ` * _ [ ] < > ~ (emphasis, links, images,
//     inline code, HTML such as <font>, strikethrough), and before what would
//     start a block at the beginning of a line: # and >, a - + or = list or
//     rule marker, the "." or ")" of "1. " (headings, quotes, lists). DingTalk's
//     renderer, like CommonMark, shows an escaped character as itself; the
//     same escaping is what prometheus-webhook-dingtalk's markdown func does.
func EscapeMarkdown(s string) string {
	if s == "" {
		return ""
	}
	// Normalise first, so the cut below counts visible characters.
	var clean []rune
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case isBidiControl(r):
			continue
		case unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			space = len(clean) > 0
			continue
		}
		if space {
			clean = append(clean, ' ')
			space = false
		}
		clean = append(clean, r)
		if len(clean) > MaxFieldRunes {
			clean = append(clean[:MaxFieldRunes-1], '…')
			break
		}
	}
	if len(clean) == 0 {
		return ""
	}

	var b strings.Builder
	b.Grow(2 * len(clean))
	lead, ord := leadingMarker(clean), orderedMarker(clean)
	for i, r := range clean {
		if strings.ContainsRune("\\`*[]<>~", r) || (r == '_' && !intraword(clean, i)) || (i == 0 && lead) || i == ord {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// leadingMarker reports whether s starts like a markdown block: a heading
// (#), a quote (>), or a list item, rule or setext underline (- + = followed
// by a space, the same character or the end).
func leadingMarker(s []rune) bool {
	switch s[0] {
	case '#', '>':
		return true
	case '-', '+', '=':
		return len(s) == 1 || s[1] == ' ' || s[1] == s[0]
	}
	return false
}

// orderedMarker returns the index of the "." or ")" that makes s start like
// an ordered list item ("1. ", "12) ", or just "3."), or -1.
func orderedMarker(s []rune) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(s) || (s[i] != '.' && s[i] != ')') {
		return -1
	}
	if i+1 < len(s) && s[i+1] != ' ' {
		return -1
	}
	return i
}

// isBidiControl reports whether r is a Unicode bidirectional formatting
// character (embeddings, overrides, isolates and marks).
func isBidiControl(r rune) bool {
	switch {
	case r == '\u061C', r == '\u200E', r == '\u200F':
		return true
	case r >= '\u202A' && r <= '\u202E':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// quote quotes a value for an error message, cut to 32 bytes so a hostile
// provider string cannot flood logs.
func quote(s string) string {
	if len(s) > 32 {
		s = strings.ToValidUTF8(s[:32], "") + "…"
	}
	return strconv.Quote(s)
}

// intraword reports whether the rune at i sits between two letters or digits.
// An underscore there cannot open or close emphasis (chrg_test_5x, ev_01…),
// so it is left alone: DingTalk's support for backslash escapes is not
// documented, and a visible backslash in every charge id would be worse than
// the rare name that italicises.
func intraword(rs []rune, i int) bool {
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	return i > 0 && i < len(rs)-1 && isWord(rs[i-1]) && isWord(rs[i+1])
}
