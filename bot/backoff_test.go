package bot

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBackoff_Bounds proves the retry schedule (anchors §8.1.5): from
// Initial, doubling per attempt, ±50 % jitter, never longer than Max.
func TestBackoff_Bounds(t *testing.T) {
	const initial, maxWait = time.Second, 5 * time.Minute
	low := Backoff{Initial: initial, Max: maxWait, Rand: func() float64 { return 0 }}
	high := Backoff{Initial: initial, Max: maxWait, Rand: func() float64 { return 0.999 }}

	tests := []struct {
		attempt  int
		wantLow  time.Duration // Rand 0: half the base
		wantHigh time.Duration // Rand 0.999: 1.499 × the base, capped
	}{
		{0, 500 * time.Millisecond, 1499 * time.Millisecond}, // treated as attempt 1
		{1, 500 * time.Millisecond, 1499 * time.Millisecond},
		{2, time.Second, 2998 * time.Millisecond},
		{3, 2 * time.Second, 5996 * time.Millisecond},
		{4, 4 * time.Second, 11992 * time.Millisecond},
		{8, 64 * time.Second, 191872 * time.Millisecond},
		{9, 128 * time.Second, maxWait},  // base 256 s: high jitter capped
		{10, 150 * time.Second, maxWait}, // base capped at 300 s
		{20, 150 * time.Second, maxWait},
	}
	for _, tc := range tests {
		t.Run("attempt "+strconv.Itoa(tc.attempt), func(t *testing.T) {
			require.Equal(t, tc.wantLow, low.Next(tc.attempt))
			// 0.5+0.999 is not exact in binary: allow a microsecond.
			require.InDelta(t, float64(tc.wantHigh), float64(high.Next(tc.attempt)), float64(time.Microsecond))
			require.LessOrEqual(t, high.Next(tc.attempt), maxWait)
		})
	}
}

// TestBackoff_RandomJitterWithinBounds runs the real random source.
func TestBackoff_RandomJitterWithinBounds(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 5 * time.Minute}
	for attempt := 1; attempt <= 30; attempt++ {
		base := time.Second << min(attempt-1, 20)
		base = min(base, b.Max)
		for range 200 {
			d := b.Next(attempt)
			require.GreaterOrEqual(t, d, base/2, "attempt %d", attempt)
			require.Less(t, d, base*3/2+1, "attempt %d", attempt)
			require.LessOrEqual(t, d, b.Max, "attempt %d", attempt)
		}
	}
}

// TestBackoff_HugeAttemptsDoNotOverflow: the doubling stops at Max, so no
// attempt number wraps the wait to zero or negative.
func TestBackoff_HugeAttemptsDoNotOverflow(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999} {
		b := Backoff{Initial: time.Second, Max: 5 * time.Minute, Rand: func() float64 { return r }}
		for _, attempt := range []int{63, 64, 65, 1000, 1 << 40, math.MaxInt} {
			d := b.Next(attempt)
			require.Greater(t, d, 2*time.Minute, "attempt %d rand %v", attempt, r)
			require.LessOrEqual(t, d, 5*time.Minute, "attempt %d rand %v", attempt, r)
		}
	}
}

// TestBackoff_InitialAboveMax: Max wins.
func TestBackoff_InitialAboveMax(t *testing.T) {
	b := Backoff{Initial: time.Hour, Max: time.Minute, Rand: func() float64 { return 0.999 }}
	require.Equal(t, time.Minute, b.Next(1))
	b.Rand = func() float64 { return 0 }
	require.Equal(t, 30*time.Second, b.Next(1))
}

// TestBackoff_ExtremeMax: a max_interval near the largest Duration (config
// accepts any duration at least delivery.retry.initial) must still give a
// positive wait that grows and never exceeds Max, not a 1 ms retry storm.
func TestBackoff_ExtremeMax(t *testing.T) {
	tests := []struct {
		name    string
		initial time.Duration
		max     time.Duration
		rand    float64
		attempt int
	}{
		{"doubling past half of MaxInt64", time.Second, time.Duration(math.MaxInt64), 0, 40},
		{"many attempts", time.Second, time.Duration(math.MaxInt64), 0, 100},
		{"jitter above the largest duration", time.Duration(math.MaxInt64) - time.Hour, time.Duration(math.MaxInt64) - time.Hour, 0.999, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := Backoff{Initial: tc.initial, Max: tc.max, Rand: func() float64 { return tc.rand }}
			d := b.Next(tc.attempt)
			require.Greater(t, d, time.Hour, "attempt %d gave %s", tc.attempt, d)
			require.LessOrEqual(t, d, tc.max)
		})
	}
}
