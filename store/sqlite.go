package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
// Concurrency: SQLite allows one writer at a time. Writes in this process
// are serialised on a one-token channel before they take a connection, so
// they queue in Go (honouring ctx) instead of spinning in SQLite's busy
// handler; every write transaction is BEGIN IMMEDIATE, so it takes the write
// lock at BEGIN and never fails upgrading a read lock (SQLITE_BUSY) half way;
// busy_timeout covers writers in other processes (the bankbot CLI on the same
// file). Reads run concurrently on up to sqliteReaders pooled connections,
// which WAL lets proceed while a write is in progress.
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
)

// sqliteOptions are knobs for tests and benchmarks; OpenSQLite uses the
// defaults.
type sqliteOptions struct {
	synchronous string // FULL (default) or NORMAL
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
	}
	// Pragmas run on every new connection, in this order. busy_timeout first
	// so that switching to WAL waits for other processes.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	if !memory {
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

	b := &sqliteBackend{db: db, writes: make(chan struct{}, 1)}
	s := &SQLite{core: core{b: b}, backend: b}
	if err := s.checkPragmas(ctx, memory, o); err != nil {
		_ = db.Close()
		return nil, err
	}
	ms, err := loadMigrations(migrationFS, "migrations/sqlite")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := s.migrate(ctx, ms, nil, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
	)`); err != nil {
		_ = db.Close()
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
	// writes holds one token: the in-process write lock.
	writes    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

func (b *sqliteBackend) timeArg(t time.Time) any { return t.UnixMilli() }
func (b *sqliteBackend) claimLock() string       { return "" }
func (b *sqliteBackend) ping(ctx context.Context) error {
	return b.classify("ping", b.db.PingContext(ctx))
}

func (b *sqliteBackend) close() error {
	b.closeOnce.Do(func() { b.closeErr = b.db.Close() })
	return b.closeErr
}

func (b *sqliteBackend) read(ctx context.Context, op string, fn func(q querier) error) error {
	return b.classify(op, fn(sqlQuerier{r: b.db}))
}

func (b *sqliteBackend) write(ctx context.Context, op string, fn func(q querier) error) error {
	select {
	case b.writes <- struct{}{}:
	case <-ctx.Done():
		return unavailable(op, ctx.Err())
	}
	defer func() { <-b.writes }()
	tx, err := b.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return b.classify(op, err)
	}
	if err := fn(sqlQuerier{r: tx}); err != nil {
		_ = tx.Rollback()
		return b.classify(op, err)
	}
	return b.classify(op, tx.Commit())
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
