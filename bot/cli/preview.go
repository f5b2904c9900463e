package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/bot/render"
)

// usageError prints msg and exits 2: the command line asked for something
// that does not exist (a template, kind, language or currency).
func usageError(cmd *cobra.Command, format string, args ...any) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "bankbot: "+format+"\n", args...)
	return exitError{2}
}

func previewCmd(env *Env, g *globals) *cobra.Command {
	var kind, lang, currency string
	c := &cobra.Command{
		Use:   "preview TEMPLATE",
		Short: "Print the message a template renders for a sample event (title, then the markdown text)",
		Long: "preview renders a made-up event of --kind (default payment.succeeded) in --currency (default THB)\n" +
			"with the template set TEMPLATE (default, payment, or a set of the config's templates dir) in\n" +
			"--language (default the config's language), exactly as the server would send it, and prints\n" +
			"its title and text. A file in the templates dir replaces the built-in one of the same name.\n" +
			"Exit 0 when it rendered, 1 when the config or the template is broken, 2 for an unknown\n" +
			"template, kind, language or currency.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k := bankhooks.Kind(strings.TrimSpace(kind))
			if !k.Valid() {
				return usageError(cmd, "unknown kind %q: use one of %s", kind, kindNames())
			}
			cfg, err := g.load(cmd, env)
			if err != nil {
				return err
			}
			if lang == "" {
				lang = cfg.Language
			}
			if !render.ValidLanguage(lang) {
				return usageError(cmd, "unknown language %q: use one of %s", lang, strings.Join(render.Languages(), ", "))
			}
			cur, err := bankhooks.NormalizeCurrency(currency)
			if err == nil {
				_, err = bankhooks.Exponent(cur)
			}
			if err != nil {
				return usageError(cmd, "--currency: %v", err)
			}
			engine, err := bot.TemplateEngine(cfg)
			if err != nil {
				printProblems(cmd.ErrOrStderr(), g.path(env), config.Problems{{Path: "templates", Msg: err.Error()}})
				return exitError{1}
			}
			set := args[0]
			if !engine.Has(set) {
				return usageError(cmd, "unknown template %q: the templates are %s", set, strings.Join(engine.Sets(), ", "))
			}
			r, err := engine.Render(set, lang, render.Sample(k, cur))
			if err != nil {
				var te *render.TemplateError
				if errors.As(err, &te) {
					fmt.Fprintf(cmd.ErrOrStderr(), "bankbot: %v\n", te)
					return exitError{1}
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "title: %s\n\n%s\n", r.Title, r.Text)
			return nil
		},
	}
	c.Flags().StringVar(&kind, "kind", string(bankhooks.KindPaymentSucceeded), "the sample event's kind: "+kindNames())
	c.Flags().StringVar(&lang, "language", "", "the message language: "+strings.Join(render.Languages(), ", ")+" (default the config's language)")
	c.Flags().StringVar(&currency, "currency", "THB", "the sample amount's ISO 4217 currency (THB, IDR, JPY, USD, KWD …)")
	return c
}
