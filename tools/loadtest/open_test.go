package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestScheduleAt(t *testing.T) {
	tests := []struct {
		rate float64
		i    int
		want time.Duration
	}{
		{1000, 0, 0},
		{1000, 1, time.Millisecond},
		{1000, 1000, time.Second},
		{3, 1, 333333333 * time.Nanosecond},
		{3, 3, time.Second},                     // no drift from adding rounded intervals
		{3, 3_000_000, 1_000_000 * time.Second}, // nor after many
		{0.5, 1, 2 * time.Second},
		{7500, 7500 * 60, time.Minute},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%g/s #%d", tc.rate, tc.i), func(t *testing.T) {
			require.Equal(t, tc.want, schedule{rate: tc.rate}.at(tc.i))
		})
	}
}

func TestScheduleCount(t *testing.T) {
	tests := []struct {
		rate float64
		d    time.Duration
		want int
	}{
		{1000, time.Second, 1000},
		{1000, time.Second + time.Nanosecond, 1001},
		{1000, time.Second - time.Nanosecond, 1000},
		{3, time.Second, 3},
		{0.5, 10 * time.Second, 5},
		{1e6, time.Millisecond, 1000},
		{10, 0, 0},
		{10, -time.Second, 0},
		{10, time.Nanosecond, 1}, // request 0 is due at once
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%g/s in %s", tc.rate, tc.d), func(t *testing.T) {
			s := schedule{rate: tc.rate}
			n := s.count(tc.d)
			require.Equal(t, tc.want, n)
			// The definition: every counted request is due before d, the
			// next one is not.
			if n > 0 {
				require.Less(t, s.at(n-1), tc.d)
			}
			require.GreaterOrEqual(t, s.at(n), tc.d)
		})
	}
}

// fakeClock is a clock whose time moves only when told to: by SleepUntil
// (which wakes oversleep late) and by advance.
type fakeClock struct {
	mu        sync.Mutex
	now       time.Time
	oversleep time.Duration
	sleeps    int
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(_ context.Context, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps++
	if t.After(c.now) {
		c.now = t.Add(c.oversleep)
	}
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// wantDues is start + i/rate for the first n requests.
func wantDues(start time.Time, rate float64, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
	}
	return out
}

func TestDispatchOnSchedule(t *testing.T) {
	start := testNow
	c := &fakeClock{now: start}
	out := make(chan time.Time, 100)
	n := dispatch(context.Background(), c, schedule{rate: 4}, start, 2*time.Second, out)
	close(out)
	require.Equal(t, 8, n)
	var got []time.Time
	for d := range out {
		got = append(got, d)
	}
	require.Equal(t, wantDues(start, 4, 8), got)
	require.Equal(t, 7, c.sleeps, "one sleep before each request but the first")
}

// TestDispatchCatchesUp: when the dispatcher wakes late, the requests that
// fell due meanwhile go out at once, each with the time it was due, and
// the schedule does not shift.
func TestDispatchCatchesUp(t *testing.T) {
	start := testNow
	c := &fakeClock{now: start, oversleep: 600 * time.Millisecond}
	out := make(chan time.Time, 100)
	n := dispatch(context.Background(), c, schedule{rate: 4}, start, 2*time.Second, out)
	close(out)
	require.Equal(t, 8, n)
	var got []time.Time
	for d := range out {
		got = append(got, d)
	}
	require.Equal(t, wantDues(start, 4, 8), got)
	// Due at 0, 250 (woke at 850), 500, 750, 1000 (woke at 1600), 1250,
	// 1500, 1750 (woke at 2350): three sleeps.
	require.Equal(t, 3, c.sleeps)
}

// TestDispatchDoesNotWaitForAnswers: a sender that takes longer than the
// interval (the clock moves on while it works) delays the next hand-out but
// not the due times it carries, which is what the latency is measured from.
func TestDispatchDoesNotWaitForAnswers(t *testing.T) {
	start := testNow
	c := &fakeClock{now: start}
	out := make(chan time.Time) // one busy sender
	var got []time.Time
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := range out {
			got = append(got, d)
			c.advance(700 * time.Millisecond) // each answer takes 700 ms
		}
	}()
	n := dispatch(context.Background(), c, schedule{rate: 4}, start, 2*time.Second, out)
	close(out)
	<-done
	require.Equal(t, 8, n)
	require.Equal(t, wantDues(start, 4, 8), got)
}

func TestDispatchStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &fakeClock{now: testNow}
	out := make(chan time.Time) // nobody receives
	require.Equal(t, 0, dispatch(ctx, c, schedule{rate: 1000}, testNow, time.Second, out))
}

func sec(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// TestSummarizeLoadOpen: the window's requests are the ones due inside it,
// latency runs from the due time, and the rates count what happened inside
// the window by the wall clock.
func TestSummarizeLoadOpen(t *testing.T) {
	spec := loadSpec{Rate: 10, MaxInFlight: 4, Duration: time.Second}
	outs := []workerOut{
		{samples: []sample{
			// Due in the warm-up, answered inside the window.
			{due: sec(-0.1), sent: sec(-0.1), end: sec(0.2), lat: sec(0.3), code: 200, accepted: true},
			// Due at the window's start, sent 300 ms late.
			{due: 0, sent: sec(0.3), end: sec(0.5), lat: sec(0.5), code: 200, accepted: true},
		}, accepted: []acceptedEvent{{ID: "a"}, {ID: "b"}}},
		{samples: []sample{
			// Due inside, answered 400 ms after the window closed.
			{due: sec(0.9), sent: sec(0.9), end: sec(1.4), lat: sec(0.5), code: 503},
			// Due inside, a transport error.
			{due: sec(0.5), sent: sec(0.5), end: sec(0.6), lat: sec(0.1), err: "timeout"},
			// Due when the window closes: not in it.
			{due: sec(1.0), sent: sec(1.0), end: sec(1.1), lat: sec(0.1), code: 200},
		}},
	}
	res := summarizeLoad(outs, spec)
	require.Equal(t, 3, res.Completed)
	require.Equal(t, 1, res.OK)
	require.Equal(t, 1, res.Accepted)
	require.Equal(t, map[int]int{503: 1}, res.Non200)
	require.Equal(t, map[string]int{"timeout": 1}, res.Errors)
	require.Equal(t, latencySummary{N: 2, P50: sec(0.5), P90: sec(0.5), P99: sec(0.5), Max: sec(0.5)}, res.Latency)
	require.Equal(t, 5, res.TotalSent)
	require.Equal(t, 1, res.TotalErrors)
	require.Len(t, res.TotalAccepted, 2)

	o := res.Open
	require.NotNil(t, o)
	require.Equal(t, 3, o.Scheduled)
	require.Equal(t, 3, o.SentInWindow)     // at 0.3, 0.9, 0.5
	require.Equal(t, 3, o.FinishedInWindow) // at 0.2, 0.5, 0.6
	require.Equal(t, 2, o.AcceptedInWindow) // the warm-up one counts: it finished inside
	require.Equal(t, sec(0.3), o.SendLag.Max)
	require.Equal(t, sec(0.4), o.Drain)
	require.InDelta(t, 2.0, res.AcceptedPerSecond(), 1e-9)
}

// TestSummarizeLoadClosed: the window's requests are the ones that finished
// inside it.
func TestSummarizeLoadClosed(t *testing.T) {
	spec := loadSpec{Concurrency: 2, Duration: time.Second}
	outs := []workerOut{{samples: []sample{
		{due: sec(-0.2), sent: sec(-0.2), end: sec(-0.1), lat: sec(0.1), code: 200, accepted: true},
		{due: sec(-0.1), sent: sec(-0.1), end: sec(0.1), lat: sec(0.2), code: 200, accepted: true},
		{due: sec(0.9), sent: sec(0.9), end: sec(1.2), lat: sec(0.3), code: 200, accepted: true},
		{due: sec(0.5), sent: sec(0.5), end: sec(0.6), lat: sec(0.1), code: 200},
	}}}
	res := summarizeLoad(outs, spec)
	require.Nil(t, res.Open)
	require.Equal(t, 2, res.Completed)
	require.Equal(t, 1, res.Accepted)
	require.Equal(t, 1, res.Duplicates)
	require.Equal(t, sec(0.2), res.Latency.Max)
	require.InDelta(t, 1.0, res.AcceptedPerSecond(), 1e-9)
}

// acceptingServer answers every request 200 "accepted" with a new id.
func acceptingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"accepted","id":"ev_%d"}`, i)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestRunLoadOpen runs the open loop against a test server. The counts
// follow from the schedule alone: 200/s for 50 ms of warm-up (10 requests)
// and 100 ms measured (20).
func TestRunLoadOpen(t *testing.T) {
	srv, n := acceptingServer(t)
	gen, err := newEventGen(testNow, "open")
	require.NoError(t, err)
	var marks []string
	spec := loadSpec{
		URL: srv.URL + "/hooks/load", Key: testKey(t), Rate: 200, MaxInFlight: 8,
		Warmup: 50 * time.Millisecond, Duration: 100 * time.Millisecond, Timeout: 10 * time.Second, Gen: gen,
		AtStart: func() { marks = append(marks, "start") },
		AtEnd:   func() { marks = append(marks, "end") },
	}
	res := runLoad(context.Background(), spec)
	require.Equal(t, []string{"start", "end"}, marks)
	require.Equal(t, int64(30), n.Load())
	require.Equal(t, 30, res.TotalSent)
	require.Len(t, res.TotalAccepted, 30)
	require.Zero(t, res.TotalErrors)
	require.NotNil(t, res.Open)
	require.Equal(t, 20, res.Open.Scheduled)
	require.Equal(t, 20, res.Completed)
	require.Equal(t, 20, res.Accepted)
	require.Equal(t, 20, res.Latency.N)
	require.Empty(t, res.Non200)
	require.Empty(t, res.Errors)
	require.GreaterOrEqual(t, res.Open.PeakFlight, int64(1))
	require.LessOrEqual(t, res.Open.PeakFlight, int64(8))
	require.False(t, res.Ended.Before(res.Started))
}

// TestRunLoadClosed runs the closed loop briefly against a test server.
func TestRunLoadClosed(t *testing.T) {
	srv, n := acceptingServer(t)
	gen, err := newEventGen(testNow, "closed")
	require.NoError(t, err)
	spec := loadSpec{URL: srv.URL + "/hooks/load", Key: testKey(t), Concurrency: 2,
		Duration: 50 * time.Millisecond, Timeout: 10 * time.Second, Gen: gen}
	res := runLoad(context.Background(), spec)
	require.Nil(t, res.Open)
	require.Equal(t, int(n.Load()), res.TotalSent)
	require.Len(t, res.TotalAccepted, res.TotalSent)
	require.Equal(t, res.Completed, res.Accepted)
	require.Empty(t, res.Errors)
}

// metricsText is a /metrics exposition with the two samples waitRouted reads.
func metricsText(accepted, unrouted int) string {
	return fmt.Sprintf("# TYPE bankbot_outbox_depth gauge\nbankbot_outbox_depth{status=\"pending\"} 3\nbankbot_outbox_depth{status=\"unrouted\"} %d\nbankbot_webhooks_received_total{result=\"accepted\",source=\"load\"} %d\n", unrouted, accepted)
}

// scripted returns a scrape function that answers texts in turn (an empty
// text is a failed scrape), repeating the last one.
func scripted(texts ...string) func() (string, error) {
	i := 0
	return func() (string, error) {
		t := texts[min(i, len(texts)-1)]
		i++
		if t == "" {
			return "", errors.New("connection refused")
		}
		return t, nil
	}
}

func TestWaitRouted(t *testing.T) {
	const every = 100 * time.Millisecond
	t.Run("polls until nothing is unrouted", func(t *testing.T) {
		c := &fakeClock{now: testNow}
		r, err := waitRouted(context.Background(), c, scripted("", metricsText(900, 40), metricsText(1000, 0)), every, time.Minute)
		require.NoError(t, err)
		require.Equal(t, 3, r.Polls)
		require.Equal(t, testNow.Add(2*every), r.At)
		require.Equal(t, 1000.0, r.Accepted)
		require.Zero(t, r.Unrouted)
	})
	t.Run("gives up after the timeout", func(t *testing.T) {
		c := &fakeClock{now: testNow}
		r, err := waitRouted(context.Background(), c, scripted(metricsText(1000, 5)), every, 250*time.Millisecond)
		require.ErrorContains(t, err, "5 events still unrouted after 250ms")
		require.Equal(t, 4, r.Polls) // at 0, 100, 200, 300 ms
		require.True(t, r.At.IsZero())
		require.Equal(t, 5.0, r.Unrouted)
	})
	t.Run("reports the last scrape error", func(t *testing.T) {
		c := &fakeClock{now: testNow}
		_, err := waitRouted(context.Background(), c, scripted(""), every, 150*time.Millisecond)
		require.ErrorContains(t, err, "connection refused")
	})
	t.Run("a missing sample is not zero", func(t *testing.T) {
		c := &fakeClock{now: testNow}
		_, err := waitRouted(context.Background(), c, scripted("bankbot_store_up 0\n"), every, 150*time.Millisecond)
		require.ErrorContains(t, err, "bankbot_outbox_depth")
	})
	t.Run("stops when canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := &fakeClock{now: testNow}
		_, err := waitRouted(ctx, c, scripted(metricsText(1, 1)), every, time.Minute)
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestRoutedLine(t *testing.T) {
	res := &targetResult{Name: "bankbot", Load: loadResult{Started: testNow, Ended: testNow.Add(12 * time.Second)}}
	require.Empty(t, res.routedLine())
	res.Routed = &routedResult{Accepted: 90000, At: testNow.Add(30 * time.Second), Polls: 180}
	line := res.routedLine()
	require.Contains(t, line, "3000 events/s") // 90,000 in 30 s
	require.Contains(t, line, "18.00 s after its last answer")
	require.Contains(t, line, "7500 events/s") // 90,000 in 12 s
	res.Routed = &routedResult{Accepted: 90000, Unrouted: 12, Polls: 3}
	res.RoutedErr = "12 events still unrouted after 5m0s"
	require.Contains(t, res.routedLine(), "not measured (12 events still unrouted after 5m0s)")
}

func TestParseFlagsRate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		stderr  string
	}{
		{name: "closed loop by default", args: nil},
		{name: "open loop", args: []string{"--rate", "2500", "--duration", "5s"}},
		{name: "fractional rate", args: []string{"--rate", "0.5"}},
		{name: "negative rate", args: []string{"--rate", "-1"}, wantErr: true, stderr: "--rate"},
		{name: "NaN rate", args: []string{"--rate", "NaN"}, wantErr: true, stderr: "--rate"},
		{name: "no senders", args: []string{"--rate", "10", "--max-inflight", "0"}, wantErr: true, stderr: "--max-inflight"},
		{name: "concurrency is not used", args: []string{"--rate", "10", "--concurrency", "8"}, stderr: "--concurrency is not used with --rate"},
		{name: "negative routed timeout", args: []string{"--routed-timeout", "-1s"}, wantErr: true, stderr: "--routed-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tc.args, &stderr)
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				require.Equal(t, 5*time.Minute, o.RoutedWait)
			}
			require.Contains(t, stderr.String(), tc.stderr)
		})
	}
}
