// Package cli is bankbot's command line: serve, config check, dingtalk test,
// simulate, sign, deadletters, replay, events, source test, audit, preview, storage and version. main.go only
// turns signals
// into a context and calls Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/bankbot/bankbot/bot"
	"github.com/bankbot/bankbot/bot/config"
)

// Env is what Main runs with.
type Env struct {
	Args    []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Reload  <-chan struct{} // SIGHUPs
	Version string
	Commit  string
	Lookup  config.LookupEnv // environment; os.LookupEnv by default
}

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, env Env) int {
	if env.Lookup == nil {
		env.Lookup = os.LookupEnv
	}
	root := newRoot(ctx, &env)
	root.SetArgs(env.Args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(env.Stderr, "bankbot: "+err.Error())
	return 1
}

type globals struct {
	configPath string
}

func newRoot(ctx context.Context, env *Env) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "bankbot",
		Short:         "Signed bank and payment webhooks → DingTalk group alerts",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "config file (default $BANKBOT_CONFIG, else config.yaml)")
	root.AddCommand(
		serveCmd(env, g),
		configCmd(env, g),
		dingtalkCmd(env, g),
		simulateCmd(env, g),
		signCmd(env, g),
		deadlettersCmd(env, g),
		replayCmd(env, g),
		eventsCmd(env, g),
		sourceCmd(env, g),
		auditCmd(env, g),
		previewCmd(env, g),
		storageCmd(env, g),
		versionCmd(env),
	)
	return root
}

func (g *globals) path(env *Env) string {
	if g.configPath != "" {
		return g.configPath
	}
	if p, ok := env.Lookup("BANKBOT_CONFIG"); ok && p != "" {
		return p
	}
	return "config.yaml"
}

// load reads and validates the config, printing every problem.
func (g *globals) load(cmd *cobra.Command, env *Env) (*config.Config, error) {
	path := g.path(env)
	cfg, err := config.Load(path, env.Lookup)
	if err != nil {
		printProblems(cmd.ErrOrStderr(), path, err)
		return nil, exitError{1}
	}
	return cfg, nil
}

func printProblems(w io.Writer, path string, err error) {
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, l := range ps.Lines() {
			fmt.Fprintln(w, l)
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", path, err)
}

func quietLogger(w io.Writer) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(w)
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	return l
}

func serveCmd(env *Env, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the webhook server, the delivery workers and the admin listener",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := bot.Run(cmd.Context(), bot.Options{
				ConfigPath: g.path(env),
				Reload:     env.Reload,
				Version:    env.Version,
				LogOutput:  cmd.ErrOrStderr(),
				Env:        env.Lookup,
			})
			if err != nil {
				var ps config.Problems
				if errors.As(err, &ps) {
					fmt.Fprintf(cmd.ErrOrStderr(), "bankbot: config %s is not valid:\n", g.path(env))
					printProblems(cmd.ErrOrStderr(), g.path(env), err)
					return exitError{1}
				}
				return err
			}
			return nil
		},
	}
}

func configCmd(env *Env, g *globals) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Work with the config file"}
	c.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the config: exit 0 when valid, else 1 with one line per problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := g.path(env)
			cfg, err := config.Load(path, env.Lookup)
			var ps config.Problems
			switch {
			case err == nil:
				_, err = bot.Build(cfg, bot.BuildDeps{Log: quietLogger(io.Discard), Clock: bot.SystemClock{}})
			case cfg != nil && errors.As(err, &ps):
				// Decoded but invalid: the templates are checked too, so
				// every problem shows in one run.
				err = append(ps, bot.TemplateProblems(cfg)...)
			}
			if err != nil {
				printProblems(cmd.OutOrStdout(), path, err)
				return exitError{1}
			}
			for _, w := range cfg.Warnings(bot.SystemClock{}.Now()) {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+w)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (%s, %s, %s)\n", path,
				plural(len(cfg.Sources), "source"), plural(len(cfg.Robots), "robot"), plural(len(cfg.Routes), "route"))
			return nil
		},
	})
	return c
}

// plural writes n with noun in the singular or the plural: "1 source",
// "0 routes", "2 robots".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func versionCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			commit := env.Commit
			if commit == "" {
				commit = "unknown"
				if bi, ok := debug.ReadBuildInfo(); ok {
					for _, s := range bi.Settings {
						if s.Key == "vcs.revision" {
							commit = s.Value
						}
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bankbot %s\ncommit %s\n%s %s/%s\n", env.Version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
