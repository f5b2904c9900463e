package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bankbot/bankbot/bot"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/store"
)

// loadStorage reads only the config's storage keys (config.StorageKeys),
// printing every problem: the commands that read or requeue the store work
// on a host where the secrets exist only in the service's environment.
func (g *globals) loadStorage(cmd *cobra.Command, env *Env) (*config.Config, error) {
	path := g.path(env)
	cfg, err := config.LoadStorage(path, env.Lookup)
	if err != nil {
		printProblems(cmd.ErrOrStderr(), path, err)
		return nil, exitError{1}
	}
	return cfg, nil
}

// openStorage loads the storage keys and opens the store.
func (g *globals) openStorage(cmd *cobra.Command, env *Env) (*config.Config, store.Store, error) {
	cfg, err := g.loadStorage(cmd, env)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(cmd.Context(), cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

// errNoRoutes says the commands that re-drive deliveries could not read
// today's routes and robots.
var errNoRoutes = errors.New("today's routes could not be read")

// loadRuntime loads the whole config and builds its runtime (routes, robots;
// nothing is contacted). When that fails (a secret that is set only in the
// service's environment, most often) but the storage keys load, it prints a
// note with the problems and returns the storage-only config and a nil
// runtime: the caller requeues rows to the robots they were routed to.
func (g *globals) loadRuntime(cmd *cobra.Command, env *Env) (*config.Config, *bot.Runtime, error) {
	path := g.path(env)
	cfg, err := config.Load(path, env.Lookup)
	var rt *bot.Runtime
	if err == nil {
		rt, err = bot.Build(cfg, bot.BuildDeps{Log: quietLogger(io.Discard), Clock: bot.SystemClock{}})
		if err == nil {
			return cfg, rt, nil
		}
	}
	scfg, serr := config.LoadStorage(path, env.Lookup)
	if serr != nil {
		printProblems(cmd.ErrOrStderr(), path, err)
		return nil, nil, exitError{1}
	}
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "note: %v from %s:\n", errNoRoutes, path)
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, l := range ps.Lines() {
			fmt.Fprintln(w, "  "+l)
		}
	} else {
		fmt.Fprintf(w, "  %v\n", err)
	}
	fmt.Fprintln(w, "note: deliveries are requeued to the robots and routes they were sent to before")
	return scfg, nil, nil
}
