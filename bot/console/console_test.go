package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMarkdown(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"heading and bold", "### ✅ Paid: **THB 50.00**", "<h5>✅ Paid: <strong>THB 50.00</strong></h5>\n"},
		{"list", "- **Ref:** chrg_test_abc\n- two", "<ul>\n<li><strong>Ref:</strong> chrg_test_abc</li>\n<li>two</li>\n</ul>\n"},
		{"ordered", "1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n"},
		{"line breaks", "a\nb\n\nc", "<p>a<br>\nb</p>\n<p>c</p>\n"},
		{"quote", "> note", "<blockquote>note</blockquote>\n"},
		{"emphasis", "an *em* and _em_ word", "<p>an <em>em</em> and <em>em</em> word</p>\n"},
		{"escapes", `\*not bold\* a\_b \<x\>`, "<p>*not bold* a_b &lt;x&gt;</p>\n"},
		{"html is text", `<script>alert(1)</script><font color=red>x</font>`, "<p>&lt;script&gt;alert(1)&lt;/script&gt;&lt;font color=red&gt;x&lt;/font&gt;</p>\n"},
		{"javascript link is text", `[click](javascript:alert(1))`, `<p><span class="md-link">click</span> <span class="md-href">(javascript:alert(1)</span>)</p>` + "\n"},
		{"link", `[docs](https://example.test/a?b=1&c="2")`, `<p><span class="md-link">docs</span> <span class="md-href">(https://example.test/a?b=1&amp;c=&#34;2&#34;)</span></p>` + "\n"},
		{"image", `![x" onerror="a](https://e.test/i.png)`, `<p><span class="md-image">x&#34; onerror=&#34;a</span> <span class="md-href">(https://e.test/i.png)</span></p>` + "\n"},
		{"entities decoded once", "a &amp;lt; b &amp; c", "<p>a &amp;lt; b &amp; c</p>\n"},
		{"code", "`<b>`", "<p><code>&lt;b&gt;</code></p>\n"},
		{"rule", "---", "<hr>\n"},
		{"unclosed", "**a *b [c](d", "<p>**a *b [c](d</p>\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, string(Markdown(tc.in)))
		})
	}
	// Whatever the input, no tag but the renderer's own comes out.
	tag := regexp.MustCompile(`<(/?)([a-z0-9]+)`)
	allowed := map[string]bool{"h3": true, "h4": true, "h5": true, "h6": true, "p": true, "br": true, "ul": true, "ol": true, "li": true,
		"blockquote": true, "strong": true, "em": true, "code": true, "span": true, "hr": true}
	for _, in := range []string{"<a href=x>y</a>", "**<img src=x>**", "[<svg onload=1>](x)", "`a`<iframe>", "_<b>_", "\\<a>", "&lt;script&gt;", "&#60;script&#62;"} {
		for _, m := range tag.FindAllStringSubmatch(string(Markdown(in)), -1) {
			require.True(t, allowed[m[2]], "%q gave a <%s> tag: %s", in, m[2], Markdown(in))
		}
	}
}

func TestSessions(t *testing.T) {
	s := Settings{AdminToken: "admin-token", ViewerToken: "viewer-token", SessionTTL: time.Hour}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	v := newSession(s, RoleViewer, now.Add(time.Hour))
	ss, ok := parseSession(s, v, now)
	require.True(t, ok)
	require.Equal(t, RoleViewer, ss.role)
	_, ok = parseSession(s, v, now.Add(time.Hour))
	require.False(t, ok, "expired")

	// Tampering with any part breaks the MAC.
	parts := strings.Split(v, ".")
	for i, forged := range []string{
		"admin." + strings.Join(parts[1:], "."),
		parts[0] + ".99999999999." + strings.Join(parts[2:], "."),
		strings.Join(parts[:3], ".") + ".AAAA",
		strings.Join(parts[:3], "."),
		"",
	} {
		_, ok := parseSession(s, forged, now)
		require.False(t, ok, "forgery %d: %q", i, forged)
	}
	// A token change ends its sessions, and only its.
	a := newSession(s, RoleAdmin, now.Add(time.Hour))
	s2 := s
	s2.ViewerToken = "viewer-token-2"
	_, ok = parseSession(s2, v, now)
	require.False(t, ok)
	_, ok = parseSession(s2, a, now)
	require.True(t, ok)
	s2.ViewerToken = ""
	_, ok = parseSession(s2, v, now)
	require.False(t, ok, "no viewer token: no viewer session")

	// CSRF tokens are per session.
	a2 := newSession(s, RoleAdmin, now.Add(time.Hour))
	sa, _ := parseSession(s, a, now)
	sa2, _ := parseSession(s, a2, now)
	require.NotEqual(t, s.csrfToken(sa), s.csrfToken(sa2))

	role, ok := s.checkToken("viewer-token")
	require.True(t, ok)
	require.Equal(t, RoleViewer, role)
	for _, bad := range []string{"", "admin-token ", "admin-toke", "viewer-token2"} {
		_, ok := s.checkToken(bad)
		require.False(t, ok, bad)
	}
	_, ok = Settings{AdminToken: "x"}.checkToken("")
	require.False(t, ok, "an empty viewer token never matches")
}

func TestSigninLimiter(t *testing.T) {
	l := newSigninLimiter()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for range signinFailures {
		blocked, _ := l.blocked("a", now)
		require.False(t, blocked)
		l.fail("a", now)
	}
	blocked, until := l.blocked("a", now.Add(time.Minute))
	require.True(t, blocked)
	require.Equal(t, now.Add(signinWindow), until)
	blocked, _ = l.blocked("a", now.Add(signinWindow))
	require.False(t, blocked, "the window ended")
	l.fail("b", now)
	l.succeed("b")
	require.Empty(t, l.clients["b"])

	// Full: new clients share the overflow entry, and are limited together.
	l = newSigninLimiter()
	for i := range signinClients {
		l.clients[string(rune(i+1000))] = &signinCount{start: now, failures: 1}
	}
	for range signinFailures {
		l.fail("new-1", now)
	}
	blocked, _ = l.blocked("new-2", now)
	require.True(t, blocked, "a flood of addresses is limited, not let through")
	// Expired entries make room again.
	later := now.Add(signinWindow)
	l.fail("new-3", later)
	blocked, _ = l.blocked("new-2", later)
	require.False(t, blocked)
}

func TestChart(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c := Chart{Start: start, Series: []Series{{Source: "a", Counts: []int{1, 0, 3}}, {Source: "b", Counts: []int{2, 0, 0}}}}
	l := c.layout(time.UTC)
	require.Equal(t, 6, l.Total)
	require.Equal(t, 3, l.Max)
	require.Len(t, l.Bars, 3, "no bar for a zero count")
	// The bars of one hour stack: b sits on a.
	require.Equal(t, l.Bars[0].Y, l.Bars[1].Y+l.Bars[1].H)
	require.Equal(t, "c1", l.Bars[1].Class)
	require.Equal(t, "00:00 b: 2", l.Bars[1].Title)
	for _, b := range l.Bars {
		require.GreaterOrEqual(t, b.Y, 10)
		require.LessOrEqual(t, b.Y+b.H, 10+l.PlotH)
	}
	require.Equal(t, []int{2, 2, 5, 10, 10, 20, 50, 100}, []int{niceCeil(0), niceCeil(2), niceCeil(3), niceCeil(6), niceCeil(10), niceCeil(11), niceCeil(42), niceCeil(100)})
	require.Empty(t, Chart{}.layout(time.UTC).Bars)
}

// TestTexts: every key a template uses has both languages.
func TestTexts(t *testing.T) {
	keyRE := regexp.MustCompile(`\.T "([a-z.]+)"`)
	used := 0
	err := fs.WalkDir(files, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			used++
			tx, ok := texts[m[1]]
			require.True(t, ok, "%s: no text %q", path, m[1])
			require.NotEmpty(t, tx[0], m[1])
			require.NotEmpty(t, tx[1], m[1])
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, used, 50)
	for _, s := range []string{"ok", "paused", "misconfigured", "failing"} {
		require.Contains(t, texts, "state."+s)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/events?q=1": "/ui/events?q=1", "": "/ui/", "//evil.example/ui/": "/ui/", "https://evil.example/ui/": "/ui/",
		"/ui/\\evil": "/ui/", "/admin/": "/ui/", "/ui/x\r\nSet-Cookie: a=b": "/ui/",
	} {
		require.Equal(t, want, safeNext(in), in)
	}
}
