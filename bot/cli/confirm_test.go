package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// TestEventsShow_Confirmation: events show prints an event's confirmation
// (waiting with its retry state, or a mismatch with what the API said), in
// text and JSON.
func TestEventsShow_Confirmation(t *testing.T) {
	dir, path := newConfig(t)
	db := filepath.Join(dir, "bankbot.db")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	st := openTestStore(t, db)
	wait := payment("ev_wait", "opn", now.Add(-time.Hour), 5000, "THB", "chrg_wait", "")
	wait.Confirmation = store.ConfirmUnconfirmed
	_, err := st.InsertEvent(ctx, wait)
	require.NoError(t, err)
	next := now.Add(5 * time.Minute)
	require.NoError(t, st.DeferConfirmation(ctx, "ev_wait", "Opn API: server: GET /charges/chrg_wait: HTTP 503", next))
	bad := payment("ev_bad", "opn", now.Add(-time.Hour), 500000, "THB", "chrg_bad", "")
	bad.Confirmation = store.ConfirmUnconfirmed
	_, err = st.InsertEvent(ctx, bad)
	require.NoError(t, err)
	require.NoError(t, st.ConfirmEvent(ctx, store.ConfirmedEvent{EventID: "ev_bad", Status: store.ConfirmMismatch,
		Reason: "amount: webhook THB 5000.00, API THB 50.00", Now: now}))

	r := run(t, path, "", "events", "show", "ev_wait")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `confirmation\s+unconfirmed: waiting, 1 failed attempts, next .* — Opn API: server: GET /charges/chrg_wait: HTTP 503`, r.stdout)
	require.Regexp(t, `routed\s+not yet`, r.stdout)

	r = run(t, path, "", "events", "show", "ev_bad")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `confirmation\s+MISMATCH: not delivered as genuine \(security alert sent\) — amount: webhook THB 5000.00, API THB 50.00`, r.stdout)

	r = run(t, path, "", "events", "show", "ev_wait", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var got eventJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
	require.NotNil(t, got.Confirmation)
	require.Equal(t, "unconfirmed", got.Confirmation.Status)
	require.Equal(t, 1, got.Confirmation.Attempts)
	require.NotNil(t, got.Confirmation.NextAttemptAt)
	require.True(t, next.Equal(*got.Confirmation.NextAttemptAt))
}

// TestReplay_MismatchStaysSecurityAlert: replaying a webhook the provider's
// API contradicted requeues its security alert; it is never rerouted as a
// normal alert. An event still waiting for confirmation is not sent.
func TestReplay_MismatchStaysSecurityAlert(t *testing.T) {
	dir, path := newConfig(t)
	db := filepath.Join(dir, "bankbot.db")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	st := openTestStore(t, db)
	bad := payment("ev_bad", "opn", now.Add(-time.Hour), 500000, "THB", "chrg_bad", "")
	bad.Confirmation = store.ConfirmUnconfirmed
	_, err := st.InsertEvent(ctx, bad)
	require.NoError(t, err)
	spec := []byte(`{"template":"default","language":"en","title":"⚠️ Webhook not confirmed by Opn","text":"not delivered as genuine"}`)
	require.NoError(t, st.ConfirmEvent(ctx, store.ConfirmedEvent{EventID: "ev_bad", Status: store.ConfirmMismatch,
		Deliveries: []store.NewDelivery{{Route: "sec", Robot: "log", Spec: spec}}, Now: now}))
	wait := payment("ev_wait", "opn", now.Add(-time.Hour), 5000, "THB", "chrg_wait", "")
	wait.Confirmation = store.ConfirmUnconfirmed
	_, err = st.InsertEvent(ctx, wait)
	require.NoError(t, err)

	r := run(t, path, "", "replay", "ev_bad")
	require.Equal(t, 0, r.code, r.stderr)
	ds, err := st.ListDeliveries(ctx, store.DeliveryFilter{EventID: "ev_bad"})
	require.NoError(t, err)
	require.Len(t, ds, 1, "no normal alert was added")
	require.Equal(t, spec, ds[0].Spec)

	run(t, path, "", "replay", "ev_wait")
	ds, err = st.ListDeliveries(ctx, store.DeliveryFilter{EventID: "ev_wait"})
	require.NoError(t, err)
	require.Empty(t, ds)
	e, err := st.GetEvent(ctx, "ev_wait")
	require.NoError(t, err)
	require.True(t, e.RoutedAt.IsZero(), "still waiting for confirmation")
}

// TestConfigCheck_Confirm: config check names each bad confirm key, and
// never prints the api_key.
func TestConfigCheck_Confirm(t *testing.T) {
	const key = "skey_live_checkmustnotprintthis"
	cfg := strings.Replace(goodConfig("@DIR@", ""), "    secrets: [{value: "+opnKey+"}]\n",
		"    secrets: [{value: "+opnKey+"}]\n    confirm: {api_base: \"api.omise.co\", api_key: "+key+"}\n", 1)
	cfg = strings.Replace(cfg, "    secrets: [{value: "+stripeKey+"}]\n",
		"    secrets: [{value: "+stripeKey+"}]\n    confirm: {api_base: \"https://api.stripe.com\"}\n", 1)
	_, path := writeConfig(t, cfg)
	r := run(t, path, "", "config", "check")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	out := r.stdout + r.stderr
	for _, line := range []string{
		`sources.opn.confirm.api_base: not an http(s) URL: "api.omise.co"`,
		`sources.stripe.confirm: provider "stripe" cannot confirm events through its API (confirm is available for: midtrans, omise)`,
		`sources.stripe.confirm.api_key: required`,
	} {
		require.Contains(t, out, line)
	}
	require.NotContains(t, out, key)

	ok := strings.Replace(goodConfig("@DIR@", ""), "    secrets: [{value: "+opnKey+"}]\n",
		"    secrets: [{value: "+opnKey+"}]\n    confirm: {api_base: \"https://api.omise.co\", api_key: "+key+", timeout: 5s}\n", 1)
	_, path = writeConfig(t, ok)
	r = run(t, path, "", "config", "check")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.NotContains(t, r.stdout+r.stderr, key)
}
