package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

func received(a *App, source, result string) float64 {
	return metricValue(a.metrics.Received.WithLabelValues(source, result))
}

// TestIngest_Accepted_StoredByteExact proves the durable acknowledgement
// (anchors §8.1.1): a 200 "accepted" means the raw body, kept headers, ip and
// receive time are in the store, and the signature is not kept.
func TestIngest_Accepted_StoredByteExact(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	// Odd spacing, key order and escapes: a re-encoded body would differ.
	body := []byte("{ \"object\" : \"event\",\"id\":\"evnt_test_1\" ,\"livemode\":false,\"key\":\"charge.complete\",\n" +
		"\"created_at\":\"2026-11-21T09:59:59Z\",\"data\":{\"object\":\"charge\",\"id\":\"chrg_1\",\"amount\":5000,\"currency\":\"thb\"," +
		"\"status\":\"successful\",\"description\":\"caf\\u00e9 \\\"q\\\" \u0e44\u0e17\u0e22\"}}\t\n")
	req := hookRequest(t, "opn", keyA, ta.clock.Now(), body)
	req.Header.Set("X-Request-Id", "req-123")
	req.Header.Set("Authorization", "Bearer should-not-be-kept")
	req.Header.Set("Cookie", "session=should-not-be-kept")
	r := serve(t, ta.hookRouter(), req)
	require.Equal(t, http.StatusOK, r.Code)
	require.Equal(t, "accepted", r.Status)
	require.Regexp(t, `^ev_[0-9a-z]{26}$`, r.ID)
	require.Equal(t, 1.0, received(ta.App, "opn", "accepted"))

	ev, err := ta.store.GetEvent(context.Background(), r.ID)
	require.NoError(t, err)
	require.Equal(t, body, ev.Body, "raw body byte-exact")
	require.Equal(t, "opn", ev.Source)
	require.Equal(t, "evnt_test_1", ev.Event.ID)
	require.Equal(t, bankhooks.KindPaymentSucceeded, ev.Event.Kind)
	require.Equal(t, int64(5000), ev.Event.Amount)
	require.Equal(t, "203.0.113.10", ev.RemoteIP)
	require.True(t, t0.Equal(ev.ReceivedAt), "received at %s", ev.ReceivedAt)
	require.True(t, t0.Equal(ev.RoutedAt), "routed in the same commit as the event")
	ds, err := ta.store.ListDeliveries(context.Background(), store.DeliveryFilter{EventID: r.ID})
	require.NoError(t, err)
	require.Len(t, ds, 1, "its outbox row was written with it")
	require.Equal(t, store.StatusPending, ds[0].Status)
	require.Equal(t, "req-123", ev.Headers["X-Request-Id"])
	require.Equal(t, "application/json", ev.Headers["Content-Type"])
	for k, v := range ev.Headers {
		lk := strings.ToLower(k)
		require.NotContains(t, lk, "signature", "signature header %s kept", k)
		require.NotEqual(t, "authorization", lk)
		require.NotEqual(t, "cookie", lk)
		require.NotContains(t, v, req.Header.Get("Omise-Signature"))
	}
}

// TestIngest_Duplicate_200_NotResent (anchors §8.1.3): the same provider
// event twice is answered 200 "duplicate" with the first id, and routed once.
func TestIngest_Duplicate_200_NotResent(t *testing.T) {
	ta := newTestApp(t, testConfig{sources: "  opn:\n    provider: omise\n    secrets: [{value: " + keyA + "}]\n" +
		"  opn2:\n    provider: omise\n    secrets: [{value: " + keyA + "}]\n"})
	body := charge("evnt_dup", 5000, "THB", "x")
	first := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), body))
	require.Equal(t, "accepted", first.Status)
	ta.route(t)

	ta.clock.Advance(30 * time.Second) // a provider retry, signed again
	second := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), body))
	require.Equal(t, http.StatusOK, second.Code)
	require.Equal(t, "duplicate", second.Status)
	require.Equal(t, first.ID, second.ID)
	ta.route(t)

	require.Equal(t, 1.0, received(ta.App, "opn", "accepted"))
	require.Equal(t, 1.0, received(ta.App, "opn", "duplicate"))
	require.Len(t, ta.deliveries(t), 1, "a duplicate is not routed again")

	t.Run("the same provider id from another source is another event", func(t *testing.T) {
		r := serve(t, ta.hookRouter(), hookRequest(t, "opn2", keyA, ta.clock.Now(), body))
		require.Equal(t, "accepted", r.Status)
		require.NotEqual(t, first.ID, r.ID)
	})
}

// TestIngest_SourceNameCaseInsensitive: config documents source names as
// case-insensitive (Viper lowercases keys), so a source written "Opn" must be
// reachable at the URL the admin wrote, /hooks/Opn, not only at /hooks/opn.
func TestIngest_SourceNameCaseInsensitive(t *testing.T) {
	ta := newTestApp(t, testConfig{sources: "  Opn:\n    provider: omise\n    secrets: [{value: " + keyA + "}]\n"})
	for i, path := range []string{"opn", "Opn", "OPN"} {
		t.Run(path, func(t *testing.T) {
			r := serve(t, ta.hookRouter(), hookRequest(t, path, keyA, ta.clock.Now(), charge("evnt_case_"+strconv.Itoa(i), 1, "THB", "x")))
			require.Equal(t, http.StatusOK, r.Code, "%+v", r)
		})
	}
}

// TestIngest_ConcurrentDuplicates: a provider that retries before the first
// answer arrives still gets one event.
func TestIngest_ConcurrentDuplicates(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	body := charge("evnt_race", 5000, "THB", "x")
	h := ta.hookRouter()
	var wg sync.WaitGroup
	replies := make([]hookReply, 8)
	for i := range replies {
		req := hookRequest(t, "opn", keyA, ta.clock.Now(), body)
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			_ = json.Unmarshal(rec.Body.Bytes(), &replies[i])
			replies[i].Code = rec.Code
		})
	}
	wg.Wait()
	accepted := 0
	for _, r := range replies {
		require.Equal(t, http.StatusOK, r.Code, "%+v", r)
		require.Equal(t, replies[0].ID, r.ID)
		if r.Status == "accepted" {
			accepted++
		}
	}
	require.Equal(t, 1, accepted)
}

// TestIngest_Rejected covers every refusal (anchors §8.1.2, fails closed):
// status, error code, a message, the metric label, and nothing stored.
func TestIngest_Rejected(t *testing.T) {
	ta := newTestApp(t, testConfig{
		sources: "  opn:\n    provider: omise\n    secrets:\n      - value: " + keyA + "\n" +
			"      - value: " + keyB + "\n        expires: 2026-11-01T00:00:00Z\n" +
			"  fenced:\n    provider: omise\n    secrets: [{value: " + keyA + "}]\n    allow_ips: [198.51.100.0/24]\n",
	})
	now := ta.clock.Now()
	body := charge("evnt_rej", 5000, "THB", "x")
	sign := func(key string, ts time.Time) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Omise-Signature", opnSign(t, key, ts.Unix(), body))
			r.Header.Set("Omise-Signature-Timestamp", strconv.FormatInt(ts.Unix(), 10))
		}
	}
	tests := []struct {
		name     string
		source   string
		method   string
		body     []byte
		edit     func(*http.Request)
		status   int
		code     string
		metricOf string // source label; "" = no metric
	}{
		{"bad signature", "opn", "", body, sign(keyC, now), 401, "bad_signature", "opn"},
		{"stale timestamp 301 s", "opn", "", body, sign(keyA, now.Add(-301*time.Second)), 401, "stale_timestamp", "opn"},
		{"stale timestamp 10 min", "opn", "", body, sign(keyA, now.Add(-10*time.Minute)), 401, "stale_timestamp", "opn"},
		{"timestamp 301 s in the future", "opn", "", body, sign(keyA, now.Add(301*time.Second)), 401, "stale_timestamp", "opn"},
		{"missing signature", "opn", "", body, func(r *http.Request) {
			r.Header.Del("Omise-Signature")
			r.Header.Set("Omise-Signature-Timestamp", strconv.FormatInt(now.Unix(), 10))
		}, 401, "missing_signature", "opn"},
		{"missing timestamp", "opn", "", body, func(r *http.Request) {
			sign(keyA, now)(r)
			r.Header.Del("Omise-Signature-Timestamp")
		}, 401, "missing_timestamp", "opn"},
		{"signature of another body", "opn", "", charge("evnt_other", 1, "THB", "x"), sign(keyA, now), 401, "bad_signature", "opn"},
		{"expired key", "opn", "", body, sign(keyB, now), 401, "expired_key", "opn"},
		{"unknown source", "nope", "", body, sign(keyA, now), 404, "unknown_source", "unknown"},
		{"ip not allowed", "fenced", "", body, sign(keyA, now), 403, "ip_not_allowed", "fenced"},
		{"GET", "opn", http.MethodGet, nil, nil, 405, "method_not_allowed", ""},
		{"no such path", "", "", body, nil, 404, "not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			target := "/hooks/" + tc.source
			if tc.source == "" {
				target = "/webhook"
			}
			req := httptest.NewRequest(method, target, bytes.NewReader(tc.body))
			req.RemoteAddr = "203.0.113.10:40000"
			req.Header.Set("Content-Type", "application/json")
			if tc.edit != nil {
				tc.edit(req)
			}
			before := 0.0
			if tc.metricOf != "" {
				before = received(ta.App, tc.metricOf, tc.code)
			}
			r := serve(t, ta.hookRouter(), req)
			require.Equal(t, tc.status, r.Code, "%+v", r)
			require.Equal(t, tc.code, r.Error)
			require.NotEmpty(t, r.Message)
			require.Empty(t, r.Status)
			require.Empty(t, r.ID)
			if tc.metricOf != "" {
				require.Equal(t, before+1, received(ta.App, tc.metricOf, tc.code))
			}
		})
	}

	t.Run("nothing was stored", func(t *testing.T) {
		st, err := ta.store.Stats(context.Background())
		require.NoError(t, err)
		require.Zero(t, st.Unrouted)
		require.Zero(t, received(ta.App, "opn", "accepted"))
	})
	t.Run("300 s is still inside the window", func(t *testing.T) {
		r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, now.Add(-300*time.Second), body))
		require.Equal(t, http.StatusOK, r.Code, "%+v", r)
	})
}

// TestIngest_RotatedSecret_BothAccepted (anchors §8.1.13): during a rotation
// both the old (not yet expired) and the new key verify; after expiry only the
// new one does.
func TestIngest_RotatedSecret_BothAccepted(t *testing.T) {
	ta := newTestApp(t, testConfig{
		sources: "  opn:\n    provider: omise\n    secrets:\n      - value: " + keyB + "\n" +
			"      - value: " + keyA + "\n        expires: 2026-11-21T12:00:00Z\n",
	})
	for i, key := range []string{keyA, keyB} {
		r := serve(t, ta.hookRouter(), hookRequest(t, "opn", key, ta.clock.Now(), charge("evnt_rot_"+strconv.Itoa(i), 1, "THB", "x")))
		require.Equal(t, "accepted", r.Status, "key %d: %+v", i, r)
	}
	ta.clock.Advance(2 * time.Hour)
	r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), charge("evnt_rot_old", 1, "THB", "x")))
	require.Equal(t, http.StatusUnauthorized, r.Code)
	require.Equal(t, "expired_key", r.Error)
	r = serve(t, ta.hookRouter(), hookRequest(t, "opn", keyB, ta.clock.Now(), charge("evnt_rot_new", 1, "THB", "x")))
	require.Equal(t, "accepted", r.Status)
}

// TestIngest_BodyTooLarge: the body cap holds with and without Content-Length
// (chunked), over a real connection.
func TestIngest_BodyTooLarge(t *testing.T) {
	ta := newTestApp(t, testConfig{maxBody: 2048})
	srv := httptest.NewServer(ta.hookRouter())
	t.Cleanup(srv.Close)
	pad := strings.Repeat("x", 3000)
	big := charge("evnt_big", 5000, "THB", pad)
	fits := charge("evnt_fits", 5000, "THB", strings.Repeat("x", 1500))
	require.LessOrEqual(t, len(fits), 2048)

	tests := []struct {
		name    string
		body    []byte
		chunked bool
		status  int
	}{
		{"content-length over the cap", big, false, http.StatusRequestEntityTooLarge},
		{"chunked over the cap", big, true, http.StatusRequestEntityTooLarge},
		{"chunked under the cap", fits, true, http.StatusOK},
		{"content-length exactly at the cap", padTo(t, "evnt_exact", 2048), false, http.StatusOK},
		{"chunked one byte over the cap", padTo(t, "evnt_over", 2049), true, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(rd) // unknown length: the client sends it chunked
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/hooks/opn", rd)
			require.NoError(t, err)
			ts := ta.clock.Now().Unix()
			req.Header.Set("Omise-Signature", opnSign(t, keyA, ts, tc.body))
			req.Header.Set("Omise-Signature-Timestamp", strconv.FormatInt(ts, 10))
			if tc.chunked {
				require.Equal(t, int64(0), req.ContentLength)
			} else {
				require.Equal(t, int64(len(tc.body)), req.ContentLength)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var r hookReply
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
			require.Equal(t, tc.status, resp.StatusCode, "%+v", r)
			if tc.status == http.StatusRequestEntityTooLarge {
				require.Equal(t, "body_too_large", r.Error)
				require.Contains(t, r.Message, "2048")
			}
		})
	}
	require.Equal(t, 3.0, received(ta.App, "opn", "body_too_large"))

	t.Run("an announced oversize body is refused unread", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/hooks/opn", mustNotRead{t})
		req.ContentLength = 1 << 40
		r := serve(t, ta.hookRouter(), req)
		require.Equal(t, http.StatusRequestEntityTooLarge, r.Code)
		require.Equal(t, "body_too_large", r.Error)
	})
}

// mustNotRead is a request body that fails the test when read.
type mustNotRead struct{ t *testing.T }

func (m mustNotRead) Read([]byte) (int, error) {
	m.t.Error("the body was read")
	return 0, io.ErrUnexpectedEOF
}

// padTo returns a charge body of exactly n bytes.
func padTo(t *testing.T, id string, n int) []byte {
	t.Helper()
	base := len(charge(id, 1, "THB", ""))
	require.Less(t, base, n)
	b := charge(id, 1, "THB", strings.Repeat("y", n-base))
	require.Len(t, b, n)
	return b
}

// TestIngest_StoreDown_Returns5xx (anchors §8.1.1): when the event cannot be
// committed the provider gets a 503 and retries; nothing claims success.
func TestIngest_StoreDown_Returns5xx(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	require.NoError(t, ta.store.Close())
	r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), charge("evnt_down", 1, "THB", "x")))
	require.Equal(t, http.StatusServiceUnavailable, r.Code)
	require.Equal(t, "store_unavailable", r.Error)
	require.NotEmpty(t, r.Message)
	require.Equal(t, 1.0, received(ta.App, "opn", "store_unavailable"))
	require.Zero(t, received(ta.App, "opn", "accepted"))

	t.Run("readyz reports it", func(t *testing.T) {
		rec := httptest.NewRecorder()
		ta.adminRouter().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	})
}

// failingStore fails every InsertEvent as an unreachable database does.
type failingStore struct{ store.Store }

func (failingStore) InsertEvent(context.Context, store.NewEvent) (store.InsertResult, error) {
	return store.InsertResult{}, errors.Join(store.ErrUnavailable, errors.New("disk I/O error"))
}

func TestIngest_StoreError_Returns503(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	ta.store = failingStore{ta.store}
	r := serve(t, ta.hookRouter(), hookRequest(t, "opn", keyA, ta.clock.Now(), charge("evnt_io", 1, "THB", "x")))
	require.Equal(t, http.StatusServiceUnavailable, r.Code)
	require.Equal(t, "store_unavailable", r.Error)
	require.NotContains(t, r.Message, "disk I/O", "the provider is not told internals")
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies: peer", "203.0.113.9:5555", nil, nil, "203.0.113.9"},
		{"no trusted proxies: XFF ignored", "203.0.113.9:5555", []string{"198.51.100.7"}, nil, "203.0.113.9"},
		{"untrusted peer: XFF ignored", "203.0.113.9:5555", []string{"198.51.100.7"}, trusted, "203.0.113.9"},
		{"trusted proxy: XFF client", "10.0.0.2:5555", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"forged left-most entry ignored", "10.0.0.2:5555", []string{"6.6.6.6, 198.51.100.7"}, trusted, "198.51.100.7"},
		{"forged entry in its own header line", "10.0.0.2:5555", []string{"6.6.6.6", "198.51.100.7"}, trusted, "198.51.100.7"},
		{"chain of trusted proxies", "10.0.0.2:5555", []string{"198.51.100.7, 10.1.1.1, 10.2.2.2"}, trusted, "198.51.100.7"},
		// A garbled hop right of the client fails closed: no valid address
		// (never the proxy's own, which an allowlist may contain).
		{"garbled right-most hop: unknown", "10.0.0.2:5555", []string{"198.51.100.7, not-an-ip"}, trusted, "invalid IP"},
		{"right-most hop with a port: unknown", "10.0.0.2:5555", []string{"1.2.3.4:5678"}, trusted, "invalid IP"},
		{"bracketed IPv6 hop: unknown", "10.0.0.2:5555", []string{"[2001:db8::1]"}, trusted, "invalid IP"},
		{"bracketed IPv6 hop with port: unknown", "10.0.0.2:5555", []string{"[2001:db8::1]:443"}, trusted, "invalid IP"},
		{"garbage hop: unknown", "10.0.0.2:5555", []string{"garbage"}, trusted, "invalid IP"},
		{"hop with a zone: unknown", "10.0.0.2:5555", []string{"fe80::1%eth0"}, trusted, "invalid IP"},
		{"garbled hop between trusted proxies: unknown", "10.0.0.2:5555", []string{"198.51.100.7, junk, 10.1.1.1"}, trusted, "invalid IP"},
		{"trailing comma: unknown", "10.0.0.2:5555", []string{"198.51.100.7,"}, trusted, "invalid IP"},
		{"commas only: unknown", "10.0.0.2:5555", []string{",,,"}, trusted, "invalid IP"},
		{"garbled XFF from an untrusted peer: ignored", "203.0.113.9:5555", []string{"garbage"}, trusted, "203.0.113.9"},
		{"garbled forged hop left of the client", "10.0.0.2:5555", []string{"garbage, 198.51.100.7"}, trusted, "198.51.100.7"},
		{"empty XFF: unknown", "10.0.0.2:5555", []string{""}, trusted, "invalid IP"},
		{"no XFF: peer", "10.0.0.2:5555", nil, trusted, "10.0.0.2"},
		{"only trusted hops: peer", "10.0.0.2:5555", []string{"10.9.9.9"}, trusted, "10.0.0.2"},
		{"IPv4-mapped IPv6 peer", "[::ffff:203.0.113.9]:5555", nil, nil, "203.0.113.9"},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.2]:5555", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"IPv4-mapped XFF hop", "10.0.0.2:5555", []string{"::ffff:198.51.100.7"}, trusted, "198.51.100.7"},
		{"IPv6", "[2001:db8::1]:5555", nil, trusted, "2001:db8::1"},
		{"IPv6 trusted proxy", "[fd00::1]:5555", []string{"2001:db8::7"}, trusted, "2001:db8::7"},
		{"XFF with spaces", "10.0.0.2:5555", []string{" 198.51.100.7 ,  10.1.1.1 "}, trusted, "198.51.100.7"},
		{"peer without port", "203.0.113.9", nil, nil, "203.0.113.9"},
		{"garbled peer", "nonsense", nil, nil, "invalid IP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/hooks/x", nil)
			req.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			require.Equal(t, tc.want, clientIP(req, tc.trusted).String())
		})
	}
}

// TestIngest_AllowlistBehindProxy: allow_ips applies to the real client, as
// told by a trusted proxy, never to what the client claims.
func TestIngest_AllowlistBehindProxy(t *testing.T) {
	ta := newTestApp(t, testConfig{
		trustedProxies: []string{"10.0.0.0/8"},
		sources:        "  opn:\n    provider: omise\n    secrets: [{value: " + keyA + "}]\n    allow_ips: [198.51.100.0/24, \"2001:db8::/32\"]\n",
	})
	tests := []struct {
		name   string
		remote string
		xff    string
		status int
		ip     string
	}{
		{"client via trusted proxy", "10.0.0.2:1", "198.51.100.7", 200, "198.51.100.7"},
		{"client direct", "198.51.100.8:1", "", 200, "198.51.100.8"},
		{"IPv4-mapped client direct", "[::ffff:198.51.100.9]:1", "", 200, "198.51.100.9"},
		{"IPv6 client", "[2001:db8::5]:1", "", 200, "2001:db8::5"},
		{"forged allowed address left of the real one", "10.0.0.2:1", "198.51.100.7, 6.6.6.6", 403, ""},
		{"untrusted peer claiming an allowed address", "6.6.6.6:1", "198.51.100.7", 403, ""},
		{"proxy itself is not allowed", "10.0.0.2:1", "", 403, ""},
		{"garbled hop via trusted proxy", "10.0.0.2:1", "1.2.3.4:5678", 403, ""},
		{"bracketed hop via trusted proxy", "10.0.0.2:1", "[2001:db8::1]", 403, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := hookRequest(t, "opn", keyA, ta.clock.Now(), charge("evnt_ip_"+strconv.Itoa(i), 1, "THB", "x"))
			req.RemoteAddr = tc.remote
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			r := serve(t, ta.hookRouter(), req)
			require.Equal(t, tc.status, r.Code, "%+v", r)
			if tc.status == 200 {
				ev, err := ta.store.GetEvent(context.Background(), r.ID)
				require.NoError(t, err)
				require.Equal(t, tc.ip, ev.RemoteIP)
			} else {
				require.Equal(t, "ip_not_allowed", r.Error)
			}
		})
	}
}

func TestKeptHeaders(t *testing.T) {
	h := http.Header{}
	for _, k := range []string{"Omise-Signature", "Omise-Signature-Timestamp", "Stripe-Signature", "Webhook-Signature",
		"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "X-Auth-Token", "X-Webhook-Secret"} {
		h.Set(k, "secret-value")
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Omise/1.0")
	h.Set("Webhook-Id", "msg_1")
	h.Add("X-Multi", "a")
	h.Add("X-Multi", "b")
	require.Equal(t, map[string]string{
		"Content-Type": "application/json",
		"User-Agent":   "Omise/1.0",
		"Webhook-Id":   "msg_1",
		"X-Multi":      "a, b",
	}, keptHeaders(h))
}

// TestIngest_TrailingSlash: /hooks/opn/ is the source opn, answered directly
// (no 307 redirect, which many providers do not follow); other paths are a
// JSON 404.
func TestIngest_TrailingSlash(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	tests := []struct {
		name   string
		path   string
		status int
		code   string
	}{
		{"no slash", "/hooks/opn", 200, ""},
		{"trailing slash", "/hooks/opn/", 200, ""},
		{"trailing slash, upper case", "/hooks/OPN/", 200, ""},
		{"unknown source with slash", "/hooks/nope/", 404, "unknown_source"},
		{"two slashes", "/hooks/opn//", 404, "not_found"},
		{"no source", "/hooks/", 404, "not_found"},
		{"deeper path", "/hooks/opn/x", 404, "not_found"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := hookRequest(t, "opn", keyA, ta.clock.Now(), charge("evnt_slash_"+strconv.Itoa(i), 1, "THB", "x"))
			req.URL.Path = tc.path
			req.RequestURI = tc.path
			r := serve(t, ta.hookRouter(), req)
			require.Equal(t, tc.status, r.Code, "%+v", r)
			if tc.code != "" {
				require.Equal(t, tc.code, r.Error)
			} else {
				require.Equal(t, "accepted", r.Status)
			}
		})
	}
}

// TestIngest_RejectedLogRateLimited: a flood of rejected webhooks writes at
// most one line per source and reason every 10 s, and the next line says how
// many were not logged; bankbot_webhooks_received_total counts every one.
func TestIngest_RejectedLogRateLimited(t *testing.T) {
	ta := newTestApp(t, testConfig{
		sources: "  opn:\n    provider: omise\n    secrets: [{value: " + keyA + "}]\n" +
			"  scb:\n    provider: omise\n    secrets: [{value: " + keyB + "}]\n",
	})
	lines := func(source, reason string) []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(ta.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["source"] == source && m["reason"] == reason {
				out = append(out, m)
			}
		}
		return out
	}
	post := func(source, key string, n int) {
		for i := range n {
			r := serve(t, ta.hookRouter(), hookRequest(t, source, key, ta.clock.Now(), charge("evnt_flood_"+strconv.Itoa(i), 1, "THB", "x")))
			require.Equal(t, http.StatusUnauthorized, r.Code)
			require.Equal(t, "bad_signature", r.Error)
			require.NotContains(t, r.Message, "not logged", "the answer never carries the log's suppression note")
		}
	}
	post("opn", keyC, 50)
	post("scb", keyC, 3)
	require.Len(t, lines("opn", "bad_signature"), 1, "one line for the first of the flood")
	require.Len(t, lines("scb", "bad_signature"), 1, "sources are limited separately")
	require.Equal(t, 50.0, metricValue(ta.metrics.Received.WithLabelValues("opn", "bad_signature")))

	// Another reason of the same source has its own line.
	req := hookRequest(t, "opn", "", ta.clock.Now(), charge("evnt_nosig", 1, "THB", "x"))
	require.Equal(t, http.StatusUnauthorized, serve(t, ta.hookRouter(), req).Code)
	require.Len(t, lines("opn", "missing_signature"), 1)

	ta.clock.Advance(9 * time.Second)
	post("opn", keyC, 1)
	require.Len(t, lines("opn", "bad_signature"), 1, "still within 10 s")

	ta.clock.Advance(time.Second)
	post("opn", keyC, 1)
	got := lines("opn", "bad_signature")
	require.Len(t, got, 2)
	require.Equal(t, 50.0, got[1]["suppressed"], "49 of the flood and 1 at 9 s were not logged")
	require.Contains(t, got[1]["msg"], "50 more like it not logged")
	require.Equal(t, 52.0, metricValue(ta.metrics.Received.WithLabelValues("opn", "bad_signature")), "the metric counts every one")
}
