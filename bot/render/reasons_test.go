package render

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
)

// TestExplainFailure_EveryCodeEveryLanguage: every known code has its own
// non-empty text in every language, and the translations are not the
// English text left in place.
func TestExplainFailure_EveryCodeEveryLanguage(t *testing.T) {
	for code, r := range failureReasons {
		for _, lang := range Languages() {
			s := map[string]string{"en": r.en, "th": r.th, "zh": r.zh, "id": r.id}[lang]
			require.NotEmpty(t, s, "%s has no %s text", code, lang)
			require.Equal(t, s, ExplainFailure(bankhooks.KindPaymentFailed, code, lang))
			if lang != "en" {
				require.NotEqual(t, r.en, s, "%s: the %s text is the English one", code, lang)
			}
		}
	}
}

func TestExplainFailure(t *testing.T) {
	for _, tc := range []struct{ code, lang, want string }{
		{"insufficient_fund", "en", "not enough money on the card or in the account"},
		{" Insufficient_Fund ", "th", "ยอดเงินในบัตรหรือบัญชีไม่พอ"},
		{"insufficient_funds", "zh", "卡内或账户余额不足"},
		{"expired_card", "id", "kartu sudah kedaluwarsa"},
		{"stolen_or_lost_card", "xx", "the card was reported lost or stolen"}, // unknown language: English
		{"no_such_code", "en", ""},
		{"", "th", ""},
	} {
		require.Equal(t, tc.want, ExplainFailure(bankhooks.KindPaymentFailed, tc.code, tc.lang), "%q %q", tc.code, tc.lang)
	}
	// The codes the issue names, Opn's and Stripe's, are all explained.
	for _, code := range []string{
		"insufficient_fund", "invalid_account", "failed_processing", "rate_limit_exceeded", "registration_rejected",
		"payment_rejected", "stolen_or_lost_card", "invalid_security_code", "failed_fraud_check", "insufficient_balance",
		"confirmed_amount_mismatch", "payment_expired", "payment_cancelled",
		"card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "processing_error", "lost_card",
		"stolen_card", "do_not_honor", "generic_decline", "fraudulent", "authentication_required",
	} {
		require.NotEmpty(t, ExplainFailure(bankhooks.KindPaymentFailed, code, "en"), code)
	}
}

// TestExplainFailure_ByKind: a dispute's reason is what the cardholder
// claims, never a decline; insufficient_funds on a refund or payout is the
// merchant's balance; a dispute reason bankbot does not know is not
// explained by the decline table.
func TestExplainFailure_ByKind(t *testing.T) {
	require.Equal(t, "the cardholder says they did not make this payment", ExplainFailure(bankhooks.KindDisputeOpened, "fraudulent", "en"))
	require.Equal(t, "the payment was declined as suspected fraud", ExplainFailure(bankhooks.KindPaymentFailed, "fraudulent", "en"))
	require.Equal(t, "ผู้ถือบัตรแจ้งว่าถูกเรียกเก็บเงินซ้ำ", ExplainFailure(bankhooks.KindDisputeOpened, "duplicate", "th"))
	require.Equal(t, "cancelled as a duplicate payment", ExplainFailure(bankhooks.KindPaymentFailed, "duplicate", "en"))
	require.Empty(t, ExplainFailure(bankhooks.KindDisputeOpened, "insufficient_fund", "en"))
	require.Equal(t, "not enough money on the card or in the account", ExplainFailure(bankhooks.KindPaymentFailed, "insufficient_funds", "en"))
	for _, k := range []bankhooks.Kind{bankhooks.KindRefundFailed, bankhooks.KindTransferFailed} {
		require.Equal(t, "商户账户余额不足，无法完成此笔款项", ExplainFailure(k, "insufficient_funds", "zh"))
	}
	for kind, codes := range kindReasons {
		for code, r := range codes {
			for _, lang := range Languages() {
				s := map[string]string{"en": r.en, "th": r.th, "zh": r.zh, "id": r.id}[lang]
				require.NotEmpty(t, s, "%s %s has no %s text", kind, code, lang)
				require.Equal(t, s, ExplainFailure(kind, code, lang))
			}
		}
	}
}

// TestRender_FailureReasons: a known code shows its plain words in the
// message's language next to the provider's code and message; an unknown
// one shows the provider's code and message unchanged; either goes through
// the escaping and masking of md.
func TestRender_FailureReasons(t *testing.T) {
	e := newEngine(t, nil)
	for _, set := range []string{"default", "payment"} {
		for _, lang := range Languages() {
			d := goldenData(bankhooks.KindPaymentFailed)
			d.Event.FailureCode, d.Event.FailureMessage = "stolen_card", "Your card was declined."
			r, err := e.Render(set, lang, d)
			require.NoError(t, err)
			require.Contains(t, r.Text, ExplainFailure(bankhooks.KindPaymentFailed, "stolen_card", lang)+" (stolen_card — Your card was declined.)", "%s %s", set, lang)

			d.Event.FailureCode, d.Event.FailureMessage = "weird_code", "card 4111 1111 1111 1111 <b>"
			r, err = e.Render(set, lang, d)
			require.NoError(t, err)
			require.Contains(t, r.Text, `weird_code — card ••••1111 \<b\>`, "%s %s", set, lang)
			require.NotContains(t, r.Text, "(weird_code")

			d.Event.FailureCode, d.Event.FailureMessage = "", ""
			r, err = e.Render(set, lang, d)
			require.NoError(t, err)
			require.NotContains(t, r.Text, "()")
		}
	}
}
