package bot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// BenchmarkConsolePages measures the web console's pages on a SQLite store
// holding 100,000 events (BANKBOT_BENCH_EVENTS changes the count): the
// overview, the events list (first page and a page deep in the cursor), a
// search by reference, by amount and by account digits (matching nearly
// every event, 0.1 % of them, none), and an event page. Each request goes
// through the admin listener's router with a Bearer token, as a browser's
// would after sign-in. Besides ns/op (the mean wall time) it reports
// p50-ms and p99-ms of the wall time, the figures docs/PERFORMANCE.md
// quotes, and cpu-ms/op, the CPU the process used per request. The store is filled only
// when this benchmark runs (go test -bench), so plain test runs stay fast:
//
//	go test ./bot/ -run '^$' -bench BenchmarkConsolePages -benchtime 300x
func BenchmarkConsolePages(b *testing.B) {
	n := 100_000
	if v := os.Getenv("BANKBOT_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("BANKBOT_BENCH_EVENTS=%q: need a number of at least 1000", v)
		}
	}
	sources := "  opn:\n    provider: omise\n    secrets:\n      - value: " + keyA + "\n" +
		"  kbank:\n    provider: omise\n    secrets:\n      - value: " + keyA + "\n" +
		"  scb:\n    provider: omise\n    secrets:\n      - value: " + keyA + "\n"
	dir := b.TempDir()
	path := filepath.Join(dir, "config.yaml")
	cfg := testConfig{adminToken: consoleAdmin, sources: sources, logLevel: "error"}
	if err := os.WriteFile(path, []byte(cfg.yaml()), 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := newApp(context.Background(), Options{ConfigPath: path, Clock: newFakeClock(t0), LogOutput: io.Discard,
		Env: func(string) (string, bool) { return "", false }, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.store.Close() })
	ta := &testApp{App: a, dir: dir, cfgPath: path}
	start := time.Now()
	ref, eventID := fillConsoleStore(b, ta, n)
	b.Logf("filled %d events in %s", n, time.Since(start).Round(time.Second))

	// A cursor deep in the list: the first event of the 1000th page.
	deep := deepCursor(b, ta, 1000*50)
	// The searches by account digits are checked once before they are
	// timed: how many events the page lists, all of the account searched.
	few := func(id string) bool { v, _ := strconv.Atoi(strings.TrimPrefix(id, "ev_bench_")); return v%1000 == 7 }
	pages := []struct {
		name, path string
		rows       int               // -1: not checked
		match      func(string) bool // every listed event id matches
	}{
		{"overview", "/ui/", -1, nil},
		{"events", "/ui/events", -1, nil},
		{"events/deep-page", "/ui/events?cursor=" + deep, -1, nil},
		{"events/source-filter", "/ui/events?source=kbank&kind=payment.failed", -1, nil},
		{"events/search-reference", "/ui/events?q=" + ref, -1, nil},
		{"events/search-amount", "/ui/events?q=550.00", -1, nil},
		{"events/search-amount-none", "/ui/events?q=1%2C234.56", -1, nil},
		{"events/search-account-digits", "/ui/events?q=56789-0", 50, func(id string) bool { return !few(id) }},
		{"events/search-account-digits-few", "/ui/events?q=54321-0", min(50, n/1000), few},
		{"events/search-account-digits-none", "/ui/events?q=4444-4", 0, nil},
		{"event", "/ui/events/" + eventID, -1, nil},
	}
	router := ta.adminRouter()
	for _, p := range pages {
		if p.rows >= 0 {
			req := httptest.NewRequest(http.MethodGet, p.path, nil)
			req.Header.Set("Authorization", "Bearer "+consoleAdmin)
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", p.path, rec.Code, rec.Body.String())
			}
			ids := eventIDRE.FindAllStringSubmatch(rec.Body.String(), -1)
			if len(ids) != p.rows {
				b.Fatalf("%s lists %d events, want %d", p.path, len(ids), p.rows)
			}
			for _, m := range ids {
				if !p.match(m[1]) {
					b.Fatalf("%s lists %s, of another account", p.path, m[1])
				}
			}
		}
		b.Run(p.name, func(b *testing.B) {
			var took []time.Duration
			cpu0 := cpuTime()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.Header.Set("Authorization", "Bearer "+consoleAdmin)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				router.ServeHTTP(rec, req)
				took = append(took, time.Since(t0))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", p.path, rec.Code, rec.Body.String())
				}
			}
			// CPU the process spent per request (user + system): what a
			// page costs, apart from waiting for a core on a shared machine.
			b.ReportMetric(ms(cpuTime()-cpu0)/float64(len(took)), "cpu-ms/op")
			slices.Sort(took)
			b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
			b.ReportMetric(ms(took[min(len(took)-1, len(took)*99/100)]), "p99-ms")
		})
	}
}

// eventIDRE finds the events a console list shows.
var eventIDRE = regexp.MustCompile(`data-event-id="([^"]+)"`)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fillConsoleStore stores n events received over the last 30 days across
// three sources and kinds, each routed to the robot "log"; 98% are sent
// (in batches, as digests would be), 1% dead, 1% pending. It returns the
// reference and id of an event in the middle.
func fillConsoleStore(b *testing.B, ta *testApp, n int) (ref, id string) {
	ctx := context.Background()
	now := ta.App.clock.Now()
	span := 30 * 24 * time.Hour
	sources := []string{"opn", "kbank", "scb"}
	kinds := []bankhooks.Kind{bankhooks.KindPaymentSucceeded, bankhooks.KindPaymentSucceeded, bankhooks.KindPaymentFailed, bankhooks.KindRefundSucceeded}
	spec := []byte(`{"template":"default","language":"en"}`)
	// span/n first: i*span overflows time.Duration from i = 3,558.
	at := func(i int) time.Time { return now.Add(-span + time.Duration(i)*(span/time.Duration(n))) }
	// One account for all but one event in 1,000 (a search by its digits
	// matches nearly every event), another for those (it matches 0.1 %).
	account := func(i int) string {
		if i%1000 == 7 {
			return "987-6-54321-0"
		}
		return "123-4-56789-0"
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	next := make(chan int, 1024)
	// Many writers at once: the SQLite store commits them in groups.
	for range 64 {
		wg.Go(func() {
			for i := range next {
				ev := store.NewEvent{
					ID: fmt.Sprintf("ev_bench_%07d", i), Source: sources[i%len(sources)], ReceivedAt: at(i), RemoteIP: "203.0.113.7",
					Headers: map[string]string{"Content-Type": "application/json"},
					Body:    []byte(fmt.Sprintf(`{"id":"evnt_bench_%07d","data":{"id":"chrg_bench_%07d","amount":%d,"description":"Order %d"}}`, i, i, 5000+i%100000, i)),
					Event: bankhooks.Event{Provider: "omise", ID: fmt.Sprintf("evnt_bench_%07d", i), Type: "charge.complete",
						Kind: kinds[i%len(kinds)], Amount: int64(5000 + i%100000), Currency: "THB", Reference: fmt.Sprintf("chrg_bench_%07d", i),
						Account: account(i), Counterparty: "Somchai", Description: fmt.Sprintf("Order %d", i), Livemode: true, OccurredAt: at(i)},
					Routed: true, Deliveries: []store.NewDelivery{{Route: "all", Robot: "log", Spec: spec}},
				}
				if _, err := ta.store.InsertEvent(ctx, ev); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range n {
		select {
		case err := <-errs:
			b.Fatal(err)
		case next <- i:
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	// Send (or kill) the deliveries in claims of 1000, oldest first.
	done := 0
	for {
		ds, err := ta.store.ClaimDeliveries(ctx, store.Claim{Robot: "log", Owner: "bench", Now: now, LeaseUntil: now.Add(time.Hour), Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if len(ds) == 0 || done >= n*99/100 {
			break
		}
		ids := make([]int64, len(ds))
		for i, d := range ds {
			ids[i] = d.ID
		}
		last := ds[len(ds)-1].NextAttemptAt
		if done%100_000 < 1000 { // 1%: dead letters
			_, err = ta.store.DeadLetterDeliveries(ctx, ids, store.Attempt{At: last, Reason: "config", Error: "dingtalk: errcode 310000: sign not match"})
		} else {
			_, err = ta.store.CompleteDeliveries(ctx, ids, store.Attempt{At: last.Add(time.Second), Reason: "ok"})
		}
		if err != nil {
			b.Fatal(err)
		}
		done += len(ds)
	}
	mid := n / 2
	return fmt.Sprintf("chrg_bench_%07d", mid), fmt.Sprintf("ev_bench_%07d", mid)
}

// deepCursor is the events page cursor after the first skip events.
func deepCursor(b *testing.B, ta *testApp, skip int) string {
	res, err := ta.store.PageEvents(context.Background(), store.EventPage{Limit: skip})
	if err != nil || len(res.Events) == 0 {
		b.Fatalf("deep cursor: %v", err)
	}
	last := res.Events[len(res.Events)-1]
	return encodeCursor(store.EventCursor{ReceivedAt: last.ReceivedAt, ID: last.ID})
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
