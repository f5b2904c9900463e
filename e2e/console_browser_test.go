package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// The console's second sign-in token, for finance staff who look but do not act.
const viewerToken = "e2e-viewer-token-finance"

// wrongDTSecret is a robot secret DingTalk refuses (errcode 310000, sign not match).
const wrongDTSecret = "SECe2eWRONGWRONGWRONG0123456789abcdef0123456789abcdef0123456789"

// hostileDescription is provider text that would run script if a page put it
// in the HTML unescaped.
const hostileDescription = `<script>alert('bankbot-xss-1')</script><img src=x onerror=alert('bankbot-xss-2')> javascript:alert('bankbot-xss-3')`

// consoleYAML is the e2e config with the console on (admin.token is always
// set by the harness; this adds admin.viewer_token), the robot signing with
// robotSecret, and at most 2 attempts per delivery so that a refused
// delivery is dead-lettered within a second.
func consoleYAML(t *testing.T, p params, robotSecret string) string {
	t.Helper()
	p.DingTalkSecret = robotSecret
	y := p.yaml()
	for _, r := range [][2]string{
		{"  token: " + adminToken + "\n", "  token: " + adminToken + "\n  viewer_token: " + viewerToken + "\n"},
		{"    max_interval: 1s\n", "    max_interval: 1s\n    max_attempts: 2\n"},
	} {
		require.Contains(t, y, r[0], "the harness config changed: fix consoleYAML")
		y = strings.Replace(y, r[0], r[1], 1)
	}
	return y
}

// headingAmount is the amount in the first line of a DingTalk message
// ("### [TEST] ✅ Payment received: THB 1,234.56" → "THB 1,234.56").
var headingAmount = regexp.MustCompile(`^###[^\n]*: ([^\n:]+)\n`)

// messageFor returns the text of the one message the fake received that
// carries bankbot's event id.
func messageFor(t *testing.T, fake *dingtalktest.Server, eventID string) string {
	t.Helper()
	var found []string
	for _, m := range fake.Messages() {
		if strings.Contains(m.Text, eventID) {
			found = append(found, m.Text)
		}
	}
	require.Len(t, found, 1, "messages at the fake DingTalk carrying event %s", eventID)
	return found[0]
}

// TestBrowser_Console drives the web console of the real binary in headless
// Chromium as an admin and as a viewer: sign-in, search, an event's page
// against the DingTalk message, a misconfigured robot and its dead letters
// retried from the page after the config is fixed, a viewer without action
// buttons, and hostile provider text shown as text.
func TestBrowser_Console(t *testing.T) {
	chromiumPath(t) // skip before starting anything when there is no browser
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret, RatePerMinute: -1})
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	s := &server{t: t, dir: dir, cfgPath: filepath.Join(dir, "config.yaml"), hookAddr: p.HookAddr, admin: p.AdminAddr, logs: &syncBuffer{}}
	writeConfig(t, s.cfgPath, consoleYAML(t, p, dtSecret))
	s.start()
	t.Cleanup(s.stop)

	// A few signed Opn events, each delivered before the next is posted.
	post := func(t *testing.T, id string, amount int64, currency, description string) string {
		t.Helper()
		body := chargeComplete(id, amount, currency)
		if description != "" {
			enc := strings.Trim(fmt.Sprintf("%q", description), `"`)
			body = []byte(strings.Replace(string(body), `"description":"Order 1001"`, `"description":"`+enc+`"`, 1))
		}
		r := s.postOpn("opn", keyA, time.Now(), body)
		require.Equal(t, http.StatusOK, r.Status, r.Body)
		return idOf(t, r.Body)
	}
	delivered := func(t *testing.T, n int) []dingtalktest.Received {
		t.Helper()
		msgs := fake.WaitForMessages(n, 15*time.Second)
		if len(msgs) != n {
			var texts []string
			for _, m := range msgs {
				texts = append(texts, m.Title)
			}
			t.Fatalf("%d messages at the fake DingTalk, want %d: %q\n%s", len(msgs), n, texts, s.logs.String())
		}
		return msgs
	}
	payID := post(t, "evnt_brw_pay", 123456, "THB", "")
	delivered(t, 1)
	post(t, "evnt_brw_usd", 2500, "USD", "")
	delivered(t, 2)
	hostileID := post(t, "evnt_brw_hostile", 777, "THB", hostileDescription)
	delivered(t, 3)
	payMsg := messageFor(t, fake, payID)
	m := headingAmount.FindStringSubmatch(payMsg)
	require.NotNil(t, m, "no amount in the first line of the DingTalk message:\n%s", payMsg)
	payAmount := strings.TrimSpace(m[1])
	require.Contains(t, payAmount, "1,234.56", "the message's amount, as DingTalk shows it")

	// Each step needs the one before it: stop at the first that fails.
	failed := false
	step := func(name string, f func(t *testing.T)) {
		if failed {
			return
		}
		failed = !t.Run(name, f)
	}

	b := newBrowser(t, adminToken, viewerToken, dtSecret, wrongDTSecret, fake.Token(), keyA)
	base := "http://" + s.admin
	a := b.session(base)

	step("sign in as admin", func(t *testing.T) {
		a.t = t
		a.load("/ui/")
		require.Contains(t, a.location(), "/ui/signin", "no session: the overview sends the browser to sign in")
		a.checkPage()
		require.Equal(t, 1, a.count("form#signin input#token[name=token]"))

		a.fill("#token", "not-the-admin-token")
		a.click("#signin-submit")
		require.NotEmpty(t, a.text("#signin-error"), "a wrong token says so")
		require.Zero(t, a.count("#whoami"), "a wrong token signs nobody in")

		a.fill("#token", adminToken)
		a.click("#signin-submit")
		require.Equal(t, base+"/ui/", a.location(), "signed in, back to the page asked for")
		require.Contains(t, a.text("#whoami"), "admin")
		require.Equal(t, 1, a.count("svg#events-chart"), "the overview's chart")
		require.Equal(t, 1, a.count(`tr.robot[data-robot="finance"][data-state="ok"]`), "the robot that delivered is ok")
		require.Equal(t, 1, a.count(`tr.source[data-source="opn"]`))
	})

	step("find an event by its reference and see its amount as DingTalk did", func(t *testing.T) {
		a.t = t
		a.click("a#nav-events")
		require.GreaterOrEqual(t, a.count("tr.event"), 3, "the events list shows the events posted")
		a.fill("form#event-search input[name=q]", "chrg_test_evnt_brw_pay")
		a.click("#search-submit")
		require.Equal(t, []string{payID}, a.attrs("tr.event", "data-event-id"), "the search by reference finds that one event")

		a.click(`tr.event[data-event-id="` + payID + `"] a.event-link`)
		require.Equal(t, base+"/ui/events/"+payID, a.location())
		require.Equal(t, payID, a.text("#event-id"))
		require.Equal(t, payAmount, a.text("#amount"), "the amount exactly as in the DingTalk message:\n%s", payMsg)
		require.Equal(t, "chrg_test_evnt_brw_pay", a.text("#reference"))
		require.Equal(t, []string{"sent"}, a.attrs("tr.delivery", "data-status"))
		require.GreaterOrEqual(t, a.count("tr.attempt"), 1)
		require.Contains(t, a.text("pre#message-text"), payAmount, "the message as rendered")
		require.Contains(t, a.text("pre#raw-body"), "evnt_brw_pay", "the raw body")
		require.False(t, eval[bool](a, `document.querySelector('#copy-raw').hidden`),
			"the pinned copy script ran under the page's CSP and showed its button")
		a.screenshot("console-event.png")
	})

	step("hostile provider text renders as text", func(t *testing.T) {
		a.t = t
		a.open("/ui/events/" + hostileID)
		require.Contains(t, a.bodyText(), hostileDescription, "the event's description is visible as text")
		for _, path := range []string{"/ui/events/" + hostileID, "/ui/events?q=chrg_test_evnt_brw_hostile"} {
			a.open(path) // checkPage: no dialog, no javascript: link, no CSP violation
			require.False(t, eval[bool](a, `Array.from(document.scripts).some(s => s.textContent.includes('bankbot-xss'))`), "a provider's script element on %s", path)
			require.Zero(t, a.count("[onerror]"), "a provider's event handler attribute on %s", path)
			require.Empty(t, a.Dialogs())
		}
	})

	var deadIDs []string
	var brokenHash string
	step("a refused robot shows as misconfigured with its hint", func(t *testing.T) {
		a.t = t
		a.open("/ui/")
		goodHash := a.text("#config-hash")
		require.NotEmpty(t, goodHash)
		writeConfig(t, s.cfgPath, consoleYAML(t, p, wrongDTSecret))
		a.open("/ui/actions")
		a.click("button#reload-config")
		require.NotEmpty(t, a.text("#flash"), "the reload's result")
		a.until("/ui/", 10*time.Second, func() bool { return a.text("#config-hash") != goodHash },
			"the config with the wrong robot secret was not applied")
		brokenHash = a.text("#config-hash")

		refusedBefore := fake.Count(310000)
		deadIDs = append(deadIDs, post(t, "evnt_brw_dead1", 4200, "THB", ""), post(t, "evnt_brw_dead2", 31500, "THB", ""))
		a.until("/ui/deadletters", 30*time.Second, func() bool { return a.count(`tr.deadletter[data-robot="finance"]`) == 2 },
			"the refused deliveries were not dead-lettered")
		require.GreaterOrEqual(t, fake.Count(310000)-refusedBefore, 2, "DingTalk (the fake) refused them with 310000")
		require.Len(t, fake.Messages(), 3, "nothing was delivered with the wrong secret")

		a.open("/ui/events/" + deadIDs[0])
		require.Equal(t, []string{"dead"}, a.attrs("tr.delivery", "data-status"))
		require.Contains(t, strings.Join(a.texts("tr.attempt"), "\n"), "310000", "the attempts show DingTalk's errcode")

		a.open("/ui/actions")
		require.NoError(t, a.do(stepTimeout, chromedp.SetValue(chromedp.CSS(`form#test-message select[name=robot]`), "finance")))
		a.click("button#send-test")
		flash := a.text("#flash")
		require.Contains(t, flash, "310000", "the test message's result: DingTalk's errcode")
		require.Contains(t, flash, "robots.finance.secret", "and what to fix")

		a.open("/ui/")
		require.Equal(t, []string{"misconfigured"}, a.attrs(`tr.robot[data-robot="finance"]`, "data-state"))
		hint := a.text(`tr.robot[data-robot="finance"] .robot-hint`)
		require.Contains(t, hint, "robots.finance.secret", "the hint says what to fix")
	})

	step("fix the config, retry the dead letters from the page, see them delivered", func(t *testing.T) {
		a.t = t
		require.Len(t, deadIDs, 2, "the previous step dead-lettered two deliveries")
		writeConfig(t, s.cfgPath, consoleYAML(t, p, dtSecret))
		a.open("/ui/actions")
		a.click("button#reload-config")
		require.NotEmpty(t, a.text("#flash"))
		a.until("/ui/", 10*time.Second, func() bool { return a.text("#config-hash") != brokenHash },
			"the fixed config was not applied")

		a.open("/ui/deadletters")
		require.ElementsMatch(t, a.attrs("tr.deadletter", "data-robot"), []string{"finance", "finance"})
		require.Len(t, fake.Messages(), 3, "nothing is sent before the retry")
		a.click("a#retry-all")
		require.Contains(t, a.location(), "/ui/deadletters/retry-all", "retry all asks first")
		require.Len(t, fake.Messages(), 3, "the confirmation page sends nothing")
		a.click("button#confirm-retry-all")
		require.NotEmpty(t, a.text("#flash"), "the retry's result")

		// Delivered alone or together in one digest (bankbot's choice, by
		// its send budget): either way each event's reference reaches DingTalk.
		eventually(t, 15*time.Second, func() bool {
			var text strings.Builder
			for _, m := range fake.Messages()[3:] {
				text.WriteString(m.Text)
			}
			return strings.Contains(text.String(), "chrg_test_evnt_brw_dead1") && strings.Contains(text.String(), "chrg_test_evnt_brw_dead2")
		}, "the retried dead letters did not reach the fake DingTalk:\n%s", s.logs.String())
		a.until("/ui/deadletters", 15*time.Second, func() bool { return a.count("tr.deadletter") == 0 },
			"the dead letters are still listed after their delivery")
		a.until("/ui/", 15*time.Second, func() bool {
			return strings.Join(a.attrs(`tr.robot[data-robot="finance"]`, "data-state"), ",") == "ok"
		}, "the robot is not ok again after delivering")
		a.screenshot("console-overview.png")
	})

	step("test message, replay and preview from the pages", func(t *testing.T) {
		a.t = t
		// bankbot spreads a robot's 20 messages a minute (at most 5 in any
		// 15.5 s), and the retries just used some: when the page says the
		// budget is in use, try again, as a person would.
		n := len(fake.Messages())
		deadline := time.Now().Add(30 * time.Second)
		for {
			a.open("/ui/actions")
			require.NoError(t, a.do(stepTimeout, chromedp.SetValue(chromedp.CSS(`form#test-message select[name=robot]`), "finance")))
			a.click("button#send-test")
			flash := a.text("#flash")
			require.NotContains(t, flash, "310000")
			if len(fake.WaitForMessages(n+1, time.Second)) > n {
				break
			}
			require.True(t, time.Now().Before(deadline), "the test message never reached the fake DingTalk; the page said: %s", flash)
			time.Sleep(time.Second)
		}

		a.open("/ui/actions")
		a.fill("form#replay input[name=event]", payID)
		a.click("button#replay-submit")
		require.NotEmpty(t, a.text("#flash"))
		eventually(t, 30*time.Second, func() bool {
			c := 0
			for _, m := range fake.Messages() {
				if strings.Contains(m.Text, payID) {
					c++
				}
			}
			return c == 2
		}, "the replayed event did not reach the fake DingTalk a second time")
		a.open("/ui/events/" + payID)
		require.Equal(t, []string{"sent"}, a.attrs("tr.delivery", "data-status"), "the replay re-drives the event's delivery")
		require.Len(t, a.texts("tr.attempt"), 2, "and it has a second attempt")

		a.open("/ui/preview")
		require.NoError(t, a.do(stepTimeout,
			chromedp.SetValue(chromedp.CSS(`form#preview-form select[name=kind]`), "refund.succeeded"),
			chromedp.SetValue(chromedp.CSS(`form#preview-form select[name=language]`), "th"),
		))
		a.follow("submit form#preview-form", chromedp.Submit(chromedp.CSS("form#preview-form")))
		raw := a.text("pre#preview-raw")
		require.Regexp(t, `\p{Thai}`, raw, "the Thai message")
		require.NotEmpty(t, a.text("#preview-rendered"))
		require.NotContains(t, a.text("#preview-rendered"), "**", "the markdown is rendered")
		require.Equal(t, "refund.succeeded", eval[string](a, `document.querySelector('form#preview-form select[name=kind]').value`))
	})

	step("a viewer sees no action and may not act", func(t *testing.T) {
		a.t = t
		// The admin's pages do carry actions, so finding none below means something.
		a.open("/ui/actions")
		require.GreaterOrEqual(t, a.count(".action"), 3, "reload, test message and replay are actions for an admin")

		v := b.session(base)
		v.t = t
		v.load("/ui/")
		require.Contains(t, v.location(), "/ui/signin", "a second browser context has no session")
		v.fill("#token", viewerToken)
		v.click("#signin-submit")
		require.Contains(t, v.text("#whoami"), "viewer")
		for _, path := range []string{"/ui/", "/ui/events", "/ui/events/" + payID, "/ui/events/" + deadIDs[0],
			"/ui/deadletters", "/ui/deadletters/retry-all", "/ui/actions", "/ui/preview"} {
			v.open(path)
			require.Zero(t, v.count(".action"), "a viewer's page %s has an action", path)
			require.Contains(t, v.text("#whoami"), "viewer", path)
		}

		v.open("/ui/actions")
		sent := len(fake.Messages())
		for _, tc := range []struct {
			path   string
			fields map[string]string
		}{
			{"/ui/actions/reload", nil},
			{"/ui/actions/test", map[string]string{"robot": "finance"}},
			{"/ui/actions/replay", map[string]string{"event": payID}},
			{"/ui/deadletters/retry", map[string]string{"all": "1", "confirm": "1"}},
		} {
			require.Equal(t, http.StatusForbidden, v.post(tc.path, tc.fields), "a viewer's POST %s", tc.path)
		}
		// The same POST with the admin's session is not refused: the 403 is the role.
		a.open("/ui/actions")
		require.NotEqual(t, http.StatusForbidden, a.post("/ui/actions/reload", nil))
		time.Sleep(time.Second) // a replay or test message would have reached the fake by now
		require.Len(t, fake.Messages(), sent, "a viewer's refused actions sent nothing")
	})

	step("the read pages work without JavaScript", func(t *testing.T) {
		n := b.session(base)
		n.t = t
		_, err := chromedp.Call(n.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		require.NoError(t, err)
		n.load("/ui/")
		n.fill("#token", viewerToken)
		n.click("#signin-submit")
		require.Contains(t, n.text("#whoami"), "viewer")
		n.click("a#nav-events")
		n.fill("form#event-search input[name=q]", "chrg_test_evnt_brw_pay")
		n.click("#search-submit")
		require.Equal(t, []string{payID}, n.attrs("tr.event", "data-event-id"))
		n.click(`tr.event[data-event-id="` + payID + `"] a.event-link`)
		require.Equal(t, payAmount, n.text("#amount"))
		require.Contains(t, n.text("pre#raw-body"), "evnt_brw_pay")
		require.True(t, eval[bool](n, `document.querySelector('#copy-raw').hidden`),
			"the copy button stays hidden: its script did not run, the page works without it")
	})

	step("the pages switch to Thai and keep their hooks", func(t *testing.T) {
		a.t = t
		a.open("/ui/")
		english := a.text("nav#nav")
		a.click("#lang-switch")
		thai := a.text("nav#nav")
		require.NotEqual(t, english, thai, "the navigation is translated")
		require.Regexp(t, `\p{Thai}`, thai)
		require.Equal(t, 1, a.count(`tr.robot[data-robot="finance"][data-state="ok"]`), "the hooks do not change with the language")
		a.open("/ui/events") // no ?lang: the choice is remembered
		require.Equal(t, thai, a.text("nav#nav"))
		require.Equal(t, 1, a.count("form#event-search"))
	})
}
