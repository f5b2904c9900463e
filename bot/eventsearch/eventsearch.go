// Package eventsearch is the search behind `bankbot events find` and the
// chat command `find`: one text matched at once against ids and references,
// an amount as alerts show it, and the account's last digits.
package eventsearch

import (
	"context"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// Window is how far back a search looks when no start is given.
const Window = 30 * 24 * time.Hour

// amountRE is an amount as people write it: digits with optional
// thousands commas and an optional fraction.
var amountRE = regexp.MustCompile(`^([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]+)?$`)

// maxExponent is the largest minor-unit exponent of ISO 4217.
const maxExponent = 4

// Query turns a search text into a store search and the amount it names in
// minor units under each exponent (missing where the text has more fraction
// digits than the exponent).
func Query(text string) (store.EventSearch, map[int]int64) {
	text = strings.TrimSpace(text)
	q := store.EventSearch{Text: text}
	amounts := map[int]int64{}
	if amountRE.MatchString(text) {
		r, ok := new(big.Rat).SetString(strings.ReplaceAll(text, ",", ""))
		for exp := 0; ok && exp <= maxExponent; exp++ {
			m := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
			if m.IsInt() && m.Num().IsInt64() {
				amounts[exp] = m.Num().Int64()
				if !slices.Contains(q.Amounts, amounts[exp]) {
					q.Amounts = append(q.Amounts, amounts[exp])
				}
			}
		}
	}
	digits := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case r == ' ' || r == '-' || r == '•' || r == '*' || r == 'x' || r == 'X':
			return -1
		}
		return 'z' // anything else: not account digits
	}, text)
	if len(digits) >= 4 && !strings.ContainsRune(digits, 'z') {
		q.AccountDigits = digits
	}
	return q, amounts
}

// Keeps reports whether e matches q, the amount compared under its own
// currency's exponent (the store matches the amount under every exponent).
func Keeps(q store.EventSearch, amounts map[int]int64, e store.StoredEvent) bool {
	ev := e.Event
	if e.ID == q.Text || ev.ID == q.Text || ev.Reference == q.Text {
		return true
	}
	if exp, err := bankhooks.Exponent(ev.Currency); err == nil {
		if m, ok := amounts[exp]; ok && m == ev.Amount {
			return true
		}
	}
	if q.AccountDigits == "" {
		return false
	}
	var tail []rune
	for _, r := range ev.Account {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			tail = append(tail, unicode.ToLower(r))
		}
	}
	return strings.HasSuffix(string(tail), q.AccountDigits)
}

// Finder is the store method a search needs.
type Finder interface {
	FindEvents(ctx context.Context, s store.EventSearch) ([]store.StoredEvent, error)
}

// Find returns up to limit events received in [since, until) matching text,
// newest first. The store is asked for 4×limit candidates, because it
// matches an amount in minor units under every exponent; those whose
// currency has another exponent are dropped.
func Find(ctx context.Context, f Finder, text string, since, until time.Time, limit int) ([]store.StoredEvent, error) {
	q, amounts := Query(text)
	q.Since, q.Until, q.Limit = since, until, limit*4
	es, err := f.FindEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	kept := es[:0]
	for _, e := range es {
		if len(kept) < limit && Keeps(q, amounts, e) {
			kept = append(kept, e)
		}
	}
	return kept, nil
}
