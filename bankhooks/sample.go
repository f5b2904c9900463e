package bankhooks

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// sampleValues are SampleParams after defaults and checks.
type sampleValues struct {
	Amount   int64
	Currency string
}

// sampleDefaultAmount is THB 50.00 (and the same count of minor units in
// any other currency).
const sampleDefaultAmount = 5000

// sampleDefaults applies the defaults of SampleParams and checks the
// currency has a minor unit.
func sampleDefaults(p SampleParams, defaultCurrency string) (sampleValues, error) {
	v := sampleValues{Amount: p.Amount, Currency: p.Currency}
	if v.Amount < 0 {
		return v, fmt.Errorf("%w: amount %d is negative", ErrInvalidAmount, v.Amount)
	}
	if v.Amount == 0 {
		v.Amount = sampleDefaultAmount
	}
	if v.Currency == "" {
		v.Currency = defaultCurrency
	}
	c, err := NormalizeCurrency(v.Currency)
	if err != nil {
		return v, err
	}
	if _, err := Exponent(c); err != nil {
		return v, err
	}
	v.Currency = c
	return v, nil
}

// sampleSuffix derives a lower-case base-36 id suffix from now, so samples
// built at different instants get different ids and Sample stays a pure
// function of its arguments.
func sampleSuffix(now time.Time) string {
	sec := strconv.FormatUint(uint64(now.Unix()), 36)
	nsec := strconv.FormatUint(uint64(now.Nanosecond()), 36)
	if len(nsec) < 6 {
		nsec = strings.Repeat("0", 6-len(nsec)) + nsec
	}
	return sec + nsec
}

// nullable returns nil for "" so that JSON shows null, as providers do.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
