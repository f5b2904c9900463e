package render

import "github.com/bankbot/bankbot/bankhooks"

// exponent is the number of minor-unit digits of an ISO 4217 currency code
// (THB 2, IDR 2, JPY 0, KWD 3). It is bankhooks.Exponent, the one table
// bankbot counts money by, so parsing and formatting can never disagree.
// ok is false for an unknown code or one without a minor unit (XXX, XAU).
func exponent(code string) (int, bool) {
	e, err := bankhooks.Exponent(code)
	return e, err == nil
}
