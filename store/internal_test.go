package store

import (
	"errors"
	"fmt"
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
