package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/store"
)

// storageCmd groups the commands that maintain the store itself.
func storageCmd(env *Env, g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "storage purge|vacuum",
		Short: "Purge old raw bodies and logs (retention); convert a SQLite file to incremental vacuum",
		Long: "storage reads only the config's storage, timezone and language keys, not the sources'\n" +
			"or robots' secrets.",
	}
	c.AddCommand(storagePurgeCmd(env, g), storageVacuumCmd(env, g))
	return c
}

func storagePurgeCmd(env *Env, g *globals) *cobra.Command {
	var (
		before, olderThan string
		dryRun, fullPace  bool
		batch             int
	)
	c := &cobra.Command{
		Use:                   "purge [--before DATE | --older-than 90d] [--dry-run] [--batch N] [--full-pace]",
		DisableFlagsInUseLine: true,
		Short:                 "Remove raw bodies, headers, delivery attempts and chat logs older than the cut-off",
		Long: "purge removes, for what was received before the cut-off (default: now minus\n" +
			"storage.retention, 90 days unless set):\n" +
			"  - the raw webhook body and stored headers of events whose deliveries are all sent\n" +
			"    (the canonical event, its amount, kind and deliveries stay: totals, `events list`,\n" +
			"    `events show` and replay keep working; events with pending or dead deliveries keep\n" +
			"    their body until they are sent);\n" +
			"  - the attempt log of sent deliveries;\n" +
			"  - chat callback ids and chat command audit entries.\n" +
			"It works in short batches beside a running bankbot; while webhooks arrive it slows down\n" +
			"so it takes about 0.5 % of the database's write time (--full-pace: never slow down).\n" +
			"SQLite gives the freed space back\n" +
			"to the file system when the database uses incremental auto-vacuum (every database\n" +
			"created by this version; convert an older one once with `bankbot storage vacuum`).\n" +
			"PostgreSQL's autovacuum makes the space reusable; its files do not shrink.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if before != "" && olderThan != "" {
				return fmt.Errorf("give --before or --older-than, not both")
			}
			if batch < 0 {
				return fmt.Errorf("--batch must be positive (got %d)", batch)
			}
			cfg, st, err := g.openStorage(cmd, env)
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now()
			cut, why, err := purgeCutoff(cfg, before, olderThan, now)
			if err != nil {
				return err
			}
			if batch == 0 {
				batch = cfg.Storage.RetentionBatch
			}
			w := cmd.OutOrStdout()
			sq, _ := st.(*store.SQLite)
			path := cfg.Storage.DSN.Reveal()
			sizeBefore := fileBytes(sq, path)
			verb := "purging"
			if dryRun {
				verb = "dry run: nothing is changed; counting what a purge would remove"
			}
			fmt.Fprintf(w, "%s before %s (%s)\n", verb, cut.In(cfg.Location).Format("2006-01-02 15:04:05 MST"), why)
			o := store.PurgeOptions{Before: cut, Now: now, BatchSize: batch, DryRun: dryRun}
			if fullPace {
				o.Yield = -1
			}
			res, err := st.Purge(cmd.Context(), o)
			printPurge(w, res, dryRun)
			if err != nil {
				return fmt.Errorf("purge stopped (what is listed above was committed): %w", err)
			}
			switch {
			case dryRun:
			case sq == nil:
				fmt.Fprintln(w, "space: PostgreSQL's autovacuum makes the freed space reusable by new rows; the files do not shrink")
			case res.AutoVacuum == "incremental":
				fmt.Fprintf(w, "space given back: %s (database file %s → %s)\n", human(res.ReclaimedBytes), human(sizeBefore), human(fileBytes(sq, path)))
			default:
				fmt.Fprintf(w, "space: the database file does not use incremental auto-vacuum (it is %q): the freed pages are reused by new data but the file does not shrink; run `bankbot storage vacuum` once to convert it\n", res.AutoVacuum)
			}
			return nil
		},
	}
	c.Flags().StringVar(&before, "before", "", "purge what was received before this time (2026-05-17, \"2026-05-17 14:30\", RFC 3339; the config's timezone)")
	c.Flags().StringVar(&olderThan, "older-than", "", "purge what is older than this (90d, 2160h); default storage.retention")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be removed, change nothing")
	c.Flags().IntVar(&batch, "batch", 0, "rows per transaction (default storage.retention_batch)")
	c.Flags().BoolVar(&fullPace, "full-pace", false, "do not slow down while webhooks arrive (a stopped or quiet server; ingest waits behind each batch)")
	return c
}

// purgeCutoff is the purge's cut-off and where it comes from.
func purgeCutoff(cfg *config.Config, before, olderThan string, now time.Time) (time.Time, string, error) {
	switch {
	case before != "":
		for _, l := range timeLayouts {
			if t, err := time.ParseInLocation(l, before, cfg.Location); err == nil {
				if !t.Before(now) {
					return time.Time{}, "", fmt.Errorf("--before %s is not in the past", before)
				}
				return t, "--before", nil
			}
		}
		return time.Time{}, "", fmt.Errorf("--before: %q is not a time (2026-05-17, \"2026-05-17 14:30\", RFC 3339)", before)
	case olderThan != "":
		p, err := config.ParsePeriod(olderThan)
		if err != nil {
			return time.Time{}, "", fmt.Errorf("--older-than: %w", err)
		}
		return now.Add(-p.Duration()), "--older-than " + p.String(), nil
	}
	p := cfg.Storage.Retention
	return now.Add(-p.Duration()), "storage.retention " + p.String(), nil
}

func printPurge(w io.Writer, r store.PurgeResult, dryRun bool) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	verb := "purged"
	if dryRun {
		verb = "would purge"
	}
	fmt.Fprintf(tw, "raw bodies and headers %s\t%d events (%s)\n", verb, r.Bodies, human(r.BodyBytes))
	fmt.Fprintf(tw, "kept (deliveries not all sent, or not routed)\t%d events\n", r.Kept)
	fmt.Fprintf(tw, "delivery attempts %s\t%d\n", verb, r.Attempts)
	fmt.Fprintf(tw, "chat callback ids %s\t%d\n", verb, r.ChatMessages)
	fmt.Fprintf(tw, "chat audit entries %s\t%d\n", verb, r.ChatAudit)
	if r.YieldedBatches > 0 {
		fmt.Fprintf(tw, "slowed down for arriving webhooks\t%d times (writing %s, waiting %s)\n", r.YieldedBatches,
			r.Busy.Round(time.Millisecond), r.Waited.Round(time.Millisecond))
	}
	_ = tw.Flush()
}

// fileBytes is the size of a SQLite database file and its WAL (0 for
// another store).
func fileBytes(sq *store.SQLite, path string) int64 {
	if sq == nil {
		return 0
	}
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

// human writes a byte count in B, kB, MB or GB (powers of 1000).
func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func storageVacuumCmd(env *Env, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "vacuum",
		Short: "Convert a SQLite database created before retention to incremental auto-vacuum (rewrites the file)",
		Long: "vacuum switches a SQLite database to incremental auto-vacuum, so that `storage purge`\n" +
			"and the retention job give freed space back to the file system. Databases created by\n" +
			"this version already are; an older one is converted by one VACUUM, which rewrites the\n" +
			"whole file: it needs free disk space of about twice the database, and holds the write\n" +
			"lock while it runs (webhooks wait, and may time out and be retried by their provider):\n" +
			"stop bankbot first, or run it at a quiet hour. Purge first, so the copy is small.\n" +
			"It does nothing on PostgreSQL.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, st, err := g.openStorage(cmd, env)
			if err != nil {
				return err
			}
			defer st.Close()
			w := cmd.OutOrStdout()
			sq, ok := st.(*store.SQLite)
			if !ok {
				fmt.Fprintln(w, "PostgreSQL: nothing to convert; autovacuum makes purged space reusable")
				return nil
			}
			path := cfg.Storage.DSN.Reveal()
			before := fileBytes(sq, path)
			start := time.Now()
			converted, err := sq.ConvertIncremental(cmd.Context())
			if err != nil {
				if errors.Is(err, store.ErrUnavailable) {
					return fmt.Errorf("%w (is bankbot running and writing? stop it, or try again at a quiet hour)", err)
				}
				return err
			}
			if !converted {
				sp, err := sq.Space(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "already incremental: nothing to do (%s, %d free pages)\n", human(sp.Bytes()), sp.FreePages)
				return nil
			}
			fmt.Fprintf(w, "converted to incremental auto-vacuum in %s: database file %s → %s\n",
				time.Since(start).Round(time.Millisecond), human(before), human(fileBytes(sq, path)))
			return nil
		},
	}
}
