package render

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Languages returns the message languages bankbot accepts, in a stable order.
// Each has its own built-in template files and digest words; an admin set
// that leaves a language out falls back as Engine.Render describes.
func Languages() []string { return []string{"th", "en", "zh", "id"} }

// ValidLanguage reports whether lang is one of Languages.
func ValidLanguage(lang string) bool {
	_, _, ok := separators(lang)
	return ok
}

// localeSymbols is a language's thousands and decimal separators.
type localeSymbols struct{ group, decimal string }

// symbols holds the separators of each of Languages, taken from the CLDR
// data in golang.org/x/text once at start (see cldrSymbols): en, th and zh
// write 1,234.50, id writes 1.234,50.
var symbols = func() map[string]localeSymbols {
	m := map[string]localeSymbols{}
	for _, lang := range Languages() {
		m[lang] = cldrSymbols(lang)
	}
	return m
}()

// cldrSymbols asks golang.org/x/text how lang writes the integer 1234 with
// one fixed fraction digit ("1,234.0", "1.234,0") and reads the two
// separators off it. Only integers are formatted: no float is involved.
// A language whose pattern cannot be read this way panics at start, which
// the tests catch.
func cldrSymbols(lang string) localeSymbols {
	s := message.NewPrinter(language.MustParse(lang)).Sprint(number.Decimal(1234, number.Scale(1)))
	rest, ok := strings.CutPrefix(s, "1")
	i := strings.Index(rest, "234")
	if !ok || i <= 0 || !strings.HasSuffix(rest, "0") || len(rest)-len("0") <= i+len("234") {
		panic(fmt.Sprintf("render: cannot read the number symbols of %s from %q", lang, s))
	}
	return localeSymbols{group: rest[:i], decimal: rest[i+len("234") : len(rest)-len("0")]}
}

// separators returns the thousands and decimal separators of lang.
func separators(lang string) (group, decimal string, ok bool) {
	s, ok := symbols[lang]
	return s.group, s.decimal, ok
}

// FormatAmount formats minor units of currency as a decimal number in lang's
// notation (golang.org/x/text's CLDR separators, see symbols):
// FormatAmount(123456789, "THB", "en") is "1,234,567.89" and
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
func formatMinor(minor int64, exp int, group, dec string) string {
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
			b.WriteString(group)
		}
		b.WriteByte(intPart[i])
	}
	if exp > 0 {
		b.WriteString(dec)
		b.WriteString(frac)
	}
	return b.String()
}

// maskDots is what stands for the hidden part of an account number.
const maskDots = "••••"

// MaskAccount hides an account or card number except its last 4 letters or
// digits: "123-4-56789-0" becomes "••••7890". An account a provider gives as
// only its last 4 ("1234", "xxxx1234", "****1234") shows those 4 the same
// way, "••••1234": runs of two or more x or X are taken as the provider's
// own mask, not as letters. A value with fewer than 4 letters and digits
// is fully masked as "••••", and an empty value stays empty (so templates
// can leave the line out). The result never contains markdown-significant
// characters.
func MaskAccount(account string) string {
	account = strings.TrimSpace(account)
	if account == "" {
		return ""
	}
	var last [4]rune
	n := 0
	rs := []rune(account)
	for i := len(rs) - 1; i >= 0 && n < 4; i-- {
		if isMaskX(rs, i) {
			continue
		}
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

// isMaskX reports whether rs[i] is an x or X in a run of at least two, which
// providers use to hide digits ("xxxx1234", "XXXX-XXXX-XXXX-4242").
func isMaskX(rs []rune, i int) bool {
	isX := func(j int) bool { return j >= 0 && j < len(rs) && (rs[j] == 'x' || rs[j] == 'X') }
	return isX(i) && (isX(i-1) || isX(i+1))
}

// MaxFieldRunes is how many characters of one provider-supplied string
// EscapeMarkdown keeps; longer strings are cut and end in "…".
const MaxFieldRunes = 256

// scanRunes is how many characters of a provider string EscapeMarkdown
// reads before masking, which can shorten it, and cutting to MaxFieldRunes.
// It bounds the work on a huge string.
const scanRunes = 2 * MaxFieldRunes

// EscapeMarkdown makes a provider-supplied string safe to place inside a line
// of DingTalk markdown: it shows as the same text, minus secrets and
// clickable links, and cannot change the layout. It
//   - replaces invalid UTF-8, control characters (newlines included) and
//     Unicode line/paragraph separators with spaces, collapses runs of
//     white space and trims the ends, so the value stays on its line;
//   - drops bidirectional-override characters, which could make "50.00"
//     display as "00.05";
//   - masks card numbers (Luhn-valid, 13 to 19 digits, optionally grouped
//     by spaces or dashes), IBANs (valid mod-97 checksum) and any other run
//     of 10 or more digits (optionally grouped by dashes) to "••••" and
//     their last 4, so "4111 1111 1111 1111" shows as "••••1111" (rules in
//     scrub.go);
//   - defangs URLs so they cannot become links: "https://evil.example/a"
//     shows as "hxxps://evil[.]example/a", "www.evil.example" as
//     "www[.]evil[.]example";
//   - cuts the value to MaxFieldRunes characters;
//   - puts a backslash before \ ` * [ ] < > ~ (emphasis, links, images,
//     inline code, HTML such as <font>, strikethrough), before an _ that is
//     not between two letters or digits (see intraword), and before what
//     would start a block at the beginning of a line: # and >, a - + or =
//     list or rule marker, the "." or ")" of "1. " (headings, quotes,
//     lists). DingTalk's renderer, like CommonMark, shows an escaped
//     character as itself; the same escaping is what
//     prometheus-webhook-dingtalk's markdown func does;
//   - writes & as "&amp;": DingTalk renders HTML entities, so "&lt;" or
//     "&#8238;" (a bidi override) would otherwise not show as typed.
//
// A value that is exactly one of bankbot's own ids (ev_…, dm_…) is escaped
// but never masked.
func EscapeMarkdown(s string) string {
	return escapeRunes(prepare(s, !isBankbotID(s), MaxFieldRunes))
}

// escapeField is EscapeMarkdown with a shorter cut, for a provider string
// shown inside text bankbot composes (an unknown currency code).
func escapeField(s string, maxRunes int) string {
	return escapeRunes(prepare(s, true, maxRunes))
}

// plainField is a provider string normalised, masked, defanged and cut to
// maxRunes, but not escaped: for plain-text places such as a message title.
func plainField(s string, maxRunes int) string {
	return string(prepare(s, true, maxRunes))
}

// prepare normalises s (see EscapeMarkdown), masks and defangs it when
// scrubbed is true, and cuts it to maxRunes characters ending in "…".
func prepare(s string, scrubbed bool, maxRunes int) []rune {
	if s == "" {
		return nil
	}
	// Normalise first, so the cut below counts visible characters.
	var clean []rune
	space, more := false, false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case isBidiControl(r):
			continue
		case unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			space = len(clean) > 0
			continue
		}
		if len(clean) >= scanRunes {
			more = true
			break
		}
		if space {
			clean = append(clean, ' ')
			space = false
		}
		clean = append(clean, r)
	}
	if scrubbed {
		if more {
			clean = dropPartialNumber(clean)
		}
		clean = scrub(clean)
	}
	if more || len(clean) > maxRunes {
		clean = append(clean[:min(len(clean), maxRunes-1)], '…')
	}
	return clean
}

// dropPartialNumber removes the end of a value prepare stopped reading in
// the middle when it may be the start of a card or account number that the
// masking rules would no longer recognise once cut: a last word holding a
// digit, and the digit groups before it.
func dropPartialNumber(rs []rune) []rune {
	n, digit := len(rs), false
	for n > 0 && (unicode.IsLetter(rs[n-1]) || unicode.IsDigit(rs[n-1])) {
		digit = digit || unicode.IsDigit(rs[n-1])
		n--
	}
	if !digit {
		return rs
	}
	for n > 0 && (unicode.IsDigit(rs[n-1]) || rs[n-1] == ' ' || rs[n-1] == '-') {
		n--
	}
	return rs[:n]
}

// escapeRunes escapes prepared text for DingTalk markdown (see
// EscapeMarkdown).
func escapeRunes(clean []rune) string {
	if len(clean) == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(2 * len(clean))
	lead, ord := leadingMarker(clean), orderedMarker(clean)
	for i, r := range clean {
		if r == '&' {
			b.WriteString("&amp;")
			continue
		}
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
//
// This is the one underscore rule, shared by EscapeMarkdown and its tests:
// an underscore between two letters or digits (chrg_test_5x, ev_01…, 0_0) is
// left alone, every other underscore is escaped. DingTalk's renderer treats
// _x_ as italics, but an underscore inside a word can neither open nor close
// emphasis in CommonMark, so leaving it alone cannot change what shows;
// every underscore that could (_x_, a_ _b, __init__) is escaped. Escaping
// intraword underscores too would put a backslash in every provider and
// bankbot id should a DingTalk client not honour backslash escapes, and
// would break searching the text for "ref: ev_…".
func intraword(rs []rune, i int) bool {
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	return i > 0 && i < len(rs)-1 && isWord(rs[i-1]) && isWord(rs[i+1])
}
