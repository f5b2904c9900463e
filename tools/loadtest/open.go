package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// schedule is the open loop's timetable: rate requests per second, evenly
// spaced from the start. Request i is due at(i) after the start, computed
// from i rather than by adding intervals, so rounding never accumulates.
type schedule struct {
	rate float64 // per second, positive
}

// at is when request i (from 0) is due, after the start.
func (s schedule) at(i int) time.Duration {
	return time.Duration(float64(i) * float64(time.Second) / s.rate)
}

// count is how many requests are due before d: the number of i with
// at(i) < d.
func (s schedule) count(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	n := int(math.Ceil(d.Seconds() * s.rate))
	for n > 0 && s.at(n-1) >= d {
		n--
	}
	for s.at(n) < d {
		n++
	}
	return n
}

// clock is the dispatcher's and the routing poll's time source; tests use
// a fake one.
type clock interface {
	Now() time.Time
	// SleepUntil returns at t or when ctx is done, whichever is first.
	SleepUntil(ctx context.Context, t time.Time)
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time                              { return time.Now() }
func (realClock) SleepUntil(ctx context.Context, t time.Time) { sleepUntil(ctx, t) }

// dispatch hands out the due time of every request of s due before total
// after start, in order, on out, each no earlier than it is due. It never
// waits for an answer, only for a free sender (out blocks while every
// sender is busy): requests that fall behind go out as soon as a sender is
// free, all at once if need be, still carrying the time they were due, so
// their lateness is part of their latency instead of being left out
// (coordinated omission). It returns how many it handed out.
func dispatch(ctx context.Context, c clock, s schedule, start time.Time, total time.Duration, out chan<- time.Time) int {
	n := s.count(total)
	for i := range n {
		due := start.Add(s.at(i))
		if c.Now().Before(due) {
			c.SleepUntil(ctx, due)
		}
		if ctx.Err() != nil {
			return i
		}
		select {
		case out <- due:
		case <-ctx.Done():
			return i
		}
	}
	return n
}

// runOpen is the open loop: spec.MaxInFlight senders take the due times
// that dispatch hands out from start, and each sends one event per due
// time, its latency measured from that time. It returns the senders'
// samples and the most requests that were outstanding at once.
func runOpen(ctx context.Context, client *http.Client, spec loadSpec, c clock, start, windowStart time.Time) ([]workerOut, int64) {
	dues := make(chan time.Time)
	outs := make([]workerOut, spec.MaxInFlight)
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			for due := range dues {
				storeMax(&peak, inFlight.Add(1))
				s, a, _ := send(ctx, client, spec, due, windowStart)
				inFlight.Add(-1)
				outs[i].add(s, a)
			}
		})
	}
	dispatch(ctx, c, schedule{rate: spec.Rate}, start, spec.Warmup+spec.Duration, dues)
	close(dues)
	wg.Wait()
	return outs, peak.Load()
}

// storeMax raises m to n if n is larger.
func storeMax(m *atomic.Int64, n int64) {
	for {
		p := m.Load()
		if n <= p || m.CompareAndSwap(p, n) {
			return
		}
	}
}

// routedResult is when bankbot had routed every event it accepted.
type routedResult struct {
	Accepted float64   // bankbot_webhooks_received_total{source="load",result="accepted"} in the last scrape
	Unrouted float64   // bankbot_outbox_depth{status="unrouted"} in the last scrape
	At       time.Time // when the first scrape showing 0 unrouted answered; zero if none did
	Polls    int
}

// waitRouted scrapes bankbot's metrics every interval until no stored event
// is waiting to be routed (bankbot_outbox_depth{status="unrouted"} is 0),
// for at most timeout. The time it reports is when that scrape's answer
// arrived: an upper bound, late by at most one interval plus a scrape.
func waitRouted(ctx context.Context, c clock, scrape func() (string, error), interval, timeout time.Duration) (routedResult, error) {
	var r routedResult
	deadline := c.Now().Add(timeout)
	for {
		text, err := scrape()
		at := c.Now()
		r.Polls++
		if err == nil {
			u, err1 := metricValue(text, "bankbot_outbox_depth", `status="unrouted"`)
			a, err2 := metricValue(text, "bankbot_webhooks_received_total", `source="`+sourceName+`"`, `result="accepted"`)
			if err = errors.Join(err1, err2); err == nil {
				r.Unrouted, r.Accepted = u, a
				if u == 0 {
					r.At = at
					return r, nil
				}
			}
		}
		if !at.Before(deadline) {
			if err != nil {
				return r, fmt.Errorf("events still unrouted after %s: last scrape: %w", timeout, err)
			}
			return r, fmt.Errorf("%.0f events still unrouted after %s", r.Unrouted, timeout)
		}
		c.SleepUntil(ctx, at.Add(interval))
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
}
