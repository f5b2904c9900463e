package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bankbot/bankbot/store"
)

// The outbox operations an operator runs: the CLI (bankbot deadletters
// retry, bankbot replay) and the web console share them, so both re-drive
// deliveries through today's config the same way.

// RetryDead makes dead delivery id due again at now. When its robot is no
// longer configured (renamed or removed), it goes through its route as
// configured today instead, so it is not sent to a robot that no longer
// exists; note then says so. With no runtime (today's routes could not be
// read) it goes to its robot as routed.
func RetryDead(ctx context.Context, rt *Runtime, st store.Store, id int64, now time.Time) (note string, err error) {
	d, err := st.GetDelivery(ctx, id)
	if err != nil {
		return "", err
	}
	if d.Status != store.StatusDead {
		return "", fmt.Errorf("it is %s, not dead: %w", d.Status, store.ErrConflict)
	}
	if rt == nil {
		return "", st.RequeueDelivery(ctx, id, now)
	}
	if _, ok := rt.Robots[d.Robot]; ok {
		return "", st.RequeueDelivery(ctx, id, now)
	}
	route := rt.RouteNamed(d.Route)
	if route == nil {
		return "", fmt.Errorf("robot %q and route %q are no longer configured; `bankbot replay %s` sends the event through today's routes", d.Robot, d.Route, d.EventID)
	}
	ev, err := st.GetEvent(ctx, d.EventID)
	if err != nil {
		return "", err
	}
	spec, err := json.Marshal(route.Spec(ev.Event))
	if err != nil {
		return "", err
	}
	if ev.Confirmation.Status == store.ConfirmMismatch {
		spec = d.Spec // the security alert stays a security alert
	}
	if _, err := st.RerouteEvent(ctx, d.EventID, []store.NewDelivery{{Route: route.Name, Robot: route.Robot, Spec: spec}}, now); err != nil {
		return "", err
	}
	return fmt.Sprintf("delivery %d: robot %q is no longer configured; sent through route %q to robot %q", id, d.Robot, route.Name, route.Robot), nil
}

// ReplayEvent sends ev again through today's routes at now, or, without a
// runtime, requeues its deliveries as they were routed. matched is false
// when no route takes it (or, without a runtime, it has no delivery).
func ReplayEvent(ctx context.Context, rt *Runtime, st store.Store, ev store.StoredEvent, now time.Time) (n int, matched bool, err error) {
	if rt == nil || ev.Confirmation.Status == store.ConfirmMismatch || ev.Confirmation.Status == store.ConfirmUnconfirmed {
		// A webhook the provider's API contradicted is only ever sent as
		// the security alert it was routed with, and one still waiting for
		// confirmation is not sent before it is confirmed: neither is
		// rerouted through today's routes as a normal alert.
		n, err = st.RequeueEvent(ctx, ev.ID, now)
		return n, n > 0, err
	}
	ds, err := rt.Deliveries(ev.Source, ev.Event)
	if err != nil || len(ds) == 0 {
		return 0, false, err
	}
	n, err = st.RerouteEvent(ctx, ev.ID, ds, now)
	return n, true, err
}

// ResolveEvents returns the events id names: bankbot's id, else the
// provider's event id (one per source that received it).
func ResolveEvents(ctx context.Context, st store.Store, id string) ([]store.StoredEvent, error) {
	ev, err := st.GetEvent(ctx, id)
	if err == nil {
		return []store.StoredEvent{ev}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	es, err := st.ListEvents(ctx, store.EventFilter{ProviderEventID: id, Limit: 100})
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("no event with bankbot id or provider event id %q: %w", id, store.ErrNotFound)
	}
	return es, nil
}

// ResolveEvent is ResolveEvents for operations on one event: a provider
// event id received by several sources is refused, naming them.
func ResolveEvent(ctx context.Context, st store.Store, id string) (store.StoredEvent, error) {
	es, err := ResolveEvents(ctx, st, id)
	if err != nil {
		return store.StoredEvent{}, err
	}
	if len(es) > 1 {
		var names []string
		for _, e := range es {
			names = append(names, e.ID+" ("+e.Source+")")
		}
		return store.StoredEvent{}, fmt.Errorf("provider event id %q was received by %d sources: %s; give bankbot's id", id, len(es), strings.Join(names, ", "))
	}
	return es[0], nil
}
