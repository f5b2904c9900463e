package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// accountStore is what the account_rev tests need of a store.
type accountStore interface {
	testStore
	Strings(ctx context.Context, q string, args ...any) ([]string, error)
	StopAccountFill()
	WaitAccountFill() error
	FillAccounts(ctx context.Context) (int, error)
	SetPaceSleep(f func(context.Context, time.Duration) error)
}

// accountDrivers runs fn against SQLite and, when configured, PostgreSQL;
// open(version) opens one database at that schema version (0: the latest),
// the same database on every call.
func accountDrivers(t *testing.T, fn func(t *testing.T, open func(version int) accountStore)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bankbot.db")
		fn(t, func(version int) accountStore {
			var s *store.SQLite
			var err error
			if version == 0 {
				s, err = store.OpenSQLite(t.Context(), path)
			} else {
				s, err = store.OpenSQLiteAt(t.Context(), path, version)
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(postgresDSNEnv) == "" {
			t.Skipf("%s not set", postgresDSNEnv)
		}
		dsn := pgSchema(t)
		fn(t, func(version int) accountStore {
			var s *store.Postgres
			var err error
			if version == 0 {
				s, err = store.OpenPostgres(t.Context(), dsn)
			} else {
				s, err = store.OpenPostgresAt(t.Context(), dsn, version)
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
}

var accountBase = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

// accountFixture: one event a minute, evt_a0 the oldest, with these
// accounts (separators, case, letters and digits beyond ASCII, none).
var accountFixture = []string{
	"123-4-56789-0",               // evt_a0: 1234567890
	"xxxx1234",                    // evt_a1
	"",                            // evt_a2: no account
	"DE89 3704 0044 0532 0130 00", // evt_a3: ends with 013000
	"ÄBC-١٢٣٤",                    // evt_a4: äbc and Arabic-Indic 1234
	"acct_AbC9",                   // evt_a5
	"9-1234",                      // evt_a6
}

// accountRevs is account_rev of accountFixture, by id.
var accountRevs = []string{"0987654321", "4321xxxx", "", "00031023504400407398ed", "٤٣٢١cbä", "9cbatcca", "43219"}

func insertAccounts(t *testing.T, s store.Store) {
	t.Helper()
	for i, acct := range accountFixture {
		e := sampleEvent(fmt.Sprintf("evt_a%d", i), fmt.Sprintf("p_a%d", i))
		e.ReceivedAt = accountBase.Add(time.Duration(i) * time.Minute)
		e.Event.Account = acct
		e.Event.Reference = fmt.Sprintf("ref_a%d", i)
		e.Event.Amount = int64(100 + i)
		_, err := s.InsertEvent(t.Context(), e)
		require.NoError(t, err)
	}
}

func accountRevsOf(t *testing.T, s accountStore) []string {
	t.Helper()
	got, err := s.Strings(t.Context(), `SELECT account_rev FROM events ORDER BY id`)
	require.NoError(t, err)
	return got
}

// checkAccountSearches runs the searches by account digits (alone and with
// text or amounts) through FindEvents and PageEvents: the results are the
// same whichever way the store reads them (index, walk, event by event).
func checkAccountSearches(t *testing.T, s store.Store) {
	t.Helper()
	at := func(m int) time.Time { return accountBase.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		s    store.EventSearch
		want []string
	}{
		{"last four", store.EventSearch{AccountDigits: "1234"}, []string{"evt_a6", "evt_a1"}},
		{"separators ignored", store.EventSearch{AccountDigits: "56789-0"}, []string{"evt_a0"}},
		{"the whole account", store.EventSearch{AccountDigits: "9-1234"}, []string{"evt_a6"}},
		{"a longer tail than any account", store.EventSearch{AccountDigits: "0123456789-1234"}, []string{}},
		{"case ignored", store.EventSearch{AccountDigits: "ABC9"}, []string{"evt_a5"}},
		{"not ASCII", store.EventSearch{AccountDigits: "c ١٢٣٤"}, []string{"evt_a4"}},
		{"one digit", store.EventSearch{AccountDigits: "0"}, []string{"evt_a3", "evt_a0"}},
		{"no match", store.EventSearch{AccountDigits: "4444"}, []string{}},
		{"in the window", store.EventSearch{AccountDigits: "1234", Until: at(6)}, []string{"evt_a1"}},
		{"or text", store.EventSearch{AccountDigits: "7890", Text: "ref_a5"}, []string{"evt_a5", "evt_a0"}},
		{"or amount", store.EventSearch{AccountDigits: "7890", Amounts: []int64{103, 999}}, []string{"evt_a3", "evt_a0"}},
		{"limit", store.EventSearch{AccountDigits: "1234", Limit: 1}, []string{"evt_a6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindEvents(t.Context(), tc.s)
			require.NoError(t, err)
			require.Equal(t, tc.want, ids(got), "FindEvents")
			res, err := s.PageEvents(t.Context(), store.EventPage{Since: tc.s.Since, Until: tc.s.Until, Search: &tc.s, Limit: tc.s.Limit})
			require.NoError(t, err)
			require.Equal(t, tc.want, ids(res.Events), "PageEvents")
		})
	}
	// A page after a cursor, and one by source.
	res, err := s.PageEvents(t.Context(), store.EventPage{Search: &store.EventSearch{AccountDigits: "1234"},
		After: store.EventCursor{ReceivedAt: at(6), ID: "evt_a6"}})
	require.NoError(t, err)
	require.Equal(t, []string{"evt_a1"}, ids(res.Events))
	res, err = s.PageEvents(t.Context(), store.EventPage{Source: "nope", Search: &store.EventSearch{AccountDigits: "1234"}})
	require.NoError(t, err)
	require.Empty(t, res.Events)
}

func ids(es []store.StoredEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// TestAccountRev: the insert fills account_rev; searches by account digits
// find the same events through the index, through the walk of the window
// (many matches), and event by event while a row is not backfilled; the
// backfill fills exactly the rows without it.
func TestAccountRev(t *testing.T) {
	accountDrivers(t, func(t *testing.T, open func(int) accountStore) {
		s := open(0)
		insertAccounts(t, s)
		require.Equal(t, accountRevs, accountRevsOf(t, s), "InsertEvent fills account_rev")

		t.Run("index", func(t *testing.T) { checkAccountSearches(t, s) })
		t.Run("walk", func(t *testing.T) {
			defer store.SetAccountDense(1)()
			checkAccountSearches(t, s)
		})

		// Two rows as stored before migration 0011.
		s.StopAccountFill()
		require.NoError(t, s.Exec(t.Context(), `UPDATE events SET account_rev = NULL WHERE id IN ('evt_a1', 'evt_a4')`))
		nulled := append([]string(nil), accountRevs...)
		nulled[1], nulled[4] = "<null>", "<null>"
		require.Equal(t, nulled, accountRevsOf(t, s))
		t.Run("not backfilled", func(t *testing.T) { checkAccountSearches(t, s) })

		n, err := s.FillAccounts(t.Context())
		require.NoError(t, err)
		require.Equal(t, 2, n, "only the rows without account_rev")
		require.Equal(t, accountRevs, accountRevsOf(t, s))
		t.Run("backfilled", func(t *testing.T) { checkAccountSearches(t, s) })
		n, err = s.FillAccounts(t.Context())
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// TestAccountRevWalkScanLimit: a search whose digits match many events
// walks the window and, like the event-by-event read, stops after
// ScanLimit events and says where; the next call goes on from there.
func TestAccountRevWalkScanLimit(t *testing.T) {
	defer store.SetAccountDense(1)()
	accountDrivers(t, func(t *testing.T, open func(int) accountStore) {
		s := open(0)
		insertAccounts(t, s)
		at := func(m int) time.Time { return accountBase.Add(time.Duration(m) * time.Minute) }
		digits := &store.EventSearch{AccountDigits: "7890"} // evt_a0 only
		res, err := s.PageEvents(t.Context(), store.EventPage{Search: digits, ScanLimit: 4})
		require.NoError(t, err)
		require.Empty(t, res.Events, "evt_a6 to evt_a3 read, none matches")
		require.Equal(t, store.EventCursor{ReceivedAt: at(3), ID: "evt_a3"}, res.Next)
		res, err = s.PageEvents(t.Context(), store.EventPage{Search: digits, ScanLimit: 4, After: res.Next})
		require.NoError(t, err)
		require.Equal(t, []string{"evt_a0"}, ids(res.Events))
		require.True(t, res.Next.IsZero(), "the window's end")
	})
}

// TestAccountRevConfirmReplace: when the confirmation replaces the stored
// event, account_rev follows its account.
func TestAccountRevConfirmReplace(t *testing.T) {
	accountDrivers(t, func(t *testing.T, open func(int) accountStore) {
		s := open(0)
		e := sampleEvent("evt_c", "p_c")
		e.Event.Account = "111-2222"
		e.Confirmation = store.ConfirmUnconfirmed
		_, err := s.InsertEvent(t.Context(), e)
		require.NoError(t, err)
		ev := e.Event
		ev.Account, ev.Kind = "333-4444", bankhooks.KindPaymentFailed
		require.NoError(t, s.ConfirmEvent(t.Context(), store.ConfirmedEvent{EventID: "evt_c", Status: store.ConfirmConfirmed,
			Event: &ev, Now: e.ReceivedAt.Add(time.Minute)}))
		require.Equal(t, []string{"4444333"}, accountRevsOf(t, s))
		got, err := s.FindEvents(t.Context(), store.EventSearch{AccountDigits: "4444"})
		require.NoError(t, err)
		require.Equal(t, []string{"evt_c"}, ids(got))
		got, err = s.FindEvents(t.Context(), store.EventSearch{AccountDigits: "2222"})
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

// TestAccountRevMigrate: events stored at schema 0010 get account_rev from
// the backfill the open at 0011 starts (in batches); until then a search
// finds them event by event.
func TestAccountRevMigrate(t *testing.T) {
	defer store.SetAccountFillBatch(3)()
	accountDrivers(t, func(t *testing.T, open func(int) accountStore) {
		old := open(10)
		insertAccounts(t, old)
		require.NoError(t, old.Close())

		s := open(0)
		require.NoError(t, s.WaitAccountFill())
		require.Equal(t, accountRevs, accountRevsOf(t, s), "the backfill filled every row, a batch of 3 at a time")
		checkAccountSearches(t, s)
	})
}

// TestAccountRevFillYieldsToIngest: while events arrive (the newest was
// received less than 2 s ago, here one stamped ahead) the backfill waits
// after each batch; on a quiet store it does not.
func TestAccountRevFillYieldsToIngest(t *testing.T) {
	defer store.SetAccountFillBatch(1)()
	accountDrivers(t, func(t *testing.T, open func(int) accountStore) {
		s := open(0)
		insertAccounts(t, s)
		require.NoError(t, s.WaitAccountFill())
		s.StopAccountFill()
		var waits []time.Duration
		s.SetPaceSleep(func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil })
		unfill := func() {
			require.NoError(t, s.Exec(t.Context(), `UPDATE events SET account_rev = NULL WHERE id IN ('evt_a1', 'evt_a2', 'evt_a4')`))
		}

		unfill()
		n, err := s.FillAccounts(t.Context())
		require.NoError(t, err)
		require.Equal(t, 3, n)
		require.Empty(t, waits, "quiet: the newest event is days old")

		e := sampleEvent("evt_now", "p_now")
		e.ReceivedAt = time.Now().Add(30 * time.Second) // ahead of the clock: counts as just received
		_, err = s.InsertEvent(t.Context(), e)
		require.NoError(t, err)
		unfill()
		n, err = s.FillAccounts(t.Context())
		require.NoError(t, err)
		require.Equal(t, 3, n)
		require.Len(t, waits, 3, "busy: a wait after each of the three batches that filled a row")
		for _, w := range waits {
			require.Positive(t, w)
		}
		require.Equal(t, accountRevs, accountRevsOf(t, s)[:len(accountRevs)])
	})
}

// TestAccountRevLazyFill: a search that meets a row without account_rev
// (an older binary still inserting, during a rolling upgrade) finds it event
// by event and starts the backfill, which fills it.
func TestAccountRevLazyFill(t *testing.T) {
	accountDrivers(t, func(t *testing.T, open func(int) accountStore) {
		s := open(0)
		insertAccounts(t, s)
		require.NoError(t, s.WaitAccountFill())
		require.NoError(t, s.Exec(t.Context(), `UPDATE events SET account_rev = NULL WHERE id = 'evt_a6'`))
		got, err := s.FindEvents(t.Context(), store.EventSearch{AccountDigits: "1234"})
		require.NoError(t, err)
		require.Equal(t, []string{"evt_a6", "evt_a1"}, ids(got))
		require.NoError(t, s.WaitAccountFill())
		require.Equal(t, accountRevs, accountRevsOf(t, s), "the search started the backfill")
	})
}
