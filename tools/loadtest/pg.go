package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bankbot/bankbot/store"
)

// pgRun is the PostgreSQL side of one bankbot phase with --postgres: a
// schema of its own, created before bankbot starts and dropped after the
// check (unless --keep), and what the report says about the server.
type pgRun struct {
	Schema string
	// DSN is the given DSN with search_path set to Schema and
	// application_name set to Schema, so that bankbot's connections can be
	// told from anyone else's in pg_stat_activity.
	DSN string
	// Where is user@host:port/database, without a password.
	Where   string
	Version string
	// Server settings as SHOW reports them for a plain session; bankbot sets
	// synchronous_commit=on for its own sessions unless the DSN names it.
	Fsync, SyncCommit, WALSync string
	DataDir, FSType, FSOn      string
}

// durable reports whether a commit on this server survives a crash.
func (p *pgRun) durable() bool {
	return p.Fsync == "on" && p.FSType != "tmpfs" && p.FSType != "ramfs"
}

// newSchemaName is lt_ and 12 random hex digits.
func newSchemaName() string { return "lt_" + randHex(6) }

// dsnWithParams returns dsn with each key set to its value, for either form
// pgx accepts: a postgres:// URL (query parameters, replacing any of the
// same name) or a keyword/value string (appended; the last one wins).
// Values must be plain words (schema names, application names).
func dsnWithParams(dsn string, kv ...[2]string) (string, error) {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return "", errors.New("empty dsn")
	}
	for _, p := range kv {
		if p[1] == "" || strings.ContainsAny(p[1], " '\\\"&=#?/") {
			return "", fmt.Errorf("dsn parameter %s: %q is not a plain word", p[0], p[1])
		}
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("dsn is not a URL: %w", redactURLError(err))
		}
		q := u.Query()
		for _, p := range kv {
			q.Set(p[0], p[1])
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	if strings.Contains(dsn, "://") {
		return "", errors.New("dsn: only postgres:// and postgresql:// URLs, or keyword=value strings")
	}
	var b strings.Builder
	b.WriteString(dsn)
	for _, p := range kv {
		b.WriteString(" " + p[0] + "=" + p[1])
	}
	return b.String(), nil
}

// redactURLError drops the URL (which may hold a password) from a url.Parse
// error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// pgWhere is user@host:port/database of dsn, without a password.
func pgWhere(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "(unparsable dsn)"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// createPGSchema creates a new schema on the server of dsn and reads the
// server's settings for the report.
func createPGSchema(ctx context.Context, dsn string) (*pgRun, error) {
	schema := newSchemaName()
	full, err := dsnWithParams(dsn, [2]string{"search_path", schema}, [2]string{"application_name", schema})
	if err != nil {
		return nil, err
	}
	p := &pgRun{Schema: schema, DSN: full, Where: pgWhere(dsn), FSType: "unknown"}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(cctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	for _, s := range []struct {
		name string
		to   *string
	}{{"server_version", &p.Version}, {"fsync", &p.Fsync}, {"synchronous_commit", &p.SyncCommit}, {"wal_sync_method", &p.WALSync}} {
		if err := conn.QueryRow(cctx, "SHOW "+s.name).Scan(s.to); err != nil {
			*s.to = "unknown"
		}
	}
	// data_directory needs superuser or pg_read_all_settings.
	if err := conn.QueryRow(cctx, "SHOW data_directory").Scan(&p.DataDir); err == nil {
		if _, err := os.Stat(p.DataDir); err == nil {
			p.FSType, p.FSOn = mountOf(p.DataDir)
		}
	}
	return p, nil
}

// drop removes the schema and everything in it.
func (p *pgRun) drop(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("drop schema %s: %w", p.Schema, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{p.Schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop schema %s: %w", p.Schema, err)
	}
	return nil
}

// verifyPostgres counts the load source's events in the run's schema and
// reads every accepted id back with store.OpenPostgres and GetEvent.
func verifyPostgres(ctx context.Context, chk *storeCheck, p *pgRun, accepted []acceptedEvent) error {
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		return err
	}
	err = conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE source = $1`, sourceName).Scan(&chk.Rows)
	_ = conn.Close(context.Background())
	if err != nil {
		return fmt.Errorf("count events: %w", err)
	}
	st, err := store.OpenPostgres(ctx, p.DSN)
	if err != nil {
		return err
	}
	defer st.Close()
	readBack(ctx, chk, st, accepted)
	return nil
}

// pgCPUProbe measures the CPU time PostgreSQL spends for bankbot during the
// measured window: its own connections (application_name = the schema) and
// the server's background processes (WAL writer, checkpointer, …), from
// /proc. Other clients' backends are not counted: they are other load.
type pgCPUProbe struct {
	conn    *pgx.Conn // its own connection, not counted
	appName string
	start   map[int]time.Duration
}

// newPGCPUProbe connects to the server for pg_stat_activity.
func newPGCPUProbe(ctx context.Context, dsn, appName string) (*pgCPUProbe, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return &pgCPUProbe{conn: conn, appName: appName}, nil
}

func (p *pgCPUProbe) close() { _ = p.conn.Close(context.Background()) }

// begin snapshots every postgres process's CPU time.
func (p *pgCPUProbe) begin() error {
	var err error
	p.start, err = postgresProcCPU()
	return err
}

// end returns the CPU time used since begin by bankbot's backends and the
// background processes. A process that started after begin counts from 0;
// one that ended before end is missed.
func (p *pgCPUProbe) end(ctx context.Context) (time.Duration, error) {
	now, err := postgresProcCPU()
	if err != nil {
		return 0, err
	}
	rows, err := p.conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 OR backend_type <> 'client backend'`, p.appName)
	if err != nil {
		return 0, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, err
	}
	return sumCPUDelta(p.start, now, pids), nil
}

// sumCPUDelta is the CPU time used between two snapshots by pids.
func sumCPUDelta(before, after map[int]time.Duration, pids []int32) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		a, ok := after[int(pid)]
		if !ok {
			continue
		}
		sum += max(0, a-before[int(pid)])
	}
	return sum
}

// postgresProcCPU reads the CPU time of every process named postgres.
func postgresProcCPU() (map[int]time.Duration, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		return nil, err
	}
	out := map[int]time.Duration{}
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil || strings.TrimSpace(string(b)) != "postgres" {
			continue
		}
		pid := filepath.Base(filepath.Dir(d))
		n, err := strconv.Atoi(pid)
		if err != nil {
			continue
		}
		if cpu, err := procCPU(pid); err == nil {
			out[n] = cpu
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no postgres process in /proc (is the server on another machine?)")
	}
	return out, nil
}
