package dingtalk

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	catchZengSecret = "SECb90923e19e58b466481e9e7b7a5b4f108a4531abde590ad3967fb29f0eae5c68"
	catchZengTS     = int64(1582163555000)
)

func TestSign_Vectors(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		ts      int64
		raw     string
		encoded string
	}{
		{
			name:    "CatchZeng published vector",
			secret:  catchZengSecret,
			ts:      catchZengTS,
			raw:     "BQKsG+QOCl+bYJOLc6pxDHxjVquzlZPWgvRzeN2J5zY=",
			encoded: "BQKsG%2BQOCl%2BbYJOLc6pxDHxjVquzlZPWgvRzeN2J5zY%3D",
		},
		{
			name:    "official sample secret and header timestamp (dingtalk.md §1.3)",
			secret:  "this is secret",
			ts:      1577262236757,
			raw:     "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=",
			encoded: "hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.raw, Sign(tc.secret, tc.ts))
			q := url.Values{}
			SignQuery(q, tc.secret, tc.ts)
			require.Contains(t, q.Encode(), "sign="+tc.encoded)
		})
	}
}

func TestSignURL_EncodesOnceAndReplaces(t *testing.T) {
	u, err := url.Parse("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1&sign=old")
	require.NoError(t, err)
	got := SignURL(u, catchZengSecret, catchZengTS)

	require.Equal(t,
		"https://oapi.dingtalk.com/robot/send?access_token=abc&sign=BQKsG%2BQOCl%2BbYJOLc6pxDHxjVquzlZPWgvRzeN2J5zY%3D&timestamp=1582163555000",
		got.String())
	q := got.Query()
	require.Len(t, q["sign"], 1)
	require.Len(t, q["timestamp"], 1)
	require.Equal(t, "BQKsG+QOCl+bYJOLc6pxDHxjVquzlZPWgvRzeN2J5zY=", q.Get("sign"), "one decode gives the raw base64 back")
	require.NotContains(t, got.RawQuery, "%25", "no double encoding")
	require.Equal(t, "access_token=abc&timestamp=1&sign=old", u.RawQuery, "input URL is not modified")
}

func TestVerifyCallback(t *testing.T) {
	const secret = "this is secret"
	now := time.UnixMilli(1577262236757)
	good := "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="
	ts := "1577262236757"
	tests := []struct {
		name   string
		secret string
		ts     string
		sign   string
		now    time.Time
		want   error
	}{
		{name: "valid", secret: secret, ts: ts, sign: good, now: now},
		{name: "valid 59m later", secret: secret, ts: ts, sign: good, now: now.Add(59 * time.Minute)},
		{name: "valid exactly 1h later", secret: secret, ts: ts, sign: good, now: now.Add(time.Hour)},
		{name: "valid 1h earlier (clock behind)", secret: secret, ts: ts, sign: good, now: now.Add(-time.Hour)},
		{name: "stale 1h+1ms", secret: secret, ts: ts, sign: good, now: now.Add(time.Hour + time.Millisecond), want: ErrCallbackTimestamp},
		{name: "future 1h+1ms", secret: secret, ts: ts, sign: good, now: now.Add(-time.Hour - time.Millisecond), want: ErrCallbackTimestamp},
		{name: "seconds not ms", secret: secret, ts: "1577262236", sign: Sign(secret, 1577262236), now: now, want: ErrCallbackTimestamp},
		{name: "url-encoded sign refused", secret: secret, ts: ts, sign: url.QueryEscape(good), now: now, want: ErrCallbackSign},
		{name: "wrong secret", secret: "other secret", ts: ts, sign: good, now: now, want: ErrCallbackSign},
		{name: "sign of another timestamp", secret: secret, ts: ts, sign: Sign(secret, 1577262236758), now: now, want: ErrCallbackSign},
		{name: "empty secret fails closed", secret: "", ts: ts, sign: Sign("", 1577262236757), now: now, want: ErrCallbackNoSecret},
		{name: "missing timestamp", secret: secret, ts: "", sign: good, now: now, want: ErrCallbackMissing},
		{name: "missing sign", secret: secret, ts: ts, sign: "", now: now, want: ErrCallbackMissing},
		{name: "signed timestamp", secret: secret, ts: "+1577262236757", sign: good, now: now, want: ErrCallbackTimestamp},
		{name: "spaces", secret: secret, ts: " 1577262236757", sign: good, now: now, want: ErrCallbackTimestamp},
		{name: "overflowing", secret: secret, ts: "99999999999999999999", sign: good, now: now, want: ErrCallbackTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyCallback(tc.secret, tc.ts, tc.sign, tc.now)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.NotContains(t, err.Error(), secret)
			require.NotContains(t, err.Error(), good)
		})
	}
}

func FuzzVerifyCallback(f *testing.F) {
	f.Add("this is secret", "1577262236757", "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=", int64(1577262236757))
	f.Add("SECx", "0", "", int64(0))
	f.Add("s", "-1", "AAAA", int64(-1))
	f.Add("s", "9223372036854775807", "x", int64(1<<62))
	f.Fuzz(func(t *testing.T, secret, ts, sign string, nowMs int64) {
		err := VerifyCallback(secret, ts, sign, time.UnixMilli(nowMs))
		if err == nil {
			// Accepted only if it really is the signature of a window-valid timestamp.
			n, perr := parseMillis(ts)
			require.NoError(t, perr)
			require.Equal(t, Sign(secret, n), sign)
			require.NotEmpty(t, secret)
			d := time.UnixMilli(nowMs).Sub(time.UnixMilli(n))
			require.LessOrEqual(t, d, CallbackWindow)
			require.GreaterOrEqual(t, d, -CallbackWindow)
			return
		}
		known := false
		for _, e := range []error{ErrCallbackNoSecret, ErrCallbackMissing, ErrCallbackTimestamp, ErrCallbackSign} {
			known = known || errors.Is(err, e)
		}
		require.True(t, known, "unexpected error %v", err)
	})
}
