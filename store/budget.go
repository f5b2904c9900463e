package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// The robots' send budget (robot_sends) and state (robot_state). Like
// core.go, this is the one SQL both drivers run; the backend adds only the
// lock that serialises one robot's reservations across processes.

// sendRetention is how long a send stamp is kept at least: longer than any
// DingTalk window (60 s), so a restarted process or another replica still
// counts every send that matters. ReserveSend deletes the older ones.
const sendRetention = time.Hour

const (
	// budgetStateSQL reads a robot's block end (kind 0) and its stamps after
	// a cutoff (kind 1, oldest first) in one statement, one snapshot.
	budgetStateSQL = `SELECT 0, blocked_until FROM robot_state WHERE robot = ?
UNION ALL
SELECT 1, at FROM robot_sends WHERE robot = ? AND at > ?
ORDER BY 1, 2`
	pruneSendsSQL     = `DELETE FROM robot_sends WHERE robot = ? AND at < ?`
	insertSendSQL     = `INSERT INTO robot_sends (robot, at, message_id) VALUES (?, ?, ?) RETURNING id`
	sendRobotSQL      = `SELECT robot FROM robot_sends WHERE id = ?`
	stampSendSQL      = `UPDATE robot_sends SET at = ? WHERE id = ?`
	cancelSendSQL     = `DELETE FROM robot_sends WHERE id = ?`
	robotSendsSQL     = `SELECT at FROM robot_sends WHERE robot = ? AND at > ? ORDER BY at, id`
	robotSendsAllSQL  = `SELECT at FROM robot_sends WHERE robot = ? ORDER BY at, id`
	ensureRobotSQL    = `INSERT INTO robot_state (robot, state) VALUES (?, ?) ON CONFLICT (robot) DO NOTHING`
	setRobotStateSQL  = `UPDATE robot_state SET state = ?, reason = ?, changed_at = ? WHERE robot = ?`
	setRobotReasonSQL = `UPDATE robot_state SET reason = ? WHERE robot = ?`
	robotStatesSQL    = `SELECT robot, state, reason, blocked_until, changed_at FROM robot_state ORDER BY robot`
	blockRobotSQL     = `INSERT INTO robot_state (robot, state, blocked_until) VALUES (?, ?, ?)
ON CONFLICT (robot) DO UPDATE SET blocked_until = CASE
	WHEN robot_state.blocked_until IS NULL OR robot_state.blocked_until < excluded.blocked_until
	THEN excluded.blocked_until ELSE robot_state.blocked_until END`
)

// robotStateSQL reads a robot's state and reason, locking its row with lock.
func robotStateSQL(lock string) string {
	return `SELECT state, reason FROM robot_state WHERE robot = ? ` + lock
}

// checkBudgetQuery validates a BudgetQuery.
func checkBudgetQuery(q BudgetQuery) error {
	if err := checkKey("robot", q.Robot); err != nil {
		return err
	}
	if q.Now.IsZero() {
		return invalidf("now is zero")
	}
	if len(q.Rules) == 0 {
		return invalidf("no send rule")
	}
	for i, r := range q.Rules {
		if r.Window <= 0 {
			return invalidf("send rule %d: window %v is not positive", i, r.Window)
		}
		if r.Limit <= 0 {
			return invalidf("send rule %d: limit %d is not positive", i, r.Limit)
		}
	}
	return nil
}

// maxWindow is the longest window of rules.
func maxWindow(rules []SendRule) time.Duration {
	var w time.Duration
	for _, r := range rules {
		w = max(w, r.Window)
	}
	return w
}

// ceilMS rounds t up to the millisecond, in UTC: the first stored instant
// not before t.
func ceilMS(t time.Time) time.Time {
	tr := t.Truncate(time.Millisecond)
	if tr.Before(t) {
		tr = tr.Add(time.Millisecond)
	}
	return tr.UTC()
}

// computeBudget is the budget at now (msUTC) under rules, given a robot's
// stamps sorted oldest first (at least every stamp within the longest
// window) and its block end (zero when never blocked).
//
// A stamp counts for a rule while stamp > now - Window, and stops counting
// at stamp + Window. When a rule's count reaches its Limit, a send becomes
// free under it once the count drops to Limit-1: when the
// (count-Limit+1)-th oldest counted stamp leaves the window. Stamps only
// leave, so the latest of those times over all rules (and the block's end)
// is when every rule allows a send again.
func computeBudget(now time.Time, rules []SendRule, stamps []time.Time, blockedUntil time.Time) Budget {
	var b Budget
	if blockedUntil.After(now) {
		b.BlockedUntil = blockedUntil
	}
	free, set := 0, false
	var next time.Time
	for _, r := range rules {
		cut := now.Add(-r.Window)
		first := sort.Search(len(stamps), func(i int) bool { return stamps[i].After(cut) })
		counted := stamps[first:]
		// A rule already over its limit (a lower limit after a reload) gives
		// a negative f, which must win over every other rule.
		if f := r.Limit - len(counted); !set || f < free {
			free, set = f, true
		}
		if len(counted) >= r.Limit {
			if t := ceilMS(counted[len(counted)-r.Limit].Add(r.Window)); t.After(next) {
				next = t
			}
		}
	}
	if !b.BlockedUntil.IsZero() {
		free = 0
		if b.BlockedUntil.After(next) {
			next = b.BlockedUntil
		}
	}
	if free <= 0 {
		b.Free, b.NextAt = 0, next
	} else {
		b.Free = free
	}
	return b
}

// loadBudget reads robot's block end and its stamps after cutoff, oldest
// first.
func (c *core) loadBudget(ctx context.Context, q querier, robot string, cutoff time.Time) ([]time.Time, time.Time, error) {
	rs, err := q.query(ctx, budgetStateSQL, robot, robot, c.tv(cutoff))
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rs.Close()
	var (
		stamps  []time.Time
		blocked time.Time
	)
	for rs.Next() {
		var (
			kind int
			t    dbTime
		)
		if err := rs.Scan(&kind, &t); err != nil {
			return nil, time.Time{}, err
		}
		if kind == 0 {
			blocked = t.t
			continue
		}
		stamps = append(stamps, t.t)
	}
	return stamps, blocked, rs.Err()
}

// SendBudget reads bq.Robot's send budget at bq.Now without changing it.
func (c *core) SendBudget(ctx context.Context, bq BudgetQuery) (Budget, error) {
	const op = "send budget"
	if err := checkBudgetQuery(bq); err != nil {
		return Budget{}, fmt.Errorf("%s: %w", op, err)
	}
	now := msUTC(bq.Now)
	var b Budget
	err := c.b.read(ctx, op, func(q querier) error {
		stamps, blocked, err := c.loadBudget(ctx, q, bq.Robot, now.Add(-maxWindow(bq.Rules)))
		if err != nil {
			return err
		}
		b = computeBudget(now, bq.Rules, stamps, blocked)
		return nil
	})
	if err != nil {
		return Budget{}, err
	}
	return b, nil
}

// ReserveSend takes one send of bq.Robot's budget at bq.Now, stamped stamp,
// when every rule allows one and the robot is not blocked. It returns the
// new slot's id (> 0) and the budget after it, or 0 and the current budget
// when nothing is free. The same transaction deletes the robot's stamps
// older than now - max(1 h, longest window).
//
// Exclusivity: the read of the budget and the insert are one transaction
// that no other reservation for the robot interleaves with. SQLite runs
// every write transaction alone (one writer goroutine, BEGIN IMMEDIATE
// against other processes); PostgreSQL first takes a transaction-scoped
// advisory lock on the robot, so replicas queue for it and each one reads
// the stamps its predecessor committed. Two callers never both receive the
// last free send.
//
// Failure policy: the budget fails closed. A ReserveSend that returns
// ErrUnavailable may still have committed its slot (SQLite's group commit
// and a PostgreSQL commit whose answer was lost both allow it); the slot
// then counts, stamped as reserved, until it leaves its window, because
// counting a send that never happened only delays the next message, while
// missing one that did happen can exceed DingTalk's limit and get the robot
// blocked for ten minutes. For the same reason a process that dies between
// ReserveSend and StampSend/CancelSend leaves its slot counted.
func (c *core) ReserveSend(ctx context.Context, bq BudgetQuery, stamp time.Time, messageID string) (int64, Budget, error) {
	const op = "reserve send"
	if err := checkBudgetQuery(bq); err != nil {
		return 0, Budget{}, fmt.Errorf("%s: %w", op, err)
	}
	if stamp.IsZero() {
		return 0, Budget{}, fmt.Errorf("%s: %w", op, invalidf("stamp is zero"))
	}
	now, stamp := msUTC(bq.Now), msUTC(stamp)
	window := maxWindow(bq.Rules)
	// Failure policy: stamps are kept for an hour, or for the longest window
	// if a rule is longer, because a stamp pruned while a rule still counts it
	// would hand out a send that rule forbids.
	prune := c.tv(now.Add(-max(sendRetention, window)))
	var (
		id    int64
		after Budget
	)
	err := c.b.write(ctx, op, func(q querier) error {
		id, after = 0, Budget{} // a group commit may run fn again
		if lock := c.b.robotLock(); lock != "" {
			if _, err := q.exec(ctx, lock, bq.Robot); err != nil {
				return err
			}
		}
		if _, err := q.exec(ctx, pruneSendsSQL, bq.Robot, prune); err != nil {
			return err
		}
		stamps, blocked, err := c.loadBudget(ctx, q, bq.Robot, now.Add(-window))
		if err != nil {
			return err
		}
		before := computeBudget(now, bq.Rules, stamps, blocked)
		if before.Free < 1 {
			after = before
			return nil
		}
		if err := q.queryRow(ctx, insertSendSQL, bq.Robot, c.tv(stamp), text(messageID)).Scan(&id); err != nil {
			return err
		}
		at, _ := slices.BinarySearchFunc(stamps, stamp, func(a, b time.Time) int { return a.Compare(b) })
		after = computeBudget(now, bq.Rules, slices.Insert(stamps, at, stamp), blocked)
		return nil
	})
	if err != nil {
		return 0, Budget{}, err
	}
	return id, after, nil
}

// StampSend moves slot slotID's stamp to at (the caller stamps it again with
// the time DingTalk answered).
//
// Failure policy: on PostgreSQL the restamp takes the robot's reservation
// lock, because a stamp moved later while a reservation reads the old one
// could let that reservation count one send too few; if StampSend fails the
// slot keeps its reservation stamp (the latest moment the request could
// reach DingTalk), which over-counts rather than under-counts.
func (c *core) StampSend(ctx context.Context, slotID int64, at time.Time) error {
	const op = "stamp send"
	if slotID <= 0 {
		return fmt.Errorf("%s: %w", op, invalidf("slot id %d is not positive", slotID))
	}
	if at.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("at is zero"))
	}
	return c.b.write(ctx, op, func(q querier) error {
		var robot string
		err := q.queryRow(ctx, sendRobotSQL, slotID).Scan(&robot)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: slot %d: %w", op, slotID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if lock := c.b.robotLock(); lock != "" {
			if _, err := q.exec(ctx, lock, robot); err != nil {
				return err
			}
		}
		n, err := q.exec(ctx, stampSendSQL, c.tv(at), slotID)
		if err != nil {
			return err
		}
		if n == 0 { // cancelled or pruned while we waited for the lock
			return fmt.Errorf("%s: slot %d: %w", op, slotID, ErrNotFound)
		}
		return nil
	})
}

// CancelSend removes a reserved slot that was not used (nothing was sent).
//
// Failure policy: no lock is taken, because a reservation that still sees
// the cancelled slot only counts one send too many (it waits, it never
// exceeds the limit); if CancelSend fails, the slot stays counted until it
// leaves its window, for the same reason.
func (c *core) CancelSend(ctx context.Context, slotID int64) error {
	const op = "cancel send"
	if slotID <= 0 {
		return fmt.Errorf("%s: %w", op, invalidf("slot id %d is not positive", slotID))
	}
	return c.b.write(ctx, op, func(q querier) error {
		n, err := q.exec(ctx, cancelSendSQL, slotID)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s: slot %d: %w", op, slotID, ErrNotFound)
		}
		return nil
	})
}

// BlockRobot records that robot may send nothing before until, for every
// process sharing the database. Of two blocks the later end is kept, so a
// late report of an older block never shortens a newer one.
//
// Failure policy: the block is not taken under the reservation lock, because
// DingTalk imposes it whatever the store says; a reservation that committed
// just before it only adds a send DingTalk refuses anyway (the caller
// releases the delivery and retries after the block).
func (c *core) BlockRobot(ctx context.Context, robot string, until time.Time) error {
	const op = "block robot"
	if err := checkKey("robot", robot); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if until.IsZero() {
		return fmt.Errorf("%s: %w", op, invalidf("until is zero"))
	}
	return c.b.write(ctx, op, func(q querier) error {
		_, err := q.exec(ctx, blockRobotSQL, robot, RobotOK, c.tv(until))
		return err
	})
}

// RobotSends lists robot's send stamps after since (every stamp still kept
// when since is zero), oldest first.
func (c *core) RobotSends(ctx context.Context, robot string, since time.Time) ([]time.Time, error) {
	const op = "robot sends"
	if err := checkKey("robot", robot); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	stmt, args := robotSendsAllSQL, []any{robot}
	if !since.IsZero() {
		stmt, args = robotSendsSQL, []any{robot, c.tv(since)}
	}
	out := []time.Time{}
	err := c.b.read(ctx, op, func(q querier) error {
		out = out[:0]
		rs, err := q.query(ctx, stmt, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var t dbTime
			if err := rs.Scan(&t); err != nil {
				return err
			}
			out = append(out, t.t)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetRobotState records robot's state as a compare-and-set: in one
// transaction the robot's row is created if missing (as RobotOK), read under
// a row lock (PostgreSQL: FOR UPDATE; SQLite: its single writer) and updated
// only if state differs, with changed_at = now. Of several callers setting
// one state at once, exactly one sees changed=true: the others wait for its
// commit and then read the state it set. prev is the state the caller found.
// When the state is already the one given, only the reason is refreshed.
func (c *core) SetRobotState(ctx context.Context, robot, state, reason string, now time.Time) (bool, string, error) {
	const op = "set robot state"
	if err := checkKey("robot", robot); err != nil {
		return false, "", fmt.Errorf("%s: %w", op, err)
	}
	if err := checkKey("state", state); err != nil {
		return false, "", fmt.Errorf("%s: %w", op, err)
	}
	if now.IsZero() {
		return false, "", fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	reason = text(reason)
	read := robotStateSQL(c.b.rowLock())
	var (
		changed bool
		prev    string
	)
	err := c.b.write(ctx, op, func(q querier) error {
		changed, prev = false, "" // a group commit may run fn again
		if _, err := q.exec(ctx, ensureRobotSQL, robot, RobotOK); err != nil {
			return err
		}
		var oldReason string
		if err := q.queryRow(ctx, read, robot).Scan(&prev, &oldReason); err != nil {
			return err
		}
		if prev == state {
			if oldReason == reason {
				return nil
			}
			_, err := q.exec(ctx, setRobotReasonSQL, reason, robot)
			return err
		}
		if _, err := q.exec(ctx, setRobotStateSQL, state, reason, c.tv(now), robot); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, "", err
	}
	return changed, prev, nil
}

// RobotStates lists every robot with a recorded state or block, sorted by
// robot.
func (c *core) RobotStates(ctx context.Context) ([]RobotState, error) {
	const op = "robot states"
	out := []RobotState{}
	err := c.b.read(ctx, op, func(q querier) error {
		out = out[:0]
		rs, err := q.query(ctx, robotStatesSQL)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var (
				st               RobotState
				blocked, changed dbTime
			)
			if err := rs.Scan(&st.Robot, &st.State, &st.Reason, &blocked, &changed); err != nil {
				return err
			}
			st.BlockedUntil, st.ChangedAt = blocked.t, changed.t
			out = append(out, st)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
