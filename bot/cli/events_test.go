package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// secretlessConfig is goodConfig with every secret in a variable that is not
// set where the CLI runs (it is set only in the service's environment).
func secretlessConfig(dir string) string {
	cfg := goodConfig(dir, "  ops:\n    webhook: \"${DINGTALK_WEBHOOK}\"\n    secret: \"${DINGTALK_SECRET}\"\n")
	for _, k := range []string{opnKey, stripeKey, swKey} {
		cfg = strings.Replace(cfg, "{value: "+k+"}", `{value: "${HOOK_SECRET}"}`, 1)
	}
	return cfg + "timezone: UTC\n"
}

// putEvent stores e with one delivery per robot (routes "to-ROBOT"), all
// claimed, and returns the delivery ids.
func putEvent(t *testing.T, db string, e store.NewEvent, robots ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, db)
	require.NoError(t, err)
	defer st.Close()
	if e.RemoteIP == "" {
		e.RemoteIP = "203.0.113.9"
	}
	if e.Body == nil {
		e.Body = []byte(`{}`)
	}
	_, err = st.InsertEvent(ctx, e)
	require.NoError(t, err)
	var ds []store.NewDelivery
	for _, r := range robots {
		ds = append(ds, store.NewDelivery{Route: "to-" + r, Robot: r, Spec: []byte(`{"template":"default","language":"en"}`)})
	}
	require.NoError(t, st.RouteEvent(ctx, e.ID, ds, e.ReceivedAt))
	var ids []int64
	for _, r := range robots {
		c, err := st.ClaimDeliveries(ctx, store.Claim{Robot: r, Owner: "test", Now: time.Now(), LeaseUntil: time.Now().Add(time.Minute), Limit: 1})
		require.NoError(t, err)
		require.Len(t, c, 1)
		ids = append(ids, c[0].ID)
	}
	return ids
}

func payment(id, source string, received time.Time, amount int64, currency, ref, account string) store.NewEvent {
	return store.NewEvent{
		ID: id, Source: source, ReceivedAt: received,
		Event: bankhooks.Event{Provider: "omise", ID: "evnt_" + strings.TrimPrefix(id, "ev_"), Type: "charge.complete",
			Kind: bankhooks.KindPaymentSucceeded, Amount: amount, Currency: currency, Reference: ref, Account: account,
			Counterparty: "Somchai J.", OccurredAt: received.Add(-time.Second)},
	}
}

func TestStoreCommandsWithoutSecrets(t *testing.T) {
	dir, path := writeConfig(t, secretlessConfig("@DIR@"))
	db := filepath.Join(dir, "bankbot.db")
	ctx := context.Background()
	now := time.Now()

	r := run(t, path, "", "config", "check")
	require.Equal(t, 1, r.code, "the full config needs the secrets")
	require.Contains(t, r.stdout, "environment variable HOOK_SECRET is not set")

	ids := putEvent(t, db, payment("ev_a", "opn", now.Add(-time.Hour), 5000, "THB", "chrg_a", "123-4-56789-0"), "log")
	putEvent(t, db, payment("ev_b", "stripe", now.Add(-30*time.Minute), 125050, "THB", "ch_b", ""), "log")
	st := openTestStore(t, db)
	require.NoError(t, st.DeadLetter(ctx, ids[0], store.Attempt{At: now, Reason: "permanent", Error: "dingtalk: errcode 310000: keywords not in content"}))
	require.NoError(t, st.Close())

	t.Run("deadletters list", func(t *testing.T) {
		r := run(t, path, "", "deadletters", "list")
		require.Equal(t, 0, r.code, r.stderr)
		require.Empty(t, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 2)
		require.Regexp(t, `^`+strconv.FormatInt(ids[0], 10)+`\s+ev_a\s+opn\s+payment.succeeded\s+THB 50.00\s+chrg_a\s+log\s+to-log\s`, lines[1])
	})

	t.Run("events list, show, find", func(t *testing.T) {
		r := run(t, path, "", "events", "list")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "ev_b")
		r = run(t, path, "", "events", "show", "ev_a")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "••••7890")
		r = run(t, path, "", "events", "find", "chrg_a")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "ev_a")
	})

	t.Run("deadletters retry requeues to the robot it was routed to", func(t *testing.T) {
		r := run(t, path, "", "deadletters", "retry", strconv.FormatInt(ids[0], 10))
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stderr, "note: today's routes could not be read from "+path+":\n")
		require.Contains(t, r.stderr, "  sources.opn.secrets[0].value: environment variable HOOK_SECRET is not set")
		require.Contains(t, r.stderr, "note: deliveries are requeued to the robots and routes they were sent to before\n")
		require.Equal(t, "1 deliveries requeued; the running server sends them within 1s\n", r.stdout)
		d, err := openTestStore(t, db).GetDelivery(ctx, ids[0])
		require.NoError(t, err)
		require.Equal(t, store.StatusPending, d.Status)
		require.Equal(t, "log", d.Robot)
		require.Equal(t, "to-log", d.Route, "not moved to today's route \"all\": it could not be read")
	})

	t.Run("replay requeues the event's rows as routed", func(t *testing.T) {
		r := run(t, path, "", "replay", "ev_b")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stderr, "note: today's routes could not be read")
		require.Equal(t, "event ev_b: 1 deliveries requeued to the robots they were routed to\n", r.stdout)
		ds, err := openTestStore(t, db).ListDeliveries(ctx, store.DeliveryFilter{EventID: "ev_b"})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, "to-log", ds[0].Route)
		require.Equal(t, store.StatusPending, ds[0].Status)

		r = run(t, path, "", "replay", "--since", "2h")
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `^2 events received from .* replayed: 2 deliveries requeued\n$`, r.stdout)
	})

	t.Run("the storage keys themselves need their variables", func(t *testing.T) {
		storage := regexp.MustCompile(`storage:\n  dsn: .*\n`)
		tests := []struct{ storage, problem string }{
			{"storage:\n  driver: postgres\n  dsn: \"${PG_DSN}\"\n", "storage.dsn: environment variable PG_DSN is not set"},
			{"storage:\n  drvier: postgres\n", "storage.drvier"},
		}
		for _, tc := range tests {
			_, p := writeConfig(t, storage.ReplaceAllLiteralString(secretlessConfig("@DIR@"), tc.storage))
			for _, args := range [][]string{{"events", "list"}, {"deadletters", "list"}, {"deadletters", "retry", "--all"}, {"replay", "ev_a"}} {
				r := run(t, p, "", args...)
				require.Equal(t, 1, r.code, "%v", args)
				require.Contains(t, r.stderr, tc.problem, "%v", args)
				require.NotContains(t, r.stderr, "note:")
			}
		}
	})
}

func TestEvents(t *testing.T) {
	dir, path := newConfig(t)
	db := filepath.Join(dir, "bankbot.db")
	ctx := context.Background()
	now := time.Now()

	r := run(t, path, "", "events", "list")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "no events\n", r.stdout)

	ids := putEvent(t, db, payment("ev_1", "opn", now.Add(-3*time.Hour), 5000, "THB", "chrg_1", "123-4-56789-0"), "log", "ops")
	putEvent(t, db, payment("ev_2", "stripe", now.Add(-2*time.Hour), 125050, "THB", "ch_2", "xxxx4242"), "log")
	refund := payment("ev_3", "opn", now.Add(-time.Hour), 5000, "JPY", "rfnd_3", "")
	refund.Event.Kind = bankhooks.KindRefundSucceeded
	putEvent(t, db, refund)
	putEvent(t, db, payment("ev_old", "opn", now.Add(-40*24*time.Hour), 5000, "THB", "chrg_old", "000-1-11111-0"), "log")
	// The same provider id at another source.
	dup := payment("ev_dup", "sw", now.Add(-10*time.Minute), 700, "USD", "pi_dup", "")
	dup.Event.ID = "evnt_2"
	putEvent(t, db, dup)

	st := openTestStore(t, db)
	n, err := st.AssignMessage(ctx, ids, "msg_abc")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoError(t, st.CompleteDelivery(ctx, ids[0], store.Attempt{At: now, Reason: "ok"}))
	require.NoError(t, st.DeadLetter(ctx, ids[1], store.Attempt{At: now, Reason: "permanent", Error: "dingtalk: errcode 300001: token is not exist"}))

	list := func(t *testing.T, args ...string) []string {
		t.Helper()
		r := run(t, path, "", append([]string{"events"}, args...)...)
		require.Equal(t, 0, r.code, r.stderr)
		var got []eventJSON
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
		out := []string{}
		for _, e := range got {
			out = append(out, e.ID)
		}
		return out
	}

	t.Run("list", func(t *testing.T) {
		tests := []struct {
			args []string
			want []string
		}{
			{nil, []string{"ev_dup", "ev_3", "ev_2", "ev_1", "ev_old"}},
			{[]string{"--limit", "2"}, []string{"ev_dup", "ev_3"}},
			{[]string{"--source", "opn"}, []string{"ev_3", "ev_1", "ev_old"}},
			{[]string{"--source", "OPN", "--kind", "payment.succeeded"}, []string{"ev_1", "ev_old"}},
			{[]string{"--since", "150m"}, []string{"ev_dup", "ev_3", "ev_2"}},
			{[]string{"--since", "1d", "--until", "90m"}, []string{"ev_2", "ev_1"}},
			{[]string{"--until", now.Add(-30 * 24 * time.Hour).Format(time.RFC3339)}, []string{"ev_old"}},
		}
		for _, tc := range tests {
			require.Equal(t, tc.want, list(t, append([]string{"list", "--json"}, tc.args...)...), "%v", tc.args)
		}
		r := run(t, path, "", "events", "list", "--source", "opn", "--kind", "payment.succeeded")
		require.Equal(t, 0, r.code, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 3)
		require.Regexp(t, `^RECEIVED\s+ID\s+SOURCE\s+KIND\s+AMOUNT\s+REFERENCE\s+ACCOUNT\s+PROVIDER ID$`, lines[0])
		require.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+ev_1\s+opn\s+payment.succeeded\s+THB 50.00\s+chrg_1\s+••••7890\s+evnt_1$`, lines[1])
		require.NotContains(t, r.stdout, "56789", "the account is masked")
	})

	t.Run("list, bad flags", func(t *testing.T) {
		for _, args := range [][]string{{"--kind", "payment"}, {"--limit", "0"}, {"--since", "yesterday"}, {"--since", "1h", "--until", "2h"}} {
			r := run(t, path, "", append([]string{"events", "list"}, args...)...)
			require.Equal(t, 1, r.code, "%v", args)
			require.NotEmpty(t, r.stderr, "%v", args)
		}
	})

	t.Run("show", func(t *testing.T) {
		for _, id := range []string{"ev_1", "evnt_1"} {
			r := run(t, path, "", "events", "show", id)
			require.Equal(t, 0, r.code, r.stderr)
			for _, want := range []string{
				`(?m)^event\s+ev_1$`, `(?m)^source\s+opn \(omise\)$`, `(?m)^provider id\s+evnt_1$`, `(?m)^kind\s+payment.succeeded$`,
				`(?m)^amount\s+THB 50.00$`, `(?m)^reference\s+chrg_1$`, `(?m)^account\s+••••7890$`, `(?m)^received\s+\d{4}-`,
				`(?m)^ID\s+ROUTE\s+ROBOT\s+STATUS\s+MESSAGE\s+ATTEMPTS\s+UPDATED\s+LAST ERROR$`,
				fmt.Sprintf(`(?m)^%d\s+to-log\s+log\s+sent\s+msg_abc\s+1\s+\d{4}-\S+ \S+\s+-$`, ids[0]),
				fmt.Sprintf(`(?m)^%d\s+to-ops\s+ops\s+dead\s+msg_abc\s+1\s+\d{4}-\S+ \S+\s+dingtalk: errcode 300001`, ids[1]),
			} {
				require.Regexp(t, regexp.MustCompile(want), r.stdout)
			}
			require.NotContains(t, r.stdout, "56789")
		}

		r := run(t, path, "", "events", "show", "ev_1", "--json")
		require.Equal(t, 0, r.code, r.stderr)
		var got eventJSON
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
		require.Equal(t, "THB 50.00", got.AmountText)
		require.Equal(t, int64(5000), got.Amount)
		require.Equal(t, "••••7890", got.Account)
		require.Equal(t, "Somchai J.", got.Counterparty)
		require.Len(t, got.Deliveries, 2)
		require.Equal(t, deliveryJSON{ID: ids[1], Route: "to-ops", Robot: "ops", Status: "dead", MessageID: "msg_abc", Attempts: 1,
			LastReason: "permanent", LastError: "dingtalk: errcode 300001: token is not exist", UpdatedAt: got.Deliveries[1].UpdatedAt}, got.Deliveries[1])

		// A provider id two sources received: both are shown.
		r = run(t, path, "", "events", "show", "evnt_2")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "ev_2")
		require.Contains(t, r.stdout, "ev_dup")
		require.Contains(t, r.stdout, "no deliveries")

		r = run(t, path, "", "events", "show", "nope")
		require.Equal(t, 1, r.code)
		require.Equal(t, "bankbot: no event with bankbot id or provider event id \"nope\": not found\n", r.stderr)
	})

	t.Run("find", func(t *testing.T) {
		tests := []struct {
			args []string
			want []string
		}{
			{[]string{"ev_3"}, []string{"ev_3"}},
			{[]string{"evnt_2"}, []string{"ev_dup", "ev_2"}},
			{[]string{"chrg_1"}, []string{"ev_1"}},
			{[]string{"50.00"}, []string{"ev_1"}},
			{[]string{"50"}, []string{"ev_1"}},
			{[]string{"5000"}, []string{"ev_3"}},      // JPY 5,000 (not THB 50.00)
			{[]string{"1,250.50"}, []string{"ev_2"}},  // THB 1,250.50
			{[]string{"1250.5"}, []string{"ev_2"}},    //
			{[]string{"7.00"}, []string{"ev_dup"}},    // USD
			{[]string{"7890"}, []string{"ev_1"}},      // account 123-4-56789-0
			{[]string{"•••• 4242"}, []string{"ev_2"}}, // as an alert masks it
			{[]string{"89-0"}, []string{}},            // fewer than 4 digits: not an account
			{[]string{"chrg_old"}, []string{}},        // older than 30 days
			{[]string{"chrg_old", "--since", "60d"}, []string{"ev_old"}},
			{[]string{"50", "--since", "60d", "--limit", "1"}, []string{"ev_1"}},
			{[]string{"50", "--since", "60d"}, []string{"ev_1", "ev_old"}},
			{[]string{"50", "--until", "150m"}, []string{"ev_1"}},
		}
		for _, tc := range tests {
			require.Equal(t, tc.want, list(t, append([]string{"find", "--json"}, tc.args...)...), "%v", tc.args)
		}
		r := run(t, path, "", "events", "find", "nothing-like-it")
		require.Equal(t, 0, r.code, r.stderr)
		require.True(t, strings.HasPrefix(r.stdout, `no event matches "nothing-like-it" since `), r.stdout)
	})
}

func TestReplay_ProviderIDAndRange(t *testing.T) {
	dir, path := newConfig(t)
	db := filepath.Join(dir, "bankbot.db")
	now := time.Now()
	putEvent(t, db, payment("ev_r1", "opn", now.Add(-3*time.Hour), 100, "THB", "", ""), "log")
	putEvent(t, db, payment("ev_r2", "opn", now.Add(-2*time.Hour), 100, "THB", "", ""), "log")
	putEvent(t, db, payment("ev_r3", "opn", now.Add(-time.Hour), 100, "THB", "", ""), "log")
	dup := payment("ev_r4", "stripe", now.Add(-time.Minute), 100, "THB", "", "")
	dup.Event.ID = "evnt_r3"
	putEvent(t, db, dup)

	r := run(t, path, "", "replay", "evnt_r1")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "event ev_r1: 1 deliveries requeued\n", r.stdout)

	r = run(t, path, "", "replay", "evnt_r3")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `provider event id "evnt_r3" was received by 2 sources: ev_r4 (stripe), ev_r3 (opn); give bankbot's id`)

	r = run(t, path, "", "replay", "--since", "150m", "--until", "30m")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `^2 events received from \d{4}-\S+ \S+ to \d{4}-\S+ \S+ replayed: 2 deliveries requeued\n$`, r.stdout)
	ds, err := openTestStore(t, db).ListDeliveries(context.Background(), store.DeliveryFilter{EventID: "ev_r2"})
	require.NoError(t, err)
	require.Len(t, ds, 2, "the old route's row and today's route \"all\"")

	r = run(t, path, "", "replay", "--since", "1m", "--until", "30s")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `^0 events received from .* replayed: 0 deliveries requeued\n$`, r.stdout)

	for _, args := range [][]string{{"replay"}, {"replay", "--until", "1h"}, {"replay", "ev_r1", "--since", "1h"}, {"replay", "a", "b"}, {"replay", "--since", "soon"}} {
		r := run(t, path, "", args...)
		require.Equal(t, 1, r.code, "%v", args)
		require.NotEmpty(t, r.stderr, "%v", args)
	}
}

func TestParseWhen(t *testing.T) {
	bkk, err := time.LoadLocation("Asia/Bangkok")
	require.NoError(t, err)
	now := time.Date(2026, 5, 17, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "90m", want: now.Add(-90 * time.Minute)},
		{in: "24h", want: now.Add(-24 * time.Hour)},
		{in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "2026-05-01", want: time.Date(2026, 5, 1, 0, 0, 0, 0, bkk)},
		{in: "2026-05-01 14:30", want: time.Date(2026, 5, 1, 14, 30, 0, 0, bkk)},
		{in: "2026-05-01T14:30:05", want: time.Date(2026, 5, 1, 14, 30, 5, 0, bkk)},
		{in: "2026-05-01T14:30:05Z", want: time.Date(2026, 5, 1, 14, 30, 5, 0, time.UTC)},
		{in: "yesterday", wantErr: true},
		{in: "-1h", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseWhen("since", tc.in, bkk, now)
			if tc.wantErr {
				require.ErrorContains(t, err, "--since: ")
				return
			}
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "got %s, want %s", got, tc.want)
		})
	}
}

func TestFindQuery(t *testing.T) {
	tests := []struct {
		in      string
		amounts map[int]int64
		digits  string
	}{
		{in: "chrg_123", amounts: map[int]int64{}},
		{in: "50", amounts: map[int]int64{0: 50, 1: 500, 2: 5000, 3: 50000, 4: 500000}},
		{in: "50.5", amounts: map[int]int64{1: 505, 2: 5050, 3: 50500, 4: 505000}},
		{in: "1,250.50", amounts: map[int]int64{1: 12505, 2: 125050, 3: 1250500, 4: 12505000}},
		{in: "0.001", amounts: map[int]int64{3: 1, 4: 10}},
		{in: "5000", amounts: map[int]int64{0: 5000, 1: 50000, 2: 500000, 3: 5000000, 4: 50000000}, digits: "5000"},
		{in: "12,34", amounts: map[int]int64{}},
		{in: "•••• 7890", amounts: map[int]int64{}, digits: "7890"},
		{in: "123-4-56789-0", amounts: map[int]int64{}, digits: "1234567890"},
		{in: "789", amounts: map[int]int64{0: 789, 1: 7890, 2: 78900, 3: 789000, 4: 7890000}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			q, amounts := findQuery(tc.in)
			require.Equal(t, tc.in, q.Text)
			require.Equal(t, tc.amounts, amounts)
			require.Equal(t, tc.digits, q.AccountDigits)
			require.Len(t, q.Amounts, len(tc.amounts))
		})
	}
}
