package store_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// Helpers shared by the drivers' migration and query-plan tests.

// testStore is what the migration fixture needs of a store opened at an
// older schema: the API calls that schema supports, and raw statements.
type testStore interface {
	store.Store
	SchemaVersion(ctx context.Context) (int, error)
	Exec(ctx context.Context, q string, args ...any) error
	Int64s(ctx context.Context, q string, args ...any) ([]int64, error)
}

// fixtureAt is when the migration fixture's events were routed.
var fixtureAt = time.Date(2026, 5, 17, 1, 2, 4, 0, time.UTC)

// populateV2 fills a store at schema version 2 through what that schema
// supports (InsertEvent, RouteEvent, raw statements) and returns the
// delivery ids, oldest first: three events of two routes each; [0] sent
// with one attempt, [1] dead with two attempts and one throttled answer,
// [2] sending, the others pending.
func populateV2(t *testing.T, s testStore) []int64 {
	t.Helper()
	ctx := t.Context()
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, v)
	for i := range 3 {
		e := sampleEvent(fmt.Sprintf("evt_%d", i), fmt.Sprintf("p_%d", i))
		_, err := s.InsertEvent(ctx, e)
		require.NoError(t, err)
		require.NoError(t, s.RouteEvent(ctx, e.ID, []store.NewDelivery{
			{Route: "a", Robot: "bot", Spec: []byte(fmt.Sprintf("spec-%d-a", i))},
			{Route: "b", Robot: "bot", Spec: []byte{0xff, 0x00, byte(i)}},
		}, fixtureAt))
	}
	ids, err := s.Int64s(ctx, `SELECT id FROM deliveries ORDER BY id`)
	require.NoError(t, err)
	require.Len(t, ids, 6)
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`UPDATE deliveries SET status = 'sent', attempts = 1, sent_at = next_attempt_at, last_reason = 'ok' WHERE id = ?`, []any{ids[0]}},
		{`UPDATE deliveries SET status = 'dead', attempts = 2, throttles = 1, last_reason = 'permanent', last_error = 'errcode 310000' WHERE id = ?`, []any{ids[1]}},
		{`UPDATE deliveries SET status = 'sending', lease_owner = 'w', lease_until = next_attempt_at WHERE id = ?`, []any{ids[2]}},
		{`INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms, reason, error)
			SELECT id, 1, next_attempt_at, 1500, 'ok', '' FROM deliveries WHERE id = ?`, []any{ids[0]}},
		{`INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms, reason, error)
			SELECT id, n, next_attempt_at, 10 * n, r, '' FROM deliveries,
			(SELECT 1 AS n, 'server' AS r UNION ALL SELECT 2, 'rate_limited' UNION ALL SELECT 3, 'permanent') AS log
			WHERE id = ?`, []any{ids[1]}},
	} {
		require.NoError(t, s.Exec(ctx, st.q, st.args...))
	}
	return ids
}

// checkMigrated checks, through the current API, that the rows
// populateV2 wrote survived the migration unchanged, that the schema now
// serves the new columns, and that foreign keys still tie the attempt log
// to its deliveries.
func checkMigrated(t *testing.T, s testStore, ids []int64) {
	t.Helper()
	ctx := t.Context()
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, store.LatestMigration(driverOf(s)), v)
	require.Equal(t, 11, v) // 0008_schedules, 0009_retention, 0010_console, 0011_account_rev

	for k, id := range ids {
		d, err := s.GetDelivery(ctx, id)
		require.NoError(t, err, "delivery %d", k)
		require.Equal(t, fmt.Sprintf("evt_%d", k/2), d.EventID)
		require.Equal(t, fixtureAt, d.CreatedAt)
		require.Equal(t, fixtureAt, d.NextAttemptAt)
		require.Empty(t, d.MessageID, "delivery %d: the new column starts empty", k)
		if k%2 == 0 {
			require.Equal(t, []byte(fmt.Sprintf("spec-%d-a", k/2)), d.Spec)
		} else {
			require.Equal(t, []byte{0xff, 0x00, byte(k / 2)}, d.Spec)
		}
	}
	d, _ := s.GetDelivery(ctx, ids[0])
	require.Equal(t, store.StatusSent, d.Status)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, fixtureAt, d.SentAt)
	d, _ = s.GetDelivery(ctx, ids[1])
	require.Equal(t, store.StatusDead, d.Status)
	require.Equal(t, []int{2, 1}, []int{d.Attempts, d.Throttles})
	require.Equal(t, "errcode 310000", d.LastError)
	d, _ = s.GetDelivery(ctx, ids[2])
	require.Equal(t, store.StatusSending, d.Status)
	require.Equal(t, "w", d.LeaseOwner)
	require.Equal(t, fixtureAt, d.LeaseUntil)
	log, err := s.Attempts(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, []store.Attempt{{At: fixtureAt, Duration: 1500 * time.Millisecond, Reason: "ok"}}, log)
	log, err = s.Attempts(ctx, ids[1])
	require.NoError(t, err)
	require.Len(t, log, 3)
	require.Equal(t, "permanent", log[2].Reason)

	// The migrated rows work with the new API.
	n, err := s.AssignMessage(ctx, []int64{ids[2]}, "msg-after-migration")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = s.CompleteDeliveries(ctx, []int64{ids[2]}, store.Attempt{At: fixtureAt.Add(time.Second), Reason: "ok"})
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// New rows continue after the old ids.
	e := sampleEvent("evt_new", "p_new")
	e.Routed = true
	e.Deliveries = []store.NewDelivery{{Route: "a", Robot: "bot"}}
	_, err = s.InsertEvent(ctx, e)
	require.NoError(t, err)
	list, err := s.ListDeliveries(ctx, store.DeliveryFilter{EventID: "evt_new"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Greater(t, list[0].ID, ids[len(ids)-1])

	// Foreign keys: an attempt of no delivery is refused, and deleting an
	// event still cascades to its deliveries and their attempt log.
	err = s.Exec(ctx, `INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms) SELECT 987654321, 1, at, 0 FROM delivery_attempts LIMIT 1`)
	require.Error(t, err, "delivery_attempts.delivery_id still references deliveries")
	require.NoError(t, s.Exec(ctx, `DELETE FROM events WHERE id = ?`, "evt_0")) // deliveries [0] and [1]
	for _, id := range ids[:2] {
		_, err = s.GetDelivery(ctx, id)
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	left, err := s.Int64s(ctx, `SELECT delivery_id FROM delivery_attempts ORDER BY delivery_id`)
	require.NoError(t, err)
	require.Equal(t, []int64{ids[2]}, left, "the attempt log cascades; the other delivery's attempt stays")
}

// driverOf names the migrations directory of s's driver.
func driverOf(s testStore) string {
	if _, ok := s.(*store.Postgres); ok {
		return "postgres"
	}
	return "sqlite"
}

// planExplainer is what the query-plan tests need of a store.
type planExplainer interface {
	Statements() []store.Statement
	Explain(ctx context.Context, q string) ([]string, error)
}

// checkPlans explains every statement core runs and fails on a plan line
// that reads a whole table (bad matches it) for a statement not meant to,
// and on a statement whose plan lacks what want names (the index it must
// use).
func checkPlans(t *testing.T, s planExplainer, bad *regexp.Regexp, want map[string]string) {
	t.Helper()
	seen := map[string]bool{}
	for _, st := range s.Statements() {
		plan, err := s.Explain(t.Context(), st.SQL)
		require.NoError(t, err, st.Name)
		t.Logf("%s:\n\t%s", st.Name, joinLines(plan))
		seen[st.Name] = true
		for _, line := range plan {
			if bad.MatchString(line) && !st.FullScan {
				t.Errorf("%s reads a whole table: %q\n%s", st.Name, line, st.SQL)
			}
		}
		if w, ok := want[st.Name]; ok {
			require.Contains(t, joinLines(plan), w, "%s must use %s", st.Name, w)
		}
	}
	for name := range want {
		require.True(t, seen[name], "no statement named %q", name)
	}
}

func joinLines(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n\t"
		}
		out += l
	}
	return out
}
