package render

import (
	"time"

	"github.com/bankbot/bankbot/bankhooks"
)

// SampleAmount is the amount of a Sample event in minor units: THB
// 1,234.50, JPY 123,450, KWD 123.450.
const SampleAmount = 123450

// Sample is a made-up event of kind in currency, for `bankbot preview` and
// for checking templates: an Opn-like charge with every field filled, a
// failure code bankbot explains for the failure kinds (insufficient_fund)
// and a reason for an unreadable event. currency "" means THB.
func Sample(kind bankhooks.Kind, currency string) Data {
	if currency == "" {
		currency = "THB"
	}
	d := Data{
		EventID: "ev_01sampqe7k3m9x2v4w6y8z0abc", // a bankbot id, shown unmasked
		Source:  "opn",
		Event: bankhooks.Event{
			Provider:     "omise",
			ID:           "evnt_test_sample",
			Type:         "charge.complete",
			Kind:         kind,
			Amount:       SampleAmount,
			Currency:     currency,
			Reference:    "chrg_test_sample",
			Account:      "123-4-56789-0",
			Counterparty: "Somchai Jaidee",
			Description:  "Order #1001",
			Livemode:     true,
			OccurredAt:   time.Date(2026, 3, 14, 3, 30, 0, 0, time.UTC),
		},
	}
	switch {
	case kind == bankhooks.KindUnreadable:
		d.Event = bankhooks.Event{Provider: "omise", ID: "evnt_test_sample", Kind: kind, Livemode: true,
			OccurredAt: d.Event.OccurredAt, FailureMessage: `data.amount: "12.5" is not an integer`}
	case kind.Failed():
		d.Event.FailureCode = "insufficient_fund"
		d.Event.FailureMessage = "insufficient funds in the account"
	}
	return d
}
