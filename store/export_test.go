package store

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// OpenSQLiteSynchronous opens like OpenSQLite with another synchronous level
// (FULL or NORMAL); tests and benchmarks compare the two.
func OpenSQLiteSynchronous(ctx context.Context, path, level string) (*SQLite, error) {
	return openSQLite(ctx, path, sqliteOptions{synchronous: level})
}

// OpenSQLiteAt opens like OpenSQLite applying migrations up to version only.
func OpenSQLiteAt(ctx context.Context, path string, version int) (*SQLite, error) {
	return openSQLite(ctx, path, sqliteOptions{synchronous: "FULL", migrateTo: version})
}

// OpenPostgresAt opens like OpenPostgres applying migrations up to version only.
func OpenPostgresAt(ctx context.Context, dsn string, version int) (*Postgres, error) {
	return openPostgres(ctx, dsn, version)
}

// DefaultPoolSize is the PostgreSQL pool size for a number of CPUs.
func DefaultPoolSize(cpus int) int { return defaultPoolSize(cpus) }

// PoolMaxConns is the size of the store's connection pool.
func (p *Postgres) PoolMaxConns() int { return int(p.backend.pool.Config().MaxConns) }

// LatestMigration is the highest migration version of a driver
// ("sqlite" or "postgres").
func LatestMigration(driver string) int {
	ms, err := loadMigrations(migrationFS, "migrations/"+driver)
	if err != nil {
		panic(err)
	}
	return ms[len(ms)-1].version
}

// MigrationCount is how many migrations a driver has (versions may leave
// gaps, so it can be less than LatestMigration).
func MigrationCount(driver string) int {
	ms, err := loadMigrations(migrationFS, "migrations/"+driver)
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// SchemaVersion is the highest applied migration.
func (c *core) SchemaVersion(ctx context.Context) (int, error) { return c.schemaVersion(ctx) }

// Exec runs one statement in a write transaction (tests build fixtures the
// API cannot, e.g. rows of an older schema).
func (c *core) Exec(ctx context.Context, q string, args ...any) error {
	return c.b.write(ctx, "test exec", func(qr querier) error {
		_, err := qr.exec(ctx, q, args...)
		return err
	})
}

// Int64s runs a query whose rows are one integer each (tests read ids the
// API cannot, e.g. from a database of an older schema).
func (c *core) Int64s(ctx context.Context, q string, args ...any) ([]int64, error) {
	var out []int64
	err := c.b.read(ctx, "test query", func(qr querier) error {
		out = out[:0]
		rs, err := qr.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var v int64
			if err := rs.Scan(&v); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rs.Err()
	})
	return out, err
}

// Statement is one statement core runs, named for test output.
type Statement struct {
	Name, SQL string
	// FullScan marks a statement that reads a whole table by design (it
	// lists everything, newest or sorted first, under a LIMIT or not).
	FullScan bool
}

// Statements lists every statement core runs against this store's backend,
// as it runs them (only the arguments are left out).
func (c *core) Statements() []Statement {
	ids, _ := c.b.idIn([]int64{1, 2})
	set := `status = 'sent', attempts = attempts + 1, sent_at = ?, updated_at = ?,
		 lease_owner = '', lease_until = NULL, last_reason = ?, last_error = ?`
	list := func(conds ...string) string { return listDeliveriesSQL(conds) }
	window := []string{"received_at >= ?", "received_at < ?"}
	byDigits, _ := searchTerms(EventSearch{}, "7890", accountIndex)
	byText, _ := searchTerms(EventSearch{Text: "x"}, "7890", accountIndex)
	byTextWalk, _ := searchTerms(EventSearch{Text: "x", Amounts: []int64{1, 2}}, "7890", accountWalk)
	st := []Statement{
		{Name: "insert event", SQL: insertEventSQL},
		{Name: "event by key", SQL: eventKeySQL},
		{Name: "get event", SQL: getEventSQL},
		{Name: "unrouted events", SQL: unroutedEventsSQL},
		{Name: "event exists", SQL: eventExistsSQL},
		{Name: "mark routed", SQL: markRoutedSQL},
		{Name: "insert 1 delivery", SQL: insertDeliveriesSQL[1]},
		{Name: "insert 3 deliveries", SQL: insertDeliveriesSQL[3]},
		{Name: "claim", SQL: claimSQL(c.b.claimLock())},
		{Name: "transition", SQL: transitionSQL(set)},
		{Name: "delivery status", SQL: deliveryStatusSQL},
		{Name: "insert attempt", SQL: insertAttemptSQL},
		{Name: "transition many", SQL: transitionManySQL(set, ids)},
		{Name: "insert attempts", SQL: insertAttemptsSQL(ids)},
		{Name: "assign message", SQL: assignMessageSQL(ids)},
		{Name: "requeue event", SQL: requeueEventSQL},
		{Name: "reroute", SQL: rerouteSQL},
		{Name: "get delivery", SQL: getDeliverySQL},
		{Name: "list all", SQL: list(), FullScan: true},
		{Name: "list by status", SQL: list("status = ?")},
		{Name: "list by event", SQL: list("event_id = ?")},
		{Name: "list by message", SQL: list("message_id = ? AND message_id <> ''")},
		{Name: "list by status and event", SQL: list("status = ?", "event_id = ?")},
		{Name: "delivery exists", SQL: deliveryExistsSQL},
		{Name: "attempts", SQL: attemptsSQL},
		{Name: "stats", SQL: statsSQL},
		{Name: "outbox robots", SQL: outboxRobotsSQL},
		{Name: "budget state", SQL: budgetStateSQL},
		{Name: "prune sends", SQL: pruneSendsSQL},
		{Name: "insert send", SQL: insertSendSQL},
		{Name: "send robot", SQL: sendRobotSQL},
		{Name: "stamp send", SQL: stampSendSQL},
		{Name: "cancel send", SQL: cancelSendSQL},
		{Name: "robot sends", SQL: robotSendsSQL},
		{Name: "robot sends all", SQL: robotSendsAllSQL},
		{Name: "ensure robot", SQL: ensureRobotSQL},
		{Name: "robot state", SQL: robotStateSQL(c.b.rowLock())},
		{Name: "set robot state", SQL: setRobotStateSQL},
		{Name: "set robot reason", SQL: setRobotReasonSQL},
		{Name: "robot states", SQL: robotStatesSQL, FullScan: true},
		{Name: "block robot", SQL: blockRobotSQL},
		{Name: "list events", SQL: listEventsSQL(nil, true), FullScan: true},
		{Name: "list events window", SQL: listEventsSQL(window, true)},
		{Name: "list events since by source", SQL: listEventsSQL([]string{"received_at >= ?", "source = ?", "kind = ?"}, true)},
		{Name: "list events by provider id", SQL: listEventsSQL([]string{"provider_event_id = ?"}, true)},
		{Name: "find events", SQL: listEventsSQL(append(window, "(id = ? OR provider_event_id = ? OR reference = ? OR amount IN (?, ?))"), true)},
		{Name: "find events by account, not backfilled", SQL: listEventsSQL(window, false)},
		{Name: "find events by account", SQL: listEventsSQL(append(c.unindexed(window), byDigits), true)},
		{Name: "find events by account or text", SQL: listEventsSQL(append(c.unindexed(window), byText), true)},
		{Name: "find events by account, walk", SQL: listEventsSQL(append(window, byTextWalk), true)},
		{Name: "page events by account", SQL: listEventsSQL(append(c.unindexed([]string{"(received_at, id) < (?, ?)", "source = ?", "kind = ?"}), byDigits), true)},
		{Name: "page events by account or text", SQL: listEventsSQL(append(c.unindexed([]string{"received_at >= ?", "(received_at, id) < (?, ?)", "source = ?"}), byText), true)},
		{Name: "page events by account, walk", SQL: pageByAccountSQL([]string{"(received_at, id) < (?, ?)"}, byTextWalk, true)},
		{Name: "page events by account, not backfilled", SQL: pageByAccountSQL([]string{"(received_at, id) < (?, ?)"}, "", true)},
		{Name: "account unfilled", SQL: accountUnfilledSQL},
		{Name: "account count", SQL: accountCountSQL},
		{Name: "unfilled accounts", SQL: unfilledAccountsSQL(c.b.claimLock())},
		{Name: "fill account", SQL: fillAccountSQL},
		{Name: "insert event with account", SQL: insertEventRevSQL},
		{Name: "replace event", SQL: replaceEventRevSQL},
		{Name: "page events cursor", SQL: listEventsSQL([]string{"(received_at, id) < (?, ?)"}, true)},
		{Name: "page events by source", SQL: listEventsSQL([]string{"(received_at, id) < (?, ?)", "source = ?"}, true)},
		{Name: "page events by kind", SQL: listEventsSQL([]string{"received_at >= ?", "received_at < ?", "(received_at, id) < (?, ?)", "kind = ?"}, true)},
		{Name: "source last", SQL: sourceLastSQL},
		{Name: "source count", SQL: sourceCountSQL},
		{Name: "source times", SQL: sourceTimesSQL},
		{Name: "robot sent", SQL: robotSentSQL},
		{Name: "robot depth", SQL: robotDepthSQL},
		{Name: "claim chat message", SQL: claimChatMessageSQL},
		{Name: "append audit", SQL: appendAuditSQL},
		{Name: "list audit", SQL: listAuditSQL(nil), FullScan: true},
		{Name: "list audit window", SQL: listAuditSQL([]string{"at >= ?", "at < ?"})},
		{Name: "list audit by sender", SQL: listAuditSQL([]string{"sender_id = ?", "at >= ?"})},
		{Name: "list audit by conversation", SQL: listAuditSQL([]string{"conversation_id = ?"})},
		{Name: "insert ack", SQL: insertAckSQL},
		{Name: "get ack", SQL: getAckSQL},
		{Name: "list unacked", SQL: unackedSQL(3)},
		{Name: "insert slip", SQL: insertSlipSQL},
		{Name: "get slip", SQL: getSlipSQL},
	}
	if lock := c.b.robotLock(); lock != "" {
		st = append(st, Statement{Name: "robot lock", SQL: lock})
	}
	return st
}

// explained numbers the statements Explain prepares on PostgreSQL.
var explained atomic.Int64

// Explain returns the query plan of one statement, one line per plan node.
// SQLite explains it with every argument NULL. PostgreSQL explains its
// generic plan (the one that does not depend on argument values, as the
// plan of a statement prepared once and run many times) with sequential
// scans disabled, so a table it can only read whole still shows a Seq Scan.
func (c *core) Explain(ctx context.Context, s string) ([]string, error) {
	n := strings.Count(s, "?")
	var out []string
	err := c.b.write(ctx, "explain", func(q querier) error {
		out = out[:0]
		stmt, args := "EXPLAIN QUERY PLAN "+s, make([]any, n)
		if _, pg := c.b.(*pgBackend); pg {
			name := fmt.Sprintf("bankbot_explain_%d", explained.Add(1))
			for _, set := range []string{`SET LOCAL enable_seqscan = off`, `SET LOCAL plan_cache_mode = force_generic_plan`,
				`PREPARE ` + name + ` AS ` + rebind(s, n)} {
				if _, err := q.exec(ctx, set); err != nil {
					return err
				}
			}
			defer func() { _, _ = q.exec(ctx, `DEALLOCATE `+name) }()
			stmt, args = `EXPLAIN EXECUTE `+name, nil
			if n > 0 {
				stmt += `(` + strings.TrimSuffix(strings.Repeat("NULL, ", n), ", ") + `)`
			}
		}
		rs, err := q.query(ctx, stmt, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			if _, pg := c.b.(*pgBackend); pg {
				var line string
				if err := rs.Scan(&line); err != nil {
					return err
				}
				out = append(out, line)
				continue
			}
			var id, parent, unused int
			var detail string
			if err := rs.Scan(&id, &parent, &unused, &detail); err != nil {
				return err
			}
			out = append(out, detail)
		}
		return rs.Err()
	})
	return out, err
}

// Strings runs a query whose rows are one text each (NULL reads "<null>").
func (c *core) Strings(ctx context.Context, q string, args ...any) ([]string, error) {
	var out []string
	err := c.b.read(ctx, "test query", func(qr querier) error {
		out = out[:0]
		rs, err := qr.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var v *string
			if err := rs.Scan(&v); err != nil {
				return err
			}
			if v == nil {
				out = append(out, "<null>")
				continue
			}
			out = append(out, *v)
		}
		return rs.Err()
	})
	return out, err
}

// StopAccountFill stops the background backfill of account_rev and keeps
// it from starting again, so a test can hold rows without it.
func (c *core) StopAccountFill() {
	c.fill.mu.Lock()
	c.fill.disabled = true
	c.fill.mu.Unlock()
	c.fill.wg.Wait()
}

// WaitAccountFill waits for the background backfill of account_rev to end
// and returns its error.
func (c *core) WaitAccountFill() error {
	c.fill.wg.Wait()
	c.fill.mu.Lock()
	defer c.fill.mu.Unlock()
	return c.fill.err
}

// FillAccounts runs the backfill of account_rev now and returns how many
// rows it filled.
func (c *core) FillAccounts(ctx context.Context) (int, error) { return c.fillAccounts(ctx) }

// SetPaceSleep replaces the wait between paced background batches.
func (c *core) SetPaceSleep(f func(context.Context, time.Duration) error) { c.paceSleep = f }

// SetAccountDense sets the count of matches from which a search by account
// digits walks its window; the returned function restores it.
func SetAccountDense(n int) func() {
	old := accountDense
	accountDense = n
	return func() { accountDense = old }
}

// SetAccountFillBatch sets the rows one backfill transaction fills; the
// returned function restores it.
func SetAccountFillBatch(n int) func() {
	old := accountFillBatch
	accountFillBatch = n
	return func() { accountFillBatch = old }
}
