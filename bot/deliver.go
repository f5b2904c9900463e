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
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/store"
)

// budgetLookahead is how far ahead the budget is read to choose between
// sending alerts alone and combining them.
const budgetLookahead = 2 * time.Second

// claimMax is the most deliveries one robot worker leases at a time. In a
// burst they are combined into digests (a few messages); whatever does not
// fit the messages the budget allows now is handed back at once.
const claimMax = 500

// deliverer runs one worker per configured robot. Each worker waits for the
// robot's send budget (shared through the store), claims its due outbox rows,
// and sends them alone or combined into digests.
type deliverer struct {
	app     *App
	applyMu sync.Mutex // serialises apply
	mu      sync.Mutex
	ctx     context.Context // the workers' parent context, set by the first sync
	workers map[string]*robotWorker
	wg      sync.WaitGroup
}

type robotWorker struct {
	name   string
	wakeC  chan struct{}
	cancel context.CancelFunc
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
// reason, so they are visible and replayable instead of stranded). The send
// history lives in the store, so a reload (or a restart) never resets rate
// limiting. Applies are serialised and each reads the runtime after its
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
	want := map[string]bool{}
	for name := range rt.Robots {
		want[name] = true
	}
	for _, name := range orphans {
		want[name] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, w := range d.workers {
		if !want[name] {
			w.cancel()
			delete(d.workers, name)
		}
	}
	for name := range want {
		if w, ok := d.workers[name]; ok {
			w.wake()
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &robotWorker{name: name, wakeC: make(chan struct{}, 1), cancel: cancel}
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

// runWorker drains one robot's due deliveries: wait for budget, claim, plan
// the messages (alone or digests), send them one by one, each on a slot
// reserved in the store.
func (a *App) runWorker(ctx context.Context, w *robotWorker) {
	log := a.log.WithField("robot", w.name)
	for ctx.Err() == nil {
		rt := a.runtime.Load()
		cfg := rt.Config
		robot := rt.Robots[w.name]
		if robot == nil {
			switch a.drainRemoved(ctx, log, w.name) {
			case drainDone:
				log.Info("the outbox of this removed robot is drained; worker stopped")
				return
			case drainWait:
				a.sleep(ctx, w, cfg.Delivery.PollInterval)
			}
			continue
		}
		now := a.clock.Now()
		budget, err := a.store.SendBudget(ctx, budgetQuery(robot, now))
		if err != nil {
			if ctx.Err() == nil {
				log.WithError(err).Error("cannot read the robot's send budget; retrying")
			}
			a.sleep(ctx, w, cfg.Delivery.PollInterval)
			continue
		}
		if budget.Free == 0 {
			a.sleep(ctx, w, budget.NextAt.Sub(now))
			continue
		}
		claimed, err := a.store.ClaimDeliveries(ctx, store.Claim{
			Robot: w.name, Owner: a.owner, Now: now, LeaseUntil: now.Add(cfg.Delivery.Lease), Limit: claimMax,
		})
		if err != nil {
			if ctx.Err() == nil {
				log.WithError(err).Error("cannot claim deliveries; retrying")
			}
			a.sleep(ctx, w, cfg.Delivery.PollInterval)
			continue
		}
		if len(claimed) == 0 {
			a.sleep(ctx, w, cfg.Delivery.PollInterval)
			continue
		}
		// Alone or digest is decided on the budget a moment ahead: slots
		// stamped a few milliseconds apart free up a few milliseconds apart,
		// and waking on the first of them must not fold alerts into a digest
		// that could each go alone an instant later. Each message still
		// needs a slot granted now (sendOne), or it waits for one.
		free := budget.Free
		if soon, err := a.store.SendBudget(ctx, budgetQuery(robot, now.Add(budgetLookahead))); err == nil {
			free = max(free, soon.Free)
		}
		msgs, rest := a.plan(ctx, log, rt, robot, claimed, free, messagesPerClaim(rt, robot, free))
		if len(msgs) == 0 { // no event could be read: hand back, look again later
			a.release(log, rest, now.Add(cfg.Delivery.PollInterval))
			a.sleep(ctx, w, cfg.Delivery.PollInterval)
			continue
		}
		a.sendAll(ctx, log, robot, msgs, rest)
	}
}

// drain outcomes of a removed robot's worker.
const (
	drainMore = iota // rows were dead-lettered: look again at once
	drainWait        // rows remain but none is due (or the store failed): poll
	drainDone        // nothing left: the worker ends
)

// drainRemoved dead-letters the due rows of a robot that is no longer
// configured, and says whether rows remain (a store that cannot say keeps
// the worker rather than strand rows).
func (a *App) drainRemoved(ctx context.Context, log *logrus.Entry, name string) int {
	now := a.clock.Now()
	claimed, err := a.store.ClaimDeliveries(ctx, store.Claim{
		Robot: name, Owner: a.owner, Now: now, LeaseUntil: now.Add(a.runtime.Load().Config.Delivery.Lease), Limit: claimMax,
	})
	if err != nil {
		return drainWait
	}
	if len(claimed) > 0 {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		att := store.Attempt{At: now, Reason: "config", Error: fmt.Sprintf("robot %q is not configured any more", name)}
		if _, err := a.store.DeadLetterDeliveries(bg, ids(claimed), att); err != nil {
			log.WithError(err).Error("cannot dead-letter the deliveries of a removed robot; retrying")
		} else {
			a.metrics.Deliveries.WithLabelValues(name, "dead").Add(float64(len(claimed)))
			log.WithField("deliveries", len(claimed)).Error("robot removed from the config: its queued deliveries are dead-lettered (bankbot deadletters retry ID re-drives them)")
		}
		return drainMore
	}
	robots, err := a.store.OutboxRobots(ctx)
	if err != nil || slices.Contains(robots, name) {
		return drainWait
	}
	return drainDone
}

// messagesPerClaim is how many messages a worker sends from one claim: no
// more than the budget allows now, and few enough that sending them one by
// one, each taking at most the robot's timeout, ends well inside the lease (a
// row whose lease runs out mid-batch could be sent again by another replica).
func messagesPerClaim(rt *Runtime, r *Robot, free int) int {
	n := free
	if r.Timeout > 0 {
		n = min(n, max(1, int(rt.Config.Delivery.Lease/(2*r.Timeout))))
	}
	return max(1, n)
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

// release hands claimed rows back, due at next, without counting an attempt.
func (a *App) release(log *logrus.Entry, ds []store.Delivery, next time.Time) {
	if len(ds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.store.ReleaseDeliveries(ctx, ids(ds), next); err != nil {
		log.WithError(err).WithField("deliveries", len(ds)).Warn("cannot release deliveries; they are retried when their lease ends")
	}
}

func ids(ds []store.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// sendAll sends the planned messages in order, each on a send slot reserved
// in the store, and hands back the rows no message took.
func (a *App) sendAll(ctx context.Context, log *logrus.Entry, robot *Robot, msgs []*outMsg, rest []store.Delivery) {
	for i, m := range msgs {
		if ctx.Err() != nil {
			for _, m := range msgs[i:] {
				rest = append(rest, m.rows()...)
			}
			break
		}
		next, ok := a.sendOne(ctx, log, robot, m)
		if !ok {
			for _, m := range msgs[i:] {
				rest = append(rest, m.rows()...)
			}
			a.release(log, rest, next)
			return
		}
	}
	a.release(log, rest, a.clock.Now())
}

// sendOne reserves a send slot, records the message id on the rows, sends,
// restamps the slot with the response time and records the outcome. It
// reports false, with the time the budget frees, when no slot was granted
// (another replica took it): the caller hands the rows back.
//
// Failure policy (at least once): the outcome is written after the send. If
// bankbot dies between DingTalk's "ok" and that write, the rows' lease
// expires and the message is sent again, with the same message id (msgUuid)
// because the id was written before the send; a duplicate (with the same
// ref line) is preferred to a lost alert.
//
// Failure policy (rate limit, fails closed): the slot is stamped before the
// send with the latest moment the request can reach DingTalk (now + the
// robot's timeout) and restamped with the response time, which is never
// earlier than DingTalk's own arrival time. A send whose outcome is unknown
// keeps its slot: the budget errs on the side of sending later.
func (a *App) sendOne(ctx context.Context, log *logrus.Entry, robot *Robot, m *outMsg) (time.Time, bool) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := a.clock.Now()
	slot, after, err := a.store.ReserveSend(bg, budgetQuery(robot, now), now.Add(robot.Timeout), m.id)
	if err != nil {
		log.WithError(err).Error("cannot reserve a send slot; retrying")
		return now.Add(a.runtime.Load().Config.Delivery.PollInterval), false
	}
	if slot == 0 {
		return after.NextAt, false
	}
	if m.assign {
		n, err := a.store.AssignMessage(bg, ids(m.rows()), m.id)
		if err != nil || n != len(m.items) {
			// The rows are not all ours any more (a lease ran out); send
			// nothing rather than a message whose rows another worker owns.
			if err == nil {
				err = fmt.Errorf("%d of %d rows still leased", n, len(m.items))
			}
			log.WithError(err).WithField("message_id", m.id).Warn("message not sent: its deliveries were taken over")
			if cerr := a.store.CancelSend(bg, slot); cerr != nil {
				log.WithError(cerr).Warn("cannot give back an unused send slot; it expires with the window")
			}
			return a.clock.Now(), true
		}
	}
	start := a.clock.Now()
	sendCtx, cancelSend := context.WithTimeout(context.WithoutCancel(ctx), robot.Timeout)
	sendErr := robot.Sender.Send(sendCtx, m.msg)
	cancelSend()
	done := a.clock.Now()
	if err := a.store.StampSend(bg, slot, done); err != nil {
		log.WithError(err).Warn("cannot restamp the send slot; its earlier stamp stands")
	}
	a.finish(bg, log, robot, m, start, sendErr)
	return done, true
}

// finish records the outcome of one message for all its rows: sent, retry
// at the backoff (or DingTalk's own wait), or dead letter for a permanent
// error or a spent budget; and moves the robot's state (ops alerts).
func (a *App) finish(ctx context.Context, log *logrus.Entry, robot *Robot, m *outMsg, start time.Time, sendErr error) {
	rt := a.runtime.Load()
	now := a.clock.Now()
	log = log.WithFields(logrus.Fields{"message_id": m.id, "events": len(m.items)})
	if len(m.items) == 1 {
		it := m.items[0]
		log = log.WithFields(logrus.Fields{"route": it.d.Route, "delivery_id": it.d.ID, "event_id": it.d.EventID, "attempt": it.d.Attempts + 1})
	}
	att := store.Attempt{At: start, Duration: now.Sub(start), Reason: "ok"}
	if sendErr == nil {
		kind := "single"
		if m.digest {
			kind = "digest"
		}
		a.metrics.Messages.WithLabelValues(robot.Name, kind).Inc()
		a.metrics.Attempts.WithLabelValues(robot.Name, att.Reason).Inc()
		if _, err := a.store.CompleteDeliveries(ctx, ids(m.rows()), att); err != nil {
			log.WithError(err).Error("cannot record the delivery outcome; the rows are retried when their lease ends")
		}
		a.metrics.Deliveries.WithLabelValues(robot.Name, "sent").Add(float64(len(m.items)))
		for _, it := range m.items {
			a.metrics.DeliveryLatency.WithLabelValues(robot.Name).Observe(now.Sub(it.ev.ReceivedAt).Seconds())
		}
		log.Info("delivered")
		a.robotState(ctx, robot.Name, stateOK, "")
		return
	}
	att.Error = sendErr.Error()
	att.Reason = "error"
	permanent := false
	var wait time.Duration
	state, stateReason := "", ""
	var de *dingtalk.Error
	if errors.As(sendErr, &de) {
		att.Reason = de.Reason()
		permanent = de.Class == dingtalk.ClassPermanent
		wait = de.RetryAfter()
		hint := de.HintFor(robot.Name)
		if hint != "" {
			log = log.WithField("fix", hint)
		}
		switch {
		case att.Reason == dingtalk.ReasonRateLimited && wait > 0:
			// A "too fast" answer is about the robot, not the message, and
			// DingTalk's block is shared by every replica: record it in the
			// store so none of them sends before it ends.
			until := now.Add(wait)
			if err := a.store.BlockRobot(ctx, robot.Name, until); err != nil {
				log.WithError(err).Error("cannot record the robot's rate-limit block; its rows still wait")
			}
			if de.Code != 0 { // 410100/130101: DingTalk's 10-minute penalty
				a.metrics.RateLimited.WithLabelValues(robot.Name).Inc()
				log.WithField("paused_until", until.UTC().Format(time.RFC3339)).
					Error("DingTalk rate-limited the robot (410100): it is paused; no retry budget is spent")
				state, stateReason = statePaused, fmt.Sprintf("DingTalk answered %d (too many messages); paused until %s",
					de.Code, until.In(rt.Config.Location).Format("15:04:05 MST"))
			}
		case de.Class == dingtalk.ClassConfig:
			state, stateReason = stateMisconfigured, joinReason("DingTalk answered "+de.Status(), hint)
		}
	}
	a.metrics.Attempts.WithLabelValues(robot.Name, att.Reason).Inc()
	// DingTalk's "too fast" and quota answers ask to wait; they are logged
	// but do not spend the retry budget (only max_age bounds the wait).
	att.Throttled = att.Reason == dingtalk.ReasonRateLimited || att.Reason == dingtalk.ReasonQuota
	retry := rt.Config.Delivery.Retry
	var dead, again []store.Delivery
	attempts := 0
	for _, d := range m.rows() {
		if permanent || now.Sub(d.CreatedAt) >= retry.MaxAge || (!att.Throttled && d.Attempts+1 >= retry.MaxAttempts) {
			dead = append(dead, d)
		} else {
			again = append(again, d)
			attempts = max(attempts, d.Attempts+1)
		}
	}
	if len(dead) > 0 {
		if _, err := a.store.DeadLetterDeliveries(ctx, ids(dead), att); err != nil {
			log.WithError(err).Error("cannot record the delivery outcome; the rows are retried when their lease ends")
		}
		a.metrics.Deliveries.WithLabelValues(robot.Name, "dead").Add(float64(len(dead)))
		log.WithError(sendErr).WithFields(logrus.Fields{"reason": att.Reason, "dead": len(dead)}).Error("delivery failed for good: dead-lettered (bankbot deadletters retry ID re-drives it)")
		if state == "" {
			state, stateReason = stateFailing, fmt.Sprintf("%d deliveries dead-lettered: %s", len(dead), att.Reason)
		}
	}
	if len(again) > 0 {
		if wait == 0 {
			wait = rt.Backoff.Next(attempts)
		}
		if _, err := a.store.RetryDeliveries(ctx, ids(again), att, now.Add(wait)); err != nil {
			log.WithError(err).Error("cannot record the delivery outcome; the rows are retried when their lease ends")
		}
		a.metrics.Deliveries.WithLabelValues(robot.Name, "retry").Add(float64(len(again)))
		log.WithError(sendErr).WithFields(logrus.Fields{"reason": att.Reason, "retry_in": wait.Round(time.Millisecond).String()}).Warn("delivery failed; will retry")
	}
	if state != "" {
		a.robotState(ctx, robot.Name, state, stateReason)
	}
}

func joinReason(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// specOf decodes a delivery's spec; a spec that does not decode (written by
// a newer or older version) falls back to the default template.
func specOf(d store.Delivery, lang string) Spec {
	var spec Spec
	if err := json.Unmarshal(d.Spec, &spec); err != nil || spec.Template == "" {
		spec = Spec{Template: config.DefaultTemplate, Language: lang}
	}
	return spec
}
