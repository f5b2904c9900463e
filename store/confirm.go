package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The confirmation state of events (sources.*.confirm): see Confirmation.

const dueEventsSQL = `SELECT ` + eventRouteCols + ` FROM events WHERE routed_at IS NULL
	AND (confirm_next_at IS NULL OR confirm_next_at <= ?)
	ORDER BY received_at, id LIMIT ?`

// DueEvents returns up to limit unrouted events, oldest first, leaving out
// those whose confirmation waits for a retry after now. The unrouted events
// are few (events_unrouted is a partial index on them), so the extra
// condition is checked on those rows only.
func (c *core) DueEvents(ctx context.Context, now time.Time, limit int) ([]StoredEvent, error) {
	const op = "due events"
	if limit <= 0 {
		return nil, fmt.Errorf("%s: %w", op, invalidf("limit %d is not positive", limit))
	}
	if now.IsZero() {
		return nil, fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	var out []StoredEvent
	err := c.b.read(ctx, op, func(q querier) error {
		return eachEvent(ctx, q, dueEventsSQL, []any{c.tv(now), limit}, func(se StoredEvent) bool { out = append(out, se); return true })
	})
	return out, err
}

const (
	deferConfirmationSQL = `UPDATE events SET confirmation = ?, confirmation_reason = ?,
	confirm_attempts = confirm_attempts + 1, confirm_next_at = ? WHERE id = ? AND routed_at IS NULL`
	eventRoutedSQL = `SELECT routed_at FROM events WHERE id = ?`
)

// notUnrouted explains why an update of an unrouted event changed no row:
// ErrNotFound, or ErrConflict when the event is routed already.
func notUnrouted(ctx context.Context, q querier, op, id string) error {
	var routed dbTime
	err := q.queryRow(ctx, eventRoutedSQL, id).Scan(&routed)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: event %q: %w", op, id, ErrNotFound)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%s: event %q is routed already: %w", op, id, ErrConflict)
}

// DeferConfirmation records a failed attempt to confirm an unrouted event.
func (c *core) DeferConfirmation(ctx context.Context, eventID, reason string, next time.Time) error {
	const op = "defer confirmation"
	if next.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("next is zero"))
	}
	return c.b.write(ctx, op, func(q querier) error {
		n, err := q.exec(ctx, deferConfirmationSQL, ConfirmUnconfirmed, text(reason), c.tv(next), eventID)
		if err != nil {
			return err
		}
		if n == 0 {
			return notUnrouted(ctx, q, op, eventID)
		}
		return nil
	})
}

const (
	confirmEventSQL = `UPDATE events SET confirmation = ?, confirmation_reason = ?, confirm_next_at = NULL
	WHERE id = ? AND routed_at IS NULL`
	replaceEventSQL = `UPDATE events SET type = ?, kind = ?, amount = ?, currency = ?, reference = ?, event = ?
	WHERE id = ?`
	// replaceEventRevSQL is replaceEventSQL with account_rev (0011).
	replaceEventRevSQL = `UPDATE events SET type = ?, kind = ?, amount = ?, currency = ?, reference = ?, event = ?,
	account_rev = ? WHERE id = ?`
)

// ConfirmEvent records an event's confirmation and routes it.
func (c *core) ConfirmEvent(ctx context.Context, ce ConfirmedEvent) error {
	const op = "confirm event"
	if ce.Status != ConfirmConfirmed && ce.Status != ConfirmMismatch {
		return fmt.Errorf("%s: %w", op, invalidf("status %q is not %s or %s", ce.Status, ConfirmConfirmed, ConfirmMismatch))
	}
	if ce.Now.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	if err := checkDeliveries(ce.Deliveries); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var enc encodedEvent
	if ce.Event != nil {
		var err error
		if enc, err = encodeEvent(NewEvent{Event: *ce.Event}); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	t := c.tv(ce.Now)
	return c.b.write(ctx, op, func(q querier) error {
		n, err := q.exec(ctx, confirmEventSQL, ce.Status, text(ce.Reason), ce.EventID)
		if err != nil {
			return err
		}
		if n == 0 {
			return notUnrouted(ctx, q, op, ce.EventID)
		}
		if ce.Event != nil {
			ev := enc.event
			stmt, args := replaceEventSQL, []any{text(ev.Type), text(string(ev.Kind)), ev.Amount,
				text(ev.Currency), text(ev.Reference), enc.json}
			if c.accountRev {
				stmt, args = replaceEventRevSQL, append(args, accountRev(ev.Account))
			}
			if _, err := q.exec(ctx, stmt, append(args, ce.EventID)...); err != nil {
				return err
			}
		}
		if err := insertDeliveries(ctx, q, ce.EventID, ce.Deliveries, t); err != nil {
			return err
		}
		_, err = q.exec(ctx, markRoutedSQL, t, ce.EventID)
		return err
	})
}
