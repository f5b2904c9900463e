package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/render"
)

func TestPreview(t *testing.T) {
	_, path := newConfig(t)

	t.Run("a built-in template", func(t *testing.T) {
		r := run(t, path, "", "preview", "payment", "--kind", "payment.failed", "--language", "id", "--currency", "IDR")
		require.Equal(t, 0, r.code, r.stderr)
		require.True(t, strings.HasPrefix(r.stdout, "title: ❌ Pembayaran gagal: IDR 1.234,50\n\n### ❌ Pembayaran gagal: IDR 1.234,50\n"), r.stdout)
		require.Contains(t, r.stdout, "saldo kartu atau rekening tidak cukup (insufficient_fund — insufficient funds in the account)")
		require.Contains(t, r.stdout, "••••7890")
		require.NotContains(t, r.stdout, "56789")
	})

	t.Run("defaults: payment.succeeded, THB, the config's language", func(t *testing.T) {
		r := run(t, path, "", "preview", "default")
		require.Equal(t, 0, r.code, r.stderr)
		require.True(t, strings.HasPrefix(r.stdout, "title: ✅ Payment received: THB 1,234.50\n"), r.stdout)
	})

	t.Run("every kind in every language", func(t *testing.T) {
		curs := []string{"THB", "IDR", "JPY", "USD", "KWD"}
		for _, lang := range render.Languages() {
			for i, kind := range bankhooks.Kinds() {
				cur := curs[i%len(curs)] // each run loads the config: one currency per kind keeps it quick
				r := run(t, path, "", "preview", "default", "--kind", string(kind), "--language", lang, "--currency", cur)
				require.Equal(t, 0, r.code, "%s %s %s: %s", lang, kind, cur, r.stderr)
				require.True(t, strings.HasPrefix(r.stdout, "title: "), r.stdout)
				require.True(t, strings.HasSuffix(r.stdout, "ref: ev_01sampqe7k3m9x2v4w6y8z0abc\n"), r.stdout)
			}
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"preview", "nope"}, `bankbot: unknown template "nope": the templates are default, payment`},
			{[]string{"preview", "default", "--kind", "payment.done"}, `bankbot: unknown kind "payment.done": use one of payment.succeeded,`},
			{[]string{"preview", "default", "--language", "fr"}, `bankbot: unknown language "fr": use one of th, en, zh, id`},
			{[]string{"preview", "default", "--currency", "XYZ"}, `bankbot: --currency: unknown currency: "XYZ"`},
			{[]string{"preview", "default", "--currency", "XAU"}, `bankbot: --currency: currency has no minor unit: XAU`},
		} {
			r := run(t, path, "", tc.args...)
			require.Equal(t, 2, r.code, "%v: %s", tc.args, r.stderr)
			require.True(t, strings.HasPrefix(r.stderr, tc.want), "%v: %s", tc.args, r.stderr)
			require.Empty(t, r.stdout)
		}
	})

	t.Run("a broken config exits 1", func(t *testing.T) {
		r := run(t, filepath.Join(t.TempDir(), "nope.yaml"), "", "preview", "default")
		require.Equal(t, 1, r.code)
	})
}

// TestPreview_TemplatesDir: an admin's file in templates_dir replaces the
// built-in file of the same name, adds sets, and preview shows it.
func TestPreview_TemplatesDir(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "tpl")
	require.NoError(t, os.MkdirAll(tpl, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tpl, "default.en.tmpl"), []byte(
		`{{define "other"}}### Ours: {{md .Event.Type}}{{end}}{{define "payment.succeeded"}}### Money in {{money .}}
ref: {{md .EventID}}{{end}}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(tpl, "acme.th.tmpl"), []byte(
		`{{define "payment.failed"}}### ACME ไม่สำเร็จ {{money .}} {{reason .}}{{end}}`), 0o600))
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(goodConfig(dir, "")+"templates_dir: tpl\n"), 0o600))

	r := run(t, path, "", "preview", "default", "--language", "en")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "title: Money in THB 1,234.50\n\n### Money in THB 1,234.50\nref: ev_01sampqe7k3m9x2v4w6y8z0abc\n", r.stdout, "the admin's default.en.tmpl wins")

	r = run(t, path, "", "preview", "default", "--language", "th")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "ได้รับเงินแล้ว", "default.th.tmpl is still the built-in one")

	r = run(t, path, "", "preview", "acme", "--kind", "payment.failed", "--language", "th")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "title: ACME ไม่สำเร็จ THB 1,234.50 ยอดเงินในบัตรหรือบัญชีไม่พอ\n\n### ACME ไม่สำเร็จ THB 1,234.50 ยอดเงินในบัตรหรือบัญชีไม่พอ\n", r.stdout)

	r = run(t, path, "", "preview", "acme", "--kind", "payment.succeeded", "--language", "th")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "ได้รับเงินแล้ว", "a kind the set leaves out falls back to the default set")
}

// TestConfigCheck_TemplateFailsForOneKindLanguageCurrency: config check
// renders every kind in every language against the sample events, so a
// template that only breaks for zh refunds in KWD is reported, naming the
// file, language, kind and sample.
func TestConfigCheck_TemplateFailsForOneKindLanguageCurrency(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "tpl")
	require.NoError(t, os.MkdirAll(tpl, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tpl, "payment.zh.tmpl"), []byte(
		`{{define "refund.failed"}}### 退款失败 {{if eq .Event.Currency "KWD"}}{{.Event.Nope}}{{end}}{{money .}}{{end}}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(tpl, "x.id.tmpl"), []byte(`{{define "other"}}### {{.Event.Nope}}{{end}}`), 0o600))
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(goodConfig(dir, "")+"templates_dir: tpl\n"), 0o600))
	r := run(t, path, "", "config", "check")
	require.Equal(t, 1, r.code)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, "one line per broken template: %s", r.stdout)
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, "templates: template extra:"), l)
	}
	for _, w := range []string{"extra:payment.zh.tmpl", "lang zh", "kind refund.failed", "fixture kwd", "Nope"} {
		require.Contains(t, lines[0], w)
	}
	require.Contains(t, lines[1], "extra:x.id.tmpl (set x, lang id, kind other")

	// preview refuses to run on it the same way.
	r = run(t, path, "", "preview", "payment")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "kind refund.failed")
}
