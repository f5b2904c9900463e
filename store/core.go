package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// The semantics of every Store method live here, once, in SQL that both
// SQLite and PostgreSQL accept. A driver (sqlite.go, postgres.go) supplies a
// backend: how to run a read and a write transaction, how a time is encoded,
// which lock clause a claim uses, and how a driver error is classified. Queries
// are written with ? placeholders; the PostgreSQL backend rewrites them to $n.

// row is one result row.
type row interface{ Scan(dest ...any) error }

// rows is a result set; Close releases it.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// querier runs statements, inside a transaction or not.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (rowsAffected int64, err error)
	queryRow(ctx context.Context, q string, args ...any) row
	query(ctx context.Context, q string, args ...any) (rows, error)
}

// backend is what a driver provides to core.
type backend interface {
	// read runs fn outside any transaction. Errors fn returns that are not
	// the store's own sentinels are classified (ErrUnavailable or plain).
	read(ctx context.Context, op string, fn func(q querier) error) error
	// write runs fn in one write transaction and commits it; it returns
	// only after the commit is durable.
	write(ctx context.Context, op string, fn func(q querier) error) error
	// timeArg encodes a non-zero time already in msUTC form.
	timeArg(t time.Time) any
	// claimLock is the row-locking clause of the claim's inner SELECT.
	claimLock() string
	// unindexed rewrites conditions on received_at, source and kind
	// ("received_at >= ?", "(received_at, id) < (?, ?)", "source = ?")
	// so that the planner serves none of them from an index.
	unindexed() *strings.Replacer
	// rowLock is the clause that locks the rows a SELECT reads until the
	// transaction ends ("" where transactions already run one at a time).
	rowLock() string
	// robotLock is a statement, taking the robot as its one argument, that
	// serialises the transactions touching one robot's sends until they
	// end ("" where write transactions already run one at a time).
	robotLock() string
	// idIn returns a condition "the id column is one of ids" and the one
	// argument it takes: the statement text does not depend on how many ids
	// there are, so it is prepared once.
	idIn(ids []int64) (cond string, arg any)
	// testMode is a condition true for the events the provider marked as
	// test mode (the canonical event's livemode is false; missing counts as
	// live, as bankhooks does for providers without a test mode).
	testMode() string
	ping(ctx context.Context) error
	close() error
}

// core implements Store on top of a backend.
type core struct {
	b backend
	// accountRev is set when the schema has events.account_rev (0011):
	// inserts fill it and searches by account digits use its index.
	accountRev bool
	// fill runs the backfill of account_rev (account.go).
	fill *accountFill
	// paceSleep waits between paced background batches (nil: a timer;
	// tests replace it).
	paceSleep func(context.Context, time.Duration) error
}

// dbTime scans a stored time: INTEGER unix milliseconds (SQLite),
// TIMESTAMPTZ (PostgreSQL) or NULL (the zero time).
type dbTime struct{ t time.Time }

// Scan implements sql.Scanner; pgx honours it too.
func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.t = time.Time{}
	case int64:
		d.t = time.UnixMilli(x).UTC()
	case time.Time:
		d.t = msUTC(x)
	default:
		return fmt.Errorf("scan time: unsupported type %T", v)
	}
	return nil
}

// tv encodes t for a statement: NULL for the zero time, else the driver's
// form of t truncated to the millisecond in UTC.
func (c *core) tv(t time.Time) any {
	t = msUTC(t)
	if t.IsZero() {
		return nil
	}
	return c.b.timeArg(t)
}

// insertEventSQL inserts an event; its last argument is routed_at (NULL
// when the event is left for the background router).
const insertEventSQL = `INSERT INTO events (id, source, provider, provider_event_id, type, kind,
	amount, currency, reference, occurred_at, received_at, remote_ip, headers, body, event, routed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, provider_event_id) DO NOTHING`

// insertConfirmEventSQL is insertEventSQL with the confirmation status as
// its last argument. Events that need no confirmation (most) keep the
// shorter statement, which every schema version since 0001 accepts.
const insertConfirmEventSQL = `INSERT INTO events (id, source, provider, provider_event_id, type, kind,
	amount, currency, reference, occurred_at, received_at, remote_ip, headers, body, event, routed_at, confirmation)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, provider_event_id) DO NOTHING`

// insertEventRevSQL and insertConfirmEventRevSQL are the two above with
// account_rev (schema 0011) as their last argument: the column is written
// by the insert itself, not by a second statement.
const (
	insertEventRevSQL = `INSERT INTO events (id, source, provider, provider_event_id, type, kind,
	amount, currency, reference, occurred_at, received_at, remote_ip, headers, body, event, routed_at, account_rev)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, provider_event_id) DO NOTHING`
	insertConfirmEventRevSQL = `INSERT INTO events (id, source, provider, provider_event_id, type, kind,
	amount, currency, reference, occurred_at, received_at, remote_ip, headers, body, event, routed_at, confirmation, account_rev)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, provider_event_id) DO NOTHING`
)

const eventKeySQL = `SELECT id FROM events WHERE source = ? AND provider_event_id = ?`

// InsertEvent commits a new event, or reports the earlier one with the same
// (source, provider event id). It returns only after the commit.
//
// With e.Routed, a new event is inserted already routed (routed_at =
// ReceivedAt) and its deliveries are created, pending and due at
// ReceivedAt, in the same transaction: one commit (one fsync, shared with
// other writers by SQLite's group commit) instead of a second transaction
// from the background router. A duplicate inserts nothing, deliveries
// included.
func (c *core) InsertEvent(ctx context.Context, e NewEvent) (InsertResult, error) {
	const op = "insert event"
	if err := checkEvent(e); err != nil {
		return InsertResult{}, fmt.Errorf("%s: %w", op, err)
	}
	enc, err := encodeEvent(e)
	if err != nil {
		return InsertResult{}, fmt.Errorf("%s: %w", op, err)
	}
	ev := enc.event
	received := c.tv(e.ReceivedAt)
	var routedAt any
	if e.Routed {
		routedAt = received
	}
	args := []any{e.ID, e.Source, text(ev.Provider), ev.ID, text(ev.Type), text(string(ev.Kind)),
		ev.Amount, text(ev.Currency), text(ev.Reference), c.tv(ev.OccurredAt), received,
		text(e.RemoteIP), enc.headers, blob(e.Body), enc.json, routedAt}
	insertSQL := insertEventSQL
	if e.Confirmation != "" {
		insertSQL, args = insertConfirmEventSQL, append(args, text(e.Confirmation))
	}
	if c.accountRev {
		switch insertSQL {
		case insertEventSQL:
			insertSQL = insertEventRevSQL
		default:
			insertSQL = insertConfirmEventRevSQL
		}
		args = append(args, accountRev(ev.Account))
	}
	var res InsertResult
	err = c.b.write(ctx, op, func(q querier) error {
		n, err := q.exec(ctx, insertSQL, args...)
		if err != nil {
			return err
		}
		if n == 1 {
			res = InsertResult{ID: e.ID}
			return insertDeliveries(ctx, q, e.ID, e.Deliveries, received)
		}
		// The key exists (ON CONFLICT did nothing). PostgreSQL made this
		// statement wait for a concurrent inserter of the same key to commit,
		// and READ COMMITTED gives the next statement a fresh snapshot, so the
		// winner's row is visible here in both drivers.
		var id string
		err = q.queryRow(ctx, eventKeySQL, e.Source, ev.ID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return plain(fmt.Errorf("event %s was not inserted and no event holds its key", e.ID))
		}
		if err != nil {
			return err
		}
		res = InsertResult{ID: id, Duplicate: true}
		return nil
	})
	if err != nil {
		return InsertResult{}, err
	}
	return res, nil
}

// deliveryChunk bounds the rows of one multi-row INSERT into deliveries: it
// keeps the statement's argument count far below SQLite's limit and the
// number of distinct statement texts (each prepared once) small.
const deliveryChunk = 32

// insertDeliveriesSQL[n] inserts n deliveries of one event, pending and due
// at their creation time, leaving an existing (event, route) row alone.
var insertDeliveriesSQL = func() (out [deliveryChunk + 1]string) {
	for n := 1; n <= deliveryChunk; n++ {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO deliveries (event_id, route, robot, spec, status, attempts,
	next_attempt_at, created_at, updated_at) VALUES `)
		for i := range n {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, 'pending', 0, ?, ?, ?)")
		}
		sb.WriteString(` ON CONFLICT (event_id, route) DO NOTHING`)
		out[n] = sb.String()
	}
	return out
}()

// insertDeliveries creates event eventID's deliveries, due at t (an encoded
// time), in as few statements as deliveryChunk allows. Of two deliveries
// with one route, the first is kept.
func insertDeliveries(ctx context.Context, q querier, eventID string, ds []NewDelivery, t any) error {
	for len(ds) > 0 {
		chunk := ds[:min(len(ds), deliveryChunk)]
		ds = ds[len(chunk):]
		args := make([]any, 0, 7*len(chunk))
		for _, d := range chunk {
			args = append(args, eventID, d.Route, d.Robot, blob(d.Spec), t, t, t)
		}
		if _, err := q.exec(ctx, insertDeliveriesSQL[len(chunk)], args...); err != nil {
			return err
		}
	}
	return nil
}

const eventCols = `id, source, event, received_at, remote_ip, headers, body, routed_at, ` + confirmCols

// confirmCols are the confirmation columns every event read returns, and
// when retention purged the raw body (retention.go).
const confirmCols = `confirmation, confirmation_reason, confirm_attempts, confirm_next_at, body_purged_at`

const getEventSQL = `SELECT ` + eventCols + ` FROM events WHERE id = ?`

// eventRouteCols are eventCols without the raw body and headers (empty
// literals of the same types keep scanEvent usable).
const eventRouteCols = `id, source, event, received_at, remote_ip, '{}' AS headers, NULL AS body, routed_at, ` + confirmCols

func scanEvent(r row) (StoredEvent, error) {
	var (
		se               StoredEvent
		evJSON, hJSON    []byte
		received, routed dbTime
		next, purged     dbTime
		cf               = &se.Confirmation
	)
	if err := r.Scan(&se.ID, &se.Source, &evJSON, &received, &se.RemoteIP, &hJSON, &se.Body, &routed,
		&cf.Status, &cf.Reason, &cf.Attempts, &next, &purged); err != nil {
		return StoredEvent{}, err
	}
	se.ReceivedAt, se.RoutedAt, cf.NextAt, se.BodyPurgedAt = received.t, routed.t, next.t, purged.t
	if err := decodeEvent(&se, evJSON, hJSON); err != nil {
		return StoredEvent{}, err
	}
	return se, nil
}

// eachEvent runs query q and hands each event row (eventCols or
// eventRouteCols) to fn, until fn returns false or the rows end.
func eachEvent(ctx context.Context, qr querier, q string, args []any, fn func(StoredEvent) bool) error {
	rs, err := qr.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		se, err := scanEvent(rs)
		if err != nil {
			return err
		}
		if !fn(se) {
			break
		}
	}
	return rs.Err()
}

// GetEvent reads one event by bankbot id.
func (c *core) GetEvent(ctx context.Context, id string) (StoredEvent, error) {
	const op = "get event"
	var se StoredEvent
	err := c.b.read(ctx, op, func(q querier) error {
		var err error
		se, err = scanEvent(q.queryRow(ctx, getEventSQL, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %q: %w", op, id, ErrNotFound)
		}
		return err
	})
	return se, err
}

const unroutedEventsSQL = `SELECT ` + eventRouteCols + ` FROM events WHERE routed_at IS NULL
	ORDER BY received_at, id LIMIT ?`

// getEventsChunk bounds the ids of one GetEvents statement.
const getEventsChunk = 100

// GetEvents reads the events with the given ids, without their raw body and
// headers, getEventsChunk ids per statement. Unknown ids are left out.
func (c *core) GetEvents(ctx context.Context, ids []string) (map[string]StoredEvent, error) {
	const op = "get events"
	out := make(map[string]StoredEvent, len(ids))
	for start := 0; start < len(ids); start += getEventsChunk {
		chunk := ids[start:min(len(ids), start+getEventsChunk)]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		q := `SELECT ` + eventRouteCols + ` FROM events WHERE id IN (?` + strings.Repeat(", ?", len(chunk)-1) + `)`
		err := c.b.read(ctx, op, func(qr querier) error {
			return eachEvent(ctx, qr, q, args, func(se StoredEvent) bool { out[se.ID] = se; return true })
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UnroutedEvents returns up to limit events not yet routed, oldest first.
func (c *core) UnroutedEvents(ctx context.Context, limit int) ([]StoredEvent, error) {
	const op = "unrouted events"
	if limit <= 0 {
		return nil, fmt.Errorf("%s: %w", op, invalidf("limit %d is not positive", limit))
	}
	var out []StoredEvent
	err := c.b.read(ctx, op, func(q querier) error {
		// The raw body and headers are left out: routing needs only the
		// parsed event, and 100 bodies of up to max_body_bytes each would be
		// read for nothing.
		return eachEvent(ctx, q, unroutedEventsSQL, []any{limit}, func(se StoredEvent) bool { out = append(out, se); return true })
	})
	return out, err
}

const (
	eventExistsSQL = `SELECT 1 FROM events WHERE id = ?`
	markRoutedSQL  = `UPDATE events SET routed_at = COALESCE(routed_at, ?) WHERE id = ?`
)

// eventExists answers ErrNotFound for an unknown event id.
func eventExists(ctx context.Context, q querier, op, id string) error {
	var one int
	err := q.queryRow(ctx, eventExistsSQL, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: event %q: %w", op, id, ErrNotFound)
	}
	return err
}

// RouteEvent atomically creates the event's deliveries (due at now; an
// existing (event, route) row is left alone) and marks the event routed. The
// first routing time is kept when an event is routed again.
func (c *core) RouteEvent(ctx context.Context, eventID string, ds []NewDelivery, now time.Time) error {
	const op = "route event"
	if err := checkDeliveries(ds); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if now.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	t := c.tv(now)
	return c.b.write(ctx, op, func(q querier) error {
		if err := eventExists(ctx, q, op, eventID); err != nil {
			return err
		}
		if err := insertDeliveries(ctx, q, eventID, ds, t); err != nil {
			return err
		}
		_, err := q.exec(ctx, markRoutedSQL, t, eventID)
		return err
	})
}

const deliveryCols = `id, event_id, route, robot, spec, status, attempts, throttles, next_attempt_at,
	lease_owner, lease_until, last_reason, last_error, created_at, updated_at, sent_at, message_id`

func scanDelivery(r row) (Delivery, error) {
	var (
		d                                    Delivery
		next, lease, created, updated, sentT dbTime
	)
	err := r.Scan(&d.ID, &d.EventID, &d.Route, &d.Robot, &d.Spec, &d.Status, &d.Attempts, &d.Throttles, &next,
		&d.LeaseOwner, &lease, &d.LastReason, &d.LastError, &created, &updated, &sentT, &d.MessageID)
	if err != nil {
		return Delivery{}, err
	}
	d.NextAttemptAt, d.LeaseUntil, d.CreatedAt, d.UpdatedAt, d.SentAt = next.t, lease.t, created.t, updated.t, sentT.t
	if d.Spec == nil {
		d.Spec = []byte{}
	}
	return d, nil
}

func collectDeliveries(rs rows, err error) ([]Delivery, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []Delivery
	for rs.Next() {
		d, err := scanDelivery(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rs.Err()
}

// claimSQL is ClaimDeliveries' statement with the given row-locking clause.
func claimSQL(lock string) string {
	return `WITH due AS MATERIALIZED (
		SELECT id AS due_id FROM deliveries
		WHERE robot = ? AND ((status = 'pending' AND next_attempt_at <= ?)
			OR (status = 'sending' AND lease_until <= ?))
		ORDER BY next_attempt_at, id
		LIMIT ? ` + lock + `)
	UPDATE deliveries SET status = 'sending', lease_owner = ?, lease_until = ?, updated_at = ?
	WHERE id IN (SELECT due_id FROM due)
	RETURNING ` + deliveryCols
}

// ClaimDeliveries leases up to c.Limit due deliveries of c.Robot, oldest due
// first (next_attempt_at, then id), setting status sending, lease_owner and
// lease_until. Due means pending with next_attempt_at <= Now, or sending
// with lease_until <= Now.
//
// Failure policy: a lease fails open. A worker that dies (kill -9, power loss,
// lost database connection) leaves its rows sending; once lease_until passes
// they are due again and the next claimer re-sends them. Delivery is therefore
// at least once: a message DingTalk accepted just before the crash is sent a
// second time, because a duplicate alert is preferred to a lost one. A lease is
// not renewed, so callers choose LeaseUntil beyond their per-attempt timeout.
// The crashed attempt is not counted in attempts (nothing recorded it).
//
// Exclusivity: SQLite runs the claim as one statement inside a BEGIN
// IMMEDIATE transaction (one writer at a time); PostgreSQL selects the rows
// FOR UPDATE SKIP LOCKED, re-checking each locked row, so two concurrent
// claimers never receive the same row.
func (c *core) ClaimDeliveries(ctx context.Context, cl Claim) ([]Delivery, error) {
	const op = "claim deliveries"
	if err := checkClaim(cl); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	now := c.tv(cl.Now)
	q := claimSQL(c.b.claimLock())
	var out []Delivery
	err := c.b.write(ctx, op, func(qr querier) error {
		var err error
		out, err = collectDeliveries(qr.query(ctx, q, cl.Robot, now, now, cl.Limit, cl.Owner, c.tv(cl.LeaseUntil), now))
		return err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING has no defined order.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].NextAttemptAt.Equal(out[j].NextAttemptAt) {
			return out[i].NextAttemptAt.Before(out[j].NextAttemptAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// transitionSQL moves one row, given its id and status, by set.
func transitionSQL(set string) string {
	return `UPDATE deliveries SET ` + set + ` WHERE id = ? AND status = ? RETURNING attempts + throttles`
}

const deliveryStatusSQL = `SELECT status FROM deliveries WHERE id = ?`

// transition moves delivery id from status from by the SET clause set (with
// args), and, when a is not nil, records a as attempt number attempts (the
// counter after the update). No row changed means ErrNotFound or ErrConflict.
func (c *core) transition(ctx context.Context, op string, id int64, from, set string, args []any, a *Attempt) error {
	return c.b.write(ctx, op, func(q querier) error {
		var n int
		// n numbers the attempt log: counted attempts and throttled answers.
		err := q.queryRow(ctx, transitionSQL(set), append(args, id, from)...).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			var status string
			err = q.queryRow(ctx, deliveryStatusSQL, id).Scan(&status)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return stateErr(op, id, status, from)
		}
		if err != nil || a == nil {
			return err
		}
		_, err = q.exec(ctx, insertAttemptSQL, id, n, c.tv(a.At), a.Duration.Milliseconds(), text(a.Reason), text(a.Error))
		return err
	})
}

const insertAttemptSQL = `INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms, reason, error)
	VALUES (?, ?, ?, ?, ?, ?)`

// sendingCond selects the rows that are sending among rows already found by
// id. It is written so that no planner uses it to pick an index: given an
// equality on status, SQLite's default estimates prefer scanning every
// sending row's entry in deliveries_due over looking the few given ids up
// by primary key.
const sendingCond = `status || '' = 'sending'`

// transitionManySQL moves the sending rows among those idCond selects by
// set, returning the ids it changed.
func transitionManySQL(set, idCond string) string {
	return `UPDATE deliveries SET ` + set + ` WHERE ` + idCond + ` AND ` + sendingCond + ` RETURNING id`
}

// insertAttemptsSQL logs one attempt for each row idCond selects, numbered
// by the row's counters (already incremented).
func insertAttemptsSQL(idCond string) string {
	return `INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms, reason, error)
	SELECT id, attempts + throttles, ?, ?, ?, ? FROM deliveries WHERE ` + idCond
}

// assignMessageSQL sets message_id on the sending rows among those idCond
// selects.
func assignMessageSQL(idCond string) string {
	return `UPDATE deliveries SET message_id = ? WHERE ` + idCond + ` AND ` + sendingCond
}

// transitionMany moves those of ids that are sending by the SET clause set
// (with args) in one transaction and, when a is not nil, records a for each
// row it changed, numbered like transition does. Rows that are not sending,
// or do not exist, are skipped. It returns how many rows changed.
//
// Failure policy: a row that is no longer sending is skipped, not reported
// as an error, because a worker whose lease ran out (another worker claimed
// the row and may have sent or recorded it) must not overwrite the newer
// outcome, while the other rows of its message still need theirs; the
// count tells the caller how many were still its own. If the transaction
// fails, no row changes and the rows are claimed again when their leases
// end (at least once).
func (c *core) transitionMany(ctx context.Context, op string, ids []int64, set string, args []any, a *Attempt) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	cond, idArg := c.b.idIn(ids)
	update := transitionManySQL(set, cond)
	args = append(slices.Clip(args), idArg)
	var changed []int64
	err := c.b.write(ctx, op, func(q querier) error {
		changed = changed[:0] // a group commit may run fn again
		rs, err := q.query(ctx, update, args...)
		if err != nil {
			return err
		}
		for rs.Next() {
			var id int64
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return err
			}
			changed = append(changed, id)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		if a == nil || len(changed) == 0 {
			return nil
		}
		// The counters already hold this attempt: attempts + throttles is
		// its number, as in transition.
		cond, arg := c.b.idIn(changed)
		_, err = q.exec(ctx, insertAttemptsSQL(cond), c.tv(a.At), a.Duration.Milliseconds(), text(a.Reason), text(a.Error), arg)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(changed), nil
}

// checkBatch validates the arguments every batch outcome shares.
func checkBatch(op string, a *Attempt, next *time.Time) error {
	if a != nil && a.At.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("attempt time is zero"))
	}
	if next != nil && next.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("next is zero"))
	}
	return nil
}

// AssignMessage records messageID as the DingTalk message of those of ids
// that are sending, in one statement, and returns how many they are (rows
// that already carried messageID included).
//
// Failure policy: a row that is no longer sending (its lease was taken
// over, or an operator requeued it) keeps its own message id, because the
// worker that now holds it may already have sent it under that id; a count
// below len(ids) tells the caller to send nothing for those rows.
func (c *core) AssignMessage(ctx context.Context, ids []int64, messageID string) (int, error) {
	const op = "assign message"
	if err := checkKey("message id", messageID); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	cond, arg := c.b.idIn(ids)
	var n int64
	err := c.b.write(ctx, op, func(q querier) error {
		var err error
		n, err = q.exec(ctx, assignMessageSQL(cond), messageID, arg)
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// CompleteDeliveries marks the sending rows among ids sent, as
// CompleteDelivery does, in one transaction, and returns how many.
func (c *core) CompleteDeliveries(ctx context.Context, ids []int64, a Attempt) (int, error) {
	const op = "complete deliveries"
	if err := checkBatch(op, &a, nil); err != nil {
		return 0, err
	}
	at := c.tv(a.At)
	return c.transitionMany(ctx, op, ids,
		`status = 'sent', attempts = attempts + 1, sent_at = ?, updated_at = ?,
		 lease_owner = '', lease_until = NULL, last_reason = ?, last_error = ?`,
		[]any{at, at, text(a.Reason), text(a.Error)}, &a)
}

// RetryDeliveries records a failed attempt of the sending rows among ids and
// makes them due at next, as RetryDelivery does (a.Throttled counts in
// throttles, not attempts), in one transaction, and returns how many.
func (c *core) RetryDeliveries(ctx context.Context, ids []int64, a Attempt, next time.Time) (int, error) {
	const op = "retry deliveries"
	if err := checkBatch(op, &a, &next); err != nil {
		return 0, err
	}
	count := "attempts = attempts + 1"
	if a.Throttled {
		count = "throttles = throttles + 1"
	}
	return c.transitionMany(ctx, op, ids,
		`status = 'pending', `+count+`, next_attempt_at = ?, updated_at = ?,
		 lease_owner = '', lease_until = NULL, last_reason = ?, last_error = ?`,
		[]any{c.tv(next), c.tv(a.At), text(a.Reason), text(a.Error)}, &a)
}

// DeadLetterDeliveries records a failed attempt of the sending rows among
// ids and marks them dead, as DeadLetter does, in one transaction, and
// returns how many.
func (c *core) DeadLetterDeliveries(ctx context.Context, ids []int64, a Attempt) (int, error) {
	const op = "dead-letter deliveries"
	if err := checkBatch(op, &a, nil); err != nil {
		return 0, err
	}
	return c.transitionMany(ctx, op, ids,
		`status = 'dead', attempts = attempts + 1, updated_at = ?,
		 lease_owner = '', lease_until = NULL, last_reason = ?, last_error = ?`,
		[]any{c.tv(a.At), text(a.Reason), text(a.Error)}, &a)
}

// ReleaseDeliveries returns the sending rows among ids to pending at next
// without counting an attempt, as ReleaseDelivery does, in one transaction,
// and returns how many.
func (c *core) ReleaseDeliveries(ctx context.Context, ids []int64, next time.Time) (int, error) {
	const op = "release deliveries"
	if err := checkBatch(op, nil, &next); err != nil {
		return 0, err
	}
	return c.transitionMany(ctx, op, ids,
		`status = 'pending', next_attempt_at = ?, lease_owner = '', lease_until = NULL`,
		[]any{c.tv(next)}, nil)
}

// CompleteDelivery marks a sending delivery sent (sent_at = a.At), counts and
// records the attempt and clears the lease.
func (c *core) CompleteDelivery(ctx context.Context, id int64, a Attempt) error {
	at := c.tv(a.At)
	return c.transition(ctx, "complete delivery", id, StatusSending,
		`status = 'sent', attempts = attempts + 1, sent_at = ?, updated_at = ?,
		 lease_owner = '', lease_until = NULL, last_reason = ?, last_error = ?`,
		[]any{at, at, text(a.Reason), text(a.Error)}, &a)
}

// RetryDelivery records a failed attempt of a sending delivery and makes it
// pending again, due at next. A throttled attempt (a.Throttled) is logged
// and counted in throttles, not in attempts.
func (c *core) RetryDelivery(ctx context.Context, id int64, a Attempt, next time.Time) error {
	const op = "retry delivery"
	if next.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("next is zero"))
	}
	count := "attempts = attempts + 1"
	if a.Throttled {
		count = "throttles = throttles + 1"
	}
	return c.transition(ctx, op, id, StatusSending,
		`status = 'pending', `+count+`, next_attempt_at = ?, updated_at = ?,
		 lease_owner = '', lease_until = NULL, last_reason = ?, last_error = ?`,
		[]any{c.tv(next), c.tv(a.At), text(a.Reason), text(a.Error)}, &a)
}

// ReleaseDelivery returns a sending delivery to pending at next without
// counting an attempt. updated_at is left as it was: the interface passes no
// current time.
func (c *core) ReleaseDelivery(ctx context.Context, id int64, next time.Time) error {
	const op = "release delivery"
	if next.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("next is zero"))
	}
	return c.transition(ctx, op, id, StatusSending,
		`status = 'pending', next_attempt_at = ?, lease_owner = '', lease_until = NULL`,
		[]any{c.tv(next)}, nil)
}

// DeadLetter records a failed attempt of a sending delivery and marks it dead.
func (c *core) DeadLetter(ctx context.Context, id int64, a Attempt) error {
	return c.transition(ctx, "dead-letter delivery", id, StatusSending,
		`status = 'dead', attempts = attempts + 1, updated_at = ?,
		 lease_owner = '', lease_until = NULL, last_reason = ?, last_error = ?`,
		[]any{c.tv(a.At), text(a.Reason), text(a.Error)}, &a)
}

// RequeueDelivery makes a dead delivery pending again, due at now. The
// attempt counter, the attempt log and last_reason/last_error are kept; the
// message id is cleared (the replay is a new message).
func (c *core) RequeueDelivery(ctx context.Context, id int64, now time.Time) error {
	const op = "requeue delivery"
	if now.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	t := c.tv(now)
	return c.transition(ctx, op, id, StatusDead,
		`status = 'pending', next_attempt_at = ?, updated_at = ?, message_id = ''`, []any{t, t}, nil)
}

const requeueEventSQL = `UPDATE deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ?,
	lease_owner = '', lease_until = NULL, message_id = '' WHERE event_id = ?`

// RequeueEvent replays an event: every one of its deliveries, whatever its
// status, becomes pending and due at now, with its lease and message id
// cleared. It returns how many deliveries it requeued. Attempts and the
// attempt log are kept.
func (c *core) RequeueEvent(ctx context.Context, eventID string, now time.Time) (int, error) {
	const op = "requeue event"
	if now.IsZero() {
		return 0, fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	t := c.tv(now)
	var n int64
	err := c.b.write(ctx, op, func(q querier) error {
		if err := eventExists(ctx, q, op, eventID); err != nil {
			return err
		}
		var err error
		n, err = q.exec(ctx, requeueEventSQL, t, t, eventID)
		return err
	})
	return int(n), err
}

const rerouteSQL = `INSERT INTO deliveries (event_id, route, robot, spec, status, attempts,
	next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?)
ON CONFLICT (event_id, route) DO UPDATE SET robot = excluded.robot, spec = excluded.spec,
	status = 'pending', next_attempt_at = excluded.next_attempt_at,
	updated_at = excluded.updated_at, lease_owner = '', lease_until = NULL, message_id = ''`

// RerouteEvent sends an event again through the given routes: each
// (event, route) row is created, or updated to the given robot and spec, and
// made due at now (attempt history kept, message id cleared). Rows of other
// routes are left as they are. It returns how many rows it made due.
func (c *core) RerouteEvent(ctx context.Context, eventID string, ds []NewDelivery, now time.Time) (int, error) {
	const op = "reroute event"
	if err := checkDeliveries(ds); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	if now.IsZero() {
		return 0, fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	t := c.tv(now)
	err := c.b.write(ctx, op, func(q querier) error {
		if err := eventExists(ctx, q, op, eventID); err != nil {
			return err
		}
		// One statement per row: a multi-row upsert cannot touch one row
		// twice (PostgreSQL refuses it), and routes may repeat.
		for _, d := range ds {
			if _, err := q.exec(ctx, rerouteSQL, eventID, d.Route, d.Robot, blob(d.Spec), t, t, t); err != nil {
				return err
			}
		}
		_, err := q.exec(ctx, markRoutedSQL, t, eventID)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(ds), nil
}

const getDeliverySQL = `SELECT ` + deliveryCols + ` FROM deliveries WHERE id = ?`

// GetDelivery reads one delivery.
func (c *core) GetDelivery(ctx context.Context, id int64) (Delivery, error) {
	const op = "get delivery"
	var d Delivery
	err := c.b.read(ctx, op, func(q querier) error {
		var err error
		d, err = scanDelivery(q.queryRow(ctx, getDeliverySQL, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %d: %w", op, id, ErrNotFound)
		}
		return err
	})
	return d, err
}

// listDeliveriesSQL is ListDeliveries' statement for the given conditions.
func listDeliveriesSQL(where []string) string {
	q := `SELECT ` + deliveryCols + ` FROM deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return q + ` ORDER BY id DESC LIMIT ?`
}

// ListDeliveries lists deliveries matching f, newest (highest id) first.
func (c *core) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	const op = "list deliveries"
	limit, err := listLimit(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var where []string
	var args []any
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.EventID != "" {
		where, args = append(where, "event_id = ?"), append(args, f.EventID)
	}
	if f.MessageID != "" {
		// "<> ''" lets both drivers use the partial index deliveries_message.
		where, args = append(where, "message_id = ? AND message_id <> ''"), append(args, f.MessageID)
	}
	q := listDeliveriesSQL(where)
	out := []Delivery{}
	err = c.b.read(ctx, op, func(qr querier) error {
		ds, err := collectDeliveries(qr.query(ctx, q, append(args, limit)...))
		out = append(out, ds...)
		return err
	})
	return out, err
}

const (
	deliveryExistsSQL = `SELECT 1 FROM deliveries WHERE id = ?`
	attemptsSQL       = `SELECT at, duration_ms, reason, error FROM delivery_attempts
	WHERE delivery_id = ? ORDER BY n`
)

// Attempts lists one delivery's attempt log, oldest first.
func (c *core) Attempts(ctx context.Context, deliveryID int64) ([]Attempt, error) {
	const op = "attempts"
	out := []Attempt{}
	err := c.b.read(ctx, op, func(q querier) error {
		var one int
		err := q.queryRow(ctx, deliveryExistsSQL, deliveryID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: delivery %d: %w", op, deliveryID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		rs, err := q.query(ctx, attemptsSQL, deliveryID)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var (
				a  Attempt
				at dbTime
				ms int64
			)
			if err := rs.Scan(&at, &ms, &a.Reason, &a.Error); err != nil {
				return err
			}
			a.At, a.Duration = at.t, time.Duration(ms)*time.Millisecond
			out = append(out, a)
		}
		return rs.Err()
	})
	return out, err
}

const statsSQL = `SELECT
	(SELECT COUNT(*) FROM deliveries WHERE status = 'pending'),
	(SELECT COUNT(*) FROM deliveries WHERE status = 'sending'),
	(SELECT COUNT(*) FROM deliveries WHERE status = 'dead'),
	(SELECT COUNT(*) FROM events WHERE routed_at IS NULL),
	(SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending')`

// Stats summarises the outbox in one statement (one consistent snapshot).
func (c *core) Stats(ctx context.Context) (Stats, error) {
	var (
		st     Stats
		oldest dbTime
	)
	err := c.b.read(ctx, "stats", func(q querier) error {
		return q.queryRow(ctx, statsSQL).Scan(&st.Pending, &st.Sending, &st.Dead, &st.Unrouted, &oldest)
	})
	st.OldestDueSince = oldest.t
	return st, err
}

const outboxRobotsSQL = `SELECT DISTINCT robot FROM deliveries WHERE status IN ('pending', 'sending') ORDER BY robot`

// OutboxRobots lists the robots with pending or sending deliveries.
func (c *core) OutboxRobots(ctx context.Context) ([]string, error) {
	var out []string
	err := c.b.read(ctx, "outbox robots", func(q querier) error {
		rs, err := q.query(ctx, outboxRobotsSQL)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var r string
			if err := rs.Scan(&r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rs.Err()
	})
	return out, err
}

// Ping checks that the database answers.
func (c *core) Ping(ctx context.Context) error {
	if err := c.b.ping(ctx); err != nil {
		if ours(err) {
			return err
		}
		return unavailable("ping", err)
	}
	return nil
}

// Close releases the database. It is safe to call more than once; every
// later call on the store fails with ErrUnavailable.
// A backfill of account_rev in progress is stopped first (its batch rolls
// back or commits whole; the next open goes on).
func (c *core) Close() error {
	c.fill.stop()
	return c.b.close()
}

// migrate applies the pending migrations in one write transaction. prelude
// runs first in that transaction (PostgreSQL takes an advisory lock there so
// replicas starting together migrate once); ddl creates schema_migrations.
func (c *core) migrate(ctx context.Context, ms []migration, prelude []string, ddl string) error {
	return c.b.write(ctx, "migrate", func(q querier) error {
		for _, s := range append(prelude, ddl) {
			if _, err := q.exec(ctx, s); err != nil {
				return err
			}
		}
		var current int
		if err := q.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		todo, err := pendingMigrations(ms, current)
		if err != nil {
			return plain(err)
		}
		for _, m := range todo {
			if _, err := q.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
			}
			if _, err := q.exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
}

// schemaVersion is the highest applied migration (tests use it).
func (c *core) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := c.b.read(ctx, "schema version", func(q querier) error {
		return q.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	})
	return v, err
}
