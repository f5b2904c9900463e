// Command retentionbench measures retention (store.Purge, issue 9) on a
// large SQLite store: what it removes, that totals do not move, the file
// size before and after, and the ingest latency while it runs compared with
// ingest alone, side by side in one run. docs/PERFORMANCE.md records its
// results.
//
//	go run ./tools/retentionbench [--events 1000000] [--old 0.9] [--body 1500] [--dir DIR]
//	    [--reps 3] [--rate 200] [--baseline 30s] [--batch N] [--pause D] [--vacuum-pages N]
//	    [--yields 0,-1] [--window 45s --cycles 4]
//
// Build (once, kept as DIR/template.db and reused by later runs with the
// same --events, --old and --body): a store is created with
// store.OpenSQLite (so it has every migration and incremental auto-vacuum),
// then filled directly with batched multi-row INSERTs (account_rev
// included, so the store's backfill has nothing to do when it opens) (not through HTTP or
// InsertEvent: a million webhooks would take an hour): --events events of
// mixed currencies, each routed to one robot, with a body of about --body
// bytes of an Opn-like charge JSON, its headers, its canonical event, one
// delivery and one attempt. A fraction --old of them were received 91–190
// days before now (before the 90-day cut-off), the rest in the last 89
// days, in time order. One old event in a thousand has a dead delivery (its
// body must be kept).
//
// Each repetition copies the template to DIR/run.db, opens it with
// store.OpenSQLite (WAL, synchronous=FULL, group commit: as bankbot runs)
// and measures, while a steady open-loop ingest of --rate events per
// second runs through store.InsertEvent (new routed events with a
// delivery, like the webhook path, latency from the time each insert was
// due, so a stall cannot hide):
//
//  1. --baseline of ingest alone;
//  2. ingest while store.Purge(Before: now − 90 days) runs to its end
//     (bodies, attempts, incremental vacuum);
//  3. --baseline of ingest alone again.
//
// With --window D (the windowed mode, for a store too large to purge
// whole at the paced speed), each repetition instead alternates windows of
// D: ingest alone, ingest while the purge runs (stopped when the window
// ends, resumed in the next), --cycles times, then ingest alone once more;
// the purge windows take --yields in turn, so two paces are compared in
// one run; see measureWindows.
//
// It prints p50, p99 and max of each phase and the ratio of the purge
// phase's p99 to the larger of the two ingest-alone p99s (the bar is 1.20),
// (with the store's default pace a purge under steady ingest takes hours
// on a large store: use --yields -1 here, or the windowed mode below),
// the purge result, the database and WAL sizes before and after (and after
// a final TRUNCATE checkpoint), and the checks: count and sum of amounts per
// currency of the events before the cut-off unchanged, no raw body left
// before the cut-off except on events whose deliveries are not all sent.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

type options struct {
	events      int
	old         float64
	body        int
	dir         string
	reps        int
	rate        int
	baseline    time.Duration
	batch       int
	pause       time.Duration
	vacuumPages int
	retention   time.Duration
	window      time.Duration
	cycles      int
	yields      []int
}

func main() {
	var o options
	flag.IntVar(&o.events, "events", 1_000_000, "events in the store")
	flag.Float64Var(&o.old, "old", 0.9, "fraction of the events older than the cut-off")
	flag.IntVar(&o.body, "body", 1500, "raw body size in bytes (about)")
	flag.StringVar(&o.dir, "dir", filepath.Join(os.TempDir(), "retentionbench"), "working directory (template and run databases)")
	flag.IntVar(&o.reps, "reps", 3, "repetitions")
	flag.IntVar(&o.rate, "rate", 200, "ingest events per second during the measurement")
	flag.DurationVar(&o.baseline, "baseline", 30*time.Second, "length of each ingest-alone phase")
	flag.IntVar(&o.batch, "batch", 0, "PurgeOptions.BatchSize (0 = the store's default)")
	flag.DurationVar(&o.pause, "pause", 0, "PurgeOptions.Pause (0 = the store's default, negative = none)")
	flag.IntVar(&o.vacuumPages, "vacuum-pages", 0, "PurgeOptions.VacuumPages (0 = the store's default)")
	flag.DurationVar(&o.retention, "retention", 90*24*time.Hour, "the cut-off is now minus this")
	flag.DurationVar(&o.window, "window", 0, "windowed mode: alternate windows this long of ingest alone and ingest with the purge running (0: purge to its end between two ingest-alone phases)")
	flag.IntVar(&o.cycles, "cycles", 3, "windowed mode: pairs of (alone, purge) windows per repetition, then one more alone")
	yields := flag.String("yields", "0", "PurgeOptions.Yield of the purge windows in turn, comma-separated (0 = the store's default, -1 = never yield); without --window the first is used")
	flag.Parse()
	for _, f := range strings.Split(*yields, ",") {
		var y int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &y); err != nil {
			log.Fatalf("--yields: %q is not a number", f)
		}
		o.yields = append(o.yields, y)
	}
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.dir, 0o750); err != nil {
		return err
	}
	now := time.Now().UTC()
	tmpl := filepath.Join(o.dir, fmt.Sprintf("template-%d-%g-%d.db", o.events, o.old, o.body))
	if _, err := os.Stat(tmpl); err != nil {
		if err := build(ctx, tmpl+".building", o, now); err != nil {
			return fmt.Errorf("build: %w", err)
		}
		if err := os.Rename(tmpl+".building", tmpl); err != nil {
			return err
		}
	} else {
		log.Printf("reusing %s", tmpl)
	}
	var ratios []float64
	for rep := 1; rep <= o.reps; rep++ {
		measureRep := measure
		if o.window > 0 {
			measureRep = measureWindows
		}
		r, err := measureRep(ctx, o, tmpl, rep)
		if err != nil {
			return fmt.Errorf("repetition %d: %w", rep, err)
		}
		ratios = append(ratios, r)
	}
	fmt.Printf("\nratios (p99 during purge / p99 ingest alone): %s\n", fmtFloats(ratios))
	return nil
}

func fmtFloats(fs []float64) string {
	var ss []string
	for _, f := range fs {
		ss = append(ss, fmt.Sprintf("%.3f", f))
	}
	return strings.Join(ss, ", ")
}

var currencies = []struct {
	code string
	max  int64
}{{"THB", 5_000_000}, {"USD", 200_000}, {"IDR", 500_000_000}, {"JPY", 300_000}}

// opnBody is an Opn-like charge.complete webhook of about size bytes.
func opnBody(rng *mrand.Rand, id string, amount int64, currency string, at time.Time, size int) []byte {
	b := fmt.Appendf(nil, `{"object":"event","id":"%s","livemode":true,"location":"/events/%s","data":{"object":"charge","id":"chrg_%016x","location":"/charges/chrg_%016x","amount":%d,"net":%d,"fee":%d,"fee_vat":%d,"funding_amount":%d,"refunded_amount":0,"currency":"%s","funding_currency":"%s","ip":"203.0.113.%d","description":"Order #%d","metadata":{"order_id":"%d"},"card":{"object":"card","id":"card_%016x","livemode":true,"country":"th","financing":"credit","bank":"Kasikornbank","brand":"Visa","fingerprint":"%s","last_digits":"%04d","name":"SOMCHAI J","expiration_month":12,"expiration_year":2029,"security_code_check":true,"created_at":"%s"},"transaction":"trxn_%016x","failure_code":null,"failure_message":null,"status":"successful","authorize_uri":"https://pay.omise.co/payments/%s/authorize","return_uri":"https://shop.example/return","created_at":"%s","paid_at":"%s","authorized":true,"capturable":false,"capture":true,"disputable":true,"expired":false,"paid":true,"voided":false,"refundable":true},"key":"charge.complete","created_at":"%s"}`,
		id, id, rng.Uint64(), rng.Uint64(), amount, amount*96/100, amount*3/100, amount/1000, amount, currency, currency, rng.IntN(250),
		rng.IntN(1_000_000), rng.IntN(1_000_000), rng.Uint64(), randHex(rng, 22), rng.IntN(10000), at.Format(time.RFC3339),
		rng.Uint64(), randHex(rng, 20), at.Format(time.RFC3339), at.Format(time.RFC3339), at.Format(time.RFC3339))
	if pad := size - len(b); pad > 0 { // a longer description, as some shops send
		b = slices.Insert(b, len(b)-1, []byte(`,"x_note":"`+randHex(rng, max(0, pad-13)/2)+`"`)...)
	}
	return b
}

func randHex(rng *mrand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return hex.EncodeToString(b)
}

var headersJSON = `{"Content-Type":"application/json","User-Agent":"Omise/2019-05-29","X-Forwarded-For":"203.0.113.7","X-Request-Id":"%s"}`

// build creates the template store at path.
func build(ctx context.Context, path string, o options, now time.Time) error {
	_ = os.Remove(path)
	_ = os.Remove(path + "-wal")
	_ = os.Remove(path + "-shm")
	st, err := store.OpenSQLite(ctx, path) // schema, migrations, incremental auto-vacuum
	if err != nil {
		return err
	}
	sp, err := st.Space(ctx)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	log.Printf("building %d events in %s (auto_vacuum %s)", o.events, path, sp.AutoVacuum)
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=foreign_keys(0)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	const chunk = 400 // rows per INSERT statement
	rng := mrand.New(mrand.NewPCG(1, 2))
	nOld := int(float64(o.events) * o.old)
	oldFrom, oldTo := now.Add(-190*24*time.Hour), now.Add(-91*24*time.Hour)
	newFrom, newTo := now.Add(-89*24*time.Hour), now.Add(-time.Hour)
	at := func(i int) time.Time {
		if i < nOld {
			return oldFrom.Add(time.Duration(float64(oldTo.Sub(oldFrom)) * float64(i) / float64(max(1, nOld))))
		}
		return newFrom.Add(time.Duration(float64(newTo.Sub(newFrom)) * float64(i-nOld) / float64(max(1, o.events-nOld))))
	}
	evSQL := func(n int) string {
		return `INSERT INTO events (id, source, provider, provider_event_id, type, kind, amount, currency, reference,
			occurred_at, received_at, remote_ip, headers, body, event, routed_at, account_rev) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?),", n), ",")
	}
	dSQL := func(n int) string {
		return `INSERT INTO deliveries (id, event_id, route, robot, spec, status, attempts, next_attempt_at,
			last_reason, created_at, updated_at, sent_at, message_id) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?,?,?,?),", n), ",")
	}
	aSQL := func(n int) string {
		return `INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms, reason, error) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?),", n), ",")
	}
	spec := []byte(`{"template":"payment","language":"th","mention":{"on_failure":true}}`)
	start := time.Now()
	for lo := 0; lo < o.events; lo += chunk * 10 {
		if err := ctx.Err(); err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for c := lo; c < min(o.events, lo+chunk*10); c += chunk {
			n := min(chunk, o.events-c)
			var ev, dv, av []any
			for i := c; i < c+n; i++ {
				cur := currencies[i%len(currencies)]
				amount := 1 + rng.Int64N(cur.max)
				recv := at(i).Truncate(time.Millisecond)
				pid := fmt.Sprintf("evnt_%016x", uint64(i)*2654435761)
				e := bankhooks.Event{
					Provider: "omise", ID: pid, Type: "charge.complete", Kind: bankhooks.KindPaymentSucceeded,
					Amount: amount, Currency: cur.code, Reference: fmt.Sprintf("chrg_%016x", uint64(i)*40503),
					Account: fmt.Sprintf("xxxx%04d", i%10000), Counterparty: "SOMCHAI J", Description: fmt.Sprintf("Order #%d", i),
					OccurredAt: recv.Add(-2 * time.Second), Livemode: true,
				}
				ej, err := json.Marshal(e)
				if err != nil {
					return err
				}
				id := fmt.Sprintf("ev_%012d", i)
				body := opnBody(rng, pid, amount, cur.code, recv, o.body)
				ms := recv.UnixMilli()
				ev = append(ev, id, "opn", "omise", pid, e.Type, string(e.Kind), amount, cur.code, e.Reference,
					e.OccurredAt.UnixMilli(), ms, "203.0.113.7", fmt.Sprintf(headersJSON, randHex(rng, 8)), body, string(ej), ms,
					store.AccountRev(e.Account)) // as InsertEvent does: no backfill runs when the store opens
				status, reason := store.StatusSent, "ok"
				var sent any = ms + 300
				if i < nOld && i%1000 == 999 {
					status, reason, sent = store.StatusDead, "permanent", nil
				}
				dv = append(dv, i+1, id, "payments", "finance-th", spec, status, 1, ms, reason, ms, ms+300, sent, "msg_"+id)
				av = append(av, i+1, 1, ms+300, 180, reason, "")
			}
			for _, s := range []struct {
				q    string
				args []any
			}{{evSQL(n), ev}, {dSQL(n), dv}, {aSQL(n), av}} {
				if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
					return err
				}
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if lo%(100_000) == 0 {
			log.Printf("  %d events (%.0f/s)", lo, float64(lo)/time.Since(start).Seconds())
		}
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return err
	}
	log.Printf("built %d events in %s", o.events, time.Since(start).Round(time.Second))
	return db.Close()
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func size(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// sums is the count and sum of amounts per currency.
type sums map[string][2]int64

func readSums(ctx context.Context, path string, before time.Time) (sums, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rs, err := db.QueryContext(ctx, `SELECT currency, COUNT(*), SUM(amount) FROM events WHERE received_at < ? GROUP BY currency`, before.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := sums{}
	for rs.Next() {
		var c string
		var n, s int64
		if err := rs.Scan(&c, &n, &s); err != nil {
			return nil, err
		}
		out[c] = [2]int64{n, s}
	}
	return out, rs.Err()
}

// bodiesLeft counts the events before the cut-off that still have a raw
// body, and those of them whose deliveries are all sent (must be 0).
func bodiesLeft(ctx context.Context, path string, before time.Time) (left, wrong int64, err error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&mode=ro")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	err = db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT EXISTS
		(SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'sent'))
		FROM events e WHERE received_at < ? AND length(body) > 0`, before.UnixMilli()).Scan(&left, &wrong)
	return left, wrong, err
}

// ingest inserts rate events per second into st, each due at its slot,
// until stop is closed; it returns each insert's latency from its slot.
type ingester struct {
	st   store.Store
	rate int
	body []byte
	mu   sync.Mutex
	lat  []time.Duration
	errs int
	seq  int
}

func (g *ingester) run(ctx context.Context, stop <-chan struct{}, tag string) {
	interval := time.Second / time.Duration(g.rate)
	next := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 512)
	for {
		select {
		case <-stop:
			wg.Wait()
			return
		case <-ctx.Done():
			wg.Wait()
			return
		default:
		}
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		due := next
		next = next.Add(interval)
		g.seq++
		id := fmt.Sprintf("ev_%s_%08d", tag, g.seq)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			e := store.NewEvent{
				ID: id, Source: "opn", ReceivedAt: time.Now(), RemoteIP: "203.0.113.7",
				Headers: map[string]string{"Content-Type": "application/json"}, Body: g.body,
				Event: bankhooks.Event{Provider: "omise", ID: "evnt_" + id, Type: "charge.complete",
					Kind: bankhooks.KindPaymentSucceeded, Amount: 150000, Currency: "THB", Reference: "chrg_" + id},
				Routed:     true,
				Deliveries: []store.NewDelivery{{Route: "payments", Robot: "finance-th", Spec: []byte(`{"template":"payment"}`)}},
			}
			_, err := g.st.InsertEvent(ctx, e)
			lat := time.Since(due)
			g.mu.Lock()
			defer g.mu.Unlock()
			if err != nil {
				g.errs++
				return
			}
			g.lat = append(g.lat, lat)
		}()
	}
}

// phase runs the ingest until stop is closed and returns its latencies.
func (g *ingester) phase(ctx context.Context, tag string, stop <-chan struct{}) ([]time.Duration, int) {
	g.mu.Lock()
	g.lat, g.errs = nil, 0
	g.mu.Unlock()
	g.run(ctx, stop, tag)
	g.mu.Lock()
	defer g.mu.Unlock()
	out := slices.Clone(g.lat)
	slices.Sort(out)
	return out, g.errs
}

func pct(ls []time.Duration, p float64) time.Duration {
	if len(ls) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(ls)))) - 1
	return ls[max(0, min(len(ls)-1, i))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func timed(d time.Duration) <-chan struct{} {
	c := make(chan struct{})
	time.AfterFunc(d, func() { close(c) })
	return c
}

// repRun is one repetition's copy of the template, open, and what was in it
// before.
type repRun struct {
	path       string
	cut        time.Time
	sumsBefore sums
	leftBefore int64
	st         *store.SQLite
	g          *ingester
}

// prepare copies the template to DIR/run.db, reads its totals and bodies
// before the cut-off, and opens it as bankbot does, with an ingester.
func prepare(ctx context.Context, o options, tmpl string, rep int) (*repRun, error) {
	r := &repRun{path: filepath.Join(o.dir, "run.db")}
	for _, suf := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(r.path + suf)
	}
	log.Printf("rep %d: copying the template", rep)
	if err := copyFile(r.path, tmpl); err != nil {
		return nil, err
	}
	r.cut = time.Now().UTC().Add(-o.retention)
	var err error
	if r.sumsBefore, err = readSums(ctx, r.path, r.cut); err != nil {
		return nil, err
	}
	if r.leftBefore, _, err = bodiesLeft(ctx, r.path, r.cut); err != nil {
		return nil, err
	}
	if r.st, err = store.OpenSQLite(ctx, r.path); err != nil {
		return nil, err
	}
	body := make([]byte, o.body/2)
	_, _ = rand.Read(body)
	r.g = &ingester{st: r.st, rate: o.rate, body: []byte(hex.EncodeToString(body))}
	return r, nil
}

func measure(ctx context.Context, o options, tmpl string, rep int) (float64, error) {
	rr, err := prepare(ctx, o, tmpl, rep)
	if err != nil {
		return 0, err
	}
	defer rr.st.Close()
	run, cut, sumsBefore, leftBefore, st, g := rr.path, rr.cut, rr.sumsBefore, rr.leftBefore, rr.st, rr.g
	spBefore, err := st.Space(ctx)
	if err != nil {
		return 0, err
	}
	fileBefore, walBefore := size(run), size(run+"-wal")

	log.Printf("rep %d: ingest alone, %s at %d/s", rep, o.baseline, o.rate)
	alone1, e1 := g.phase(ctx, fmt.Sprintf("r%da", rep), timed(o.baseline))

	log.Printf("rep %d: ingest while purging", rep)
	stop := make(chan struct{})
	var (
		res      store.PurgeResult
		purgeErr error
		took     time.Duration
	)
	go func() {
		defer close(stop)
		t0 := time.Now()
		res, purgeErr = st.Purge(ctx, store.PurgeOptions{Before: cut, Now: time.Now(), BatchSize: o.batch, Pause: o.pause, VacuumPages: o.vacuumPages, Yield: o.yields[0]})
		took = time.Since(t0)
	}()
	during, e2 := g.phase(ctx, fmt.Sprintf("r%db", rep), stop)
	if purgeErr != nil {
		return 0, fmt.Errorf("purge: %w", purgeErr)
	}
	fileAfter, walAfter := size(run), size(run+"-wal")
	spAfter, err := st.Space(ctx)
	if err != nil {
		return 0, err
	}

	log.Printf("rep %d: ingest alone again", rep)
	alone2, e3 := g.phase(ctx, fmt.Sprintf("r%dc", rep), timed(o.baseline))
	if err := st.Close(); err != nil {
		return 0, err
	}
	// The file as a restarted bankbot would find it: WAL checkpointed.
	db, err := sql.Open("sqlite", run)
	if err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return 0, err
	}
	_ = db.Close()
	fileFinal := size(run)

	sumsAfter, err := readSums(ctx, run, cut)
	if err != nil {
		return 0, err
	}
	left, wrong, err := bodiesLeft(ctx, run, cut)
	if err != nil {
		return 0, err
	}

	base := max(pct(alone1, 0.99), pct(alone2, 0.99))
	ratio := float64(pct(during, 0.99)) / float64(base)
	fmt.Printf("\n=== repetition %d (batch %d, pause %s, vacuum pages %d, ingest %d/s; 0 = the store's default)\n", rep, o.batch, o.pause, o.vacuumPages, o.rate)
	for _, p := range []struct {
		name string
		ls   []time.Duration
		errs int
	}{{"ingest alone (before)", alone1, e1}, {"ingest during purge", during, e2}, {"ingest alone (after)", alone2, e3}} {
		fmt.Printf("%-24s n=%-6d errors=%d  p50 %s  p99 %s  max %s\n", p.name, len(p.ls), p.errs, ms(pct(p.ls, 0.5)), ms(pct(p.ls, 0.99)), ms(pct(p.ls, 1)))
	}
	fmt.Printf("p99 ratio (during / max(alone)) %.3f\n", ratio)
	fmt.Printf("purge: %s; bodies %d (%s), kept %d, attempts %d, batches %d, reclaimed %s, auto_vacuum %s\n",
		took.Round(time.Millisecond), res.Bodies, mb(res.BodyBytes), res.Kept, res.Attempts, res.Batches, mb(res.ReclaimedBytes), res.AutoVacuum)
	fmt.Printf("database: before %s (+ WAL %s, %d pages, %d free); after the purge %s (+ WAL %s, %d pages, %d free); after a TRUNCATE checkpoint %s\n",
		mb(fileBefore), mb(walBefore), spBefore.Pages, spBefore.FreePages, mb(fileAfter), mb(walAfter), spAfter.Pages, spAfter.FreePages, mb(fileFinal))
	fmt.Printf("bodies before the cut-off: %d before, %d after (%d of them with every delivery sent: must be 0)\n", leftBefore, left, wrong)
	same := fmt.Sprint(sumsBefore) == fmt.Sprint(sumsAfter)
	fmt.Printf("count and sum per currency before the cut-off unchanged: %v (%v)\n", same, sumsAfter)
	if !same || wrong != 0 {
		return ratio, fmt.Errorf("check failed")
	}
	return ratio, nil
}

// measureWindows is the windowed mode (--window): after a warm-up, --cycles
// pairs of windows, ingest alone then ingest while store.Purge runs (its
// context ends with the window; the next purge window goes on from the
// oldest body left), then one more window alone. Alone and purge windows
// alternate so both see the same machine (this one is shared and noisy).
// The purge windows take their PurgeOptions.Yield from --yields in turn,
// so two paces can be compared in one run. It reports p50/p99/max per kind
// of window and the ratio of p99 with the purge to p99 alone (the bar is
// 1.20), the purge's pace and its share of the writer, and checks that the
// totals did not move and that no event still worked on lost its body.
func measureWindows(ctx context.Context, o options, tmpl string, rep int) (float64, error) {
	rr, err := prepare(ctx, o, tmpl, rep)
	if err != nil {
		return 0, err
	}
	defer rr.st.Close()
	run, cut, sumsBefore, leftBefore, st, g := rr.path, rr.cut, rr.sumsBefore, rr.leftBefore, rr.st, rr.g

	log.Printf("rep %d: warm-up, %s of ingest alone at %d/s (not counted)", rep, o.window, o.rate)
	g.phase(ctx, fmt.Sprintf("r%dw", rep), timed(o.window))

	type purgeStats struct {
		lat     []time.Duration
		errs    int
		res     store.PurgeResult
		windows int
		p99s    []time.Duration
	}
	alone := &purgeStats{}
	byYield := map[int]*purgeStats{}
	for c := 0; c < o.cycles; c++ {
		log.Printf("rep %d: window %d: ingest alone", rep, 2*c+1)
		ls, e := g.phase(ctx, fmt.Sprintf("r%da%d", rep, c), timed(o.window))
		alone.lat, alone.errs, alone.windows = append(alone.lat, ls...), alone.errs+e, alone.windows+1
		alone.p99s = append(alone.p99s, pct(ls, 0.99))

		y := o.yields[c%len(o.yields)]
		ps := byYield[y]
		if ps == nil {
			ps = &purgeStats{}
			byYield[y] = ps
		}
		log.Printf("rep %d: window %d: ingest while purging (yield %d)", rep, 2*c+2, y)
		pctx, cancel := context.WithTimeout(ctx, o.window)
		stop := make(chan struct{})
		var (
			res      store.PurgeResult
			purgeErr error
		)
		go func() {
			defer close(stop)
			res, purgeErr = st.Purge(pctx, store.PurgeOptions{Before: cut, Now: time.Now(), BatchSize: o.batch,
				Pause: o.pause, VacuumPages: o.vacuumPages, Yield: y})
			<-pctx.Done() // a purge that finished early leaves the rest of the window to ingest alone: measure it whole anyway
		}()
		ls, e = g.phase(ctx, fmt.Sprintf("r%dp%d", rep, c), stop)
		cancel()
		if purgeErr != nil && pctx.Err() == nil {
			return 0, fmt.Errorf("purge: %w", purgeErr)
		}
		ps.lat, ps.errs, ps.windows = append(ps.lat, ls...), ps.errs+e, ps.windows+1
		ps.p99s = append(ps.p99s, pct(ls, 0.99))
		ps.res.Bodies += res.Bodies
		ps.res.BodyBytes += res.BodyBytes
		ps.res.Attempts += res.Attempts
		ps.res.Batches += res.Batches
		ps.res.Busy += res.Busy
		ps.res.Waited += res.Waited
		ps.res.YieldedBatches += res.YieldedBatches
		ps.res.ReclaimedBytes += res.ReclaimedBytes
	}
	log.Printf("rep %d: window %d: ingest alone", rep, 2*o.cycles+1)
	ls, e := g.phase(ctx, fmt.Sprintf("r%dz", rep), timed(o.window))
	alone.lat, alone.errs, alone.windows = append(alone.lat, ls...), alone.errs+e, alone.windows+1
	alone.p99s = append(alone.p99s, pct(ls, 0.99))
	if err := st.Close(); err != nil {
		return 0, err
	}

	sumsAfter, err := readSums(ctx, run, cut)
	if err != nil {
		return 0, err
	}
	left, _, err := bodiesLeft(ctx, run, cut)
	if err != nil {
		return 0, err
	}
	wrong, err := purgedWhileWorkedOn(ctx, run)
	if err != nil {
		return 0, err
	}

	fmt.Printf("\n=== repetition %d, windowed (%s windows, %d cycles, batch %d, pause %s, yields %v, ingest %d/s; 0 = the store's default)\n",
		rep, o.window, o.cycles, o.batch, o.pause, o.yields, o.rate)
	slices.Sort(alone.lat)
	fmt.Printf("%-28s windows=%d n=%-6d errors=%d  p50 %s  p99 %s  max %s  (per window p99: %s)\n", "ingest alone", alone.windows,
		len(alone.lat), alone.errs, ms(pct(alone.lat, 0.5)), ms(pct(alone.lat, 0.99)), ms(pct(alone.lat, 1)), fmtDurs(alone.p99s))
	var first float64
	for i, y := range uniq(o.yields) {
		ps := byYield[y]
		if ps == nil { // fewer cycles than yields: this one never ran
			continue
		}
		slices.Sort(ps.lat)
		ratio := float64(pct(ps.lat, 0.99)) / float64(pct(alone.lat, 0.99))
		if i == 0 {
			first = ratio
		}
		purgeTime := time.Duration(ps.windows) * o.window
		fmt.Printf("%-28s windows=%d n=%-6d errors=%d  p50 %s  p99 %s  max %s  (per window p99: %s)\n", fmt.Sprintf("ingest while purging, yield %d", y), ps.windows,
			len(ps.lat), ps.errs, ms(pct(ps.lat, 0.5)), ms(pct(ps.lat, 0.99)), ms(pct(ps.lat, 1)), fmtDurs(ps.p99s))
		fmt.Printf("  p99 ratio (purging / alone) %.3f; purge: %d bodies (%s), %d attempts, %d batches in %s = %.1f bodies/s; writer held %s (%.2f %% of the windows), waited %s, %d waits lengthened for ingest; reclaimed %s\n",
			ratio, ps.res.Bodies, mb(ps.res.BodyBytes), ps.res.Attempts, ps.res.Batches, purgeTime, float64(ps.res.Bodies)/purgeTime.Seconds(),
			ps.res.Busy.Round(time.Millisecond), 100*float64(ps.res.Busy)/float64(purgeTime), ps.res.Waited.Round(time.Millisecond), ps.res.YieldedBatches, mb(ps.res.ReclaimedBytes))
	}
	fmt.Printf("bodies before the cut-off: %d before, %d after; purged bodies of events still worked on (must be 0): %d\n", leftBefore, left, wrong)
	same := fmt.Sprint(sumsBefore) == fmt.Sprint(sumsAfter)
	fmt.Printf("count and sum per currency before the cut-off unchanged: %v (%v)\n", same, sumsAfter)
	if !same || wrong != 0 {
		return first, fmt.Errorf("check failed")
	}
	return first, nil
}

// purgedWhileWorkedOn counts events whose body was purged although one of
// their deliveries is not sent (must be 0).
func purgedWhileWorkedOn(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events e WHERE body_purged_at IS NOT NULL
		AND EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'sent')`).Scan(&n)
	return n, err
}

func fmtDurs(ds []time.Duration) string {
	var ss []string
	for _, d := range ds {
		ss = append(ss, fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)))
	}
	return strings.Join(ss, ", ") + " ms"
}

func uniq(xs []int) []int {
	var out []int
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
