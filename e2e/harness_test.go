// Package e2e builds the real bankbot binary, starts it on a temporary config
// and drives it over HTTP, with a fake DingTalk (dingtalktest) checking every
// signed request. No test touches the internet.
package e2e

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bankbot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "bankbot")
	args := []string{"build", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "..")
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build bankbot:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Keys used by the tests: Opn secrets are base64; the signing key is the decoded bytes.
const (
	keyA       = "a2V5LUEtZm9yLWJhbmtib3QtZTJlLXRlc3Rz" // "key-A-for-bankbot-e2e-tests"
	keyB       = "a2V5LUItZm9yLWJhbmtib3QtZTJlLXRlc3Rz" // "key-B-for-bankbot-e2e-tests"
	dtSecret   = "SECe2e0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
	adminToken = "e2e-admin-token"
)

// opnSign signs like Opn: hex HMAC-SHA256 over "<ts>.<body>" keyed by the
// base64-decoded secret. Computed here, independently of bankhooks.
func opnSign(t *testing.T, secretB64 string, ts int64, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(secretB64)
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func chargeComplete(id string, amount int64, currency string) []byte {
	return []byte(fmt.Sprintf(`{"object":"event","id":%q,"livemode":false,"location":"/events/%s","key":"charge.complete","created_at":"2026-11-21T10:00:00Z","data":{"object":"charge","id":"chrg_test_%s","livemode":false,"amount":%d,"currency":%q,"status":"successful","paid":true,"description":"Order 1001","created_at":"2026-11-21T09:59:58Z","source":{"object":"source","type":"promptpay"}}}`,
		id, id, id, amount, strings.ToLower(currency)))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// syncBuffer collects the server's log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is one bankbot process under test.
type server struct {
	t        *testing.T
	dir      string
	cfgPath  string
	hookAddr string
	admin    string
	logs     *syncBuffer
	cmd      *exec.Cmd
	done     chan struct{}
}

// params fill the test config template.
type params struct {
	HookAddr, AdminAddr, DB     string
	DingTalkURL, DingTalkSecret string
	Secrets                     string // YAML list items under sources.opn.secrets
	Extra                       string // appended YAML
	RobotExtra                  string // YAML lines under robots.finance (indented 4 spaces)
	Storage                     string // replaces the storage block (default: sqlite at DB)
	Server                      string // YAML lines under server: (indented 2 spaces)
	WalledAllow                 string // sources.walled.allow_ips (default: [10.9.9.0/24])
	SourcesExtra                string // YAML lines under sources: (indented 2 spaces)
}

func (p params) yaml() string {
	secrets := p.Secrets
	if secrets == "" {
		secrets = "      - value: " + keyA + "\n"
	}
	storage := p.Storage
	if storage == "" {
		storage = "storage:\n  driver: sqlite\n  dsn: " + p.DB
	}
	walledAllow := p.WalledAllow
	if walledAllow == "" {
		walledAllow = "[10.9.9.0/24]"
	}
	return fmt.Sprintf(`server:
  listen: %q
  max_body_bytes: 4096
%sadmin:
  listen: %q
  token: %s
%s
timezone: Asia/Bangkok
language: en
log:
  level: debug
  format: json
delivery:
  retry:
    initial: 200ms
    max_interval: 1s
  lease: 5s
  poll_interval: 200ms
sources:
  opn:
    provider: omise
    secrets:
%s  walled:
    provider: omise
    secrets:
      - value: %s
    allow_ips: %s
%srobots:
  finance:
    webhook: %s
    secret: %s
    timeout: 2s
%sroutes:
  - name: payments
    sources: [opn, walled]
    robot: finance
    language: en
%s`, p.HookAddr, p.Server, p.AdminAddr, adminToken, storage, secrets, keyA, walledAllow, p.SourcesExtra, p.DingTalkURL, p.DingTalkSecret, p.RobotExtra, p.Extra)
}

func newParams(t *testing.T, fake *dingtalktest.Server, dir string) params {
	return params{
		HookAddr: freeAddr(t), AdminAddr: freeAddr(t), DB: filepath.Join(dir, "bankbot.db"),
		DingTalkURL: fake.URL(), DingTalkSecret: dtSecret,
	}
}

// writeConfig writes the config the way editors do: a temp file renamed over
// the old one.
func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

func startServer(t *testing.T, dir string, p params) *server {
	t.Helper()
	s := &server{t: t, dir: dir, cfgPath: filepath.Join(dir, "config.yaml"), hookAddr: p.HookAddr, admin: p.AdminAddr, logs: &syncBuffer{}}
	writeConfig(t, s.cfgPath, p.yaml())
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	s.t.Helper()
	s.cmd = exec.Command(binPath, "serve", "--config", s.cfgPath)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1")
	require.NoError(s.t, s.cmd.Start())
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.t.Fatalf("bankbot exited at start:\n%s", s.logs.String())
		default:
		}
		resp, err := http.Get("http://" + s.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("bankbot not ready within 20s:\n%s", s.logs.String())
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("bankbot did not stop within 20s of SIGTERM")
	}
	if s.t.Failed() {
		s.t.Logf("bankbot logs:\n%s", s.logs.String())
	}
	if strings.Contains(s.logs.String(), "WARNING: DATA RACE") {
		s.t.Errorf("the race detector fired in bankbot:\n%s", s.logs.String())
	}
}

// kill9 kills the process without any chance to clean up.
func (s *server) kill9() {
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGKILL))
	<-s.done
}

func (s *server) url(source string) string { return "http://" + s.hookAddr + "/hooks/" + source }

type reply struct {
	Status int
	Body   string
}

func (s *server) post(source string, body []byte, header map[string]string) reply {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url(source), bytes.NewReader(body))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b)}
}

// postOpn signs body with secret at ts and posts it.
func (s *server) postOpn(source, secret string, ts time.Time, body []byte) reply {
	s.t.Helper()
	return s.post(source, body, map[string]string{
		"Omise-Signature":           opnSign(s.t, secret, ts.Unix(), body),
		"Omise-Signature-Timestamp": strconv.FormatInt(ts.Unix(), 10),
	})
}

// metric returns the value of one sample line of /metrics, or "" when absent.
func (s *server) metric(name string) string {
	s.t.Helper()
	resp, err := http.Get("http://" + s.admin + "/metrics")
	require.NoError(s.t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") {
			return strings.TrimSpace(strings.TrimPrefix(line, name))
		}
	}
	return ""
}

// eventually polls cond every 50ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, msg string, args ...any) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf(msg, args...)
	return 0
}
