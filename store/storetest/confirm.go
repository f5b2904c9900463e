package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// testConfirmation: an event stored unconfirmed waits out its retry time in
// DueEvents (but stays in UnroutedEvents: never dropped), and ConfirmEvent
// records the outcome, replaces the canonical event and routes it at once.
func testConfirmation(t *testing.T, s store.Store) {
	e := newEvent(1)
	e.Confirmation = store.ConfirmUnconfirmed
	mustInsert(t, s, e)
	mustInsert(t, s, newEvent(2))

	got, err := s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, store.Confirmation{Status: store.ConfirmUnconfirmed}, got.Confirmation)

	next := base().Add(time.Minute)
	require.NoError(t, s.DeferConfirmation(ctx(t), e.ID, "server: 503", next))
	require.NoError(t, s.DeferConfirmation(ctx(t), e.ID, "timeout", next.Add(time.Minute)))
	got, err = s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, store.Confirmation{Status: store.ConfirmUnconfirmed, Reason: "timeout", Attempts: 2, NextAt: next.Add(time.Minute)}, got.Confirmation)

	due, err := s.DueEvents(ctx(t), next, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "the deferred event waits")
	require.Equal(t, "evt_0002", due[0].ID)
	unrouted, err := s.UnroutedEvents(ctx(t), 10)
	require.NoError(t, err)
	require.Len(t, unrouted, 2, "a deferred event is still unrouted, never dropped")
	due, err = s.DueEvents(ctx(t), next.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	require.Equal(t, e.ID, due[0].ID)
	require.Equal(t, 2, due[0].Confirmation.Attempts)

	later := e.Event
	later.Kind, later.Amount = bankhooks.KindPaymentFailed, 4000
	now := base().Add(time.Hour)
	require.NoError(t, s.ConfirmEvent(ctx(t), store.ConfirmedEvent{
		EventID: e.ID, Status: store.ConfirmConfirmed, Reason: "webhook said pending; API says failed",
		Event: &later, Deliveries: []store.NewDelivery{{Route: "all", Robot: "r"}}, Now: now,
	}))
	got, err = s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, store.Confirmation{Status: store.ConfirmConfirmed, Reason: "webhook said pending; API says failed", Attempts: 2}, got.Confirmation)
	require.Equal(t, later, got.Event)
	require.Equal(t, now, got.RoutedAt)
	require.Equal(t, e.Body, got.Body, "the raw body is never changed")
	list, err := s.ListEvents(ctx(t), store.EventFilter{Kind: string(bankhooks.KindPaymentFailed)})
	require.NoError(t, err)
	require.Len(t, list, 1, "the kind column follows the replaced event")
	ds, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{EventID: e.ID})
	require.NoError(t, err)
	require.Len(t, ds, 1)

	err = s.ConfirmEvent(ctx(t), store.ConfirmedEvent{EventID: e.ID, Status: store.ConfirmMismatch, Now: now})
	require.ErrorIs(t, err, store.ErrConflict, "a routed event is not confirmed twice")
	require.ErrorIs(t, s.DeferConfirmation(ctx(t), e.ID, "x", now), store.ErrConflict)
	require.ErrorIs(t, s.DeferConfirmation(ctx(t), "evt_none", "x", now), store.ErrNotFound)
	require.ErrorIs(t, s.ConfirmEvent(ctx(t), store.ConfirmedEvent{EventID: "evt_none", Status: store.ConfirmMismatch, Now: now}), store.ErrNotFound)
	require.ErrorIs(t, s.ConfirmEvent(ctx(t), store.ConfirmedEvent{EventID: "evt_0002", Status: "maybe", Now: now}), store.ErrInvalid)
	_, err = s.DueEvents(ctx(t), time.Time{}, 10)
	require.ErrorIs(t, err, store.ErrInvalid)
}

// testConfirmationMismatch: a mismatch keeps the stored event as the webhook
// claimed it and routes the given (security alert) deliveries.
func testConfirmationMismatch(t *testing.T, s store.Store) {
	e := newEvent(3)
	e.Confirmation = store.ConfirmUnconfirmed
	mustInsert(t, s, e)
	now := base().Add(time.Minute)
	require.NoError(t, s.ConfirmEvent(ctx(t), store.ConfirmedEvent{
		EventID: e.ID, Status: store.ConfirmMismatch, Reason: "amount: webhook THB 50.03, API THB 1.00",
		Deliveries: []store.NewDelivery{{Route: "a", Robot: "r1", Spec: []byte(`{"text":"x"}`)}, {Route: "b", Robot: "r2"}}, Now: now,
	}))
	got, err := s.GetEvent(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, store.ConfirmMismatch, got.Confirmation.Status)
	require.Equal(t, "amount: webhook THB 50.03, API THB 1.00", got.Confirmation.Reason)
	require.Equal(t, e.Event, got.Event)
	ds, err := s.ListDeliveries(ctx(t), store.DeliveryFilter{EventID: e.ID})
	require.NoError(t, err)
	require.Len(t, ds, 2)
	evs, err := s.GetEvents(ctx(t), []string{e.ID})
	require.NoError(t, err)
	require.Equal(t, store.ConfirmMismatch, evs[e.ID].Confirmation.Status)
}
