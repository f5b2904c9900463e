package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
// deliveries through today's config.
func (g *globals) openOutbox(cmd *cobra.Command, env *Env) (*config.Config, *bot.Runtime, store.Store, error) {
	cfg, err := g.load(cmd, env)
	if err != nil {
		return nil, nil, nil, err
	}
	rt, err := bot.Build(cfg, bot.BuildDeps{Log: quietLogger(io.Discard), Clock: bot.SystemClock{}})
	if err != nil {
		printProblems(cmd.ErrOrStderr(), cfg.Path, err)
		return nil, nil, nil, exitError{1}
	}
	st, err := openStore(cmd.Context(), cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, rt, st, nil
}

// retryDead makes a dead delivery due again. When its robot is no longer
// configured (renamed or removed), it goes through its route as configured
// today instead, so it is not sent to a robot that no longer exists.
func retryDead(cmd *cobra.Command, rt *bot.Runtime, st store.Store, id int64) error {
	ctx := cmd.Context()
	d, err := st.GetDelivery(ctx, id)
	if err != nil {
		return err
	}
	if d.Status != store.StatusDead {
		return fmt.Errorf("it is %s, not dead: %w", d.Status, store.ErrConflict)
	}
	if _, ok := rt.Robots[d.Robot]; ok {
		return st.RequeueDelivery(ctx, id, time.Now())
	}
	route := rt.RouteNamed(d.Route)
	if route == nil {
		return fmt.Errorf("robot %q and route %q are no longer configured; `bankbot replay %s` sends the event through today's routes", d.Robot, d.Route, d.EventID)
	}
	ev, err := st.GetEvent(ctx, d.EventID)
	if err != nil {
		return err
	}
	spec, err := json.Marshal(route.Spec(ev.Event))
	if err != nil {
		return err
	}
	if _, err := st.RerouteEvent(ctx, d.EventID, []store.NewDelivery{{Route: route.Name, Robot: route.Robot, Spec: spec}}, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "delivery %d: robot %q is no longer configured; sent through route %q to robot %q\n", id, d.Robot, route.Name, route.Robot)
	return nil
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

func listDead(cmd *cobra.Command, env *Env, g *globals) error {
	cfg, err := g.load(cmd, env)
	if err != nil {
		return err
	}
	st, err := openStore(cmd.Context(), cfg)
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
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tROBOT\tROUTE\tMESSAGE\tATTEMPTS\tREASON\tUPDATED\tLAST ERROR")
	for _, d := range ds {
		msg := d.MessageID // the DingTalk message (single or digest) it last went out in
		if msg == "" {
			msg = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.EventID, d.Robot, d.Route, msg, d.Attempts, d.LastReason,
			d.UpdatedAt.In(cfg.Location).Format("2006-01-02 15:04:05"), truncate(d.LastError, 80))
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
	return &cobra.Command{
		Use:   "replay EVENT_ID",
		Short: "Send a stored event again through the routes of the current config",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, rt, st, err := g.openOutbox(cmd, env)
			if err != nil {
				return err
			}
			defer st.Close()
			ev, err := st.GetEvent(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("event %s: %w", args[0], err)
			}
			ds, err := rt.Deliveries(ev.Source, ev.Event)
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "event %s matches no route of the current config; nothing to send\n", args[0])
				return nil
			}
			n, err := st.RerouteEvent(cmd.Context(), ev.ID, ds, time.Now())
			if err != nil {
				return fmt.Errorf("event %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "event %s: %d deliveries requeued\n", args[0], n)
			return nil
		},
	}
}
