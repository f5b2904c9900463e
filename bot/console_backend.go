package bot

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/bot/console"
	"github.com/bankbot/bankbot/bot/eventsearch"
	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/store"
)

// consoleBackend is what the web console (package console) reads and does,
// on the running App: every call reads the runtime of the moment, so a
// reload changes what the console shows and which tokens sign in.
type consoleBackend struct{ a *App }

var _ console.Backend = consoleBackend{}

// consoleHandler is the web console, mounted under /ui/ on the admin
// listener; it answers 404 while admin.token is empty.
// It is built once per App: the sign-in rate limit lives in it.
func (a *App) consoleHandler() http.Handler {
	a.consoleOnce.Do(func() { a.console = console.New(consoleBackend{a}) })
	return a.console
}

// consoleTimeout bounds the store reads of one console page.
const consoleTimeout = 10 * time.Second

// keyWarning is how far ahead the overview lists expiring keys.
const keyWarning = 14 * 24 * time.Hour

func (b consoleBackend) Settings() console.Settings {
	cfg := b.a.runtime.Load().Config
	return console.Settings{
		AdminToken: cfg.Admin.Token.Reveal(), ViewerToken: cfg.Admin.ViewerToken.Reveal(),
		SessionTTL: cfg.Admin.SessionTTL, Location: cfg.Location, Version: b.a.opts.Version,
	}
}

func (b consoleBackend) Now() time.Time { return b.a.clock.Now() }

func (b consoleBackend) ClientIP(r *http.Request) string {
	return clientIP(r, b.a.runtime.Load().TrustedProxies).String()
}

// startOfDay is midnight of t's day in loc.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errcodeRE finds DingTalk's errcode in a recorded reason or attempt error.
var errcodeRE = regexp.MustCompile(`errcode (-?[0-9]+)`)

func (b consoleBackend) Overview(ctx context.Context) (console.Overview, error) {
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	a := b.a
	rt := a.runtime.Load()
	cfg := rt.Config
	now := a.clock.Now()
	today := startOfDay(now, cfg.Location)
	var ov console.Overview
	problem := func(what string, err error) {
		a.log.WithError(err).Warn("console: cannot read " + what)
		ov.Problems = append(ov.Problems, what+": store unavailable")
	}

	names := sortedKeys(rt.Sources)
	activity, err := a.store.SourceActivity(ctx, names, today)
	if err != nil {
		problem("sources", err)
	}
	rejects := a.rejects.lastHour(now)
	for _, name := range names {
		src := rt.Sources[name]
		si := console.SourceInfo{Name: name, Provider: src.Provider.Name(), LastEvent: activity[name].Last, EventsToday: activity[name].Count}
		for _, rc := range rejects[name] {
			si.Rejects = append(si.Rejects, console.ReasonCount{Reason: rc.reason, Count: rc.n})
		}
		for _, k := range src.Keys {
			if !k.Expires.IsZero() && k.Expires.Before(now.Add(keyWarning)) {
				si.KeysExpiring = append(si.KeysExpiring, console.KeyExpiry{Name: k.Name, Expires: k.Expires})
			}
		}
		ov.Sources = append(ov.Sources, si)
	}

	states := map[string]store.RobotState{}
	if list, err := a.store.RobotStates(ctx); err != nil {
		problem("robot states", err)
	} else {
		for _, s := range list {
			states[s.Robot] = s
		}
	}
	robotAct, err := a.store.RobotActivity(ctx, today)
	if err != nil {
		problem("robot activity", err)
	}
	for _, name := range sortedKeys(rt.Robots) {
		r := rt.Robots[name]
		st := states[name]
		act := robotAct[name]
		ri := console.RobotInfo{Name: name, Type: r.Type, State: console.StateOK, SentToday: act.Sent,
			Pending: act.Pending, Sending: act.Sending, Dead: act.Dead, ChangedAt: st.ChangedAt}
		switch st.State {
		case statePaused:
			// A pause that has ended shows as ok: the robot sends again
			// (its state is recorded ok at its next good send).
			if st.BlockedUntil.After(now) {
				ri.State, ri.PausedUntil, ri.Reason = console.StatePaused, st.BlockedUntil, st.Reason
			}
		case stateMisconfigured:
			ri.State, ri.Reason = console.StateMisconfigured, st.Reason
			ri.Hint = robotHint(name, st.Reason)
		case stateFailing:
			ri.State, ri.Reason = console.StateFailing, st.Reason
		}
		ov.Robots = append(ov.Robots, ri)
	}
	if s, err := a.store.Stats(ctx); err != nil {
		problem("outbox", err)
	} else {
		ov.DeadLetters = s.Dead
	}

	last, _ := a.reloadState()
	a.reloadMu.Lock()
	applied := a.appliedAt
	a.reloadMu.Unlock()
	ov.Config = console.ConfigInfo{File: cfg.Path, Hash: cfg.Hash[:12], AppliedAt: applied,
		LastReloadAt: last.At, LastReloadTrigger: last.Trigger, LastReloadResult: last.Result,
		LastReloadError: last.Error, Problems: last.Problems, Warnings: cfg.Warnings(now)}

	start := now.Truncate(time.Hour).Add(-23 * time.Hour)
	counts, err := a.store.EventsPerHour(ctx, names, start, 24)
	if err != nil {
		problem("events per hour", err)
	}
	ov.Chart.Start = start
	for _, name := range names {
		if c := counts[name]; c != nil {
			ov.Chart.Series = append(ov.Chart.Series, console.Series{Source: name, Counts: c})
		}
	}
	return ov, nil
}

// robotHint is what to fix for a misconfigured robot: DingTalk's hint for
// the errcode in its recorded reason (the one `dingtalk test` prints),
// else the reason itself, which the worker wrote with the hint.
func robotHint(robot, reason string) string {
	if m := errcodeRE.FindStringSubmatch(reason); m != nil {
		if code, err := strconv.Atoi(m[1]); err == nil {
			if h := dingtalk.HintFor(robot, code, reason); h != "" {
				return h
			}
		}
	}
	return reason
}

// consoleMoney is an amount as messages in lang print it, or its minor units when
// the currency is unknown.
func consoleMoney(ev bankhooks.Event, lang string) string {
	if s, err := render.FormatMoney(ev.Amount, ev.Currency, lang); err == nil {
		return s
	}
	return strings.TrimSpace(fmt.Sprintf("%d minor units %s", ev.Amount, ev.Currency))
}

// encodeCursor and decodeCursor turn a store cursor into the opaque
// string of a next-page link and back.
func encodeCursor(c store.EventCursor) string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ReceivedAt.UnixMilli(), 10) + "." + c.ID))
}

func decodeCursor(s string) (store.EventCursor, error) {
	if s == "" {
		return store.EventCursor{}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.EventCursor{}, fmt.Errorf("cursor: %w", err)
	}
	ms, id, ok := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" || n <= 0 {
		return store.EventCursor{}, errors.New("cursor: not a position")
	}
	return store.EventCursor{ReceivedAt: time.UnixMilli(n).UTC(), ID: id}, nil
}

func (b consoleBackend) Events(ctx context.Context, q console.EventQuery) (console.EventList, error) {
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	rt := b.a.runtime.Load()
	cfg := rt.Config
	out := console.EventList{Sources: sortedKeys(rt.Sources)}
	for _, k := range bankhooks.Kinds() {
		out.Kinds = append(out.Kinds, string(k))
	}
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return out, fmt.Errorf("%w: %w", console.ErrBadRequest, err)
	}
	p := store.EventPage{Source: q.Source, Kind: q.Kind, After: after, Since: q.From}
	if !q.To.IsZero() {
		p.Until = q.To.AddDate(0, 0, 1) // To is a whole day, inclusive
	}
	if q.Text != "" && p.Since.IsZero() {
		// The same default window as `bankbot events find`.
		p.Since = b.a.clock.Now().Add(-eventsearch.Window)
		out.Window = p.Since.In(cfg.Location).Format("2006-01-02 15:04") + " –"
	}
	es, next, err := eventsearch.Page(ctx, b.a.store, q.Text, p, q.Limit)
	if errors.Is(err, store.ErrInvalid) {
		return out, fmt.Errorf("%w: %w", console.ErrBadRequest, err)
	}
	if err != nil {
		return out, err
	}
	for _, e := range es {
		out.Events = append(out.Events, console.EventRow{ID: e.ID, Source: e.Source, Kind: string(e.Event.Kind),
			Amount: consoleMoney(e.Event, cfg.Language), Reference: render.Scrub(e.Event.Reference),
			Account: render.MaskAccount(e.Event.Account), ReceivedAt: e.ReceivedAt, Test: !e.Event.Livemode})
	}
	out.Next = encodeCursor(next)
	if !next.IsZero() && len(es) < q.Limit {
		out.ScannedTo = next.ReceivedAt
	}
	return out, nil
}

func (b consoleBackend) Event(ctx context.Context, id string) (console.EventDetail, error) {
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	a := b.a
	rt := a.runtime.Load()
	cfg := rt.Config
	se, err := a.store.GetEvent(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return console.EventDetail{}, console.ErrNotFound
	}
	if err != nil {
		return console.EventDetail{}, err
	}
	ev := se.Event
	d := console.EventDetail{
		ID: se.ID, Source: se.Source, Provider: ev.Provider, ProviderID: ev.ID, Type: ev.Type, Kind: string(ev.Kind),
		Reference: render.Scrub(ev.Reference), Account: render.MaskAccount(ev.Account),
		Counterparty: render.Scrub(ev.Counterparty), Description: render.Scrub(ev.Description),
		FailureCode: render.Scrub(ev.FailureCode), FailureMessage: render.Scrub(ev.FailureMessage),
		Livemode: ev.Livemode, RemoteIP: se.RemoteIP, OccurredAt: ev.OccurredAt, ReceivedAt: se.ReceivedAt,
		RoutedAt: se.RoutedAt, Confirmation: se.Confirmation.Status, ConfirmReason: render.Scrub(se.Confirmation.Reason),
		RawBody: rawBody(se.Body, ev.Account),
	}
	ds, err := a.store.ListDeliveries(ctx, store.DeliveryFilter{EventID: se.ID, Limit: 100})
	if err != nil {
		return console.EventDetail{}, err
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	for _, dl := range ds {
		di := console.DeliveryInfo{ID: dl.ID, Route: dl.Route, Robot: dl.Robot, Status: dl.Status, MessageID: dl.MessageID,
			NextAttemptAt: dl.NextAttemptAt, SentAt: dl.SentAt, LastError: dl.LastError}
		atts, err := a.store.Attempts(ctx, dl.ID)
		if err != nil {
			return console.EventDetail{}, err
		}
		for i, at := range atts {
			ai := console.AttemptInfo{N: i + 1, At: at.At, Duration: at.Duration, Result: at.Reason, Error: at.Error, Throttled: at.Throttled}
			if m := errcodeRE.FindStringSubmatch(at.Error); m != nil {
				ai.Errcode = m[1]
			}
			di.Attempts = append(di.Attempts, ai)
		}
		d.Deliveries = append(d.Deliveries, di)
	}
	// The message as its first delivery renders it (the spec stored with
	// the row), else as today's first matching route would.
	spec := Spec{Template: config.DefaultTemplate, Language: cfg.Language}
	if len(ds) > 0 {
		spec = specOf(ds[0], cfg.Language)
	} else if nds, err := rt.Deliveries(se.Source, ev); err == nil && len(nds) > 0 {
		spec = specOf(store.Delivery{Spec: nds[0].Spec}, cfg.Language)
	}
	d.Language = spec.Language
	d.Amount = consoleMoney(ev, spec.Language)
	if spec.Text != "" {
		d.Message = console.Message{Title: spec.Title, Text: spec.Text}
	} else {
		data := render.Data{EventID: se.ID, Source: se.Source, Event: ev}
		r, err := rt.Engine.Render(spec.Template, spec.Language, data)
		if err != nil {
			r = render.Fallback(data, cfg.Location)
		}
		d.Message = console.Message{Title: r.Title, Text: r.Text}
	}
	return d, nil
}

// rawBody is a webhook body for people: JSON pretty-printed (anything else
// as text), the event's account number masked wherever it appears, then
// every card number, IBAN and long digit run masked and URLs defanged, as
// messages mask provider strings (render.Scrub).
func rawBody(body []byte, account string) string {
	var buf bytes.Buffer
	s := string(body)
	if json.Indent(&buf, body, "", "  ") == nil {
		s = buf.String()
	}
	if acct := strings.TrimSpace(account); len([]rune(acct)) >= 4 {
		s = strings.ReplaceAll(s, acct, render.MaskAccount(acct))
	}
	return render.Scrub(s)
}

// deadLimit bounds the dead letters one page lists.
const deadLimit = 500

func (b consoleBackend) DeadLetters(ctx context.Context) (console.DeadLetters, error) {
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	a := b.a
	cfg := a.runtime.Load().Config
	ds, err := a.store.ListDeliveries(ctx, store.DeliveryFilter{Status: store.StatusDead, Limit: deadLimit})
	if err != nil {
		return console.DeadLetters{}, err
	}
	st, err := a.store.Stats(ctx)
	if err != nil {
		return console.DeadLetters{}, err
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.EventID)
	}
	evs, err := a.store.GetEvents(ctx, ids)
	if err != nil {
		return console.DeadLetters{}, err
	}
	out := console.DeadLetters{Total: max(st.Dead, len(ds))}
	for _, d := range ds {
		dl := console.DeadLetter{ID: d.ID, EventID: d.EventID, Robot: d.Robot, Route: d.Route, Attempts: d.Attempts,
			Reason: d.LastReason, LastError: d.LastError, UpdatedAt: d.UpdatedAt}
		if e, ok := evs[d.EventID]; ok {
			dl.Source, dl.Kind, dl.Amount, dl.Reference = e.Source, string(e.Event.Kind), consoleMoney(e.Event, cfg.Language), render.Scrub(e.Event.Reference)
		}
		out.Rows = append(out.Rows, dl)
	}
	return out, nil
}

// wakeAll wakes every robot's worker: rows made due by the console go out
// now rather than at the next poll.
func (b consoleBackend) wakeAll() {
	for name := range b.a.runtime.Load().Robots {
		b.a.deliverer.wake(name)
	}
}

// retryAllMax bounds one "retry all", as the CLI's `deadletters retry --all`.
const retryAllMax = 100000

func (b consoleBackend) RetryDead(ctx context.Context, ids []int64, all bool) console.Result {
	a := b.a
	rt := a.runtime.Load()
	if all {
		ds, err := a.store.ListDeliveries(ctx, store.DeliveryFilter{Status: store.StatusDead, Limit: retryAllMax})
		if err != nil {
			return console.Errorf("cannot list the dead letters: %v", err)
		}
		ids = ids[:0]
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
	}
	var res console.Result
	n := 0
	for _, id := range ids {
		note, err := RetryDead(ctx, rt, a.store, id, a.clock.Now())
		if err != nil {
			res.Details = append(res.Details, fmt.Sprintf("delivery %d: %v", id, err))
			continue
		}
		n++
		if note != "" {
			res.Details = append(res.Details, note)
		}
	}
	a.log.WithField("requeued", n).WithField("failed", len(ids)-n).Info("console: dead letters retried")
	b.wakeAll()
	res.OK = n == len(ids)
	res.Message = fmt.Sprintf("%d of %d deliveries requeued; they are sent now, through today's config", n, len(ids))
	return res
}

func (b consoleBackend) Replay(ctx context.Context, id string) console.Result {
	a := b.a
	rt := a.runtime.Load()
	ev, err := ResolveEvent(ctx, a.store, id)
	if err != nil {
		return console.Errorf("event %s: %v", id, err)
	}
	n, matched, err := ReplayEvent(ctx, rt, a.store, ev, a.clock.Now())
	if err != nil {
		return console.Errorf("event %s: %v", ev.ID, err)
	}
	if !matched {
		return console.Errorf("event %s matches no route of the current config; nothing to send", ev.ID)
	}
	a.log.WithField("event_id", ev.ID).WithField("deliveries", n).Info("console: event replayed")
	b.wakeAll()
	return console.Result{OK: true, Message: fmt.Sprintf("event %s: %d deliveries requeued", ev.ID, n)}
}

func (b consoleBackend) Reload(context.Context) console.Result {
	a := b.a
	res, err := a.Reload("console")
	switch {
	case errors.Is(err, errReloadTransient):
		return console.Result{Message: "the config file cannot be read right now; the previous config keeps serving, retry later",
			Details: []string{err.Error()}}
	case err != nil:
		r := console.Result{Message: "config refused; the previous config keeps serving"}
		var ps config.Problems
		if errors.As(err, &ps) {
			r.Details = ps.Lines()
		} else {
			r.Details = []string{err.Error()}
		}
		return r
	}
	return console.Result{OK: true, Message: fmt.Sprintf("config %s (hash %s)", res, a.runtime.Load().Config.Hash[:12])}
}

func (b consoleBackend) TestMessage(ctx context.Context, name string) console.Result {
	a := b.a
	rt := a.runtime.Load()
	r, ok := rt.Robots[name]
	if !ok {
		return console.Errorf("no robot named %q in the config", name)
	}
	now := a.clock.Now()
	// Like `bankbot dingtalk test`, the message takes a send of the
	// robot's budget, so it neither trips DingTalk's limit nor is hidden
	// from it.
	slot, budget, err := ReserveSlot(ctx, a.store, r, now)
	if err != nil {
		return console.Errorf("cannot take a send slot of robots.%s: %v", name, err)
	}
	if slot == 0 {
		msg := fmt.Sprintf("robots.%s: its budget of %d messages a minute is in use; try again after %s",
			name, r.RatePerMinute, budget.NextAt.In(rt.Config.Location).Format("15:04:05 MST"))
		return console.Result{Message: msg}
	}
	host, _ := os.Hostname()
	sendCtx, cancel := context.WithTimeout(ctx, r.Timeout)
	err = r.Sender.Send(sendCtx, TestMessage(name, host, now.In(rt.Config.Location)))
	cancel()
	stampCtx, cancelStamp := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	if serr := a.store.StampSend(stampCtx, slot, a.clock.Now()); serr != nil {
		a.log.WithError(serr).Warn("console: cannot restamp the test message's send slot; its earlier stamp stands")
	}
	cancelStamp()
	ok, lines := TestOutcome(name, err)
	a.log.WithField("robot", name).WithField("ok", ok).Info("console: test message sent")
	return console.Result{OK: ok, Message: lines[0], Details: lines[1:]}
}

func (b consoleBackend) Robots() []string { return sortedKeys(b.a.runtime.Load().Robots) }

func (b consoleBackend) PreviewChoices() console.PreviewChoices {
	rt := b.a.runtime.Load()
	c := console.PreviewChoices{Templates: rt.Engine.Sets(), Languages: render.Languages(),
		DefaultTemplate: config.DefaultTemplate, DefaultKind: string(bankhooks.KindPaymentSucceeded), DefaultLanguage: rt.Config.Language}
	for _, k := range bankhooks.Kinds() {
		c.Kinds = append(c.Kinds, string(k))
	}
	return c
}

func (b consoleBackend) Preview(tmpl, kind, lang string) (console.Message, error) {
	rt := b.a.runtime.Load()
	k := bankhooks.Kind(kind)
	if !k.Valid() {
		return console.Message{}, fmt.Errorf("unknown kind %q", kind)
	}
	r, err := rt.Engine.Render(tmpl, lang, render.Sample(k))
	if err != nil {
		return console.Message{}, err
	}
	return console.Message{Title: r.Title, Text: r.Text}, nil
}
