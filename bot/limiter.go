package bot

import (
	"sync"
	"time"
)

// window is the span DingTalk counts a robot's messages over.
const window = time.Minute

// Limiter keeps one robot under DingTalk's per-minute message limit with a
// sliding window: a send is allowed when fewer than N sends happened in the
// last 60 s. A token bucket with burst N would allow 2N sends inside some
// 60 s window, which DingTalk punishes with a 10-minute block.
//
// Failure policy: fails closed (delays, never drops): a message over the
// limit waits in the outbox for a free slot, and its wait does not count
// against the retry budget. When DingTalk still answers "too fast" (another
// process shares the robot, or the robot was used elsewhere), Block stops all
// sends of the robot for DingTalk's penalty period.
type Limiter struct {
	mu           sync.Mutex
	perMinute    int
	sent         []time.Time // send times inside the window, oldest first
	blockedUntil time.Time
}

// NewLimiter allows perMinute sends in any 60 s window.
func NewLimiter(perMinute int) *Limiter {
	return &Limiter{perMinute: perMinute}
}

// SetRate changes the limit (config reload keeps the send history).
func (l *Limiter) SetRate(perMinute int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.perMinute = perMinute
}

func (l *Limiter) prune(now time.Time) {
	i := 0
	for i < len(l.sent) && !l.sent[i].After(now.Add(-window)) {
		i++
	}
	l.sent = l.sent[i:]
}

// Available returns how many sends are allowed at now, and when the next
// slot frees up if none is.
func (l *Limiter) Available(now time.Time) (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.blockedUntil) {
		return 0, l.blockedUntil
	}
	l.prune(now)
	free := l.perMinute - len(l.sent)
	if free > 0 {
		return free, now
	}
	return 0, l.sent[len(l.sent)-l.perMinute].Add(window)
}

// Take records a send at now if a slot is free and reports whether it was.
func (l *Limiter) Take(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.blockedUntil) {
		return false
	}
	l.prune(now)
	if len(l.sent) >= l.perMinute {
		return false
	}
	l.sent = append(l.sent, now)
	return true
}

// Block stops every send until until.
func (l *Limiter) Block(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.blockedUntil) {
		l.blockedUntil = until
	}
}
