package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Retention (issue 9): without it the store grows by the raw body of every
// webhook (about 1.6 KB an event) forever. Purge takes away what is only
// needed for a while and keeps what totals, lists and replays read:
//
//   - events received before the cut-off lose their raw body and stored
//     headers (both set empty, body_purged_at set); the canonical event,
//     amount, currency, kind, reference and every delivery row with its
//     final status stay, so counts and sums, `events list|find|show` and
//     replay (which renders from the canonical event) work as before;
//   - an event whose deliveries are not all sent (pending, sending, dead)
//     or that is not routed yet keeps its body: it is still being worked
//     on, and an operator looking at a dead letter may want the raw
//     webhook. It is purged by the first run after its deliveries are sent;
//   - the attempt log of sent deliveries, for attempts before the cut-off
//     (dead and pending deliveries keep theirs: they explain the failure);
//   - chat callback msgIds (chat_messages; DingTalk repeats a callback
//     within seconds, not months) and chat command audit entries before
//     the cut-off.
//
// Work is done in batches of PurgeOptions.BatchSize rows, each its own short
// write transaction, so ingest is never blocked for long:
//
//   - SQLite: each batch is one write handed to the writer goroutine, so it
//     shares a group commit with the webhooks waiting at that moment and
//     holds the write lock for one batch only; PurgeOptions.Pause leaves
//     the writer to ingest between batches. Space: purged rows are moved
//     to the end of the table (purgeBodySQL says why) and deleted rows
//     free pages inside the file; with auto_vacuum=INCREMENTAL (every
//     database created since migration 0009; an older one is converted
//     once by `bankbot storage vacuum`, see (*SQLite).ConvertIncremental)
//     each batch's transaction ends with PRAGMA incremental_vacuum, giving
//     the pages it freed back to the file system (vacuumIn says why not
//     all at the end). The file shrinks when the WAL is checkpointed
//     (SQLite does that automatically; Purge asks for a passive checkpoint
//     at the end). Without incremental auto-vacuum the free pages are
//     reused by new rows but the file does not shrink;
//     PurgeResult.AutoVacuum says which.
//   - PostgreSQL: each batch locks its rows with FOR NO KEY UPDATE SKIP
//     LOCKED (rows another transaction holds are left for the next run; the
//     lock does not conflict with the key-share locks that inserting a
//     delivery or an ack takes on its event), so neither side waits for the
//     other. The space of the old row versions is reused after autovacuum
//     has processed the table; the files do not shrink (only VACUUM FULL,
//     which locks the table, would do that) but stop growing.
//
// Failure policy: Purge fails closed on the data it must keep (the "all
// sent" check is part of the same statement that selects the batch), and
// open on completeness: a batch that fails ends the run with its error,
// batches already committed stay purged, and the next run starts again
// from the oldest row still holding a body. On PostgreSQL a delivery
// requeued between a batch's select and its update can lose its event's raw
// body; the replay still works (it renders from the canonical event).

// Default retention batch sizes and pace.
const (
	// DefaultPurgeBatch is PurgeOptions.BatchSize when zero, and
	// DefaultPurgePause its Pause: measured with tools/retentionbench
	// (docs/PERFORMANCE.md), batches of 500 rows back to back held the
	// SQLite writer so much of the time that ingest waited behind them
	// (p99 ×5 on 100,000 events); shorter batches helped (20 rows 5 ms apart
	// purge 1 M events in 12 minutes) but still held the writer about 60 %
	// of the time, and ingest p99 rose ×1.8–×4.5 while they ran. What keeps
	// ingest p99 where it was is the share of the writer's time the purge
	// takes while webhooks arrive (DefaultPurgeYield).
	DefaultPurgeBatch = 20
	DefaultPurgePause = 5 * time.Millisecond
	// DefaultPurgeYield is PurgeOptions.Yield when zero (pace.go): while
	// events are arriving the purge waits 199 times as long as its last
	// batch took, so it holds the writer about 0.5 % of the time. On a
	// 1 M-event store with 200 webhooks/s, ingest p99 while purging was
	// ×1.05–×1.12 of without (unpaced ×4.1–×4.5), at 13–16 bodies/s
	// (docs/PERFORMANCE.md). When nothing arrives the purge runs at full
	// pace (Pause between batches, ~1,450 bodies/s).
	DefaultPurgeYield = DefaultYield
	// DefaultVacuumPages is PurgeOptions.VacuumPages when zero: 1 MiB of
	// 4 KiB pages per incremental vacuum step.
	DefaultVacuumPages = 256
)

// PurgeOptions selects what Purge removes.
type PurgeOptions struct {
	// Before is the cut-off (required): what was received, attempted or
	// claimed before it is purged.
	Before time.Time
	// Now stamps body_purged_at (required unless DryRun).
	Now time.Time
	// BatchSize is the number of rows one transaction changes (0 =
	// DefaultPurgeBatch).
	BatchSize int
	// VacuumPages is the number of pages one incremental vacuum step gives
	// back (SQLite; 0 = DefaultVacuumPages).
	VacuumPages int
	// Pause is waited between two batches, to leave the database to other
	// writers (0 = DefaultPurgePause; negative = none).
	Pause time.Duration
	// Yield paces the purge while events arrive (the newest event was
	// received within the last 2 s, by Clock; any process or replica
	// writing to the store counts): after a batch that took d, the next
	// waits at least Yield × d (at most 10 s), so the purge takes about
	// 1/(Yield+1) of the database's write time from ingest (more when a
	// batch takes over 50 ms). 0 = DefaultPurgeYield; negative = never
	// (only Pause).
	//
	// Failure policy: fails towards ingest. If the newest event cannot be
	// read, the store counts as busy; a purge that cannot finish at this
	// pace before its context ends stops, keeps what it committed, and the
	// next run goes on from the oldest body left.
	Yield int
	// Clock tells the time for Yield's busy test (nil: time.Now), and Sleep
	// waits between batches (nil: a timer; it returns ctx's error when ctx
	// ends first).
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// DryRun counts what would be purged and changes nothing.
	DryRun bool
}

// PurgeResult says what Purge removed (on a dry run: would remove).
type PurgeResult struct {
	// Bodies is the number of events whose raw body and headers were purged.
	Bodies int64
	// BodyBytes is the size of those bodies and headers.
	BodyBytes int64
	// Kept is the number of events received before the cut-off that keep
	// their body: their deliveries are not all sent, or they are not routed.
	Kept int64
	// Attempts, ChatMessages and ChatAudit are the rows deleted from the
	// attempt log, the chat callback msgIds and the chat command audit.
	Attempts     int64
	ChatMessages int64
	ChatAudit    int64
	// Batches is the number of transactions that changed rows.
	Batches int
	// Busy is the time the purge's writes took (on SQLite including their
	// wait for the writer), and Waited the time waited between them;
	// YieldedBatches counts the waits lengthened because events were
	// arriving.
	Busy, Waited   time.Duration
	YieldedBatches int
	// ReclaimedBytes is the space the database file gave back to the file
	// system (SQLite with incremental auto-vacuum; 0 otherwise and on a dry
	// run).
	ReclaimedBytes int64
	// AutoVacuum is the SQLite database's auto_vacuum mode: "incremental",
	// "none" or "full"; empty on PostgreSQL.
	AutoVacuum string
}

// purgeDriver is what Purge needs beyond backend; both drivers implement
// it here.
type purgeDriver interface {
	// textIn returns a condition "column col is one of ids" taking one
	// argument, and that argument.
	textIn(col string, ids []string) (cond string, arg any)
	// purgeLock is the locking clause of a batch's SELECT.
	purgeLock() string
	// sizeExpr is the size in bytes of the body and headers columns.
	sizeExpr() string
	// purgeBodySQL empties the body and headers of the events whose ids
	// are its third argument (after the empty body and the time stamped).
	purgeBodySQL() string
}

func (b *sqliteBackend) textIn(col string, ids []string) (string, any) {
	j, _ := json.Marshal(ids) // []string always marshals
	return col + ` IN (SELECT value FROM json_each(?))`, string(j)
}
func (b *sqliteBackend) purgeLock() string { return "" }
func (b *sqliteBackend) sizeExpr() string  { return `length(e.body) + length(CAST(e.headers AS BLOB))` }

// purgeBodySQL (SQLite) also moves each purged row to the end of the
// table (a new rowid past the largest), because SQLite gives a b-tree page
// back only when deleting from it leaves it underfull: a row rewritten
// smaller in place leaves its page sparse, never freed, never reused (new
// events are appended at the end), and the file would not shrink at all.
// Changing the rowid deletes the row from its old page (freeing pages as
// they empty) and appends the small row densely at the end. No foreign key
// refers to the rowid (deliveries and acks refer to events.id), so no
// cascade runs. The rowids given are max+1, max+2, …, one per id.
func (b *sqliteBackend) purgeBodySQL() string {
	return `UPDATE events SET rowid = m.mx + x.key + 1, body = ?, headers = '{}', body_purged_at = ?
	FROM (SELECT MAX(rowid) AS mx FROM events) AS m, json_each(?) AS x
	WHERE events.id = x.value AND events.body_purged_at IS NULL`
}

func (b *pgBackend) purgeBodySQL() string {
	return `UPDATE events SET body = ?, headers = '{}', body_purged_at = ?
	WHERE body_purged_at IS NULL AND id = ANY(?::text[])`
}

func (b *pgBackend) textIn(col string, ids []string) (string, any) {
	return col + ` = ANY(?::text[])`, ids
}
func (b *pgBackend) purgeLock() string { return "FOR NO KEY UPDATE SKIP LOCKED" }
func (b *pgBackend) sizeExpr() string  { return `octet_length(e.body) + octet_length(e.headers::text)` }

// purgeCandidates is the condition of an event whose body may go: still
// held, received before the cut-off, routed, every delivery sent.
const purgeCandidates = `e.body_purged_at IS NULL AND e.received_at < ?
	AND e.routed_at IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'sent')`

func purgeSelectSQL(size, lock string, after bool) string {
	cursor := ""
	if after {
		// A row value: both drivers then walk the (received_at, id) index
		// from the cursor (an OR of the two conditions made SQLite sort
		// every remaining row for each batch).
		cursor = ` AND (e.received_at, e.id) > (?, ?)`
	}
	return `SELECT e.id, e.received_at, ` + size + ` FROM events e WHERE ` + purgeCandidates + cursor +
		` ORDER BY e.received_at, e.id LIMIT ? ` + lock
}

// purgeCursor is the (received_at, id) of the last event a batch looked at.
type purgeCursor struct {
	set      bool
	received any // encoded time, as scanned
	id       string
}

// Purge implements Store.Purge.
func (c *core) Purge(ctx context.Context, o PurgeOptions) (res PurgeResult, err error) {
	const op = "purge"
	if o.Before.IsZero() {
		return res, fmt.Errorf("%s: %w", op, invalidf("before is zero"))
	}
	if !o.DryRun && o.Now.IsZero() {
		return res, fmt.Errorf("%s: %w", op, invalidf("now is zero"))
	}
	if o.BatchSize < 0 || o.VacuumPages < 0 {
		return res, fmt.Errorf("%s: %w", op, invalidf("batch size and vacuum pages must not be negative"))
	}
	if o.Pause == 0 {
		o.Pause = DefaultPurgePause
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultPurgeBatch
	}
	if o.VacuumPages == 0 {
		o.VacuumPages = DefaultVacuumPages
	}
	if o.Yield == 0 {
		o.Yield = DefaultPurgeYield
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	d, ok := c.b.(purgeDriver)
	if !ok {
		return res, fmt.Errorf("%s: %w", op, invalidf("this store cannot purge"))
	}
	sb, isSQLite := c.b.(*sqliteBackend)
	if isSQLite {
		mode, err := sb.autoVacuum(ctx)
		if err != nil {
			return res, err
		}
		res.AutoVacuum = mode
	}
	r := &purgeRun{d: d, o: o, res: &res, pace: &pacer{yield: o.Yield, pause: o.Pause, sleep: o.Sleep,
		busy: func(ctx context.Context) bool { return c.busy(ctx, o.Clock()) }}}
	defer func() { res.Busy, res.Waited, res.YieldedBatches = r.pace.held, r.pace.waited, r.pace.yielded }()
	if isSQLite && res.AutoVacuum == "incremental" && !o.DryRun {
		pageSize, err := sb.pageSize(ctx)
		if err != nil {
			return res, err
		}
		r.pageSize = pageSize
		r.vacuum = true
	}
	for i, step := range []func(context.Context, *purgeRun) error{c.purgeBodies, c.purgeAttempts, c.purgeChat} {
		if i > 0 && !o.DryRun { // the pace holds across steps too
			if err := r.pace.wait(ctx); err != nil {
				return res, unavailable(op, err)
			}
		}
		if err := step(ctx, r); err != nil {
			return res, err
		}
	}
	remaining, err := c.countBodiesBefore(ctx, o.Before)
	if err != nil {
		return res, err
	}
	res.Kept = remaining
	if o.DryRun {
		res.Kept -= res.Bodies
		return res, nil
	}
	if r.vacuum {
		if err := r.pace.wait(ctx); err != nil {
			return res, unavailable(op, err)
		}
		freed, err := sb.reclaim(ctx, r)
		res.ReclaimedBytes += freed
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// purgeRun is one Purge's state, shared by its steps.
type purgeRun struct {
	d   purgeDriver
	o   PurgeOptions
	res *PurgeResult
	// vacuum (SQLite, incremental auto-vacuum): each batch's transaction
	// ends by giving the pages it freed back to the file system
	// (vacuumIn).
	vacuum   bool
	pageSize int64
	// pace spaces the batches (pace.go).
	pace *pacer
}

// endBatch runs the batch's vacuum, if any, and sets *freed to the bytes
// it gave back. A batch's function may run twice (SQLite runs a group
// commit again when another write in it failed), so the caller adds
// *freed to the result only after the commit.
func (r *purgeRun) endBatch(ctx context.Context, q querier, freed *int64) error {
	*freed = 0
	if !r.vacuum {
		return nil
	}
	n, err := vacuumIn(ctx, q, 0)
	*freed = n * r.pageSize
	return err
}

// purgeBodies empties the raw body and headers of the candidate events,
// oldest first, one batch per transaction. The cursor makes one run walk
// the candidates once even when some are skipped (locked on PostgreSQL).
func (c *core) purgeBodies(ctx context.Context, r *purgeRun) error {
	const op = "purge bodies"
	d, o, res := r.d, r.o, r.res
	before := c.tv(o.Before)
	var cur purgeCursor
	for {
		var (
			ids   []string
			bytes int64
			freed int64
			next  = cur
		)
		batch := func(q querier) error {
			ids, bytes, next = ids[:0], 0, cur
			lock := d.purgeLock()
			if o.DryRun {
				lock = ""
			}
			args := []any{before}
			if cur.set {
				args = append(args, cur.received, cur.id)
			}
			args = append(args, o.BatchSize)
			rs, err := q.query(ctx, purgeSelectSQL(d.sizeExpr(), lock, cur.set), args...)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var (
					id   string
					recv any
					n    sql.NullInt64
				)
				if err := rs.Scan(&id, &recv, &n); err != nil {
					return err
				}
				ids, bytes = append(ids, id), bytes+n.Int64
				next = purgeCursor{set: true, received: recv, id: id}
			}
			if err := rs.Err(); err != nil {
				return err
			}
			rs.Close()
			if o.DryRun || len(ids) == 0 {
				return nil
			}
			_, arg := d.textIn("id", ids)
			if _, err := q.exec(ctx, d.purgeBodySQL(), []byte{}, c.tv(o.Now), arg); err != nil {
				return err
			}
			return r.endBatch(ctx, q, &freed)
		}
		var err error
		if o.DryRun {
			err = c.b.read(ctx, op, batch)
		} else {
			err = r.pace.write(ctx, c.b.write, op, batch)
		}
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		res.Bodies += int64(len(ids))
		res.BodyBytes += bytes
		res.ReclaimedBytes += freed
		if !o.DryRun {
			res.Batches++
		}
		cur = next
		if len(ids) < o.BatchSize {
			return nil
		}
		if err := r.pace.wait(ctx); err != nil {
			return unavailable(op, err)
		}
	}
}

const (
	// attemptsBoundSQL is the last delivery created before the cut-off:
	// later ones have no attempt before it.
	attemptsBoundSQL = `SELECT COALESCE(MAX(id), 0) FROM deliveries WHERE created_at < ?`
	// sentDeliveriesSQL is the next batch of sent deliveries in id order.
	sentDeliveriesSQL = `SELECT id FROM deliveries WHERE id > ? AND id <= ? AND status = 'sent' ORDER BY id LIMIT ?`
	countAttemptsSQL  = `SELECT COUNT(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
	WHERE d.status = 'sent' AND a.at < ?`
)

// purgeAttempts deletes the attempts before the cut-off of sent
// deliveries, walking the deliveries by id in batches.
func (c *core) purgeAttempts(ctx context.Context, r *purgeRun) error {
	const op = "purge attempts"
	o, res := r.o, r.res
	before := c.tv(o.Before)
	if o.DryRun {
		return c.b.read(ctx, op, func(q querier) error {
			return q.queryRow(ctx, countAttemptsSQL, before).Scan(&res.Attempts)
		})
	}
	var bound int64
	err := c.b.read(ctx, op, func(q querier) error {
		return q.queryRow(ctx, attemptsBoundSQL, before).Scan(&bound)
	})
	if err != nil {
		return err
	}
	var cursor int64
	for cursor < bound {
		var (
			ids   []int64
			n     int64
			freed int64
		)
		err := r.pace.write(ctx, c.b.write, op, func(q querier) error {
			ids, n = ids[:0], 0
			rs, err := q.query(ctx, sentDeliveriesSQL, cursor, bound, o.BatchSize)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var id int64
				if err := rs.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			if err := rs.Err(); err != nil {
				return err
			}
			rs.Close()
			if len(ids) == 0 {
				return nil
			}
			cond, arg := c.b.idIn(ids) // "id …": the column here is delivery_id
			cond = "delivery_" + cond
			if n, err = q.exec(ctx, `DELETE FROM delivery_attempts WHERE at < ? AND `+cond, before, arg); err != nil {
				return err
			}
			return r.endBatch(ctx, q, &freed)
		})
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		res.Attempts += n
		res.ReclaimedBytes += freed
		if n > 0 {
			res.Batches++
		}
		cursor = ids[len(ids)-1]
		if len(ids) < o.BatchSize {
			return nil
		}
		if err := r.pace.wait(ctx); err != nil {
			return unavailable(op, err)
		}
	}
	return nil
}

// purgeChat deletes chat callback msgIds and audit entries before the
// cut-off, a batch per transaction.
func (c *core) purgeChat(ctx context.Context, r *purgeRun) error {
	const op = "purge chat"
	d, o, res := r.d, r.o, r.res
	before := c.tv(o.Before)
	tables := []struct {
		count, del string
		n          *int64
	}{
		{`SELECT COUNT(*) FROM chat_messages WHERE claimed_at < ?`,
			`DELETE FROM chat_messages WHERE msg_id IN (SELECT msg_id FROM chat_messages WHERE claimed_at < ?
			ORDER BY claimed_at LIMIT ? ` + d.purgeLock() + `)`, &res.ChatMessages},
		{`SELECT COUNT(*) FROM chat_audit WHERE at < ?`,
			`DELETE FROM chat_audit WHERE id IN (SELECT id FROM chat_audit WHERE at < ?
			ORDER BY at, id LIMIT ? ` + d.purgeLock() + `)`, &res.ChatAudit},
	}
	for i, t := range tables {
		if i > 0 && !o.DryRun {
			if err := r.pace.wait(ctx); err != nil {
				return unavailable(op, err)
			}
		}
		if o.DryRun {
			err := c.b.read(ctx, op, func(q querier) error { return q.queryRow(ctx, t.count, before).Scan(t.n) })
			if err != nil {
				return err
			}
			continue
		}
		for {
			var n, freed int64
			err := r.pace.write(ctx, c.b.write, op, func(q querier) error {
				var err error
				if n, err = q.exec(ctx, t.del, before, o.BatchSize); err != nil {
					return err
				}
				return r.endBatch(ctx, q, &freed)
			})
			if err != nil {
				return err
			}
			*t.n += n
			res.ReclaimedBytes += freed
			if n > 0 {
				res.Batches++
			}
			if n < int64(o.BatchSize) {
				break
			}
			if err := r.pace.wait(ctx); err != nil {
				return unavailable(op, err)
			}
		}
	}
	return nil
}

// countBodiesBefore counts the events received before the cut-off that
// still hold their body.
func (c *core) countBodiesBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := c.b.read(ctx, "purge", func(q querier) error {
		return q.queryRow(ctx, `SELECT COUNT(*) FROM events WHERE body_purged_at IS NULL AND received_at < ?`,
			c.tv(before)).Scan(&n)
	})
	return n, err
}

// autoVacuum reads the database's auto_vacuum mode. The pragma answers
// what the connection saw when it last read the file's header, baked into
// the statement when it is prepared: so it runs unprepared, on one pinned
// connection, after a statement that reads the header again.
func (b *sqliteBackend) autoVacuum(ctx context.Context) (string, error) {
	const op = "auto_vacuum"
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return "", unavailable(op, err)
	}
	defer conn.Close()
	var n, mode int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&n); err != nil {
		return "", b.classify(op, err)
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return "", b.classify(op, err)
	}
	switch mode {
	case 0:
		return "none", nil
	case 1:
		return "full", nil
	case 2:
		return "incremental", nil
	}
	return "", fmt.Errorf("%s: unknown mode %d", op, mode)
}

// SQLiteSpace is how a SQLite database file uses its pages.
type SQLiteSpace struct {
	PageSize  int64
	Pages     int64 // the database's size in pages (the file, once checkpointed)
	FreePages int64 // pages on the freelist: reusable, or reclaimable by vacuum
	// AutoVacuum is "none", "full" or "incremental".
	AutoVacuum string
}

// Bytes is the database's size.
func (s SQLiteSpace) Bytes() int64 { return s.PageSize * s.Pages }

// Space reads how the database uses its pages.
func (s *SQLite) Space(ctx context.Context) (SQLiteSpace, error) {
	return s.backend.space(ctx)
}

func (b *sqliteBackend) space(ctx context.Context) (SQLiteSpace, error) {
	var sp SQLiteSpace
	err := b.read(ctx, "space", func(q querier) error {
		if err := q.queryRow(ctx, `PRAGMA page_size`).Scan(&sp.PageSize); err != nil {
			return err
		}
		if err := q.queryRow(ctx, `PRAGMA page_count`).Scan(&sp.Pages); err != nil {
			return err
		}
		return q.queryRow(ctx, `PRAGMA freelist_count`).Scan(&sp.FreePages)
	})
	if err != nil {
		return sp, err
	}
	sp.AutoVacuum, err = b.autoVacuum(ctx)
	return sp, err
}

// pageSize reads the database's page size.
func (b *sqliteBackend) pageSize(ctx context.Context) (int64, error) {
	var n int64
	err := b.read(ctx, "page size", func(q querier) error {
		return q.queryRow(ctx, `PRAGMA page_size`).Scan(&n)
	})
	return n, err
}

// vacuumIn runs PRAGMA incremental_vacuum(limit) (limit 0: the whole
// freelist) in q's transaction and returns how many pages the database
// gave back.
//
// Purge runs it at the end of every batch, so the freelist never holds
// more than about one batch's pages. That matters: when the page at the
// end of the file is itself free, incremental vacuum looks it up in the
// freelist, a walk of the freelist's trunk pages, so vacuuming a freelist
// of hundreds of thousands of pages at once takes time quadratic in its
// length (measured: 1.5 MB/s given back at the end of a 1 M-event purge).
func vacuumIn(ctx context.Context, q querier, limit int) (int64, error) {
	var before, after int64
	if err := q.queryRow(ctx, `PRAGMA page_count`).Scan(&before); err != nil {
		return 0, err
	}
	// The pragma gives back one page per step of the statement: run it to
	// the end.
	rs, err := q.query(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, limit))
	if err != nil {
		return 0, err
	}
	for rs.Next() {
	}
	err = rs.Err()
	rs.Close()
	if err != nil {
		return 0, err
	}
	if err := q.queryRow(ctx, `PRAGMA page_count`).Scan(&after); err != nil {
		return 0, err
	}
	return before - after, nil
}

// reclaim gives what is left on the freelist back to the file system in
// steps of o.VacuumPages pages, each its own write (incremental
// auto-vacuum only), then asks for a passive checkpoint so the file shrinks
// without waiting for readers. It returns the bytes given back.
func (b *sqliteBackend) reclaim(ctx context.Context, r *purgeRun) (int64, error) {
	o := r.o
	const op = "incremental vacuum"
	pageSize, err := b.pageSize(ctx)
	if err != nil {
		return 0, err
	}
	var pages int64
	for {
		var free, n int64
		err := r.pace.write(ctx, b.write, op, func(q querier) error {
			var err error
			if n, err = vacuumIn(ctx, q, o.VacuumPages); err != nil {
				return err
			}
			return q.queryRow(ctx, `PRAGMA freelist_count`).Scan(&free)
		})
		pages += n
		if err != nil {
			return pages * pageSize, err
		}
		if free == 0 || n == 0 { // done, or nothing moved: stop rather than spin
			break
		}
		if err := r.pace.wait(ctx); err != nil {
			return pages * pageSize, unavailable(op, err)
		}
	}
	if !b.memory {
		err = b.read(ctx, "checkpoint", func(q querier) error {
			var busy, logPages, done int
			return q.queryRow(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &done)
		})
		if err != nil {
			return pages * pageSize, err
		}
	}
	return pages * pageSize, nil
}

// ConvertIncremental switches a database created before migration 0009
// (auto_vacuum none) to incremental auto-vacuum, so Purge can give space
// back to the file system: it sets the mode and runs VACUUM, which rewrites
// the whole file. VACUUM needs free disk space about twice the database's
// size (the copy and its WAL) and holds the write lock throughout (ingest
// waits, and webhooks time out if it lasts long): run it with bankbot
// stopped, or at a quiet hour. A database already incremental is left
// alone (converted false). The WAL is checkpointed and truncated after.
func (s *SQLite) ConvertIncremental(ctx context.Context) (converted bool, err error) {
	const op = "convert to incremental auto-vacuum"
	b := s.backend
	mode, err := b.autoVacuum(ctx)
	if err != nil {
		return false, err
	}
	if mode == "incremental" {
		return false, nil
	}
	// The pragma and VACUUM must run on one connection, outside any
	// transaction (the writer goroutine is idle: this is a CLI command).
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return false, unavailable(op, err)
	}
	defer conn.Close()
	for _, stmt := range []string{`PRAGMA auto_vacuum = INCREMENTAL`, `VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return false, b.classify(op, fmt.Errorf("%s: %w", stmt, err))
		}
	}
	mode, err = b.autoVacuum(ctx)
	if err != nil {
		return false, err
	}
	if mode != "incremental" {
		return false, fmt.Errorf("%s: auto_vacuum is still %s after VACUUM", op, mode)
	}
	return true, nil
}

// createIncremental makes a database file that does not exist yet (or is
// empty) one with incremental auto-vacuum, so retention (Purge) can give
// freed pages back to the file system. The mode can only be chosen before
// the file's first page is written, which switching to WAL already does:
// so a bare connection sets the pragma and then WAL, before the store's
// connections (which set WAL first) exist. Setting the pragma on every
// connection instead is not harmless: on an auto-vacuum database it writes
// the header, and waits for the writer's lock. A database that already
// exists is left alone: `bankbot storage vacuum` converts it
// (ConvertIncremental).
func createIncremental(ctx context.Context, path string) error {
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return nil
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range []string{`PRAGMA auto_vacuum = INCREMENTAL`, `PRAGMA journal_mode = WAL`} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create %s: %s: %w", path, stmt, err)
		}
	}
	return db.Close()
}
