package bot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/console"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
	"github.com/bankbot/bankbot/store"
)

// The web console on the admin listener, end to end through adminRouter:
// sign-in, sessions, CSRF, the viewer, escaping and secrets.

const (
	consoleAdmin  = "ADMINconsoleToken-9f8e7d6c5b4a"
	consoleViewer = "VIEWERconsoleToken-1a2b3c4d5e6f"
	consoleHost   = "admin.example.test"
)

// consoleApp is a test app with both console tokens and a DingTalk robot.
type consoleApp struct {
	*testApp
	dt   *dingtalktest.Server
	cfg  testConfig
	yaml string
}

// consoleYAML is cfg's YAML with the viewer token (and ttl) added.
func consoleYAML(cfg testConfig, viewer string) string {
	return strings.Replace(cfg.yaml(), fmt.Sprintf("  token: %q\n", cfg.adminToken),
		fmt.Sprintf("  token: %q\n  viewer_token: %q\n  session_ttl: 2h\n", cfg.adminToken, viewer), 1)
}

const (
	consoleDTToken  = "TOKENconsole0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f"
	consoleDTSecret = "SECconsoleQ1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l"
)

func newConsoleApp(t *testing.T) *consoleApp {
	t.Helper()
	clock := newFakeClock(t0)
	dt := dingtalktest.New(t, dingtalktest.Options{Token: consoleDTToken, Secret: consoleDTSecret, Now: clock.Now})
	cfg := testConfig{adminToken: consoleAdmin, robots: dt.RobotYAML("dt"), routes: "  - name: all\n    robot: dt\n    language: en\n"}
	dir := t.TempDir()
	path := dir + "/config.yaml"
	y := consoleYAML(cfg, consoleViewer)
	writeFile(t, path, y)
	return &consoleApp{testApp: openTestApp(t, dir, path, clock), dt: dt, cfg: cfg, yaml: y}
}

// do sends a request to the admin listener as a browser at consoleHost.
func (ca *consoleApp) do(t *testing.T, method, path string, form url.Values, edit func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, "http://"+consoleHost+path, body)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://"+consoleHost)
	}
	if edit != nil {
		edit(req)
	}
	rec := httptest.NewRecorder()
	ca.adminRouter().ServeHTTP(rec, req)
	return rec
}

// signIn signs in with token and returns the session cookie.
func (ca *consoleApp) signIn(t *testing.T, token string) *http.Cookie {
	t.Helper()
	rec := ca.do(t, http.MethodPost, "/ui/signin", url.Values{"token": {token}, "next": {"/ui/events"}}, nil)
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Equal(t, "/ui/events", rec.Header().Get("Location"))
	for _, c := range rec.Result().Cookies() {
		if c.Name == "bankbot_session" {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func withCookie(c *http.Cookie) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(c) }
}

func withBearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of a page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	require.NotNil(t, m, "no csrf field in the page")
	return m[1]
}

// actionClassRE finds an element whose class list holds "action".
var actionClassRE = regexp.MustCompile(`class="([^"]* )?action( [^"]*)?"`)

// consolePages are every read page (an event id is filled in).
func consolePages(eventID string) []string {
	return []string{"/ui/", "/ui/events", "/ui/events?q=chrg_test_evnt_console", "/ui/events/" + eventID,
		"/ui/deadletters", "/ui/actions", "/ui/preview", "/ui/preview?template=default&kind=payment.failed&language=th",
		"/ui/events?lang=th", "/ui/?lang=th"}
}

// consoleActions are every state-changing POST with a valid form.
func consoleActions(eventID string, deadID int64) map[string]url.Values {
	return map[string]url.Values{
		"/ui/actions/reload":      {},
		"/ui/actions/replay":      {"event": {eventID}},
		"/ui/actions/test":        {"robot": {"dt"}},
		"/ui/deadletters/retry":   {"id": {fmt.Sprint(deadID)}},
		"/ui/deadletters/retry#2": {"all": {"1"}, "confirm": {"1"}},
	}
}

// deadLetter stores an event and dead-letters its delivery to dt.
func (ca *consoleApp) deadLetter(t *testing.T, id string) (string, int64) {
	t.Helper()
	ctx := context.Background()
	evID := ca.postCharge(t, id, 123456, "THB", "dead one")
	ca.route(t)
	now := ca.clock.Now()
	ds, err := ca.store.ClaimDeliveries(ctx, store.Claim{Robot: "dt", Owner: "test", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
	require.NoError(t, err)
	var dead int64
	for _, d := range ds {
		if d.EventID == evID {
			dead = d.ID
			require.NoError(t, ca.store.DeadLetter(ctx, d.ID, store.Attempt{At: now, Reason: "config", Error: "dingtalk: errcode 310000: sign not match"}))
		} else {
			require.NoError(t, ca.store.ReleaseDelivery(ctx, d.ID, now))
		}
	}
	require.NotZero(t, dead)
	return evID, dead
}

func TestConsoleAuth(t *testing.T) {
	ca := newConsoleApp(t)
	tests := []struct {
		name     string
		path     string
		edit     func(*http.Request)
		status   int
		location string
	}{
		{"html without session goes to sign-in", "/ui/events?q=x", nil, http.StatusSeeOther, "/ui/signin?next=%2Fui%2Fevents%3Fq%3Dx"},
		{"api without session is 401", "/ui/events", func(r *http.Request) { r.Header.Set("Accept", "application/json") }, http.StatusUnauthorized, ""},
		{"wrong bearer is 401", "/ui/", withBearer("nope"), http.StatusUnauthorized, ""},
		{"admin bearer", "/ui/", withBearer(consoleAdmin), http.StatusOK, ""},
		{"viewer bearer", "/ui/", withBearer(consoleViewer), http.StatusOK, ""},
		{"forged cookie", "/ui/", withCookie(&http.Cookie{Name: "bankbot_session", Value: "admin.99999999999.x.y"}), http.StatusSeeOther, "/ui/signin?next=%2Fui%2F"},
		{"sign-in page is open", "/ui/signin", nil, http.StatusOK, ""},
		{"static is open", "/ui/static/console.css", nil, http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := ca.do(t, http.MethodGet, tc.path, nil, tc.edit)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Equal(t, tc.location, rec.Header().Get("Location"))
			require.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"))
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			require.Equal(t, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
				rec.Header().Get("Content-Security-Policy"))
			if !strings.HasPrefix(tc.path, "/ui/static/") {
				require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			}
		})
	}

	// The console is off without admin.token.
	off := newTestApp(t, testConfig{})
	rec := httptest.NewRecorder()
	off.adminRouter().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/signin", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
}

func TestConsoleSignIn(t *testing.T) {
	ca := newConsoleApp(t)

	// A wrong token is refused and says so.
	rec := ca.do(t, http.MethodPost, "/ui/signin", url.Values{"token": {"wrong"}}, nil)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Contains(t, rec.Body.String(), `id="signin-error"`)
	require.Empty(t, rec.Result().Cookies())

	// A sign-in from another site is refused, the right token included.
	rec = ca.do(t, http.MethodPost, "/ui/signin", url.Values{"token": {consoleAdmin}}, func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") })
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Empty(t, rec.Result().Cookies())

	// The right one sets an HttpOnly, SameSite=Strict cookie that expires
	// with admin.session_ttl, Secure behind a TLS proxy.
	rec = ca.do(t, http.MethodPost, "/ui/signin", url.Values{"token": {consoleAdmin}, "next": {"//evil.example/x"}},
		func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") })
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/ui/", rec.Header().Get("Location"), "next is never another site")
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	require.True(t, c.HttpOnly)
	require.True(t, c.Secure)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Equal(t, 7200, c.MaxAge)
	require.NotContains(t, c.Value, consoleAdmin)

	page := ca.do(t, http.MethodGet, "/ui/", nil, withCookie(c))
	require.Equal(t, http.StatusOK, page.Code)
	require.Regexp(t, `id="whoami">[^<]*admin`, page.Body.String())

	// The session survives a restart (another App on the same config).
	again := openTestApp(t, ca.dir, ca.cfgPath, ca.clock)
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://"+consoleHost+"/ui/", nil)
	req.AddCookie(c)
	again.adminRouter().ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)

	// It expires with the ttl.
	ca.clock.Advance(2*time.Hour + time.Second)
	rec = ca.do(t, http.MethodGet, "/ui/", nil, withCookie(c))
	require.Equal(t, http.StatusSeeOther, rec.Code)

	// Changing the token in the config ends every session at once.
	c = ca.signIn(t, consoleAdmin)
	vc := ca.signIn(t, consoleViewer)
	require.Equal(t, http.StatusOK, ca.do(t, http.MethodGet, "/ui/", nil, withCookie(c)).Code)
	writeFile(t, ca.cfgPath, strings.Replace(ca.yaml, consoleAdmin, consoleAdmin+"-rotated", 1))
	_, err := ca.Reload("test")
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, ca.do(t, http.MethodGet, "/ui/", nil, withCookie(c)).Code, "the admin session died with its token")
	require.Equal(t, http.StatusOK, ca.do(t, http.MethodGet, "/ui/", nil, withCookie(vc)).Code, "the viewer's token did not change")

	// Signing out drops the cookie.
	page = ca.do(t, http.MethodGet, "/ui/", nil, withCookie(vc))
	rec = ca.do(t, http.MethodPost, "/ui/signout", url.Values{"csrf": {csrfOf(t, page.Body.String())}}, withCookie(vc))
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, -1, rec.Result().Cookies()[0].MaxAge)
}

func TestConsoleSignInRateLimit(t *testing.T) {
	ca := newConsoleApp(t)
	from := func(ip string) func(*http.Request) { return func(r *http.Request) { r.RemoteAddr = ip + ":5000" } }
	for i := range 10 {
		rec := ca.do(t, http.MethodPost, "/ui/signin", url.Values{"token": {fmt.Sprintf("guess-%d", i)}}, from("198.51.100.7"))
		require.Equal(t, http.StatusUnauthorized, rec.Code, "attempt %d", i+1)
	}
	// The 11th is refused, the right token too, until the window ends.
	rec := ca.do(t, http.MethodPost, "/ui/signin", url.Values{"token": {consoleAdmin}}, from("198.51.100.7"))
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Body.String(), `id="signin-error"`)
	require.Empty(t, rec.Result().Cookies())
	// Another address is not limited.
	rec = ca.do(t, http.MethodPost, "/ui/signin", url.Values{"token": {consoleAdmin}}, from("198.51.100.8"))
	require.Equal(t, http.StatusSeeOther, rec.Code)
	// After the window the first address may try again.
	ca.clock.Advance(15 * time.Minute)
	rec = ca.do(t, http.MethodPost, "/ui/signin", url.Values{"token": {consoleAdmin}}, from("198.51.100.7"))
	require.Equal(t, http.StatusSeeOther, rec.Code)
}

func TestConsoleCSRF(t *testing.T) {
	ca := newConsoleApp(t)
	c := ca.signIn(t, consoleAdmin)
	page := ca.do(t, http.MethodGet, "/ui/actions", nil, withCookie(c)).Body.String()
	token := csrfOf(t, page)
	other := csrfOf(t, ca.do(t, http.MethodGet, "/ui/actions", nil, withCookie(ca.signIn(t, consoleAdmin))).Body.String())
	require.NotEqual(t, token, other, "the token is bound to the session")

	tests := []struct {
		name   string
		form   url.Values
		edit   func(*http.Request)
		status int
	}{
		{"no token", url.Values{}, nil, http.StatusForbidden},
		{"wrong token", url.Values{"csrf": {"x" + token}}, nil, http.StatusForbidden},
		{"another session's token", url.Values{"csrf": {other}}, nil, http.StatusForbidden},
		{"foreign origin", url.Values{"csrf": {token}}, func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }, http.StatusForbidden},
		{"foreign referer", url.Values{"csrf": {token}}, func(r *http.Request) {
			r.Header.Del("Origin")
			r.Header.Set("Referer", "http://evil.example/ui/actions")
		}, http.StatusForbidden},
		{"no origin nor referer", url.Values{"csrf": {token}}, func(r *http.Request) { r.Header.Del("Origin") }, http.StatusForbidden},
		{"same-host referer", url.Values{"csrf": {token}}, func(r *http.Request) {
			r.Header.Del("Origin")
			r.Header.Set("Referer", "http://"+consoleHost+"/ui/actions")
		}, http.StatusOK},
		{"good", url.Values{"csrf": {token}}, nil, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			edit := func(r *http.Request) {
				r.AddCookie(c)
				if tc.edit != nil {
					tc.edit(r)
				}
			}
			rec := ca.do(t, http.MethodPost, "/ui/actions/reload", tc.form, edit)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.status == http.StatusOK {
				require.Contains(t, rec.Body.String(), `id="flash"`)
				require.Contains(t, rec.Body.String(), "config unchanged")
			}
		})
	}
	// A Bearer request needs no CSRF token, but a foreign origin is refused.
	require.Equal(t, http.StatusOK, ca.do(t, http.MethodPost, "/ui/actions/reload", url.Values{}, func(r *http.Request) {
		r.Header.Del("Origin")
		withBearer(consoleAdmin)(r)
	}).Code)
	require.Equal(t, http.StatusForbidden, ca.do(t, http.MethodPost, "/ui/actions/reload", url.Values{}, func(r *http.Request) {
		r.Header.Set("Origin", "http://evil.example")
		withBearer(consoleAdmin)(r)
	}).Code)
}

func TestConsoleViewerCannotAct(t *testing.T) {
	ca := newConsoleApp(t)
	evID, deadID := ca.deadLetter(t, "evnt_console")
	vc := ca.signIn(t, consoleViewer)
	ac := ca.signIn(t, consoleAdmin)

	for _, path := range consolePages(evID) {
		// The admin sees action controls where there are some; the
		// viewer sees none, anywhere.
		rec := ca.do(t, http.MethodGet, path, nil, withCookie(vc))
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", path, rec.Body.String())
		require.False(t, actionClassRE.MatchString(rec.Body.String()), "%s: the viewer's page has an action: %s", path, actionClassRE.FindString(rec.Body.String()))
		require.Regexp(t, `id="whoami">[^<]*viewer`, rec.Body.String())
	}
	for _, path := range []string{"/ui/deadletters", "/ui/actions", "/ui/events/" + evID} {
		rec := ca.do(t, http.MethodGet, path, nil, withCookie(ac))
		require.True(t, actionClassRE.MatchString(rec.Body.String()), "%s: the admin's page has actions", path)
	}
	require.Equal(t, http.StatusForbidden, ca.do(t, http.MethodGet, "/ui/deadletters/retry-all", nil, withCookie(vc)).Code)

	token := csrfOf(t, ca.do(t, http.MethodGet, "/ui/", nil, withCookie(vc)).Body.String())
	for path, form := range consoleActions(evID, deadID) {
		path = strings.Split(path, "#")[0]
		form.Set("csrf", token)
		rec := ca.do(t, http.MethodPost, path, form, withCookie(vc))
		require.Equal(t, http.StatusForbidden, rec.Code, "%s", path)
		rec = ca.do(t, http.MethodPost, path, form, func(r *http.Request) { withBearer(consoleViewer)(r) })
		require.Equal(t, http.StatusForbidden, rec.Code, "%s with a viewer bearer", path)
	}
	d, err := ca.store.GetDelivery(context.Background(), deadID)
	require.NoError(t, err)
	require.Equal(t, store.StatusDead, d.Status, "nothing the viewer sent acted")
	require.Empty(t, ca.dt.Messages(), "no test message went out")
}

func TestConsoleEscapesAndHidesSecrets(t *testing.T) {
	ca := newConsoleApp(t)
	hostile := `<script>alert(1)</script> [click](javascript:alert(2)) <img src=x onerror=alert(3)> 4111 1111 1111 1111`
	evID := ca.postCharge(t, "evnt_console", 123456, "THB", hostile)
	ca.route(t)
	_, deadID := ca.deadLetter(t, "evnt_console_dead")

	ac := ca.signIn(t, consoleAdmin)
	secrets := []string{consoleAdmin, consoleViewer, consoleDTToken, consoleDTSecret, keyA, "key-A-for-bankbot-unit-tests"}
	pages := consolePages(evID)
	var all strings.Builder
	for _, path := range pages {
		for _, edit := range []func(*http.Request){withCookie(ac), withBearer(consoleAdmin), withBearer(consoleViewer)} {
			rec := ca.do(t, http.MethodGet, path, nil, edit)
			require.Equal(t, http.StatusOK, rec.Code, path)
			all.WriteString(rec.Body.String())
		}
	}
	token := csrfOf(t, ca.do(t, http.MethodGet, "/ui/", nil, withCookie(ac)).Body.String())
	for path, form := range consoleActions(evID, deadID) {
		form.Set("csrf", token)
		rec := ca.do(t, http.MethodPost, strings.Split(path, "#")[0], form, withCookie(ac))
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", path, rec.Body.String())
		all.WriteString(rec.Body.String())
	}
	body := all.String()
	for _, s := range secrets {
		require.NotContains(t, body, s, "a secret is in a page")
	}
	require.NotContains(t, body, "<script>alert", "provider text is escaped")
	require.NotContains(t, body, "<img src=x")
	require.NotContains(t, body, `href="javascript:`)
	require.NotContains(t, body, "4111 1111 1111 1111", "card numbers are masked")
	require.Regexp(t, `<script src="/ui/static/copy.js"></script>`, body, "the only script is the pinned file")
	require.Equal(t, 0, strings.Count(body, "<script>"), "no inline script")

	ev := ca.do(t, http.MethodGet, "/ui/events/"+evID, nil, withCookie(ac)).Body.String()
	require.Contains(t, ev, "&lt;script&gt;alert(1)&lt;/script&gt;", "the description shows as text")
	require.Contains(t, ev, `<dd id="amount">THB 1,234.56</dd>`, "the amount as the message prints it")
	require.Contains(t, ev, "✅ Payment received: THB 1,234.56", "the message as rendered")
	require.Contains(t, ev, `data-status="pending"`)
	require.Contains(t, ev, "••••1111")
}

func TestConsoleOverview(t *testing.T) {
	ca := newConsoleApp(t)
	ca.postCharge(t, "evnt_console", 5000, "THB", "x")
	// One rejected webhook (wrong key) counts in the last hour.
	r := serve(t, ca.hookRouter(), hookRequest(t, "opn", keyC, ca.clock.Now(), charge("evnt_bad", 1, "THB", "x")))
	require.Equal(t, http.StatusUnauthorized, r.Code)
	_, _, err := ca.store.SetRobotState(context.Background(), "dt", stateMisconfigured, "DingTalk answered errcode 310000: sign not match", ca.clock.Now())
	require.NoError(t, err)

	page := ca.do(t, http.MethodGet, "/ui/", nil, withBearer(consoleViewer)).Body.String()
	require.Contains(t, page, `<tr class="source" data-source="opn">`)
	require.Contains(t, page, r.Error+": 1")
	require.Contains(t, page, `<tr class="robot" data-robot="dt" data-state="misconfigured">`)
	require.Regexp(t, `class="robot-hint">[^<]*robots\.dt`, page, "the fix hint names the robot's keys")
	require.Contains(t, page, `<svg id="events-chart"`)
	require.Contains(t, page, "<rect class=\"c0\"")
	require.Contains(t, page, `id="config-hash">`+ca.runtime.Load().Config.Hash[:12])
	require.Contains(t, page, `id="version">test<`)
	th := ca.do(t, http.MethodGet, "/ui/?lang=th", nil, withBearer(consoleViewer))
	require.Contains(t, th.Body.String(), "ตั้งค่าไม่ถูกต้อง")
	require.Contains(t, th.Body.String(), `id="lang-switch" href="/ui/?lang=en"`)
	var langCookie bool
	for _, c := range th.Result().Cookies() {
		langCookie = langCookie || (c.Name == "bankbot_lang" && c.Value == "th")
	}
	require.True(t, langCookie)
}

func TestConsoleRetryDeadLetters(t *testing.T) {
	ca := newConsoleApp(t)
	_, one := ca.deadLetter(t, "evnt_one")
	_, two := ca.deadLetter(t, "evnt_two")
	_, three := ca.deadLetter(t, "evnt_three")
	ac := ca.signIn(t, consoleAdmin)
	page := ca.do(t, http.MethodGet, "/ui/deadletters", nil, withCookie(ac)).Body.String()
	require.Contains(t, page, fmt.Sprintf(`<tr class="deadletter" data-delivery-id="%d" data-robot="dt">`, one))
	token := csrfOf(t, page)
	status := func(id int64) string {
		d, err := ca.store.GetDelivery(context.Background(), id)
		require.NoError(t, err)
		return d.Status
	}

	rec := ca.do(t, http.MethodPost, "/ui/deadletters/retry", url.Values{"csrf": {token}, "id": {fmt.Sprint(one)}}, withCookie(ac))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "1 of 1 deliveries requeued")
	require.Equal(t, store.StatusPending, status(one))
	require.Equal(t, store.StatusDead, status(two))

	// Retry all asks first.
	rec = ca.do(t, http.MethodPost, "/ui/deadletters/retry", url.Values{"csrf": {token}, "all": {"1"}}, withCookie(ac))
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/ui/deadletters/retry-all", rec.Header().Get("Location"))
	require.Equal(t, store.StatusDead, status(two))
	confirm := ca.do(t, http.MethodGet, "/ui/deadletters/retry-all", nil, withCookie(ac)).Body.String()
	require.Contains(t, confirm, `id="confirm-retry-all"`)
	rec = ca.do(t, http.MethodPost, "/ui/deadletters/retry", url.Values{"csrf": {csrfOf(t, confirm)}, "all": {"1"}, "confirm": {"1"}}, withCookie(ac))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "2 of 2 deliveries requeued")
	require.Equal(t, store.StatusPending, status(two))
	require.Equal(t, store.StatusPending, status(three))

	// A delivery that is not dead is refused, and says why.
	rec = ca.do(t, http.MethodPost, "/ui/deadletters/retry", url.Values{"csrf": {token}, "id": {fmt.Sprint(one)}}, withCookie(ac))
	require.Contains(t, rec.Body.String(), "not dead")
	require.Contains(t, rec.Body.String(), `class="flash bad"`)
}

func TestConsoleTestMessageAndReplay(t *testing.T) {
	ca := newConsoleApp(t)
	ac := ca.signIn(t, consoleAdmin)
	token := csrfOf(t, ca.do(t, http.MethodGet, "/ui/actions", nil, withCookie(ac)).Body.String())

	rec := ca.do(t, http.MethodPost, "/ui/actions/test", url.Values{"csrf": {token}, "robot": {"dt"}}, withCookie(ac))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "ok: robots.dt accepted the test message (errcode 0)")
	require.Len(t, ca.dt.Messages(), 1)

	ca.dt.Script(dingtalktest.Response{ErrCode: 310000, ErrMsg: "sign not match"})
	rec = ca.do(t, http.MethodPost, "/ui/actions/test", url.Values{"csrf": {token}, "robot": {"dt"}}, withCookie(ac))
	require.Contains(t, rec.Body.String(), "errcode 310000")
	require.Contains(t, rec.Body.String(), "fix: ")
	require.Contains(t, rec.Body.String(), `class="flash bad"`)

	evID := ca.postCharge(t, "evnt_replay", 5000, "THB", "x")
	ca.route(t)
	rec = ca.do(t, http.MethodPost, "/ui/actions/replay", url.Values{"csrf": {token}, "event": {"evnt_replay"}}, withCookie(ac))
	require.Contains(t, rec.Body.String(), "event "+evID+": 1 deliveries requeued")
	rec = ca.do(t, http.MethodPost, "/ui/actions/replay", url.Values{"csrf": {token}, "event": {"nope"}}, withCookie(ac))
	require.Contains(t, rec.Body.String(), "no event with bankbot id or provider event id")
}

func TestConsoleEventsPagination(t *testing.T) {
	ca := newConsoleApp(t)
	ctx := context.Background()
	// Nine events, three per millisecond.
	at := ca.clock.Now().Add(-time.Hour)
	var want []string
	for i := range 9 {
		id := fmt.Sprintf("ev_page_%d", 8-i)
		ev := store.NewEvent{ID: id, Source: "opn", ReceivedAt: at.Add(time.Duration((8-i)/3) * time.Millisecond), Body: []byte("{}"),
			Event: bankhooks.Event{Provider: "omise", ID: "p" + id, Kind: bankhooks.KindPaymentSucceeded, Amount: 100, Currency: "THB", Reference: "ref_page", Account: "123-4-56789-0"}}
		_, err := ca.store.InsertEvent(ctx, ev)
		require.NoError(t, err)
	}
	for i := 8; i >= 0; i-- {
		want = append(want, fmt.Sprintf("ev_page_%d", i))
	}
	b := consoleBackend{ca.App}
	for _, text := range []string{"", "ref_page", "1.00", "7890"} {
		for _, size := range []int{1, 2, 4, 9} {
			var got []string
			cursor := ""
			for range 20 {
				list, err := b.Events(ctx, console.EventQuery{Text: text, Cursor: cursor, Limit: size})
				require.NoError(t, err)
				for _, e := range list.Events {
					got = append(got, e.ID)
				}
				if list.Next == "" {
					break
				}
				cursor = list.Next
			}
			require.Equal(t, want, got, "text %q, pages of %d", text, size)
		}
	}
	// Through the page: the next link carries the filters and the cursor.
	page := ca.do(t, http.MethodGet, "/ui/events?q=ref_page", nil, withBearer(consoleViewer)).Body.String()
	require.Equal(t, 9, strings.Count(page, `<tr class="event"`))
	require.NotContains(t, page, `id="next-page"`)
	_, err := b.Events(ctx, console.EventQuery{Cursor: "!!", Limit: 2})
	require.ErrorIs(t, err, console.ErrBadRequest)
	require.Equal(t, http.StatusBadRequest, ca.do(t, http.MethodGet, "/ui/events?cursor=bm90LWEtY3Vyc29y", nil, withBearer(consoleViewer)).Code)
}
