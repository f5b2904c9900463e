package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// What the chat commands (DingTalk @bankbot) keep: the callback message ids
// already handled (chat_messages), the command audit (chat_audit), who
// acknowledged a failed event (event_acks) and the first verification of
// each bank slip (slips). Like core.go, one SQL for both drivers.

// Size limits of the chat-ops values, in bytes. A longer value is refused
// (ErrInvalid), never cut: the caller decides what to keep.
const (
	// MaxKeyLen bounds ids and names: message ids, sender and conversation
	// ids and names, bank codes, references, event ids.
	MaxKeyLen = 256
	// MaxTextLen bounds free text: an audited command and its result, an
	// acknowledgement's note.
	MaxTextLen = 4096
)

// AuditEntry is one chat command as audited.
type AuditEntry struct {
	ID             int64 // set by the store; ignored by AppendAudit
	At             time.Time
	SenderID       string
	SenderName     string
	ConversationID string
	Command        string
	Result         string // ok | denied | error: …
}

// AuditFilter selects audit entries for ListAudit.
type AuditFilter struct {
	// Since and Until bound the entry's time: Since <= At < Until; a zero
	// time leaves that side open.
	Since, Until   time.Time
	SenderID       string // empty = any
	ConversationID string // empty = any
	Limit          int    // 0 = 100
}

// Ack is who acknowledged an event, and when.
type Ack struct {
	EventID string
	ByID    string
	ByName  string
	Note    string
	At      time.Time
	// Already is set by AckEvent when the event had been acknowledged
	// before: the Ack is that first one, unchanged.
	Already bool
}

// SlipRecord is one verification of a bank slip, keyed by (SendingBank,
// Reference).
type SlipRecord struct {
	Reference      string
	SendingBank    string // the ITMX 3-digit bank code
	VerifiedByID   string
	VerifiedByName string
	ConversationID string
	At             time.Time
	MatchedEventID string // the event the slip was matched to; empty when none
}

// checkValue refuses a value longer than limit bytes or that is not valid
// UTF-8 text without NUL; name names it in the error. Empty is allowed.
func checkValue(name, v string, limit int) error {
	if len(v) > limit {
		return invalidf("%s is %d bytes, more than %d", name, len(v), limit)
	}
	if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		return invalidf("%s is not valid UTF-8 text", name)
	}
	return nil
}

// checkKeyLen is checkKey (not empty, valid text) with MaxKeyLen.
func checkKeyLen(name, v string) error {
	if err := checkKey(name, v); err != nil {
		return err
	}
	return checkValue(name, v, MaxKeyLen)
}

// namedValue is one value for checkValues.
type namedValue struct {
	name, v string
	limit   int
}

// checkValues checks several values with checkValue, in order.
func checkValues(vs ...namedValue) error {
	for _, x := range vs {
		if err := checkValue(x.name, x.v, x.limit); err != nil {
			return err
		}
	}
	return nil
}

const claimChatMessageSQL = `INSERT INTO chat_messages (msg_id, claimed_at) VALUES (?, ?)
ON CONFLICT (msg_id) DO NOTHING`

// ClaimChatMessage records a DingTalk callback's msgId; first is true only
// for the one caller, across every replica sharing the database, that
// recorded it (DingTalk retries a callback it thinks failed, and with
// several replicas the retry may reach another one).
func (c *core) ClaimChatMessage(ctx context.Context, msgID string, at time.Time) (bool, error) {
	const op = "claim chat message"
	if err := checkKeyLen("message id", msgID); err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	if at.IsZero() {
		return false, fmt.Errorf("%s: %w", op, invalidf("at is zero"))
	}
	var n int64
	err := c.b.write(ctx, op, func(q querier) error {
		var err error
		n, err = q.exec(ctx, claimChatMessageSQL, msgID, c.tv(at))
		return err
	})
	if err != nil {
		// n is not read: when ctx ends first, write returns while the
		// SQLite writer may still run the closure.
		return false, err
	}
	return n == 1, nil
}

const appendAuditSQL = `INSERT INTO chat_audit (at, sender_id, sender_name, conversation_id, command, result)
VALUES (?, ?, ?, ?, ?, ?)`

// AppendAudit records one chat command. At and Result are required.
func (c *core) AppendAudit(ctx context.Context, e AuditEntry) error {
	const op = "append audit"
	if e.At.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("at is zero"))
	}
	if e.Result == "" {
		return fmt.Errorf("%s: %w", op, invalidf("result is empty"))
	}
	if err := checkValues(
		namedValue{"sender id", e.SenderID, MaxKeyLen},
		namedValue{"sender name", e.SenderName, MaxKeyLen},
		namedValue{"conversation id", e.ConversationID, MaxKeyLen},
		namedValue{"command", e.Command, MaxTextLen},
		namedValue{"result", e.Result, MaxTextLen},
	); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return c.b.write(ctx, op, func(q querier) error {
		_, err := q.exec(ctx, appendAuditSQL, c.tv(e.At), e.SenderID, e.SenderName, e.ConversationID, e.Command, e.Result)
		return err
	})
}

// listAuditSQL selects audit entries, newest first.
func listAuditSQL(where []string) string {
	q := `SELECT id, at, sender_id, sender_name, conversation_id, command, result FROM chat_audit`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return q + ` ORDER BY at DESC, id DESC LIMIT ?`
}

// ListAudit lists the audit entries matching f, newest first.
func (c *core) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	const op = "list audit"
	limit, err := eventLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return nil, fmt.Errorf("%s: %w", op, invalidf("since %s is not before until %s", f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339)))
	}
	if err := checkValues(namedValue{"sender id", f.SenderID, MaxKeyLen}, namedValue{"conversation id", f.ConversationID, MaxKeyLen}); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var where []string
	var args []any
	if f.SenderID != "" {
		where, args = append(where, "sender_id = ?"), append(args, f.SenderID)
	}
	if f.ConversationID != "" {
		where, args = append(where, "conversation_id = ?"), append(args, f.ConversationID)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, c.tv(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, c.tv(f.Until))
	}
	q := listAuditSQL(where)
	out := []AuditEntry{}
	err = c.b.read(ctx, op, func(qr querier) error {
		rs, err := qr.query(ctx, q, append(args, limit)...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var (
				e  AuditEntry
				at dbTime
			)
			if err := rs.Scan(&e.ID, &at, &e.SenderID, &e.SenderName, &e.ConversationID, &e.Command, &e.Result); err != nil {
				return err
			}
			e.At = at.t
			out = append(out, e)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const (
	insertAckSQL = `INSERT INTO event_acks (event_id, by_id, by_name, note, at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (event_id) DO NOTHING`
	getAckSQL = `SELECT event_id, by_id, by_name, note, at FROM event_acks WHERE event_id = ?`
)

func scanAck(r row) (Ack, error) {
	var (
		a  Ack
		at dbTime
	)
	if err := r.Scan(&a.EventID, &a.ByID, &a.ByName, &a.Note, &at); err != nil {
		return Ack{}, err
	}
	a.At = at.t
	return a, nil
}

// AckEvent records that byID acknowledged event eventID at at. The first
// acknowledgement is kept: acking again changes nothing and returns the
// first, with Already set (of two concurrent callers, exactly one records
// its own). An unknown event is ErrNotFound.
func (c *core) AckEvent(ctx context.Context, eventID, byID, byName, note string, at time.Time) (Ack, error) {
	const op = "ack event"
	if err := checkKeyLen("event id", eventID); err != nil {
		return Ack{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkKeyLen("acknowledger id", byID); err != nil {
		return Ack{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkValues(namedValue{"acknowledger name", byName, MaxKeyLen}, namedValue{"note", note, MaxTextLen}); err != nil {
		return Ack{}, fmt.Errorf("%s: %w", op, err)
	}
	if at.IsZero() {
		return Ack{}, fmt.Errorf("%s: %w", op, invalidf("at is zero"))
	}
	var out Ack
	err := c.b.write(ctx, op, func(q querier) error {
		if err := eventExists(ctx, q, op, eventID); err != nil {
			return err
		}
		n, err := q.exec(ctx, insertAckSQL, eventID, byID, byName, note, c.tv(at))
		if err != nil {
			return err
		}
		if n == 1 {
			out = Ack{EventID: eventID, ByID: byID, ByName: byName, Note: note, At: msUTC(at)}
			return nil
		}
		// Acknowledged before (PostgreSQL made the insert wait for a
		// concurrent acknowledger to commit; READ COMMITTED shows its row
		// to this next statement).
		out, err = scanAck(q.queryRow(ctx, getAckSQL, eventID))
		if errors.Is(err, sql.ErrNoRows) {
			return plain(fmt.Errorf("event %s: ack was not recorded and none exists", eventID))
		}
		out.Already = true
		return err
	})
	if err != nil {
		return Ack{}, err
	}
	return out, nil
}

// GetAck reads event eventID's acknowledgement; ok is false when it has
// none (an unknown event has none either).
func (c *core) GetAck(ctx context.Context, eventID string) (Ack, bool, error) {
	const op = "get ack"
	if err := checkKeyLen("event id", eventID); err != nil {
		return Ack{}, false, fmt.Errorf("%s: %w", op, err)
	}
	var (
		a  Ack
		ok bool
	)
	err := c.b.read(ctx, op, func(q querier) error {
		var err error
		a, err = scanAck(q.queryRow(ctx, getAckSQL, eventID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil || !ok {
		return Ack{}, false, err
	}
	return a, true, nil
}

// unackedCond is ListUnacked's condition on the events table.
const unackedCond = `NOT EXISTS (SELECT 1 FROM event_acks WHERE event_acks.event_id = events.id)`

// unackedSQL is ListUnacked's statement for n kinds.
func unackedSQL(n int) string {
	return listEventsSQL([]string{
		"received_at >= ?",
		"kind IN (?" + strings.Repeat(", ?", n-1) + ")",
		unackedCond,
	}, true)
}

// ListUnacked returns up to limit (0 = 100) events of the given kinds
// received at or after since that no one acknowledged, newest first,
// without their raw body and headers. since is required: the events are
// read through the received_at window.
func (c *core) ListUnacked(ctx context.Context, kinds []string, since time.Time, limit int) ([]StoredEvent, error) {
	const op = "list unacked"
	limit, err := eventLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("%s: %w", op, invalidf("no kinds"))
	}
	if since.IsZero() {
		return nil, fmt.Errorf("%s: %w", op, invalidf("since is zero"))
	}
	args := []any{c.tv(since)}
	for _, k := range kinds {
		if err := checkKeyLen("kind", k); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		args = append(args, k)
	}
	q := unackedSQL(len(kinds))
	out := []StoredEvent{}
	err = c.b.read(ctx, op, func(qr querier) error {
		return eachEvent(ctx, qr, q, append(args, limit), func(se StoredEvent) bool { out = append(out, se); return true })
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const (
	insertSlipSQL = `INSERT INTO slips (sending_bank, reference, verified_by_id, verified_by_name,
	conversation_id, at, matched_event_id) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (sending_bank, reference) DO NOTHING`
	getSlipSQL = `SELECT reference, sending_bank, verified_by_id, verified_by_name, conversation_id, at,
	matched_event_id FROM slips WHERE sending_bank = ? AND reference = ?`
)

// RecordSlip records the verification of a bank slip, keyed by
// (SendingBank, Reference). The first verification is kept: first is r as
// stored (reused false), or, when the slip was verified before, that first
// record unchanged (reused true). Of two concurrent callers with the same
// slip, exactly one gets reused false.
func (c *core) RecordSlip(ctx context.Context, r SlipRecord) (SlipRecord, bool, error) {
	const op = "record slip"
	if err := checkKeyLen("slip reference", r.Reference); err != nil {
		return SlipRecord{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkKeyLen("slip sending bank", r.SendingBank); err != nil {
		return SlipRecord{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkValues(
		namedValue{"verifier id", r.VerifiedByID, MaxKeyLen},
		namedValue{"verifier name", r.VerifiedByName, MaxKeyLen},
		namedValue{"conversation id", r.ConversationID, MaxKeyLen},
		namedValue{"matched event id", r.MatchedEventID, MaxKeyLen},
	); err != nil {
		return SlipRecord{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if r.At.IsZero() {
		return SlipRecord{}, false, fmt.Errorf("%s: %w", op, invalidf("at is zero"))
	}
	var (
		first  SlipRecord
		reused bool
	)
	err := c.b.write(ctx, op, func(q querier) error {
		n, err := q.exec(ctx, insertSlipSQL, r.SendingBank, r.Reference, r.VerifiedByID, r.VerifiedByName,
			r.ConversationID, c.tv(r.At), r.MatchedEventID)
		if err != nil {
			return err
		}
		if n == 1 {
			first, reused = r, false
			first.At = msUTC(r.At)
			return nil
		}
		var at dbTime
		err = q.queryRow(ctx, getSlipSQL, r.SendingBank, r.Reference).Scan(&first.Reference, &first.SendingBank,
			&first.VerifiedByID, &first.VerifiedByName, &first.ConversationID, &at, &first.MatchedEventID)
		if errors.Is(err, sql.ErrNoRows) {
			return plain(fmt.Errorf("slip %s/%s was not recorded and none exists", r.SendingBank, r.Reference))
		}
		first.At, reused = at.t, true
		return err
	})
	if err != nil {
		return SlipRecord{}, false, err
	}
	return first, reused, nil
}

// acquireLeaseSQL inserts the lease, or takes it over when it has expired
// (until <= now) or is already the caller's (a renewal); otherwise it
// changes nothing. One statement, so two replicas cannot both win.
const acquireLeaseSQL = `INSERT INTO leases (name, owner, until) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
WHERE leases.owner = excluded.owner OR leases.until <= ?`

// AcquireLease takes or renews the lease name for owner until now+ttl. held
// is true when owner holds it after the call: the lease was free, expired,
// or already owner's. Another owner's unexpired lease leaves held false.
func (c *core) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration, now time.Time) (bool, error) {
	const op = "acquire lease"
	if err := checkLease(name, owner); err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	if ttl <= 0 {
		return false, fmt.Errorf("%s: %w", op, invalidf("ttl %s is not positive", ttl))
	}
	if now.IsZero() {
		return false, fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	// n is atomic: when ctx ends first, write returns while the SQLite
	// writer may still run the closure.
	var n atomic.Int64
	err := c.b.write(ctx, op, func(q querier) error {
		k, err := q.exec(ctx, acquireLeaseSQL, name, owner, c.tv(now.Add(ttl)), c.tv(now))
		n.Store(k)
		return err
	})
	return err == nil && n.Load() == 1, err
}

// ReleaseLease gives up the lease name if owner holds it (another owner's
// lease, or none, is left alone).
func (c *core) ReleaseLease(ctx context.Context, name, owner string) error {
	const op = "release lease"
	if err := checkLease(name, owner); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return c.b.write(ctx, op, func(q querier) error {
		_, err := q.exec(ctx, `DELETE FROM leases WHERE name = ? AND owner = ?`, name, owner)
		return err
	})
}

func checkLease(name, owner string) error {
	if err := checkKeyLen("lease name", name); err != nil {
		return err
	}
	return checkKeyLen("lease owner", owner)
}
