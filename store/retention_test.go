package store_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// fillBodies inserts n routed events (no deliveries: purgeable) with
// bodies of size bytes, received one second apart from at.
func fillBodies(t *testing.T, s store.Store, n, size int, at time.Time) {
	t.Helper()
	for i := range n {
		e := sampleEvent(fmt.Sprintf("ev_%05d", i), fmt.Sprintf("evnt_%05d", i))
		e.ReceivedAt = at.Add(time.Duration(i) * time.Second)
		e.Body = bytes.Repeat([]byte{'a' + byte(i%26)}, size)
		e.Routed = true
		_, err := s.InsertEvent(t.Context(), e)
		require.NoError(t, err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Size()
}

// A new database is incremental; Purge gives the freed pages back and the
// file shrinks.
func TestSQLitePurgeReclaimsSpace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bankbot.db")
	s := openSQLiteFile(t, path)
	sp, err := s.Space(t.Context())
	require.NoError(t, err)
	require.Equal(t, "incremental", sp.AutoVacuum)

	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fillBodies(t, s, 600, 3000, at)
	fillBodies2 := func() { // newer events that stay
		for i := range 50 {
			e := sampleEvent(fmt.Sprintf("ev_new_%03d", i), fmt.Sprintf("evnt_new_%03d", i))
			e.ReceivedAt = at.Add(48 * time.Hour)
			e.Body = bytes.Repeat([]byte{'z'}, 3000)
			e.Routed = true
			_, err := s.InsertEvent(t.Context(), e)
			require.NoError(t, err)
		}
	}
	fillBodies2()
	before, err := s.Space(t.Context())
	require.NoError(t, err)
	sizeBefore := fileSize(t, path)

	res, err := s.Purge(t.Context(), store.PurgeOptions{Before: at.Add(24 * time.Hour), Now: at.Add(90 * 24 * time.Hour), BatchSize: 100, VacuumPages: 64})
	require.NoError(t, err)
	require.Equal(t, int64(600), res.Bodies)
	require.Equal(t, "incremental", res.AutoVacuum)
	after, err := s.Space(t.Context())
	require.NoError(t, err)
	require.Zero(t, after.FreePages, "every free page given back")
	require.Equal(t, (before.Pages-after.Pages)*before.PageSize, res.ReclaimedBytes)
	// 600 bodies of 3000 bytes are 1.8 MB; most of it comes back.
	require.Greater(t, res.ReclaimedBytes, int64(1_200_000), "reclaimed %d of %d bytes", res.ReclaimedBytes, res.BodyBytes)
	require.Less(t, fileSize(t, path), sizeBefore, "the file shrinks at the checkpoint")

	se, err := s.GetEvent(t.Context(), "ev_new_000")
	require.NoError(t, err)
	require.Len(t, se.Body, 3000)
}

// A database created before incremental auto-vacuum keeps its mode until
// ConvertIncremental; Purge says so and reclaims nothing meanwhile.
func TestSQLiteConvertIncremental(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `CREATE TABLE legacy (x INTEGER)`) // the database exists, auto_vacuum none
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s := openSQLiteFile(t, path)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fillBodies(t, s, 300, 3000, at)
	res, err := s.Purge(t.Context(), store.PurgeOptions{Before: at.Add(time.Hour), Now: at.Add(48 * time.Hour)})
	require.NoError(t, err)
	require.Equal(t, int64(300), res.Bodies)
	require.Equal(t, "none", res.AutoVacuum)
	require.Zero(t, res.ReclaimedBytes)
	sp, err := s.Space(t.Context())
	require.NoError(t, err)
	require.Positive(t, sp.FreePages, "the freed pages stay in the file")

	converted, err := s.ConvertIncremental(t.Context())
	require.NoError(t, err)
	require.True(t, converted)
	after, err := s.Space(t.Context())
	require.NoError(t, err)
	require.Equal(t, "incremental", after.AutoVacuum)
	require.Less(t, after.Pages, sp.Pages, "VACUUM dropped the free pages")
	converted, err = s.ConvertIncremental(t.Context())
	require.NoError(t, err)
	require.False(t, converted, "already incremental")

	// The store still works, and the next purge reclaims.
	e := sampleEvent("ev_after", "evnt_after")
	e.Body, e.Routed, e.ReceivedAt = bytes.Repeat([]byte{'q'}, 200_000), true, at
	_, err = s.InsertEvent(t.Context(), e)
	require.NoError(t, err)
	res, err = s.Purge(t.Context(), store.PurgeOptions{Before: at.Add(time.Hour), Now: at.Add(49 * time.Hour)})
	require.NoError(t, err)
	require.Equal(t, int64(1), res.Bodies)
	require.Greater(t, res.ReclaimedBytes, int64(150_000))
}
