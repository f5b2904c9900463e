package store_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/bankbot/bankbot/store"
)

// BenchmarkInsertEvent measures InsertEvent on a SQLite file from many
// goroutines at once (webhook handlers), each call one committed
// transaction. Its ns/op is wall time per committed event across all
// goroutines, so 1e9/ns_op is the sustained webhooks per second; the
// events/s metric reports exactly that. FULL is what OpenSQLite uses;
// NORMAL is shown for comparison only (it is not durable across power loss).
func BenchmarkInsertEvent(b *testing.B) {
	for _, level := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+level, func(b *testing.B) {
			s, err := store.OpenSQLiteSynchronous(b.Context(), filepath.Join(b.TempDir(), "bench.db"), level)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			benchInsert(b, s, nil)
		})
	}
}

// BenchmarkInsertEventRouted compares InsertEvent as the background router
// left it (the event alone, routed later in a second transaction) with
// routing at ingest: the event marked routed with no delivery, and with one
// delivery, in the same transaction. The PostgreSQL variants run when
// BANKBOT_TEST_POSTGRES_DSN is set.
func BenchmarkInsertEventRouted(b *testing.B) {
	spec := []byte(`{"template":"payment","language":"th","mentions":["+66800000000"]}`)
	variants := []struct {
		name   string
		mutate func(e *store.NewEvent)
	}{
		{"unrouted", nil},
		{"routed/deliveries=0", func(e *store.NewEvent) { e.Routed = true }},
		{"routed/deliveries=1", func(e *store.NewEvent) {
			e.Routed = true
			e.Deliveries = []store.NewDelivery{{Route: "payments", Robot: "finance-th", Spec: spec}}
		}},
	}
	drivers := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			s, err := store.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"postgres", func(b *testing.B) store.Store { return openPostgres(b, pgSchema(b)) }},
	}
	for _, d := range drivers {
		for _, v := range variants {
			b.Run(d.name+"/"+v.name, func(b *testing.B) { benchInsert(b, d.open(b), v.mutate) })
		}
	}
}

// benchInsert runs InsertEvent from many goroutines at once (webhook
// handlers), each call one committed transaction, each event new. Its ns/op
// is wall time per committed event across all goroutines, so 1e9/ns_op is
// the sustained webhooks per second; the events/s metric reports exactly
// that.
func benchInsert(b *testing.B, s store.Store, mutate func(e *store.NewEvent)) {
	body := make([]byte, 2048) // a typical provider payload size
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	var seq atomic.Int64
	b.SetParallelism(8) // 8 × GOMAXPROCS concurrent handlers
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			e := sampleEvent(fmt.Sprintf("evt_%d", n), fmt.Sprintf("p_%d", n))
			e.Body = body
			if mutate != nil {
				mutate(&e)
			}
			if _, err := s.InsertEvent(b.Context(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if sec := b.Elapsed().Seconds(); sec > 0 {
		b.ReportMetric(float64(b.N)/sec, "events/s")
	}
}
