package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// Bankbot ids as the load tool gets them back: "ev_" and 26 characters,
// the last 8 of which a digest line shows.
const (
	evA = "ev_06h1qz8w0000aaaaaaaa1111"
	evB = "ev_06h1qz8w0000bbbbbbbb2222"
	evC = "ev_06h1qz8w0000cccccccc3333"
)

func digestText(id string, ids ...string) string {
	var b strings.Builder
	b.WriteString("### 📦 3 alerts\n\n")
	for _, e := range ids {
		b.WriteString("- ✅ Payment received · **THB 50.00** · chrg\\_test\\_x · " + e[len(e)-8:] + "\n")
	}
	b.WriteString("\n> Listed together: alerts came faster than DingTalk allows (20 messages a minute per robot).\n\nref: " + id)
	return b.String()
}

func singleText(id string) string {
	return "### ✅ Payment received\n\n**THB 50.00**\n\nref: " + strings.Replace(id, "_", "\\_", 1)
}

func TestMessageKind(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"digest", digestText("dm_06h1qz8w00009999999999", evA, evB), "digest"},
		{"escaped digest id", "…\n\nref: dm\\_06h1qz8w00009999999999", "digest"},
		{"single", singleText(evA), "single"},
		{"single, unescaped", "ref: " + evA, "single"},
		{"no ref", "bankbot: robot dingtalk was rate limited", "other"},
		{"ref to something else", "ref: ops-1", "other"},
		{"the last ref counts", "ref: ev_x quoted\n\nref: dm_y", "digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, messageKind(tt.text))
		})
	}
}

func TestShownTracker(t *testing.T) {
	sent := testNow
	at := func(ms int) time.Time { return sent.Add(time.Duration(ms) * time.Millisecond) }
	events := []acceptedEvent{
		{ID: evA, Sent: sent},
		{ID: evB, Sent: sent.Add(10 * time.Millisecond)},
		{ID: evC, Sent: sent.Add(20 * time.Millisecond)},
	}
	tests := []struct {
		name       string
		msgs       []dingtalktest.Received
		shown      int
		multi      int
		missing    []string
		lat        latencySummary
		digests    int
		singles    int
		others     int
		resent     int
		lastShown  time.Time
		messageCnt int
	}{
		{
			name:    "nothing sent",
			missing: []string{evA, evB, evC},
		},
		{
			name: "a single and a digest",
			msgs: []dingtalktest.Received{
				{UUID: "ev-a", Text: singleText(evA), At: at(5)},
				{UUID: "dm-1", Text: digestText("dm_1", evB, evC), At: at(1020)},
			},
			shown: 3, singles: 1, digests: 1, messageCnt: 2, lastShown: at(1020),
			lat: latencySummary{N: 3, P50: 1000 * time.Millisecond, P90: 1010 * time.Millisecond, P99: 1010 * time.Millisecond, Max: 1010 * time.Millisecond},
		},
		{
			name: "a resend names nothing new and is not a message",
			msgs: []dingtalktest.Received{
				{UUID: "dm-1", Text: digestText("dm_1", evA), At: at(100)},
				{UUID: "dm-1", Text: digestText("dm_1", evA, evB), At: at(200)},
			},
			shown: 1, digests: 1, resent: 1, messageCnt: 1, lastShown: at(100),
			missing: []string{evB, evC},
			lat:     latencySummary{N: 1, P50: 100 * time.Millisecond, P90: 100 * time.Millisecond, P99: 100 * time.Millisecond, Max: 100 * time.Millisecond},
		},
		{
			name: "an event in two messages counts from the earlier",
			msgs: []dingtalktest.Received{
				{UUID: "dm-2", Text: digestText("dm_2", evA), At: at(300)},
				{UUID: "dm-1", Text: digestText("dm_1", evA), At: at(100)},
				{UUID: "ops", Title: "bankbot ops", Text: "robot dingtalk was paused", At: at(50)},
			},
			shown: 1, multi: 1, digests: 2, others: 1, messageCnt: 3, lastShown: at(100),
			missing: []string{evB, evC},
			lat:     latencySummary{N: 1, P50: 100 * time.Millisecond, P90: 100 * time.Millisecond, P99: 100 * time.Millisecond, Max: 100 * time.Millisecond},
		},
		{
			name: "a short id in the title counts",
			msgs: []dingtalktest.Received{
				{UUID: "x", Title: "alert " + evC[len(evC)-8:], Text: "no ref", At: at(40)},
			},
			shown: 1, others: 1, messageCnt: 1, lastShown: at(40), missing: []string{evA, evB},
			lat: latencySummary{N: 1, P50: 20 * time.Millisecond, P90: 20 * time.Millisecond, P99: 20 * time.Millisecond, Max: 20 * time.Millisecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newShownTracker(events)
			tr.add(tt.msgs)
			tr.add(tt.msgs) // already processed: nothing changes
			r := tr.result()
			require.Equal(t, 3, r.Accepted)
			require.Equal(t, tt.shown, r.Shown)
			require.Equal(t, 3-tt.shown, tr.missing())
			require.Equal(t, tt.multi, r.MultiShown)
			require.Equal(t, tt.missing, r.Missing)
			require.Equal(t, tt.lat, r.Latency)
			require.Equal(t, tt.lastShown, r.LastShown)
			require.Equal(t, tt.messageCnt, r.Messages)
			require.Equal(t, tt.digests, r.Digests)
			require.Equal(t, tt.singles, r.Singles)
			require.Equal(t, tt.others, r.Others)
			require.Equal(t, tt.resent, r.Resent)
			require.Len(t, r.Timeline, tt.messageCnt)
		})
	}
}

// TestShownTrackerIncremental: messages arriving between polls are taken
// once each, in the fake's order.
func TestShownTrackerIncremental(t *testing.T) {
	tr := newShownTracker([]acceptedEvent{{ID: evA, Sent: testNow}, {ID: evB, Sent: testNow}})
	first := dingtalktest.Received{UUID: "1", Text: singleText(evA), At: testNow.Add(time.Second)}
	second := dingtalktest.Received{UUID: "2", Text: singleText(evB), At: testNow.Add(2 * time.Second)}
	tr.add([]dingtalktest.Received{first})
	require.Equal(t, 1, tr.missing())
	tr.add([]dingtalktest.Received{first, second})
	require.Zero(t, tr.missing())
	r := tr.result()
	require.Equal(t, 2, r.Messages)
	require.Equal(t, 2, r.Singles)
	require.Zero(t, r.MultiShown)
	require.Equal(t, []sentMessage{
		{At: testNow.Add(time.Second), Kind: "single", Events: 1},
		{At: testNow.Add(2 * time.Second), Kind: "single", Events: 1},
	}, r.Timeline)
}

func TestWaitShown(t *testing.T) {
	const every = 100 * time.Millisecond
	events := []acceptedEvent{{ID: evA, Sent: testNow}, {ID: evB, Sent: testNow}}
	// messagesAfter returns nothing for the first n reads, then both events.
	messagesAfter := func(n int) func() []dingtalktest.Received {
		reads := 0
		return func() []dingtalktest.Received {
			reads++
			if reads <= n {
				return nil
			}
			return []dingtalktest.Received{{UUID: "d", Text: digestText("dm_1", evA, evB), At: testNow.Add(time.Second)}}
		}
	}
	t.Run("polls until every event is shown", func(t *testing.T) {
		c := &fakeClock{now: testNow}
		tr := newShownTracker(events)
		require.NoError(t, waitShown(context.Background(), c, messagesAfter(3), tr, every, time.Minute))
		require.Equal(t, 3, c.sleeps)
		require.Zero(t, tr.missing())
	})
	t.Run("gives up after the timeout", func(t *testing.T) {
		c := &fakeClock{now: testNow}
		tr := newShownTracker(events)
		err := waitShown(context.Background(), c, messagesAfter(100), tr, every, 250*time.Millisecond)
		require.ErrorContains(t, err, "2 of 2 accepted events not shown after 250ms")
	})
	t.Run("stops when canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := &fakeClock{now: testNow}
		err := waitShown(ctx, c, messagesAfter(100), newShownTracker(events), every, time.Minute)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("nothing accepted is nothing to wait for", func(t *testing.T) {
		c := &fakeClock{now: testNow}
		require.NoError(t, waitShown(context.Background(), c, messagesAfter(100), newShownTracker(nil), every, time.Minute))
		require.Zero(t, c.sleeps)
	})
}

func TestDeliveryReport(t *testing.T) {
	start := testNow
	base := deliveryResult{
		Shown: shownResult{Accepted: 1000, Shown: 1000, Messages: 12, Digests: 7, Singles: 5, LastShown: start.Add(90 * time.Second),
			Latency: latencySummary{N: 1000, P50: 20 * time.Second, P90: 60 * time.Second, P99: 80 * time.Second, Max: 89 * time.Second},
			Timeline: []sentMessage{
				{At: start.Add(250 * time.Millisecond), Kind: "digest", Events: 400, Bytes: 19000},
				{At: start.Add(15600 * time.Millisecond), Kind: "digest", Events: 600, Bytes: 19500},
			}},
		MaxInWindow: 10, MaxReqsInWindow: 10, Codes: map[int]int{}, HTTP: map[int]int{},
		LoadStart: start, LoadEnd: start.Add(900 * time.Millisecond), Burst: 1000,
	}
	tests := []struct {
		name   string
		mut    func(d *deliveryResult)
		want   []string
		absent []string
		ok     bool
	}{
		{
			name: "burst drained in 90 s",
			want: []string{
				"| 1000 | 1000 | 0 | 900.00 ms | 90.00 s | 12 | 7 | 5 | 0 | 0 | 0 | 10 | 10 | 0 | 0 | 0 | 8.0 |",
				"**event → DingTalk, 1000 events: p50 20.00 s, p90 60.00 s, p99 80.00 s, max 89.00 s**",
				"messages, by arrival after the first post: +0.250 s digest of 400 events, 19000 bytes; +15.600 s digest of 600 events, 19500 bytes.",
			},
			absent: []string{"NOT ALL SHOWN"},
			ok:     true,
		},
		{
			name: "a drain under a minute has no rate",
			mut:  func(d *deliveryResult) { d.Shown.LastShown = start.Add(1500 * time.Millisecond) },
			want: []string{"| 1.50 s | 12 | 7 |", "| 12 in 1.50 s (< 1 min) |"},
			ok:   true,
		},
		{
			name: "rate limited and not all shown",
			mut: func(d *deliveryResult) {
				d.Shown.Shown, d.Shown.Missing = 998, []string{evA, evB}
				d.Codes = map[int]int{410100: 3, 310000: 1}
				d.HTTP = map[int]int{503: 2}
				d.WaitErr = "2 of 1000 accepted events not shown after 15m0s"
			},
			want: []string{
				"| 1000 | 998 | 2 |",
				"| 3 | 0 | HTTP 503×2, errcode 310000×1 |",
				"**NOT ALL SHOWN: 2 of 1000 accepted events not shown after 15m0s** (first unshown: " + evA + ", " + evB + ").",
			},
			ok: false,
		},
		{
			name: "an oversized message fails the run",
			mut:  func(d *deliveryResult) { d.Codes = map[int]int{460101: 1} },
			want: []string{"| 0 | 1 | 0 |"},
			ok:   false,
		},
		{
			name: "a long timeline is cut",
			mut: func(d *deliveryResult) {
				d.Shown.Timeline = make([]sentMessage, 15)
				for i := range d.Shown.Timeline {
					d.Shown.Timeline[i] = sentMessage{At: start.Add(time.Duration(i) * time.Second), Kind: "single", Events: 1, Bytes: 900}
				}
			},
			want: []string{"+11.000 s single of 1 events, 900 bytes; and 3 more."},
			ok:   true,
		},
		{
			name: "nothing shown",
			mut: func(d *deliveryResult) {
				d.Shown = shownResult{Accepted: 0}
			},
			want: []string{"| 0 | 0 | 0 | 900.00 ms | n/a |", "| n/a |"},
			ok:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base
			if tt.mut != nil {
				tt.mut(&d)
			}
			var b bytes.Buffer
			d.write(&b, "bankbot")
			for _, w := range tt.want {
				require.Contains(t, b.String(), w)
			}
			for _, w := range tt.absent {
				require.NotContains(t, b.String(), w)
			}
			require.Equal(t, tt.ok, d.ok())
		})
	}
}

// TestReadFake: answers with an errcode are counted by errcode, the others
// by HTTP status, accepted messages not at all.
func TestReadFake(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: "SECx"})
	resp, err := http.Post(fake.BaseURL()+dingtalktest.SendPath, "application/json", strings.NewReader(`{}`)) // no access_token
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	resp, err = http.Post(fake.URL(), "application/json", strings.NewReader(`{}`)) // no signature
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	resp, err = http.Get(fake.BaseURL() + "/elsewhere")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	var d deliveryResult
	d.readFake(fake)
	require.Equal(t, 3, d.Requests)
	require.Equal(t, map[int]int{300001: 1, 310000: 1}, d.Codes)
	require.Equal(t, map[int]int{http.StatusNotFound: 1}, d.HTTP)
	require.Zero(t, d.MaxInWindow)
	require.Zero(t, d.MaxReqsInWindow)
}
