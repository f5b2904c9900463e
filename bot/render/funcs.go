package render

import (
	"fmt"
	"reflect"
	"strings"
	"text/template"
	"time"
)

// TimeLayout is how the time function formats a time. Zones without an
// abbreviation show as an offset: Asia/Bangkok is "+07".
const TimeLayout = "2006-01-02 15:04:05 MST"

// funcMap returns the functions templates can call:
//
//	amount .             the event's amount in the message language: 1,234.50 (id: 1.234,50)
//	amount MINOR CUR     the same for any amount, English separators
//	amount MINOR CUR LANG
//	money …              like amount, with the currency code first: THB 1,234.50
//	mask S               an account number as ••••1234; a last-4-only "1234" too (under 4 letters or digits: ••••)
//	time T               T in the configured zone, TimeLayout; "" for the zero time
//	md S                 S escaped for DingTalk markdown, with card numbers, IBANs and
//	                     long digit runs masked and URLs defanged (see EscapeMarkdown)
//	reason .             the event's failure code explained in plain words in the
//	                     message language, escaped like md; "" for a code bankbot
//	                     does not know (show the provider's code and message then)
//	upper S, lower S     case conversion
//	default D V          V, or D when V is empty ({{md .Event.Counterparty | default "—"}})
//
// amount and money fail on an unknown currency (ErrUnknownCurrency), which
// makes Render fail, so the caller sends Fallback instead of a wrong number.
func (e *Engine) funcMap() template.FuncMap {
	return template.FuncMap{
		"amount": func(args ...any) (string, error) { return moneyFunc("amount", FormatAmount, args) },
		"money":  func(args ...any) (string, error) { return moneyFunc("money", FormatMoney, args) },
		"mask":   MaskAccount,
		"time":   e.formatTime,
		"md":     EscapeMarkdown,
		"reason": reasonFunc,
		"upper":  strings.ToUpper,
		"lower":  strings.ToLower,
		"default": func(def, v any) any {
			if isEmpty(v) {
				return def
			}
			return v
		},
	}
}

// formatTime formats t in the engine's location, or "" for the zero time.
func (e *Engine) formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(e.loc).Format(TimeLayout)
}

// moneyFunc runs format on the arguments of amount or money: the template data
// (.), or MINOR CURRENCY [LANG].
func moneyFunc(name string, format func(int64, string, string) (string, error), args []any) (string, error) {
	if len(args) == 1 {
		if v, ok := args[0].(view); ok {
			return format(v.Event.Amount, v.Event.Currency, v.Lang)
		}
	}
	if len(args) == 2 || len(args) == 3 {
		minor, okMinor := toInt64(args[0])
		cur, okCur := args[1].(string)
		lang, okLang := "en", true
		if len(args) == 3 {
			lang, okLang = args[2].(string)
		}
		if okMinor && okCur && okLang {
			return format(minor, cur, lang)
		}
	}
	return "", fmt.Errorf("%s: want the template data (%s .) or MINOR CURRENCY [LANG]", name, name)
}

// reasonFunc is the reason function: the template data (.) in, the plain
// explanation of its failure code in its language out, through the same
// escaping as every other text (EscapeMarkdown).
func reasonFunc(v any) (string, error) {
	d, ok := v.(view)
	if !ok {
		return "", fmt.Errorf("reason: want the template data (reason .)")
	}
	return EscapeMarkdown(ExplainFailure(d.Event.Kind, d.Event.FailureCode, d.Lang)), nil
}

// toInt64 accepts the integer types a template passes: int constants and
// int64 fields.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	}
	return 0, false
}

// isEmpty reports whether v is nil, a zero value, or an empty string, slice
// or map.
func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	}
	return rv.IsZero()
}
