package bankhooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Money errors. Parse wraps them together with ErrMalformedPayload, so
// errors.Is works for both.
var (
	// ErrUnknownCurrency: the currency code is not a known ISO 4217 code.
	ErrUnknownCurrency = errors.New("unknown currency")
	// ErrNoMinorUnit: the ISO 4217 code has no minor unit ("N.A." in the
	// standard: precious metals, funds codes, XTS, XXX …), so an amount in it
	// cannot be counted in minor units.
	ErrNoMinorUnit = errors.New("currency has no minor unit")
	// ErrInvalidAmount: an amount is not an exact integer or decimal in range.
	ErrInvalidAmount = errors.New("invalid amount")
)

// isoMissingFromCLDR lists current ISO 4217 codes that the CLDR tables in
// golang.org/x/text/currency do not recognise (they were introduced after
// that data was cut), with their ISO 4217 minor units.
func isoMissingFromCLDR(code string) (int, bool) {
	switch code {
	case "MRU", "STN", "VES", "VED", "SLE", "ZWG", "XCG":
		// Mauritanian ouguiya (2018), dobra (2018), bolívar soberano (2018)
		// and digital (2021), new leone (2022), Zimbabwe gold (2024),
		// Caribbean guilder (2025): all two-decimal in ISO 4217.
		return 2, true
	case "UYW":
		// Unidad previsional (2018): four decimals in ISO 4217.
		return 4, true
	}
	return 0, false
}

// isoOverride returns the ISO 4217 minor unit for codes where CLDR's
// Standard rounding (what x/text reports) disagrees with ISO 4217.
//
// CLDR describes how amounts are usually written, ISO 4217 how they are
// counted. Providers count minor units by ISO 4217: Xendit and Midtrans send
// IDR with two decimals, Opn documents its amounts in "the smallest unit"
// by ISO. CLDR has digits=0 for these codes because the cents are not used
// in practice; counting by CLDR would make IDR 10,000.00 (ISO minor units
// 1000000) read as IDR 1,000,000. TestExponentMatchesISO4217 checks every
// current ISO code against an independent copy of the ISO table.
func isoOverride(code string) (int, bool) {
	switch code {
	case "IDR", "AFN", "ALL", "AMD", "COP", "GYD", "IRR", "KPW", "LAK", "LBP",
		"MGA", "MMK", "MNT", "MUR", "PKR", "RSD", "SLL", "SOS", "SYP", "TZS",
		"UZS", "YER":
		return 2, true
	case "IQD":
		return 3, true
	}
	return 0, false
}

// noMinorUnit reports whether ISO 4217 lists the code's minor unit as "N.A.".
func noMinorUnit(code string) bool {
	switch code {
	case "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU",
		"XTS", "XUA", "XXX":
		return true
	}
	return false
}

// NormalizeCurrency trims s, upper-cases it and checks that it is a known
// ISO 4217 code ("thb" → "THB"). It accepts every code the CLDR data in
// golang.org/x/text/currency knows, which includes withdrawn ISO codes and
// CNH (offshore renminbi, used by Hong Kong banks), plus the current ISO
// codes CLDR lacks (MRU, VES, …).
func NormalizeCurrency(s string) (string, error) {
	code := strings.ToUpper(strings.TrimSpace(s))
	if len(code) != 3 {
		return "", fmt.Errorf("%w: %q is not a three-letter code", ErrUnknownCurrency, truncate(s, 16))
	}
	for i := 0; i < 3; i++ {
		if code[i] < 'A' || code[i] > 'Z' {
			return "", fmt.Errorf("%w: %q is not a three-letter code", ErrUnknownCurrency, code)
		}
	}
	if _, ok := isoMissingFromCLDR(code); ok {
		return code, nil
	}
	if _, err := currency.ParseISO(code); err != nil {
		return "", fmt.Errorf("%w: %q", ErrUnknownCurrency, code)
	}
	return code, nil
}

// Exponent returns the number of minor-unit digits of the currency (THB 2,
// IDR 2, JPY 0, KWD 3). code is normalized with NormalizeCurrency first.
// The value is ISO 4217's: CLDR's standard rounding from
// golang.org/x/text/currency, corrected where CLDR disagrees with ISO (see
// isoOverride). Codes without a minor unit (XAU, XXX …) return ErrNoMinorUnit.
func Exponent(code string) (int, error) {
	c, err := NormalizeCurrency(code)
	if err != nil {
		return 0, err
	}
	if noMinorUnit(c) {
		return 0, fmt.Errorf("%w: %s", ErrNoMinorUnit, c)
	}
	if e, ok := isoMissingFromCLDR(c); ok {
		return e, nil
	}
	if e, ok := isoOverride(c); ok {
		return e, nil
	}
	u, err := currency.ParseISO(c)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrUnknownCurrency, c)
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, nil
}

// ParseMajor parses a decimal amount in major units ("1234.50", "1234",
// "-3.5") into minor units of currency, exactly: THB "1234.50" is 123450.
//
// The syntax is an optional sign, one or more digits, and optionally a '.'
// followed by one or more digits. Spaces, thousands separators, exponents
// and more fraction digits than the currency's exponent are rejected; extra
// fraction digits that are all zeros ("12.500" in THB) are accepted. Values
// outside int64 are rejected. No floating point is involved.
func ParseMajor(s string, currency string) (int64, error) {
	exp, err := Exponent(currency)
	if err != nil {
		return 0, err
	}
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%w: %q %s", ErrInvalidAmount, truncate(s, 40), why)
	}
	rest := s
	neg := false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	intPart, frac, hasDot := strings.Cut(rest, ".")
	if intPart == "" || !allDigits(intPart) {
		return bad("is not a decimal number")
	}
	if hasDot && (frac == "" || !allDigits(frac)) {
		return bad("is not a decimal number")
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return bad(fmt.Sprintf("has more than %d fraction digits", exp))
		}
		frac = frac[:exp]
	}
	// Accumulate the magnitude in uint64 so that math.MinInt64 is reachable.
	var mag uint64
	const maxMag = uint64(1) << 63 // |MinInt64|
	push := func(d byte) bool {
		if mag > (maxMag-uint64(d-'0'))/10 {
			return false
		}
		mag = mag*10 + uint64(d-'0')
		return true
	}
	for i := 0; i < len(intPart); i++ {
		if !push(intPart[i]) {
			return bad("is out of range")
		}
	}
	for i := 0; i < exp; i++ {
		d := byte('0')
		if i < len(frac) {
			d = frac[i]
		}
		if !push(d) {
			return bad("is out of range")
		}
	}
	if neg {
		if mag == maxMag {
			return -1 << 63, nil
		}
		return -int64(mag), nil
	}
	if mag == maxMag {
		return bad("is out of range")
	}
	return int64(mag), nil
}

// FormatMajor formats an amount in minor units as a plain decimal string in
// major units with exactly the currency's exponent of fraction digits
// (123450 THB → "1234.50", 500 JPY → "500", -5 KWD → "-0.005"). It is the
// inverse of ParseMajor and does no locale formatting.
func FormatMajor(minor int64, currency string) (string, error) {
	exp, err := Exponent(currency)
	if err != nil {
		return "", err
	}
	neg := minor < 0
	var digits string
	if neg {
		// Negating MinInt64 overflows; format its magnitude via uint64.
		digits = strconv.FormatUint(uint64(-(minor+1))+1, 10)
	} else {
		digits = strconv.FormatInt(minor, 10)
	}
	if exp > 0 {
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg {
		digits = "-" + digits
	}
	return digits, nil
}

// AmountFromJSON converts a JSON number that must be an integer (a
// provider's amount in minor units) to int64. Fractions ("12.5", "12.0"),
// exponents ("1e3") and values outside int64 are rejected: an amount in
// minor units is never anything but an integer, so anything else means the
// payload is not what we think it is.
func AmountFromJSON(n json.Number) (int64, error) {
	s := string(n)
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || !allDigits(digits) {
		return 0, fmt.Errorf("%w: %q is not an integer", ErrInvalidAmount, truncate(s, 40))
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is out of range", ErrInvalidAmount, truncate(s, 40))
	}
	return v, nil
}

// allDigits reports whether s is non-empty ASCII decimal digits only.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// truncate shortens s for use inside an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
