package store_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
	"github.com/bankbot/bankbot/store/storetest"
)

// postgresDSNEnv names the PostgreSQL the tests may use; without it they skip.
const postgresDSNEnv = storetest.PostgresDSNEnv

// pgSchema and withDSNParam: storetest's, shared with the other packages'
// PostgreSQL tests.
var (
	pgSchema     = storetest.PostgresSchema
	withDSNParam = storetest.WithDSNParam
)

func openPostgres(t testing.TB, dsn string) *store.Postgres {
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

// raceSendBudget has racers goroutines, spread over the given stores,
// reserve one send each of robot at one instant under a limit per minute,
// and checks that exactly limit were granted, each slot once.
func raceSendBudget(t *testing.T, stores []store.Store, robot string, racers, limit int) {
	t.Helper()
	now := time.Date(2026, 5, 17, 1, 2, 3, 0, time.UTC)
	q := store.BudgetQuery{Robot: robot, Now: now, Rules: []store.SendRule{{Window: time.Minute, Limit: limit}}}
	ids := make([]int64, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			ids[i], _, errs[i] = stores[i%len(stores)].ReserveSend(t.Context(), q, now.Add(10*time.Second), fmt.Sprint("m", i))
		})
	}
	close(start)
	wg.Wait()
	granted := map[int64]bool{}
	for i := range racers {
		require.NoError(t, errs[i])
		if ids[i] != 0 {
			require.False(t, granted[ids[i]], "slot %d granted twice", ids[i])
			granted[ids[i]] = true
		}
	}
	require.Len(t, granted, limit, "exactly the limit is granted across stores")
	for _, s := range stores {
		got, err := s.RobotSends(t.Context(), robot, time.Time{})
		require.NoError(t, err)
		require.Len(t, got, limit, "every store sees the same sends")
		b, err := s.SendBudget(t.Context(), q)
		require.NoError(t, err)
		require.Equal(t, store.Budget{NextAt: now.Add(10*time.Second + time.Minute)}, b)
	}
}

// Two stores on one database stand for two replicas (two pools): racing for
// one robot's sends they are granted exactly the limit in total, round
// after round.
func TestPostgresReplicasShareSendBudget(t *testing.T) {
	dsn := pgSchema(t)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	for round := range 5 {
		raceSendBudget(t, []store.Store{a, b}, fmt.Sprint("bot-", round), 50, 20)
	}
}

// Two replicas noticing the same robot state at once: one of them (and one
// goroutine) sees the change, so one ops alert is sent.
func TestPostgresReplicasRobotStateOnce(t *testing.T) {
	dsn := pgSchema(t)
	stores := []*store.Postgres{openPostgres(t, dsn), openPostgres(t, dsn)}
	for round, state := range []string{"paused", store.RobotOK, "misconfigured"} {
		const callers = 32
		changed := make([]bool, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				changed[i], _, errs[i] = stores[i%2].SetRobotState(t.Context(), "bot", state, "", time.Now())
			})
		}
		close(start)
		wg.Wait()
		n := 0
		for i := range callers {
			require.NoError(t, errs[i])
			if changed[i] {
				n++
			}
		}
		require.Equal(t, 1, n, "round %d (%s): exactly one change", round, state)
	}
}

// TestPostgresMigrate0003 migrates a populated schema-2 database.
func TestPostgresMigrate0003(t *testing.T) {
	dsn := pgSchema(t)
	old, err := store.OpenPostgresAt(t.Context(), dsn, 2)
	require.NoError(t, err)
	ids := populateV2(t, old)
	require.NoError(t, old.Close())

	s := openPostgres(t, dsn)
	idx, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer idx.Close(t.Context())
	rows, err := idx.Query(t.Context(), `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'deliveries' ORDER BY 1`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"deliveries_due", "deliveries_event_id_route_key", "deliveries_message", "deliveries_pkey", "deliveries_sent_at"}, names,
		"deliveries_status is gone")
	checkMigrated(t, s, ids)
}

// TestPostgresQueryPlans explains the generic plan of every statement the
// store runs with sequential scans disabled: none reads a whole table
// unless it lists everything.
func TestPostgresQueryPlans(t *testing.T) {
	s := openPostgres(t, pgSchema(t))
	checkPlans(t, s, regexp.MustCompile(`Seq Scan on (events|deliveries|delivery_attempts|robot_sends|robot_state|chat_messages|chat_audit|event_acks|slips)\b`), map[string]string{
		"claim":                                  "deliveries_due",
		"unrouted events":                        "events_unrouted",
		"list events window":                     "events_received",
		"list events by provider id":             "events_provider_event_id",
		"find events":                            "events_received",
		"find events by account, not backfilled": "events_received",
		"find events by account":                 "Index Scan using events_account_rev on events",
		"find events by account or text":         "Bitmap Index Scan on events_account_rev",
		"find events by account, walk":           "Index Scan Backward using events_received",
		"page events by account":                 "Index Scan using events_account_rev on events",
		"page events by account or text":         "Bitmap Index Scan on events_account_rev",
		"page events by account, walk":           "Index Scan Backward using events_received",
		"page events by account, not backfilled": "Index Scan Backward using events_received",
		"account unfilled":                       "Index Only Scan using events_account_rev",
		"account count":                          "Index Only Scan using events_account_rev",
		"unfilled accounts":                      "Index Scan using events_account_rev",
		"fill account":                           "events_pkey",
		"replace event":                          "events_pkey",
		"transition many":                        "deliveries_pkey",
		"insert attempts":                        "deliveries_pkey",
		"assign message":                         "deliveries_pkey",
		"list by message":                        "deliveries_message",
		"requeue event":                          "deliveries_event_id_route_key",
		"budget state":                           "robot_sends_robot_at",
		"prune sends":                            "robot_sends_robot_at",
		"robot state":                            "robot_state_pkey",
		"stamp send":                             "robot_sends_pkey",
		"list audit window":                      "chat_audit_at",
		"list audit by sender":                   "chat_audit_sender",
		"list audit by conversation":             "chat_audit_conversation",
		"get ack":                                "event_acks_pkey",
		"list unacked":                           "events_received",
		"get slip":                               "slips_pkey",
		"page events by source":                  "events_source_received",
		"source count":                           "events_source_received",
		"source times":                           "events_source_received",
	})
}

func TestPostgresPoolSize(t *testing.T) {
	for _, tc := range []struct{ cpus, want int }{{1, 16}, {2, 16}, {4, 16}, {5, 20}, {8, 32}, {64, 256}} {
		require.Equal(t, tc.want, store.DefaultPoolSize(tc.cpus), "%d CPUs", tc.cpus)
	}
	dsn := pgSchema(t)
	require.Equal(t, store.DefaultPoolSize(runtime.NumCPU()), openPostgres(t, dsn).PoolMaxConns())
	require.Equal(t, 3, openPostgres(t, withDSNParam(t, dsn, "pool_max_conns", "3")).PoolMaxConns(), "the DSN overrides the default")
}
