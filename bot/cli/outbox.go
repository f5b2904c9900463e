package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bankbot/bankbot/bot"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/store"
)

func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	return bot.OpenStore(ctx, cfg.Storage)
}

// openOutbox loads the config, builds its runtime (routes, robots; nothing
// is contacted) and opens the store, for the commands that re-drive
// deliveries through today's config. The runtime is nil when only the
// storage keys could be loaded (see loadRuntime).
func (g *globals) openOutbox(cmd *cobra.Command, env *Env) (*config.Config, *bot.Runtime, store.Store, error) {
	cfg, rt, err := g.loadRuntime(cmd, env)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := openStore(cmd.Context(), cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, rt, st, nil
}

// retryDead makes a dead delivery due again (bot.RetryDead, shared with the
// web console) and prints the note of a delivery sent through its route.
func retryDead(cmd *cobra.Command, rt *bot.Runtime, st store.Store, id int64) error {
	note, err := bot.RetryDead(cmd.Context(), rt, st, id, time.Now())
	if note != "" {
		fmt.Fprintln(cmd.OutOrStdout(), note)
	}
	return err
}

func deadlettersCmd(env *Env, g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "deadletters [list|retry ID|retry --all]",
		Short: "List dead-lettered deliveries, or send them again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listDead(cmd, env, g)
		},
	}
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List dead-lettered deliveries, newest first",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return listDead(cmd, env, g) },
	})
	var all bool
	retry := &cobra.Command{
		Use:   "retry ID | retry --all",
		Short: "Make dead deliveries due again; the running server sends them",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) || len(args) > 1 {
				return fmt.Errorf("give one delivery ID, or --all")
			}
			cfg, rt, st, err := g.openOutbox(cmd, env)
			if err != nil {
				return err
			}
			defer st.Close()
			var ids []int64
			if all {
				ds, err := st.ListDeliveries(cmd.Context(), store.DeliveryFilter{Status: store.StatusDead, Limit: 100000})
				if err != nil {
					return err
				}
				for _, d := range ds {
					ids = append(ids, d.ID)
				}
			} else {
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil {
					return fmt.Errorf("delivery ID must be a number (see bankbot deadletters list): %q", args[0])
				}
				ids = append(ids, id)
			}
			for _, id := range ids {
				if err := retryDead(cmd, rt, st, id); err != nil {
					return fmt.Errorf("delivery %d: %w", id, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d deliveries requeued; the running server sends them within %s\n", len(ids), cfg.Delivery.PollInterval)
			return nil
		},
	}
	retry.Flags().BoolVar(&all, "all", false, "requeue every dead delivery")
	c.AddCommand(retry)
	return c
}

// listDead needs the store only (config.StorageKeys), not the secrets.
func listDead(cmd *cobra.Command, env *Env, g *globals) error {
	cfg, st, err := g.openStorage(cmd, env)
	if err != nil {
		return err
	}
	defer st.Close()
	ds, err := st.ListDeliveries(cmd.Context(), store.DeliveryFilter{Status: store.StatusDead, Limit: 1000})
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "no dead-lettered deliveries")
		return nil
	}
	var ids []string
	for _, d := range ds {
		if !slices.Contains(ids, d.EventID) {
			ids = append(ids, d.EventID)
		}
	}
	evs, err := st.GetEvents(cmd.Context(), ids)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tSOURCE\tKIND\tAMOUNT\tREFERENCE\tROBOT\tROUTE\tMESSAGE\tATTEMPTS\tREASON\tUPDATED\tLAST ERROR")
	for _, d := range ds {
		source, kind, amount, ref := "-", "-", "-", "-"
		if e, ok := evs[d.EventID]; ok {
			source, kind, amount, ref = e.Source, string(e.Event.Kind), money(e.Event, cfg.Language), orDash(e.Event.Reference)
		}
		// MESSAGE is the DingTalk message (single or digest) it last went out in.
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.EventID, source, kind, amount, ref,
			d.Robot, d.Route, orDash(d.MessageID), d.Attempts, d.LastReason, stamp(d.UpdatedAt, cfg.Location), truncate(d.LastError, 80))
	}
	return tw.Flush()
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func replayCmd(env *Env, g *globals) *cobra.Command {
	var w window
	c := &cobra.Command{
		Use:                   "replay EVENT_ID | replay --since T [--until T]",
		DisableFlagsInUseLine: true,
		Short:                 "Send stored events again through the routes of the current config",
		Long: "replay sends one event (bankbot's ev_ id or the provider's event id) or every event received\n" +
			"in a time range (--since, optionally --until) again, through the routes of the current config.\n" +
			"When the config cannot be loaded in full (a secret set only in the service's environment),\n" +
			"each event's deliveries are requeued to the robots they were routed to, and a note says so.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ranged := w.since != "" || w.until != ""
			switch {
			case len(args) == 1 && ranged:
				return errors.New("give an event ID or --since/--until, not both")
			case len(args) == 0 && w.since == "":
				return errors.New("give an event ID, or a time range with --since (and optionally --until)")
			}
			cfg, rt, st, err := g.openOutbox(cmd, env)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			if !ranged {
				ev, err := resolveEvent(ctx, st, args[0])
				if err != nil {
					return fmt.Errorf("event %s: %w", args[0], err)
				}
				n, matched, err := replayOne(ctx, rt, st, ev)
				if err != nil {
					return fmt.Errorf("event %s: %w", ev.ID, err)
				}
				switch {
				case !matched && rt == nil:
					fmt.Fprintf(cmd.OutOrStdout(), "event %s has no deliveries to requeue, and today's routes could not be read; nothing to send\n", ev.ID)
				case !matched:
					fmt.Fprintf(cmd.OutOrStdout(), "event %s matches no route of the current config; nothing to send\n", ev.ID)
				case rt == nil:
					fmt.Fprintf(cmd.OutOrStdout(), "event %s: %d deliveries requeued to the robots they were routed to\n", ev.ID, n)
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "event %s: %d deliveries requeued\n", ev.ID, n)
				}
				return nil
			}
			since, until, err := w.parse(cfg.Location, time.Now())
			if err != nil {
				return err
			}
			es, err := st.ListEvents(ctx, store.EventFilter{Since: since, Until: until, Limit: replayMax + 1})
			if err != nil {
				return err
			}
			if len(es) > replayMax {
				return fmt.Errorf("more than %d events were received in that range; replay a shorter one", replayMax)
			}
			var deliveries, unmatched int
			for i := len(es) - 1; i >= 0; i-- { // oldest first: alerts keep their order
				n, matched, err := replayOne(ctx, rt, st, es[i])
				if err != nil {
					return fmt.Errorf("event %s: %w (%d of %d events replayed before it)", es[i].ID, err, len(es)-1-i, len(es))
				}
				deliveries += n
				if !matched {
					unmatched++
				}
			}
			until = orNow(until)
			fmt.Fprintf(cmd.OutOrStdout(), "%d events received from %s to %s replayed: %d deliveries requeued", len(es),
				stamp(since, cfg.Location), stamp(until, cfg.Location), deliveries)
			if unmatched > 0 {
				if rt == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "; %d had no deliveries", unmatched)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "; %d matched no route of the current config", unmatched)
				}
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
	w.flags(c, "replay the events")
	return c
}

// replayMax bounds the events of one `replay --since`.
const replayMax = 10000

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// replayOne is bot.ReplayEvent (shared with the web console) now.
func replayOne(ctx context.Context, rt *bot.Runtime, st store.Store, ev store.StoredEvent) (n int, matched bool, err error) {
	return bot.ReplayEvent(ctx, rt, st, ev, time.Now())
}
