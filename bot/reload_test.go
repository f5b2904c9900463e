package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/store"
)

func reloadOK(a *App) float64 { return metricValue(a.metrics.ReloadOK) }

// TestReload_BadConfigKeepsOld (anchors §8.1.12, alertmanager
// TestReloader_ErrorLeavesPreviousStateIntact): a refused config leaves the
// very same runtime serving and sets bankbot_config_last_reload_successful to
// 0; the next good edit is applied and sets it back to 1.
func TestReload_BadConfigKeepsOld(t *testing.T) {
	t.Parallel()
	good := testConfig{}
	tests := []struct {
		name     string
		write    func(t *testing.T, dir string) string // returns the config text
		wantPath string                                // a problem's key path, "" = any
	}{
		{"invalid YAML", func(*testing.T, string) string { return "sources: [\n  robots: {" }, ""},
		{"route to an unknown robot", func(*testing.T, string) string {
			return testConfig{routes: "  - name: all\n    robot: nobody\n"}.yaml()
		}, "routes[0].robot"},
		{"unknown key", func(*testing.T, string) string {
			return strings.Replace(good.yaml(), "language: en", "language: en\nlanguagee: th", 1)
		}, "languagee"},
		{"broken template in templates.dir", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "tpl", "default.en.tmpl"), `{{define "other"}}### {{.Event.Type}`)
			return testConfig{templatesDir: filepath.Join(dir, "tpl")}.yaml()
		}, "templates"},
		{"template that fails on the fixtures", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "tpl2", "x.en.tmpl"), `{{define "payment.failed"}}### {{.Event.Nope}}{{end}}`)
			return testConfig{templatesDir: filepath.Join(dir, "tpl2")}.yaml()
		}, "templates"},
		{"secret of the wrong shape", func(*testing.T, string) string {
			return testConfig{sources: "  opn:\n    provider: omise\n    secrets: [{value: \"not base64!\"}]\n"}.yaml()
		}, "sources.opn.secrets[0].value"},
		{"file removed", func(*testing.T, string) string { return "" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t, good)
			before := ta.runtime.Load()
			text := tc.write(t, ta.dir)
			if text == "" {
				require.NoError(t, removeFile(ta.cfgPath))
			} else {
				writeFile(t, ta.cfgPath, text)
			}

			res, err := ta.Reload("test")
			require.Error(t, err)
			require.Empty(t, res)
			require.Same(t, before, ta.runtime.Load(), "the running config is untouched")
			require.Zero(t, reloadOK(ta.App))
			require.Equal(t, 1.0, metricValue(ta.metrics.Reloads.WithLabelValues("failed")))
			if tc.wantPath != "" {
				var ps config.Problems
				require.ErrorAs(t, err, &ps)
				found := false
				for _, p := range ps {
					found = found || p.Path == tc.wantPath
				}
				require.True(t, found, "no problem at %s in %v", tc.wantPath, ps)
				require.Contains(t, ta.logs.String(), tc.wantPath, "every problem is logged with its key path")
			}
			// The old config still serves webhooks.
			r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), charge("evnt_after_bad", 1, "THB", "x")))
			require.Equal(t, http.StatusOK, r.Code)

			// A good edit is applied.
			writeFile(t, ta.cfgPath, testConfig{sources: "  opn:\n    provider: omise\n    secrets: [{value: " + keyB + "}]\n"}.yaml())
			res, err = ta.Reload("test")
			require.NoError(t, err)
			require.Equal(t, ReloadApplied, res)
			require.NotSame(t, before, ta.runtime.Load())
			require.Equal(t, 1.0, reloadOK(ta.App))
			r = serve(t, ta.hookRouter(), hookRequest(t, "opn", keyB, ta.clock.Now(), charge("evnt_after_good", 1, "THB", "x")))
			require.Equal(t, http.StatusOK, r.Code, "%+v", r)
		})
	}
}

// TestReload_AdminEndpoint: POST /admin/reload answers 500 with every
// problem for a refused config, 200 with the result otherwise.
func TestReload_AdminEndpoint(t *testing.T) {
	ta := newTestApp(t, testConfig{adminToken: "tok"})
	do := func() (int, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, "/admin/reload", nil)
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		ta.adminRouter().ServeHTTP(rec, req)
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		return rec.Code, body
	}
	code, body := do()
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "unchanged", body["status"])

	writeFile(t, ta.cfgPath, testConfig{adminToken: "tok", routes: "  - name: all\n    robot: nobody\n    language: xx\n"}.yaml())
	code, body = do()
	require.Equal(t, http.StatusInternalServerError, code)
	require.Equal(t, "reload_failed", body["error"])
	problems, ok := body["problems"].([]any)
	require.True(t, ok, "%v", body)
	require.Len(t, problems, 2)
	require.Contains(t, problems[0], "routes[0].language")
	require.Contains(t, problems[1], "routes[0].robot")

	writeFile(t, ta.cfgPath, testConfig{adminToken: "tok", logLevel: "info"}.yaml())
	code, body = do()
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "applied", body["status"])
	require.Equal(t, ta.runtime.Load().Config.Hash[:12], body["config_hash"])
}

// TestReload_UnchangedIsNoop (anchors §8.1.12, caddy): reloading the running
// config keeps the same runtime, and says so.
func TestReload_UnchangedIsNoop(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	before := ta.runtime.Load()
	for _, how := range []string{"untouched", "rewritten with the same bytes"} {
		t.Run(how, func(t *testing.T) {
			if how != "untouched" {
				writeFile(t, ta.cfgPath, testConfig{}.yaml())
			}
			res, err := ta.Reload("test")
			require.NoError(t, err)
			require.Equal(t, ReloadUnchanged, res)
			require.Same(t, before, ta.runtime.Load())
			require.Equal(t, 1.0, reloadOK(ta.App))
		})
	}
	t.Run("a refused edit reverted is a successful load", func(t *testing.T) {
		writeFile(t, ta.cfgPath, "nonsense: [")
		_, err := ta.Reload("test")
		require.Error(t, err)
		require.Zero(t, reloadOK(ta.App))
		writeFile(t, ta.cfgPath, testConfig{}.yaml())
		res, err := ta.Reload("test")
		require.NoError(t, err)
		require.Equal(t, ReloadUnchanged, res)
		require.Same(t, before, ta.runtime.Load())
		require.Equal(t, 1.0, reloadOK(ta.App))
	})
	require.Equal(t, 3.0, metricValue(ta.metrics.Reloads.WithLabelValues("unchanged")))
	require.Zero(t, metricValue(ta.metrics.Reloads.WithLabelValues("applied")))
}

// TestReload_NoResend (anchors §8.1.12): a reload neither re-routes nor
// resends events already handled, nor drops queued ones.
func TestReload_NoResend(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	sender := &scriptedSender{}
	ta.withRuntime(func(rt *Runtime) { rt.Robots["log"].Sender = sender })
	ta.postCharge(t, "evnt_nr_1", 100, "THB", "x")
	ta.route(t)
	ta.startWorkers(t)
	d := ta.waitDelivery(t, onlyDelivery(t, ta).ID, "sent", func(d store.Delivery) bool { return d.Status == store.StatusSent })

	writeFile(t, ta.cfgPath, testConfig{logLevel: "info", routes: "  - name: all\n    robot: log\n  - name: second\n    robot: log\n"}.yaml())
	res, err := ta.Reload("test")
	require.NoError(t, err)
	require.Equal(t, ReloadApplied, res)
	ta.route(t)
	ds := ta.deliveries(t)
	require.Len(t, ds, 1, "the stored event is not routed again under the new routes")
	require.Equal(t, d.ID, ds[0].ID)
	require.Equal(t, store.StatusSent, ds[0].Status)
	require.Len(t, sender.sent(), 1)

	r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), charge("evnt_nr_1", 100, "THB", "x")))
	require.Equal(t, "duplicate", r.Status, "dedup survives a reload")
}

// TestReload_ConcurrentWithRequests runs webhooks while the config flips 50
// times between two valid configs (run it under -race): every answer is 200
// or 401, never 5xx; a key valid in both configs always gets 200.
func TestReload_ConcurrentWithRequests(t *testing.T) {
	t.Parallel()
	cfgA := testConfig{sources: "  opn:\n    provider: omise\n    secrets: [{value: " + keyA + "}, {value: " + keyB + "}]\n"}
	cfgB := testConfig{sources: "  opn:\n    provider: omise\n    secrets: [{value: " + keyA + "}, {value: " + keyC + "}]\n", logLevel: "info"}
	ta := newTestApp(t, cfgA)
	h := ta.hookRouter()
	ta.startWorkers(t)

	var wg sync.WaitGroup
	done := make(chan struct{})
	// Each reload hands out a batch of requests, so the posters run during
	// every reload without starving it of CPU.
	tokens := make(chan struct{}, 1000)
	var mu sync.Mutex
	counts := map[string]map[int]int{keyA: {}, keyB: {}, keyC: {}}
	for g := range 4 {
		key := []string{keyA, keyB, keyC, keyA}[g]
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				case <-tokens:
				}
				req := hookRequest(t, "opn", key, ta.clock.Now(), charge("evnt_cc_"+strconv.Itoa(g)+"_"+strconv.Itoa(i), 100, "THB", "x"))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				mu.Lock()
				counts[key][rec.Code]++
				mu.Unlock()
			}
		})
	}
	for i := range 50 {
		cfg := cfgA
		if i%2 == 0 {
			cfg = cfgB
		}
		for range 16 {
			tokens <- struct{}{}
		}
		writeFile(t, ta.cfgPath, cfg.yaml())
		res, err := ta.Reload("test")
		require.NoError(t, err)
		require.Equal(t, ReloadApplied, res)
		ta.routePending(context.Background())
	}
	close(done)
	wg.Wait()

	for key, byCode := range counts {
		for code := range byCode {
			require.Contains(t, []int{http.StatusOK, http.StatusUnauthorized}, code, "key %s", key[:8])
		}
	}
	require.Equal(t, []int{http.StatusOK}, keysOf(counts[keyA]), "a key valid in both configs always gets 200")
	require.NotZero(t, counts[keyA][http.StatusOK])
	t.Logf("answers by key: A %v, B %v, C %v", counts[keyA], counts[keyB], counts[keyC])
}

// TestReload_KeepsLimiterHistory: the send history lives in the store, so a
// reload (or a restart) never grants a fresh burst of 20: a changed
// rate_per_minute applies to the sends already made.
func TestReload_KeepsLimiterHistory(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	ctx := context.Background()
	// 15 sends 50 s to 36 s ago: inside the minute, outside the spread window.
	for i := range 15 {
		at := t0.Add(-50*time.Second + time.Duration(i)*time.Second)
		id, _, err := ta.store.ReserveSend(ctx, store.BudgetQuery{Robot: "log", Now: at, Rules: []store.SendRule{{Window: time.Minute, Limit: 100}}}, at, "dm_x")
		require.NoError(t, err)
		require.Positive(t, id)
	}
	budget := func() store.Budget {
		b, err := ta.store.SendBudget(ctx, budgetQuery(ta.runtime.Load().Robots["log"], t0))
		require.NoError(t, err)
		return b
	}
	writeFile(t, ta.cfgPath, testConfig{robots: "  log:\n    type: console\n    rate_per_minute: 18\n"}.yaml())
	res, err := ta.Reload("test")
	require.NoError(t, err)
	require.Equal(t, ReloadApplied, res)
	require.Equal(t, 3, budget().Free, "15 sent of the new 18")

	writeFile(t, ta.cfgPath, testConfig{robots: "  log:\n    type: console\n    rate_per_minute: 10\n"}.yaml())
	res, err = ta.Reload("test")
	require.NoError(t, err)
	require.Equal(t, ReloadApplied, res)
	require.Equal(t, 10, ta.runtime.Load().Robots["log"].RatePerMinute)
	b := budget()
	require.Zero(t, b.Free)
	// 15 sent, 10 allowed: free again when the 6th oldest leaves the 62 s window.
	require.Equal(t, t0.Add(-45*time.Second).Add(dingtalkWindow+windowMargin), b.NextAt)
}

// TestReload_ValueFileRotation (anchors §8.1.13): rotating the secret in a
// value_file is a config change: the poller sees it, and after the reload the
// new key verifies and the old one does not.
func TestReload_ValueFileRotation(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "opn.key")
	writeFile(t, keyFile, keyA+"\n")
	cfgPath := filepath.Join(dir, "config.yaml")
	writeFile(t, cfgPath, testConfig{sources: "  opn:\n    provider: omise\n    secrets:\n      - value_file: opn.key\n"}.yaml())
	ta := openTestApp(t, dir, cfgPath, newFakeClock(t0))

	post := func(key, id string) int {
		return serve(t, ta.hookRouter(), hookRequest(t, "opn", key, ta.clock.Now(), charge(id, 1, "THB", "x"))).Code
	}
	require.Equal(t, http.StatusOK, post(keyA, "evnt_vf_1"))
	fpBefore := fingerprint(cfgPath, ta.runtime.Load().Config)
	require.Equal(t, ta.fingerprint, fpBefore, "nothing changed yet")

	writeFile(t, keyFile, keyB+"\n")
	require.NotEqual(t, fpBefore, fingerprint(cfgPath, ta.runtime.Load().Config), "the poller notices the rotated file")
	res, err := ta.Reload("file change")
	require.NoError(t, err)
	require.Equal(t, ReloadApplied, res)
	require.Equal(t, http.StatusOK, post(keyB, "evnt_vf_2"))
	require.Equal(t, http.StatusUnauthorized, post(keyA, "evnt_vf_3"))
	require.Equal(t, ta.fingerprint, fingerprint(cfgPath, ta.runtime.Load().Config))
}

// TestReload_PollerAppliesFileChange: the reload loop notices an edit on its
// own (no SIGHUP), by polling on the app's clock, and reports a refused file
// once rather than on every poll.
func TestReload_PollerAppliesFileChange(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	before := ta.runtime.Load()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ta.reloadLoop(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	// poll waits until the loop sleeps on its (only) timer, then fires it.
	poll := func() {
		ta.clock.waitTimer(t, 0, anyTimer)
		ta.clock.Advance(config.DefaultReloadInterval)
	}

	poll()
	ta.clock.waitTimer(t, 0, anyTimer)
	require.Same(t, before, ta.runtime.Load(), "nothing changed, nothing reloaded")
	require.Zero(t, metricValue(ta.metrics.Reloads.WithLabelValues("unchanged")), "an unchanged file is not even parsed")

	writeFile(t, ta.cfgPath, testConfig{logLevel: "info"}.yaml())
	poll()
	// The runtime is swapped before the reload is counted: wait for both.
	require.Eventually(t, func() bool {
		return ta.runtime.Load() != before && metricValue(ta.metrics.Reloads.WithLabelValues("applied")) == 1
	}, 10*time.Second, 2*time.Millisecond)

	writeFile(t, ta.cfgPath, "nonsense: [")
	for range 4 {
		poll()
	}
	ta.clock.waitTimer(t, 0, anyTimer)
	require.Equal(t, 1.0, metricValue(ta.metrics.Reloads.WithLabelValues("failed")), "refused once")
	require.Zero(t, reloadOK(ta.App))
}

func keysOf(m map[int]int) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestReload_PollerSeesFixInFileOfRefusedConfig: an edit that is refused
// because of a file it newly reads must be retried by the poller once that
// file is fixed, without another edit of config.yaml or a SIGHUP.
func TestReload_PollerSeesFixInFileOfRefusedConfig(t *testing.T) {
	tests := []struct {
		name  string
		file  string // relative to the config's directory
		bad   string // "" = the file does not exist yet
		good  string
		edits testConfig
	}{
		{"broken template in a new templates.dir", "tpl/custom.en.tmpl",
			`{{define "other"}}### broken {{.Event.Nope}}{{end}}`, `{{define "other"}}### fixed {{md .Event.Type}}{{end}}`,
			testConfig{templatesDir: "tpl", routes: "  - name: all\n    robot: log\n    template: custom\n"}},
		{"value_file created after the edit", "secrets/opn.key", "", keyB + "\n",
			testConfig{sources: "  opn:\n    provider: omise\n    secrets:\n      - value_file: secrets/opn.key\n"}},
		{"empty value_file filled in", "secrets/opn.key", "\n", keyB + "\n",
			testConfig{sources: "  opn:\n    provider: omise\n    secrets:\n      - value_file: secrets/opn.key\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t, testConfig{})
			before := ta.runtime.Load()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { ta.reloadLoop(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
			poll := func() {
				ta.clock.waitTimer(t, 0, anyTimer)
				ta.clock.Advance(config.DefaultReloadInterval)
				ta.clock.waitTimer(t, 0, anyTimer) // the loop has handled the tick
			}

			file := filepath.Join(ta.dir, tc.file)
			if tc.bad != "" {
				writeFile(t, file, tc.bad)
			}
			writeFile(t, ta.cfgPath, tc.edits.yaml())
			poll()
			require.Equal(t, 1.0, metricValue(ta.metrics.Reloads.WithLabelValues("failed")))
			require.Same(t, before, ta.runtime.Load())
			// Nothing changes for a while: the refused config is reported
			// once, not on every poll.
			for range 5 {
				poll()
			}
			require.Equal(t, 1.0, metricValue(ta.metrics.Reloads.WithLabelValues("failed")), "a refused config was retried without a change")

			writeFile(t, file, tc.good)
			poll()
			poll()
			require.NotSame(t, before, ta.runtime.Load(), "the fixed file was not noticed")
			require.Equal(t, 1.0, reloadOK(ta.App))
		})
	}
}

// failLoads makes the next n loads of the config fail with err, as reading
// the file would, then load normally.
func failLoads(ta *testApp, n int, err error) {
	var mu sync.Mutex
	left := n
	ta.loadConfig = func(path string, env config.LookupEnv) (*config.Config, error) {
		mu.Lock()
		fail := left > 0
		left--
		mu.Unlock()
		if fail {
			return nil, fmt.Errorf("read config: %w", &os.PathError{Op: "open", Path: path, Err: err})
		}
		return config.Load(path, env)
	}
}

// TestReload_TransientReadErrorIsRetried: a config file that cannot be read
// for a moment (out of file descriptors) is not a refused config: no
// bankbot_config_last_reload_successful 0, no "refused" line, the admin API
// answers 503, and the next poll retries and applies the edit.
func TestReload_TransientReadErrorIsRetried(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.EINTR} {
		t.Run(errno.Error(), func(t *testing.T) {
			ta := newTestApp(t, testConfig{adminToken: "tok"})
			before := ta.runtime.Load()

			failLoads(ta, 1, errno)
			req := httptest.NewRequest(http.MethodPost, "/admin/reload", nil)
			req.Header.Set("Authorization", "Bearer tok")
			rec := httptest.NewRecorder()
			ta.adminRouter().ServeHTTP(rec, req)
			require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), "reload_unavailable")
			require.Equal(t, 1.0, reloadOK(ta.App), "a transient read error is not a refused config")
			require.Zero(t, metricValue(ta.metrics.Reloads.WithLabelValues("failed")))
			require.Equal(t, 1.0, metricValue(ta.metrics.Reloads.WithLabelValues("transient")))
			require.NotContains(t, ta.logs.String(), "refused")
			require.Contains(t, ta.logs.String(), "cannot be read right now")
			require.Same(t, before, ta.runtime.Load())
			last, refused := ta.reloadState()
			require.Equal(t, "transient", last.Result)
			require.Zero(t, refused)

			// The poller: an edit, then a load that cannot read the file,
			// then the next poll applies it.
			failLoads(ta, 1, errno)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { ta.reloadLoop(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
			poll := func() {
				ta.clock.waitTimer(t, 0, anyTimer)
				ta.clock.Advance(config.DefaultReloadInterval)
				ta.clock.waitTimer(t, 0, anyTimer) // the loop has handled the tick
			}
			writeFile(t, ta.cfgPath, testConfig{adminToken: "tok", logLevel: "info"}.yaml())
			poll()
			require.Same(t, before, ta.runtime.Load(), "the unreadable moment applies nothing")
			require.Equal(t, 2.0, metricValue(ta.metrics.Reloads.WithLabelValues("transient")))
			poll()
			require.NotSame(t, before, ta.runtime.Load(), "the next poll retried and applied the edit")
			require.Equal(t, 1.0, reloadOK(ta.App))
			require.Zero(t, metricValue(ta.metrics.Reloads.WithLabelValues("failed")))
			require.NotContains(t, ta.logs.String(), "refused")
			require.Contains(t, ta.logs.String(), "config file readable again")
		})
	}
}

// TestReload_StatusShowsRefusedReloadThenRecovery: after a refused reload
// /admin/ shows the error and its time; when the file is good again (edited
// back, or fixed and reloaded by SIGHUP) a line says the config is applied
// again, with how many reloads were refused.
func TestReload_StatusShowsRefusedReloadThenRecovery(t *testing.T) {
	good := testConfig{adminToken: "tok"}
	tests := []struct {
		name    string
		fixed   string // the good file written after the refused ones
		trigger string
		result  ReloadResult
	}{
		{"edited back to the running config", good.yaml(), "file change", ReloadUnchanged},
		{"fixed with a new config, SIGHUP", testConfig{adminToken: "tok", logLevel: "info"}.yaml(), "sighup", ReloadApplied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t, good)
			status := func() map[string]any {
				req := httptest.NewRequest(http.MethodGet, "/admin/", nil)
				req.Header.Set("Authorization", "Bearer tok")
				rec := httptest.NewRecorder()
				ta.adminRouter().ServeHTTP(rec, req)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				var body map[string]any
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				lr, ok := body["last_reload"].(map[string]any)
				require.True(t, ok, "no last_reload in %s", rec.Body.String())
				return lr
			}
			lr := status()
			require.Equal(t, "start", lr["trigger"])
			require.Equal(t, "applied", lr["result"])
			require.Nil(t, lr["error"])

			for i := range 2 {
				ta.clock.Advance(time.Minute)
				writeFile(t, ta.cfgPath, testConfig{adminToken: "tok", routes: "  - name: all\n    robot: nobody" + strconv.Itoa(i) + "\n"}.yaml())
				_, err := ta.Reload("file change")
				require.Error(t, err)
			}
			lr = status()
			require.Equal(t, "failed", lr["result"])
			require.Equal(t, "file change", lr["trigger"])
			require.Equal(t, ta.clock.Now().UTC().Format(time.RFC3339), lr["time"])
			require.Contains(t, lr["error"], "routes[0].robot")
			require.Contains(t, fmt.Sprint(lr["problems"]), "nobody1")
			require.Equal(t, 2.0, lr["refused_in_a_row"])
			require.Contains(t, lr["note"], "previous")
			require.NotContains(t, ta.logs.String(), "applied again")

			ta.clock.Advance(time.Minute)
			writeFile(t, ta.cfgPath, tc.fixed)
			res, err := ta.Reload(tc.trigger)
			require.NoError(t, err)
			require.Equal(t, tc.result, res)
			require.Equal(t, 1.0, reloadOK(ta.App))
			require.Contains(t, ta.logs.String(), "config applied again after 2 refused reload(s)")
			require.Contains(t, ta.logs.String(), `"refused_reloads":2`)
			lr = status()
			require.Equal(t, string(tc.result), lr["result"])
			require.Equal(t, tc.trigger, lr["trigger"])
			require.Nil(t, lr["error"])
			require.Nil(t, lr["refused_in_a_row"])

			// Said once: the next good reload says nothing of the kind.
			before := strings.Count(ta.logs.String(), "applied again")
			_, err = ta.Reload("sighup")
			require.NoError(t, err)
			require.Equal(t, before, strings.Count(ta.logs.String(), "applied again"))
		})
	}
}
