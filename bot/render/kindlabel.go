package render

import "github.com/bankbot/bankbot/bankhooks"

// KindLabel is the short label of a canonical kind in lang, as digests show
// it ("✅ Payment received"): other text bankbot composes (the scheduled
// summary) names kinds the same way. An unknown kind is labelled as other
// events; an unknown language falls back to English.
func KindLabel(k bankhooks.Kind, lang string) string {
	w, ok := digestWords[lang]
	if !ok {
		w = digestWords["en"]
	}
	if l, ok := w.kinds[k]; ok {
		return l
	}
	return w.kinds[bankhooks.KindOther]
}
