package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/bot/confirm"
	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/store"
)

// Confirmation through the provider's API (sources.*.confirm).
//
// A money event (payment.*, refund.*, transfer.*) of a source with confirm
// is stored unrouted and marked unconfirmed at ingest; the webhook is
// answered at once. The router then asks the provider's API
// (bot/confirm) before routing it:
//
//   - the API agrees (kind, amount, currency): routed as usual, marked
//     confirmed;
//   - the API reports a later status of the same object (webhook pending,
//     API succeeded or failed): routed with the API's kind, marked
//     confirmed with a note of what changed;
//   - the API contradicts the webhook, or has no such object: marked
//     mismatch, and a security alert instead of the normal alert goes to the
//     robots of the routes that would have received it;
//   - no usable answer (network, timeout, 5xx, 429, refused key …): the
//     event stays unrouted and is asked about again with backoff.

// Confirmation retry schedule: exponential from confirmRetryInitial,
// doubling per failed attempt, ±50 % jitter, each wait capped at
// confirmRetryMax. confirmAlertAfter is how long an event may wait before
// the ops route hears that confirmation is failing for its source.
const (
	confirmRetryInitial = 30 * time.Second
	confirmRetryMax     = 10 * time.Minute
	confirmAlertAfter   = time.Hour
	// confirmStoreTimeout bounds the store writes of one confirmation.
	confirmStoreTimeout = 10 * time.Second
)

// needsConfirm reports whether ev must be confirmed through src's
// provider API before it is routed.
func needsConfirm(src *Source, ev bankhooks.Event) bool {
	return src.Confirmer != nil && src.Confirmer.Handles(ev.Kind)
}

// confirmState remembers, per source, that the ops route has been told
// confirmation is failing (so it is told once per outage, and told again
// when it works). It is kept in memory: after a restart during an outage
// the ops route is told once more.
type confirmState struct {
	mu      sync.Mutex
	alerted map[string]bool
}

// confirmAndRoute confirms one unconfirmed event and routes it by the
// outcome. It returns an error only when the outcome could not be stored
// (the router retries the event on its next pass).
func (a *App) confirmAndRoute(ctx context.Context, rt *Runtime, src *Source, ev store.StoredEvent) error {
	log := a.log.WithFields(logrus.Fields{"event_id": ev.ID, "source": ev.Source, "kind": ev.Event.Kind})
	res, err := src.Confirmer.Confirm(ctx, ev.Event)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: asked again after restart
		}
		return a.deferConfirmation(ctx, rt, src, ev, err, log)
	}
	a.confirmWorks(ctx, src)
	out := confirm.Compare(ev.Event, res)
	sctx, cancel := context.WithTimeout(ctx, confirmStoreTimeout)
	defer cancel()
	now := a.clock.Now()
	ce := store.ConfirmedEvent{EventID: ev.ID, Status: store.ConfirmConfirmed, Reason: out.Reason, Now: now}
	routed := ev.Event
	if out.Verdict == confirm.Mismatch {
		ce.Status = store.ConfirmMismatch
		ce.Deliveries, err = securityDeliveries(rt, src, ev, res, out)
	} else {
		if out.Verdict == confirm.Later {
			// Routed, and kept, with the API's kind: the alert says what
			// the provider holds now, not what the webhook said then.
			routed.Kind = res.Kind
			ce.Event = &routed
		}
		ce.Deliveries, err = rt.Deliveries(ev.Source, routed)
	}
	if err != nil {
		return err
	}
	err = a.store.ConfirmEvent(sctx, ce)
	if errors.Is(err, store.ErrConflict) {
		// Another replica confirmed it first; its outcome stands.
		log.Debug("event confirmed and routed by another replica")
		return nil
	}
	if err != nil {
		return fmt.Errorf("record confirmation: %w", err)
	}
	result := store.ConfirmConfirmed
	if out.Verdict == confirm.Mismatch {
		result = store.ConfirmMismatch
	}
	a.metrics.Confirm.WithLabelValues(ev.Source, result).Inc()
	log = log.WithFields(logrus.Fields{"provider_event_id": ev.Event.ID, "reference": ev.Event.Reference, "confirmation": out.Reason})
	switch out.Verdict {
	case confirm.Mismatch:
		log.WithField("deliveries", len(ce.Deliveries)).
			Warn("webhook NOT confirmed by the provider's API: marked mismatch, security alert sent instead of the normal alert")
	case confirm.Later:
		log.WithField("routed_kind", routed.Kind).Info("webhook confirmed at a later status: routed with the API's kind")
	default:
		log.Debug("webhook confirmed by the provider's API")
	}
	if len(ce.Deliveries) == 0 {
		a.metrics.Unrouted.WithLabelValues(ev.Source).Inc()
		log.Warn("event matched no route: stored, not sent (add a route to alert on it)")
	}
	for _, d := range ce.Deliveries {
		a.deliverer.wake(d.Robot)
	}
	return nil
}

// deferConfirmation keeps an event that could not be confirmed unrouted
// and due again after a backoff.
//
// Failure policy: fails closed because a money alert that the provider's
// API has not confirmed is exactly what a forged or replayed webhook would
// produce: while the API cannot be asked (network, timeout, 5xx, 429, a
// refused key, an answer that is not the object) the event is not alerted
// as genuine. It is never dropped either: it stays unrouted in the store
// (across restarts: the retry time is stored too), asked about again after
// confirmRetryInitial, doubling up to confirmRetryMax, and once an event
// has waited confirmAlertAfter the ops route is told that confirmation is
// failing for the source. The event keeps waiting after that alert; an
// admin who prefers alerts without confirmation removes the source's
// confirm block, and the waiting events are then routed unconfirmed.
func (a *App) deferConfirmation(ctx context.Context, rt *Runtime, src *Source, ev store.StoredEvent, cerr error, log *logrus.Entry) error {
	reason := confirm.ReasonOf(cerr)
	a.metrics.Confirm.WithLabelValues(ev.Source, reason).Inc()
	now := a.clock.Now()
	attempt := ev.Confirmation.Attempts + 1
	b := Backoff{Initial: confirmRetryInitial, Max: confirmRetryMax, Rand: rt.Backoff.Rand}
	next := now.Add(b.Next(attempt))
	sctx, cancel := context.WithTimeout(ctx, confirmStoreTimeout)
	defer cancel()
	msg := fmt.Sprintf("%s API: %v", src.Confirmer.Provider(), cerr)
	if err := a.store.DeferConfirmation(sctx, ev.ID, msg, next); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // routed meanwhile by another replica
		}
		return fmt.Errorf("record failed confirmation: %w", err)
	}
	log = log.WithFields(logrus.Fields{"reason": reason, "attempt": attempt, "next_attempt_at": next})
	// One line per event at the first failure, then only every few
	// attempts: a long outage does not flood the log.
	if attempt == 1 || attempt%10 == 0 {
		log.WithError(cerr).Warn("cannot confirm the event through the provider's API; it waits (not alerted as genuine) and is asked about again")
	}
	if waited := now.Sub(ev.ReceivedAt); waited >= confirmAlertAfter {
		a.confirmFailing(ctx, src, ev, waited, msg)
	}
	return nil
}

// confirmFailing tells the ops route, once per outage and source, that
// events of src wait for confirmation.
func (a *App) confirmFailing(ctx context.Context, src *Source, ev store.StoredEvent, waited time.Duration, why string) {
	if !a.confirmAlerts.set(src.Name, true) {
		return
	}
	title := fmt.Sprintf("⏳ Confirmation failing for source %s", src.Name)
	text := fmt.Sprintf("### %s\n\n> %s\n\n%s's API has not confirmed its money events for %s. They wait and are not alerted as genuine; "+
		"they are retried and go out once the API answers, nothing is lost. Check sources.%s.confirm (api_base, api_key) and %s's status. Oldest waiting: `%s`.",
		title, render.EscapeMarkdown(why), src.Confirmer.Provider(), waited.Truncate(time.Minute), src.Name, src.Confirmer.Provider(), ev.ID)
	if !a.queueOpsMessage(ctx, "confirm:"+src.Name+":failing", title, text, map[string]string{"source": src.Name, "state": "failing", "reason": why}) {
		a.confirmAlerts.set(src.Name, false) // not queued: try again with the next failure
	}
}

// confirmWorks tells the ops route that confirmation works again for src,
// if it was told that it was failing.
func (a *App) confirmWorks(ctx context.Context, src *Source) {
	if !a.confirmAlerts.set(src.Name, false) {
		return
	}
	title := fmt.Sprintf("✅ Confirmation works again for source %s", src.Name)
	text := fmt.Sprintf("### %s\n\n%s's API answers again; the waiting events are confirmed and routed.", title, src.Confirmer.Provider())
	a.queueOpsMessage(ctx, "confirm:"+src.Name+":ok", title, text, map[string]string{"source": src.Name, "state": "ok"})
}

// set records whether source's failing confirmation was alerted, and
// reports whether that changed.
func (s *confirmState) set(source string, alerted bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alerted == nil {
		s.alerted = map[string]bool{}
	}
	if s.alerted[source] == alerted {
		return false
	}
	s.alerted[source] = alerted
	return true
}

// securityDeliveries are the deliveries of a webhook the provider's API
// contradicted: one per route that would have taken the event as the
// webhook claimed it, each carrying the security alert text instead of the
// route's template, with the route's failure mentions. When no route would
// have taken it, the ops route (if any) gets the alert: a possible forgery
// is never silent.
func securityDeliveries(rt *Runtime, src *Source, ev store.StoredEvent, res confirm.Result, out confirm.Outcome) ([]store.NewDelivery, error) {
	var ds []store.NewDelivery
	routes := make([]*Route, 0, len(rt.Routes))
	for _, r := range rt.Routes {
		if r.Name != opsRoute && r.Match(ev.Source, ev.Event) {
			routes = append(routes, r)
		}
	}
	if ops := rt.RouteNamed(opsRoute); len(routes) == 0 && ops != nil {
		routes = append(routes, ops)
	}
	for _, r := range routes {
		probe := ev.Event
		probe.Kind = bankhooks.KindUnreadable // mention as for a failure
		spec := r.Spec(probe)
		spec.Title, spec.Text = securityText(r.Language, src, ev, res, out)
		b, err := json.Marshal(spec)
		if err != nil {
			return nil, fmt.Errorf("encode delivery spec: %w", err)
		}
		ds = append(ds, store.NewDelivery{Route: r.Name, Robot: r.Robot, Spec: b})
	}
	return ds, nil
}

// securityText is the alert for a webhook the provider's API did not
// confirm, in lang (Thai, Chinese, Indonesian or English): what the webhook claimed, what the
// API said, and that it was not delivered as genuine.
func securityText(lang string, src *Source, ev store.StoredEvent, res confirm.Result, out confirm.Outcome) (title, text string) {
	prov := src.Confirmer.Provider()
	e := ev.Event
	claimed := fmt.Sprintf("%s, %s", e.Kind, money(e.Amount, e.Currency, lang))
	said := "no such object (not found)"
	if !res.Missing {
		said = fmt.Sprintf("status %s", orDash(res.Status))
		if res.Kind != "" {
			said += " (" + string(res.Kind) + ")"
		}
		amount := money(res.Amount, res.Currency, lang)
		if res.AtLeast {
			amount = "up to " + amount
		}
		said += ", " + amount
	}
	esc := render.EscapeMarkdown
	var b strings.Builder
	if lang == "th" {
		title = "⚠️ " + prov + " ไม่ยืนยัน webhook นี้"
		fmt.Fprintf(&b, "### %s\n\n", title)
		fmt.Fprintf(&b, "webhook ของแหล่ง **%s** ไม่ได้ส่งเป็นรายการจริง (not delivered as genuine): API ของ %s ไม่ยืนยัน\n\n", esc(ev.Source), prov)
		fmt.Fprintf(&b, "- webhook แจ้งว่า: %s (อ้างอิง %s)\n- API ของ %s ตอบว่า: %s\n- ต่างกันที่: %s\n\n", esc(claimed), esc(orDash(e.Reference)), prov, esc(said), esc(out.Reason))
		fmt.Fprintf(&b, "อย่าดำเนินการใดๆ จนกว่าจะตรวจสอบใน dashboard ของ %s · event %s (%s event %s)", prov, esc(ev.ID), prov, esc(e.ID))
		return title, b.String()
	}
	if lang == "zh" {
		title = "⚠️ " + prov + " 未确认此 webhook"
		fmt.Fprintf(&b, "### %s\n\n", title)
		fmt.Fprintf(&b, "来源 **%s** 的已签名 webhook **未按真实交易投递**：%s 的 API 未确认该事件。\n\n", esc(ev.Source), prov)
		fmt.Fprintf(&b, "- webhook 声称：%s（参考号 %s）\n- %s 的 API 返回：%s\n- 差异：%s\n\n", esc(claimed), esc(orDash(e.Reference)), prov, esc(said), esc(out.Reason))
		fmt.Fprintf(&b, "在 %s 后台核实之前请勿据此操作。事件 %s（%s 事件 %s）：`bankbot events show %s`", prov, esc(ev.ID), prov, esc(e.ID), ev.ID)
		return title, b.String()
	}
	if lang == "id" {
		title = "⚠️ Webhook tidak dikonfirmasi oleh " + prov
		fmt.Fprintf(&b, "### %s\n\n", title)
		fmt.Fprintf(&b, "Webhook bertanda tangan dari sumber **%s** **tidak diteruskan sebagai transaksi asli**: API %s tidak mengonfirmasinya.\n\n", esc(ev.Source), prov)
		fmt.Fprintf(&b, "- Klaim webhook: %s (referensi %s)\n- Jawaban API %s: %s\n- Perbedaan: %s\n\n", esc(claimed), esc(orDash(e.Reference)), prov, esc(said), esc(out.Reason))
		fmt.Fprintf(&b, "Jangan ditindaklanjuti sebelum diperiksa di dasbor %s. Peristiwa %s (peristiwa %s %s): `bankbot events show %s`", prov, esc(ev.ID), prov, esc(e.ID), ev.ID)
		return title, b.String()
	}
	title = "⚠️ Webhook not confirmed by " + prov
	fmt.Fprintf(&b, "### %s\n\n", title)
	fmt.Fprintf(&b, "A signed webhook of source **%s** was **not delivered as genuine**: %s's API does not confirm it.\n\n", esc(ev.Source), prov)
	fmt.Fprintf(&b, "- Webhook claimed: %s (reference %s)\n- %s's API says: %s\n- Difference: %s\n\n", esc(claimed), esc(orDash(e.Reference)), prov, esc(said), esc(out.Reason))
	fmt.Fprintf(&b, "Do not act on it before checking in the %s dashboard. Event %s (%s event %s): `bankbot events show %s`", prov, esc(ev.ID), prov, esc(e.ID), ev.ID)
	return title, b.String()
}

// money is minor units formatted for lang ("THB 50.00"), falling back to
// the plain form.
func money(minor int64, currency, lang string) string {
	if s, err := render.FormatMoney(minor, currency, lang); err == nil {
		return s
	}
	return confirm.Money(minor, currency)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// queueOpsMessage queues one composed message for the ops route, as an
// event of source _bankbot. It reports whether the message was queued.
//
// Failure policy: fails open (like opsAlert): without an ops route, or when
// the store refuses, the message is logged and skipped.
func (a *App) queueOpsMessage(ctx context.Context, key, title, text string, body map[string]string) bool {
	rt := a.runtime.Load()
	route := rt.RouteNamed(opsRoute)
	log := a.log.WithField("ops", key)
	if route == nil {
		log.WithField("title", title).Warn("no route named ops: ops message not sent")
		return false
	}
	now := a.clock.Now()
	ev := bankhooks.Event{
		Provider: "bankbot", ID: key + ":" + strconv.FormatInt(now.UnixMilli(), 10),
		Type: "bankbot." + strings.ReplaceAll(key, ":", "."), Kind: bankhooks.KindOther, Livemode: true,
		Description: title, OccurredAt: now,
	}
	spec := route.Spec(ev)
	spec.Template, spec.Title, spec.Text = config.DefaultTemplate, title, text
	specJSON, err := json.Marshal(spec)
	if err != nil {
		log.WithError(err).Error("cannot encode the ops message")
		return false
	}
	raw, _ := json.Marshal(body)
	_, err = a.store.InsertEvent(ctx, store.NewEvent{
		ID: newEventID(now), Source: opsSource, Event: ev, ReceivedAt: now, Body: raw,
		Routed: true, Deliveries: []store.NewDelivery{{Route: opsRoute, Robot: route.Robot, Spec: specJSON}},
	})
	if err != nil {
		log.WithError(err).Error("cannot queue the ops message")
		return false
	}
	a.deliverer.wake(route.Robot)
	return true
}
