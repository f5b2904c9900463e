package main

import (
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// BenchmarkIngestCPU measures the CPU work bankbot does per webhook before
// the store: verifying the Opn signature and timestamp and parsing the event
// (bankhooks.Omise Verify + Parse), on the load tool's events. "bare" is the
// bare handler's verification alone. Compared with the store's
// BenchmarkInsertEvent it shows how much of a webhook's cost is CPU and how
// much is the commit.
func BenchmarkIngestCPU(b *testing.B) {
	key := testKey(b)
	g, err := newEventGen(time.Now(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := g.next()
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	hdr := http.Header{}
	hdr.Set(omiseSignatureHeader, hex.EncodeToString(signOmise(key, ts, body)))
	hdr.Set(omiseTimestampHeader, ts)
	keys := []bankhooks.Key{{Name: "secrets[0]", Material: key}}
	opts := bankhooks.VerifyOptions{Now: now, MaxSkew: 5 * time.Minute}

	b.Run("bankhooks-verify+parse", func(b *testing.B) {
		b.ReportAllocs()
		req := bankhooks.Request{Header: hdr, Body: body}
		for b.Loop() {
			if _, err := (bankhooks.Omise{}).Verify(req, keys, opts); err != nil {
				b.Fatal(err)
			}
			if _, err := (bankhooks.Omise{}).Parse(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare-verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := verifyOmise(key, hdr, body, now, 5*time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCommitBatch measures what the store's one-transaction-per-event
// design costs: it inserts the load tool's events into bankbot's own schema
// (migrated by store.OpenSQLite) in WAL mode with synchronous=FULL, as
// store.InsertEvent does, but with `batch` events per transaction, from one
// writer. batch=1 is today's InsertEvent shape (one fsync per event); larger
// batches show what committing several waiting webhooks together (group
// commit) would allow on the same disk. The SQL copies the store's insert
// statement; it is a diagnostic, not a second store.
func BenchmarkCommitBatch(b *testing.B) {
	g, err := newEventGen(time.Now(), "commit")
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 4, 16, 64} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			st, err := store.OpenSQLite(b.Context(), path) // creates the schema
			if err != nil {
				b.Fatal(err)
			}
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
			db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			var mode string
			var syncLevel int
			if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
				b.Fatalf("journal mode %q: %v", mode, err)
			}
			if err := db.QueryRow(`PRAGMA synchronous`).Scan(&syncLevel); err != nil || syncLevel != 2 {
				b.Fatalf("synchronous %d: %v", syncLevel, err)
			}
			const insert = `INSERT INTO events (id, source, provider, provider_event_id, type, kind,
	amount, currency, reference, occurred_at, received_at, remote_ip, headers, body, event)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, provider_event_id) DO NOTHING`
			headers := `{"Content-Type":"application/json","User-Agent":"bankbot-loadtest"}`
			now := time.Now().UnixMilli()
			n := 0
			b.ReportAllocs()
			b.ResetTimer()
			for n < b.N {
				tx, err := db.BeginTx(b.Context(), nil)
				if err != nil {
					b.Fatal(err)
				}
				for range batch {
					body, id := g.next()
					ev, err := (bankhooks.Omise{}).Parse(bankhooks.Request{Body: body})
					if err != nil {
						b.Fatal(err)
					}
					evJSON, err := json.Marshal(ev)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := tx.Exec(insert, "ev_"+id, sourceName, ev.Provider, ev.ID, ev.Type, string(ev.Kind),
						ev.Amount, ev.Currency, ev.Reference, ev.OccurredAt.UnixMilli(), now, "127.0.0.1",
						headers, body, evJSON); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if sec := b.Elapsed().Seconds(); sec > 0 {
				b.ReportMetric(float64(n)/sec, "events/s")
			}
		})
	}
}
