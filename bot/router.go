package bot

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/store"
)

// routeBatch is how many stored events one routing pass reads at a time,
// and routeParallel how many of them are routed at once.
const (
	routeBatch    = 100
	routeParallel = 32
)

// orphanSweep is how often the outbox is checked for robots without a worker.
const orphanSweep = time.Minute

// routeLoop turns stored events into outbox rows: after each accepted
// webhook, and every poll interval as a backstop (an event committed just
// before a crash is routed after restart).
//
// Failure policy: a store error ends the pass and the next pass retries; an
// event stays unrouted (and counted in bankbot_outbox_depth{status="unrouted"})
// until it is routed, never skipped.
func (a *App) routeLoop(ctx context.Context) {
	lastSweep := a.clock.Now()
	for {
		a.routePending(ctx)
		// Now and then, look for deliveries of robots that have no worker
		// (a robot removed from the config while rows were queued).
		if now := a.clock.Now(); now.Sub(lastSweep) >= orphanSweep {
			lastSweep = now
			a.deliverer.apply()
		}
		select {
		case <-ctx.Done():
			return
		case <-a.routeWake:
		case <-a.clock.After(a.runtime.Load().Config.Delivery.PollInterval):
		}
	}
}

func (a *App) routePending(ctx context.Context) {
	for ctx.Err() == nil {
		// Events whose confirmation waits for a retry are left out until
		// their time (they stay unrouted in the store, never dropped).
		evs, err := a.store.DueEvents(ctx, a.clock.Now(), routeBatch)
		if err != nil {
			a.log.WithError(err).Error("routing: cannot read unrouted events")
			return
		}
		if len(evs) == 0 {
			return
		}
		// Route the batch concurrently: the store commits concurrent writes
		// together (SQLite group commit), so routing keeps up with ingest
		// instead of taking one commit per event.
		var wg sync.WaitGroup
		var failed atomic.Bool
		sem := make(chan struct{}, routeParallel)
		for _, ev := range evs {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := a.routeOne(ctx, ev); err != nil {
					failed.Store(true)
					if ctx.Err() == nil {
						a.log.WithError(err).WithField("event_id", ev.ID).Error("routing failed; will retry")
					}
				}
			})
		}
		wg.Wait()
		if failed.Load() || len(evs) < routeBatch {
			return
		}
	}
}

func (a *App) routeOne(ctx context.Context, ev store.StoredEvent) error {
	rt := a.runtime.Load()
	if ev.Confirmation.Status == store.ConfirmUnconfirmed {
		if src := rt.Sources[ev.Source]; src != nil && src.Confirmer != nil {
			return a.confirmAndRoute(ctx, rt, src, ev)
		}
		a.log.WithFields(logrus.Fields{"event_id": ev.ID, "source": ev.Source}).
			Warn("event waited for confirmation, but its source no longer sets confirm: routed unconfirmed")
	}
	ds, err := rt.Deliveries(ev.Source, ev.Event)
	if err != nil {
		return err
	}
	robots := map[string]bool{}
	for _, d := range ds {
		robots[d.Robot] = true
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.store.RouteEvent(ctx, ev.ID, ds, a.clock.Now()); err != nil {
		return err
	}
	log := a.log.WithFields(logrus.Fields{"event_id": ev.ID, "source": ev.Source, "kind": ev.Event.Kind})
	if len(ds) == 0 {
		a.metrics.Unrouted.WithLabelValues(ev.Source).Inc()
		log.Warn("event matched no route: stored, not sent (add a route to alert on it)")
		return nil
	}
	log.WithField("deliveries", len(ds)).Debug("event routed")
	for r := range robots {
		a.deliverer.wake(r)
	}
	return nil
}
