package main

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
)

var testNow = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func testKey(t testing.TB) []byte {
	t.Helper()
	k, err := decodeSecret(defaultSecret)
	require.NoError(t, err)
	return k
}

// opnHeaders signs body as Opn would, with bankhooks (not this package's
// signer), so the bare verifier is checked against bankbot's scheme.
func opnHeaders(t testing.TB, key []byte, body []byte, at time.Time) http.Header {
	t.Helper()
	hSigned, err := bankhooks.Omise{}.Sign(body, []bankhooks.Key{{Name: "k", Material: key}}, at, "")
	h := hSigned.Header
	require.NoError(t, err)
	return h
}

// TestVerifyOmiseAgreesWithBankbot runs the same requests through the bare
// verifier and bankhooks.Omise.Verify: the baseline must accept exactly
// what bankbot's omise source accepts.
func TestVerifyOmiseAgreesWithBankbot(t *testing.T) {
	key := testKey(t)
	body := []byte(`{"object":"event","id":"evnt_test_1","key":"charge.complete"}`)
	good := opnHeaders(t, key, body, testNow)
	with := func(mut func(h http.Header)) http.Header {
		h := good.Clone()
		mut(h)
		return h
	}
	otherKey := opnHeaders(t, []byte("another key"), body, testNow)
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		ok     bool
	}{
		{"signed now", good, body, true},
		{"signed 4m59s ago", opnHeaders(t, key, body, testNow.Add(-299*time.Second)), body, true},
		{"signed 5m1s ago", opnHeaders(t, key, body, testNow.Add(-301*time.Second)), body, false},
		{"signed 5m1s ahead", opnHeaders(t, key, body, testNow.Add(301*time.Second)), body, false},
		{"body changed", good, append(bytes.Clone(body), ' '), false},
		{"other key", otherKey, body, false},
		{"rotation: bad then good signature", with(func(h http.Header) {
			h.Set(omiseSignatureHeader, otherKey.Get(omiseSignatureHeader)+", "+good.Get(omiseSignatureHeader))
		}), body, true},
		{"upper-case hex", with(func(h http.Header) {
			h.Set(omiseSignatureHeader, strings.ToUpper(good.Get(omiseSignatureHeader)))
		}), body, true},
		{"no signature", with(func(h http.Header) { h.Del(omiseSignatureHeader) }), body, false},
		{"truncated signature", with(func(h http.Header) {
			h.Set(omiseSignatureHeader, good.Get(omiseSignatureHeader)[:62])
		}), body, false},
		{"no timestamp", with(func(h http.Header) { h.Del(omiseTimestampHeader) }), body, false},
		{"signed timestamp replaced", with(func(h http.Header) {
			h.Set(omiseTimestampHeader, strconv.FormatInt(testNow.Unix()+1, 10))
		}), body, false},
		{"negative timestamp", with(func(h http.Header) { h.Set(omiseTimestampHeader, "-1") }), body, false},
		{"timestamp with a sign", with(func(h http.Header) {
			h.Set(omiseTimestampHeader, "+"+good.Get(omiseTimestampHeader))
		}), body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bareErr := verifyOmise(key, tt.header, tt.body, testNow, 5*time.Minute)
			_, botErr := bankhooks.Omise{}.Verify(bankhooks.Request{Header: tt.header, Body: tt.body},
				[]bankhooks.Key{{Name: "k", Material: key}}, bankhooks.VerifyOptions{Now: testNow, MaxSkew: 5 * time.Minute})
			require.Equal(t, tt.ok, bareErr == nil, "bare: %v", bareErr)
			require.Equal(t, tt.ok, botErr == nil, "bankhooks: %v", botErr)
		})
	}
}

func TestBareHandler(t *testing.T) {
	key := testKey(t)
	h := &bareHandler{key: key, maxBody: 64, maxSkew: 5 * time.Minute, now: func() time.Time { return testNow }}
	small := []byte(`{"object":"event","id":"evnt_test_1"}`)
	big := bytes.Repeat([]byte("a"), 65)
	tests := []struct {
		name     string
		method   string
		path     string
		body     []byte
		header   http.Header
		wantCode int
		wantBody string
	}{
		{"verified", http.MethodPost, "/hooks/load", small, opnHeaders(t, key, small, testNow), http.StatusOK, `{"status":"accepted"}`},
		{"bad signature", http.MethodPost, "/hooks/load", small, opnHeaders(t, []byte("x"), small, testNow), http.StatusUnauthorized, ""},
		{"over the cap, signed", http.MethodPost, "/hooks/load", big, opnHeaders(t, key, big, testNow), http.StatusRequestEntityTooLarge, ""},
		{"GET", http.MethodGet, "/hooks/load", nil, http.Header{}, http.StatusMethodNotAllowed, ""},
		{"other path", http.MethodPost, "/readyz", small, opnHeaders(t, key, small, testNow), http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tt.wantCode, rec.Code)
			if tt.wantBody != "" {
				require.Equal(t, tt.wantBody, rec.Body.String())
			}
		})
	}
}

// TestEventGen checks that generated events are valid Opn charge.complete
// events that bankbot parses, each with ids of its own.
func TestEventGen(t *testing.T) {
	g, err := newEventGen(testNow, "run1")
	require.NoError(t, err)
	seen := map[string]bool{}
	refs := map[string]bool{}
	for range 50 {
		body, id := g.next()
		ev, err := bankhooks.Omise{}.Parse(bankhooks.Request{Body: body})
		require.NoError(t, err)
		require.Equal(t, id, ev.ID)
		require.Equal(t, bankhooks.KindPaymentSucceeded, ev.Kind)
		require.Equal(t, int64(5000), ev.Amount)
		require.Equal(t, "THB", ev.Currency)
		require.False(t, seen[ev.ID], "duplicate event id %s", ev.ID)
		require.False(t, refs[ev.Reference], "duplicate charge id %s", ev.Reference)
		seen[ev.ID], refs[ev.Reference] = true, true
	}
	other, err := newEventGen(testNow, "run2")
	require.NoError(t, err)
	_, id := other.next()
	require.False(t, seen[id], "a second run reuses event ids")
}

// TestSignOmiseMatchesBankhooks pins the load generator's signer to
// bankhooks.Omise.Sign.
func TestSignOmiseMatchesBankhooks(t *testing.T) {
	key := testKey(t)
	body := []byte(`{"id":"evnt_test_2"}`)
	h := opnHeaders(t, key, body, testNow)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	require.Equal(t, ts, h.Get(omiseTimestampHeader))
	require.Equal(t, h.Get(omiseSignatureHeader), hex.EncodeToString(signOmise(key, ts, body)))
}

// FuzzVerifyOmise checks that the bare verifier never panics and agrees with
// bankhooks.Omise.Verify on whether a request is valid.
func FuzzVerifyOmise(f *testing.F) {
	key := testKey(f)
	body := []byte(`{"object":"event","id":"evnt_test_1"}`)
	h := opnHeaders(f, key, body, testNow)
	f.Add(h.Get(omiseSignatureHeader), h.Get(omiseTimestampHeader), body)
	f.Add("", "", body)
	f.Add("zz,"+h.Get(omiseSignatureHeader), h.Get(omiseTimestampHeader), body)
	f.Add(h.Get(omiseSignatureHeader), "0001795291052", body)
	f.Add(h.Get(omiseSignatureHeader), " "+h.Get(omiseTimestampHeader)+" ", body)
	f.Add(h.Get(omiseSignatureHeader), "99999999999999999999", []byte{})
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		hdr := http.Header{}
		hdr.Set(omiseSignatureHeader, sig)
		hdr.Set(omiseTimestampHeader, ts)
		bareErr := verifyOmise(key, hdr, body, testNow, 5*time.Minute)
		_, botErr := bankhooks.Omise{}.Verify(bankhooks.Request{Header: hdr, Body: body},
			[]bankhooks.Key{{Name: "k", Material: key}}, bankhooks.VerifyOptions{Now: testNow, MaxSkew: 5 * time.Minute})
		if (bareErr == nil) != (botErr == nil) {
			t.Fatalf("bare: %v, bankhooks: %v", bareErr, botErr)
		}
	})
}
