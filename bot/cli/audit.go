package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/store"
)

func auditCmd(env *Env, g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "audit list",
		Short: "Print the chat-command audit: who asked bankbot what in DingTalk, where, and the result",
		Long: "audit reads the store only: it needs the config's storage and timezone keys,\n" +
			"not the sources' or robots' secrets.",
	}
	c.AddCommand(auditListCmd(env, g))
	return c
}

// auditJSON is an audit entry as --json prints it (the time in UTC).
type auditJSON struct {
	ID             int64     `json:"id"`
	At             time.Time `json:"at"`
	SenderID       string    `json:"sender_id"`
	SenderName     string    `json:"sender_name,omitempty"`
	ConversationID string    `json:"conversation_id"`
	Command        string    `json:"command"`
	Result         string    `json:"result"`
}

func auditListCmd(env *Env, g *globals) *cobra.Command {
	var w window
	var sender, conversation string
	var limit int
	var asJSON bool
	c := &cobra.Command{
		Use:                   "list [--since T] [--until T] [--sender ID] [--conversation ID] [--limit N] [--json]",
		DisableFlagsInUseLine: true,
		Short:                 "List audited chat commands, newest first",
		Args:                  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			es, err := st.ListAudit(cmd.Context(), store.AuditFilter{Since: since, Until: until,
				SenderID: sender, ConversationID: conversation, Limit: limit})
			if err != nil {
				return err
			}
			return printAudit(cmd.OutOrStdout(), cfg, es, asJSON)
		},
	}
	c.Flags().StringVar(&w.since, "since", "", "commands given at or after this time (2026-05-17, \"2026-05-17 14:30\", RFC 3339) or this long ago (90m, 24h, 7d); the config's timezone")
	c.Flags().StringVar(&w.until, "until", "", "commands given before this time (same forms as --since)")
	c.Flags().StringVar(&sender, "sender", "", "only the commands of this DingTalk sender (staff or user id)")
	c.Flags().StringVar(&conversation, "conversation", "", "only the commands given in this DingTalk conversation (cid…)")
	c.Flags().IntVar(&limit, "limit", 50, "at most this many entries")
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return c
}

// printAudit prints audit entries, one a line, or as a JSON array.
func printAudit(w io.Writer, cfg *config.Config, es []store.AuditEntry, asJSON bool) error {
	if asJSON {
		out := make([]auditJSON, len(es))
		for i, e := range es {
			out[i] = auditJSON{ID: e.ID, At: e.At, SenderID: e.SenderID, SenderName: e.SenderName,
				ConversationID: e.ConversationID, Command: e.Command, Result: e.Result}
		}
		return writeJSON(w, out)
	}
	if len(es) == 0 {
		fmt.Fprintln(w, "no audited commands")
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSENDER\tNAME\tCONVERSATION\tCOMMAND\tRESULT")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(e.At, cfg.Location), orDash(e.SenderID), orDash(oneLine(e.SenderName)),
			orDash(e.ConversationID), orDash(truncate(oneLine(e.Command), 60)), truncate(oneLine(e.Result), 80))
	}
	return tw.Flush()
}

// oneLine keeps a value on its table line: tabs and line breaks become
// spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return ' '
		}
		return r
	}, s)
}
