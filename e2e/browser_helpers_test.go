package e2e

// Helpers for the browser tests: find Chromium (or skip saying why), start it
// headless with a deadline, and drive one signed-in session per browser
// context (each has its own cookie jar) while watching every page for
// JavaScript dialogs, uncaught exceptions, CSP violations and leaked secrets.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromiumEnv names the browser binary to drive; without it the tests look
// for chromiumNames on PATH.
const chromiumEnv = "BANKBOT_CHROMIUM"

var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome"}

// screenshotsEnv, when set to a directory, makes the console browser test
// save full-page PNGs of the overview and of an event page there.
const screenshotsEnv = "BANKBOT_SCREENSHOTS"

// chromiumPath returns the browser to drive. Without one the test is skipped
// (not failed) with what to install, so that a machine without a browser
// still runs the rest of the suite; .ci/run installs Debian's chromium when
// it can. A BANKBOT_CHROMIUM that names no program is a mistake: it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(chromiumEnv); p != "" {
		path, err := exec.LookPath(p)
		require.NoError(t, err, "%s=%q does not name a browser", chromiumEnv, p)
		return path
	}
	for _, name := range chromiumNames {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skipf("browser test skipped: no Chromium found (%s is not set and none of %s is on PATH). "+
		"Install it with `apt-get install chromium` (Debian/Ubuntu; .ci/run does this when run as root) "+
		"or point %s at a Chrome/Chromium binary", chromiumEnv, strings.Join(chromiumNames, ", "), chromiumEnv)
	return ""
}

// browserTimeout bounds a whole browser test: when it passes, every pending
// browser action returns an error and the browser is killed, so a hung
// browser fails the test instead of hanging CI.
const browserTimeout = 3 * time.Minute

// browser is one headless Chromium process for one test.
type browser struct {
	t       *testing.T
	ctx     context.Context // the browser's first tab; sessions are children
	secrets []string        // text no page may contain
}

// newBrowser starts Chromium headless with a temporary profile. Running as
// root needs --no-sandbox (Chromium refuses to start otherwise).
func newBrowser(t *testing.T, secrets ...string) *browser {
	t.Helper()
	path := chromiumPath(t)
	deadline := time.Now().Add(browserTimeout)
	if d, ok := t.Deadline(); ok && d.Add(-10*time.Second).Before(deadline) {
		deadline = d.Add(-10 * time.Second)
	}
	ctx, cancelTimeout := context.WithDeadline(context.Background(), deadline)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	require.NoError(t, chromedp.Do(bctx), "start %s", path)
	return &browser{t: t, ctx: bctx, secrets: secrets}
}

// session is one tab in its own browser context: its own cookies, so an
// admin and a viewer can be signed in side by side.
type session struct {
	t    *testing.T
	b    *browser
	ctx  context.Context
	base string // http://host:port of the admin listener

	mu       sync.Mutex
	dialogs  []string // JavaScript dialogs that opened (each was dismissed)
	problems []string // uncaught exceptions and CSP violations
}

func (b *browser) session(base string) *session {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	require.NoError(b.t, chromedp.Do(ctx), "open a tab")
	s := &session{t: b.t, b: b, ctx: ctx, base: base}

	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			s.mu.Lock()
			s.dialogs = append(s.dialogs, string(ev.Type)+": "+ev.Message)
			s.mu.Unlock()
			// A dialog blocks the page and every action on it: dismiss it.
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				s.mu.Lock()
				s.problems = append(s.problems, fmt.Sprintf("%s %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text))
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// Dialogs returns the JavaScript dialogs that opened in this session.
func (s *session) Dialogs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.dialogs...)
}

// Problems returns the uncaught exceptions and CSP violations seen so far.
func (s *session) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

// do runs steps with a deadline of d (the browser stays up when it passes).
func (s *session) do(d time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(s.ctx, d)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// stepTimeout bounds one wait for an element: pages come from a local
// server, so an element that is not there by then is not coming.
const stepTimeout = 15 * time.Second

// open loads path (e.g. "/ui/events") and checks the page.
func (s *session) open(path string) {
	s.t.Helper()
	s.load(path)
	s.checkPage()
}

// load loads path without checking the page.
func (s *session) load(path string) {
	s.t.Helper()
	require.NoError(s.t, s.do(stepTimeout, chromedp.Navigate(s.base+path), chromedp.WaitReady(chromedp.CSS("body"))), "open %s", path)
}

// follow runs steps that navigate (a click on a link or a submit button),
// waits for the new page and checks it. It returns the final HTTP status.
func (s *session) follow(what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	require.NoError(s.t, err, "%s: no page loaded", what)
	require.NoError(s.t, s.do(stepTimeout, chromedp.WaitReady(chromedp.CSS("body"))), what)
	s.checkPage()
	return resp.Status
}

// click clicks sel and waits for the page it leads to.
func (s *session) click(sel string) int64 {
	s.t.Helper()
	return s.follow("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// checkPage fails the test when the current page holds a secret or a
// javascript: link, or when a dialog, an uncaught exception or a CSP
// violation happened so far.
func (s *session) checkPage() {
	s.t.Helper()
	html, err := chromedp.Run(s.ctxFor(stepTimeout), chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(s.t, err)
	loc := s.location()
	for _, secret := range s.b.secrets {
		require.NotContains(s.t, html, secret, "a secret is in the page source of %s", loc)
	}
	require.Zero(s.t, s.count(`a[href^="javascript:" i]`), "a javascript: link on %s", loc)
	require.Empty(s.t, s.Dialogs(), "a JavaScript dialog opened (by %s or before)", loc)
	require.Empty(s.t, s.Problems(), "exceptions or CSP violations (by %s or before)", loc)
}

// ctxFor returns a context with deadline d for one action; it is released
// when the test ends.
func (s *session) ctxFor(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(s.ctx, d)
	s.t.Cleanup(cancel)
	return ctx
}

// location returns the current URL.
func (s *session) location() string {
	s.t.Helper()
	loc, err := chromedp.Run(s.ctxFor(stepTimeout), chromedp.Location())
	require.NoError(s.t, err)
	return loc
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](s *session, expr string) T {
	s.t.Helper()
	v, err := chromedp.Run(s.ctxFor(stepTimeout), chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(s.t, err, "evaluate %s", expr)
	return v
}

func jsString(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// count returns how many elements match sel now (no waiting).
func (s *session) count(sel string) int {
	s.t.Helper()
	return eval[int](s, "document.querySelectorAll("+jsString(sel)+").length")
}

// text returns the trimmed text of the first element matching sel, waiting
// for it to appear.
func (s *session) text(sel string) string {
	s.t.Helper()
	v, err := chromedp.Run(s.ctxFor(stepTimeout), chromedp.TextContent(chromedp.CSS(sel)))
	require.NoError(s.t, err, "no %s on %s", sel, s.location())
	return strings.TrimSpace(v)
}

// texts returns the trimmed text of every element matching sel now.
func (s *session) texts(sel string) []string {
	s.t.Helper()
	return eval[[]string](s, "Array.from(document.querySelectorAll("+jsString(sel)+"), e => e.textContent.trim())")
}

// attrs returns attribute name of every element matching sel now.
func (s *session) attrs(sel, name string) []string {
	s.t.Helper()
	return eval[[]string](s, "Array.from(document.querySelectorAll("+jsString(sel)+"), e => e.getAttribute("+jsString(name)+") || '')")
}

// bodyText is what a person reads on the page.
func (s *session) bodyText() string {
	s.t.Helper()
	return eval[string](s, "document.body.innerText")
}

// fill sets an input's value and fires the events a person's typing would.
func (s *session) fill(sel, value string) {
	s.t.Helper()
	require.NoError(s.t, s.do(stepTimeout,
		chromedp.Clear(chromedp.CSS(sel)),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	), "fill %s", sel)
}

// until reloads path until cond holds on it, or fails after timeout.
func (s *session) until(path string, timeout time.Duration, cond func() bool, msg string, args ...any) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.open(path)
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf(msg+" (page %s:\n%s)", append(args, s.location(), s.bodyText())...)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// post sends a form POST from the page with the session's cookies, the way
// a page script would (fetch, same origin), and returns the HTTP status.
// The csrf field is taken from the page, so a refusal is not about CSRF.
func (s *session) post(path string, fields map[string]string) int {
	s.t.Helper()
	csrf := eval[string](s, `(document.querySelector('input[name=csrf]') || {value: ''}).value`)
	require.NotEmpty(s.t, csrf, "no csrf input on %s to post with", s.location())
	form := map[string]string{"csrf": csrf}
	for k, v := range fields {
		form[k] = v
	}
	b, _ := json.Marshal(form)
	return eval[int](s, `fetch(`+jsString(path)+`, {method: 'POST', credentials: 'same-origin', redirect: 'manual',
		body: new URLSearchParams(`+string(b)+`)}).then(r => r.type === 'opaqueredirect' ? 303 : r.status)`)
}

// screenshot saves a full-page PNG of the current page as DIR/name when
// BANKBOT_SCREENSHOTS=DIR is set.
func (s *session) screenshot(name string) {
	s.t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return
	}
	png, err := chromedp.Run(s.ctxFor(stepTimeout), chromedp.FullScreenshot(100))
	require.NoError(s.t, err)
	require.NoError(s.t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name)
	require.NoError(s.t, os.WriteFile(path, png, 0o644))
	s.t.Logf("screenshot of %s saved to %s", s.location(), path)
}
