package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/confirm"
	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/store"
)

// nameConfirmer is a Confirmer that only names its provider: securityText
// needs nothing else.
type nameConfirmer struct{}

func (nameConfirmer) Handles(bankhooks.Kind) bool { return true }
func (nameConfirmer) Confirm(context.Context, bankhooks.Event) (confirm.Result, error) {
	return confirm.Result{}, nil
}
func (nameConfirmer) Provider() string { return "Opn" }

// englishSentences are the fixed English sentences of the security and ops
// alerts: a zh or id alert holding one fell back to English.
var englishSentences = []string{
	"Webhook not confirmed", "not delivered as genuine", "does not confirm it", "Webhook claimed",
	"'s API says", "Difference:", "Do not act on it", "reference ",
	"paused by", "misconfigured", "could not be delivered", "delivers again",
	"nothing is lost", "Fix robots", "They are dead letters", "It was ",
}

// TestSecurityText_Languages: every language has its own security alert,
// with the same facts (amounts in the language's number format), and zh and
// id carry none of the English sentences.
func TestSecurityText_Languages(t *testing.T) {
	src := &Source{Name: "opn", Confirmer: nameConfirmer{}}
	ev := store.StoredEvent{ID: "ev_SEC", Source: "opn", Event: bankhooks.Event{
		ID: "evnt_1", Kind: bankhooks.KindPaymentSucceeded, Amount: 123450, Currency: "THB",
		Reference: "chrg_1", Livemode: true, OccurredAt: time.Date(2026, 3, 14, 3, 30, 0, 0, time.UTC),
	}}
	res := confirm.Result{Kind: bankhooks.KindPaymentFailed, Status: "failed", Amount: 123450, Currency: "THB"}
	out := confirm.Outcome{Verdict: confirm.Mismatch, Reason: "kind: webhook payment.succeeded, API payment.failed"}
	money := map[string]string{"en": "THB 1,234.50", "th": "THB 1,234.50", "zh": "THB 1,234.50", "id": "THB 1.234,50"}
	titles := map[string]bool{}
	for _, lang := range render.Languages() {
		t.Run(lang, func(t *testing.T) {
			title, text := securityText(lang, src, ev, res, out)
			require.True(t, strings.HasPrefix(text, "### "+title+"\n\n"))
			require.Contains(t, title, "Opn")
			require.False(t, titles[title], "%s shares its title with another language", lang)
			titles[title] = true
			for _, want := range []string{"**opn**", money[lang], "chrg_1", "status failed", out.Reason, "ev_SEC", "evnt_1"} {
				require.Contains(t, text, want)
			}
			if lang == "zh" || lang == "id" {
				require.Contains(t, text, "`bankbot events show ev_SEC`")
				for _, en := range englishSentences {
					require.NotContains(t, text, en)
				}
			}
		})
	}
}

// TestOpsText_Languages: every state has its own alert in every language;
// zh and id carry none of the English sentences and keep the robot name,
// the reason and the commands.
func TestOpsText_Languages(t *testing.T) {
	for _, state := range []string{statePaused, stateMisconfigured, stateFailing, stateOK} {
		titles := map[string]bool{}
		for _, lang := range render.Languages() {
			t.Run(state+"."+lang, func(t *testing.T) {
				title, text := opsText(lang, "finance", "paused", state, "DingTalk answered 410100")
				require.True(t, strings.HasPrefix(text, "### "+title+"\n\n> DingTalk answered 410100\n\n"), text)
				require.Contains(t, title, "finance")
				require.False(t, titles[title], "%s shares its title with another language", lang)
				titles[title] = true
				switch state {
				case stateMisconfigured:
					require.Contains(t, text, "robots.finance")
				case stateFailing:
					require.Contains(t, text, "`bankbot deadletters retry --all`")
				case stateOK:
					require.True(t, strings.HasSuffix(strings.TrimSuffix(text, "."), "paused"), text)
				}
				if lang == "zh" || lang == "id" {
					for _, en := range englishSentences {
						require.NotContains(t, text, en)
					}
				}
			})
		}
	}
}
