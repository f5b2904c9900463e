package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/store"
)

// retention is the scheduled retention job's work: it purges what is older
// than storage.retention (store.Purge: raw bodies and headers of events whose
// deliveries are all sent, the attempt log, chat msgIds and audit), then the
// schedule tick log (store.PurgeTicks), and says what it did.
//
// Failure policy: fails open on completeness and closed on data. A batch that
// fails ends the run with its error (the tick is recorded failed, the next
// tick starts again from the oldest row still holding a body); what was
// committed stays purged; an event whose deliveries are not all sent keeps its
// body, so no dead letter or pending delivery loses what replay needs.
func (a *App) retention(ctx context.Context, now time.Time) (string, error) {
	st := a.runtime.Load().Config.Storage
	cut := now.Add(-st.Retention.Duration())
	res, err := a.store.Purge(ctx, store.PurgeOptions{
		// Pause and Yield: the store's defaults (5 ms between batches; about
		// 0.5 % of the writer's time while webhooks arrive). Whether they
		// arrive is judged on the App's clock (the one that stamps
		// received_at); the waits themselves are real time, like the batches
		// they are proportional to.
		Before: cut, Now: now, BatchSize: st.RetentionBatch, Clock: a.clock.Now,
	})
	a.log.WithFields(logrus.Fields{
		"before": cut.UTC().Format(time.RFC3339), "bodies": res.Bodies, "body_bytes": res.BodyBytes,
		"kept": res.Kept, "attempts": res.Attempts, "chat_messages": res.ChatMessages,
		"chat_audit": res.ChatAudit, "batches": res.Batches, "reclaimed_bytes": res.ReclaimedBytes,
		"writing": res.Busy.Round(time.Millisecond).String(), "waiting": res.Waited.Round(time.Millisecond).String(),
		"slowed_for_ingest": res.YieldedBatches,
	}).Info("retention purge")
	if err == nil {
		// The schedule tick log: ticks older than the cut-off, except each
		// schedule's latest of each result (where the next summary starts).
		var ticks int64
		ticks, err = a.store.PurgeTicks(ctx, cut)
		a.log.WithField("ticks", ticks).Info("retention purge of old schedule ticks")
	}
	what := fmt.Sprintf("purged before %s: %d bodies (%d bytes), %d attempts, %d chat ids, %d audit rows; %d old events kept (not all sent); %d bytes given back",
		cut.UTC().Format(time.RFC3339), res.Bodies, res.BodyBytes, res.Attempts, res.ChatMessages, res.ChatAudit, res.Kept, res.ReclaimedBytes)
	if err != nil {
		return what, fmt.Errorf("retention purge: %w", err)
	}
	return what, nil
}
