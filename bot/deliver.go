package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/store"
)

// claimBatch is the most deliveries one robot worker leases at a time.
const claimBatch = 10

// deliverer runs one worker per configured robot. Each worker claims due
// outbox rows of its robot, only as many as the robot's rate limit allows,
// and sends them one by one.
type deliverer struct {
	app     *App
	applyMu sync.Mutex // serialises apply
	mu      sync.Mutex
	ctx     context.Context // the workers' parent context, set by the first sync
	workers map[string]*robotWorker
	wg      sync.WaitGroup
}

type robotWorker struct {
	name    string
	limiter *Limiter
	wakeC   chan struct{}
	cancel  context.CancelFunc
}

func newDeliverer(a *App) *deliverer {
	return &deliverer{app: a, workers: map[string]*robotWorker{}}
}

// sync sets the workers' parent context and starts a worker for every
// configured robot.
func (d *deliverer) sync(ctx context.Context) {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	d.apply()
}

// apply starts and stops workers to match the current runtime: one per
// configured robot, plus one for each robot that is no longer configured but
// still has deliveries in the outbox (that worker dead-letters them with a
// reason, so they are visible and replayable instead of stranded). A robot
// that stays keeps its limiter and send history, so a reload never resets
// rate limiting. Applies are serialised and each reads the runtime after its
// store query, so the last apply always matches the last runtime swapped in.
func (d *deliverer) apply() {
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	d.mu.Lock()
	ctx := d.ctx
	d.mu.Unlock()
	if ctx == nil {
		return // not serving yet; serve's sync starts the workers
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	orphans, err := d.app.store.OutboxRobots(qctx)
	cancel()
	if err != nil && ctx.Err() == nil {
		d.app.log.WithError(err).Warn("cannot list the robots with queued deliveries; checking again later")
	}
	rt := d.app.runtime.Load()
	rates := map[string]int{}
	for name, r := range rt.Robots {
		rates[name] = r.RatePerMinute
	}
	for _, name := range orphans {
		if _, ok := rates[name]; !ok {
			rates[name] = config.DefaultRatePerMinute
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, w := range d.workers {
		if _, ok := rates[name]; !ok {
			w.cancel()
			delete(d.workers, name)
		}
	}
	for name, rate := range rates {
		if w, ok := d.workers[name]; ok {
			w.limiter.SetRate(rate)
			w.wake()
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &robotWorker{name: name, limiter: NewLimiter(rate), wakeC: make(chan struct{}, 1), cancel: cancel}
		d.workers[name] = w
		d.wg.Go(func() {
			d.app.runWorker(wctx, w)
			d.remove(w)
		})
	}
}

// remove forgets a worker that ended by itself.
func (d *deliverer) remove(w *robotWorker) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.workers[w.name] == w {
		w.cancel()
		delete(d.workers, w.name)
	}
}

func (d *deliverer) wake(robot string) {
	d.mu.Lock()
	w := d.workers[robot]
	d.mu.Unlock()
	if w != nil {
		w.wake()
	}
}

func (d *deliverer) wait() { d.wg.Wait() }

func (w *robotWorker) wake() {
	select {
	case w.wakeC <- struct{}{}:
	default:
	}
}

// runWorker drains one robot's due deliveries.
func (a *App) runWorker(ctx context.Context, w *robotWorker) {
	log := a.log.WithField("robot", w.name)
	for ctx.Err() == nil {
		now := a.clock.Now()
		free, next := w.limiter.Available(now)
		if free == 0 {
			a.sleep(ctx, w, next.Sub(now))
			continue
		}
		rt := a.runtime.Load()
		cfg := rt.Config
		claimed, err := a.store.ClaimDeliveries(ctx, store.Claim{
			Robot: w.name, Owner: a.owner, Now: now, LeaseUntil: now.Add(cfg.Delivery.Lease), Limit: claimLimit(rt, w.name, free),
		})
		if err != nil {
			if ctx.Err() == nil {
				log.WithError(err).Error("cannot claim deliveries; retrying")
			}
			a.sleep(ctx, w, cfg.Delivery.PollInterval)
			continue
		}
		if len(claimed) == 0 {
			if _, ok := a.runtime.Load().Robots[w.name]; !ok && !a.hasQueued(ctx, w.name) {
				// A removed robot's rows are dead-lettered as they fall due;
				// once none is left the worker ends.
				log.Info("the outbox of this removed robot is drained; worker stopped")
				return
			}
			a.sleep(ctx, w, cfg.Delivery.PollInterval)
			continue
		}
		for i, dl := range claimed {
			if ctx.Err() != nil || !w.limiter.Take(a.clock.Now()) {
				a.release(claimed[i:])
				break
			}
			a.deliver(ctx, w, dl)
		}
	}
}

// hasQueued reports whether robot still has pending or sending deliveries
// (true when the store cannot say: keep the worker rather than strand rows).
func (a *App) hasQueued(ctx context.Context, robot string) bool {
	robots, err := a.store.OutboxRobots(ctx)
	return err != nil || slices.Contains(robots, robot)
}

// claimLimit is how many deliveries a worker may lease at once: no more than
// the rate limit allows now, and few enough that sending them one by one,
// each taking at most the robot's timeout, ends well inside the lease (a
// row whose lease runs out mid-batch could be sent again by another replica).
func claimLimit(rt *Runtime, robot string, free int) int {
	n := min(free, claimBatch)
	if r := rt.Robots[robot]; r != nil && r.Timeout > 0 {
		n = min(n, max(1, int(rt.Config.Delivery.Lease/(2*r.Timeout))))
	}
	return n
}

func (a *App) sleep(ctx context.Context, w *robotWorker, d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	select {
	case <-ctx.Done():
	case <-w.wakeC:
	case <-a.clock.After(d):
	}
}

// release hands claimed rows back without counting an attempt.
func (a *App) release(ds []store.Delivery) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, d := range ds {
		if err := a.store.ReleaseDelivery(ctx, d.ID, a.clock.Now()); err != nil {
			a.log.WithError(err).WithField("delivery_id", d.ID).Warn("cannot release delivery; it is retried when its lease ends")
		}
	}
}

// deliver makes one attempt at one delivery and records the outcome.
//
// Failure policy (at least once): the attempt's outcome is written after the
// send. If bankbot dies between DingTalk's "ok" and that write, the row's
// lease expires and the message is sent again; a duplicate (with the same
// bankbot ref line) is preferred to a lost alert.
func (a *App) deliver(ctx context.Context, w *robotWorker, d store.Delivery) {
	log := a.log.WithFields(logrus.Fields{"robot": d.Robot, "route": d.Route, "delivery_id": d.ID, "event_id": d.EventID, "attempt": d.Attempts + 1})
	// Writes after the send must happen even when shutdown has begun.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	rt := a.runtime.Load()
	robot := rt.Robots[d.Robot]
	start := a.clock.Now()
	if robot == nil {
		a.finish(bg, log, d, start, nil, fmt.Errorf("robot %q is not configured any more", d.Robot), "config", true)
		return
	}
	ev, err := a.store.GetEvent(bg, d.EventID)
	if err != nil {
		log.WithError(err).Error("cannot read the event to send; retrying later")
		a.release([]store.Delivery{d})
		return
	}
	var spec Spec
	if err := json.Unmarshal(d.Spec, &spec); err != nil {
		spec = Spec{Template: "default", Language: rt.Config.Language}
	}
	data := render.Data{EventID: ev.ID, Source: ev.Source, Event: ev.Event}
	msg, err := rt.Engine.Render(spec.Template, spec.Language, data)
	if err != nil {
		// Never drop an alert because a template broke: send the plain fallback.
		a.metrics.RenderFailed.WithLabelValues(spec.Template).Inc()
		log.WithError(err).Error("template failed; sending the plain fallback message")
		msg = render.Fallback(data, rt.Config.Location)
	}
	sendCtx, cancelSend := context.WithTimeout(context.WithoutCancel(ctx), robot.Timeout)
	err = robot.Sender.Send(sendCtx, dingtalk.Message{
		Type: dingtalk.MsgMarkdown, Title: msg.Title, Text: msg.Text,
		AtMobiles: spec.Mobiles, AtUserIDs: spec.UserIDs, AtAll: spec.AtAll,
		UUID: fmt.Sprintf("bankbot-%d", d.ID),
	})
	cancelSend()
	if err == nil {
		a.metrics.DeliveryLatency.WithLabelValues(d.Robot).Observe(a.clock.Now().Sub(ev.ReceivedAt).Seconds())
	}
	a.finish(bg, log, d, start, w, err, "", false)
}

// finish records the outcome of an attempt: sent, retry at the backoff (or
// DingTalk's own wait), or dead letter for a permanent error or a spent budget.
func (a *App) finish(ctx context.Context, log *logrus.Entry, d store.Delivery, start time.Time, w *robotWorker, sendErr error, reason string, permanent bool) {
	rt := a.runtime.Load()
	now := a.clock.Now()
	att := store.Attempt{At: start, Duration: now.Sub(start), Reason: "ok"}
	var wait time.Duration
	if sendErr != nil {
		att.Error = sendErr.Error()
		att.Reason = reason
		var de *dingtalk.Error
		if errors.As(sendErr, &de) {
			att.Reason = de.Reason()
			permanent = de.Class == dingtalk.ClassPermanent
			wait = de.RetryAfter()
			if wait > 0 && w != nil && de.Reason() == "rate_limited" {
				w.limiter.Block(now.Add(wait))
			}
			if hint := dingtalk.Hint(de.Code, de.Msg); hint != "" {
				log = log.WithField("fix", hint)
			}
		} else if att.Reason == "" {
			att.Reason = "error"
		}
	}
	a.metrics.Attempts.WithLabelValues(d.Robot, att.Reason).Inc()
	// DingTalk's "too fast" and quota answers ask to wait; they are logged
	// but do not spend the retry budget (only max_age bounds the wait).
	att.Throttled = att.Reason == dingtalk.ReasonRateLimited || att.Reason == dingtalk.ReasonQuota
	retry := rt.Config.Delivery.Retry
	var err error
	switch {
	case sendErr == nil:
		err = a.store.CompleteDelivery(ctx, d.ID, att)
		a.metrics.Deliveries.WithLabelValues(d.Robot, "sent").Inc()
		log.Info("delivered")
	case permanent || now.Sub(d.CreatedAt) >= retry.MaxAge || (!att.Throttled && d.Attempts+1 >= retry.MaxAttempts):
		err = a.store.DeadLetter(ctx, d.ID, att)
		a.metrics.Deliveries.WithLabelValues(d.Robot, "dead").Inc()
		log.WithError(sendErr).WithField("reason", att.Reason).Error("delivery failed for good: dead-lettered (bankbot deadletters retry ID re-drives it)")
	default:
		if wait == 0 {
			wait = rt.Backoff.Next(d.Attempts + 1)
		}
		err = a.store.RetryDelivery(ctx, d.ID, att, now.Add(wait))
		a.metrics.Deliveries.WithLabelValues(d.Robot, "retry").Inc()
		log.WithError(sendErr).WithFields(logrus.Fields{"reason": att.Reason, "retry_in": wait.Round(time.Millisecond).String()}).Warn("delivery failed; will retry")
	}
	if err != nil {
		log.WithError(err).Error("cannot record the delivery outcome; the row is retried when its lease ends")
	}
}
