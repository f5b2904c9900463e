package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite is the embedded Store: one database file (plus its -wal and -shm
// files) opened with modernc.org/sqlite, pure Go, no cgo.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// commit returns only after the WAL has been fsync'd. An event InsertEvent
// accepted survives kill -9 and power loss. With synchronous=NORMAL a WAL
// commit is not fsync'd (only checkpoints are): it survives a process crash
// but the last transactions can roll back after a power loss or OS crash,
// and an accepted webhook would be lost, the provider having already been
// told 200. TestSQLiteSynchronousFsync measures the difference.
//
// Concurrency and group commit: SQLite allows one writer at a time, and with
// synchronous=FULL every commit costs an fsync. Writes in this process go to
// one writer goroutine, which gathers every write waiting at that moment
// (up to sqliteMaxBatch) into one transaction, runs each inside its own
// SAVEPOINT (one write's failure rolls back only that write) and commits
// once: concurrent webhooks share one fsync instead of queueing for one
// each. Every caller is answered only after the commit that holds its write,
// so "accepted" still means durable. The transaction is BEGIN IMMEDIATE, so
// it takes the write lock at BEGIN and never fails upgrading a read lock
// (SQLITE_BUSY) half way; busy_timeout covers writers in other processes (the
// bankbot CLI on the same file). Reads run concurrently on up to
// sqliteReaders pooled connections, which WAL lets proceed while a write is
// in progress.
type SQLite struct {
	core
	backend *sqliteBackend
}

var _ Store = (*SQLite)(nil)

const (
	// sqliteReaders bounds the connection pool of a file database.
	sqliteReaders = 4
	// sqliteBusyTimeout is how long a statement waits for another process's
	// write lock before failing with SQLITE_BUSY (reported as ErrUnavailable).
	sqliteBusyTimeout = 5 * time.Second
	// sqliteMaxBatch bounds how many writes share one commit.
	sqliteMaxBatch = 256
	// sqliteBatchTimeout bounds one group-commit transaction.
	sqliteBatchTimeout = 30 * time.Second
)

// sqliteOptions are knobs for tests and benchmarks; OpenSQLite uses the
// defaults.
type sqliteOptions struct {
	synchronous string // FULL (default) or NORMAL
	migrateTo   int    // apply migrations up to this version only; 0 = all
}

// OpenSQLite opens (creating it and its parent directory if missing) the
// SQLite database at path and applies pending migrations. path ":memory:"
// opens a private in-memory database held by a single connection (for
// tests: it is lost on Close). Re-opening an existing, migrated database
// changes nothing.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	return openSQLite(ctx, path, sqliteOptions{synchronous: "FULL"})
}

func openSQLite(ctx context.Context, path string, o sqliteOptions) (*SQLite, error) {
	const op = "open sqlite"
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("%s: %w", op, invalidf("path %q: want a plain file name or :memory:", path))
	}
	memory := path == ":memory:"
	if !memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, unavailable(op, err)
		}
		if err := createIncremental(ctx, path); err != nil {
			return nil, unavailable(op, err)
		}
	}
	// Pragmas run on every new connection, in this order. busy_timeout first
	// so that switching to WAL waits for other processes.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	if memory { // its one connection creates it (see createIncremental)
		q.Add("_pragma", "auto_vacuum(INCREMENTAL)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Add("_pragma", "synchronous("+o.synchronous+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, unavailable(op, err)
	}
	conns := sqliteReaders
	if memory {
		conns = 1 // every connection to ":memory:" is its own database
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	b := &sqliteBackend{db: db, memory: memory, reqs: make(chan *writeReq), quit: make(chan struct{}), done: make(chan struct{})}
	go b.writer()
	s := &SQLite{core: core{b: b}, backend: b}
	if err := s.checkPragmas(ctx, memory, o); err != nil {
		_ = db.Close()
		return nil, err
	}
	if !memory { // the first connection (checkPragmas) created the file
		st, err := os.Stat(path)
		if err != nil {
			_ = db.Close()
			return nil, unavailable(op, err)
		}
		b.health.path, b.health.opened = path, st
	}
	ms, err := loadMigrations(migrationFS, "migrations/sqlite")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	ms = migrationsTo(ms, o.migrateTo)
	if err := s.migrate(ctx, ms, nil, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
	)`); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := s.startAccounts(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return s, nil
}

// checkPragmas verifies that the connection really runs with the settings
// durability depends on (a filesystem without shared memory, for one, cannot
// do WAL, and SQLite then silently keeps its old journal mode).
func (s *SQLite) checkPragmas(ctx context.Context, memory bool, o sqliteOptions) error {
	const op = "open sqlite"
	var (
		mode       string
		syncLevel  int
		foreignKey int
	)
	err := s.backend.read(ctx, op, func(q querier) error {
		if err := q.queryRow(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			return err
		}
		if err := q.queryRow(ctx, `PRAGMA synchronous`).Scan(&syncLevel); err != nil {
			return err
		}
		return q.queryRow(ctx, `PRAGMA foreign_keys`).Scan(&foreignKey)
	})
	if err != nil {
		return err
	}
	wantSync := map[string]int{"NORMAL": 1, "FULL": 2}[o.synchronous]
	switch {
	case !memory && !strings.EqualFold(mode, "wal"):
		return fmt.Errorf("%s: journal mode is %q, not wal", op, mode)
	case syncLevel != wantSync:
		return fmt.Errorf("%s: synchronous is %d, not %d", op, syncLevel, wantSync)
	case foreignKey != 1:
		return fmt.Errorf("%s: foreign keys are off", op)
	}
	return nil
}

// sqliteBackend runs core's statements through database/sql.
type sqliteBackend struct {
	db *sql.DB
	// reqs carries writes to the writer goroutine; quit stops it and done
	// says it has stopped.
	reqs      chan *writeReq
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	// stmts caches prepared statements by SQL text: core runs a handful of
	// statements over and over, and parsing them each time cost more CPU than
	// executing them. database/sql re-prepares a cached statement on each
	// pooled connection as needed.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	memory bool // ":memory:": one connection, no statement cache
	health fileHealth
}

// stmt returns the prepared statement for s, preparing it once. The lock is
// not held while preparing: preparing takes a pooled connection, and a
// caller holding one (the writer, inside its transaction) must never wait on
// a caller that waits for a connection.
func (b *sqliteBackend) stmt(ctx context.Context, s string) (*sql.Stmt, error) {
	b.stmtMu.Lock()
	st, ok := b.stmts[s]
	b.stmtMu.Unlock()
	if ok {
		return st, nil
	}
	st, err := b.db.PrepareContext(ctx, s)
	if err != nil {
		return nil, err
	}
	b.stmtMu.Lock()
	defer b.stmtMu.Unlock()
	if prev, ok := b.stmts[s]; ok { // prepared meanwhile by another caller
		_ = st.Close()
		return prev, nil
	}
	if b.stmts == nil {
		b.stmts = map[string]*sql.Stmt{}
	}
	b.stmts[s] = st
	return st, nil
}

// cachedQuerier runs statements through the statement cache, on the
// database pool (tx nil) or inside a transaction. Statements with several
// SQL commands (migrations) cannot be prepared and run directly.
type cachedQuerier struct {
	b   *sqliteBackend
	tx  *sql.Tx
	ctx context.Context // when set, replaces the caller's (group commit)
}

func (q cachedQuerier) runner(ctx context.Context, s string) (sqlRunner, context.Context, error) {
	if q.ctx != nil {
		ctx = q.ctx
	}
	// Multi-statement text (migrations) cannot be prepared; an in-memory
	// database has a single connection, which its own transaction holds, so
	// it cannot prepare on the pool either.
	if q.b.memory || strings.Contains(s, ";") {
		if q.tx != nil {
			return q.tx, ctx, nil
		}
		return q.b.db, ctx, nil
	}
	st, err := q.b.stmt(ctx, s)
	if err != nil {
		if q.tx != nil {
			// Preparing on the pool sees only committed schema: a statement
			// on a table this transaction creates (migrations) runs directly.
			return q.tx, ctx, nil
		}
		return nil, ctx, err
	}
	if q.tx != nil {
		st = q.tx.StmtContext(ctx, st)
	}
	return stmtRunner{st}, ctx, nil
}

func (q cachedQuerier) exec(ctx context.Context, s string, args ...any) (int64, error) {
	r, ctx, err := q.runner(ctx, s)
	if err != nil {
		return 0, err
	}
	return sqlQuerier{r: r}.exec(ctx, s, args...)
}

func (q cachedQuerier) queryRow(ctx context.Context, s string, args ...any) row {
	r, ctx, err := q.runner(ctx, s)
	if err != nil {
		return errRow{err}
	}
	return sqlQuerier{r: r}.queryRow(ctx, s, args...)
}

func (q cachedQuerier) query(ctx context.Context, s string, args ...any) (rows, error) {
	r, ctx, err := q.runner(ctx, s)
	if err != nil {
		return nil, err
	}
	return sqlQuerier{r: r}.query(ctx, s, args...)
}

// stmtRunner adapts a prepared statement to sqlRunner (the SQL text is
// already bound into the statement and ignored).
type stmtRunner struct{ st *sql.Stmt }

func (r stmtRunner) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return r.st.ExecContext(ctx, args...)
}

func (r stmtRunner) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return r.st.QueryContext(ctx, args...)
}

func (r stmtRunner) QueryRowContext(ctx context.Context, _ string, args ...any) *sql.Row {
	return r.st.QueryRowContext(ctx, args...)
}

// errRow is a row whose Scan fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// writeReq is one write waiting for a group commit.
type writeReq struct {
	ctx    context.Context
	op     string
	fn     func(q querier) error
	result chan error // buffered: the writer never blocks on a caller that left
}

func (b *sqliteBackend) timeArg(t time.Time) any { return t.UnixMilli() }
func (b *sqliteBackend) claimLock() string       { return "" }

// unindexed puts SQLite's unary "+" before received_at, source and kind, which keeps a condition from using
// an index (https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_):
// without statistics the planner weighs a range on received_at like the
// account's range, and prefers the index that gives the order.
func (b *sqliteBackend) unindexed() *strings.Replacer {
	return strings.NewReplacer("received_at", "+received_at", "source = ", "+source = ", "kind = ", "+kind = ")
}

// rowLock and robotLock are empty: every write transaction runs alone (the
// writer goroutine in this process, BEGIN IMMEDIATE against others), so
// what a transaction reads cannot change before it commits.
func (b *sqliteBackend) rowLock() string   { return "" }
func (b *sqliteBackend) robotLock() string { return "" }

// idIn passes the ids as one JSON array, expanded by json_each: one
// statement text (prepared once) for any number of ids, and SQLite looks
// each id up by rowid.
func (b *sqliteBackend) testMode() string {
	return `COALESCE(json_extract(event, '$.livemode'), 1) = 0`
}

func (b *sqliteBackend) idIn(ids []int64) (string, any) {
	buf := make([]byte, 0, 2+8*len(ids))
	buf = append(buf, '[')
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, id, 10)
	}
	return `id IN (SELECT value FROM json_each(?))`, string(append(buf, ']'))
}

// ping fails when the database file was deleted or replaced, or when the
// last write failed (a full disk, an I/O error) and a probe write still
// fails; so readiness and bankbot_store_up follow the writer, not only the
// reads.
func (b *sqliteBackend) ping(ctx context.Context) error {
	if err := b.health.fileGone(); err != nil {
		return unavailable("ping", err)
	}
	if b.health.failed.Load() {
		if err := b.write(ctx, "probe write", probeWrite(ctx)); err != nil {
			return err
		}
	}
	return b.classify("ping", b.db.PingContext(ctx))
}

func (b *sqliteBackend) close() error {
	b.closeOnce.Do(func() {
		close(b.quit)
		<-b.done
		b.stmtMu.Lock()
		for _, st := range b.stmts {
			_ = st.Close()
		}
		b.stmts = nil
		b.stmtMu.Unlock()
		b.closeErr = b.db.Close()
	})
	return b.closeErr
}

func (b *sqliteBackend) read(ctx context.Context, op string, fn func(q querier) error) error {
	return b.classify(op, fn(cachedQuerier{b: b}))
}

// write hands fn to the writer goroutine and waits for the commit that
// holds it. A caller whose ctx ends first gets ErrUnavailable; its write may
// still commit if the writer had already started it (callers treat
// ErrUnavailable as "maybe": the webhook is retried by its provider and then
// found as a duplicate).
func (b *sqliteBackend) write(ctx context.Context, op string, fn func(q querier) error) error {
	r := &writeReq{ctx: ctx, op: op, fn: fn, result: make(chan error, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return unavailable(op, ctx.Err())
	case <-b.quit:
		return unavailable(op, errClosed)
	}
	select {
	case err := <-r.result:
		return err
	case <-ctx.Done():
		return unavailable(op, ctx.Err())
	}
}

// errClosed is the cause of ErrUnavailable after Close.
var errClosed = errors.New("store closed")

// writer is the one goroutine that writes: it takes the first waiting write,
// gathers all others already waiting, and commits them together.
func (b *sqliteBackend) writer() {
	defer close(b.done)
	for {
		var first *writeReq
		select {
		case first = <-b.reqs:
		case <-b.quit:
			return
		}
		batch := []*writeReq{first}
	gather:
		for len(batch) < sqliteMaxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		b.commit(batch)
	}
}

// commit runs a batch of writes in one transaction and answers each caller
// after the commit.
//
// Writes rarely fail (a duplicate webhook is not a failure: it inserts
// nothing), so the batch first runs plainly. If a write fails, that attempt
// is rolled back and the batch runs again with each write inside its own
// SAVEPOINT, so the failing write rolls back alone and gets its own error
// while the others commit. Writes are functions of their arguments and the
// database, so running one again after a rollback is safe.
//
// Failure policy: if the transaction itself fails (BEGIN, a savepoint
// statement, COMMIT: disk full, I/O error), nothing of the batch is committed
// and every caller gets the error, so no caller is ever told a write
// succeeded that is not on disk.
func (b *sqliteBackend) commit(batch []*writeReq) {
	ctx, cancel := context.WithTimeout(context.Background(), sqliteBatchTimeout)
	defer cancel()
	// A caller that left before its write began is not run at all.
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.result <- unavailable(r.op, err)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// A database file deleted or replaced under the running process would
	// take writes into an unlinked inode and lose them at the next restart:
	// refuse them (the provider gets 503 and retries) and stay unhealthy.
	if err := b.health.fileGone(); err != nil {
		b.health.failed.Store(true)
		for _, r := range live {
			r.result <- unavailable(r.op, err)
		}
		return
	}
	results, err := b.runBatch(ctx, live, false)
	if err == errRetryIsolated {
		results, err = b.runBatch(ctx, live, true)
	}
	outs := make([]error, len(live))
	failed := false
	for i, r := range live {
		if err != nil {
			outs[i] = b.classify(r.op, err)
		} else {
			outs[i] = b.classify(r.op, results[i])
		}
		failed = failed || errors.Is(outs[i], ErrUnavailable)
	}
	// Health first, then the answers: a caller told its write failed finds
	// the store unhealthy.
	b.health.failed.Store(failed)
	for i, r := range live {
		r.result <- outs[i]
	}
}

// errRetryIsolated says a plain batch had a failing write and must run again
// with savepoints.
var errRetryIsolated = errors.New("a write failed: run the batch with savepoints")

// runBatch runs the writes in one transaction. Without isolate, the first
// failing write rolls the whole attempt back (errRetryIsolated); with it,
// each write has a savepoint. The returned error is the transaction's own.
func (b *sqliteBackend) runBatch(ctx context.Context, batch []*writeReq, isolate bool) ([]error, error) {
	tx, err := b.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return nil, err
	}
	q := cachedQuerier{b: b, tx: tx, ctx: ctx}
	results := make([]error, len(batch))
	for i, r := range batch {
		if !isolate {
			if err := r.fn(q); err != nil {
				_ = tx.Rollback()
				if len(batch) == 1 {
					return []error{err}, nil // nothing else to keep: no retry needed
				}
				return nil, errRetryIsolated
			}
			continue
		}
		if _, err := q.exec(ctx, "SAVEPOINT w"); err != nil {
			_ = tx.Rollback()
			return nil, err
		}
		if err := r.fn(q); err != nil {
			results[i] = err
			if _, rerr := q.exec(ctx, "ROLLBACK TO w"); rerr != nil {
				_ = tx.Rollback()
				return nil, rerr
			}
		}
		if _, err := q.exec(ctx, "RELEASE w"); err != nil {
			_ = tx.Rollback()
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return results, nil
}

// classify passes the store's own errors on and wraps every driver error in
// ErrUnavailable, except those that say the statement itself was wrong
// (constraint violation, type mismatch, value too big): programming errors
// that retrying cannot fix.
func (b *sqliteBackend) classify(op string, err error) error {
	if err == nil || ours(err) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return unavailable(op, err)
}

// sqlRunner is what *sql.DB and *sql.Tx share.
type sqlRunner interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

type sqlQuerier struct{ r sqlRunner }

func (q sqlQuerier) exec(ctx context.Context, s string, args ...any) (int64, error) {
	res, err := q.r.ExecContext(ctx, s, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqlQuerier) queryRow(ctx context.Context, s string, args ...any) row {
	return q.r.QueryRowContext(ctx, s, args...)
}

func (q sqlQuerier) query(ctx context.Context, s string, args ...any) (rows, error) {
	rs, err := q.r.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

// sqlRows adapts *sql.Rows to rows (Close without a result).
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// fileHealth tracks whether the store still writes where it should.
type fileHealth struct {
	path   string      // the database file ("" for :memory:)
	opened os.FileInfo // its identity when opened
	// failed is set when the last write failed for a reason other than the
	// statement itself (full disk, I/O error, file gone), and cleared by the
	// next write that succeeds.
	failed atomic.Bool
}

// fileGone reports a database file that no longer exists at its path, or
// that is another file than the one opened (deleted and recreated, its
// directory replaced, a restore copied over it).
func (h *fileHealth) fileGone() error {
	if h.path == "" {
		return nil
	}
	st, err := os.Stat(h.path)
	if err != nil {
		return fmt.Errorf("database file %s is gone: %w", h.path, err)
	}
	if !os.SameFile(h.opened, st) {
		return fmt.Errorf("database file %s was replaced by another file since bankbot opened it; restart bankbot", h.path)
	}
	return nil
}

// probeWrite is a write that changes nothing but still goes to disk: it
// tells a store that failed a write whether writes work again.
func probeWrite(ctx context.Context) func(q querier) error {
	return func(q querier) error {
		_, err := q.exec(ctx, `UPDATE schema_migrations SET name = name
			WHERE version = (SELECT MAX(version) FROM schema_migrations)`)
		return err
	}
}
