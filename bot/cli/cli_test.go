package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
	"github.com/bankbot/bankbot/store"
)

var (
	opnKey    = base64.StdEncoding.EncodeToString([]byte("cli-test-opn-key"))
	stripeKey = "whsec_clitest0123456789abcdef"
	swKey     = "whsec_" + base64.StdEncoding.EncodeToString([]byte("cli-test-standard-webhooks-key!!"))
)

// goodConfig is a valid config with one source per provider and a console
// robot; extra is appended (more robots go under robotsExtra).
func goodConfig(dir, robotsExtra string) string {
	return fmt.Sprintf(`server:
  listen: "127.0.0.1:18080"
admin:
  listen: "127.0.0.1:0"
storage:
  dsn: %s
language: en
sources:
  opn:
    provider: omise
    secrets: [{value: %s}]
  stripe:
    provider: stripe
    secrets: [{value: %s}]
  sw:
    provider: standardwebhooks
    secrets: [{value: %s}]
robots:
  log:
    type: console
%sroutes:
  - name: all
    robot: log
`, filepath.Join(dir, "bankbot.db"), opnKey, stripeKey, swKey, robotsExtra)
}

type result struct {
	code           int
	stdout, stderr string
}

// run calls Main with args, the given config and stdin.
func run(t *testing.T, cfgPath, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if cfgPath != "" {
		args = append([]string{"--config", cfgPath}, args...)
	}
	code := Main(context.Background(), Env{
		Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Version: "1.2.3-test", Commit: "abc1234",
		Lookup: func(string) (string, bool) { return "", false },
	})
	return result{code, out.String(), errb.String()}
}

func writeConfig(t *testing.T, text string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(text, "@DIR@", dir)), 0o600))
	return dir, path
}

func newConfig(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(goodConfig(dir, "")), 0o600))
	return dir, path
}

// newConfigWith writes, into dir (sharing its database), the good config
// changed by edit, as a second file.
func newConfigWith(t *testing.T, dir string, edit func(string) string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, "config-edited.yaml")
	require.NoError(t, os.WriteFile(path, []byte(edit(goodConfig(dir, ""))), 0o600))
	return dir, path
}

func TestConfigCheck(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		_, path := newConfig(t)
		r := run(t, path, "", "config", "check")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		require.Equal(t, path+": OK (3 sources, 1 robot, 1 route)\n", r.stdout)
		require.Empty(t, r.stderr)
	})

	t.Run("valid, with warnings on stderr", func(t *testing.T) {
		cfg := strings.Replace(goodConfig("@DIR@", ""), "secrets: [{value: "+opnKey+"}]",
			"secrets: [{value: "+opnKey+"}, {value: "+opnKey+", expires: \"2001-01-01T00:00:00Z\"}]", 1)
		_, path := writeConfig(t, cfg)
		r := run(t, path, "", "config", "check")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		require.Equal(t, path+": OK (3 sources, 1 robot, 1 route)\n", r.stdout)
		require.Equal(t, "warning: sources.opn.secrets[1]: expired at 2001-01-01T00:00:00Z and is no longer accepted; remove it\n", r.stderr)
	})

	t.Run("one of each: singular counts", func(t *testing.T) {
		cfg := strings.Replace(goodConfig("@DIR@", ""), "  stripe:\n    provider: stripe\n    secrets: [{value: "+stripeKey+"}]\n", "", 1)
		cfg = strings.Replace(cfg, "  sw:\n    provider: standardwebhooks\n    secrets: [{value: "+swKey+"}]\n", "", 1)
		_, path := writeConfig(t, cfg)
		r := run(t, path, "", "config", "check")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		require.Equal(t, path+": OK (1 source, 1 robot, 1 route)\n", r.stdout)
	})

	t.Run("warnings: one line each, naming the key path", func(t *testing.T) {
		cfg := strings.Replace(goodConfig("@DIR@", "  web:\n    webhook: http://oapi.dingtalk.com/robot/send?access_token=abc\n    secret: SECabc\n"),
			"secrets: [{value: "+stripeKey+"}]", "secrets: [{value: sk_live_pasted}]", 1)
		cfg = strings.Replace(cfg, "    robot: log\n", "    robot: log\n    sources: [opn, stripe]\n", 1)
		_, path := writeConfig(t, cfg)
		r := run(t, path, "", "config", "check")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		require.Equal(t, path+": OK (3 sources, 2 robots, 1 route)\n", r.stdout)
		require.Equal(t, []string{
			"warning: sources.stripe.secrets[0].value: this is a Stripe API key (sk_…), not a webhook signing secret: every webhook will get 401; copy the endpoint's signing secret (whsec_…) from the Stripe dashboard (Developers → Webhooks) and revoke the exposed key",
			"warning: sources.sw: no route takes its events; add sw to a route's sources (or leave a route's sources empty to take every source)",
			"warning: robots.web.webhook: uses http://, so the access_token and every message cross the network unencrypted; use the https:// URL from the robot's settings",
		}, strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n"))
		require.NotContains(t, r.stderr, "sk_live_pasted")
	})

	tests := []struct {
		name  string
		edit  func(dir, cfg string) string
		lines []string // exactly the lines printed, one per problem
	}{
		{"two problems, one line each with its key path", func(_, cfg string) string {
			cfg = strings.Replace(cfg, "language: en", "language: xx", 1)
			return strings.Replace(cfg, "    robot: log\n", "    robot: nobody\n", 1)
		}, []string{
			`language: must be one of th, en, zh, id (got "xx")`,
			`routes[0].robot: no robot named "nobody" (robots: log)`,
		}},
		{"an unknown key does not hide the other problems", func(_, cfg string) string {
			cfg = strings.Replace(cfg, "language: en", "langauge: en\ntimezone: Mars/Olympus", 1)
			return strings.Replace(cfg, "    robot: log\n", "    robot: nobody\n", 1)
		}, []string{
			`langauge: unknown key (did you mean "language"?)`,
			`routes[0].robot: no robot named "nobody" (robots: log)`,
			`timezone: unknown time zone "Mars/Olympus" (use an IANA name such as Asia/Bangkok)`,
		}},
		{"YAML syntax error names its line and key", func(_, cfg string) string {
			return strings.Replace(cfg, "    provider: stripe\n", "    provider: stripe\n   oops: 1\n", 1)
		}, []string{
			`sources.stripe.oops: not valid YAML at line 14: did not find expected key`,
		}},
		{"unknown key with a suggestion", func(_, cfg string) string {
			return strings.Replace(cfg, "language: en", "langauge: en", 1)
		}, []string{`langauge: unknown key (did you mean "language"?)`}},
		{"bad secret and expiry", func(_, cfg string) string {
			return strings.Replace(cfg, "secrets: [{value: "+opnKey+"}]", `secrets: [{value: "not base64!", expires: "next week"}]`, 1)
		}, []string{
			`sources.opn.secrets[0].expires: not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z): "next week"`,
			`sources.opn.secrets[0].value: omise: secret is not standard base64 (Opn webhook secrets are base64; paste it exactly as the dashboard shows it)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.edit(dir, goodConfig(dir, ""))), 0o600))
			r := run(t, path, "", "config", "check")
			require.Equal(t, 1, r.code)
			require.Equal(t, strings.Join(tc.lines, "\n")+"\n", r.stdout)
		})
	}

	t.Run("template that fails validation", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "tpl"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tpl", "x.en.tmpl"), []byte(`{{define "other"}}### {{.Event.Nope}}{{end}}`), 0o600))
		path := filepath.Join(dir, "config.yaml")
		require.NoError(t, os.WriteFile(path, []byte(goodConfig(dir, "")+"templates:\n  dir: tpl\n"), 0o600))
		r := run(t, path, "", "config", "check")
		require.Equal(t, 1, r.code)
		require.True(t, strings.HasPrefix(r.stdout, "templates: "), r.stdout)
		require.Contains(t, r.stdout, "x.en.tmpl")
	})

	t.Run("template problems reported with the other problems", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "tpl"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tpl", "x.en.tmpl"), []byte(`{{define "other"}}### {{.Event.Nope}}{{end}}`), 0o600))
		path := filepath.Join(dir, "config.yaml")
		cfg := strings.Replace(goodConfig(dir, ""), "provider: omise", "provider: omize", 1) + "templates:\n  dir: tpl\n"
		require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
		r := run(t, path, "", "config", "check")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stdout, `sources.opn.provider: unknown provider "omize"`)
		require.Contains(t, r.stdout, "templates: ")
		require.Contains(t, r.stdout, "x.en.tmpl")
	})

	t.Run("missing file", func(t *testing.T) {
		r := run(t, filepath.Join(t.TempDir(), "nope.yaml"), "", "config", "check")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stdout, "nope.yaml")
	})

	t.Run("BANKBOT_CONFIG names the file", func(t *testing.T) {
		_, path := newConfig(t)
		var out bytes.Buffer
		code := Main(context.Background(), Env{
			Args: []string{"config", "check"}, Stdout: &out, Stderr: io.Discard,
			Lookup: func(k string) (string, bool) { return path, k == "BANKBOT_CONFIG" },
		})
		require.Equal(t, 0, code)
		require.Contains(t, out.String(), path+": OK")
	})
}

// parseHeaders reads "Name: value" lines.
func parseHeaders(t *testing.T, text string) http.Header {
	t.Helper()
	h := http.Header{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		require.True(t, ok, "not a header line: %q", sc.Text())
		h.Add(k, v)
	}
	return h
}

func TestSign(t *testing.T) {
	_, path := newConfig(t)
	body := `{"object":"event","id":"evnt_sign","key":"charge.complete","data":{"object":"charge","amount":100,"currency":"thb","status":"successful"}}`
	tests := []struct {
		source, provider, secret string
		args                     []string
		wantHeaders              []string
	}{
		{"opn", "omise", opnKey, nil, []string{"Content-Type", "Omise-Signature", "Omise-Signature-Timestamp"}},
		{"stripe", "stripe", stripeKey, nil, []string{"Content-Type", "Stripe-Signature"}},
		{"sw", "standardwebhooks", swKey, []string{"--id", "msg_fixed"}, []string{"Content-Type", "Webhook-Id", "Webhook-Signature", "Webhook-Timestamp"}},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			r := run(t, path, body, append([]string{"sign", tc.source}, tc.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			h := parseHeaders(t, r.stdout)
			var names []string
			for k := range h {
				names = append(names, k)
			}
			require.ElementsMatch(t, tc.wantHeaders, names)

			prov, ok := bankhooks.Lookup(tc.provider)
			require.True(t, ok)
			mat, err := prov.DecodeKey(tc.secret)
			require.NoError(t, err)
			_, err = prov.Verify(bankhooks.Request{Header: h, Body: []byte(body)},
				[]bankhooks.Key{{Name: "k", Material: mat}}, bankhooks.VerifyOptions{Now: time.Now()})
			require.NoError(t, err, "the printed headers verify")
			_, err = prov.Verify(bankhooks.Request{Header: h, Body: []byte(body + " ")},
				[]bankhooks.Key{{Name: "k", Material: mat}}, bankhooks.VerifyOptions{Now: time.Now()})
			require.ErrorIs(t, err, bankhooks.ErrSignatureMismatch, "and only for this body")
			if tc.source == "sw" {
				require.Equal(t, "msg_fixed", h.Get("Webhook-Id"))
			}
		})
	}

	t.Run("opn signature by hand", func(t *testing.T) {
		r := run(t, path, body, "sign", "opn")
		require.Equal(t, 0, r.code)
		h := parseHeaders(t, r.stdout)
		ts := h.Get("Omise-Signature-Timestamp")
		key, _ := base64.StdEncoding.DecodeString(opnKey)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(ts + "." + body))
		require.Equal(t, hex.EncodeToString(m.Sum(nil)), h.Get("Omise-Signature"))
		sec, err := strconv.ParseInt(ts, 10, 64)
		require.NoError(t, err)
		require.InDelta(t, time.Now().Unix(), sec, 60)
	})

	t.Run("unknown source", func(t *testing.T) {
		r := run(t, path, body, "sign", "nope")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, `no source named "nope" in the config (sources: opn, stripe, sw)`)
	})
}

// simulateOutput splits simulate's output into URL, headers, body and rest.
func simulateOutput(t *testing.T, out string) (url string, h http.Header, body, rest string) {
	t.Helper()
	first, after, ok := strings.Cut(out, "\n")
	require.True(t, ok)
	url, ok = strings.CutPrefix(first, "POST ")
	require.True(t, ok, first)
	headers, after, ok := strings.Cut(after, "\n\n")
	require.True(t, ok)
	body, rest, ok = strings.Cut(after, "\n\n")
	require.True(t, ok)
	return url, parseHeaders(t, headers), body, rest
}

func TestSimulate(t *testing.T) {
	_, path := newConfig(t)
	key, _ := bankhooks.Omise{}.DecodeKey(opnKey)
	keys := []bankhooks.Key{{Name: "k", Material: key}}

	t.Run("--print", func(t *testing.T) {
		r := run(t, path, "", "simulate", "opn", "--print", "--amount", "123456", "--currency", "JPY")
		require.Equal(t, 0, r.code, r.stderr)
		url, h, body, rest := simulateOutput(t, r.stdout)
		require.Equal(t, "http://127.0.0.1:18080/hooks/opn", url)
		require.Empty(t, rest)
		req := bankhooks.Request{Header: h, Body: []byte(body)}
		_, err := bankhooks.Omise{}.Verify(req, keys, bankhooks.VerifyOptions{Now: time.Now()})
		require.NoError(t, err)
		ev, err := bankhooks.Omise{}.Parse(req)
		require.NoError(t, err)
		require.Equal(t, bankhooks.KindPaymentSucceeded, ev.Kind)
		require.Equal(t, int64(123456), ev.Amount)
		require.Equal(t, "JPY", ev.Currency)
	})

	t.Run("unknown event type", func(t *testing.T) {
		r := run(t, path, "", "simulate", "opn", "nope.event", "--print")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, `omise cannot simulate "nope.event"; try one of: charge.complete`)
	})

	// A stand-in server that verifies like bankbot: 200 or 401.
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Header.Clone())
		w.Header().Set("Content-Type", "application/json")
		if _, err := (bankhooks.Omise{}).Verify(bankhooks.Request{Header: r.Header, Body: b}, keys, bankhooks.VerifyOptions{Now: time.Now()}); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":%q,"message":"no"}`, bankhooks.Reason(err))
			return
		}
		fmt.Fprint(w, `{"status":"accepted","id":"ev_x"}`)
	}))
	t.Cleanup(srv.Close)

	t.Run("--url, accepted", func(t *testing.T) {
		r := run(t, path, "", "simulate", "opn", "charge.complete:failed", "--url", srv.URL+"/hooks/opn")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		_, h, _, rest := simulateOutput(t, r.stdout)
		require.Equal(t, "→ 200 OK\n"+`{"status":"accepted","id":"ev_x"}`+"\n", rest)
		require.Equal(t, h.Get("Omise-Signature"), got[len(got)-1].Get("Omise-Signature"), "what was printed was sent")
	})

	t.Run("--url, 401 exits 1", func(t *testing.T) {
		other := goodConfig(t.TempDir(), "")
		other = strings.Replace(other, opnKey, base64.StdEncoding.EncodeToString([]byte("some other key")), 1)
		_, otherPath := writeConfig(t, other)
		r := run(t, otherPath, "", "simulate", "opn", "--url", srv.URL+"/hooks/opn")
		require.Equal(t, 1, r.code)
		_, _, _, rest := simulateOutput(t, r.stdout)
		require.Equal(t, "→ 401 Unauthorized\n"+`{"error":"bad_signature","message":"no"}`+"\n", rest)
		require.Empty(t, r.stderr, "the reply says it all")
	})

	t.Run("nothing listening", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		r := run(t, path, "", "simulate", "opn", "--url", dead.URL+"/hooks/opn")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "is `bankbot serve` running?")
	})
}

func TestVersion(t *testing.T) {
	r := run(t, "", "", "version")
	require.Equal(t, 0, r.code)
	require.Equal(t, fmt.Sprintf("bankbot 1.2.3-test\ncommit abc1234\n%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH), r.stdout)
}

// seed stores an event with one delivery per robot name and returns the
// event id and delivery ids.
func seed(t *testing.T, dbPath, eventID string, robots ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, dbPath)
	require.NoError(t, err)
	defer st.Close()
	now := time.Now()
	_, err = st.InsertEvent(ctx, store.NewEvent{
		ID: eventID, Source: "opn", ReceivedAt: now, RemoteIP: "203.0.113.1", Body: []byte(`{}`),
		Event: bankhooks.Event{Provider: "omise", ID: "evnt_" + eventID, Type: "charge.complete", Kind: bankhooks.KindPaymentSucceeded, Amount: 100, Currency: "THB"},
	})
	require.NoError(t, err)
	var ds []store.NewDelivery
	for _, r := range robots {
		ds = append(ds, store.NewDelivery{Route: "to-" + r, Robot: r, Spec: []byte(`{"template":"default","language":"en"}`)})
	}
	require.NoError(t, st.RouteEvent(ctx, eventID, ds, now))
	var ids []int64
	for _, r := range robots {
		c, err := st.ClaimDeliveries(ctx, store.Claim{Robot: r, Owner: "test", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 1})
		require.NoError(t, err)
		require.Len(t, c, 1)
		ids = append(ids, c[0].ID)
	}
	return ids
}

func openTestStore(t *testing.T, dbPath string) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), dbPath)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestDeadletters(t *testing.T) {
	dir, path := newConfig(t)
	db := filepath.Join(dir, "bankbot.db")
	ctx := context.Background()

	t.Run("list, empty", func(t *testing.T) {
		for _, args := range [][]string{{"deadletters"}, {"deadletters", "list"}} {
			r := run(t, path, "", args...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Equal(t, "no dead-lettered deliveries\n", r.stdout)
		}
	})

	ids := seed(t, db, "ev_dead1", "log", "other")
	func() {
		st, err := store.OpenSQLite(ctx, db)
		require.NoError(t, err)
		defer st.Close()
		require.NoError(t, st.DeadLetter(ctx, ids[0], store.Attempt{At: time.Now(), Reason: "permanent", Error: "dingtalk: errcode 400102: robot disabled"}))
		require.NoError(t, st.CompleteDelivery(ctx, ids[1], store.Attempt{At: time.Now(), Reason: "ok"}))
	}()

	t.Run("list shows the dead row", func(t *testing.T) {
		r := run(t, path, "", "deadletters", "list")
		require.Equal(t, 0, r.code, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 2)
		require.Regexp(t, `^ID\s+EVENT\s+SOURCE\s+KIND\s+AMOUNT\s+REFERENCE\s+ROBOT\s+ROUTE\s+MESSAGE\s+ATTEMPTS\s+REASON\s+UPDATED\s+LAST ERROR$`, lines[0])
		require.Regexp(t, regexp.MustCompile(`^`+strconv.FormatInt(ids[0], 10)+`\s+ev_dead1\s+opn\s+payment.succeeded\s+THB 1.00\s+-\s+log\s+to-log\s+-\s+1\s+permanent\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+dingtalk: errcode 400102`), lines[1])
	})

	t.Run("retry a row that is not dead", func(t *testing.T) {
		r := run(t, path, "", "deadletters", "retry", strconv.FormatInt(ids[1], 10))
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, fmt.Sprintf("delivery %d:", ids[1]))
		require.Contains(t, r.stderr, "conflict")
	})

	t.Run("bad arguments", func(t *testing.T) {
		for _, args := range [][]string{{"deadletters", "retry"}, {"deadletters", "retry", "abc"}, {"deadletters", "retry", "1", "--all"}} {
			r := run(t, path, "", args...)
			require.Equal(t, 1, r.code, "%v", args)
			require.NotEmpty(t, r.stderr)
		}
	})

	t.Run("retry ID", func(t *testing.T) {
		r := run(t, path, "", "deadletters", "retry", strconv.FormatInt(ids[0], 10))
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, "1 deliveries requeued; the running server sends them within 1s\n", r.stdout)
		d, err := openTestStore(t, db).GetDelivery(ctx, ids[0])
		require.NoError(t, err)
		require.Equal(t, store.StatusPending, d.Status)
		require.Equal(t, 1, d.Attempts, "the attempt log is kept")
		r = run(t, path, "", "deadletters", "list")
		require.Equal(t, "no dead-lettered deliveries\n", r.stdout)
	})

	t.Run("retry --all", func(t *testing.T) {
		more := seed(t, db, "ev_dead2", "log")
		more = append(more, seed(t, db, "ev_dead3", "log")...)
		func() {
			st, err := store.OpenSQLite(ctx, db)
			require.NoError(t, err)
			defer st.Close()
			for _, id := range more {
				require.NoError(t, st.DeadLetter(ctx, id, store.Attempt{At: time.Now(), Reason: "server"}))
			}
		}()
		r := run(t, path, "", "deadletters", "retry", "--all")
		require.Equal(t, 0, r.code, r.stderr)
		require.True(t, strings.HasPrefix(r.stdout, "2 deliveries requeued"), r.stdout)
		for _, id := range more {
			d, err := openTestStore(t, db).GetDelivery(ctx, id)
			require.NoError(t, err)
			require.Equal(t, store.StatusPending, d.Status)
		}
	})

	t.Run("retry after the robot was renamed goes to the route's robot of today", func(t *testing.T) {
		// Dead-lettered for robot "finance" on route "all"; the config now
		// routes "all" to "log" (the robot was renamed).
		ids := seed(t, db, "ev_renamed", "finance")
		func() {
			st, err := store.OpenSQLite(ctx, db)
			require.NoError(t, err)
			defer st.Close()
			d, err := st.GetDelivery(ctx, ids[0])
			require.NoError(t, err)
			require.Equal(t, "to-finance", d.Route)
			require.NoError(t, st.DeadLetter(ctx, ids[0], store.Attempt{At: time.Now(), Reason: "config"}))
			// Put the row on route "all", as the config had it.
			_, err = st.RerouteEvent(ctx, "ev_renamed", []store.NewDelivery{{Route: "all", Robot: "finance", Spec: d.Spec}}, time.Now())
			require.NoError(t, err)
			c, err := st.ClaimDeliveries(ctx, store.Claim{Robot: "finance", Owner: "t", Now: time.Now().Add(time.Second), LeaseUntil: time.Now().Add(time.Minute), Limit: 10})
			require.NoError(t, err)
			for _, d := range c {
				require.NoError(t, st.DeadLetter(ctx, d.ID, store.Attempt{At: time.Now(), Reason: "config", Error: `robot "finance" is not configured any more`}))
				ids = append(ids, d.ID)
			}
		}()
		allID := ids[len(ids)-1]
		r := run(t, path, "", "deadletters", "retry", strconv.FormatInt(allID, 10))
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, `robot "finance" is no longer configured; sent through route "all" to robot "log"`)
		d, err := openTestStore(t, db).GetDelivery(ctx, allID)
		require.NoError(t, err)
		require.Equal(t, store.StatusPending, d.Status)
		require.Equal(t, "log", d.Robot)

		// Its other row is on a route that no longer exists: a clear error.
		r = run(t, path, "", "deadletters", "retry", strconv.FormatInt(ids[0], 10))
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "are no longer configured; `bankbot replay ev_renamed` sends the event through today's routes")
	})
}

func TestReplay(t *testing.T) {
	dir, path := newConfig(t)
	db := filepath.Join(dir, "bankbot.db")
	ids := seed(t, db, "ev_replay", "log")
	func() {
		st, err := store.OpenSQLite(context.Background(), db)
		require.NoError(t, err)
		defer st.Close()
		require.NoError(t, st.CompleteDelivery(context.Background(), ids[0], store.Attempt{At: time.Now(), Reason: "ok"}))
	}()

	r := run(t, path, "", "replay", "ev_replay")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "event ev_replay: 1 deliveries requeued\n", r.stdout)
	list, err := openTestStore(t, db).ListDeliveries(context.Background(), store.DeliveryFilter{EventID: "ev_replay"})
	require.NoError(t, err)
	var viaAll *store.Delivery
	for i := range list {
		if list[i].Route == "all" {
			viaAll = &list[i]
		}
	}
	require.NotNil(t, viaAll, "replay goes through today's route \"all\"")
	require.Equal(t, store.StatusPending, viaAll.Status)
	require.Equal(t, "log", viaAll.Robot)
	d, err := openTestStore(t, db).GetDelivery(context.Background(), ids[0])
	require.NoError(t, err)
	require.Equal(t, store.StatusSent, d.Status, "the old route's row is left as it was")

	r = run(t, path, "", "replay", "ev_nope")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "event ev_nope:")
	require.Contains(t, r.stderr, "not found")

	t.Run("event that no route of today takes", func(t *testing.T) {
		_, path := newConfigWith(t, dir, func(cfg string) string {
			return strings.Replace(cfg, "  - name: all\n    robot: log\n", "  - name: all\n    robot: log\n    sources: [stripe]\n", 1)
		})
		r := run(t, path, "", "replay", "ev_replay")
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, "event ev_replay matches no route of the current config; nothing to send\n", r.stdout)
	})
}

func TestDingtalkTest(t *testing.T) {
	const secret = "SECclitest0123456789abcdef0123456789abcdef0123456789abcdef012345"
	dt := dingtalktest.New(t, dingtalktest.Options{Secret: secret})
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(goodConfig(dir, dt.RobotYAML("dt"))), 0o600))

	r := run(t, path, "", "dingtalk", "test", "dt")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Equal(t, "ok: robots.dt accepted the test message (errcode 0)\n", r.stdout)
	msgs := dt.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "bankbot test message", msgs[0].Title)

	dt.Script(dingtalktest.Response{ErrCode: 310000, ErrMsg: "sign not match"})
	r = run(t, path, "", "dingtalk", "test", "dt")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, "robots.dt: errcode 310000: sign not match\n")
	require.Contains(t, r.stdout, "fix: ")
	require.NotContains(t, r.stdout+r.stderr, dt.Token())
	require.NotContains(t, r.stdout+r.stderr, secret)

	require.Contains(t, r.stdout, "fix: the robot's secret (SEC…) does not match the robot's 加签 setting, or the server clock is off by more than 1 hour; copy robots.dt.secret again\n")
	require.NotContains(t, r.stdout, "<name>")
	require.NotContains(t, r.stdout, "[config/")

	r = run(t, path, "", "dingtalk", "test", "nope")
	require.Equal(t, 1, r.code)
	require.Equal(t, "bankbot: no robot named \"nope\" in the config (robots: dt, log)\n", r.stderr)

	// The test messages took slots of the robot's budget in the store, as
	// the server's sends do; with the spread rule's 5 in 15.5 s used up, the
	// next test is refused before it reaches DingTalk.
	for range 3 {
		r = run(t, path, "", "dingtalk", "test", "dt")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
	}
	before := dt.Requests()
	r = run(t, path, "", "dingtalk", "test", "dt")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, "robots.dt: its budget of 20 messages a minute is in use; try again after ")
	require.Equal(t, before, dt.Requests(), "nothing was sent")
}

// TestDingtalkTest_Failures: what DingTalk answered is said as it is (an
// HTTP failure is "HTTP 500", never "errcode 0"), without internal tags, and
// the fix names this robot's keys.
func TestDingtalkTest_Failures(t *testing.T) {
	const secret = "SECclitest0123456789abcdef0123456789abcdef0123456789abcdef012345"
	tests := []struct {
		name   string
		script dingtalktest.Response
		want   []string // the lines printed
	}{
		{"http 500", dingtalktest.Response{Status: 500, Body: "oops"}, []string{
			"robots.dt: HTTP 500: oops",
			"fix: DingTalk had a server error; the message is retried, nothing needs changing unless it persists",
		}},
		{"http 404", dingtalktest.Response{Status: 404, Body: "not found"}, []string{
			"robots.dt: HTTP 404: not found",
			"fix: the webhook URL path is wrong: it must be https://oapi.dingtalk.com/robot/send?access_token=… (robots.dt.webhook)",
		}},
		{"token", dingtalktest.Response{ErrCode: 300001, ErrMsg: "token is not exist"}, []string{
			"robots.dt: errcode 300001: token is not exist",
			"fix: the access_token in robots.dt.webhook is wrong; copy the webhook URL again from the robot's settings",
		}},
		{"rate limited", dingtalktest.Response{ErrCode: 410100, ErrMsg: "send too fast"}, []string{
			"robots.dt: errcode 410100: send too fast",
			"fix: the robot sent more than 20 messages in a minute and is blocked for 10 minutes; lower robots.dt.rate_per_minute or route fewer events to it",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dt := dingtalktest.New(t, dingtalktest.Options{Secret: secret})
			dir := t.TempDir()
			path := filepath.Join(dir, "config.yaml")
			require.NoError(t, os.WriteFile(path, []byte(goodConfig(dir, dt.RobotYAML("dt"))), 0o600))
			dt.Script(tc.script)
			r := run(t, path, "", "dingtalk", "test", "dt")
			require.Equal(t, 1, r.code)
			require.Equal(t, strings.Join(tc.want, "\n")+"\n", r.stdout)
			require.NotContains(t, r.stdout, "errcode 0")
			require.NotRegexp(t, `\[[a-z_]+/[a-z_]+\]`, r.stdout, "no internal class/reason tags")
		})
	}
}

// TestSign_Rotation: during a key rotation sign uses the new key (the one
// without expiry), and --all-keys signs with every active key as a provider
// does; an expired key is never used.
func TestSign_Rotation(t *testing.T) {
	oldKey := base64.StdEncoding.EncodeToString([]byte("cli-old-key"))
	newKey := base64.StdEncoding.EncodeToString([]byte("cli-new-key"))
	deadKey := base64.StdEncoding.EncodeToString([]byte("cli-dead-key"))
	cfg := goodConfig("@DIR@", "")
	cfg = strings.Replace(cfg, "secrets: [{value: "+opnKey+"}]", fmt.Sprintf(
		"secrets:\n      - {value: %s, expires: %q}\n      - {value: %s, expires: \"2000-01-01T00:00:00Z\"}\n      - {value: %s}",
		oldKey, time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339), deadKey, newKey), 1)
	_, path := writeConfig(t, cfg)
	body := `{"object":"event","id":"evnt_rot"}`
	verifies := func(h http.Header, key string) bool {
		mat, err := bankhooks.Omise{}.DecodeKey(key)
		require.NoError(t, err)
		_, err = bankhooks.Omise{}.Verify(bankhooks.Request{Header: h, Body: []byte(body)},
			[]bankhooks.Key{{Name: "k", Material: mat}}, bankhooks.VerifyOptions{Now: time.Now()})
		return err == nil
	}

	r := run(t, path, body, "sign", "opn")
	require.Equal(t, 0, r.code, r.stderr)
	h := parseHeaders(t, r.stdout)
	require.True(t, verifies(h, newKey))
	require.False(t, verifies(h, oldKey))
	require.NotContains(t, h.Get("Omise-Signature"), ",")

	r = run(t, path, body, "sign", "opn", "--all-keys")
	require.Equal(t, 0, r.code, r.stderr)
	h = parseHeaders(t, r.stdout)
	require.True(t, verifies(h, newKey))
	require.True(t, verifies(h, oldKey))
	require.False(t, verifies(h, deadKey))
	require.Len(t, strings.Split(h.Get("Omise-Signature"), ","), 2)
}

// TestSign_BodyOverLimit: sign must never print a signature that does not
// cover the body it was given. It reads at most server.max_body_bytes+1
// bytes; a longer body has to be refused, not silently signed truncated.
func TestSign_BodyOverLimit(t *testing.T) {
	cfg := strings.Replace(goodConfig("@DIR@", ""), "server:\n", "server:\n  max_body_bytes: 1024\n", 1)
	_, path := writeConfig(t, cfg)
	body := `{"object":"event","id":"evnt_big","pad":"` + strings.Repeat("x", 2000) + `"}`
	r := run(t, path, body, "sign", "opn")
	if r.code == 0 {
		mat, _ := bankhooks.Omise{}.DecodeKey(opnKey)
		_, err := bankhooks.Omise{}.Verify(bankhooks.Request{Header: parseHeaders(t, r.stdout), Body: []byte(body)},
			[]bankhooks.Key{{Name: "k", Material: mat}}, bankhooks.VerifyOptions{Now: time.Now()})
		require.NoError(t, err, "exit 0, but the printed signature does not cover the body that was given")
		return
	}
	require.Contains(t, r.stderr, "max_body_bytes")
}

func TestHookURL(t *testing.T) {
	tests := []struct{ listen, want string }{
		{":8080", "http://127.0.0.1:8080/hooks/opn"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/hooks/opn"},
		{"[::]:9000", "http://127.0.0.1:9000/hooks/opn"},
		{"10.1.2.3:80", "http://10.1.2.3:80/hooks/opn"},
		{"[::1]:8080", "http://[::1]:8080/hooks/opn"},
		{"localhost:8080", "http://localhost:8080/hooks/opn"},
		{"garbage", "http://127.0.0.1:8080/hooks/opn"},
	}
	for _, tc := range tests {
		t.Run(tc.listen, func(t *testing.T) {
			require.Equal(t, tc.want, hookURL(tc.listen, "opn"))
		})
	}
}
