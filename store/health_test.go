package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
)

func healthEvent(id string) NewEvent {
	return NewEvent{
		ID: "ev_" + id, Source: "opn",
		Event:      bankhooks.Event{Provider: "omise", ID: "evnt_" + id, Kind: bankhooks.KindPaymentSucceeded, Amount: 100, Currency: "THB"},
		ReceivedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Body: []byte(`{}`),
	}
}

// TestSQLiteFileDeletedWhileServing: deleting the database file (or putting
// another file in its place) under a running store makes writes fail with
// ErrUnavailable, instead of committing into an unlinked file that a
// restart would lose, and makes Ping (readiness) fail.
func TestSQLiteFileDeletedWhileServing(t *testing.T) {
	for _, mode := range []string{"deleted", "replaced"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "bankbot.db")
			s, err := OpenSQLite(ctx, path)
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			_, err = s.InsertEvent(ctx, healthEvent("before"))
			require.NoError(t, err)
			require.NoError(t, s.Ping(ctx))

			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				_ = os.Remove(f)
			}
			if mode == "replaced" {
				require.NoError(t, os.WriteFile(path, nil, 0o600))
			}
			_, err = s.InsertEvent(ctx, healthEvent("after"))
			require.ErrorIs(t, err, ErrUnavailable)
			require.Contains(t, err.Error(), path)
			err = s.Ping(ctx)
			require.ErrorIs(t, err, ErrUnavailable, "readiness fails")
		})
	}
}

// TestSQLiteFailedWriteMakesPingProbe: after a write failed for a reason
// other than the statement (full disk, I/O error), Ping runs a probe write
// and answers by its outcome, and the next write that succeeds clears it.
func TestSQLiteFailedWriteMakesPingProbe(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bankbot.db")
	s, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	// The account_rev backfill started by the open commits a write of its
	// own, which would clear the failure below before the test reads it.
	require.NoError(t, s.WaitAccountFill())

	// A write whose failure is the database's, not the statement's.
	err = s.backend.write(ctx, "test", func(q querier) error {
		_, err := q.exec(ctx, `INSERT INTO no_such_table VALUES (1)`)
		return err
	})
	require.ErrorIs(t, err, ErrUnavailable)
	require.True(t, s.backend.health.failed.Load(), "the writer remembers the failure")
	require.NoError(t, s.Ping(ctx), "the probe write succeeds: healthy again")
	require.False(t, s.backend.health.failed.Load())

	// A failure of the statement itself (a constraint) is not the store's.
	_, err = s.InsertEvent(ctx, healthEvent("x"))
	require.NoError(t, err)
	err = s.backend.write(ctx, "test", func(q querier) error {
		_, err := q.exec(ctx, `INSERT INTO events (id, source, provider_event_id, received_at, body, event) VALUES ('ev_x', 'opn', 'dup', 1, x'', '{}')`)
		return err
	})
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrUnavailable)
	require.False(t, s.backend.health.failed.Load())
}

// TestPostgresFailedWriteMakesPingProbe: the same for PostgreSQL.
func TestPostgresFailedWriteMakesPingProbe(t *testing.T) {
	base := os.Getenv("BANKBOT_TEST_POSTGRES_DSN")
	if base == "" {
		t.Skip("BANKBOT_TEST_POSTGRES_DSN not set")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("bankbot_health_%d_%d", os.Getpid(), time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close(context.Background())
	})
	dsn := base + "&search_path=" + schema
	if !strings.Contains(base, "?") {
		dsn = base + "?search_path=" + schema
	}
	p, err := OpenPostgres(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	err = p.backend.write(ctx, "test", func(q querier) error {
		_, err := q.exec(ctx, `INSERT INTO no_such_table VALUES (1)`)
		return err
	})
	require.ErrorIs(t, err, ErrUnavailable)
	require.True(t, p.backend.writeFailed.Load())
	require.NoError(t, p.Ping(ctx))
	require.False(t, p.backend.writeFailed.Load(), "the probe write cleared it")
}
