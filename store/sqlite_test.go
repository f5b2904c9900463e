package store_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
	"github.com/bankbot/bankbot/store/storetest"
)

func openSQLiteFile(t *testing.T, path string) *store.SQLite {
	t.Helper()
	s, err := store.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSQLiteContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		// A parent directory that does not exist yet: OpenSQLite creates it.
		return openSQLiteFile(t, filepath.Join(t.TempDir(), "data", "nested", "bankbot.db"))
	})
}

func TestSQLiteMemoryContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLiteFile(t, ":memory:")
	})
}

func sampleEvent(id, providerID string) store.NewEvent {
	return store.NewEvent{
		ID:     id,
		Source: "opn",
		Event: bankhooks.Event{
			Provider: "omise", ID: providerID, Type: "charge.complete",
			Kind: bankhooks.KindPaymentSucceeded, Amount: 123456, Currency: "THB",
			OccurredAt: time.Date(2026, 5, 17, 1, 2, 3, 0, time.UTC),
		},
		ReceivedAt: time.Date(2026, 5, 17, 1, 2, 4, 0, time.UTC),
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       []byte{'{', 0xff, 0x00, '}'},
	}
}

func countRows(t *testing.T, path, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

func TestSQLiteReopenIsNoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bankbot.db")
	s, err := store.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	_, err = s.InsertEvent(t.Context(), sampleEvent("evt_1", "p1"))
	require.NoError(t, err)
	v1, err := s.SchemaVersion(t.Context())
	require.NoError(t, err)
	require.Positive(t, v1)
	require.NoError(t, s.Close())

	for range 2 {
		s = openSQLiteFile(t, path)
		v, err := s.SchemaVersion(t.Context())
		require.NoError(t, err)
		require.Equal(t, v1, v)
		got, err := s.GetEvent(t.Context(), "evt_1")
		require.NoError(t, err)
		require.Equal(t, []byte{'{', 0xff, 0x00, '}'}, got.Body)
		require.NoError(t, s.Close())
	}
	require.Equal(t, store.MigrationCount("sqlite"), countRows(t, path, "schema_migrations"), "one row per migration, applied once")
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bankbot.db")
	s, err := store.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = store.OpenSQLite(t.Context(), path)
	require.ErrorContains(t, err, "newer than this binary")
	require.NotErrorIs(t, err, store.ErrUnavailable)
}

func TestSQLiteOpenErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, []byte("not a directory"), 0o600))
	notADB := filepath.Join(dir, "garbage.db")
	require.NoError(t, os.WriteFile(notADB, []byte(strings.Repeat("this is not an sqlite database ", 200)), 0o600))
	tests := []struct {
		name string
		path string
		want error
	}{
		{"empty path", "", store.ErrInvalid},
		{"uri form", "file:x.db", store.ErrInvalid},
		{"query in path", "x.db?mode=ro", store.ErrInvalid},
		{"parent is a file", filepath.Join(blocker, "bankbot.db"), store.ErrUnavailable},
		{"not a database", notADB, store.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.OpenSQLite(t.Context(), tc.path)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, s)
		})
	}
}

func TestSQLitePragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bankbot.db")
	openSQLiteFile(t, path)
	_, err := os.Stat(path + "-wal")
	require.NoError(t, err, "WAL mode keeps a -wal file beside the database")
}

// Durability: a child process (this test binary, re-executed) commits an
// event and then dies without Close, either by os.Exit or by SIGKILL while it
// holds a second, uncommitted write transaction. The parent must read the
// committed event back, must not see the uncommitted one, and must be able to
// write at once (the dead process's lock is gone).
const (
	childPathEnv = "BANKBOT_STORE_CHILD_DB"
	childModeEnv = "BANKBOT_STORE_CHILD_MODE"
)

func TestSQLiteDurableAfterKill(t *testing.T) {
	if path := os.Getenv(childPathEnv); path != "" {
		durabilityChild(path, os.Getenv(childModeEnv))
		return
	}
	for _, mode := range []string{"exit", "sigkill"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bankbot.db")
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSQLiteDurableAfterKill$", "-test.count=1")
			cmd.Env = append(os.Environ(), childPathEnv+"="+path, childModeEnv+"="+mode)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			line, err := readLine(out, "committed ")
			require.NoError(t, err)
			require.Equal(t, "committed evt_durable", line)
			if mode == "sigkill" {
				require.NoError(t, cmd.Process.Kill())
			}
			err = cmd.Wait()
			if mode == "exit" {
				require.NoError(t, err)
			}

			s := openSQLiteFile(t, path)
			got, err := s.GetEvent(t.Context(), "evt_durable")
			require.NoError(t, err)
			require.Equal(t, sampleEvent("evt_durable", "p_durable").Body, got.Body)
			_, err = s.GetEvent(t.Context(), "evt_uncommitted")
			require.ErrorIs(t, err, store.ErrNotFound)

			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			res, err := s.InsertEvent(ctx, sampleEvent("evt_after", "p_after"))
			require.NoError(t, err)
			require.False(t, res.Duplicate)
		})
	}
}

func readLine(r interface{ Read([]byte) (int, error) }, prefix string) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return sc.Text(), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("child ended without reporting a commit")
}

func durabilityChild(path, mode string) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	if _, err := s.InsertEvent(ctx, sampleEvent("evt_durable", "p_durable")); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	if mode == "sigkill" {
		// Hold an open write transaction on a second connection.
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_txlock=immediate")
		if err == nil {
			var tx *sql.Tx
			if tx, err = db.BeginTx(ctx, nil); err == nil {
				_, err = tx.ExecContext(ctx, `INSERT INTO events (id, source, provider_event_id, received_at, body, event)
					VALUES ('evt_uncommitted', 'opn', 'p_uncommitted', 0, x'', '{}')`)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
	}
	fmt.Println("committed evt_durable")
	if mode == "exit" {
		os.Exit(0) // no Close: nothing after the commit runs
	}
	time.Sleep(time.Minute) // the parent kills us first
	os.Exit(3)
}

// TestSQLiteSynchronousFsync measures, with strace, how many fsync calls a
// commit costs under synchronous=FULL and NORMAL in WAL mode: FULL fsyncs the
// WAL at every commit (durable across power loss); NORMAL does not (the
// commit sits in the OS page cache until a checkpoint). It skips where strace
// is missing or not permitted.
const fsyncChildEnv = "BANKBOT_STORE_FSYNC_CHILD"

func TestSQLiteSynchronousFsync(t *testing.T) {
	if spec := os.Getenv(fsyncChildEnv); spec != "" {
		fsyncChild(spec)
		return
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed")
	}
	if err := exec.CommandContext(t.Context(), strace, "-o", os.DevNull, "true").Run(); err != nil {
		t.Skipf("strace cannot trace here: %v", err)
	}
	count := func(level string, inserts int) int {
		dir := t.TempDir()
		trace := filepath.Join(dir, "trace")
		cmd := exec.CommandContext(t.Context(), strace, "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", trace,
			os.Args[0], "-test.run=^TestSQLiteSynchronousFsync$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%s,%d", fsyncChildEnv, filepath.Join(dir, "bankbot.db"), level, inserts))
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Run())
		b, err := os.ReadFile(trace)
		require.NoError(t, err)
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "fsync(") || strings.Contains(l, "fdatasync(") {
				n++
			}
		}
		return n
	}
	const commits = 40
	for _, tc := range []struct {
		level       string
		durableEach bool
	}{{"FULL", true}, {"NORMAL", false}} {
		t.Run(tc.level, func(t *testing.T) {
			perCommit := float64(count(tc.level, commits)-count(tc.level, 0)) / commits
			t.Logf("synchronous=%s: %.2f fsync per commit", tc.level, perCommit)
			if tc.durableEach {
				require.GreaterOrEqual(t, perCommit, 1.0, "every commit must reach the disk")
			} else {
				require.Less(t, perCommit, 0.5, "NORMAL skips the per-commit fsync")
			}
		})
	}
}

func fsyncChild(spec string) {
	var (
		path, level string
		inserts     int
	)
	parts := strings.Split(spec, ",")
	path, level = parts[0], parts[1]
	if _, err := fmt.Sscan(parts[2], &inserts); err != nil {
		os.Exit(2)
	}
	ctx := context.Background()
	s, err := store.OpenSQLiteSynchronous(ctx, path, level)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	for i := range inserts {
		if _, err := s.InsertEvent(ctx, sampleEvent(fmt.Sprintf("evt_%d", i), fmt.Sprintf("p_%d", i))); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
	}
	os.Exit(0) // no Close: Close's checkpoint would add fsyncs of its own
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// TestSQLiteMigrate0003 migrates a populated schema-2 database (deliveries
// with AUTOINCREMENT) to the current schema: every row and attempt is kept
// under its id, foreign keys still hold, and the rebuilt table has no
// AUTOINCREMENT and only the indexes its queries use.
func TestSQLiteMigrate0003(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bankbot.db")
	old, err := store.OpenSQLiteAt(t.Context(), path, 2)
	require.NoError(t, err)
	ids := populateV2(t, old)
	require.NoError(t, old.Close())

	s := openSQLiteFile(t, path)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	strs := func(q string) []string {
		t.Helper()
		rs, err := db.QueryContext(t.Context(), q)
		require.NoError(t, err)
		defer rs.Close()
		cols, err := rs.Columns()
		require.NoError(t, err)
		var out []string
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rs.Scan(ptrs...))
			out = append(out, fmt.Sprint(vals...))
		}
		require.NoError(t, rs.Err())
		return out
	}
	require.Empty(t, strs(`PRAGMA foreign_key_check`), "no attempt row lost its delivery, no delivery its event")
	require.Equal(t, []string{"ok"}, strs(`PRAGMA integrity_check`))
	ddl := strs(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'deliveries'`)
	require.Len(t, ddl, 1)
	require.NotContains(t, strings.ToUpper(ddl[0]), "AUTOINCREMENT")
	require.Empty(t, strs(`SELECT name FROM sqlite_sequence WHERE name = 'deliveries'`))
	require.Equal(t, []string{"deliveries"}, strs(`SELECT "table" FROM pragma_foreign_key_list('delivery_attempts')`))
	require.Equal(t, []string{"deliveries_due", "deliveries_message", "deliveries_sent_at", "sqlite_autoindex_deliveries_1"},
		strs(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'deliveries' ORDER BY name`),
		"deliveries_status is gone; the UNIQUE (event_id, route) index stays")
	require.Empty(t, strs(`SELECT name FROM sqlite_schema WHERE name LIKE '%_new' OR name LIKE '%_copy'`), "no leftover of the rebuild")

	checkMigrated(t, s, ids)
	require.Empty(t, strs(`PRAGMA foreign_key_check`))
}

// TestSQLiteQueryPlans explains every statement the store runs: none reads
// a whole table unless it lists everything, and the batch updates look
// their ids up by primary key.
func TestSQLiteQueryPlans(t *testing.T) {
	s := openSQLiteFile(t, filepath.Join(t.TempDir(), "bankbot.db"))
	checkPlans(t, s, regexp.MustCompile(`^SCAN (events|deliveries|delivery_attempts|robot_sends|robot_state|chat_messages|chat_audit|event_acks|slips)$`), map[string]string{
		"claim":                                  "USING INDEX deliveries_due",
		"unrouted events":                        "USING INDEX events_unrouted",
		"list events window":                     "events_received (received_at>? AND received_at<?)",
		"list events by provider id":             "events_provider_event_id (provider_event_id=?)",
		"find events":                            "SEARCH events USING INDEX events_amount (amount=?)",
		"find events by account, not backfilled": "events_received (received_at>? AND received_at<?)",
		"find events by account":                 "SEARCH events USING INDEX events_account_rev (account_rev>? AND account_rev<?)",
		"find events by account or text":         "SEARCH events USING INDEX events_account_rev (account_rev>? AND account_rev<?)",
		"find events by account, walk":           "events_received (received_at>? AND received_at<?)",
		"page events by account":                 "SEARCH events USING INDEX events_account_rev (account_rev>? AND account_rev<?)",
		"page events by account or text":         "SEARCH events USING INDEX events_account_rev (account_rev>? AND account_rev<?)",
		"page events by account, walk":           "events_received ((received_at,id)<(?,?))",
		"page events by account, not backfilled": "events_received ((received_at,id)<(?,?))",
		"account unfilled":                       "COVERING INDEX events_account_rev (account_rev=?)",
		"account count":                          "COVERING INDEX events_account_rev (account_rev>? AND account_rev<?)",
		"unfilled accounts":                      "events_account_rev (account_rev=?)",
		"fill account":                           "(id=?)",
		"replace event":                          "(id=?)",
		"transition many":                        "SEARCH deliveries USING INTEGER PRIMARY KEY",
		"insert attempts":                        "SEARCH deliveries USING INTEGER PRIMARY KEY",
		"assign message":                         "SEARCH deliveries USING INTEGER PRIMARY KEY",
		"list by message":                        "USING INDEX deliveries_message",
		"list by event":                          "sqlite_autoindex_deliveries_1 (event_id=?)",
		"requeue event":                          "sqlite_autoindex_deliveries_1 (event_id=?)",
		"stats":                                  "deliveries_due (status=?)",
		"outbox robots":                          "deliveries_due (status=?)",
		"budget state":                           "robot_sends_robot_at (robot=? AND at>?)",
		"prune sends":                            "robot_sends_robot_at (robot=? AND at<?)",
		"robot sends":                            "robot_sends_robot_at (robot=? AND at>?)",
		"robot sends all":                        "robot_sends_robot_at (robot=?)",
		"get delivery":                           "INTEGER PRIMARY KEY",
		"event by key":                           "(source=? AND provider_event_id=?)",
		"attempts":                               "(delivery_id=?)",
		"robot state":                            "(robot=?)",
		"stamp send":                             "INTEGER PRIMARY KEY",
		"delivery status":                        "INTEGER PRIMARY KEY",
		"set robot reason":                       "(robot=?)",
		"list audit window":                      "chat_audit_at (at>? AND at<?)",
		"list audit by sender":                   "chat_audit_sender (sender_id=? AND at>?)",
		"list audit by conversation":             "chat_audit_conversation (conversation_id=?)",
		"get ack":                                "(event_id=?)",
		"list unacked":                           "events_received (received_at>?)",
		"get slip":                               "(sending_bank=? AND reference=?)",
		"page events cursor":                     "events_received",
		"page events by source":                  "events_source_received (source=?",
		"source last":                            "events_source_received",
		"source count":                           "events_source_received (source=? AND received_at>?)",
		"source times":                           "COVERING INDEX events_source_received (source=? AND received_at>? AND received_at<?)",
		"robot sent":                             "deliveries_sent_at (sent_at>?)",
		"robot depth":                            "deliveries_due (status=?)",
	})
}

// TestSQLiteStoresShareSendBudget: two stores on one file (the server and
// the CLI, or two processes) racing for the same robot's sends are
// serialised by BEGIN IMMEDIATE and grant exactly the limit in total.
func TestSQLiteStoresShareSendBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bankbot.db")
	stores := []*store.SQLite{openSQLiteFile(t, path), openSQLiteFile(t, path)}
	raceSendBudget(t, []store.Store{stores[0], stores[1]}, "bot", 50, 20)
}
