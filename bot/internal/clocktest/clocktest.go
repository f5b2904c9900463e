// Package clocktest is a manual clock for tests of code that takes an
// injected clock (bot.Clock, schedule.Clock): After registers a timer that
// fires when Set or Advance moves the clock to or past its deadline, and
// WaitTimer / WaitPending let a test wait until a goroutine has gone to sleep
// on the clock, so no test sleeps in real time.
package clocktest

import (
	"sync"
	"testing"
	"time"
)

// Clock is a manual clock. The zero value is not usable: call New.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	seq     int
	timers  []*timer
	changed chan struct{} // closed and replaced when a timer is registered
}

type timer struct {
	seq   int
	at    time.Time
	ch    chan time.Time
	fired bool
}

// New returns a clock that reads t.
func New(t time.Time) *Clock { return &Clock{now: t, changed: make(chan struct{})} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After is time.After on this clock: a duration of zero or less fires at once.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.seq++
	tm := &timer{seq: c.seq, at: c.now.Add(d), ch: ch}
	if d <= 0 {
		tm.fired = true
		ch <- c.now
	}
	c.timers = append(c.timers, tm)
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

// Advance moves the clock forward by d and fires every timer now due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moveTo(c.now.Add(d))
}

// Set moves the clock to t (never backwards) and fires every timer due.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moveTo(t)
}

func (c *Clock) moveTo(t time.Time) {
	if t.After(c.now) {
		c.now = t
	}
	for _, tm := range c.timers {
		if !tm.fired && !tm.at.After(c.now) {
			tm.fired = true
			tm.ch <- c.now
		}
	}
}

// Mark returns the sequence number of the last timer registered.
func (c *Clock) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// WaitTimer waits (up to 10 s of real time) until a timer registered after
// mark is pending and satisfies pred, and returns its deadline.
func (c *Clock) WaitTimer(t testing.TB, mark int, pred func(at time.Time) bool) time.Time {
	t.Helper()
	var at time.Time
	c.wait(t, func() bool {
		for _, tm := range c.timers {
			if tm.seq > mark && !tm.fired && pred(tm.at) {
				at = tm.at
				return true
			}
		}
		return false
	}, "no timer matching the condition was registered after #%d", mark)
	return at
}

// WaitPending waits (up to 10 s of real time) until n timers registered
// after mark are pending and not due yet: n goroutines went to sleep on the
// clock after the change that mark precedes.
func (c *Clock) WaitPending(t testing.TB, mark, n int) {
	t.Helper()
	c.wait(t, func() bool {
		k := 0
		for _, tm := range c.timers {
			if tm.seq > mark && !tm.fired && tm.at.After(c.now) {
				k++
			}
		}
		return k >= n
	}, "%d goroutine(s) did not go to sleep on the clock", n)
}

// wait waits until done (called with c.mu held) is true.
func (c *Clock) wait(t testing.TB, done func() bool, format string, arg any) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if done() {
			c.mu.Unlock()
			return
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf(format, arg)
		}
	}
}
