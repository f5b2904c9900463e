package confirm

import (
	"fmt"
	"strings"

	"github.com/bankbot/bankbot/bankhooks"
)

// Verdict is what a Result means for the webhook's event.
type Verdict int

// Verdicts.
const (
	// Confirmed: the API holds the same kind, amount and currency.
	Confirmed Verdict = iota + 1
	// Later: the API holds the same object, amount and currency at a later
	// status (webhook pending, API succeeded or failed): the event is
	// routed with the API's kind.
	Later
	// Mismatch: the API contradicts the webhook (another status, amount or
	// currency, or no such object).
	Mismatch
)

// String returns the verdict's name.
func (v Verdict) String() string {
	switch v {
	case Confirmed:
		return "confirmed"
	case Later:
		return "later"
	case Mismatch:
		return "mismatch"
	}
	return "unknown"
}

// Outcome is Compare's decision, with a sentence for people.
type Outcome struct {
	Verdict Verdict
	// Reason says what differs (Mismatch), what changed (Later) or what
	// was checked (Confirmed).
	Reason string
}

// Compare decides whether the API's result r confirms ev. Money is
// compared in minor units of the same currency, never as floats.
func Compare(ev bankhooks.Event, r Result) Outcome {
	if r.Missing {
		return Outcome{Mismatch, "the provider's API has no such object (" + orNone(ev.Reference) + ")"}
	}
	var diffs []string
	kindOK, later := r.Kind == ev.Kind, laterKind(ev.Kind, r.Kind)
	if !kindOK && !later {
		diffs = append(diffs, fmt.Sprintf("status: webhook %s, API %s (%s)", ev.Kind, orNone(string(r.Kind)), orNone(r.Status)))
	}
	if !strings.EqualFold(r.Currency, ev.Currency) {
		diffs = append(diffs, fmt.Sprintf("currency: webhook %s, API %s", orNone(ev.Currency), orNone(r.Currency)))
	} else {
		switch {
		case r.AtLeast && ev.Amount > r.Amount:
			diffs = append(diffs, fmt.Sprintf("amount: webhook %s, API at most %s", Money(ev.Amount, ev.Currency), Money(r.Amount, r.Currency)))
		case !r.AtLeast && ev.Amount != r.Amount:
			diffs = append(diffs, fmt.Sprintf("amount: webhook %s, API %s", Money(ev.Amount, ev.Currency), Money(r.Amount, r.Currency)))
		}
	}
	if len(diffs) > 0 {
		return Outcome{Mismatch, strings.Join(diffs, "; ")}
	}
	what := fmt.Sprintf("API status %s, %s", orNone(r.Status), Money(r.Amount, r.Currency))
	if r.AtLeast {
		what = fmt.Sprintf("API status %s, up to %s", orNone(r.Status), Money(r.Amount, r.Currency))
	}
	if r.Note != "" {
		what += " (" + r.Note + ")"
	}
	if later {
		return Outcome{Later, fmt.Sprintf("webhook said %s; %s: routed as %s", ev.Kind, what, r.Kind)}
	}
	return Outcome{Confirmed, what}
}

// laterKind reports whether api is a later status of the same object than
// hook: a pending payment the API reports settled (succeeded or failed).
func laterKind(hook, api bankhooks.Kind) bool {
	return hook == bankhooks.KindPaymentPending && (api == bankhooks.KindPaymentSucceeded || api == bankhooks.KindPaymentFailed)
}

// Money formats minor units as "THB 50.00" (the currency's own exponent),
// or "<n> (minor units)" for a currency bankbot does not know.
func Money(minor int64, currency string) string {
	if currency == "" {
		return fmt.Sprintf("%d (no currency)", minor)
	}
	s, err := bankhooks.FormatMajor(minor, currency)
	if err != nil {
		return fmt.Sprintf("%s %d (minor units)", currency, minor)
	}
	return currency + " " + s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
