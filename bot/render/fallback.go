package render

import (
	"strconv"
	"strings"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
)

// Fallback builds a plain English message for d that cannot fail, for when
// Render fails at send time: an alert is never dropped because of a template.
// It shows the kind, amount, source, reference, masked account, counterparty,
// failure, time (in loc; nil means UTC) and the event id on the last line, with
// provider strings escaped as in templates. An amount whose currency is
// unknown is shown as raw minor units, labelled as such, never guessed.
func Fallback(d Data, loc *time.Location) Rendered {
	if loc == nil {
		loc = time.UTC
	}
	ev := d.Event
	kind := string(ev.Kind)
	if !ev.Kind.Valid() {
		kind = string(bankhooks.KindOther)
	}
	title := "bankbot alert: " + kind
	if !ev.Livemode {
		title = "[TEST] " + title
	}
	heading := EscapeMarkdown(title)
	money, moneyMD, moneyOK := fallbackMoney(ev)
	if moneyOK {
		title += " " + money
		heading += " " + moneyMD
	}

	var b strings.Builder
	b.WriteString("### " + heading + "\n\n")
	line := func(label, value string) {
		if value != "" {
			b.WriteString("- **" + label + ":** " + value + "\n")
		}
	}
	line("Kind", EscapeMarkdown(string(ev.Kind)))
	line("Amount", moneyMD)
	source := EscapeMarkdown(d.Source)
	if t := EscapeMarkdown(ev.Type); t != "" {
		source += " (" + t + ")"
	}
	line("Source", source)
	line("Reference", EscapeMarkdown(ev.Reference))
	line("Account", MaskAccount(ev.Account))
	line("Counterparty", EscapeMarkdown(ev.Counterparty))
	line("Failure", failureText(ev, "en"))
	if !ev.OccurredAt.IsZero() {
		line("Time", ev.OccurredAt.In(loc).Format(TimeLayout))
	}
	b.WriteString("\n> The message template failed; this is the plain fallback.\n\n")
	b.WriteString("ref: " + EscapeMarkdown(d.EventID))
	return Rendered{Title: title, Text: b.String()}
}

// fallbackMoney formats the event's amount for Fallback, as plain text and
// as markdown. ok is false when the currency is unknown and the text shows
// raw minor units; both texts are "" for an event without an amount. The
// amount is bankbot's own formatting and is never masked; an unknown
// currency code is a provider string and is masked and escaped like one.
func fallbackMoney(ev bankhooks.Event) (text, markdown string, ok bool) {
	if ev.Currency == "" && ev.Amount == 0 {
		return "", "", false
	}
	if s, err := FormatMoney(ev.Amount, ev.Currency, "en"); err == nil {
		return s, escapeRunes([]rune(s)), true
	}
	raw := strconv.FormatInt(ev.Amount, 10) + " minor units ("
	if ev.Currency == "" {
		return raw + "no currency)", raw + "no currency)", false
	}
	return raw + plainField(ev.Currency, 16) + ")", raw + escapeField(ev.Currency, 16) + ")", false
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}
