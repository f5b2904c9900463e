package chatops

import (
	"sync"
	"time"
)

// Defaults of a Limiter.
const (
	DefaultRateLimit  = 10
	DefaultRateWindow = time.Minute
)

// Verdict is a Limiter's answer for one command.
type Verdict int

// Verdicts.
const (
	// Allow: run the command.
	Allow Verdict = iota
	// SlowDown: the first command over the limit in this window; answer
	// "slow down" once.
	SlowDown
	// Silent: over the limit and already told; answer nothing.
	Silent
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case SlowDown:
		return "slow_down"
	}
	return "silent"
}

// Limiter allows each sender Limit commands per Window (a fixed window that
// starts with the sender's first command). The first command over the limit
// gets SlowDown, the next ones Silent, until the window passes. It is safe
// for concurrent use; the zero value uses the defaults and time.Now.
//
// Failure policy: fails closed for the sender (commands over the limit are
// not run) and open for everyone else: each sender has a window of their
// own, and the map of windows is pruned of windows that have passed, so it
// stays as small as the number of recent senders.
type Limiter struct {
	Limit  int
	Window time.Duration
	Now    func() time.Time

	mu      sync.Mutex
	senders map[string]*senderWindow
	pruned  time.Time
}

type senderWindow struct {
	start  time.Time
	count  int
	warned bool
}

// Check counts one command of sender and says what to do with it.
func (l *Limiter) Check(sender string) Verdict {
	limit, window, now := l.Limit, l.Window, time.Now
	if limit <= 0 {
		limit = DefaultRateLimit
	}
	if window <= 0 {
		window = DefaultRateWindow
	}
	if l.Now != nil {
		now = l.Now
	}
	t := now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.senders == nil {
		l.senders = map[string]*senderWindow{}
	}
	if t.Sub(l.pruned) >= window {
		for k, w := range l.senders {
			if t.Sub(w.start) >= window {
				delete(l.senders, k)
			}
		}
		l.pruned = t
	}
	w := l.senders[sender]
	if w == nil || t.Sub(w.start) >= window || t.Before(w.start) {
		w = &senderWindow{start: t}
		l.senders[sender] = w
	}
	w.count++
	switch {
	case w.count <= limit:
		return Allow
	case !w.warned:
		w.warned = true
		return SlowDown
	}
	return Silent
}
