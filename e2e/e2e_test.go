package e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// TestE2E_OpnChargeReachesDingTalk is the main path: a signed Opn
// charge.complete of THB 5000 satang arrives at DingTalk as 50.00, once.
func TestE2E_OpnChargeReachesDingTalk(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	s := startServer(t, dir, newParams(t, fake, dir))

	body := chargeComplete("evnt_test_main", 5000, "THB")
	r := s.postOpn("opn", keyA, time.Now(), body)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	require.Contains(t, r.Body, `"status":"accepted"`)

	msgs := fake.WaitForMessages(1, 15*time.Second)
	require.Len(t, msgs, 1, "one message at the fake DingTalk")
	require.Contains(t, msgs[0].Text, "50.00")
	require.NotContains(t, msgs[0].Text, "5000")
	require.Contains(t, msgs[0].Text, "THB")
	require.NotZero(t, msgs[0].Timestamp, "the request was signed (the fake checked sign and the 1-hour window)")

	// The provider's retry: 200 duplicate, same id, no second message.
	r2 := s.postOpn("opn", keyA, time.Now(), body)
	require.Equal(t, http.StatusOK, r2.Status, r2.Body)
	require.Contains(t, r2.Body, `"status":"duplicate"`)
	require.Equal(t, idOf(t, r.Body), idOf(t, r2.Body))

	// Every bad request gets its contract code and sends nothing.
	other := chargeComplete("evnt_test_other", 7000, "THB")
	bad := []struct {
		name   string
		send   func() reply
		status int
		code   string
	}{
		{"wrong signature", func() reply { return s.postOpn("opn", keyB, time.Now(), other) }, 401, "bad_signature"},
		{"stale timestamp (10 min)", func() reply { return s.postOpn("opn", keyA, time.Now().Add(-10*time.Minute), other) }, 401, "stale_timestamp"},
		{"no signature", func() reply { return s.post("opn", other, nil) }, 401, "missing_signature"},
		{"body over the cap", func() reply {
			big := chargeComplete("evnt_test_big", 1, "THB")
			big = append(big[:len(big)-2], []byte(`,"pad":"`+strings.Repeat("x", 5000)+`"}}`)...)
			return s.postOpn("opn", keyA, time.Now(), big)
		}, 413, "body_too_large"},
		{"unknown source", func() reply { return s.postOpn("nobank", keyA, time.Now(), other) }, 404, "unknown_source"},
		{"disallowed IP", func() reply { return s.postOpn("walled", keyA, time.Now(), other) }, 403, "ip_not_allowed"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.send()
			require.Equal(t, tc.status, r.Status, r.Body)
			require.Contains(t, r.Body, `"error":"`+tc.code+`"`)
			require.Contains(t, r.Body, `"message":"`)
		})
	}

	// Give the workers several poll intervals: still exactly one message.
	time.Sleep(1 * time.Second)
	require.Len(t, fake.Messages(), 1, "no bad request and no duplicate produced a message")
	require.Equal(t, "1", s.metric(`bankbot_webhooks_received_total{result="accepted",source="opn"}`))
	require.Equal(t, "1", s.metric(`bankbot_webhooks_received_total{result="duplicate",source="opn"}`))
	require.Equal(t, "1", s.metric(`bankbot_deliveries_total{result="sent",robot="finance"}`))
}

func idOf(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `"id":"`)
	require.GreaterOrEqual(t, i, 0, body)
	rest := body[i+6:]
	return rest[:strings.Index(rest, `"`)]
}

// TestE2E_KeyRotationWithoutRestart: two keys verify; removing the old key
// from config.yaml makes its signatures 401 without a restart; an invalid
// edit is refused and the current key keeps working.
func TestE2E_KeyRotationWithoutRestart(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	p.Secrets = "      - value: " + keyB + "\n      - value: " + keyA + "\n        expires: 2099-01-01T00:00:00Z\n"
	s := startServer(t, dir, p)

	require.Equal(t, 200, s.postOpn("opn", keyA, time.Now(), chargeComplete("evnt_rot_1", 100, "THB")).Status, "old key")
	require.Equal(t, 200, s.postOpn("opn", keyB, time.Now(), chargeComplete("evnt_rot_2", 100, "THB")).Status, "new key")

	// Remove the old key (an editor-style save: write a temp file, rename it over).
	p.Secrets = "      - value: " + keyB + "\n"
	writeConfig(t, s.cfgPath, p.yaml())
	n := 3
	took := eventually(t, 10*time.Second, func() bool {
		n++
		return s.postOpn("opn", keyA, time.Now(), chargeComplete("evnt_rot_probe_"+itoa(n), 100, "THB")).Status == 401
	}, "the removed key was still accepted 10s after the edit")
	t.Logf("old key refused %s after the config edit", took.Round(time.Millisecond))
	require.Equal(t, 200, s.postOpn("opn", keyB, time.Now(), chargeComplete("evnt_rot_3", 100, "THB")).Status)
	require.Equal(t, "1", s.metric("bankbot_config_last_reload_successful"))

	// An invalid edit: refused, logged with the problem, the metric says so,
	// and the current key keeps working.
	writeConfig(t, s.cfgPath, p.yaml()+"  - name: broken\n    robot: [\n")
	eventually(t, 10*time.Second, func() bool { return s.metric("bankbot_config_last_reload_successful") == "0" },
		"an invalid edit did not set bankbot_config_last_reload_successful to 0")
	require.Contains(t, s.logs.String(), "config reload refused")
	require.Contains(t, s.logs.String(), "not valid YAML")
	require.Equal(t, 200, s.postOpn("opn", keyB, time.Now(), chargeComplete("evnt_rot_4", 100, "THB")).Status)
	require.Equal(t, 401, s.postOpn("opn", keyA, time.Now(), chargeComplete("evnt_rot_5", 100, "THB")).Status)

	// A valid but wrong edit (a route to a robot that does not exist) is refused too.
	writeConfig(t, s.cfgPath, strings.Replace(p.yaml(), "robot: finance", "robot: nobody", 1))
	eventually(t, 10*time.Second, func() bool { return strings.Contains(s.logs.String(), `routes[0].robot: no robot named \"nobody\"`) },
		"the refused config's problem was not logged with its key path")
	require.Equal(t, 200, s.postOpn("opn", keyB, time.Now(), chargeComplete("evnt_rot_6", 100, "THB")).Status)

	// Fixing the file applies again.
	writeConfig(t, s.cfgPath, p.yaml())
	eventually(t, 10*time.Second, func() bool { return s.metric("bankbot_config_last_reload_successful") == "1" },
		"fixing the config did not apply it")
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestE2E_ReloadBySymlinkSwapSighupAndAdmin: a Kubernetes ConfigMap update
// (symlink swap), SIGHUP and POST /admin/reload all apply a new config.
func TestE2E_ReloadBySymlinkSwapSighupAndAdmin(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	// ConfigMap layout: config.yaml -> ..data/config.yaml, ..data -> ..2026_v1
	v1 := filepath.Join(dir, "..v1")
	require.NoError(t, os.Mkdir(v1, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(v1, "config.yaml"), []byte(p.yaml()), 0o600))
	require.NoError(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
	require.NoError(t, os.Symlink(filepath.Join("..data", "config.yaml"), filepath.Join(dir, "config.yaml")))
	s := &server{t: t, dir: dir, cfgPath: filepath.Join(dir, "config.yaml"), hookAddr: p.HookAddr, admin: p.AdminAddr, logs: &syncBuffer{}}
	s.start()
	t.Cleanup(s.stop)
	require.Equal(t, 200, s.postOpn("opn", keyA, time.Now(), chargeComplete("evnt_k8s_1", 100, "THB")).Status)

	// Swap to a config whose only key is B, as the kubelet does.
	p.Secrets = "      - value: " + keyB + "\n"
	v2 := filepath.Join(dir, "..v2")
	require.NoError(t, os.Mkdir(v2, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(v2, "config.yaml"), []byte(p.yaml()), 0o600))
	require.NoError(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	eventually(t, 10*time.Second, func() bool {
		return s.postOpn("opn", keyB, time.Now(), chargeComplete("evnt_k8s_2", 100, "THB")).Status == 200
	}, "a ConfigMap symlink swap was not applied")

	// POST /admin/reload: needs the token; an unchanged config is a no-op.
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.admin+"/admin/reload", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	b := new(bytes.Buffer)
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, b.String())
	require.Contains(t, b.String(), `"status":"unchanged"`)

	// SIGHUP reloads too (logged with its trigger).
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGHUP))
	eventually(t, 10*time.Second, func() bool { return strings.Contains(s.logs.String(), `"trigger":"sighup"`) }, "SIGHUP was not handled")
}

// TestE2E_AcceptedEventSurvivesKill9: with DingTalk down, an accepted event
// survives kill -9 and is delivered after restart once DingTalk is back.
func TestE2E_AcceptedEventSurvivesKill9(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret, DownMode: dingtalktest.DownUnavailable})
	fake.SetDown(true)
	dir := t.TempDir()
	s := startServer(t, dir, newParams(t, fake, dir))

	r := s.postOpn("opn", keyA, time.Now(), chargeComplete("evnt_durable", 123456, "THB"))
	require.Equal(t, 200, r.Status, r.Body)
	eventually(t, 10*time.Second, func() bool { return fake.Requests() >= 2 }, "bankbot never tried to deliver")
	require.Empty(t, fake.Messages())
	s.kill9()

	fake.SetDown(false)
	s.start()
	msgs := fake.WaitForMessages(1, 20*time.Second)
	require.NotEmpty(t, msgs, "the accepted event was lost across kill -9:\n%s", s.logs.String())
	require.Contains(t, msgs[0].Text, "1,234.56")
	require.Contains(t, msgs[0].Text, idOf(t, r.Body), "the message carries bankbot's event id")
}

// TestE2E_CLI covers config check, sign, simulate and version as an admin runs them.
func TestE2E_CLI(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	dir := t.TempDir()
	s := startServer(t, dir, newParams(t, fake, dir))

	run := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(binPath, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return string(out), code
	}

	out, code := run("", "config", "check", "--config", s.cfgPath)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "OK")

	bad := filepath.Join(dir, "bad.yaml")
	cfg, _ := os.ReadFile(s.cfgPath)
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(string(cfg), "- value: "+keyA, "- value: "+keyA+"\n        expires: soon", 1)), 0o600))
	out, code = run("", "config", "check", "--config", bad)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "sources.opn.secrets[0].expires: not an RFC 3339 time")

	out, code = run(`{"object":"event"}`, "sign", "opn", "--config", s.cfgPath)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "Omise-Signature: ")
	require.Contains(t, out, "Omise-Signature-Timestamp: ")

	out, code = run("", "simulate", "opn", "--config", s.cfgPath)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "200 OK")
	require.Contains(t, out, `"status":"accepted"`)
	msgs := fake.WaitForMessages(1, 15*time.Second)
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Text, "50.00")

	out, code = run("", "simulate", "opn", "nosuch.event", "--config", s.cfgPath)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "try one of")

	out, code = run("", "dingtalk", "test", "finance", "--config", s.cfgPath)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "ok: robots.finance accepted the test message (errcode 0)")
	require.Len(t, fake.WaitForMessages(2, 10*time.Second), 2)

	// A wrong signing secret: DingTalk's errcode, its message and what to fix.
	wrong := filepath.Join(dir, "wrong-secret.yaml")
	require.NoError(t, os.WriteFile(wrong, []byte(strings.Replace(string(cfg), dtSecret, "SECwrongwrongwrong", 1)), 0o600))
	out, code = run("", "dingtalk", "test", "finance", "--config", wrong)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "errcode 310000")
	require.Contains(t, out, "fix: ")
	require.NotContains(t, out, "SECwrongwrongwrong", "the secret is never printed")
	require.NotContains(t, out, fake.Token(), "the access token is never printed")

	out, code = run("", "version")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "go1.")
}

// TestE2E_RemovedRobotIsDeadLetteredThenRetried: a delivery queued for a
// robot that a reload removes is dead-lettered with a reason (not stranded),
// `deadletters list` shows it, and after the robot comes back
// `deadletters retry --all` delivers it; `replay` sends an event again.
func TestE2E_RemovedRobotIsDeadLetteredThenRetried(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret, DownMode: dingtalktest.DownUnavailable})
	fake.SetDown(true)
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	s := startServer(t, dir, p)
	r := s.postOpn("opn", keyA, time.Now(), chargeComplete("evnt_orphan", 4200, "THB"))
	require.Equal(t, 200, r.Status, r.Body)
	eventually(t, 10*time.Second, func() bool { return fake.Requests() >= 1 }, "no delivery attempt")

	// Reload without the finance robot: the route now goes to a console robot.
	without := strings.Replace(p.yaml(), "robots:\n  finance:", "robots:\n  preview:\n    type: console\n  unused:", 1)
	without = strings.Replace(without, "robot: finance", "robot: preview", 1)
	writeConfig(t, s.cfgPath, without)

	cli := func(args ...string) string {
		out, err := exec.Command(binPath, append(args, "--config", s.cfgPath)...).CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	eventually(t, 15*time.Second, func() bool {
		return strings.Contains(cli("deadletters", "list"), "evnt") || strings.Contains(cli("deadletters", "list"), idOf(t, r.Body))
	},
		"the delivery of the removed robot was not dead-lettered:\n%s", s.logs.String())
	list := cli("deadletters", "list")
	require.Contains(t, list, "finance")
	require.Contains(t, list, "config")

	// Put the robot back, DingTalk up, and retry everything dead.
	fake.SetDown(false)
	writeConfig(t, s.cfgPath, p.yaml())
	eventually(t, 10*time.Second, func() bool {
		return strings.Contains(s.logs.String(), `"msg":"config reloaded"`) &&
			strings.Count(s.logs.String(), `"msg":"config reloaded"`) >= 2
	}, "the restored config was not applied")
	require.Contains(t, cli("deadletters", "retry", "--all"), "1 deliveries requeued")
	msgs := fake.WaitForMessages(1, 15*time.Second)
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Text, "42.00")
	require.Contains(t, cli("deadletters", "list"), "no dead-lettered deliveries")

	// replay sends the event's deliveries again.
	require.Contains(t, cli("replay", idOf(t, r.Body)), "1 deliveries requeued")
	require.Len(t, fake.WaitForMessages(2, 15*time.Second), 2)
}
