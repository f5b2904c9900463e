package console

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// consoleTags are the only tags Markdown may write; everything from the
// input reaches the page escaped.
var (
	anyTag      = regexp.MustCompile(`<(/?)([^\s>/]*)`)
	tagText     = regexp.MustCompile(`<[^>]*>`)
	consoleTags = map[string]bool{"h3": true, "h4": true, "h5": true, "h6": true, "p": true, "br": true, "ul": true, "ol": true,
		"li": true, "blockquote": true, "strong": true, "em": true, "code": true, "span": true, "hr": true}
)

// FuzzMarkdown: provider text is hostile. Whatever it holds, the rendered
// HTML has no tag but the renderer's own, no attribute that could run
// script or link, and valid UTF-8 in makes valid UTF-8 out.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"### ✅ Payment received: THB 1,234.56\n\n- **Reference:** chrg_test_x\n> quoted",
		"<script>alert(1)</script>", "[click](javascript:alert(1))", "![x](http://e/x.png)",
		"**<img src=x onerror=alert(1)>**", "&lt;script&gt;", "&#60;svg onload=1&#62;", "`<b>`", "\\<a>",
		"1. one\n2. two\n\n---\n#### h", "_a_b_ *c* **d**", "<font color=red>x</font>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := string(Markdown(in))
		for _, m := range anyTag.FindAllStringSubmatch(out, -1) {
			require.True(t, consoleTags[m[2]], "%q gave a <%s> tag: %s", in, m[2], out)
		}
		// Inside the renderer's tags: no attribute that links or runs
		// script (the text between tags is escaped, so it may say src=).
		for _, m := range tagText.FindAllString(strings.ToLower(out), -1) {
			for _, bad := range []string{"href=", "src=", " on", "style=", "javascript:"} {
				require.NotContains(t, m, bad, "%q: %s in %s", in, bad, m)
			}
		}
	})
}

// FuzzParseSession: a cookie value is attacker input. Only a value the
// console signed, unexpired, is a session; nothing else ever is, and nothing
// panics.
func FuzzParseSession(f *testing.F) {
	s := Settings{AdminToken: "admin-token-0123456789", ViewerToken: "viewer-token-0123456789", SessionTTL: time.Hour}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	good := newSession(s, RoleAdmin, now.Add(time.Hour))
	f.Add(good)
	f.Add(newSession(s, RoleViewer, now.Add(time.Hour)))
	f.Add(newSession(s, RoleAdmin, now.Add(-time.Second)))
	f.Add("admin.9999999999.x.y")
	f.Add("")
	f.Add("...")
	f.Fuzz(func(t *testing.T, v string) {
		ss, ok := parseSession(s, v, now)
		if !ok {
			require.Equal(t, session{}, ss)
			return
		}
		// Accepted: it must be one the console signed, for a role with a
		// token, unexpired; its payload is the value without the MAC.
		require.Contains(t, []Role{RoleAdmin, RoleViewer}, ss.role)
		require.True(t, strings.HasPrefix(v, ss.payload+"."))
		i := strings.LastIndexByte(v, '.')
		require.Equal(t, mac(sessionKey(s.tokenFor(ss.role)), "session", v[:i]), v[i+1:])
	})
}
