package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// What the web console reads (issue 10): a page of events at a cursor, and
// the overview's counts. Migration 0010 adds the indexes they use.

// EventCursor is a position in the newest-first order of events: received_at
// descending, then id descending. Events received in the same millisecond
// are told apart by id, so a page boundary never skips or repeats one.
type EventCursor struct {
	ReceivedAt time.Time
	ID         string
}

// IsZero reports whether c is the start (the newest event).
func (c EventCursor) IsZero() bool { return c.ReceivedAt.IsZero() && c.ID == "" }

// EventPage selects one page of events for PageEvents.
type EventPage struct {
	// Since and Until bound received_at as in EventFilter.
	Since, Until time.Time
	Source       string // empty = any
	Kind         string // empty = any
	// Search, when not nil, keeps only the events it matches, as
	// FindEvents does (its own Since, Until and Limit are ignored: the
	// page's apply).
	Search *EventSearch
	// After, when not zero, starts the page after that position: only
	// events older in the newest-first order are listed.
	After EventCursor
	Limit int // 0 = 100
	// ScanLimit, when positive, bounds the events one call reads when a
	// search by account digits reads its window event by event: while
	// some row is not backfilled with account_rev (migration 0011), or
	// when the digits match so many events that walking the window beats
	// sorting them (account.go). The call then stops early and its Next
	// says where the read stopped. A search answered from the index
	// events_account_rev reads only its matches and ignores it.
	ScanLimit int
}

// EventPageResult is one page of events.
type EventPageResult struct {
	Events []StoredEvent
	// Next is where the following page starts: after the last event
	// listed when the page is full, or after the last event read when
	// ScanLimit stopped the read. Zero when nothing follows.
	Next EventCursor
}

// SourceActivity is what the overview shows of one source.
type SourceActivity struct {
	Last  time.Time // receive time of its newest event; zero when none
	Count int       // events received at or after the given time
}

// RobotActivity is what the overview shows of one robot.
type RobotActivity struct {
	// Sent counts the DingTalk messages sent at or after the given time (a
	// digest of several deliveries is one message).
	Sent int
	// Pending and Sending are its outbox depth; Dead its dead letters.
	Pending, Sending, Dead int
}

// PageEvents lists up to p.Limit events matching p, newest received first,
// strictly after p.After in that order, without their raw body and headers.
func (c *core) PageEvents(ctx context.Context, p EventPage) (EventPageResult, error) {
	const op = "page events"
	var res EventPageResult
	limit, err := eventLimit(p.Limit)
	if err != nil {
		return res, fmt.Errorf("%s: %w", op, err)
	}
	if p.ScanLimit < 0 {
		return res, fmt.Errorf("%s: %w", op, invalidf("scan limit %d is negative", p.ScanLimit))
	}
	where, args, err := c.eventWindow(nil, nil, p.Since, p.Until)
	if err != nil {
		return res, fmt.Errorf("%s: %w", op, err)
	}
	if !p.After.IsZero() {
		if p.After.ReceivedAt.IsZero() {
			return res, fmt.Errorf("%s: %w", op, invalidf("cursor without a receive time"))
		}
		// A row value comparison: both drivers walk the index
		// (source, received_at, id) or (received_at, id) backwards from it.
		where, args = append(where, "(received_at, id) < (?, ?)"), append(args, c.tv(p.After.ReceivedAt), p.After.ID)
	}
	if p.Source != "" {
		where, args = append(where, "source = ?"), append(args, p.Source)
	}
	if p.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, p.Kind)
	}
	if s := p.Search; s != nil {
		digits := alnumLower(s.AccountDigits)
		if s.Text == "" && len(s.Amounts) == 0 && digits == "" {
			return res, fmt.Errorf("%s: %w", op, invalidf("nothing to search for"))
		}
		plan := accountIndex
		if digits != "" {
			if plan, err = c.planAccount(ctx, op, digits); err != nil {
				return res, err
			}
		}
		switch plan {
		case accountScan: // rows without account_rev: matched on their JSON here
			return c.pageByAccount(ctx, op, p, where, args, digits, "", nil, limit)
		case accountWalk: // many matches: the database checks each row read
			cond, condArgs := searchTerms(*s, digits, plan)
			return c.pageByAccount(ctx, op, p, where, args, digits, cond, condArgs, limit)
		}
		if digits != "" {
			where = c.unindexed(where)
		}
		cond, condArgs := searchTerms(*s, digits, plan)
		where, args = append(where, cond), append(args, condArgs...)
	}
	args = append(args, limit)
	q := listEventsSQL(where, true)
	res.Events = []StoredEvent{}
	err = c.b.read(ctx, op, func(qr querier) error {
		return eachEvent(ctx, qr, q, args, func(se StoredEvent) bool {
			res.Events = append(res.Events, se)
			return len(res.Events) < limit
		})
	})
	if err != nil {
		return EventPageResult{}, err
	}
	if len(res.Events) == limit {
		e := res.Events[limit-1]
		res.Next = EventCursor{ReceivedAt: e.ReceivedAt, ID: e.ID}
	}
	return res, nil
}

// pageByAccount is PageEvents for a search by account digits that reads the
// window's events one by one, newest first, at most p.ScanLimit of them:
// while some row has no account_rev yet (cond is empty), each event is
// matched here on its stored JSON (the account, id, reference and amount
// only, without decoding the whole event); when the digits match many
// events (accountWalk), the database evaluates cond, the search's terms, on
// each row read. Only the matches are then read in full.
func (c *core) pageByAccount(ctx context.Context, op string, p EventPage, where []string, args []any,
	digits, cond string, condArgs []any, limit int) (EventPageResult, error) {
	var res EventPageResult
	q := pageByAccountSQL(where, cond, p.ScanLimit > 0)
	if cond != "" {
		args = append(slices.Clone(condArgs), args...)
	}
	if p.ScanLimit > 0 {
		args = append(args, p.ScanLimit)
	}
	var ids []string
	read := 0
	var last EventCursor
	err := c.b.read(ctx, op, func(qr querier) error {
		rs, err := qr.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var (
				id     string
				at     dbTime
				evJSON []byte
				hit    int
			)
			if err := rs.Scan(&id, &at, &evJSON, &hit); err != nil {
				return err
			}
			read++
			last = EventCursor{ReceivedAt: at.t, ID: id}
			if hit == 1 || (cond == "" && p.Search.matchesJSON(id, evJSON, digits)) {
				ids = append(ids, id)
				if len(ids) == limit {
					break
				}
			}
		}
		return rs.Err()
	})
	if err != nil {
		return res, err
	}
	got, err := c.GetEvents(ctx, ids)
	if err != nil {
		return res, fmt.Errorf("%s: %w", op, err)
	}
	res.Events = make([]StoredEvent, 0, len(ids))
	for _, id := range ids {
		if se, ok := got[id]; ok { // gone meanwhile: left out
			res.Events = append(res.Events, se)
		}
	}
	switch {
	case len(ids) == limit:
		res.Next = last // the last match read
	case p.ScanLimit > 0 && read == p.ScanLimit:
		res.Next = last // where the read stopped
	}
	return res, nil
}

// pageByAccountSQL reads id, receive time, and either the stored event
// (cond empty) or whether cond holds, of the events meeting where, newest
// first, under a LIMIT when scanLimited.
func pageByAccountSQL(where []string, cond string, scanLimited bool) string {
	q := `SELECT id, received_at, event, 0 FROM events`
	if cond != "" {
		q = `SELECT id, received_at, '{}', CASE WHEN ` + cond + ` THEN 1 ELSE 0 END FROM events`
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY received_at DESC, id DESC`
	if scanLimited {
		q += ` LIMIT ?`
	}
	return q
}

// matchesJSON is matches on an event's stored JSON and bankbot id.
func (s EventSearch) matchesJSON(id string, evJSON []byte, digits string) bool {
	r := gjson.GetManyBytes(evJSON, "id", "reference", "amount", "account")
	if s.Text != "" && (id == s.Text || r[0].String() == s.Text || r[1].String() == s.Text) {
		return true
	}
	if r[2].Exists() && slices.Contains(s.Amounts, r[2].Int()) {
		return true
	}
	return digits != "" && strings.HasSuffix(alnumLower(r[3].String()), digits)
}

const (
	sourceLastSQL  = `SELECT MAX(received_at) FROM events WHERE source = ?`
	sourceCountSQL = `SELECT COUNT(*) FROM events WHERE source = ? AND received_at >= ?`
	sourceTimesSQL = `SELECT received_at FROM events WHERE source = ? AND received_at >= ? AND received_at < ?`
)

// SourceActivity returns, for each of sources, the receive time of its
// newest event and how many events it received at or after since. Each
// source is two index lookups (events_source_received).
func (c *core) SourceActivity(ctx context.Context, sources []string, since time.Time) (map[string]SourceActivity, error) {
	const op = "source activity"
	if since.IsZero() {
		return nil, fmt.Errorf("%s: %w", op, invalidf("since is zero"))
	}
	out := make(map[string]SourceActivity, len(sources))
	err := c.b.read(ctx, op, func(q querier) error {
		for _, src := range sources {
			var a SourceActivity
			var last dbTime
			if err := q.queryRow(ctx, sourceLastSQL, src).Scan(&last); err != nil {
				return err
			}
			a.Last = last.t
			if err := q.queryRow(ctx, sourceCountSQL, src, c.tv(since)).Scan(&a.Count); err != nil {
				return err
			}
			out[src] = a
		}
		return nil
	})
	return out, err
}

// EventsPerHour counts, for each of sources, the events received in each of
// hours consecutive hours from start: out[source][i] is the count of
// [start+i h, start+(i+1) h). It reads the receive times from the index
// events_source_received only.
func (c *core) EventsPerHour(ctx context.Context, sources []string, start time.Time, hours int) (map[string][]int, error) {
	const op = "events per hour"
	if start.IsZero() || hours < 1 || hours > 24*31 {
		return nil, fmt.Errorf("%s: %w", op, invalidf("start %s and %d hours: need a start and 1 to 744 hours", start.Format(time.RFC3339), hours))
	}
	start = msUTC(start)
	end := start.Add(time.Duration(hours) * time.Hour)
	out := make(map[string][]int, len(sources))
	err := c.b.read(ctx, op, func(q querier) error {
		for _, src := range sources {
			counts := make([]int, hours)
			rs, err := q.query(ctx, sourceTimesSQL, src, c.tv(start), c.tv(end))
			if err != nil {
				return err
			}
			for rs.Next() {
				var t dbTime
				if err := rs.Scan(&t); err != nil {
					rs.Close()
					return err
				}
				if i := int(t.t.Sub(start) / time.Hour); i >= 0 && i < hours {
					counts[i]++
				}
			}
			err = rs.Err()
			rs.Close()
			if err != nil {
				return err
			}
			out[src] = counts
		}
		return nil
	})
	return out, err
}

const (
	robotSentSQL = `SELECT robot, COUNT(DISTINCT CASE WHEN message_id = '' THEN CAST(id AS TEXT) ELSE message_id END)
	FROM deliveries WHERE sent_at >= ? GROUP BY robot`
	robotDepthSQL = `SELECT robot, status, COUNT(*) FROM deliveries
	WHERE status IN ('pending', 'sending', 'dead') GROUP BY robot, status`
)

// RobotActivity returns, per robot with any row, the messages it sent at or
// after since and its outbox depth and dead letters.
func (c *core) RobotActivity(ctx context.Context, since time.Time) (map[string]RobotActivity, error) {
	const op = "robot activity"
	if since.IsZero() {
		return nil, fmt.Errorf("%s: %w", op, invalidf("since is zero"))
	}
	out := map[string]RobotActivity{}
	err := c.b.read(ctx, op, func(q querier) error {
		rs, err := q.query(ctx, robotSentSQL, c.tv(since))
		if err != nil {
			return err
		}
		for rs.Next() {
			var robot string
			var n int
			if err := rs.Scan(&robot, &n); err != nil {
				rs.Close()
				return err
			}
			a := out[robot]
			a.Sent = n
			out[robot] = a
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return err
		}
		rs, err = q.query(ctx, robotDepthSQL)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var robot, status string
			var n int
			if err := rs.Scan(&robot, &status, &n); err != nil {
				return err
			}
			a := out[robot]
			switch status {
			case StatusPending:
				a.Pending = n
			case StatusSending:
				a.Sending = n
			case StatusDead:
				a.Dead = n
			}
			out[robot] = a
		}
		return rs.Err()
	})
	return out, err
}
