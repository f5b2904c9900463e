package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// sentEvent stores e routed to robot "log" and marks its delivery sent
// (dead when dead is set).
func sentEvent(t *testing.T, db string, e store.NewEvent, dead bool) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, db)
	require.NoError(t, err)
	defer st.Close()
	e.Body, e.Headers = []byte(`{"id":"`+e.Event.ID+`","padding":"............................"}`), map[string]string{"Content-Type": "application/json"}
	e.Routed, e.Deliveries = true, []store.NewDelivery{{Route: "to-log", Robot: "log", Spec: []byte(`{"template":"default","language":"en"}`)}}
	_, err = st.InsertEvent(ctx, e)
	require.NoError(t, err)
	c, err := st.ClaimDeliveries(ctx, store.Claim{Robot: "log", Owner: "test", Now: time.Now(), LeaseUntil: time.Now().Add(time.Minute), Limit: 1})
	require.NoError(t, err)
	require.Len(t, c, 1)
	a := store.Attempt{At: e.ReceivedAt.Add(time.Second), Reason: "ok"}
	if dead {
		require.NoError(t, st.DeadLetter(ctx, c[0].ID, a))
		return
	}
	require.NoError(t, st.CompleteDelivery(ctx, c[0].ID, a))
}

func TestStoragePurge(t *testing.T) {
	dir, path := writeConfig(t, secretlessConfig("@DIR@"))
	db := filepath.Join(dir, "bankbot.db")
	now := time.Now()
	sentEvent(t, db, payment("ev_old", "opn", now.Add(-100*24*time.Hour), 5000, "THB", "chrg_old", ""), false)
	sentEvent(t, db, payment("ev_dead", "opn", now.Add(-100*24*time.Hour+time.Minute), 7000, "THB", "chrg_dead", ""), true)
	sentEvent(t, db, payment("ev_new", "opn", now.Add(-24*time.Hour), 9000, "THB", "chrg_new", ""), false)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--before", "2026-01-01", "--older-than", "30d"}, "give --before or --older-than, not both"},
		{[]string{"--older-than", "0d"}, "--older-than: \"0d\" is not positive"},
		{[]string{"--older-than", "90"}, "--older-than: \"90\" is not a length of time"},
		{[]string{"--before", "2999-01-01"}, "--before 2999-01-01 is not in the past"},
		{[]string{"--before", "yesterday"}, "--before: \"yesterday\" is not a time"},
	} {
		r := run(t, path, "", append([]string{"storage", "purge"}, tc.args...)...)
		require.Equal(t, 1, r.code, tc.args)
		require.Contains(t, r.stderr, tc.want, tc.args)
	}

	// A dry run counts and changes nothing.
	r := run(t, path, "", "storage", "purge", "--dry-run", "--older-than", "30d")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "dry run: nothing is changed")
	require.Contains(t, r.stdout, "(--older-than 30d)")
	require.Regexp(t, `raw bodies and headers would purge +1 events \(\d+ B\)`, r.stdout)
	require.Regexp(t, `kept \(deliveries not all sent, or not routed\) +1 events`, r.stdout)
	require.Regexp(t, `delivery attempts would purge +1\n`, r.stdout)
	r = run(t, path, "", "events", "show", "ev_old")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `raw body +\d+ bytes, 1 headers kept`, r.stdout)

	// The purge, with storage.retention's default of 90 days.
	r = run(t, path, "", "storage", "purge")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "(storage.retention 90d)")
	require.Regexp(t, `raw bodies and headers purged +1 events`, r.stdout)
	require.Regexp(t, `delivery attempts purged +1\n`, r.stdout)
	require.Regexp(t, `space given back: .* \(database file .* → .*\)`, r.stdout)

	r = run(t, path, "", "events", "show", "ev_old")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `raw body +purged by retention on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(the fields above are kept\)`, r.stdout)
	require.Regexp(t, `amount +THB 50\.00`, r.stdout, "the canonical event stays")
	r = run(t, path, "", "events", "show", "ev_old", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var j map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &j))
	require.Contains(t, j, "body_purged_at")
	require.EqualValues(t, 5000, j["amount"])
	for _, id := range []string{"ev_dead", "ev_new"} {
		r = run(t, path, "", "events", "show", id)
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `raw body +\d+ bytes`, r.stdout, id)
	}
	r = run(t, path, "", "events", "list")
	require.Equal(t, 0, r.code, r.stderr)
	for _, id := range []string{"ev_old", "ev_dead", "ev_new"} {
		require.Contains(t, r.stdout, id)
	}

	// A replay of a purged event still works, and says so.
	r = run(t, path, "", "replay", "ev_old")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "note: the raw body of event ev_old was purged by retention on")

	// Nothing more the second time; the database is already incremental.
	r = run(t, path, "", "storage", "purge")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `raw bodies and headers purged +0 events`, r.stdout)
	r = run(t, path, "", "storage", "vacuum")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "already incremental: nothing to do")
}

// TestStoragePurgeSlowsDownForArrivingWebhooks: while events arrive (here
// one stamped half a minute ahead, as a replica with a fast clock would) the
// purge waits between batches and says so; --full-pace does not.
func TestStoragePurgeSlowsDownForArrivingWebhooks(t *testing.T) {
	for _, tc := range []struct {
		args []string
		slow bool
	}{
		{nil, true},
		{[]string{"--full-pace"}, false},
	} {
		dir, path := writeConfig(t, secretlessConfig("@DIR@"))
		db := filepath.Join(dir, "bankbot.db")
		now := time.Now()
		for i, id := range []string{"ev_a", "ev_b", "ev_c"} {
			sentEvent(t, db, payment(id, "opn", now.Add(-100*24*time.Hour+time.Duration(i)*time.Minute), 5000, "THB", "chrg_"+id, ""), false)
		}
		st, err := store.OpenSQLite(context.Background(), db)
		require.NoError(t, err)
		_, err = st.InsertEvent(context.Background(), payment("ev_now", "opn", now.Add(30*time.Second), 9000, "THB", "chrg_now", ""))
		require.NoError(t, err)
		require.NoError(t, st.Close())
		r := run(t, path, "", append([]string{"storage", "purge", "--batch", "1"}, tc.args...)...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `raw bodies and headers purged +3 events`, r.stdout)
		if tc.slow {
			require.Regexp(t, `slowed down for arriving webhooks +\d+ times \(writing \S+, waiting \S+\)`, r.stdout)
		} else {
			require.NotContains(t, r.stdout, "slowed down")
		}
	}
}
