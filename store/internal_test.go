package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"SELECT 1", 0, "SELECT 1"},
		{"SELECT ? WHERE a = ?", 2, "SELECT $1 WHERE a = $2"},
		{"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 11, "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, rebind(tc.in, tc.n))
		})
	}
}

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{"ordered by version", fstest.MapFS{
			"m/0010_later.sql": {Data: []byte("B")},
			"m/0002_first.sql": {Data: []byte("A")},
		}, []int{2, 10}, ""},
		{"duplicate version", fstest.MapFS{
			"m/0001_a.sql": {Data: []byte("A")},
			"m/0001_b.sql": {Data: []byte("B")},
		}, nil, "share version 1"},
		{"bad name", fstest.MapFS{"m/init.sql": {Data: []byte("A")}}, nil, "not named NNNN_name.sql"},
		{"zero version", fstest.MapFS{"m/0000_x.sql": {Data: []byte("A")}}, nil, "no positive version"},
		{"empty", fstest.MapFS{"m/.keep": {Data: nil}, "other/0001_x.sql": {}}, nil, "not named"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.files, "m")
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestEmbeddedMigrations(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			ms, err := loadMigrations(migrationFS, "migrations/"+driver)
			require.NoError(t, err)
			require.Equal(t, 1, ms[0].version)
			for _, m := range ms {
				require.NotContains(t, m.sql, "?", "rebind would rewrite a ? in a migration")
			}
		})
	}
	s, err := loadMigrations(migrationFS, "migrations/sqlite")
	require.NoError(t, err)
	p, err := loadMigrations(migrationFS, "migrations/postgres")
	require.NoError(t, err)
	require.Len(t, p, len(s), "both drivers have the same migrations")
	for i := range s {
		require.Equal(t, s[i].version, p[i].version)
		require.Equal(t, s[i].name, p[i].name)
	}
}

func TestPendingMigrations(t *testing.T) {
	ms := []migration{{version: 1}, {version: 2}, {version: 5}}
	got, err := pendingMigrations(ms, 2)
	require.NoError(t, err)
	require.Equal(t, []migration{{version: 5}}, got)
	got, err = pendingMigrations(ms, 5)
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = pendingMigrations(ms, 6)
	require.ErrorContains(t, err, "newer than this binary")
}

func TestDBTimeScan(t *testing.T) {
	zone := time.FixedZone("X", 3600)
	tests := []struct {
		name    string
		in      any
		want    time.Time
		wantErr bool
	}{
		{"null", nil, time.Time{}, false},
		{"unix ms", int64(1_700_000_000_123), time.UnixMilli(1_700_000_000_123).UTC(), false},
		{"negative ms", int64(-1), time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC), false},
		{"timestamptz", time.Date(2026, 1, 1, 1, 0, 0, 123_456_789, zone), time.Date(2026, 1, 1, 0, 0, 0, 123_000_000, time.UTC), false},
		{"text", "2026-01-01", time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d dbTime
			err := d.Scan(tc.in)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, d.t)
		})
	}
}

func TestErrorWrapping(t *testing.T) {
	driver := errors.New("disk I/O error")
	err := unavailable("insert event", driver)
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, driver)
	require.Equal(t, "insert event: store unavailable: disk I/O error", err.Error())

	require.ErrorIs(t, invalidf("x %d", 1), ErrInvalid)
	require.True(t, ours(plain(errors.New("x"))))
	require.True(t, ours(fmt.Errorf("wrapped: %w", ErrNotFound)))
	require.False(t, ours(driver))
}

func TestText(t *testing.T) {
	require.Equal(t, "plain ทดสอบ", text("plain ทดสอบ"))
	require.Equal(t, "a\uFFFDb", text("a\xffb"))
	require.Equal(t, "ab", text("a\x00b"))
}

// FuzzParseMigrationName: the name parser never panics, and whatever it
// accepts has a positive version and a name that rebuilds the file name.
func FuzzParseMigrationName(f *testing.F) {
	for _, s := range []string{"0001_init.sql", "0000_x.sql", "12345_add_index.sql", "init.sql", "0001_.sql", "99999999999999999999_x.sql"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v, n, err := parseMigrationName(name)
		if err != nil {
			return
		}
		require.Positive(t, v)
		require.NotEmpty(t, n)
		require.Regexp(t, `^[0-9]+_`+n+`\.sql$`, name)
	})
}

// TestSQLiteGroupCommitIsolatesFailures drives one group commit directly
// with a batch in which one write fails and one caller has left: the failing
// write alone is rolled back, the others commit, the departed caller's write
// never runs.
func TestSQLiteGroupCommitIsolatesFailures(t *testing.T) {
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gc.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	b := s.backend
	require.NoError(t, b.write(t.Context(), "setup", func(q querier) error {
		_, err := q.exec(t.Context(), `CREATE TABLE gc (x INTEGER PRIMARY KEY)`)
		return err
	}))
	insert := func(x int) func(q querier) error {
		return func(q querier) error {
			_, err := q.exec(t.Context(), `INSERT INTO gc (x) VALUES (?)`, x)
			return err
		}
	}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	req := func(ctx context.Context, fn func(q querier) error) *writeReq {
		return &writeReq{ctx: ctx, op: "test", fn: fn, result: make(chan error, 1)}
	}
	batch := []*writeReq{
		req(t.Context(), insert(1)),
		req(t.Context(), insert(1)), // fails: primary key
		req(gone, func(q querier) error { ran = true; return insert(4)(q) }),
		req(t.Context(), insert(3)),
	}
	b.commit(batch)

	require.NoError(t, <-batch[0].result)
	err = <-batch[1].result
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrUnavailable, "a refused write is not an outage")
	require.ErrorIs(t, <-batch[2].result, ErrUnavailable)
	require.False(t, ran, "the write of a caller that left is not run")
	require.NoError(t, <-batch[3].result)

	var got []int
	require.NoError(t, b.read(t.Context(), "check", func(q querier) error {
		rs, err := q.query(t.Context(), `SELECT x FROM gc ORDER BY x`)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var x int
			if err := rs.Scan(&x); err != nil {
				return err
			}
			got = append(got, x)
		}
		return rs.Err()
	}))
	require.Equal(t, []int{1, 3}, got)
}

// TestComputeBudget covers what the contract suite cannot reach through
// millisecond stamps: a window that is not a whole number of milliseconds
// (NextAt rounds up to the first millisecond a send is free, never down to
// one where it is not) and a block that ended already.
func TestComputeBudget(t *testing.T) {
	t0 := time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name    string
		now     time.Time
		rules   []SendRule
		stamps  []time.Time
		blocked time.Time
		want    Budget
	}{
		{"empty", ms(0), []SendRule{{Window: time.Second, Limit: 3}}, nil, time.Time{}, Budget{Free: 3}},
		{"sub-millisecond window rounds NextAt up", ms(1), []SendRule{{Window: 1500 * time.Microsecond, Limit: 1}},
			[]time.Time{ms(0)}, time.Time{}, Budget{NextAt: ms(2)}},
		{"and the stamp no longer counts then", ms(2), []SendRule{{Window: 1500 * time.Microsecond, Limit: 1}},
			[]time.Time{ms(0)}, time.Time{}, Budget{Free: 1}},
		{"over the limit (a rule tightened)", ms(10), []SendRule{{Window: time.Second, Limit: 2}},
			[]time.Time{ms(1), ms(2), ms(3), ms(4)}, time.Time{}, Budget{NextAt: ms(1003)}},
		{"past block is none", ms(10), []SendRule{{Window: time.Second, Limit: 2}}, nil, ms(10), Budget{Free: 2}},
		{"block ahead of the rules", ms(10), []SendRule{{Window: time.Second, Limit: 1}},
			[]time.Time{ms(5)}, ms(2000), Budget{NextAt: ms(2000), BlockedUntil: ms(2000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, computeBudget(tc.now, tc.rules, tc.stamps, tc.blocked))
		})
	}
}

func TestMigrationsTo(t *testing.T) {
	ms := []migration{{version: 1}, {version: 2}, {version: 3}}
	require.Equal(t, ms, migrationsTo(ms, 0))
	require.Equal(t, ms[:2], migrationsTo(ms, 2))
	require.Equal(t, ms, migrationsTo(ms, 9))
}

// TestPacerNextWait: the wait between two background batches (purge,
// backfill) is the pause when no events arrive, and yield × the last
// batch's time (at most 10 s) when they do; a negative yield never slows
// the work down.
func TestPacerNextWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pause   time.Duration
		yield   int
		busy    bool
		last    time.Duration
		want    time.Duration
		yielded int
	}{
		{"quiet: the pause", 5 * time.Millisecond, 199, false, 7 * time.Millisecond, 5 * time.Millisecond, 0},
		{"busy: yield × the last batch", 5 * time.Millisecond, 199, true, 7 * time.Millisecond, 1393 * time.Millisecond, 1},
		{"busy, but never yield", 5 * time.Millisecond, -1, true, 7 * time.Millisecond, 5 * time.Millisecond, 0},
		{"busy: a longer pause wins", 2 * time.Second, 199, true, 7 * time.Millisecond, 2 * time.Second, 0},
		{"busy: at most 10 s", 0, 199, true, time.Second, 10 * time.Second, 1},
		{"no pause, quiet", -1, 199, false, time.Second, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			p := &pacer{pause: tc.pause, yield: tc.yield, last: tc.last,
				busy: func(context.Context) bool { calls++; return tc.busy }}
			require.Equal(t, tc.want, p.nextWait(t.Context()))
			require.Equal(t, tc.yielded, p.yielded)
			if tc.yield < 0 {
				require.Zero(t, calls, "the store is not asked when the work never yields")
			}
		})
	}
}
