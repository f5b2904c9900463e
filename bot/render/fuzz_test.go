package render

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/bankbot/bankbot/bankhooks"
)

func FuzzAmountFormat(f *testing.F) {
	f.Add(int64(5000), "THB", uint8(0))
	f.Add(int64(123456789), "THB", uint8(1))
	f.Add(int64(math.MaxInt64), "JPY", uint8(2))
	f.Add(int64(math.MinInt64), "KWD", uint8(3))
	f.Add(int64(1), "CLF", uint8(1))
	f.Add(int64(-1), "IDR", uint8(3))
	f.Add(int64(0), "", uint8(0))
	f.Add(int64(5), "XYZ", uint8(0))
	f.Add(int64(5), "thb", uint8(4))
	f.Fuzz(func(t *testing.T, minor int64, currency string, langSel uint8) {
		langs := append(Languages(), "xx")
		lang := langs[int(langSel)%len(langs)]
		got, err := FormatAmount(minor, currency, lang)
		if err != nil {
			if !errors.Is(err, ErrUnknownCurrency) && !errors.Is(err, ErrUnknownLanguage) {
				t.Fatalf("unexpected error %v", err)
			}
			if got != "" {
				t.Fatalf("error with output %q", got)
			}
			return
		}
		group, dec, _ := separators(lang)
		exp, ok := exponent(currency)
		if !ok {
			exp = 0 // the no-amount case: "0"
		}
		frac := ""
		if exp > 0 {
			frac = regexp.QuoteMeta(dec) + `\d{` + strconv.Itoa(exp) + `}`
		}
		shape := regexp.MustCompile(`^-?(0|[1-9]\d{0,2}(` + regexp.QuoteMeta(group) + `\d{3})*)` + frac + `$`)
		if !shape.MatchString(got) {
			t.Fatalf("FormatAmount(%d, %q, %q) = %q: not grouped by thousands with %d decimals", minor, currency, lang, got, exp)
		}
		digits := strings.NewReplacer(group, "", dec, "").Replace(got)
		back, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || back != minor {
			t.Fatalf("FormatAmount(%d, %q, %q) = %q, digits %q give %d (%v)", minor, currency, lang, got, digits, back, err)
		}
	})
}

func FuzzRender(f *testing.F) {
	e, err := New(Options{Location: bangkok(f)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Somchai Jaidee", "Order #1001", uint16(0))
	f.Add("*Bob*", "[x](http://evil.test)", uint16(7))
	f.Add("Bob\n### Paid THB 1,000,000\nref: ev_fake", "<font color=red>x</font>", uint16(13))
	f.Add("\u202e00.05", "1. item", uint16(21))
	f.Add("", "- list", uint16(33))
	f.Add(" \r\n ", "\\", uint16(40))
	f.Add(strings.Repeat("ก*", 5000), strings.Repeat("\n", 100), uint16(77))
	f.Add("a\xffb", "`code`", uint16(87))
	f.Fuzz(func(t *testing.T, counterparty, description string, sel uint16) {
		sets := e.Sets()
		set := sets[int(sel)%len(sets)]
		lang := Languages()[int(sel/2)%len(Languages())]
		kind := bankhooks.Kinds()[int(sel/8)%len(bankhooks.Kinds())]

		d := goldenData(kind)
		d.Event.Livemode = sel%3 != 0
		base := d
		d.Event.Counterparty, d.Event.Description = counterparty, description
		// The baseline has plain strings that are empty exactly when the
		// fuzzed ones are, so it has the same optional lines.
		base.Event.Counterparty, base.Event.Description = "", ""
		if EscapeMarkdown(counterparty) != "" {
			base.Event.Counterparty = "x"
		}
		if EscapeMarkdown(description) != "" {
			base.Event.Description = "y"
		}

		want, err := e.Render(set, lang, base)
		if err != nil {
			t.Fatalf("baseline: %v", err)
		}
		got, err := e.Render(set, lang, d)
		if err != nil {
			t.Fatalf("Render(%s, %s, %s): %v", set, lang, kind, err)
		}
		if got.Title != want.Title {
			t.Fatalf("title changed: %q, want %q", got.Title, want.Title)
		}
		gotLines, wantLines := strings.Split(got.Text, "\n"), strings.Split(want.Text, "\n")
		if len(gotLines) != len(wantLines) || gotLines[0] != wantLines[0] || gotLines[len(gotLines)-1] != wantLines[len(wantLines)-1] {
			t.Fatalf("provider strings changed the layout:\n%s\nwant the shape of:\n%s", got.Text, want.Text)
		}
		if len(got.Text) > MaxTextBytes {
			t.Fatalf("text is %d bytes", len(got.Text))
		}

		fb, fbBase := Fallback(d, nil), Fallback(base, nil)
		if fb.Title != fbBase.Title || !strings.HasPrefix(fb.Text, "### ") ||
			strings.Count(fb.Text, "\n") != strings.Count(fbBase.Text, "\n") {
			t.Fatalf("fallback layout changed:\n%s\nwant the shape of:\n%s", fb.Text, fbBase.Text)
		}
	})
}

// longDigits matches what EscapeMarkdown must never show: 10 or more
// digits in a row or joined by dashes.
var longDigits = regexp.MustCompile(`\d(?:-?\d){9,}`)

// liveURL matches a URL or www. host name that a client could link.
var liveURL = regexp.MustCompile(`(?i)(https?|ftps?)://|(?:^|[^a-z0-9])www\.[^\s\\]|://[^\s/?#\\]*[a-z0-9]\.[a-z0-9]`)

func FuzzEscapeMarkdown(f *testing.F) {
	for _, s := range []string{"", "*Bob*", "# x", "1. x", "- x", "a\nb", "\u202ex", "\\", "a\xff", strings.Repeat("_", 300),
		"0_0", "_x_", "a & b", "&#8238;", "4111 1111 1111 1111", "GB29 NWBK 6016 1331 9268 19", "123-4-56789-0",
		"https://evil.example/login", "www.evil.example", "[click](https://x)", "ev_06h1qz8w000000000000001234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := EscapeMarkdown(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		if strings.ContainsAny(got, "\n\r\u2028\u2029\u202e\u2066") {
			t.Fatalf("line break or bidi control left in %q", got)
		}
		// Each kept character escapes to at most 5 ("&amp;").
		if n := utf8.RuneCountInString(got); n > 5*MaxFieldRunes {
			t.Fatalf("%d runes", n)
		}
		if got != strings.TrimSpace(got) {
			t.Fatalf("untrimmed %q", got)
		}
		if !isBankbotID(s) {
			rs := []rune(got)
			for _, m := range longDigits.FindAllStringIndex(got, -1) {
				i, j := utf8.RuneCountInString(got[:m[0]]), utf8.RuneCountInString(got[:m[1]])
				if !inHexToken(rs, i, j) {
					t.Fatalf("10 or more digits shown in %q", got)
				}
			}
		}
		if liveURL.MatchString(got) {
			t.Fatalf("live URL in %q", got)
		}
		rs := []rune(got)
		for i := 0; i < len(rs); i++ {
			if rs[i] == '\\' {
				i++ // the escaped character
				if i == len(rs) {
					t.Fatalf("dangling backslash in %q", got)
				}
				continue
			}
			if rs[i] == '&' && !strings.HasPrefix(string(rs[i:]), "&amp;") {
				t.Fatalf("unescaped & in %q", got)
			}
			// The underscore rule (see intraword): only an underscore
			// between two letters or digits may stay unescaped.
			if rs[i] == '_' && intraword(rs, i) {
				continue
			}
			if strings.ContainsRune("*_[]<>~`", rs[i]) {
				t.Fatalf("unescaped %q in %q", rs[i], got)
			}
			if i == 0 && strings.ContainsRune("#>", rs[i]) {
				t.Fatalf("unescaped leading %q in %q", rs[i], got)
			}
		}
	})
}

func FuzzMaskAccount(f *testing.F) {
	for _, s := range []string{"", "1234", "12345", "123-4-56789-0", "**** 4242", "ก๑๒๓๔๕", "----12", " \t", "xxxx1234", "xxxx", "ab1x2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := MaskAccount(s)
		if strings.TrimSpace(s) == "" {
			if got != "" {
				t.Fatalf("MaskAccount(%q) = %q, want empty", s, got)
			}
			return
		}
		rest, ok := strings.CutPrefix(got, maskDots)
		if !ok {
			t.Fatalf("MaskAccount(%q) = %q: no mask", s, got)
		}
		if rest == "" {
			return
		}
		// What shows is 4 letters or digits, the last 4 of s in order.
		rs := []rune(rest)
		if len(rs) != 4 {
			t.Fatalf("MaskAccount(%q) = %q shows too much", s, got)
		}
		src := []rune(s)
		j := len(src)
		for k := 3; k >= 0; k-- {
			r := rs[k]
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				t.Fatalf("MaskAccount(%q) = %q shows %q", s, got, r)
			}
			for j > 0 && src[j-1] != r {
				j--
			}
			if j == 0 {
				t.Fatalf("MaskAccount(%q) = %q shows %q, not from the input", s, got, r)
			}
			j--
		}
	})
}
