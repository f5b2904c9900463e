package store

import (
	"context"
	"time"
)

// Background work (retention's purge, the account_rev backfill) shares the
// database with ingest. On SQLite every write goes through one writer, so a
// batch of background work delays each webhook that arrives while it runs;
// on PostgreSQL it competes for the same disk and CPU. A pacer keeps such
// work out of ingest's way: while events arrive it waits, after each batch,
// yield times as long as the batch took (at most 10 s), so work in short
// batches holds the writer about 1/(yield+1) of the time and fewer than one
// webhook in a hundred meets a batch (measured with tools/retentionbench,
// docs/PERFORMANCE.md); a batch slower than 50 ms (a checkpoint, a cold
// cache) gets only the 10 s. When nothing arrives it waits only pause
// between batches.
//
// Failure policy: fails towards ingest. If the store cannot say whether
// events arrive, it counts as busy; work that cannot finish at the slow
// pace before its context ends stops with what it committed.

// DefaultYield is the pacer's yield when none is given: 0.5 % of the
// writer's time while events arrive.
const DefaultYield = 199

const (
	// busyWindow: the store counts as busy while its newest event was
	// received less than this long ago.
	busyWindow = 2 * time.Second
	// busySkew: an event stamped up to this far ahead of the purging
	// process's clock (another replica's clock) counts as just received;
	// one stamped further ahead (imported data, a clock set wrong) is not
	// evidence of traffic and would otherwise slow the work until then.
	busySkew = time.Minute
	// maxPaceWait bounds one wait between batches, so one slow batch (a
	// checkpoint, a cold cache) does not stop the work for minutes.
	maxPaceWait = 10 * time.Second
)

// pacer paces one run of background batches.
type pacer struct {
	yield int           // <= 0: never slow down for ingest
	pause time.Duration // the wait between batches when the store is quiet (<= 0: none)
	// busy says whether events arrive; sleep waits (or returns ctx's error).
	busy  func(context.Context) bool
	sleep func(context.Context, time.Duration) error
	// last is how long the last batch took; the totals add up the run.
	last         time.Duration
	held, waited time.Duration
	yielded      int
}

// write runs one batch through w (the store's write) and records how long
// it took (on SQLite including the wait for the writer, behind ingest). The
// duration is real time (time.Now), whatever clock the caller injected: it
// is the work's cost, not a schedule.
func (p *pacer) write(ctx context.Context, w func(context.Context, string, func(querier) error) error, op string, fn func(querier) error) error {
	t0 := time.Now()
	err := w(ctx, op, fn)
	p.last = time.Since(t0)
	p.held += p.last
	return err
}

// nextWait is the wait before the next batch: pause, or while events
// arrive yield times as long as the last batch took (at most maxPaceWait).
func (p *pacer) nextWait(ctx context.Context) time.Duration {
	wait := max(p.pause, 0)
	if p.yield > 0 && p.busy != nil && p.busy(ctx) {
		if y := min(p.last*time.Duration(p.yield), maxPaceWait); y > wait {
			wait = y
			p.yielded++
		}
	}
	return wait
}

// wait waits nextWait, or until ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	d := p.nextWait(ctx)
	if d <= 0 {
		return ctx.Err()
	}
	t0 := time.Now()
	err := p.sleep(ctx, d)
	if err != nil { // cut short: count what was waited
		d = min(d, time.Since(t0))
	}
	p.waited += d
	return err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// busy says whether events are arriving: the newest event was received
// less than busyWindow before now. It reads the store, so events any
// process or replica receives count. An error counts as busy.
func (c *core) busy(ctx context.Context, now time.Time) bool {
	var at dbTime
	err := c.b.read(ctx, "busy", func(q querier) error {
		// The partial index events_body_kept (0009) holds every recent
		// event (only events older than the retention cut-off lose their
		// body), so this is one index lookup.
		return q.queryRow(ctx, `SELECT MAX(received_at) FROM events WHERE body_purged_at IS NULL AND received_at < ?`,
			c.tv(now.Add(busySkew))).Scan(&at)
	})
	if err != nil {
		return true
	}
	return !at.t.IsZero() && now.Sub(at.t) < busyWindow
}
