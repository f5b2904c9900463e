package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the Store for several bankbot replicas sharing one PostgreSQL
// database, through github.com/jackc/pgx/v5.
//
// Durability: a commit returns after PostgreSQL has flushed its WAL, as long
// as synchronous_commit is on; OpenPostgres sets it on for its sessions
// unless the DSN names another value.
//
// Concurrency: claims use SELECT … FOR UPDATE SKIP LOCKED, so replicas
// share the outbox without handing one row to two workers; migrations take a
// transaction-scoped advisory lock, so replicas starting together migrate
// once.
type Postgres struct {
	core
	backend *pgBackend
}

var _ Store = (*Postgres)(nil)

// OpenPostgres connects to the PostgreSQL database named by dsn (a URL or
// keyword/value string, as pgx parses it) and applies pending migrations in
// the first schema of the connection's search_path (set search_path in the
// DSN to use another schema than public). pool_max_conns in the DSN bounds
// the connection pool (default max(16, 4×NumCPU), see defaultPoolSize). The
// first connection is made here, so a wrong DSN or an unreachable server
// fails OpenPostgres with ErrUnavailable.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	return openPostgres(ctx, dsn, 0)
}

// openPostgres is OpenPostgres applying migrations up to migrateTo only
// (0 = all; tests build older schemas with it).
func openPostgres(ctx context.Context, dsn string, migrateTo int) (*Postgres, error) {
	const op = "open postgres"
	cfg, err := pgxpool.ParseConfig(dsn) // its errors redact the password
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, invalidf("dsn: %v", err))
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = int32(defaultPoolSize(runtime.NumCPU()))
	}
	params := cfg.ConnConfig.RuntimeParams
	if _, ok := params["synchronous_commit"]; !ok {
		params["synchronous_commit"] = "on"
	}
	if _, ok := params["application_name"]; !ok {
		params["application_name"] = "bankbot"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, invalidf("dsn: %v", err))
	}
	b := &pgBackend{pool: pool, done: make(chan struct{})}
	p := &Postgres{core: core{b: b}, backend: b}
	if err := p.Ping(ctx); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	ms, err := loadMigrations(migrationFS, "migrations/postgres")
	if err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	ms = migrationsTo(ms, migrateTo)
	err = p.migrate(ctx, ms,
		[]string{`SELECT pg_advisory_xact_lock(hashtext('bankbot.schema_migrations.' || current_schema()))`},
		`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER     PRIMARY KEY,
			name       TEXT        NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
		)`)
	if err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := p.startAccounts(ctx); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return p, nil
}

// defaultPoolSize is the connection pool's size when the DSN names none.
//
// A write holds its connection for its whole transaction, commit included,
// and a commit waits for PostgreSQL's WAL flush: the connection is idle on
// the client's CPU while the server's disk works. With the pgx default
// (max(4, NumCPU)) the pool, not the database, bounded ingest (about 2.9k
// events/s in a profile: each connection does about one commit per flush).
// PostgreSQL flushes the commits waiting together in one WAL write, so more
// connections in flight means more commits per flush. 4 per CPU, and at
// least 16, keeps enough commits waiting for the group flush while staying
// far below PostgreSQL's default max_connections (100) for a few replicas;
// pool_max_conns in the DSN overrides it.
func defaultPoolSize(cpus int) int { return max(16, 4*cpus) }

// pgBackend runs core's statements on a pgxpool.
//
// Failure policy: pgxpool discards a connection that broke or was left in a
// transaction; a statement on a connection that broke while idle fails with
// ErrUnavailable (the caller answers 503 or retries) and the pool dials a
// fresh one for the next caller. It never waits past ctx.
type pgBackend struct {
	pool      *pgxpool.Pool
	closeOnce sync.Once
	done      chan struct{} // closed by close
	// writeFailed is set when the last write failed with ErrUnavailable and
	// cleared by the next write that commits.
	writeFailed atomic.Bool
}

func (b *pgBackend) timeArg(t time.Time) any { return t }
func (b *pgBackend) claimLock() string       { return "FOR UPDATE SKIP LOCKED" }

// unindexed keeps the conditions on received_at, source and kind from any
// index: an expression is not an indexed column.
func (b *pgBackend) unindexed() *strings.Replacer {
	return strings.NewReplacer("received_at", "(received_at + interval '0 s')", "source = ", "(source || '') = ", "kind = ", "(kind || '') = ")
}
func (b *pgBackend) rowLock() string { return "FOR UPDATE" }

// robotLock serialises one robot's send reservations across every replica:
// a transaction-scoped advisory lock, released at commit or rollback (also
// when the connection dies), after the commit is visible to the next holder.
func (b *pgBackend) robotLock() string {
	return `SELECT pg_advisory_xact_lock(hashtext('bankbot.robot_sends.' || ?::text))`
}

// idIn passes the ids as one bigint array (an index scan of the primary
// key, one probe per element).
func (b *pgBackend) testMode() string {
	return `COALESCE((event->>'livemode')::boolean, true) = false`
}

func (b *pgBackend) idIn(ids []int64) (string, any) {
	return `id = ANY(?::bigint[])`, ids
}

// ping fails when the last write failed for a reason other than the
// statement itself (the server's disk full, a lost connection) and a probe
// write still fails; so readiness follows the writes, not only the reads.
func (b *pgBackend) ping(ctx context.Context) error {
	if b.writeFailed.Load() {
		if err := b.write(ctx, "probe write", probeWrite(ctx)); err != nil {
			return err
		}
	}
	return b.read(ctx, "ping", func(q querier) error {
		var one int
		return q.queryRow(ctx, `SELECT 1`).Scan(&one)
	})
}

func (b *pgBackend) close() error {
	b.closeOnce.Do(func() {
		close(b.done)
		b.pool.Close()
	})
	return nil
}

func (b *pgBackend) read(ctx context.Context, op string, fn func(q querier) error) error {
	if b.closed() {
		return unavailable(op, errPoolClosed)
	}
	return b.classify(op, fn(pgQuerier{r: b.pool}))
}

func (b *pgBackend) write(ctx context.Context, op string, fn func(q querier) error) (err error) {
	if b.closed() {
		return unavailable(op, errPoolClosed)
	}
	defer func() {
		switch {
		case err == nil:
			b.writeFailed.Store(false)
		case errors.Is(err, ErrUnavailable) && ctx.Err() == nil:
			b.writeFailed.Store(true)
		}
	}()
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return b.classify(op, err)
	}
	if err := fn(pgQuerier{r: tx}); err != nil {
		// A failed rollback leaves the connection inside a transaction;
		// pgxpool then discards it.
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return b.classify(op, err)
	}
	return b.classify(op, tx.Commit(ctx))
}

// classify passes the store's own errors on and wraps every driver error in
// ErrUnavailable, except integrity-constraint violations (SQLSTATE class 23)
// and data exceptions (class 22): the statement itself was wrong, and a
// retry cannot fix it.
func (b *pgBackend) classify(op string, err error) error {
	if err == nil || ours(err) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "23") || strings.HasPrefix(pe.Code, "22")) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return unavailable(op, err)
}

// errPoolClosed is returned after Close.
var errPoolClosed = errors.New("connection pool closed")

// closed reports whether Close was called (pgxpool itself blocks acquires
// on a closed pool with a different error per version; the store answers
// ErrUnavailable).
func (b *pgBackend) closed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// pgRunner is what *pgxpool.Pool and pgx.Tx share.
type pgRunner interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgQuerier rewrites core's ? placeholders to $1, $2 … A statement without
// arguments is sent as is (pgx then uses the simple protocol, which also
// runs multi-statement migration files).
type pgQuerier struct{ r pgRunner }

func (q pgQuerier) exec(ctx context.Context, s string, args ...any) (int64, error) {
	tag, err := q.r.Exec(ctx, rebind(s, len(args)), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q pgQuerier) queryRow(ctx context.Context, s string, args ...any) row {
	return q.r.QueryRow(ctx, rebind(s, len(args)), args...)
}

func (q pgQuerier) query(ctx context.Context, s string, args ...any) (rows, error) {
	rs, err := q.r.Query(ctx, rebind(s, len(args)), args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// rebind turns the n ? placeholders of s into $1 … $n. core's queries hold
// no ? anywhere else (no string literal or comment contains one).
func rebind(s string, n int) string {
	if n == 0 {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) + 2*n)
	k := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '?' {
			k++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(k))
			continue
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}
