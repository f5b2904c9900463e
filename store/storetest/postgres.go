package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// PostgresDSNEnv names the PostgreSQL the tests may use; without it they skip.
const PostgresDSNEnv = "BANKBOT_TEST_POSTGRES_DSN"

// PostgresSchema creates a uniquely named schema for one test (skipping the
// test when PostgresDSNEnv is not set), drops it at cleanup, and returns a
// DSN whose search_path points at it, so parallel packages and reruns never
// share tables.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		t.Skipf("%s not set", PostgresDSNEnv)
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
		// t.Context() is already done during cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
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
	return WithDSNParam(t, dsn, "search_path", schema)
}

// WithDSNParam sets one connection parameter of a PostgreSQL DSN (URL or
// key=value form).
func WithDSNParam(t testing.TB, dsn, key, value string) string {
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
