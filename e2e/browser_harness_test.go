package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBrowser_HarnessSeesDialogsAndCSPViolations proves that the watchers
// the console browser test relies on ("no dialog fired", "no CSP
// violation") do see what they look for: an inline alert on a page without
// a CSP opens a dialog, and an inline script on a page whose CSP forbids it
// is reported as a violation.
func TestBrowser_HarnessSeesDialogsAndCSPViolations(t *testing.T) {
	b := newBrowser(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/open", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>t</title><p id=x>hi</p><script>alert('harness-dialog')</script>`)
	})
	mux.HandleFunc("/csp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'")
		fmt.Fprint(w, `<!doctype html><title>t</title><p id=x>hi</p><script>document.title='ran'</script>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	s := b.session(srv.URL)
	s.load("/open")
	waitFor(t, func() bool { return len(s.Dialogs()) > 0 }, "the alert of /open was not seen")
	require.Contains(t, s.Dialogs()[0], "harness-dialog")
	require.Equal(t, "hi", s.text("#x"), "the page still answers after the dialog was dismissed")

	c := b.session(srv.URL)
	c.load("/csp")
	waitFor(t, func() bool { return len(c.Problems()) > 0 }, "the CSP violation of /csp was not seen")
	require.Contains(t, strings.Join(c.Problems(), "\n"), "Content Security Policy")
	require.Equal(t, "t", eval[string](c, "document.title"), "the inline script did not run")
	require.Empty(t, c.Dialogs())
}

func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	eventually(t, 10*time.Second, cond, "%s", msg)
}
