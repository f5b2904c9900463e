package cli

import (
	"context"
	"fmt"
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
			cfg, err := g.load(cmd, env)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), cfg)
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
				if err := st.RequeueDelivery(cmd.Context(), id, time.Now()); err != nil {
					return fmt.Errorf("delivery %d: %w", id, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d deliveries requeued; the running server sends them within delivery.poll_interval\n", len(ids))
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
	fmt.Fprintln(tw, "ID\tEVENT\tROBOT\tROUTE\tATTEMPTS\tREASON\tUPDATED\tLAST ERROR")
	for _, d := range ds {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.EventID, d.Robot, d.Route, d.Attempts, d.LastReason,
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
		Short: "Send every delivery of a stored event again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load(cmd, env)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.RequeueEvent(cmd.Context(), args[0], time.Now())
			if err != nil {
				return fmt.Errorf("event %s: %w", args[0], err)
			}
			if n == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "event %s has no deliveries (it matched no route)\n", args[0])
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "event %s: %d deliveries requeued\n", args[0], n)
			return nil
		},
	}
}
