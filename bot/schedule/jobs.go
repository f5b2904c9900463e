package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/store"
)

// Store is what the runner and the jobs need of the store.
type Store interface {
	ClaimTick(ctx context.Context, name string, tickAt time.Time, owner string, now time.Time) (bool, error)
	FinishTick(ctx context.Context, name string, tickAt time.Time, result string, now time.Time) error
	LastTick(ctx context.Context, name string, before time.Time, result string) (store.ScheduleTick, bool, error)
	SummarizeEvents(ctx context.Context, p store.EventPeriod) ([]store.EventTotal, error)
	PeriodEvents(ctx context.Context, q store.PeriodQuery) ([]store.StoredEvent, int, error)
	LastReceived(ctx context.Context, sources []string) (map[string]time.Time, error)
	SetMark(ctx context.Context, m store.Mark) (store.Mark, bool, error)
	ListMarks(ctx context.Context, prefix string) ([]store.Mark, error)
	DeleteMark(ctx context.Context, key string) (store.Mark, bool, error)
}

// Message is one message a job posts to a robot.
type Message struct {
	Schedule string
	Job      string
	Robot    string
	Language string
	// Key identifies the message for good (it becomes the provider event
	// id of the synthetic event that carries it): posting the same key
	// twice creates one message.
	Key   string
	Title string
	Text  string
}

// Deps are what the jobs use besides the store.
type Deps struct {
	Store Store
	// Post queues m in the outbox (bot: a synthetic _bankbot event routed
	// to m.Robot), so the robot's rate limit, retries and digests apply.
	Post func(ctx context.Context, m Message) error
	// Retention purges old data (storage.retention) and says what it did.
	// nil: the retention job logs an error and records unavailable.
	Retention func(ctx context.Context, now time.Time) (string, error)
}

// Registry returns the jobs by name.
func Registry() map[string]Job {
	return map[string]Job{
		config.JobSummary:   Summary,
		config.JobWatchdog:  Watchdog,
		config.JobKeyExpiry: KeyExpiry,
		config.JobRetention: Retention,
	}
}

// Retention runs Deps.Retention.
func Retention(ctx context.Context, d *Deps, t Tick) (string, error) {
	if d.Retention == nil {
		return ResultUnavailable, errors.New("retention is not available in this build: nothing was purged")
	}
	what, err := d.Retention(ctx, t.Now)
	if err != nil {
		return ResultFailed, fmt.Errorf("retention: %w", err)
	}
	t.Log.WithField("retention", what).Info("retention ran")
	return ResultOK, nil
}

// sourcesOf is the schedule's sources, or every configured one, sorted.
func sourcesOf(e *Entry, cfg *config.Config) []string {
	if len(e.Sources) > 0 {
		out := slices.Clone(e.Sources)
		slices.Sort(out)
		return out
	}
	out := make([]string, 0, len(cfg.Sources))
	for name := range cfg.Sources {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Summary limits: events listed per section, and the bytes of each part of
// the text, so the message stays well under DingTalk's 20,000-byte body
// with room for keywords, mentions and JSON escaping.
const (
	maxListed     = 10
	totalsBudget  = 7000
	listBudget    = 3500
	maxSummaryAge = 31 * 24 * time.Hour
)

// SummaryPeriod is the period a summary tick covers: since the schedule's
// last tick that succeeded (at most 31 days back), or, on its first run,
// the calendar day (in the schedule's zone) of the instant before the tick.
func SummaryPeriod(ctx context.Context, s Store, e *Entry, at time.Time) (since time.Time, err error) {
	last, ok, err := s.LastTick(ctx, e.Name, at, ResultOK)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the last summary: %w", err)
	}
	if ok && at.Sub(last.TickAt) <= maxSummaryAge {
		return last.TickAt, nil
	}
	y, m, d := at.Add(-time.Nanosecond).In(e.Location).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, e.Location), nil
}

// Summary posts the counts and totals per source, kind and currency of the
// period (SummaryPeriod), the failed events and those no one acknowledged.
// Events the provider sent in test mode (livemode false) moved no money:
// they are left out of the totals and the lists and shown in a section of
// their own.
func Summary(ctx context.Context, d *Deps, t Tick) (string, error) {
	e := t.Entry
	since, err := SummaryPeriod(ctx, d.Store, e, t.At)
	if err != nil {
		return ResultFailed, err
	}
	p := store.EventPeriod{Since: since, Until: t.At, Sources: sourcesOf(e, t.Cfg)}
	if len(p.Sources) == 0 {
		return ResultFailed, errors.New("no sources configured")
	}
	totals, err := d.Store.SummarizeEvents(ctx, p)
	if err != nil {
		return ResultFailed, err
	}
	failed, nFailed, err := d.Store.PeriodEvents(ctx, store.PeriodQuery{EventPeriod: p, Kinds: bankhooks.FailedKinds(), LiveOnly: true, Limit: maxListed})
	if err != nil {
		return ResultFailed, err
	}
	unacked, nUnacked, err := d.Store.PeriodEvents(ctx, store.PeriodQuery{EventPeriod: p, Kinds: bankhooks.FailedKinds(), Unacked: true, LiveOnly: true, Limit: maxListed})
	if err != nil {
		return ResultFailed, err
	}
	title, text := SummaryText(SummaryData{
		Schedule: e.Name, Lang: e.Language, Location: e.Location, Since: since, Until: t.At,
		Totals: totals, Failed: failed, FailedTotal: nFailed, Unacked: unacked, UnackedTotal: nUnacked,
	})
	err = d.Post(ctx, Message{Schedule: e.Name, Job: e.Job, Robot: e.Robot, Language: e.Language,
		Key: "summary:" + e.Name + ":" + t.At.UTC().Format(time.RFC3339), Title: title, Text: text})
	if err != nil {
		return ResultFailed, fmt.Errorf("queue the summary: %w", err)
	}
	return ResultOK, nil
}

// SummaryData is what a summary shows.
type SummaryData struct {
	Schedule     string
	Lang         string
	Location     *time.Location
	Since, Until time.Time
	Totals       []store.EventTotal
	Failed       []store.StoredEvent
	FailedTotal  int
	Unacked      []store.StoredEvent
	UnackedTotal int
}

// SummaryText renders a summary in d.Lang (an unknown one is English).
func SummaryText(d SummaryData) (title, text string) {
	w := wordsFor(d.Lang)
	lang := w.lang
	title = fmt.Sprintf(w.summaryTitle, d.Schedule)
	var b strings.Builder
	b.WriteString("### " + render.EscapeMarkdown(title) + "\n\n")
	b.WriteString(periodText(d.Since, d.Until, d.Location) + "\n\n")

	live, test := totalLines(d.Totals, false, lang), totalLines(d.Totals, true, lang)
	switch {
	case live.events > 0:
		writeLines(&b, live.lines, totalsBudget, w)
		b.WriteString("\n" + fmt.Sprintf(w.total, live.events) + "\n\n")
	case test.events == 0:
		b.WriteString(w.noEvents + "\n\n")
	}
	if test.events > 0 {
		// Test mode moved no money: its own section, never in the totals.
		b.WriteString("#### " + fmt.Sprintf(w.testMode, test.events) + "\n\n")
		writeLines(&b, test.lines, totalsBudget/4, w)
		b.WriteString("\n")
	}
	if d.FailedTotal > 0 {
		b.WriteString("#### " + fmt.Sprintf(w.failed, d.FailedTotal) + "\n\n")
		writeEvents(&b, d.Failed, d.FailedTotal, lang, w)
	}
	if d.UnackedTotal > 0 {
		b.WriteString("#### " + fmt.Sprintf(w.unacked, d.UnackedTotal) + "\n\n")
		writeEvents(&b, d.Unacked, d.UnackedTotal, lang, w)
	}
	b.WriteString(w.ref + ": " + render.EscapeMarkdown(d.Schedule) + " " + d.Until.UTC().Format(time.RFC3339))
	return title, b.String()
}

// totals is the lines of a summary's totals (a bold source, then one line
// per kind and currency) and the events they count.
type totals struct {
	lines  []string
	events int64
}

// totalLines renders the totals of the live events, or of the test-mode
// ones.
func totalLines(ts []store.EventTotal, test bool, lang string) totals {
	var out totals
	source := ""
	for _, t := range ts {
		if t.Test != test {
			continue
		}
		if t.Source != source {
			source = t.Source
			out.lines = append(out.lines, "**"+render.EscapeMarkdown(source)+"**")
		}
		line := "- " + render.KindLabel(bankhooks.Kind(t.Kind), lang) + ": " + fmt.Sprint(t.Count)
		if m := bigMoney(t.Sum, t.Currency, lang); m != "" {
			line += " · **" + m + "**"
		}
		out.lines = append(out.lines, line)
		out.events += t.Count
	}
	return out
}

// writeLines writes lines while they fit in budget bytes, then "… and N
// more".
func writeLines(b *strings.Builder, lines []string, budget int, w words) {
	used := 0
	for i, l := range lines {
		if used+len(l)+1 > budget {
			b.WriteString(fmt.Sprintf(w.more, len(lines)-i) + "\n")
			return
		}
		b.WriteString(l + "\n")
		used += len(l) + 1
	}
}

// writeEvents lists events (the first of total) within listBudget.
func writeEvents(b *strings.Builder, es []store.StoredEvent, total int, lang string, w words) {
	lines := make([]string, 0, len(es))
	for _, se := range es {
		lines = append(lines, eventLine(se, lang))
	}
	used := 0
	for i, l := range lines {
		if used+len(l)+1 > listBudget {
			b.WriteString(fmt.Sprintf(w.more, total-i) + "\n\n")
			return
		}
		b.WriteString(l + "\n")
		used += len(l) + 1
	}
	if total > len(es) {
		b.WriteString(fmt.Sprintf(w.more, total-len(es)) + "\n")
	}
	b.WriteString("\n")
}

// eventLine is "- opn · ❌ Payment failed · **THB 5.00** · ref · code — message · `1a2b3c4d`".
func eventLine(se store.StoredEvent, lang string) string {
	ev := se.Event
	parts := []string{render.EscapeMarkdown(se.Source), render.KindLabel(ev.Kind, lang)}
	if ev.Currency != "" {
		parts = append(parts, "**"+bigMoney(big.NewInt(ev.Amount), ev.Currency, lang)+"**")
	}
	if ref := render.EscapeMarkdown(ev.Reference); ref != "" {
		parts = append(parts, ref)
	} else if id := render.EscapeMarkdown(ev.ID); id != "" {
		parts = append(parts, id)
	}
	var why []string
	for _, s := range []string{ev.FailureCode, ev.FailureMessage} {
		if s = render.EscapeMarkdown(s); s != "" {
			why = append(why, s)
		}
	}
	if len(why) > 0 {
		parts = append(parts, strings.Join(why, " — "))
	}
	parts = append(parts, render.EscapeMarkdown(render.ShortID(se.ID)))
	return "- " + strings.Join(parts, " · ")
}

// bigMoney formats minor units of currency as the alerts do
// (render.FormatMoney); a sum past int64 or an unknown currency shows the
// minor units and the code. Empty without a currency.
func bigMoney(minor *big.Int, currency, lang string) string {
	if currency == "" || minor == nil {
		return ""
	}
	if minor.IsInt64() {
		if s, err := render.FormatMoney(minor.Int64(), currency, lang); err == nil {
			return s
		}
	}
	return minor.String() + " " + render.EscapeMarkdown(currency)
}

// periodText is "2026-12-01 00:00 – 18:00 (Asia/Bangkok)", the date repeated
// when the period spans days.
func periodText(since, until time.Time, loc *time.Location) string {
	s, u := since.In(loc), until.In(loc)
	end := u.Format("15:04")
	if s.Format("2006-01-02") != u.Format("2006-01-02") {
		end = u.Format("2006-01-02 15:04")
	}
	return s.Format("2006-01-02 15:04") + " – " + end + " (" + loc.String() + ")"
}

// Watchdog alerts once when a watched source (silence_after set) has been
// silent that long, counting only its business hours (silence_hours) when
// it has them, and once when it receives again. The silence is a mark in
// the store ("silence/<source>"), so each alert is sent once across
// restarts and replicas.
//
// Failure policy: when an alert cannot be queued, its mark is removed
// again, so the next tick retries it (an alert late rather than lost).
func Watchdog(ctx context.Context, d *Deps, t Tick) (string, error) {
	e := t.Entry
	var watched []string
	for _, name := range sourcesOf(e, t.Cfg) {
		if src := t.Cfg.Sources[name]; src != nil && src.SilenceAfter > 0 {
			watched = append(watched, name)
		}
	}
	if len(watched) == 0 {
		return ResultOK, nil
	}
	last, err := d.Store.LastReceived(ctx, watched)
	if err != nil {
		return ResultFailed, err
	}
	marks, err := d.Store.ListMarks(ctx, "silence/")
	if err != nil {
		return ResultFailed, err
	}
	silent := map[string]store.Mark{}
	for _, m := range marks {
		silent[strings.TrimPrefix(m.Key, "silence/")] = m
	}
	loc := t.Cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	w := wordsFor(e.Language)
	var errs []error
	for _, name := range watched {
		src := t.Cfg.Sources[name]
		ref, heard := last[name]
		if !heard {
			// Never received anything: silent since the watchdog first
			// watched it.
			m, _, err := d.Store.SetMark(ctx, store.Mark{Key: "watch/" + name, At: t.Now})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ref = m.At
		}
		if m, ok := silent[name]; ok {
			since, _ := time.Parse(time.RFC3339Nano, m.Value)
			if heard && ref.After(since) {
				if err := recovered(ctx, d, e, w, name, since, ref, loc); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		if SilentFor(ref, t.Now, src.SilenceHours, loc, src.SilenceAfter) < src.SilenceAfter {
			continue
		}
		if err := wentSilent(ctx, d, e, w, name, ref, t.Now, src, loc); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return ResultFailed, err
	}
	return ResultOK, nil
}

func wentSilent(ctx context.Context, d *Deps, e *Entry, w words, name string, since, now time.Time, src *config.Source, loc *time.Location) error {
	key := "silence/" + name
	_, first, err := d.Store.SetMark(ctx, store.Mark{Key: key, Value: since.UTC().Format(time.RFC3339Nano), At: now})
	if err != nil || !first {
		return err
	}
	title := fmt.Sprintf(w.silentTitle, name)
	text := "### " + render.EscapeMarkdown(title) + "\n\n" +
		fmt.Sprintf(w.silentText, since.In(loc).Format("2006-01-02 15:04")+" ("+loc.String()+")", w.duration(now.Sub(since)))
	if src.SilenceHours != nil {
		text += "\n\n" + fmt.Sprintf(w.hoursNote, w.duration(src.SilenceAfter))
	}
	err = d.Post(ctx, Message{Schedule: e.Name, Job: e.Job, Robot: e.Robot, Language: e.Language,
		Key: "silent:" + name + ":" + since.UTC().Format(time.RFC3339Nano), Title: title, Text: text})
	if err != nil {
		_, _, derr := d.Store.DeleteMark(context.WithoutCancel(ctx), key)
		return errors.Join(fmt.Errorf("queue the silence alert of %s: %w", name, err), derr)
	}
	return nil
}

func recovered(ctx context.Context, d *Deps, e *Entry, w words, name string, since, back time.Time, loc *time.Location) error {
	key := "silence/" + name
	m, existed, err := d.Store.DeleteMark(ctx, key)
	if err != nil || !existed {
		return err
	}
	title := fmt.Sprintf(w.backTitle, name)
	text := "### " + render.EscapeMarkdown(title) + "\n\n" +
		fmt.Sprintf(w.backText, name, w.duration(back.Sub(since)), back.In(loc).Format("2006-01-02 15:04")+" ("+loc.String()+")")
	err = d.Post(ctx, Message{Schedule: e.Name, Job: e.Job, Robot: e.Robot, Language: e.Language,
		Key: "back:" + name + ":" + back.UTC().Format(time.RFC3339Nano), Title: title, Text: text})
	if err != nil {
		_, _, serr := d.Store.SetMark(context.WithoutCancel(ctx), m)
		return errors.Join(fmt.Errorf("queue the recovery alert of %s: %w", name, err), serr)
	}
	return nil
}

// SilentFor is how much of [from, to) counts toward a silence: all of it
// without business hours, else only the time inside them (in loc). It
// stops counting once it reaches limit.
func SilentFor(from, to time.Time, h *config.SilenceHours, loc *time.Location, limit time.Duration) time.Duration {
	if !to.After(from) {
		return 0
	}
	if h == nil {
		return to.Sub(from)
	}
	var sum time.Duration
	f := from.In(loc)
	y, m, dd := f.Date()
	for i := 0; sum < limit; i++ {
		day := time.Date(y, m, dd+i, 0, 0, 0, 0, loc)
		if !day.Before(to) {
			break
		}
		if !h.Weekdays[day.Weekday()] {
			continue
		}
		open := time.Date(y, m, dd+i, 0, h.FromMin, 0, 0, loc)
		shut := time.Date(y, m, dd+i, 0, h.ToMin, 0, 0, loc)
		a, b := later(open, from), earlier(shut, to)
		if b.After(a) {
			sum += b.Sub(a)
		}
	}
	return sum
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Key-expiry reminders, in days before the key expires.
var reminderDays = []int{1, 3, 14}

// expiringKey is one source key or robot secret with an expiry.
type expiringKey struct {
	name    string // sources.opn.secrets[0], robots.finance.secret
	print   string // first 8 hex digits of the SHA-256 of the value
	expires time.Time
}

// Fingerprint is how a key is named in reminders and in the store: the
// first 8 hex digits of the SHA-256 of its value, never the value.
func Fingerprint(v config.Secret) string {
	sum := sha256.Sum256([]byte(v.Reveal()))
	return hex.EncodeToString(sum[:4])
}

func expiringKeys(cfg *config.Config) []expiringKey {
	var out []expiringKey
	for _, name := range sortedKeys(cfg.Sources) {
		src := cfg.Sources[name]
		if src == nil {
			continue
		}
		for i, s := range src.Secrets {
			if s != nil && !s.ExpiresAt.IsZero() {
				out = append(out, expiringKey{name: fmt.Sprintf("sources.%s.secrets[%d]", name, i), print: Fingerprint(s.Value), expires: s.ExpiresAt})
			}
		}
	}
	for _, name := range sortedKeys(cfg.Robots) {
		r := cfg.Robots[name]
		if r == nil || r.SecretExpiresAt.IsZero() {
			continue
		}
		field := "secret"
		if r.Type == "app" {
			field = "app_secret"
		}
		out = append(out, expiringKey{name: "robots." + name + "." + field, print: Fingerprint(r.ExpiringSecret()), expires: r.SecretExpiresAt})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// KeyExpiry reminds 14, 3 and 1 days before a source key
// (sources.*.secrets[*].expires) or a robot secret (robots.*.secret_expires)
// expires: at each tick, a key within d days of its expiry (d the smallest
// such of 14, 3, 1) is reminded once for d, across restarts and replicas
// (a mark per key, fingerprint, expiry and d). A key already expired is
// not reminded (config check and the log say so).
//
// Failure policy: when the reminder cannot be queued, its marks are removed
// again so the next tick retries.
func KeyExpiry(ctx context.Context, d *Deps, t Tick) (string, error) {
	e := t.Entry
	w := wordsFor(e.Language)
	loc := t.Cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	var lines, keys []string
	for _, k := range expiringKeys(t.Cfg) {
		left := k.expires.Sub(t.Now)
		if left <= 0 {
			continue
		}
		days := 0
		for _, n := range reminderDays {
			if left <= time.Duration(n)*24*time.Hour {
				days = n
				break
			}
		}
		if days == 0 {
			continue
		}
		key := fmt.Sprintf("key_expiry/%s/%s/%d/%dd", k.name, k.print, k.expires.Unix(), days)
		_, first, err := d.Store.SetMark(ctx, store.Mark{Key: key, At: t.Now})
		if err != nil {
			return ResultFailed, errors.Join(err, unmark(ctx, d, keys))
		}
		if !first {
			continue
		}
		keys = append(keys, key)
		lines = append(lines, "- "+fmt.Sprintf(w.keyLine, "`"+k.name+"` ("+k.print+")",
			k.expires.In(loc).Format("2006-01-02 15:04")+" ("+loc.String()+")", w.duration(left)))
	}
	if len(lines) == 0 {
		return ResultOK, nil
	}
	title := w.keyTitle
	text := "### " + title + "\n\n" + strings.Join(lines, "\n") + "\n\n" + w.keyHint
	err := d.Post(ctx, Message{Schedule: e.Name, Job: e.Job, Robot: e.Robot, Language: e.Language,
		Key: "key_expiry:" + e.Name + ":" + t.At.UTC().Format(time.RFC3339), Title: title, Text: text})
	if err != nil {
		return ResultFailed, errors.Join(fmt.Errorf("queue the key-expiry reminder: %w", err), unmark(ctx, d, keys))
	}
	return ResultOK, nil
}

// unmark removes the marks of reminders that were not queued.
func unmark(ctx context.Context, d *Deps, keys []string) error {
	var errs []error
	for _, k := range keys {
		if _, _, err := d.Store.DeleteMark(context.WithoutCancel(ctx), k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
