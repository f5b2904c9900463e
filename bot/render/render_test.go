package render

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
	_ "time/tzdata" // Asia/Bangkok without the host's zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
)

// shipped is every built-in set × language with its own file.
var shipped = []struct{ set, lang string }{
	{"default", "en"}, {"default", "th"}, {"default", "zh"}, {"default", "id"},
	{"payment", "en"}, {"payment", "th"}, {"payment", "zh"}, {"payment", "id"},
}

// goldenMoney is the golden event's amount as each language writes it.
var goldenMoney = map[string]string{"en": "THB 50.00", "th": "THB 50.00", "zh": "THB 50.00", "id": "THB 50,00"}

func bangkok(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Bangkok")
	require.NoError(t, err)
	return loc
}

func newEngine(t testing.TB, extra mapFS) *Engine {
	t.Helper()
	opts := Options{Location: bangkok(t)}
	if extra != nil {
		opts.Extra = extra
	}
	e, err := New(opts)
	require.NoError(t, err)
	return e
}

// mapFS is the Extra type tests use.
type mapFS = fstest.MapFS

// goldenData is the fixed Opn-like event the golden files are rendered from:
// THB 50.00 sent as amount 5000.
func goldenData(kind bankhooks.Kind) Data {
	types := map[bankhooks.Kind]string{
		bankhooks.KindPaymentSucceeded: "charge.complete", bankhooks.KindPaymentFailed: "charge.complete",
		bankhooks.KindPaymentPending: "charge.create", bankhooks.KindRefundSucceeded: "refund.create",
		bankhooks.KindRefundFailed: "refund.create", bankhooks.KindTransferSucceeded: "transfer.pay",
		bankhooks.KindTransferFailed: "transfer.fail", bankhooks.KindAccountLinked: "recipient.activate",
		bankhooks.KindAccountLinkFailed: "recipient.deactivate", bankhooks.KindDisputeOpened: "dispute.create",
		bankhooks.KindOther: "customer.update",
	}
	d := Data{
		EventID: "ev_TEST",
		Source:  "opn",
		Event: bankhooks.Event{
			Provider:     "omise",
			ID:           "evnt_5xyz7k2m",
			Type:         types[kind],
			Kind:         kind,
			Amount:       5000,
			Currency:     "THB",
			Reference:    "chrg_5xyz7k2m",
			Account:      "123-4-56789-0",
			Counterparty: "Somchai Jaidee",
			Description:  "Order #1001",
			Livemode:     true,
			OccurredAt:   time.Date(2026, 3, 14, 3, 30, 0, 0, time.UTC),
		},
	}
	if kind.Failed() {
		d.Event.FailureCode = "insufficient_fund"
		d.Event.FailureMessage = "insufficient funds in the account"
	}
	return d
}

// TestRender_ShippedContent checks what every shipped message must carry,
// independently of the golden bytes.
func TestRender_ShippedContent(t *testing.T) {
	e := newEngine(t, nil)
	for _, sl := range shipped {
		for _, kind := range bankhooks.Kinds() {
			if kind == bankhooks.KindUnreadable {
				continue // no fields to show: TestRender_Unreadable
			}
			t.Run(sl.set+"."+sl.lang+"."+string(kind), func(t *testing.T) {
				r, err := e.Render(sl.set, sl.lang, goldenData(kind))
				require.NoError(t, err)
				lines := strings.Split(r.Text, "\n")
				require.True(t, strings.HasPrefix(lines[0], "### "), "first line is the heading")
				require.Equal(t, strings.TrimPrefix(lines[0], "### "), r.Title)
				money := goldenMoney[sl.lang]
				require.NotEmpty(t, money)
				require.Contains(t, r.Title, money, "the title carries the amount")
				require.Equal(t, `ref: ev_TEST`, lines[len(lines)-1], "last line is the event id")
				require.NotContains(t, r.Text, "5000", "minor units never show")
				for _, want := range []string{money, "••••7890", `chrg_5xyz7k2m`, "Somchai Jaidee", "opn", "2026-03-14 10:30:00 +07"} {
					require.Contains(t, r.Text, want)
				}
				require.NotContains(t, r.Text, "56789", "the account is masked")
				if kind.Failed() {
					require.Contains(t, r.Text, `insufficient_fund — insufficient funds in the account`)
				}
				require.NotContains(t, r.Text, "[TEST]")
				require.NotContains(t, r.Text, "```", "no code blocks")
				require.NotContains(t, r.Text, "|", "no tables")
			})
		}
	}
}

// TestRender_ProviderStringsEscaped proves every provider-supplied string in
// the shipped templates goes through md: a field holding markup shows up
// escaped, never raw.
func TestRender_ProviderStringsEscaped(t *testing.T) {
	e := newEngine(t, nil)
	for _, sl := range shipped {
		for _, kind := range bankhooks.Kinds() {
			if kind == bankhooks.KindUnreadable {
				continue // no fields to show: TestRender_Unreadable
			}
			t.Run(sl.set+"."+sl.lang+"."+string(kind), func(t *testing.T) {
				d := goldenData(kind)
				d.Event.Counterparty = "<b>counterparty</b>"
				d.Event.Description = "<b>description</b>"
				d.Event.Reference = "<b>reference</b>"
				d.Event.FailureCode = "<b>code</b>"
				d.Event.FailureMessage = "<b>message</b>"
				d.Event.Type = "<b>type</b>"
				d.Event.Account = "*1234567890*"
				d.Source = "<b>source</b>"
				r, err := e.Render(sl.set, sl.lang, d)
				require.NoError(t, err)
				require.NotContains(t, r.Text, "<b>", "a provider string skipped md")
				shown := []string{"counterparty", "description", "reference", "source"}
				if kind.Failed() {
					shown = append(shown, "code", "message")
				}
				if kind == bankhooks.KindOther {
					shown = append(shown, "type")
				}
				for _, f := range shown {
					require.Contains(t, r.Text, `\<b\>`+f+`\</b\>`)
				}
				require.Contains(t, r.Text, "••••7890")
			})
		}
	}
}

func TestRender_TestModeMarked(t *testing.T) {
	e := newEngine(t, nil)
	for _, set := range e.Sets() {
		for _, lang := range Languages() {
			for _, kind := range bankhooks.Kinds() {
				t.Run(set+"."+lang+"."+string(kind), func(t *testing.T) {
					d := goldenData(kind)
					d.Event.Livemode = false
					r, err := e.Render(set, lang, d)
					require.NoError(t, err)
					require.True(t, strings.HasPrefix(r.Title, "[TEST] "), r.Title)
					require.Contains(t, r.Text, "\n> ", "a quoted test-mode note")
				})
			}
		}
	}
}

func TestRender_LookupOrder(t *testing.T) {
	block := func(kind, text string) string {
		return fmt.Sprintf("{{define %q}}### %s\n\nref: {{md .EventID}}{{end}}\n", kind, text)
	}
	extra := mapFS{
		"custom.th.tmpl":  {Data: []byte(block("payment.succeeded", "custom th payment.succeeded"))},
		"custom.en.tmpl":  {Data: []byte(block("payment.failed", "custom en payment.failed") + block("refund.succeeded", "custom en refund.succeeded"))},
		"default.zh.tmpl": {Data: []byte(block("refund.succeeded", "default zh refund.succeeded") + block("other", "default zh other"))},
		// Replaces the built-in default.id.tmpl, so steps 4 and 6 are reached.
		"default.id.tmpl": {Data: []byte(block("payment.failed", "default id payment.failed"))},
		"README.md":       {Data: []byte("not a template, ignored")},
	}
	e := newEngine(t, extra)
	tests := []struct {
		name  string
		set   string
		lang  string
		kind  bankhooks.Kind
		title string
	}{
		{"1 set lang kind", "custom", "th", bankhooks.KindPaymentSucceeded, "custom th payment.succeeded"},
		{"2 default lang kind beats set en", "custom", "th", bankhooks.KindRefundSucceeded, "↩️ คืนเงินสำเร็จ THB 50.00"},
		{"2 default lang kind from extra", "custom", "zh", bankhooks.KindRefundSucceeded, "default zh refund.succeeded"},
		{"3 set en kind", "custom", "zh", bankhooks.KindPaymentFailed, "custom en payment.failed"},
		{"4 default en kind", "custom", "zh", bankhooks.KindPaymentPending, "⏳ Payment pending: THB 50.00"},
		{"4 default en kind for indonesian", "custom", "id", bankhooks.KindPaymentPending, "⏳ Payment pending: THB 50,00"},
		{"5 default lang other", "custom", "zh", "mystery.kind", "default zh other"},
		{"6 default en other", "custom", "id", "mystery.kind", "ℹ️ Other event: THB 50,00"},
		{"6 default en other for an empty kind", "payment", "id", "", "ℹ️ Other event: THB 50,00"},
		{"payment set falls back to default for refunds", "payment", "th", bankhooks.KindRefundFailed, "❌ การคืนเงินล้มเหลว THB 50.00"},
		{"2 default lang kind for indonesian", "custom", "id", bankhooks.KindPaymentFailed, "default id payment.failed"},
		{"an admin default.zh without the kind falls back to english", "default", "zh", bankhooks.KindPaymentSucceeded, "✅ Payment received: THB 50.00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := goldenData(bankhooks.KindPaymentSucceeded)
			d.Event.Kind = tc.kind
			r, err := e.Render(tc.set, tc.lang, d)
			require.NoError(t, err)
			require.Equal(t, tc.title, r.Title)
		})
	}
}

func TestRender_ExtraOverridesBuiltin(t *testing.T) {
	e := newEngine(t, mapFS{
		"payment.th.tmpl": {Data: []byte(`{{define "payment.succeeded"}}### เงินเข้า {{money .}}{{end}}`)},
	})
	r, err := e.Render("payment", "th", goldenData(bankhooks.KindPaymentSucceeded))
	require.NoError(t, err)
	require.Equal(t, Rendered{Title: "เงินเข้า THB 50.00", Text: "### เงินเข้า THB 50.00"}, r)

	// The replaced file's other kinds are gone with it: payment.failed now
	// comes from the default set.
	r, err = e.Render("payment", "th", goldenData(bankhooks.KindPaymentFailed))
	require.NoError(t, err)
	require.Contains(t, r.Text, "- **สาเหตุ:**", "default layout, not the compact one")
}

func TestNew_RefusesBadTemplates(t *testing.T) {
	tests := []struct {
		name    string
		files   mapFS
		file    string
		kind    string
		want    error
		message string
	}{
		{
			name:    "parse error",
			files:   mapFS{"broken.en.tmpl": {Data: []byte(`{{define "payment.succeeded"}}### x {{.Event.Amount}{{end}}`)}},
			file:    "extra:broken.en.tmpl",
			want:    ErrBadTemplate,
			message: "bad character",
		},
		{
			name:    "missing function",
			files:   mapFS{"broken.en.tmpl": {Data: []byte(`{{define "payment.succeeded"}}### {{nosuchfunc .}}{{end}}`)}},
			file:    "extra:broken.en.tmpl",
			want:    ErrBadTemplate,
			message: `function "nosuchfunc" not defined`,
		},
		{
			name:    "missing field is an exec error",
			files:   mapFS{"broken.en.tmpl": {Data: []byte(`{{define "payment.failed"}}### {{.Event.NoSuchField}}{{end}}`)}},
			file:    "extra:broken.en.tmpl",
			kind:    "payment.failed",
			message: "can't evaluate field NoSuchField",
		},
		{
			name:    "unknown currency literal is an exec error",
			files:   mapFS{"broken.th.tmpl": {Data: []byte(`{{define "refund.failed"}}### {{money 5 "XYZ"}}{{end}}`)}},
			file:    "extra:broken.th.tmpl",
			kind:    "refund.failed",
			want:    ErrUnknownCurrency,
			message: "unknown currency",
		},
		{
			name:    "fails only on a fixture",
			files:   mapFS{"broken.en.tmpl": {Data: []byte(`{{define "payment.succeeded"}}### {{if .Event.Livemode}}ok{{else}}{{template "nope"}}{{end}}{{end}}`)}},
			file:    "extra:broken.en.tmpl",
			kind:    "payment.succeeded",
			message: "test-mode",
		},
		{
			name:  "empty output",
			files: mapFS{"broken.en.tmpl": {Data: []byte(`{{define "payment.succeeded"}}  {{"\n"}}  {{end}}`)}},
			file:  "extra:broken.en.tmpl",
			kind:  "payment.succeeded",
			want:  ErrEmptyOutput,
		},
		{
			name:  "no title line",
			files: mapFS{"broken.en.tmpl": {Data: []byte(`{{define "payment.succeeded"}}Paid {{money .}}{{end}}`)}},
			file:  "extra:broken.en.tmpl",
			kind:  "payment.succeeded",
			want:  ErrNoTitle,
		},
		{
			name:  "heading without text",
			files: mapFS{"broken.en.tmpl": {Data: []byte("{{define \"payment.succeeded\"}}###\nPaid{{end}}")}},
			file:  "extra:broken.en.tmpl",
			kind:  "payment.succeeded",
			want:  ErrNoTitle,
		},
		{
			name:  "too large",
			files: mapFS{"broken.en.tmpl": {Data: []byte(`{{define "payment.succeeded"}}### big {{printf "%20000s" "x"}}{{end}}`)}},
			file:  "extra:broken.en.tmpl",
			kind:  "payment.succeeded",
			want:  ErrTooLarge,
		},
		{
			name:    "misspelt kind",
			files:   mapFS{"broken.en.tmpl": {Data: []byte(`{{define "payment.succeded"}}### x{{end}}`)}},
			file:    "extra:broken.en.tmpl",
			want:    ErrBadTemplate,
			message: `"payment.succeded" is not a canonical kind`,
		},
		{
			name:    "no kind at all",
			files:   mapFS{"broken.en.tmpl": {Data: []byte(`{{define "helper"}}### x{{end}}`)}},
			file:    "extra:broken.en.tmpl",
			want:    ErrBadTemplate,
			message: "no block for any canonical kind",
		},
		{
			name:    "range is refused",
			files:   mapFS{"broken.en.tmpl": {Data: []byte(`{{define "payment.succeeded"}}### x{{range .Event.Amount}}{{end}}{{end}}`)}},
			file:    "extra:broken.en.tmpl",
			want:    ErrBadTemplate,
			message: "uses range",
		},
		{
			name:    "file name without language",
			files:   mapFS{"payment.tmpl": {Data: []byte(`{{define "payment.succeeded"}}### x{{end}}`)}},
			file:    "extra:payment.tmpl",
			want:    ErrBadTemplate,
			message: "<set>.<lang>.tmpl",
		},
		{
			name:  "unsupported language",
			files: mapFS{"payment.fr.tmpl": {Data: []byte(`{{define "payment.succeeded"}}### x{{end}}`)}},
			file:  "extra:payment.fr.tmpl",
			want:  ErrBadTemplate,
		},
		{
			name:    "default english without other",
			files:   mapFS{"default.en.tmpl": {Data: []byte(`{{define "payment.succeeded"}}### x{{end}}`)}},
			file:    "extra:default.en.tmpl",
			want:    ErrBadTemplate,
			message: `"other" block`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Options{Location: bangkok(t), Extra: tc.files})
			require.Error(t, err)
			require.Nil(t, e)
			var te *TemplateError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tc.file, te.File)
			require.Contains(t, err.Error(), tc.file)
			if tc.kind != "" {
				require.Equal(t, tc.kind, te.Kind)
				require.Contains(t, err.Error(), "kind "+tc.kind)
				require.NotEmpty(t, te.Fixture)
				require.NotEmpty(t, te.Lang)
				require.Equal(t, "broken", te.Set)
			}
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			require.Contains(t, err.Error(), tc.message)
		})
	}
}

func TestNew_ReportsEveryBadFile(t *testing.T) {
	_, err := New(Options{Extra: mapFS{
		"a.en.tmpl": {Data: []byte(`{{define "other"}}### {{.Nope}}{{end}}`)},
		"b.th.tmpl": {Data: []byte(`{{define "other"}}### {{end`)},
	}})
	require.Error(t, err)
	require.Contains(t, err.Error(), "extra:a.en.tmpl")
	require.Contains(t, err.Error(), "extra:b.th.tmpl")
}

func TestNew_BuiltinsAlone(t *testing.T) {
	e, err := New(Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"default", "payment"}, e.Sets())
	require.True(t, e.Has("default"))
	require.True(t, e.Has("payment"))
	require.False(t, e.Has("Payment"))
	require.False(t, e.Has(""))

	sets := e.Sets()
	sets[0] = "changed"
	require.Equal(t, []string{"default", "payment"}, e.Sets(), "Sets returns a copy")
}

func TestRender_Errors(t *testing.T) {
	e := newEngine(t, nil)
	tests := []struct {
		name string
		set  string
		lang string
		data Data
		want error
	}{
		{"unknown set", "nope", "th", goldenData(bankhooks.KindPaymentSucceeded), ErrUnknownSet},
		{"unknown language", "default", "fr", goldenData(bankhooks.KindPaymentSucceeded), ErrUnknownLanguage},
		{"unknown currency", "default", "th", func() Data {
			d := goldenData(bankhooks.KindPaymentSucceeded)
			d.Event.Currency = "XYZ"
			return d
		}(), ErrUnknownCurrency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := e.Render(tc.set, tc.lang, tc.data)
			require.ErrorIs(t, err, tc.want)
			require.Equal(t, Rendered{}, r)
		})
	}
}

// TestRender_FailureFallsBack is the send-time contract: when Render fails the
// caller still has a message, with the raw minor units labelled.
func TestRender_FailureFallsBack(t *testing.T) {
	e := newEngine(t, nil)
	d := goldenData(bankhooks.KindPaymentSucceeded)
	d.Event.Currency = "XYZ"
	_, err := e.Render("payment", "th", d)
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "embedded:payment.th.tmpl", te.File)
	require.Equal(t, "payment.succeeded", te.Block)

	fb := Fallback(d, bangkok(t))
	require.Contains(t, fb.Text, "5000 minor units (XYZ)")
	require.True(t, strings.HasSuffix(fb.Text, `ref: ev_TEST`))
}

func TestRender_Timezone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	tests := []struct {
		name string
		loc  *time.Location
		want string
	}{
		{"bangkok shows +07", bangkok(t), "2026-03-14 10:30:00 +07"},
		{"nil is utc", nil, "2026-03-14 03:30:00 UTC"},
		{"new york after the dst switch", ny, "2026-03-13 23:30:00 EDT"},
		{"fixed zone", time.FixedZone("ICT", 7*3600), "2026-03-14 10:30:00 ICT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Options{Location: tc.loc})
			require.NoError(t, err)
			r, err := e.Render("default", "en", goldenData(bankhooks.KindPaymentSucceeded))
			require.NoError(t, err)
			require.Contains(t, r.Text, "- **Time:** "+tc.want+"\n")
			require.Contains(t, Fallback(goldenData(bankhooks.KindPaymentSucceeded), tc.loc).Text, tc.want)
		})
	}
}

func TestRender_EmptyOptionalFields(t *testing.T) {
	e := newEngine(t, nil)
	for _, set := range e.Sets() {
		for _, lang := range Languages() {
			for _, kind := range bankhooks.Kinds() {
				t.Run(set+"."+lang+"."+string(kind), func(t *testing.T) {
					r, err := e.Render(set, lang, Data{EventID: "ev_1", Source: "opn", Event: bankhooks.Event{Kind: kind, Livemode: true}})
					require.NoError(t, err)
					require.NotContains(t, r.Title, ":", "no amount suffix without a currency")
					require.NotContains(t, r.Text, "••••")
					require.NotContains(t, r.Text, "0001-01-01", "the zero time is not shown as a date")
					require.True(t, strings.HasSuffix(r.Text, `ref: ev_1`))
				})
			}
		}
	}
}

func TestRender_LargestFixtureFits(t *testing.T) {
	e := newEngine(t, nil)
	var largest int
	for _, set := range e.Sets() {
		for _, lang := range Languages() {
			for _, kind := range bankhooks.Kinds() {
				for _, fx := range fixtures(kind) {
					r, err := e.Render(set, lang, fx.data)
					require.NoError(t, err, "%s/%s/%s/%s", set, lang, kind, fx.name)
					require.Less(t, len(r.Text), 20000)
					largest = max(largest, len(r.Text))
				}
			}
		}
	}
	require.LessOrEqual(t, largest, MaxTextBytes)
	require.Greater(t, largest, 2000, "the long-strings fixture really is long")
}

func TestRender_ExtremeAmounts(t *testing.T) {
	e := newEngine(t, nil)
	tests := []struct {
		name     string
		amount   int64
		currency string
		lang     string
		want     string
	}{
		{"max int64", math.MaxInt64, "THB", "en", "THB 92,233,720,368,547,758.07"},
		{"min int64", math.MinInt64, "THB", "th", "THB -92,233,720,368,547,758.08"},
		{"jpy", 5000, "JPY", "th", "JPY 5,000"},
		{"kwd", 1234567, "KWD", "en", "KWD 1,234.567"},
		{"idr indonesian", 1234550, "IDR", "id", "IDR 12.345,50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := goldenData(bankhooks.KindPaymentSucceeded)
			d.Event.Amount, d.Event.Currency = tc.amount, tc.currency
			r, err := e.Render("default", tc.lang, d)
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(r.Title, " "+tc.want), r.Title)
		})
	}
}

func TestFuncs(t *testing.T) {
	tests := []struct {
		name string
		tmpl string
		want string
	}{
		{"amount of the data", `{{amount .}}`, "50.00"},
		{"money of the data", `{{money .}}`, "THB 50.00"},
		{"amount literal", `{{amount 123456 "JPY"}}`, "123,456"},
		{"money literal with language", `{{money .Event.Amount "IDR" "id"}}`, "IDR 50,00"},
		{"mask", `{{mask .Event.Account}}`, "••••7890"},
		{"md", `{{md "*x*"}}`, `\*x\*`},
		{"upper lower", `{{upper "ab"}}{{lower "CD"}}`, "ABcd"},
		{"default on empty", `{{default "—" ""}}`, "—"},
		{"default keeps value", `{{.Event.Currency | default "—"}}`, "THB"},
		{"default on zero int", `{{default 7 0}}`, "7"},
		{"time", `{{time .Event.OccurredAt}}`, "2026-03-14 10:30:00 +07"},
		{"lang", `{{.Lang}}`, "th"},
		{"source and id", `{{.Source}} {{.EventID}}`, "opn ev_TEST"},
	}
	// One engine, one set per case: New validates every set, so this also
	// proves each function works on every fixture.
	extra := mapFS{}
	for i, tc := range tests {
		src := fmt.Sprintf("{{define %q}}### x %s{{end}}", "payment.succeeded", tc.tmpl)
		extra[fmt.Sprintf("f%d.th.tmpl", i)] = &fstest.MapFile{Data: []byte(src)}
	}
	e := newEngine(t, extra)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := e.Render(fmt.Sprintf("f%d", i), "th", goldenData(bankhooks.KindPaymentSucceeded))
			require.NoError(t, err)
			require.Equal(t, "x "+tc.want, r.Title)
		})
	}
}

func TestFuncs_BadArguments(t *testing.T) {
	tests := []struct {
		name string
		tmpl string
	}{
		{"amount without arguments", `{{amount}}`},
		{"amount of a string", `{{amount "5000"}}`},
		{"money with a bad language", `{{money 5 "THB" "fr"}}`},
		{"amount of the event", `{{amount .Event}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf("{{define %q}}### x %s{{end}}", "other", tc.tmpl)
			_, err := New(Options{Extra: mapFS{"f.en.tmpl": {Data: []byte(src)}}})
			require.Error(t, err)
			require.Contains(t, err.Error(), "extra:f.en.tmpl")
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"crlf", "### a\r\nb\r\n", "### a\nb"},
		{"blank runs collapse", "### a\n\n\n  \n\nb\n\n", "### a\n\nb"},
		{"leading blank lines", "\n\n  \n### a", "### a"},
		{"line break spaces inside kept", "### a\nb  \nc", "### a\nb  \nc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, normalize(tc.in))
		})
	}
}

func TestFallback(t *testing.T) {
	tests := []struct {
		name     string
		data     Data
		loc      *time.Location
		title    string
		contains []string
	}{
		{
			name:     "typical",
			data:     goldenData(bankhooks.KindPaymentSucceeded),
			loc:      bangkok(t),
			title:    "bankbot alert: payment.succeeded THB 50.00",
			contains: []string{"- **Amount:** THB 50.00", `- **Reference:** chrg_5xyz7k2m`, "••••7890", "opn", "2026-03-14 10:30:00 +07"},
		},
		{
			name:     "empty data",
			data:     Data{},
			title:    "[TEST] bankbot alert: other",
			contains: []string{"ref: "},
		},
		{
			name: "unknown currency shows labelled minor units",
			data: Data{EventID: "ev_1", Event: bankhooks.Event{Kind: bankhooks.KindPaymentFailed, Amount: 5000, Currency: "XYZ",
				FailureCode: "x_y", Livemode: true}},
			title:    "bankbot alert: payment.failed",
			contains: []string{"5000 minor units (XYZ)", `- **Failure:** x_y`},
		},
		{
			name:     "amount without currency",
			data:     Data{Event: bankhooks.Event{Kind: bankhooks.KindOther, Amount: -7, Livemode: true}},
			title:    "bankbot alert: other",
			contains: []string{"-7 minor units (no currency)"},
		},
		{
			name:     "min int64",
			data:     Data{Event: bankhooks.Event{Kind: bankhooks.KindRefundSucceeded, Amount: math.MinInt64, Currency: "THB", Livemode: true}},
			title:    "bankbot alert: refund.succeeded THB -92,233,720,368,547,758.08",
			contains: []string{"THB -92,233,720,368,547,758.08"},
		},
		{
			name:     "hostile strings and a bogus kind",
			data:     Data{EventID: "ev_\n# x", Source: "*s*", Event: bankhooks.Event{Kind: "x\n### y", Counterparty: "<font>\n# z", Livemode: true}},
			title:    "bankbot alert: other",
			contains: []string{`- **Kind:** x ### y`, `\<font\> # z`, `ref: ev\_ # x`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Fallback(tc.data, tc.loc)
			require.Equal(t, tc.title, r.Title)
			require.True(t, strings.HasPrefix(r.Text, "### "))
			lines := strings.Split(r.Text, "\n")
			require.True(t, strings.HasPrefix(lines[len(lines)-1], "ref: "))
			for _, l := range lines[1:] {
				require.False(t, strings.HasPrefix(l, "#"), "only the first line is a heading: %q", l)
			}
			for _, c := range tc.contains {
				require.Contains(t, r.Text, c)
			}
		})
	}
}

func TestRender_Concurrent(t *testing.T) {
	e := newEngine(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kind := bankhooks.Kinds()[i%len(bankhooks.Kinds())]
			lang := Languages()[i%len(Languages())]
			want, err := e.Render("payment", lang, goldenData(kind))
			if err != nil {
				errs <- err
				return
			}
			for range 20 {
				got, err := e.Render("payment", lang, goldenData(kind))
				if err != nil || got != want {
					errs <- errors.Join(err, fmt.Errorf("render changed between calls"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestTemplateError(t *testing.T) {
	inner := errors.New("boom")
	err := &TemplateError{File: "extra:a.th.tmpl", Set: "a", Lang: "th", Kind: "other", Block: "other", Fixture: "typical", Err: inner}
	require.Equal(t, "template extra:a.th.tmpl (set a, lang th, kind other, block other, fixture typical): boom", err.Error())
	require.ErrorIs(t, err, inner)
	require.Equal(t, "template: boom", (&TemplateError{Err: inner}).Error())
}
