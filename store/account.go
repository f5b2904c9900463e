package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// The search by the account's last digits (migration 0011). events.account_rev
// holds the account's letters and digits lower-cased (alnumLower) and
// reversed, so "the account ends with d" is "account_rev starts with
// reverse(d)": a range on the index events_account_rev (account_rev,
// received_at, id).
//
// Rows stored before 0011 hold NULL until the backfill (below) computes
// their value in Go. While any row holds NULL, a search by digits reads its
// window event by event and matches the stored JSON, as before 0011, so it
// finds those rows too; once none does, it uses the index.

// AccountRev is the events.account_rev an event with this account gets (for
// tools that fill a database directly, such as tools/retentionbench).
func AccountRev(account string) string { return accountRev(account) }

// accountRev is the account_rev of an account.
func accountRev(account string) string {
	r := []rune(alnumLower(account))
	slices.Reverse(r)
	return string(r)
}

// accountRange is the range [lo, hi) of the account_rev of the accounts
// whose alnumLower form ends with digits (itself in that form). In code point
// order, which is UTF-8 byte order (SQLite's BINARY collation, PostgreSQL's
// "C"), the strings starting with lo are exactly those >= lo and < lo
// followed by U+10FFFF: account_rev never holds U+10FFFF (not a letter or
// digit).
func accountRange(digits string) (lo, hi string) {
	lo = accountRev(digits)
	return lo, lo + "\U0010FFFF"
}

// accountPlan is how a search by account digits reads its events.
type accountPlan int

const (
	// accountScan reads the window event by event and matches the stored
	// JSON: some row has no account_rev yet (or the schema has none).
	accountScan accountPlan = iota
	// accountIndex reads the matches from events_account_rev, keeps those
	// of the window (and cursor, source, kind) and sorts them: fewer than
	// accountDense events match the digits in the whole table.
	accountIndex
	// accountWalk reads the window newest first (events_received) and
	// checks account_rev on each row: at least accountDense events match
	// the digits, so they are likely dense enough in the window for the
	// walk to find a page's matches sooner than sorting them all would.
	// Where they are not (many matches, but older than the window or the
	// cursor), the walk reads on: PageEvents bounds it with ScanLimit,
	// FindEvents with the window.
	accountWalk
)

// accountDense is the count of events matching a search's digits from
// which the search walks its window rather than sorting the matches.
// Counting up to it reads at most that many entries of events_account_rev,
// and so does the index plan below it. The count is over the whole table,
// not the search's window: a range on account_rev leaves the window's
// received_at unseekable in the index, so counting in the window could read
// every match before it (6 ms for 100,000 matches).
var accountDense = 2000

const (
	// accountUnfilledSQL finds a row whose account_rev is not filled yet
	// (one seek on events_account_rev, which holds the NULLs first).
	accountUnfilledSQL = `SELECT id FROM events WHERE account_rev IS NULL LIMIT 1`
	// accountCountSQL counts, up to a limit, the events whose account_rev
	// is in a range (index-only on events_account_rev).
	accountCountSQL = `SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE account_rev >= ? AND account_rev < ? LIMIT ?) AS m`
	// accountTerm is the condition "the account ends with the digits"
	// on events_account_rev; accountWalkTerm the same, written so that no
	// index serves it (a concatenation is not an indexed column): the
	// planner then keeps to events_received for the order.
	accountTerm     = `(account_rev >= ? AND account_rev < ?)`
	accountWalkTerm = `(account_rev || '' >= ? AND account_rev || '' < ?)`
)

// planAccount chooses how to search for digits. A row without account_rev
// anywhere makes it accountScan and starts the backfill, which fills that
// row for the next search.
func (c *core) planAccount(ctx context.Context, op string, digits string) (accountPlan, error) {
	if !c.accountRev {
		return accountScan, nil
	}
	lo, hi := accountRange(digits)
	plan := accountIndex
	err := c.b.read(ctx, op, func(q querier) error {
		var id string
		err := q.queryRow(ctx, accountUnfilledSQL).Scan(&id)
		switch {
		case err == nil:
			plan = accountScan
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var n int
		if err := q.queryRow(ctx, accountCountSQL, lo, hi, accountDense).Scan(&n); err != nil {
			return err
		}
		if n >= accountDense {
			plan = accountWalk
		}
		return nil
	})
	if err != nil {
		return accountScan, err
	}
	if plan == accountScan {
		c.fill.start(c)
	}
	return plan, nil
}

// searchTerms is the OR of s's terms for the database to match, and their
// arguments: text (id, provider event id, reference), amounts and, unless
// plan is accountScan, the account digits (already normalised).
func searchTerms(s EventSearch, digits string, plan accountPlan) (string, []any) {
	var alts []string
	var args []any
	if s.Text != "" {
		alts = append(alts, "id = ?", "provider_event_id = ?", "reference = ?")
		args = append(args, s.Text, s.Text, s.Text)
	}
	if len(s.Amounts) > 0 {
		alts = append(alts, "amount IN (?"+strings.Repeat(", ?", len(s.Amounts)-1)+")")
		for _, a := range s.Amounts {
			args = append(args, a)
		}
	}
	if digits != "" && plan != accountScan {
		term := accountTerm
		if plan == accountWalk {
			term = accountWalkTerm
		}
		lo, hi := accountRange(digits)
		alts, args = append(alts, term), append(args, lo, hi)
	}
	return "(" + strings.Join(alts, " OR ") + ")", args
}

// unindexed rewrites the conditions of a listing (window, cursor, source,
// kind) so that the planner serves none of them from an index: a search
// planned accountIndex then reads events_account_rev (with the other
// terms of its OR on their own indexes) and checks them on its few matches.
func (c *core) unindexed(where []string) []string {
	r := c.b.unindexed()
	out := make([]string, len(where))
	for i, w := range where {
		out[i] = r.Replace(w)
	}
	return out
}

// The backfill of account_rev.
//
// Failure policy: it fails open. A failed batch (database unavailable, the
// store closing) ends the run; its rows keep NULL, and while any row does a
// search by digits reads event by event (correct, slower). The next search
// that finds a NULL row starts another run, as does the next open. Rows are
// filled in batches of accountFillBatch, each one write transaction: SQLite
// commits it with the ingest writes waiting at that moment, so ingest waits
// for one batch at most, never for the whole backfill; and while events
// arrive the batches are paced (pace.go) to 0.5 % of the writer's time, so
// ingest latency does not move (back to back, batches of 500 on a 1 M-event
// store kept the writer busy and ingest p50 near 0.7 s until the backfill
// ended; docs/PERFORMANCE.md). Replicas sharing a PostgreSQL database may
// run it at once: each batch locks its rows (SKIP LOCKED), and a row is
// only ever filled from NULL.

// accountFillBatch is the rows one backfill transaction fills.
var accountFillBatch = 500

const fillAccountSQL = `UPDATE events SET account_rev = ? WHERE id = ? AND account_rev IS NULL`

func unfilledAccountsSQL(lock string) string {
	q := `SELECT id, event FROM events WHERE account_rev IS NULL LIMIT ?`
	if lock != "" {
		q += ` ` + lock
	}
	return q
}

// accountFill runs at most one backfill at a time in the background and
// stops it when the store closes.
type accountFill struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	running  bool
	disabled bool  // tests: leave the NULL rows alone
	err      error // of the last run that ended
}

func newAccountFill() *accountFill {
	ctx, cancel := context.WithCancel(context.Background())
	return &accountFill{ctx: ctx, cancel: cancel}
}

// start begins a backfill in the background unless one runs, the store is
// closed or the schema has no account_rev.
func (f *accountFill) start(c *core) {
	if f == nil || !c.accountRev {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running || f.disabled || f.ctx.Err() != nil {
		return
	}
	f.running = true
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		_, err := c.fillAccounts(f.ctx)
		f.mu.Lock()
		f.running, f.err = false, err
		f.mu.Unlock()
	}()
}

// stop cancels a running backfill and waits for it to end.
func (f *accountFill) stop() {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.cancel()
	f.mu.Unlock()
	f.wg.Wait()
}

// startAccounts is called once the migrations ran: it notes whether the
// schema has account_rev and starts the backfill of the rows stored
// before it.
func (c *core) startAccounts(ctx context.Context) error {
	v, err := c.schemaVersion(ctx)
	if err != nil {
		return err
	}
	c.accountRev = v >= 11
	c.fill = newAccountFill()
	c.fill.start(c)
	return nil
}

// fillAccounts fills account_rev on every row that has none, a batch at a
// time, and returns how many rows it filled.
func (c *core) fillAccounts(ctx context.Context) (int, error) {
	const op = "fill account_rev"
	if !c.accountRev {
		return 0, nil
	}
	total := 0
	sel := unfilledAccountsSQL(c.b.claimLock())
	pace := &pacer{yield: DefaultYield, sleep: c.paceSleep, busy: func(ctx context.Context) bool { return c.busy(ctx, time.Now()) }}
	if pace.sleep == nil {
		pace.sleep = sleep
	}
	for first := true; ; first = false {
		if !first {
			if err := pace.wait(ctx); err != nil {
				return total, fmt.Errorf("%s: %w", op, unavailable(op, err))
			}
		}
		read, filled := 0, 0
		err := pace.write(ctx, c.b.write, op, func(q querier) error {
			read, filled = 0, 0
			type row struct{ id, rev string }
			var rows []row
			rs, err := q.query(ctx, sel, accountFillBatch)
			if err != nil {
				return err
			}
			for rs.Next() {
				var id string
				var evJSON []byte
				if err := rs.Scan(&id, &evJSON); err != nil {
					rs.Close()
					return err
				}
				rows = append(rows, row{id, accountRev(gjson.GetBytes(evJSON, "account").String())})
			}
			err = rs.Err()
			rs.Close()
			if err != nil {
				return err
			}
			read = len(rows)
			for _, r := range rows {
				n, err := q.exec(ctx, fillAccountSQL, r.rev, r.id)
				if err != nil {
					return err
				}
				filled += int(n)
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("%s: %w", op, err)
		}
		total += filled
		if read < accountFillBatch || filled == 0 {
			return total, nil
		}
	}
}
