package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/bot/eventsearch"
	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/store"
)

// findWindow is how far back `events find` looks without --since.
const findWindow = eventsearch.Window

// timeLayouts are the absolute forms --since and --until take; the ones
// without a zone are in the config's timezone.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

var daysAgo = regexp.MustCompile(`^([0-9]+)d$`)

// parseWhen reads a --since or --until value: a time (RFC 3339, or a date
// and time in loc), or a duration before now ("90m", "24h", "7d").
func parseWhen(flag, s string, loc *time.Location, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if m := daysAgo.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err == nil && n <= 100000 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--%s: %q is not a time (2026-05-17, \"2026-05-17 14:30\", RFC 3339) or a duration before now (90m, 24h, 7d)", flag, s)
}

// window is the --since/--until pair of a command.
type window struct{ since, until string }

func (w *window) flags(c *cobra.Command, what string) {
	c.Flags().StringVar(&w.since, "since", "", what+" received at or after this time (2026-05-17, \"2026-05-17 14:30\", RFC 3339) or this long ago (90m, 24h, 7d); the config's timezone")
	c.Flags().StringVar(&w.until, "until", "", what+" received before this time (same forms as --since)")
}

// parse returns the window; a zero time is an open side.
func (w window) parse(loc *time.Location, now time.Time) (since, until time.Time, err error) {
	if w.since != "" {
		if since, err = parseWhen("since", w.since, loc, now); err != nil {
			return
		}
	}
	if w.until != "" {
		if until, err = parseWhen("until", w.until, loc, now); err != nil {
			return
		}
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		err = fmt.Errorf("--since %s is not before --until %s", since.In(loc).Format(time.RFC3339), until.In(loc).Format(time.RFC3339))
	}
	return
}

// resolveEvents is bot.ResolveEvents (shared with the web console).
func resolveEvents(ctx context.Context, st store.Store, id string) ([]store.StoredEvent, error) {
	return bot.ResolveEvents(ctx, st, id)
}

// resolveEvent is bot.ResolveEvent.
func resolveEvent(ctx context.Context, st store.Store, id string) (store.StoredEvent, error) {
	return bot.ResolveEvent(ctx, st, id)
}

// money formats an amount for people: the currency's own digits, or the
// minor units when the currency is unknown.
func money(ev bankhooks.Event, lang string) string {
	if s, err := render.FormatMoney(ev.Amount, ev.Currency, lang); err == nil {
		return s
	}
	return strings.TrimSpace(fmt.Sprintf("%d minor units %s", ev.Amount, ev.Currency))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// stamp formats a time in loc, "-" when zero.
func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// eventJSON is an event as --json prints it: the canonical fields, the
// amount in minor units and formatted, the account masked. Times are UTC.
type eventJSON struct {
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Provider        string         `json:"provider"`
	ProviderEventID string         `json:"provider_event_id"`
	Type            string         `json:"type"`
	Kind            string         `json:"kind"`
	Amount          int64          `json:"amount"`
	Currency        string         `json:"currency,omitempty"`
	AmountText      string         `json:"amount_text"`
	Reference       string         `json:"reference,omitempty"`
	Account         string         `json:"account,omitempty"`
	Counterparty    string         `json:"counterparty,omitempty"`
	Description     string         `json:"description,omitempty"`
	FailureCode     string         `json:"failure_code,omitempty"`
	FailureMessage  string         `json:"failure_message,omitempty"`
	Livemode        bool           `json:"livemode"`
	OccurredAt      *time.Time     `json:"occurred_at,omitempty"`
	ReceivedAt      time.Time      `json:"received_at"`
	RoutedAt        *time.Time     `json:"routed_at,omitempty"`
	RemoteIP        string         `json:"remote_ip,omitempty"`
	Deliveries      []deliveryJSON `json:"deliveries,omitempty"`

	// Confirmation is set for events of a source with confirm.
	Confirmation *confirmationJSON `json:"confirmation,omitempty"`
}

// confirmationJSON is an event's confirmation through the provider's API.
type confirmationJSON struct {
	Status        string     `json:"status"` // unconfirmed | confirmed | mismatch
	Reason        string     `json:"reason,omitempty"`
	Attempts      int        `json:"attempts,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

type deliveryJSON struct {
	ID         int64      `json:"id"`
	Route      string     `json:"route"`
	Robot      string     `json:"robot"`
	Status     string     `json:"status"`
	MessageID  string     `json:"message_id,omitempty"`
	Attempts   int        `json:"attempts"`
	Throttles  int        `json:"throttles"`
	LastReason string     `json:"last_reason,omitempty"`
	LastError  string     `json:"last_error,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toJSON(e store.StoredEvent, lang string, full bool) eventJSON {
	ev := e.Event
	j := eventJSON{
		ID: e.ID, Source: e.Source, Provider: ev.Provider, ProviderEventID: ev.ID, Type: ev.Type, Kind: string(ev.Kind),
		Amount: ev.Amount, Currency: ev.Currency, AmountText: money(ev, lang), Reference: ev.Reference,
		Account: render.MaskAccount(ev.Account), Livemode: ev.Livemode,
		OccurredAt: timePtr(ev.OccurredAt), ReceivedAt: e.ReceivedAt, RoutedAt: timePtr(e.RoutedAt),
	}
	if c := e.Confirmation; c.Status != "" {
		j.Confirmation = &confirmationJSON{Status: c.Status, Reason: c.Reason, Attempts: c.Attempts, NextAttemptAt: timePtr(c.NextAt)}
	}
	if full {
		j.Counterparty, j.Description = ev.Counterparty, ev.Description
		j.FailureCode, j.FailureMessage = ev.FailureCode, ev.FailureMessage
		j.RemoteIP = e.RemoteIP
	}
	return j
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printEventList prints events, one a line, or as a JSON array.
func printEventList(w io.Writer, cfg *config.Config, es []store.StoredEvent, asJSON bool, none string) error {
	if asJSON {
		out := make([]eventJSON, len(es))
		for i, e := range es {
			out[i] = toJSON(e, cfg.Language, false)
		}
		return writeJSON(w, out)
	}
	if len(es) == 0 {
		fmt.Fprintln(w, none)
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tID\tSOURCE\tKIND\tAMOUNT\tREFERENCE\tACCOUNT\tPROVIDER ID")
	for _, e := range es {
		ev := e.Event
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", stamp(e.ReceivedAt, cfg.Location), e.ID, e.Source, ev.Kind,
			money(ev, cfg.Language), orDash(ev.Reference), orDash(render.MaskAccount(ev.Account)), ev.ID)
	}
	return tw.Flush()
}

func eventsCmd(env *Env, g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "events list|show ID|find TEXT",
		Short: "Find stored events by time, source, kind, id, reference, amount or the account's last digits",
		Long: "events reads the store only: it needs the config's storage, timezone and language keys,\n" +
			"not the sources' or robots' secrets.",
	}
	c.AddCommand(eventsListCmd(env, g), eventsShowCmd(env, g), eventsFindCmd(env, g))
	return c
}

func eventsListCmd(env *Env, g *globals) *cobra.Command {
	var w window
	var source, kind string
	var limit int
	var asJSON bool
	c := &cobra.Command{
		Use:                   "list [--since T] [--until T] [--source NAME] [--kind KIND] [--limit N] [--json]",
		DisableFlagsInUseLine: true,
		Short:                 "List stored events, newest first",
		Args:                  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kind != "" && !bankhooks.Kind(kind).Valid() {
				return fmt.Errorf("--kind %q is not a kind; use one of: %s", kind, kindNames())
			}
			if limit <= 0 {
				return fmt.Errorf("--limit must be positive (got %d)", limit)
			}
			cfg, st, err := g.openStorage(cmd, env)
			if err != nil {
				return err
			}
			defer st.Close()
			since, until, err := w.parse(cfg.Location, time.Now())
			if err != nil {
				return err
			}
			es, err := st.ListEvents(cmd.Context(), store.EventFilter{Since: since, Until: until, Source: strings.ToLower(source), Kind: kind, Limit: limit})
			if err != nil {
				return err
			}
			return printEventList(cmd.OutOrStdout(), cfg, es, asJSON, "no events")
		},
	}
	w.flags(c, "events")
	c.Flags().StringVar(&source, "source", "", "only the events of this source")
	c.Flags().StringVar(&kind, "kind", "", "only the events of this canonical kind ("+kindNames()+")")
	c.Flags().IntVar(&limit, "limit", 50, "at most this many events")
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return c
}

func kindNames() string {
	var names []string
	for _, k := range bankhooks.Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

func eventsShowCmd(env *Env, g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:                   "show ID [--json]",
		DisableFlagsInUseLine: true,
		Short:                 "Show one event (bankbot's ev_ id or the provider's event id) and its deliveries",
		Args:                  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, st, err := g.openStorage(cmd, env)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			es, err := resolveEvents(ctx, st, args[0])
			if err != nil {
				return err
			}
			var out []eventJSON
			for i, e := range es {
				ds, err := st.ListDeliveries(ctx, store.DeliveryFilter{EventID: e.ID, Limit: 1000})
				if err != nil {
					return fmt.Errorf("event %s: %w", e.ID, err)
				}
				slices.SortFunc(ds, func(a, b store.Delivery) int { return int(a.ID - b.ID) })
				if asJSON {
					j := toJSON(e, cfg.Language, true)
					for _, d := range ds {
						j.Deliveries = append(j.Deliveries, deliveryJSON{
							ID: d.ID, Route: d.Route, Robot: d.Robot, Status: d.Status, MessageID: d.MessageID,
							Attempts: d.Attempts, Throttles: d.Throttles, LastReason: d.LastReason, LastError: d.LastError,
							UpdatedAt: d.UpdatedAt, SentAt: timePtr(d.SentAt),
						})
					}
					out = append(out, j)
					continue
				}
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout())
				}
				if err := printEvent(cmd.OutOrStdout(), cfg, e, ds); err != nil {
					return err
				}
			}
			if asJSON {
				if len(out) == 1 {
					return writeJSON(cmd.OutOrStdout(), out[0])
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON object (an array when the provider's id names events of several sources)")
	return c
}

func printEvent(w io.Writer, cfg *config.Config, e store.StoredEvent, ds []store.Delivery) error {
	ev := e.Event
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	line("event", e.ID)
	line("source", e.Source+" ("+ev.Provider+")")
	line("provider id", ev.ID)
	line("type", ev.Type)
	line("kind", string(ev.Kind))
	line("amount", money(ev, cfg.Language))
	line("reference", ev.Reference)
	line("account", render.MaskAccount(ev.Account))
	line("counterparty", ev.Counterparty)
	line("description", ev.Description)
	line("failure", strings.TrimSpace(strings.Trim(ev.FailureCode+": "+ev.FailureMessage, ": ")))
	line("livemode", strconv.FormatBool(ev.Livemode))
	line("occurred", stamp(ev.OccurredAt, cfg.Location))
	line("received", stamp(e.ReceivedAt, cfg.Location))
	routed := stamp(e.RoutedAt, cfg.Location)
	if e.RoutedAt.IsZero() {
		routed = "not yet"
	}
	line("routed", routed)
	line("confirmation", confirmationText(e.Confirmation, cfg.Location))
	line("remote ip", e.RemoteIP)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ds) == 0 {
		fmt.Fprintln(w, "\nno deliveries")
		return nil
	}
	fmt.Fprintln(w, "\ndeliveries:")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROUTE\tROBOT\tSTATUS\tMESSAGE\tATTEMPTS\tUPDATED\tLAST ERROR")
	for _, d := range ds {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Route, d.Robot, d.Status, orDash(d.MessageID), d.Attempts,
			stamp(d.UpdatedAt, cfg.Location), orDash(truncate(d.LastError, 80)))
	}
	return tw.Flush()
}

func eventsFindCmd(env *Env, g *globals) *cobra.Command {
	var w window
	var limit int
	var asJSON bool
	c := &cobra.Command{
		Use:                   "find TEXT [--since T] [--until T] [--limit N] [--json]",
		DisableFlagsInUseLine: true,
		Short:                 "Find events by id, provider id, reference, amount or the account's last digits, newest first",
		Long: "find matches TEXT against, at once:\n" +
			"  - bankbot's event id, the provider's event id and the reference, exactly;\n" +
			"  - the amount, in the currency's units as alerts show it: 50, 50.00 and 1,250.50 match\n" +
			"    THB 50.00 and THB 1,250.50 (5000 matches THB 5,000.00, not 50.00);\n" +
			"  - the account's last digits, when TEXT holds 4 or more digits and nothing else (spaces,\n" +
			"    dashes and the • of a masked account are ignored): 7890 matches 123-4-56789-0.\n" +
			"It searches the last 30 days unless --since says otherwise.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit <= 0 {
				return fmt.Errorf("--limit must be positive (got %d)", limit)
			}
			q, amounts := findQuery(args[0])
			if q.Text == "" {
				return errors.New("give the text to find")
			}
			cfg, st, err := g.openStorage(cmd, env)
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now()
			if q.Since, q.Until, err = w.parse(cfg.Location, now); err != nil {
				return err
			}
			if w.since == "" {
				q.Since = now.Add(-findWindow)
				if !q.Until.IsZero() && !q.Since.Before(q.Until) {
					q.Since = q.Until.Add(-findWindow)
				}
			}
			// The store matches the amount in minor units under every
			// exponent; keep those whose currency has that exponent.
			q.Limit = limit * 4
			es, err := st.FindEvents(cmd.Context(), q)
			if err != nil {
				return err
			}
			kept := es[:0]
			for _, e := range es {
				if len(kept) < limit && findKeeps(q, amounts, e) {
					kept = append(kept, e)
				}
			}
			return printEventList(cmd.OutOrStdout(), cfg, kept, asJSON, fmt.Sprintf("no event matches %q since %s", args[0], stamp(q.Since, cfg.Location)))
		},
	}
	w.flags(c, "events")
	c.Flags().IntVar(&limit, "limit", 30, "at most this many events")
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return c
}

// findQuery turns the text of `events find` into a store search and the
// amount it names in minor units under each exponent (eventsearch.Query:
// the chat command `find` searches the same way).
func findQuery(text string) (store.EventSearch, map[int]int64) { return eventsearch.Query(text) }

// findKeeps reports whether e matches q, the amount compared under its own
// currency's exponent.
func findKeeps(q store.EventSearch, amounts map[int]int64, e store.StoredEvent) bool {
	return eventsearch.Keeps(q, amounts, e)
}

// confirmationText is an event's confirmation for events show: the status,
// what the provider's API said, and while it waits, the retry state.
func confirmationText(c store.Confirmation, loc *time.Location) string {
	if c.Status == "" {
		return ""
	}
	out := c.Status
	switch {
	case c.Status == store.ConfirmMismatch:
		out = "MISMATCH: not delivered as genuine (security alert sent)"
	case c.Status == store.ConfirmUnconfirmed && c.Attempts == 0:
		out += ": waiting for the provider's API"
	case c.Status == store.ConfirmUnconfirmed:
		out += fmt.Sprintf(": waiting, %d failed attempts, next %s", c.Attempts, stamp(c.NextAt, loc))
	}
	if c.Reason != "" {
		out += " — " + c.Reason
	}
	return out
}
