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
		})
	}
}
