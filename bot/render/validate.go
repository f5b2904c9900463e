package render

import (
	"errors"
	"math"
	"strings"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
)

// fixture is one validation input.
type fixture struct {
	name string
	data Data
}

// fixtures returns the events New renders every block with, for one kind:
// a typical live event, the same in test mode, one with every optional field
// empty, the extreme int64 amounts, JPY (0 decimals), KWD (3) and IDR
// amounts, and one with very long, markdown-laden, multi-line provider
// strings.
func fixtures(kind bankhooks.Kind) []fixture {
	typical := Data{
		EventID: "ev_fixture",
		Source:  "fixture",
		Event: bankhooks.Event{
			Provider:     "omise",
			ID:           "evnt_test_fixture",
			Type:         "charge.complete",
			Kind:         kind,
			Amount:       5000,
			Currency:     "THB",
			Reference:    "chrg_test_fixture",
			Account:      "123-4-56789-0",
			Counterparty: "Somchai Jaidee",
			Description:  "Order #1001",
			Livemode:     true,
			OccurredAt:   time.Date(2026, 3, 14, 3, 30, 0, 0, time.UTC),
		},
	}
	if kind.Failed() {
		typical.Event.FailureCode = "insufficient_fund"
		typical.Event.FailureMessage = "insufficient funds in the account"
	}
	with := func(name string, edit func(*Data)) fixture {
		d := typical
		edit(&d)
		return fixture{name: name, data: d}
	}
	long := strings.Repeat("**บริษัท ตัวอย่าง จำกัด** [x](http://e.test) <font>\n# _a_ ", 200)
	return []fixture{
		{name: "typical", data: typical},
		with("test-mode", func(d *Data) { d.Event.Livemode = false }),
		{name: "empty-optional-fields", data: Data{EventID: "ev_fixture", Source: "fixture", Event: bankhooks.Event{Kind: kind}}},
		with("max-amount", func(d *Data) { d.Event.Amount = math.MaxInt64 }),
		with("min-amount", func(d *Data) { d.Event.Amount = math.MinInt64 }),
		with("jpy", func(d *Data) { d.Event.Amount, d.Event.Currency = 5000, "JPY" }),
		with("kwd", func(d *Data) { d.Event.Amount, d.Event.Currency = 1234567, "KWD" }),
		with("idr", func(d *Data) { d.Event.Amount, d.Event.Currency = 1234550, "IDR" }),
		with("long-strings", func(d *Data) {
			d.Event.Livemode = false
			d.Event.Counterparty = long
			d.Event.Description = long
			d.Event.Reference = long
			d.Event.Account = long
			d.Event.Type = long
			d.Event.FailureCode = long
			d.Event.FailureMessage = long
		}),
	}
}

// validate renders every set × language × kind against every fixture and
// returns the first failure of each (file, block), joined.
func (e *Engine) validate() error {
	var errs []error
	reported := map[[2]string]bool{} // (file, block) that already failed
	done := map[[4]string]bool{}     // (file, block, lang, kind) already run
	for _, set := range e.sets {
		for _, lang := range Languages() {
			for _, kind := range bankhooks.Kinds() {
				f, block := e.resolve(set, lang, string(kind))
				if f == nil {
					errs = append(errs, &TemplateError{Set: set, Lang: lang, Kind: string(kind),
						Err: errors.New("no block found")})
					continue
				}
				key := [2]string{f.name, block}
				run := [4]string{f.name, block, lang, string(kind)}
				if reported[key] || done[run] {
					continue
				}
				done[run] = true
				for _, fx := range fixtures(kind) {
					if _, err := e.exec(f, block, view{Data: fx.data, Lang: lang}); err != nil {
						reported[key] = true
						errs = append(errs, &TemplateError{File: f.name, Set: set, Lang: lang,
							Kind: string(kind), Block: block, Fixture: fx.name, Err: err})
						break
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}
