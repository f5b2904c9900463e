package chatops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/eventsearch"
	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/store"
)

// Limits of what one reply lists.
const (
	// maxSummaryEvents is how many events of one day a summary reads.
	maxSummaryEvents = 50000
	// maxListed is how many events find, unacked and a summary's failures list.
	maxListed = 10
	// unackedWindow is how far back unacked looks.
	unackedWindow = 7 * 24 * time.Hour
	// slipWindow is how far back verify looks for the slip's payment.
	slipWindow = 90 * 24 * time.Hour
	// keyWarning is how soon a key must expire for status to list it.
	keyWarning = 14 * 24 * time.Hour
)

// md makes a provider- or user-supplied string safe inside DingTalk markdown
// (escaped, long digit runs masked, links defanged).
func md(s string) string { return render.EscapeMarkdown(s) }

// money formats an amount in minor units with the currency's own digits in
// env's language, never through a float; an unknown currency shows the
// minor units.
func (env Env) money(minor int64, currency string) string {
	if s, err := render.FormatMoney(minor, currency, env.Language); err == nil {
		return s
	}
	return strings.TrimSpace(env.tr(txtMinorUnits, minor, md(currency)))
}

func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// eventLine is one event in a list: time, source, kind, amount, reference,
// masked account and bankbot's id.
func eventLine(e store.StoredEvent, env Env) string {
	ev := e.Event
	parts := []string{stamp(e.ReceivedAt, env.Location), md(e.Source), render.KindLabel(ev.Kind, env.Language)}
	if ev.Currency != "" || ev.Amount != 0 {
		parts = append(parts, "**"+env.money(ev.Amount, ev.Currency)+"**")
	}
	if ev.Reference != "" {
		parts = append(parts, env.tr(txtRef, md(ev.Reference)))
	}
	if a := render.MaskAccount(ev.Account); a != "" {
		parts = append(parts, env.tr(txtAcct, a))
	}
	parts = append(parts, md(e.ID))
	return "- " + strings.Join(parts, " · ")
}

// summary answers today and summary [YYYY-MM-DD].
func (s *Service) summary(ctx context.Context, env Env, arg string) outcome {
	now := s.now().In(env.Location)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, env.Location)
	if arg = strings.TrimSpace(arg); arg != "" {
		d, err := time.ParseInLocation("2006-01-02", arg, env.Location)
		if err != nil {
			return outcome{text: env.tr(txtSummaryBadDay, now.Format("2006-01-02")), result: ResultInvalid}
		}
		day = d
	}
	end := day.AddDate(0, 0, 1)
	es, err := s.Store.ListEvents(ctx, store.EventFilter{Since: day, Until: end, Limit: maxSummaryEvents})
	if err != nil {
		return s.storeTrouble(env, "list events", err)
	}
	// Events sent in the provider's test mode (livemode false) moved no
	// money: they get a section of their own, out of the totals and the
	// failed list (as the scheduled summary does).
	type key struct {
		test                   bool
		source, kind, currency string
	}
	type total struct {
		count    int
		sum      int64
		overflow bool
	}
	totals := map[key]*total{}
	var failed []store.StoredEvent
	live, tests := 0, 0
	for _, e := range es {
		k := key{!e.Event.Livemode, e.Source, string(e.Event.Kind), e.Event.Currency}
		t := totals[k]
		if t == nil {
			t = &total{}
			totals[k] = t
		}
		t.count++
		if sum, ok := addInt64(t.sum, e.Event.Amount); ok {
			t.sum = sum
		} else {
			t.overflow = true
		}
		if k.test {
			tests++
			continue
		}
		live++
		if e.Event.Kind.Failed() {
			failed = append(failed, e)
		}
	}
	keys := make([]key, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmpBool(a.test, b.test), cmp.Compare(a.source, b.source), cmp.Compare(a.kind, b.kind), cmp.Compare(a.currency, b.currency))
	})
	var b strings.Builder
	b.WriteString(env.tr(txtSummaryHeading, day.Format("2006-01-02"), env.Location) + "\n\n")
	if len(es) == 0 {
		b.WriteString(env.tr(txtSummaryNone))
		return outcome{text: b.String(), result: ResultOK}
	}
	b.WriteString(env.tr(txtSummaryCount, live) + "\n\n")
	source, test := "", false
	for _, k := range keys {
		if k.test && !test {
			test, source = true, ""
			b.WriteString("\n" + env.tr(txtSummaryTest, tests) + "\n")
		}
		if k.source != source {
			source = k.source
			fmt.Fprintf(&b, "\n**%s**\n\n", md(source))
		}
		t := totals[k]
		line := fmt.Sprintf("- %s: %d", render.KindLabel(bankhooks.Kind(k.kind), env.Language), t.count)
		switch {
		case t.overflow:
			line += " · " + env.tr(txtSummaryTooLarge)
		case k.currency != "" || t.sum != 0:
			line += " · " + env.money(t.sum, k.currency)
		}
		b.WriteString(line + "\n")
	}
	if len(failed) > 0 {
		b.WriteString("\n" + env.tr(txtSummaryFailed, len(failed)) + "\n\n")
		for i, e := range failed {
			if i == maxListed {
				b.WriteString(env.tr(txtSummaryMore, len(failed)-maxListed) + "\n")
				break
			}
			line := eventLine(e, env)
			if msg := failureLine(e.Event, env.Language); msg != "" {
				line += " · " + msg
			}
			b.WriteString(line + "\n")
		}
	}
	if len(es) >= maxSummaryEvents {
		b.WriteString("\n" + env.tr(txtSummaryCapped, maxSummaryEvents) + "\n")
	}
	return outcome{text: b.String(), result: ResultOK}
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// addInt64 adds without overflowing; ok is false when it would.
func addInt64(a, b int64) (int64, bool) {
	c := a + b
	if (b > 0 && c < a) || (b < 0 && c > a) {
		return a, false
	}
	return c, true
}

// find answers find <reference | amount | last digits>: the search of
// `bankbot events find` over the last 30 days, newest first.
func (s *Service) find(ctx context.Context, env Env, arg string) outcome {
	if strings.TrimSpace(arg) == "" {
		return outcome{text: env.tr(txtFindEmpty), result: ResultInvalid}
	}
	now := s.now()
	es, err := eventsearch.Find(ctx, s.Store, arg, now.Add(-eventsearch.Window), time.Time{}, maxListed+1)
	if err != nil {
		return s.storeTrouble(env, "find events", err)
	}
	if len(es) == 0 {
		return outcome{text: env.tr(txtFindNone, md(arg)), result: ResultNotFound}
	}
	var b strings.Builder
	b.WriteString(env.tr(txtFindHeading, md(arg)) + "\n\n")
	for i, e := range es {
		if i == maxListed {
			b.WriteString(env.tr(txtFindMore) + "\n")
			break
		}
		b.WriteString(eventLine(e, env) + "\n")
	}
	return outcome{text: b.String(), result: ResultOK}
}

// status answers status: each source's last event, the outbox, each
// robot's state and the keys expiring within 14 days.
func (s *Service) status(ctx context.Context, env Env) outcome {
	now := s.now()
	var b strings.Builder
	b.WriteString(env.tr(txtStatusHeading) + "\n\n")
	for _, src := range env.Sources {
		es, err := s.Store.ListEvents(ctx, store.EventFilter{Source: src.Name, Limit: 1})
		if err != nil {
			return s.storeTrouble(env, "list events", err)
		}
		last := env.tr(txtStatusNever)
		if len(es) > 0 {
			last = env.tr(txtStatusAgo, stamp(es[0].ReceivedAt, env.Location), env.ago(now.Sub(es[0].ReceivedAt)))
		}
		fmt.Fprintf(&b, "- %s: %s\n", md(src.Name), last)
	}
	st, err := s.Store.Stats(ctx)
	if err != nil {
		return s.storeTrouble(env, "stats", err)
	}
	b.WriteString("\n" + env.tr(txtStatusOutbox, st.Pending, st.Sending, st.Unrouted, st.Dead))
	if !st.OldestDueSince.IsZero() && now.After(st.OldestDueSince) {
		b.WriteString(env.tr(txtStatusOldest, env.ago(now.Sub(st.OldestDueSince))))
	}
	b.WriteString("\n\n" + env.tr(txtStatusRobots) + "\n\n")
	states, err := s.Store.RobotStates(ctx)
	if err != nil {
		return s.storeTrouble(env, "robot states", err)
	}
	byName := map[string]store.RobotState{}
	for _, rs := range states {
		byName[rs.Robot] = rs
	}
	for _, name := range env.Robots {
		rs, ok := byName[name]
		state := store.RobotOK
		if ok && rs.State != "" {
			state = rs.State
		}
		shown := md(state)
		if tx, ok := robotStates[state]; ok {
			shown = env.tr(tx)
		}
		line := fmt.Sprintf("- %s: %s", md(name), shown)
		if rs.Reason != "" && state != store.RobotOK {
			line += " (" + md(clipRunes(rs.Reason, 120)) + ")"
		}
		if rs.BlockedUntil.After(now) {
			line += env.tr(txtStatusPaused, stamp(rs.BlockedUntil, env.Location))
		}
		b.WriteString(line + "\n")
	}
	var keys []string
	for _, src := range env.Sources {
		for _, k := range src.Keys {
			if k.Expires.IsZero() || k.Expires.Sub(now) > keyWarning {
				continue
			}
			what := env.tr(txtKeyExpires, stamp(k.Expires, env.Location), env.ago(k.Expires.Sub(now)))
			if !now.Before(k.Expires) {
				what = env.tr(txtKeyExpired, stamp(k.Expires, env.Location))
			}
			keys = append(keys, fmt.Sprintf("- sources.%s.%s %s", md(src.Name), md(k.Name), what))
		}
	}
	if len(keys) > 0 {
		b.WriteString("\n" + env.tr(txtStatusKeys) + "\n\n" + strings.Join(keys, "\n") + "\n")
	} else {
		b.WriteString("\n" + env.tr(txtStatusNoKeys) + "\n")
	}
	return outcome{text: b.String(), result: ResultOK}
}

// ago formats a duration for people in env's language: 3d 4h, 2h 5m, 4m,
// 12s (th: 3 วัน 4 ชม.).
func (env Env) ago(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 24*time.Hour:
		return env.tr(txtDays, int64(d/(24*time.Hour)), int64((d%(24*time.Hour))/time.Hour))
	case d >= time.Hour:
		return env.tr(txtHours, int64(d/time.Hour), int64((d%time.Hour)/time.Minute))
	case d >= time.Minute:
		return env.tr(txtMinutes, int64(d/time.Minute))
	}
	return env.tr(txtSeconds, int64(d/time.Second))
}

// failureLine is an event's failure for a list line: the plain-words
// explanation of a known code in lang with the provider's code and message,
// else the provider's code and message as sent; escaped; "" when none.
func failureLine(ev bankhooks.Event, lang string) string {
	raw := strings.TrimSpace(strings.Trim(ev.FailureCode+": "+ev.FailureMessage, ": "))
	if raw == "" {
		return ""
	}
	if plain := render.ExplainFailure(ev.Kind, ev.FailureCode, lang); plain != "" {
		return md(plain) + " (" + md(raw) + ")"
	}
	return md(raw)
}

// ack answers ack <event id> [note]: bankbot's ev_ id, or the provider's id
// when one source received it.
func (s *Service) ack(ctx context.Context, env Env, m Message, cmd Command) outcome {
	f := cmd.Fields()
	if len(f) == 0 {
		return outcome{text: env.tr(txtAckEmpty), result: ResultInvalid}
	}
	id := f[0]
	note := strings.TrimSpace(strings.TrimPrefix(cmd.Arg, id))
	note = clipRunes(note, 500)
	now := s.now()
	a, err := s.Store.AckEvent(ctx, id, m.SenderStaffID, m.Sender(), note, now)
	if errors.Is(err, store.ErrNotFound) {
		// Perhaps the provider's id.
		es, lerr := s.Store.ListEvents(ctx, store.EventFilter{ProviderEventID: id, Limit: 2})
		switch {
		case lerr != nil:
			return s.storeTrouble(env, "list events", lerr)
		case len(es) == 1:
			a, err = s.Store.AckEvent(ctx, es[0].ID, m.SenderStaffID, m.Sender(), note, now)
		case len(es) > 1:
			return outcome{text: env.tr(txtAckSeveral, md(id)), result: ResultInvalid}
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return outcome{text: env.tr(txtAckNone, md(id)), result: ResultNotFound}
	}
	if err != nil {
		return s.storeTrouble(env, "ack event", err)
	}
	what := md(a.EventID)
	if env.Policy.ConversationAllowed(m) {
		if e, err := s.Store.GetEvent(ctx, a.EventID); err == nil {
			what += " (" + render.KindLabel(e.Event.Kind, env.Language)
			if e.Event.Currency != "" {
				what += " " + env.money(e.Event.Amount, e.Event.Currency)
			}
			what += ")"
		}
	}
	if a.Already {
		text := env.tr(txtAckAlready, what, md(a.ByName), stamp(a.At, env.Location))
		if a.Note != "" {
			text += env.tr(txtAckNote, md(a.Note))
		}
		return outcome{text: text, result: ResultOK}
	}
	text := env.tr(txtAckDone, what, md(m.Sender()))
	if note != "" {
		text += env.tr(txtAckNote, md(note))
	}
	return outcome{text: text, result: ResultOK}
}

// unacked answers unacked: failures, disputes and unreadable events of the
// last 7 days no one has acknowledged.
func (s *Service) unacked(ctx context.Context, env Env) outcome {
	es, err := s.Store.ListUnacked(ctx, bankhooks.FailedKinds(), s.now().Add(-unackedWindow), maxListed+1)
	if err != nil {
		return s.storeTrouble(env, "list unacked", err)
	}
	if len(es) == 0 {
		return outcome{text: env.tr(txtUnackedNone), result: ResultOK}
	}
	var b strings.Builder
	b.WriteString(env.tr(txtUnackedHeading) + "\n\n")
	for i, e := range es {
		if i == maxListed {
			b.WriteString(env.tr(txtUnackedMore) + "\n")
			break
		}
		b.WriteString(eventLine(e, env) + "\n")
	}
	b.WriteString("\n" + env.tr(txtUnackedHint))
	return outcome{text: b.String(), result: ResultOK}
}

// verify answers verify <slip QR text>: the sending bank, whether a
// received payment with the slip's reference is stored, and whether the
// slip was verified before.
func (s *Service) verify(ctx context.Context, env Env, m Message, arg string) outcome {
	if strings.TrimSpace(arg) == "" {
		return outcome{text: env.tr(txtVerifyEmpty), result: ResultInvalid}
	}
	if s.Slips == nil {
		return outcome{text: env.tr(txtVerifyUnavailable), result: ResultError}
	}
	slip, err := s.Slips.ParseSlip(strings.TrimSpace(arg))
	if err != nil || slip.Reference == "" {
		return outcome{text: env.tr(txtVerifyUnreadable), result: ResultInvalid}
	}
	now := s.now()
	var matched *store.StoredEvent
	es, err := s.Store.FindEvents(ctx, store.EventSearch{Text: slip.Reference, Since: now.Add(-slipWindow), Limit: 20})
	if err != nil {
		return s.storeTrouble(env, "find events", err)
	}
	for i, e := range es {
		if e.Event.Reference == slip.Reference && e.Event.Kind == bankhooks.KindPaymentSucceeded {
			matched = &es[i]
			break
		}
	}
	rec := SlipRecord{
		Reference: slip.Reference, SendingBank: slip.SendingBank, VerifiedByID: m.SenderStaffID, VerifiedByName: m.Sender(),
		ConversationID: m.ConversationID, At: now,
	}
	if matched != nil {
		rec.MatchedEventID = matched.ID
	}
	first, reused, err := s.Store.RecordSlip(ctx, rec)
	if err != nil {
		return s.storeTrouble(env, "record slip", err)
	}
	bank := slip.SendingBank
	if slip.BankName != "" {
		bank = slip.BankName + " (" + slip.SendingBank + ")"
	}
	var b strings.Builder
	b.WriteString(env.tr(txtVerifyHeading, md(slip.Reference), md(env.orNone(bank))) + "\n\n")
	if matched != nil {
		b.WriteString(env.tr(txtVerifyReceived, env.money(matched.Event.Amount, matched.Event.Currency),
			stamp(matched.ReceivedAt, env.Location), md(matched.Source), md(matched.ID)) + "\n\n")
	} else {
		b.WriteString(env.tr(txtVerifyNotReceived) + "\n\n")
	}
	if reused {
		where := env.tr(txtVerifyElsewhere)
		if first.ConversationID == m.ConversationID {
			where = env.tr(txtVerifyHere)
		}
		b.WriteString(env.tr(txtVerifyReused, md(env.orNone(first.VerifiedByName)), stamp(first.At, env.Location), where))
	} else {
		b.WriteString(env.tr(txtVerifyFirst))
	}
	return outcome{text: b.String(), result: ResultOK}
}

// retry answers retry <delivery id> (admin): a dead-lettered delivery is
// made due again and the running server sends it.
func (s *Service) retry(ctx context.Context, env Env, arg string) outcome {
	id, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	if err != nil || id <= 0 {
		return outcome{text: env.tr(txtRetryBad), result: ResultInvalid}
	}
	err = s.Store.RequeueDelivery(ctx, id, s.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outcome{text: env.tr(txtRetryNone, id), result: ResultNotFound}
	case errors.Is(err, store.ErrConflict):
		return outcome{text: env.tr(txtRetryNotDead, id), result: ResultInvalid}
	case err != nil:
		return s.storeTrouble(env, "requeue delivery", err)
	}
	return outcome{text: env.tr(txtRetryDone, id), result: ResultOK}
}
