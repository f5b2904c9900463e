package bot

import (
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLimiter_SlidingWindow proves the per-robot limit (anchors §8.1.8): N
// sends in any 60 s window, the N+1st refused until the first send leaves the
// window, to the nanosecond.
func TestLimiter_SlidingWindow(t *testing.T) {
	l := NewLimiter(20)
	for i := range 20 {
		require.True(t, l.Take(t0.Add(time.Duration(i)*time.Second)), "send %d", i+1)
	}
	last := t0.Add(19 * time.Second)

	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"21st right after the 20th", last, false},
		{"21st 1ns before the first leaves the window", t0.Add(window - time.Nanosecond), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, l.Take(tc.at))
			free, next := l.Available(tc.at)
			require.Equal(t, 0, free)
			require.Equal(t, t0.Add(window), next, "the next slot frees when the first send is 60 s old")
		})
	}

	t.Run("21st exactly when the first leaves the window", func(t *testing.T) {
		require.True(t, l.Take(t0.Add(window)))
		free, next := l.Available(t0.Add(window))
		require.Equal(t, 0, free)
		require.Equal(t, t0.Add(window+time.Second), next, "then the second send's slot")
		require.False(t, l.Take(t0.Add(window+time.Second-time.Nanosecond)))
		require.True(t, l.Take(t0.Add(window+time.Second)))
	})
}

func TestLimiter_Available(t *testing.T) {
	tests := []struct {
		name     string
		rate     int
		sends    []time.Duration // offsets from t0
		at       time.Duration
		wantFree int
		wantNext time.Duration
	}{
		{"empty", 20, nil, 0, 20, 0},
		{"five sent", 20, []time.Duration{0, 1, 2, 3, 4}, 5, 15, 5},
		{"full", 3, []time.Duration{0, 10 * time.Second, 20 * time.Second}, 30 * time.Second, 0, 60 * time.Second},
		{"all sends aged out", 3, []time.Duration{0, 10 * time.Second, 20 * time.Second}, 80 * time.Second, 3, 80 * time.Second},
		{"one aged out", 3, []time.Duration{0, 10 * time.Second, 20 * time.Second}, 60 * time.Second, 1, 60 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiter(tc.rate)
			for _, s := range tc.sends {
				require.True(t, l.Take(t0.Add(s)))
			}
			free, next := l.Available(t0.Add(tc.at))
			require.Equal(t, tc.wantFree, free)
			require.Equal(t, t0.Add(tc.wantNext), next)
		})
	}
}

func TestLimiter_Block(t *testing.T) {
	l := NewLimiter(20)
	until := t0.Add(10 * time.Minute)
	l.Block(until)

	t.Run("no send while blocked", func(t *testing.T) {
		require.False(t, l.Take(t0))
		require.False(t, l.Take(until.Add(-time.Nanosecond)))
		free, next := l.Available(t0.Add(time.Minute))
		require.Equal(t, 0, free)
		require.Equal(t, until, next)
	})
	t.Run("an earlier block does not shorten it", func(t *testing.T) {
		l.Block(t0.Add(time.Minute))
		free, next := l.Available(t0.Add(2 * time.Minute))
		require.Equal(t, 0, free)
		require.Equal(t, until, next)
	})
	t.Run("sends resume at the end of the block", func(t *testing.T) {
		require.True(t, l.Take(until))
		free, _ := l.Available(until)
		require.Equal(t, 19, free)
	})
}

// TestLimiter_SetRateKeepsHistory: a reload that changes the rate does not
// forget what was sent (a fresh limiter would allow a second burst).
func TestLimiter_SetRateKeepsHistory(t *testing.T) {
	l := NewLimiter(20)
	for i := range 15 {
		require.True(t, l.Take(t0.Add(time.Duration(i)*time.Second)))
	}
	now := t0.Add(20 * time.Second)

	tests := []struct {
		name     string
		rate     int
		wantFree int
		wantNext time.Time
	}{
		{"raised", 20, 5, now},
		{"lowered below what was sent", 10, 0, t0.Add(5*time.Second + window)},
		{"lowered to exactly what was sent", 15, 0, t0.Add(window)},
		{"raised again", 18, 3, now},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l.SetRate(tc.rate)
			free, next := l.Available(now)
			require.Equal(t, tc.wantFree, free)
			require.Equal(t, tc.wantNext, next)
		})
	}
	t.Run("lowered rate frees a slot exactly at next", func(t *testing.T) {
		l.SetRate(10)
		_, next := l.Available(now)
		require.False(t, l.Take(next.Add(-time.Nanosecond)))
		require.True(t, l.Take(next))
	})
}

// TestLimiter_NoWindowOverLimit is the property a token bucket with burst N
// breaks (2N sends inside one minute): over random send attempts, no
// half-open 60 s window ever holds more than N successful Takes, and a Take
// is refused only when the window before it is full.
func TestLimiter_NoWindowOverLimit(t *testing.T) {
	for _, rate := range []int{1, 5, 20} {
		for seed := range uint64(20) {
			rng := rand.New(rand.NewPCG(seed, uint64(rate)))
			l := NewLimiter(rate)
			var attempts []time.Duration
			for range 600 {
				attempts = append(attempts, time.Duration(rng.Int64N(int64(10*time.Minute))))
			}
			// Bursts: many attempts at one instant and at window edges.
			for range 40 {
				attempts = append(attempts, 2*time.Minute, 3*time.Minute-time.Nanosecond, 3*time.Minute)
			}
			sort.Slice(attempts, func(i, j int) bool { return attempts[i] < attempts[j] })
			var ok []time.Duration
			for _, at := range attempts {
				inWindow := 0
				for _, s := range ok {
					if s > at-window {
						inWindow++
					}
				}
				got := l.Take(t0.Add(at))
				require.Equal(t, inWindow < rate, got, "rate %d seed %d: Take at %s with %d in the window", rate, seed, at, inWindow)
				if got {
					ok = append(ok, at)
				}
			}
			for i, s := range ok {
				n := 0
				for _, u := range ok[:i+1] {
					if u > s-window {
						n++
					}
				}
				require.LessOrEqual(t, n, rate, "rate %d seed %d: window ending %s", rate, seed, s)
			}
		}
	}
}

// TestLimiter_BurstOf40Impossible is the token-bucket failure spelled out:
// 20 sends, then 20 more 59 s later, must not all pass.
func TestLimiter_BurstOf40Impossible(t *testing.T) {
	l := NewLimiter(20)
	n := 0
	for i := range 40 {
		at := t0
		if i >= 20 {
			at = t0.Add(59 * time.Second)
		}
		if l.Take(at) {
			n++
		}
	}
	require.Equal(t, 20, n)
}

func TestLimiter_Concurrent(t *testing.T) {
	l := NewLimiter(20)
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 64 {
		wg.Go(func() {
			if l.Take(t0) {
				mu.Lock()
				n++
				mu.Unlock()
			}
			l.Available(t0)
		})
	}
	wg.Wait()
	require.Equal(t, 20, n)
}
