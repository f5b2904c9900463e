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

// attentionKinds are the kinds unacked lists: failures, disputes and
// unreadable events, the ones someone must look at.
func attentionKinds() []string {
	var out []string
	for _, k := range bankhooks.Kinds() {
		if k.Failed() {
			out = append(out, string(k))
		}
	}
	return out
}

// md makes a provider- or user-supplied string safe inside DingTalk markdown
// (escaped, long digit runs masked, links defanged).
func md(s string) string { return render.EscapeMarkdown(s) }

// money formats an amount in minor units with the currency's own digits,
// never through a float; an unknown currency shows the minor units.
func money(minor int64, currency, lang string) string {
	if s, err := render.FormatMoney(minor, currency, lang); err == nil {
		return s
	}
	return strings.TrimSpace(fmt.Sprintf("%d minor units %s", minor, md(currency)))
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
	parts := []string{stamp(e.ReceivedAt, env.Location), md(e.Source), string(ev.Kind)}
	if ev.Currency != "" || ev.Amount != 0 {
		parts = append(parts, "**"+money(ev.Amount, ev.Currency, env.Language)+"**")
	}
	if ev.Reference != "" {
		parts = append(parts, "ref "+md(ev.Reference))
	}
	if a := render.MaskAccount(ev.Account); a != "" {
		parts = append(parts, "acct "+a)
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
			return outcome{text: "Give the day as YYYY-MM-DD, e.g. `summary " + now.Format("2006-01-02") + "`.", result: ResultInvalid}
		}
		day = d
	}
	end := day.AddDate(0, 0, 1)
	es, err := s.Store.ListEvents(ctx, store.EventFilter{Since: day, Until: end, Limit: maxSummaryEvents})
	if err != nil {
		return s.storeTrouble("list events", err)
	}
	type key struct{ source, kind, currency string }
	type total struct {
		count    int
		sum      int64
		overflow bool
	}
	totals := map[key]*total{}
	var failed []store.StoredEvent
	for _, e := range es {
		k := key{e.Source, string(e.Event.Kind), e.Event.Currency}
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
		if e.Event.Kind.Failed() {
			failed = append(failed, e)
		}
	}
	keys := make([]key, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.source, b.source), cmp.Compare(a.kind, b.kind), cmp.Compare(a.currency, b.currency))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "#### Summary %s (%s)\n\n", day.Format("2006-01-02"), env.Location)
	if len(es) == 0 {
		b.WriteString("No events received that day.")
		return outcome{text: b.String(), result: ResultOK}
	}
	fmt.Fprintf(&b, "%d events\n\n", len(es))
	source := ""
	for _, k := range keys {
		if k.source != source {
			source = k.source
			fmt.Fprintf(&b, "\n**%s**\n\n", md(source))
		}
		t := totals[k]
		line := fmt.Sprintf("- %s: %d", k.kind, t.count)
		switch {
		case t.overflow:
			line += " · total too large to add up"
		case k.currency != "" || t.sum != 0:
			line += " · " + money(t.sum, k.currency, env.Language)
		}
		b.WriteString(line + "\n")
	}
	if len(failed) > 0 {
		fmt.Fprintf(&b, "\n**Failed (%d)**\n\n", len(failed))
		for i, e := range failed {
			if i == maxListed {
				fmt.Fprintf(&b, "- … and %d more: `bankbot events list --kind …`\n", len(failed)-maxListed)
				break
			}
			line := eventLine(e, env)
			if msg := strings.TrimSpace(strings.Trim(e.Event.FailureCode+": "+e.Event.FailureMessage, ": ")); msg != "" {
				line += " · " + md(msg)
			}
			b.WriteString(line + "\n")
		}
	}
	if len(es) >= maxSummaryEvents {
		fmt.Fprintf(&b, "\nOnly the latest %d events of the day are counted.\n", maxSummaryEvents)
	}
	return outcome{text: b.String(), result: ResultOK}
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
		return outcome{text: "Tell me what to find: a reference (`find chrg_…`), an amount (`find 1,250.50`) or the account's last digits (`find 7890`).", result: ResultInvalid}
	}
	now := s.now()
	es, err := eventsearch.Find(ctx, s.Store, arg, now.Add(-eventsearch.Window), time.Time{}, maxListed+1)
	if err != nil {
		return s.storeTrouble("find events", err)
	}
	if len(es) == 0 {
		return outcome{text: fmt.Sprintf("Nothing matches \"%s\" in the last 30 days.", md(arg)), result: ResultNotFound}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### Found for \"%s\" (last 30 days)\n\n", md(arg))
	for i, e := range es {
		if i == maxListed {
			b.WriteString("- … more: narrow the search, or `bankbot events find`\n")
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
	b.WriteString("#### bankbot status\n\n**Sources** (last event)\n\n")
	for _, src := range env.Sources {
		es, err := s.Store.ListEvents(ctx, store.EventFilter{Source: src.Name, Limit: 1})
		if err != nil {
			return s.storeTrouble("list events", err)
		}
		last := "never"
		if len(es) > 0 {
			last = stamp(es[0].ReceivedAt, env.Location) + " (" + ago(now.Sub(es[0].ReceivedAt)) + " ago)"
		}
		fmt.Fprintf(&b, "- %s: %s\n", md(src.Name), last)
	}
	st, err := s.Store.Stats(ctx)
	if err != nil {
		return s.storeTrouble("stats", err)
	}
	fmt.Fprintf(&b, "\n**Outbox**: %d pending, %d sending, %d unrouted, **%d dead letters**", st.Pending, st.Sending, st.Unrouted, st.Dead)
	if !st.OldestDueSince.IsZero() && now.After(st.OldestDueSince) {
		fmt.Fprintf(&b, "; oldest due %s ago", ago(now.Sub(st.OldestDueSince)))
	}
	b.WriteString("\n\n**Robots**\n\n")
	states, err := s.Store.RobotStates(ctx)
	if err != nil {
		return s.storeTrouble("robot states", err)
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
		line := fmt.Sprintf("- %s: %s", md(name), md(state))
		if rs.Reason != "" && state != store.RobotOK {
			line += " (" + md(clipRunes(rs.Reason, 120)) + ")"
		}
		if rs.BlockedUntil.After(now) {
			line += ", paused until " + stamp(rs.BlockedUntil, env.Location)
		}
		b.WriteString(line + "\n")
	}
	var keys []string
	for _, src := range env.Sources {
		for _, k := range src.Keys {
			if k.Expires.IsZero() || k.Expires.Sub(now) > keyWarning {
				continue
			}
			what := "expires " + stamp(k.Expires, env.Location) + " (in " + ago(k.Expires.Sub(now)) + ")"
			if !now.Before(k.Expires) {
				what = "expired " + stamp(k.Expires, env.Location) + ": remove it"
			}
			keys = append(keys, fmt.Sprintf("- sources.%s.%s %s", md(src.Name), md(k.Name), what))
		}
	}
	if len(keys) > 0 {
		b.WriteString("\n**Keys expiring within 14 days**\n\n" + strings.Join(keys, "\n") + "\n")
	} else {
		b.WriteString("\nNo key expires within 14 days.\n")
	}
	return outcome{text: b.String(), result: ResultOK}
}

// ago formats a duration for people: 3d 4h, 2h 5m, 4m, 12s.
func ago(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", d/(24*time.Hour), (d%(24*time.Hour))/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// ack answers ack <event id> [note]: bankbot's ev_ id, or the provider's id
// when one source received it.
func (s *Service) ack(ctx context.Context, env Env, m Message, cmd Command) outcome {
	f := cmd.Fields()
	if len(f) == 0 {
		return outcome{text: "Tell me which event: `ack ev_… [note]` (the id is in the alert).", result: ResultInvalid}
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
			return s.storeTrouble("list events", lerr)
		case len(es) == 1:
			a, err = s.Store.AckEvent(ctx, es[0].ID, m.SenderStaffID, m.Sender(), note, now)
		case len(es) > 1:
			return outcome{text: fmt.Sprintf("Several sources received \"%s\"; give bankbot's id (ev_…) from the alert.", md(id)), result: ResultInvalid}
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return outcome{text: fmt.Sprintf("No event \"%s\". Use the id shown in the alert (ev_…).", md(id)), result: ResultNotFound}
	}
	if err != nil {
		return s.storeTrouble("ack event", err)
	}
	what := md(a.EventID)
	if env.Policy.ConversationAllowed(m) {
		if e, err := s.Store.GetEvent(ctx, a.EventID); err == nil {
			what += " (" + string(e.Event.Kind)
			if e.Event.Currency != "" {
				what += " " + money(e.Event.Amount, e.Event.Currency, env.Language)
			}
			what += ")"
		}
	}
	if a.Already {
		text := fmt.Sprintf("%s was already acknowledged by %s at %s.", what, md(a.ByName), stamp(a.At, env.Location))
		if a.Note != "" {
			text += " Note: " + md(a.Note)
		}
		return outcome{text: text, result: ResultOK}
	}
	text := fmt.Sprintf("✅ %s acknowledged by %s.", what, md(m.Sender()))
	if note != "" {
		text += " Note: " + md(note)
	}
	return outcome{text: text, result: ResultOK}
}

// unacked answers unacked: failures, disputes and unreadable events of the
// last 7 days no one has acknowledged.
func (s *Service) unacked(ctx context.Context, env Env) outcome {
	es, err := s.Store.ListUnacked(ctx, attentionKinds(), s.now().Add(-unackedWindow), maxListed+1)
	if err != nil {
		return s.storeTrouble("list unacked", err)
	}
	if len(es) == 0 {
		return outcome{text: "Nothing waits for an ack: every failure of the last 7 days is acknowledged.", result: ResultOK}
	}
	var b strings.Builder
	b.WriteString("#### Not acknowledged (last 7 days)\n\n")
	for i, e := range es {
		if i == maxListed {
			b.WriteString("- … more\n")
			break
		}
		b.WriteString(eventLine(e, env) + "\n")
	}
	b.WriteString("\nAcknowledge one with `ack ev_… [note]`.")
	return outcome{text: b.String(), result: ResultOK}
}

// verify answers verify <slip QR text>: the sending bank, whether a
// received payment with the slip's reference is stored, and whether the
// slip was verified before.
func (s *Service) verify(ctx context.Context, env Env, m Message, arg string) outcome {
	if strings.TrimSpace(arg) == "" {
		return outcome{text: "Paste the text of the slip's QR code after the command: `verify 0046000600000101030…`.", result: ResultInvalid}
	}
	if s.Slips == nil {
		return outcome{text: "Slip checks are not available in this version of bankbot.", result: ResultError}
	}
	slip, err := s.Slips.ParseSlip(strings.TrimSpace(arg))
	if err != nil || slip.Reference == "" {
		return outcome{text: "That is not a payment slip's QR code I can read. Scan the QR on the slip and paste its text.", result: ResultInvalid}
	}
	now := s.now()
	var matched *store.StoredEvent
	es, err := s.Store.FindEvents(ctx, store.EventSearch{Text: slip.Reference, Since: now.Add(-slipWindow), Limit: 20})
	if err != nil {
		return s.storeTrouble("find events", err)
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
		return s.storeTrouble("record slip", err)
	}
	bank := slip.SendingBank
	if slip.BankName != "" {
		bank = slip.BankName + " (" + slip.SendingBank + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### Slip %s\n\nFrom: %s\n\n", md(slip.Reference), md(orNone(bank)))
	if matched != nil {
		fmt.Fprintf(&b, "✅ Payment received: **%s** at %s (%s, %s)\n\n", money(matched.Event.Amount, matched.Event.Currency, env.Language),
			stamp(matched.ReceivedAt, env.Location), md(matched.Source), md(matched.ID))
	} else {
		b.WriteString("⚠️ No received payment with this reference among the events of the last 90 days.\n\n")
	}
	if reused {
		where := "in another conversation"
		if first.ConversationID == m.ConversationID {
			where = "in this conversation"
		}
		fmt.Fprintf(&b, "⚠️ **Verified before** by %s at %s %s: this slip may be used twice.", md(orNone(first.VerifiedByName)), stamp(first.At, env.Location), where)
	} else {
		b.WriteString("First time this slip is verified.")
	}
	return outcome{text: b.String(), result: ResultOK}
}

// retry answers retry <delivery id> (admin): a dead-lettered delivery is
// made due again and the running server sends it.
func (s *Service) retry(ctx context.Context, arg string) outcome {
	id, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	if err != nil || id <= 0 {
		return outcome{text: "Give the delivery id: `retry 42` (`bankbot deadletters list` shows them).", result: ResultInvalid}
	}
	err = s.Store.RequeueDelivery(ctx, id, s.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outcome{text: fmt.Sprintf("No delivery %d.", id), result: ResultNotFound}
	case errors.Is(err, store.ErrConflict):
		return outcome{text: fmt.Sprintf("Delivery %d is not dead-lettered; nothing to retry.", id), result: ResultInvalid}
	case err != nil:
		return s.storeTrouble("requeue delivery", err)
	}
	return outcome{text: fmt.Sprintf("Delivery %d is queued again.", id), result: ResultOK}
}
