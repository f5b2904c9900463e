package store_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
	"github.com/bankbot/bankbot/store/storetest"
)

// postgresDSNEnv names the PostgreSQL the tests may use; without it they skip.
const postgresDSNEnv = "BANKBOT_TEST_POSTGRES_DSN"

// pgSchema creates a uniquely named schema for one test, drops it at cleanup,
// and returns a DSN whose search_path points at it, so parallel packages and
// reruns never share tables.
func pgSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(postgresDSNEnv)
	if dsn == "" {
		t.Skipf("%s not set", postgresDSNEnv)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	schema := fmt.Sprintf("bankbot_test_%d_%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	admin, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	_, err = admin.Exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	require.NoError(t, admin.Close(t.Context()))
	t.Cleanup(func() {
		ctx := t.Context()
		if ctx.Err() != nil {
			var cancel func()
			ctx, cancel = contextWithTimeout(10 * time.Second)
			defer cancel()
		}
		admin, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withDSNParam(t, dsn, "search_path", schema)
}

func withDSNParam(t *testing.T, dsn, key, value string) string {
	t.Helper()
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

func openPostgres(t *testing.T, dsn string) *store.Postgres {
	t.Helper()
	s, err := store.OpenPostgres(t.Context(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestPostgresContract(t *testing.T) {
	if os.Getenv(postgresDSNEnv) == "" {
		t.Skipf("%s not set", postgresDSNEnv)
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		return openPostgres(t, pgSchema(t))
	})
}

func TestPostgresReopenIsNoop(t *testing.T) {
	dsn := pgSchema(t)
	s, err := store.OpenPostgres(t.Context(), dsn)
	require.NoError(t, err)
	_, err = s.InsertEvent(t.Context(), sampleEvent("evt_1", "p1"))
	require.NoError(t, err)
	v1, err := s.SchemaVersion(t.Context())
	require.NoError(t, err)
	require.Positive(t, v1)
	require.NoError(t, s.Close())

	s = openPostgres(t, dsn)
	v, err := s.SchemaVersion(t.Context())
	require.NoError(t, err)
	require.Equal(t, v1, v)
	got, err := s.GetEvent(t.Context(), "evt_1")
	require.NoError(t, err)
	require.Equal(t, []byte{'{', 0xff, 0x00, '}'}, got.Body)
}

// Replicas starting together: the advisory lock makes one of them migrate
// and the others find the schema current.
func TestPostgresConcurrentOpenMigratesOnce(t *testing.T) {
	dsn := pgSchema(t)
	const replicas = 6
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	stores := make([]*store.Postgres, replicas)
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = store.OpenPostgres(t.Context(), dsn) })
	}
	wg.Wait()
	for i := range replicas {
		require.NoError(t, errs[i])
		v, err := stores[i].SchemaVersion(t.Context())
		require.NoError(t, err)
		require.Positive(t, v)
		require.NoError(t, stores[i].Close())
	}
}

// Two stores on one database stand for two replicas: their concurrent claims
// never hand out one row twice.
func TestPostgresReplicasClaimExclusive(t *testing.T) {
	dsn := pgSchema(t)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	const rows = 80
	for i := range rows {
		e := sampleEvent(fmt.Sprintf("evt_%d", i), fmt.Sprintf("p_%d", i))
		_, err := a.InsertEvent(t.Context(), e)
		require.NoError(t, err)
		require.NoError(t, a.RouteEvent(t.Context(), e.ID, []store.NewDelivery{{Route: "r", Robot: "bot"}}, e.ReceivedAt))
	}
	now := sampleEvent("x", "x").ReceivedAt
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w, s := range []*store.Postgres{a, b, a, b} {
		wg.Go(func() {
			for {
				got, err := s.ClaimDeliveries(t.Context(), store.Claim{Robot: "bot", Owner: fmt.Sprint("w", w), Now: now, LeaseUntil: now.Add(time.Hour), Limit: 2})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, rows)
	for id, n := range seen {
		require.Equal(t, 1, n, "delivery %d claimed %d times", id, n)
	}
}

func TestPostgresUnreachable(t *testing.T) {
	// Port 1 on loopback: nothing listens there, the connection is refused.
	_, err := store.OpenPostgres(t.Context(), "postgres://bankbot:secret-password@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.NotContains(t, err.Error(), "secret-password", "the password never reaches an error")
}

func TestPostgresBadDSN(t *testing.T) {
	tests := []struct{ name, dsn string }{
		{"unparseable", "postgres://bankbot:secret-password@127.0.0.1:notaport/db"},
		{"bad pool size", "postgres://127.0.0.1/db?pool_max_conns=zero"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.OpenPostgres(t.Context(), tc.dsn)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.NotContains(t, err.Error(), "secret-password")
		})
	}
}

// A server-side kill of every connection (failover, restart, idle reaper):
// calls fail with ErrUnavailable, never anything else, and the pool heals
// by itself.
func TestPostgresConnectionsKilled(t *testing.T) {
	dsn := pgSchema(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	app := "bankbot_kill_" + hex.EncodeToString(rnd[:])
	s := openPostgres(t, withDSNParam(t, dsn, "application_name", app))
	_, err := s.InsertEvent(t.Context(), sampleEvent("evt_0", "p_0"))
	require.NoError(t, err)

	admin, err := pgx.Connect(t.Context(), os.Getenv(postgresDSNEnv))
	require.NoError(t, err)
	defer admin.Close(t.Context())
	var killed int
	require.NoError(t, admin.QueryRow(t.Context(),
		`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) k`, app).Scan(&killed))
	require.Positive(t, killed)
	t.Logf("killed %d backends", killed)

	ok := false
	for i := 1; i <= 5 && !ok; i++ {
		_, err := s.InsertEvent(t.Context(), sampleEvent(fmt.Sprint("evt_", i), fmt.Sprint("p_", i)))
		if err != nil {
			t.Logf("call %d after the kill: %v", i, err)
			require.ErrorIs(t, err, store.ErrUnavailable)
			continue
		}
		t.Logf("call %d after the kill succeeded", i)
		ok = true
	}
	require.True(t, ok, "the pool reconnects")
	require.NoError(t, s.Ping(t.Context()))
}
