// Package schedule runs the config's schedules (issue 9): a cron spec per
// schedule, each tick run once across restarts and replicas, and the jobs
// they run (summary, watchdog, key_expiry, retention).
//
// robfig/cron only parses the specs and computes the next time; the loop is
// driven by the injected clock, so tests run on fake time.
//
// Once only. A tick is identified by (schedule name, scheduled time). Before
// running it, a runner claims it in the store (ClaimTick, an
// insert-if-absent on that key): only the winner runs it, in whichever
// replica or process lifetime. A claimed tick is never handed out again,
// even when its runner dies before finishing: ticks are at most once,
// because a second daily summary or a second silence alert is worse than a
// missing one (the next summary covers the period since the last one that
// succeeded, so nothing is left out of the totals).
//
// Missed ticks. On start, each schedule's latest scheduled time before now
// is run once if no one ran it and it is younger than one interval (the
// time between it and the next scheduled time, so, in effect, the latest
// missed tick always qualifies); earlier missed ticks are skipped with a
// log line. A schedule first seen (by any replica) after its latest
// scheduled time has nothing to catch up: adding a schedule never posts a
// report for the past. A reload applies new, changed and removed
// schedules at once, without catching up.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/store"
)

// Clock is the runner's time source (bot.Clock satisfies it).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Results of a tick, the result label of the ticks metric and the result
// column of schedule_ticks.
const (
	ResultOK          = "ok"
	ResultFailed      = "failed"      // the job ran and failed (logged)
	ResultUnavailable = "unavailable" // the job cannot run in this build or config (e.g. retention not wired)
	// Not stored (no claim was made, or another runner holds it):
	ResultSkipped      = "skipped"       // missed, older than one interval, or still running
	ResultOtherRunner  = "other_runner"  // another replica or an earlier run claimed it
	ResultClaimFailed  = "claim_failed"  // the store did not answer; not run
	ResultFinishFailed = "finish_failed" // ran, but its result could not be recorded
)

// Entry is one schedule, parsed.
type Entry struct {
	Name     string
	Spec     string // the cron spec as configured
	Job      string
	Robot    string
	Language string
	Sources  []string
	// Location is the zone of the spec: its CRON_TZ=/TZ= prefix, else the
	// config's timezone. Summaries show times and calendar days in it.
	Location *time.Location
	sched    cron.Schedule
}

// Next returns the first scheduled time after t.
func (e *Entry) Next(t time.Time) time.Time { return e.sched.Next(t) }

// Prev returns the latest scheduled time at or before t (zero when there is
// none in the last ten years). cron computes only forward, so Prev walks
// forward from ever earlier starts until it finds one.
func (e *Entry) Prev(t time.Time) time.Time {
	for back := time.Minute; back <= 10*366*24*time.Hour; back *= 2 {
		var last time.Time
		for n := e.sched.Next(t.Add(-back)); !n.IsZero() && !n.After(t); n = e.sched.Next(n) {
			last = n
		}
		if !last.IsZero() {
			return last
		}
	}
	return time.Time{}
}

// same reports whether e and o run the same job at the same times.
func (e *Entry) same(o *Entry) bool {
	return e.Spec == o.Spec && e.Job == o.Job && e.Robot == o.Robot && e.Language == o.Language &&
		slices.Equal(e.Sources, o.Sources) && e.Location.String() == o.Location.String()
}

// everySchedule is @every d aligned to multiples of d since the zero time,
// so every replica computes the same ticks (cron's own @every counts from
// whenever it is asked).
type everySchedule struct{ d time.Duration }

func (s everySchedule) Next(t time.Time) time.Time { return t.Truncate(s.d).Add(s.d) }

// Entries parses cfg's schedules. cfg has been validated, so an error here
// is a spec that validation let through.
func Entries(cfg *config.Config) ([]*Entry, error) {
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	var out []*Entry
	for i, sc := range cfg.Schedules {
		if sc == nil {
			continue
		}
		s, err := config.CronParser.Parse(sc.Cron)
		if err != nil {
			return nil, fmt.Errorf("schedules[%d].cron: %w", i, err)
		}
		e := &Entry{Name: sc.Name, Spec: sc.Cron, Job: sc.Job, Robot: sc.Robot, Language: sc.Language,
			Sources: slices.Clone(sc.Sources), Location: loc, sched: s}
		switch x := s.(type) {
		case *cron.SpecSchedule:
			if hasTZ(sc.Cron) {
				e.Location = x.Location
			} else {
				x.Location = loc // cron defaults to time.Local
			}
			if x.Hour&allHours != allHours { // runs at set hours: by the wall clock
				utc := *x
				utc.Location = time.UTC
				e.sched = wallSchedule{utc: &utc, loc: e.Location}
			}
		case cron.ConstantDelaySchedule:
			e.sched = everySchedule{d: x.Delay}
		}
		out = append(out, e)
	}
	return out, nil
}

// allHours is the hour field of a spec that runs in every hour.
const allHours = 1<<24 - 1

// wallSchedule runs a spec with set hours ("30 2 * * *", "0 9,18 * * 1-5")
// by the wall clock of its zone across daylight-saving changes, as ISC
// cron does, where robfig/cron counts instants:
//
//   - a time the clocks skip (02:30 when 02:00 jumps to 03:00) runs when
//     they jump, at 03:00, instead of not at all that day;
//   - a time the clocks show twice (01:30 when 02:00 goes back to 01:00)
//     runs once, the first time, instead of twice.
//
// So a daily summary comes once every calendar day. Specs that run every
// hour ("*/5 * * * *") keep cron's instants, as in ISC cron: none in the
// skipped hour (it does not exist), again in the repeated one (it is an
// hour of real time that a watchdog must watch). Zones without
// daylight saving (Asia/Bangkok, Asia/Jakarta, Asia/Hong_Kong) are
// unaffected either way.
type wallSchedule struct {
	utc *cron.SpecSchedule // the spec over wall-clock times, written as UTC
	loc *time.Location
}

func (s wallSchedule) Next(t time.Time) time.Time {
	// In the second pass of a repeated hour (01:10 EST after 01:59 EDT),
	// the next wall time (01:30) was first shown before t: it ran then, so
	// it is not next; take the wall time after it.
	for w := s.utc.Next(wallClock(t, s.loc)); !w.IsZero(); w = s.utc.Next(w) {
		if at := fromWallClock(w, s.loc); at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// wallClock is what loc's clock shows at t, written as a UTC time.
func wallClock(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// fromWallClock is the first instant at which loc's clock shows w (written
// as UTC) or, when the clocks skip w, the instant they jump past it.
func fromWallClock(w time.Time, loc *time.Location) time.Time {
	// The instants that could show w: w less each UTC offset loc uses
	// within two days of it.
	var first time.Time
	for _, d := range []time.Duration{-48 * time.Hour, -24 * time.Hour, 0, 24 * time.Hour, 48 * time.Hour} {
		_, off := w.Add(d).In(loc).Zone()
		c := w.Add(-time.Duration(off) * time.Second)
		if wallClock(c, loc).Equal(w) && (first.IsZero() || c.Before(first)) {
			first = c
		}
	}
	if !first.IsZero() {
		return first.In(loc)
	}
	// Skipped: the jump lies between the instant that shows w under the
	// offset after it (earlier) and the one under the offset before it.
	lo, hi := w.Add(-14*time.Hour), w.Add(14*time.Hour) // every offset is within ±14 h
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if wallClock(mid, loc).Before(w) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.In(loc)
}

func hasTZ(spec string) bool {
	s := strings.TrimSpace(spec)
	return strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=")
}

// Tick is one run of a job.
type Tick struct {
	Entry *Entry
	At    time.Time      // the scheduled time
	Now   time.Time      // when it started
	Cfg   *config.Config // the config in force when it started
	Log   *logrus.Entry
}

// Job runs one tick and returns its result (ResultOK, ResultFailed,
// ResultUnavailable) and, when it is not ok, why.
type Job func(ctx context.Context, d *Deps, t Tick) (string, error)

// Options configure a Runner.
type Options struct {
	Clock Clock
	Log   logrus.FieldLogger
	// Owner identifies this process in the claims (its lease owner id).
	Owner string
	Deps  Deps
	// Jobs overrides the job registry (tests); nil means Registry().
	Jobs map[string]Job
	// OnTick, when set, is called after every tick with its schedule, job
	// and result (the metrics counter).
	OnTick func(schedule, job, result string)
}

// Runner runs the schedules of the config last applied.
type Runner struct {
	o    Options
	jobs map[string]Job

	mu      sync.Mutex
	cfg     *config.Config
	entries map[string]*state
	wake    chan struct{}
	wg      sync.WaitGroup
}

// state is a schedule as the loop tracks it.
type state struct {
	e       *Entry
	next    time.Time // zero until the loop computes it
	running bool
}

// Timeouts of one tick's job (the claim and the result are not counted).
const (
	jobTimeout = 2 * time.Minute
	// retentionTimeout: a purge slows down to 0.5 % of the database's
	// write time while webhooks arrive (store.DefaultPurgeYield), so a
	// large backlog on a busy store takes hours; what it committed stays
	// when the timeout ends it, and the next tick goes on from there.
	retentionTimeout = 12 * time.Hour
	// maxSleep bounds one wait of the loop, so a clock that jumps (a
	// suspended VM) is noticed within a minute.
	maxSleep = time.Minute
)

// New returns a runner; Apply gives it its schedules and Run runs them.
func New(o Options) *Runner {
	jobs := o.Jobs
	if jobs == nil {
		jobs = Registry()
	}
	if o.Log == nil {
		l := logrus.New()
		o.Log = l
	}
	return &Runner{o: o, jobs: jobs, entries: map[string]*state{}, wake: make(chan struct{}, 1)}
}

// Apply replaces the schedules with cfg's (at start and on every reload): a
// schedule whose name, spec and job are unchanged keeps its next time, a new
// or changed one is timed from now (no catch-up), a removed or renamed one
// stops (a tick of it already running finishes).
func (r *Runner) Apply(cfg *config.Config) error {
	es, err := Entries(cfg)
	if err != nil {
		return err
	}
	now := r.o.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	next := make(map[string]*state, len(es))
	for _, e := range es {
		old, ok := r.entries[e.Name]
		switch {
		case !ok:
			next[e.Name] = &state{e: e, next: e.Next(now)}
		case old.e.same(e):
			old.e = e
			next[e.Name] = old
		default:
			// Changed: timed afresh, but the same state, so a tick of the
			// old definition still running keeps the next one waiting.
			old.e, old.next = e, e.Next(now)
			next[e.Name] = old
		}
	}
	for name := range r.entries {
		if _, ok := next[name]; !ok {
			r.o.Log.WithField("schedule", name).Info("schedule removed: it no longer runs")
		}
	}
	r.entries, r.cfg = next, cfg
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run runs the schedules until ctx ends, then waits for the ticks running.
func (r *Runner) Run(ctx context.Context) {
	defer r.wg.Wait()
	select {
	case <-r.wake: // the Apply before Run: catchUp sees it
	default:
	}
	r.catchUp(ctx)
	for {
		next := r.runDue(ctx, r.o.Clock.Now())
		// The wait is measured when it starts: a clock that moved during
		// the round shortens it (to nothing when the next tick is due).
		wait := min(max(next.Sub(r.o.Clock.Now()), 0), maxSleep)
		select {
		case <-ctx.Done():
			return
		case <-r.o.Clock.After(wait):
		case <-r.wake:
		}
	}
}

// catchUp runs each schedule's latest missed tick once (see the package
// documentation) and sets every schedule's next time.
func (r *Runner) catchUp(ctx context.Context) {
	now := r.o.Clock.Now()
	r.mu.Lock()
	var sts []*state
	for _, st := range r.entries {
		sts = append(sts, st)
	}
	r.mu.Unlock()
	slices.SortFunc(sts, func(a, b *state) int { return strings.Compare(a.e.Name, b.e.Name) })
	for _, st := range sts {
		e := st.e
		log := r.o.Log.WithFields(logrus.Fields{"schedule": e.Name, "job": e.Job})
		r.mu.Lock()
		st.next = e.Next(now)
		r.mu.Unlock()
		prev := e.Prev(now)
		if prev.IsZero() {
			continue
		}
		since, err := r.firstSeen(ctx, e, now)
		if err != nil {
			log.WithError(err).Warn("cannot read when the schedule was first seen; no catch-up of a missed tick")
			continue
		}
		if prev.Before(since) {
			continue // the schedule did not exist then
		}
		if interval := e.Next(prev).Sub(prev); now.Sub(prev) >= interval {
			log.WithField("tick", prev).Warn("missed tick older than one interval: skipped")
			r.count(e, ResultSkipped)
			continue
		}
		r.logSkipped(ctx, log, e, prev, since)
		r.start(ctx, st, prev, "catch-up")
	}
}

// firstSeen returns when any runner first saw schedule e (recorded now if
// none did).
func (r *Runner) firstSeen(ctx context.Context, e *Entry, now time.Time) (time.Time, error) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, _, err := r.o.Deps.Store.SetMark(qctx, store.Mark{Key: "schedule/" + e.Name + "/since", At: now})
	return m.At, err
}

// logSkipped logs the ticks missed between the last one claimed and prev
// (they are older than one interval, so they are not run).
func (r *Runner) logSkipped(ctx context.Context, log *logrus.Entry, e *Entry, prev, since time.Time) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	last, ok, err := r.o.Deps.Store.LastTick(qctx, e.Name, prev, "")
	if err != nil {
		return
	}
	from := since.Add(-time.Nanosecond) // a tick at since itself was missed too
	if ok && last.TickAt.After(from) {
		from = last.TickAt
	}
	first := e.Next(from)
	if !first.Before(prev) {
		return
	}
	log.WithFields(logrus.Fields{"from": first, "to": e.Prev(prev.Add(-time.Nanosecond))}).
		Warn("ticks missed while bankbot was down, older than one interval: skipped; only the latest missed tick runs")
	r.count(e, ResultSkipped)
}

// runDue starts the ticks due at now and returns when the next one is due
// (at most maxSleep after now).
func (r *Runner) runDue(ctx context.Context, now time.Time) time.Time {
	r.mu.Lock()
	var due []struct {
		st *state
		at time.Time
	}
	next := now.Add(maxSleep)
	for _, st := range r.entries {
		if st.next.IsZero() {
			st.next = st.e.Next(now) // new since the last round
		}
		if !st.next.After(now) {
			at, skipped := st.next, 0
			for n := st.e.Next(at); !n.After(now); n = st.e.Next(n) {
				at, skipped = n, skipped+1
			}
			if skipped > 0 {
				r.o.Log.WithFields(logrus.Fields{"schedule": st.e.Name, "skipped": skipped, "tick": at}).
					Warn("the clock jumped past several ticks: only the latest runs")
			}
			due = append(due, struct {
				st *state
				at time.Time
			}{st, at})
			st.next = st.e.Next(at)
		}
		if st.next.Before(next) {
			next = st.next
		}
	}
	r.mu.Unlock()
	slices.SortFunc(due, func(a, b struct {
		st *state
		at time.Time
	}) int {
		return strings.Compare(a.st.e.Name, b.st.e.Name)
	})
	for _, d := range due {
		r.start(ctx, d.st, d.at, "")
	}
	return next
}

// start runs the tick of st at in its own goroutine, unless the previous
// tick of the same schedule still runs (then it is skipped: overlapping
// runs of one job would double its work and its messages).
func (r *Runner) start(ctx context.Context, st *state, at time.Time, why string) {
	r.mu.Lock()
	if st.running {
		r.mu.Unlock()
		r.o.Log.WithFields(logrus.Fields{"schedule": st.e.Name, "tick": at}).Warn("the previous tick still runs: this one is skipped")
		r.count(st.e, ResultSkipped)
		return
	}
	st.running = true
	cfg := r.cfg
	r.mu.Unlock()
	r.wg.Go(func() {
		result := r.runTick(ctx, cfg, st.e, at, why)
		r.mu.Lock()
		st.running = false
		r.mu.Unlock()
		r.count(st.e, result)
	})
}

// claimWaits are the waits between the attempts to claim a tick while the
// store is unavailable.
var claimWaits = []time.Duration{time.Second, 5 * time.Second, 15 * time.Second}

// claim claims the tick, retrying while the store is unavailable.
//
// Failure policy: fails closed (the tick is not run) after about 20 s of
// store errors, because running it unclaimed could post it twice across
// replicas; the tick is logged and counted claim_failed, and the next
// summary still covers its period.
func (r *Runner) claim(ctx context.Context, e *Entry, at time.Time) (bool, error) {
	for i := 0; ; i++ {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		won, err := r.o.Deps.Store.ClaimTick(qctx, e.Name, at, r.o.Owner, r.o.Clock.Now())
		cancel()
		if err == nil || !errors.Is(err, store.ErrUnavailable) || i >= len(claimWaits) {
			return won, err
		}
		select {
		case <-ctx.Done():
			return false, err
		case <-r.o.Clock.After(claimWaits[i]):
		}
	}
}

// runTick claims and runs one tick and returns its result.
func (r *Runner) runTick(ctx context.Context, cfg *config.Config, e *Entry, at time.Time, why string) string {
	log := r.o.Log.WithFields(logrus.Fields{"schedule": e.Name, "job": e.Job, "tick": at})
	if why != "" {
		log = log.WithField("run", why)
	}
	won, err := r.claim(ctx, e, at)
	if err != nil {
		log.WithError(err).Error("cannot claim the tick: not run")
		return ResultClaimFailed
	}
	if !won {
		log.Debug("tick claimed by another runner")
		return ResultOtherRunner
	}
	job := r.jobs[e.Job]
	result, jerr := ResultUnavailable, fmt.Errorf("no job named %q in this build", e.Job)
	if job != nil {
		timeout := jobTimeout
		if e.Job == config.JobRetention {
			timeout = retentionTimeout
		}
		jctx, cancel := context.WithTimeout(ctx, timeout)
		result, jerr = job(jctx, &r.o.Deps, Tick{Entry: e, At: at, Now: r.o.Clock.Now(), Cfg: cfg, Log: log})
		cancel()
	}
	if jerr != nil {
		log.WithError(jerr).WithField("result", result).Error("scheduled job did not complete")
	} else {
		log.WithField("result", result).Info("scheduled job ran")
	}
	// The result is recorded even when ctx ended (shutdown mid-job).
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.o.Deps.Store.FinishTick(fctx, e.Name, at, result, r.o.Clock.Now()); err != nil {
		log.WithError(err).Error("cannot record the tick's result; the next summary will start from an earlier tick")
		return ResultFinishFailed
	}
	return result
}

func (r *Runner) count(e *Entry, result string) {
	if r.o.OnTick != nil {
		r.o.OnTick(e.Name, e.Job, result)
	}
}
