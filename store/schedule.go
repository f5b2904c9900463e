package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"
)

// What the scheduled jobs keep (bot/schedule, issue 9): the ticks claimed
// (schedule_ticks), the marks the jobs set once for every replica
// (schedule_marks), and the reads of the events they summarise or watch.
// Like core.go, one SQL for both drivers.

// ScheduleTick is one claimed tick of a schedule.
type ScheduleTick struct {
	Name      string
	TickAt    time.Time // the scheduled time
	Owner     string    // the process that claimed it
	ClaimedAt time.Time
	DoneAt    time.Time // zero while it runs (or when its runner died)
	Result    string    // empty while it runs
}

// Mark is one fact a scheduled job remembers for every replica, such as "the
// source went silent at …" or "the 3-day reminder for this key was sent".
type Mark struct {
	Key   string
	Value string
	At    time.Time
}

// EventPeriod selects the events received in [Since, Until) from Sources
// (empty = every source).
type EventPeriod struct {
	Since, Until time.Time
	Sources      []string
}

// EventTotal is the count and exact sum of the events of one source, kind
// and currency in a period.
type EventTotal struct {
	Source   string
	Kind     string
	Currency string
	Count    int64
	// Sum is the total in minor units of Currency (big: a sum of int64
	// amounts can exceed int64).
	Sum *big.Int
	// Test is true for the totals of events the provider sent in test mode
	// (livemode false): no real money moved.
	Test bool
}

// PeriodQuery lists events of a period.
type PeriodQuery struct {
	EventPeriod
	Kinds []string // required: the kinds to list
	// Unacked keeps only the events no one acknowledged (event_acks).
	Unacked bool
	// LiveOnly leaves out the events the provider sent in test mode.
	LiveOnly bool
	Limit    int // 0 = 100
}

const claimTickSQL = `INSERT INTO schedule_ticks (name, tick_at, owner, claimed_at) VALUES (?, ?, ?, ?)
ON CONFLICT (name, tick_at) DO NOTHING`

// ClaimTick records that owner runs the tick of schedule name at tickAt.
// won is true for exactly one caller across every replica sharing the
// database, for ever: a tick claimed once is never handed out again, even
// when its runner died before finishing it.
func (c *core) ClaimTick(ctx context.Context, name string, tickAt time.Time, owner string, now time.Time) (bool, error) {
	const op = "claim tick"
	if err := checkTick(name, tickAt); err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkKeyLen("tick owner", owner); err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	if now.IsZero() {
		return false, fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	// n is atomic: when ctx ends first, write returns while the SQLite
	// writer may still run the closure.
	var n atomic.Int64
	err := c.b.write(ctx, op, func(q querier) error {
		k, err := q.exec(ctx, claimTickSQL, name, c.tv(tickAt), owner, c.tv(now))
		n.Store(k)
		return err
	})
	return err == nil && n.Load() == 1, err
}

// FinishTick records the result of a claimed tick (result required). A tick
// no one claimed is ErrNotFound.
func (c *core) FinishTick(ctx context.Context, name string, tickAt time.Time, result string, now time.Time) error {
	const op = "finish tick"
	if err := checkTick(name, tickAt); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := checkKeyLen("tick result", result); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if now.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	return c.b.write(ctx, op, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE schedule_ticks SET done_at = ?, result = ? WHERE name = ? AND tick_at = ?`,
			c.tv(now), result, name, c.tv(tickAt))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s %s at %s: %w", op, name, tickAt.UTC().Format(time.RFC3339), ErrNotFound)
		}
		return nil
	})
}

// LastTick returns schedule name's latest tick scheduled before before,
// among those with the given result (empty = any result, unfinished ones
// included); ok is false when there is none.
func (c *core) LastTick(ctx context.Context, name string, before time.Time, result string) (ScheduleTick, bool, error) {
	const op = "last tick"
	if err := checkTick(name, before); err != nil {
		return ScheduleTick{}, false, fmt.Errorf("%s: %w", op, err)
	}
	q := `SELECT name, tick_at, owner, claimed_at, done_at, result FROM schedule_ticks WHERE name = ? AND tick_at < ?`
	args := []any{name, c.tv(before)}
	if result != "" {
		q += ` AND result = ?`
		args = append(args, result)
	}
	q += ` ORDER BY tick_at DESC LIMIT 1`
	var (
		t  ScheduleTick
		ok bool
	)
	err := c.b.read(ctx, op, func(qr querier) error {
		var tickAt, claimed, done dbTime
		err := qr.queryRow(ctx, q, args...).Scan(&t.Name, &tickAt, &t.Owner, &claimed, &done, &t.Result)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		t.TickAt, t.ClaimedAt, t.DoneAt, ok = tickAt.t, claimed.t, done.t, true
		return nil
	})
	if err != nil || !ok {
		return ScheduleTick{}, false, err
	}
	return t, true, nil
}

func checkTick(name string, at time.Time) error {
	if err := checkKeyLen("schedule name", name); err != nil {
		return err
	}
	if at.IsZero() {
		return invalidf("tick time is zero")
	}
	return nil
}

// periodWhere is the condition of an EventPeriod (received_at window and
// sources) and its arguments.
func (c *core) periodWhere(p EventPeriod) ([]string, []any, error) {
	if p.Since.IsZero() || p.Until.IsZero() {
		return nil, nil, invalidf("a period needs since and until")
	}
	where, args, err := c.eventWindow(nil, nil, p.Since, p.Until)
	if err != nil {
		return nil, nil, err
	}
	if len(p.Sources) > 0 {
		for _, s := range p.Sources {
			if err := checkKeyLen("source", s); err != nil {
				return nil, nil, err
			}
			args = append(args, s)
		}
		where = append(where, "source IN (?"+strings.Repeat(", ?", len(p.Sources)-1)+")")
	}
	return where, args, nil
}

// SummarizeEvents counts and sums the events of a period per source, kind,
// currency and test mode, sorted by them (live first). The sums are exact,
// whatever their size.
func (c *core) SummarizeEvents(ctx context.Context, p EventPeriod) ([]EventTotal, error) {
	const op = "summarize events"
	where, args, err := c.periodWhere(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	// The amounts are summed in two parts, amount/1e9 and amount%1e9 (both
	// drivers truncate toward zero, so hi*1e9+lo is each amount exactly):
	// neither part's sum can overflow int64 below a billion events, where
	// SUM(amount) would overflow SQLite's int64 past 9.2e18 minor units.
	test := `CASE WHEN ` + c.b.testMode() + ` THEN 1 ELSE 0 END`
	q := `SELECT source, kind, currency, ` + test + ` AS test, COUNT(*), CAST(SUM(amount / 1000000000) AS TEXT),
	CAST(SUM(amount % 1000000000) AS TEXT) FROM events WHERE ` +
		strings.Join(where, " AND ") + ` GROUP BY source, kind, currency, test ORDER BY source, kind, currency, test`
	out := []EventTotal{}
	err = c.b.read(ctx, op, func(qr querier) error {
		rs, err := qr.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var (
				t      EventTotal
				test   int
				hi, lo string
			)
			if err := rs.Scan(&t.Source, &t.Kind, &t.Currency, &test, &t.Count, &hi, &lo); err != nil {
				return err
			}
			t.Test = test == 1
			h, okH := new(big.Int).SetString(hi, 10)
			l, okL := new(big.Int).SetString(lo, 10)
			if !okH || !okL {
				return plain(fmt.Errorf("sum %q/%q of %s/%s/%s is not an integer", hi, lo, t.Source, t.Kind, t.Currency))
			}
			t.Sum = h.Mul(h, big.NewInt(1_000_000_000)).Add(h, l)
			out = append(out, t)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PeriodEvents returns up to q.Limit events of the period with one of
// q.Kinds (and, with q.Unacked, no acknowledgement), oldest received first,
// without their raw body and headers, and how many match in all.
func (c *core) PeriodEvents(ctx context.Context, q PeriodQuery) ([]StoredEvent, int, error) {
	const op = "period events"
	limit, err := eventLimit(q.Limit)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", op, err)
	}
	if len(q.Kinds) == 0 {
		return nil, 0, fmt.Errorf("%s: %w", op, invalidf("no kinds"))
	}
	where, args, err := c.periodWhere(q.EventPeriod)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", op, err)
	}
	for _, k := range q.Kinds {
		if err := checkKeyLen("kind", k); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", op, err)
		}
		args = append(args, k)
	}
	where = append(where, "kind IN (?"+strings.Repeat(", ?", len(q.Kinds)-1)+")")
	if q.Unacked {
		where = append(where, unackedCond)
	}
	if q.LiveOnly {
		where = append(where, "NOT ("+c.b.testMode()+")")
	}
	cond := strings.Join(where, " AND ")
	list := `SELECT ` + eventRouteCols + ` FROM events WHERE ` + cond + ` ORDER BY received_at, id LIMIT ?`
	count := `SELECT COUNT(*) FROM events WHERE ` + cond
	out := []StoredEvent{}
	var total int
	err = c.b.read(ctx, op, func(qr querier) error {
		if err := qr.queryRow(ctx, count, args...).Scan(&total); err != nil {
			return err
		}
		return eachEvent(ctx, qr, list, append(args, limit), func(se StoredEvent) bool { out = append(out, se); return true })
	})
	if err != nil {
		return nil, 0, err
	}
	return out, max(total, len(out)), nil
}

// LastReceived returns, for each of sources that has events, the time its
// latest event was received (events_source_received makes each one index
// lookup). Sources without events are left out of the map.
func (c *core) LastReceived(ctx context.Context, sources []string) (map[string]time.Time, error) {
	const op = "last received"
	for _, s := range sources {
		if err := checkKeyLen("source", s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	out := make(map[string]time.Time, len(sources))
	err := c.b.read(ctx, op, func(qr querier) error {
		for _, s := range sources {
			var at dbTime
			if err := qr.queryRow(ctx, `SELECT MAX(received_at) FROM events WHERE source = ?`, s).Scan(&at); err != nil {
				return err
			}
			if !at.t.IsZero() {
				out[s] = at.t
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const (
	insertMarkSQL = `INSERT INTO schedule_marks (key, value, at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`
	getMarkSQL    = `SELECT key, value, at FROM schedule_marks WHERE key = ?`
)

func scanMark(r row) (Mark, error) {
	var (
		m  Mark
		at dbTime
	)
	if err := r.Scan(&m.Key, &m.Value, &at); err != nil {
		return Mark{}, err
	}
	m.At = at.t
	return m, nil
}

// SetMark records m unless a mark with its key exists: first is true for
// the one caller, across every replica, that recorded it; stored is the
// mark as kept (m, or the earlier one unchanged).
func (c *core) SetMark(ctx context.Context, m Mark) (Mark, bool, error) {
	const op = "set mark"
	if err := checkKeyLen("mark key", m.Key); err != nil {
		return Mark{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkValue("mark value", m.Value, MaxTextLen); err != nil {
		return Mark{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if m.At.IsZero() {
		return Mark{}, false, fmt.Errorf("%s: %w", op, invalidf("at is zero"))
	}
	var (
		stored Mark
		first  bool
	)
	err := c.b.write(ctx, op, func(q querier) error {
		n, err := q.exec(ctx, insertMarkSQL, m.Key, m.Value, c.tv(m.At))
		if err != nil {
			return err
		}
		if n == 1 {
			stored, first = Mark{Key: m.Key, Value: m.Value, At: msUTC(m.At)}, true
			return nil
		}
		stored, err = scanMark(q.queryRow(ctx, getMarkSQL, m.Key))
		if errors.Is(err, sql.ErrNoRows) {
			return plain(fmt.Errorf("mark %s was not recorded and none exists", m.Key))
		}
		return err
	})
	if err != nil {
		return Mark{}, false, err
	}
	return stored, first, nil
}

// ListMarks lists the marks whose key starts with prefix, sorted by key.
func (c *core) ListMarks(ctx context.Context, prefix string) ([]Mark, error) {
	const op = "list marks"
	if err := checkValue("mark prefix", prefix, MaxKeyLen); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out := []Mark{}
	err := c.b.read(ctx, op, func(qr querier) error {
		// substr rather than LIKE: a prefix holding % or _ is matched as
		// typed.
		rs, err := qr.query(ctx, `SELECT key, value, at FROM schedule_marks WHERE substr(key, 1, ?) = ? ORDER BY key`,
			len([]rune(prefix)), prefix)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			m, err := scanMark(rs)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteMark removes the mark key and returns it: existed is true for the
// one caller, across every replica, that removed it.
func (c *core) DeleteMark(ctx context.Context, key string) (Mark, bool, error) {
	const op = "delete mark"
	if err := checkKeyLen("mark key", key); err != nil {
		return Mark{}, false, fmt.Errorf("%s: %w", op, err)
	}
	var (
		m       Mark
		existed bool
	)
	err := c.b.write(ctx, op, func(q querier) error {
		var err error
		m, err = scanMark(q.queryRow(ctx, `DELETE FROM schedule_marks WHERE key = ? RETURNING key, value, at`, key))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		existed = err == nil
		return err
	})
	if err != nil || !existed {
		return Mark{}, false, err
	}
	return m, true, nil
}

// PurgeTicks deletes the ticks scheduled before before, except, per schedule
// and result, the latest one: LastTick's answers do not change, so a summary
// still starts where the last successful one ended, however old.
func (c *core) PurgeTicks(ctx context.Context, before time.Time) (int64, error) {
	const op = "purge ticks"
	if before.IsZero() {
		return 0, fmt.Errorf("%s: %w", op, invalidf("before is zero"))
	}
	var n int64
	err := c.b.write(ctx, op, func(q querier) error {
		var err error
		n, err = q.exec(ctx, `DELETE FROM schedule_ticks WHERE tick_at < ?
			AND tick_at < (SELECT MAX(t.tick_at) FROM schedule_ticks t
				WHERE t.name = schedule_ticks.name AND t.result = schedule_ticks.result)`, c.tv(before))
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
