package bot

import (
	"math/rand/v2"
	"time"
)

// Backoff is the delivery retry schedule: exponential from Initial, doubling
// per attempt, ±50 % jitter, each wait capped at Max. Jitter spreads retries
// of a burst so they do not hit DingTalk in lockstep.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	// Rand returns a float in [0,1); nil uses math/rand/v2.
	Rand func() float64
}

// Next is the wait after the attempt-th failed attempt (1-based).
func (b Backoff) Next(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		if d > b.Max/2 { // doubling would pass Max (or overflow)
			d = b.Max
			break
		}
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	// d × [0.5, 1.5), capped again so Max really is the longest wait.
	f := float64(d) * (0.5 + r())
	if f >= float64(b.Max) {
		return b.Max
	}
	j := time.Duration(f)
	if j <= 0 {
		j = time.Millisecond
	}
	return j
}
