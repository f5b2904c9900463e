package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot"
	"github.com/bankbot/bankbot/bot/config"
)

// sourceKeys returns the source's provider and its decoded keys, as the
// server's runtime has them (bot.Build decodes and checks every key).
func sourceKeys(cmd *cobra.Command, cfg *config.Config, name string) (bankhooks.Provider, []bankhooks.Key, error) {
	rt, err := bot.Build(cfg, bot.BuildDeps{Log: quietLogger(io.Discard), Clock: bot.SystemClock{}})
	if err != nil {
		printProblems(cmd.ErrOrStderr(), cfg.Path, err)
		return nil, nil, exitError{1}
	}
	src, ok := rt.Sources[name]
	if !ok {
		names := make([]string, 0, len(rt.Sources))
		for n := range rt.Sources {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, nil, fmt.Errorf("no source named %q in the config (sources: %s)", name, strings.Join(names, ", "))
	}
	return src.Provider, src.Keys, nil
}

// currentKey is the key a provider signs with now: an active key without
// expiry (the new key of a rotation), else the active key that lasts longest.
func currentKey(keys []bankhooks.Key, now time.Time) (bankhooks.Key, error) {
	var best *bankhooks.Key
	for i := range keys {
		k := &keys[i]
		if !k.ActiveAt(now) {
			continue
		}
		if k.Expires.IsZero() {
			return *k, nil
		}
		if best == nil || k.Expires.After(best.Expires) {
			best = k
		}
	}
	if best == nil {
		return bankhooks.Key{}, errors.New("every secret of this source has expired")
	}
	return *best, nil
}

func randomID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func signCmd(env *Env, g *globals) *cobra.Command {
	var id string
	var allKeys bool
	c := &cobra.Command{
		Use:   "sign SOURCE < body.json",
		Short: "Print the headers the source's provider would send with this body now (and the body, where the scheme signs inside it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load(cmd, env)
			if err != nil {
				return err
			}
			prov, keys, err := sourceKeys(cmd, cfg, args[0])
			if err != nil {
				return err
			}
			body, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), cfg.Server.MaxBodyBytes+1))
			if err != nil {
				return fmt.Errorf("read body from stdin: %w", err)
			}
			if int64(len(body)) > cfg.Server.MaxBodyBytes {
				return fmt.Errorf("the body is over server.max_body_bytes (%d bytes): bankbot would refuse it with 413", cfg.Server.MaxBodyBytes)
			}
			now := time.Now()
			use, err := signingKeys(keys, allKeys, now)
			if err != nil {
				return fmt.Errorf("sources.%s: %w", args[0], err)
			}
			if id == "" {
				id = randomID("msg_")
			}
			signed, err := prov.Sign(body, use, now, id)
			if err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			printHeaders(cmd.OutOrStdout(), signed.Header)
			if !bytes.Equal(signed.Body, body) {
				// The scheme signs inside the body (Midtrans, Adyen): the
				// body to send is the signed one.
				fmt.Fprintf(cmd.OutOrStdout(), "\n%s\n", signed.Body)
			}
			return nil
		},
	}
	c.Flags().StringVar(&id, "id", "", "message id, for schemes that sign one (Standard Webhooks webhook-id)")
	c.Flags().BoolVar(&allKeys, "all-keys", false, "sign with every active key, as a provider does during a rotation")
	return c
}

func signingKeys(keys []bankhooks.Key, all bool, now time.Time) ([]bankhooks.Key, error) {
	if !all {
		k, err := currentKey(keys, now)
		return []bankhooks.Key{k}, err
	}
	var out []bankhooks.Key
	for _, k := range keys {
		if k.ActiveAt(now) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("every secret of this source has expired")
	}
	return out, nil
}

func printHeaders(w io.Writer, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
}

func simulateCmd(env *Env, g *globals) *cobra.Command {
	var target, currency string
	var amount int64
	var printOnly bool
	c := &cobra.Command{
		Use:   "simulate SOURCE [EVENT]",
		Short: "Build a sample event of the source's provider, sign it as the provider would, POST it",
		Long: "simulate builds a realistic event of the source's provider (EVENT is the provider's own event type;\n" +
			"the default is the provider's most common payment event), signs it with the source's current key\n" +
			"exactly as the provider would, POSTs it to the running server and prints the reply.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load(cmd, env)
			if err != nil {
				return err
			}
			prov, keys, err := sourceKeys(cmd, cfg, args[0])
			if err != nil {
				return err
			}
			types := prov.SampleTypes()
			evType := types[0]
			if len(args) == 2 {
				evType = args[1]
			}
			if !slices.Contains(types, evType) {
				return fmt.Errorf("%s cannot simulate %q; try one of: %s", prov.Name(), evType, strings.Join(types, ", "))
			}
			now := time.Now()
			key, err := currentKey(keys, now)
			if err != nil {
				return fmt.Errorf("sources.%s: %w", args[0], err)
			}
			body, err := prov.Sample(evType, bankhooks.SampleParams{Now: now, Amount: amount, Currency: currency})
			if err != nil {
				return fmt.Errorf("build sample: %w", err)
			}
			signed, err := prov.Sign(body, []bankhooks.Key{key}, now, randomID("msg_"))
			if err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			h, body := signed.Header, signed.Body
			if target == "" {
				target = hookURL(cfg.Server.Listen, args[0])
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "POST %s\n", target)
			printHeaders(out, h)
			fmt.Fprintf(out, "\n%s\n\n", body)
			if printOnly {
				return nil
			}
			return post(cmd.Context(), out, target, h, body)
		},
	}
	c.Flags().StringVar(&target, "url", "", "where to POST (default: this config's server.listen, /hooks/SOURCE)")
	c.Flags().Int64Var(&amount, "amount", 0, "amount in minor units (e.g. 5000 = THB 50.00); the provider's sample default when 0")
	c.Flags().StringVar(&currency, "currency", "", "ISO 4217 currency; the provider's sample default when empty")
	c.Flags().BoolVar(&printOnly, "print", false, "print the signed request without sending it")
	return c
}

// hookURL is the local URL of a source on a server listening at listen.
func hookURL(listen, source string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://127.0.0.1:8080/hooks/" + source
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/hooks/" + source
}

func post(ctx context.Context, out io.Writer, target string, h http.Header, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	req.Header = h.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w (is `bankbot serve` running?)", target, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(out, "→ %s\n%s\n", resp.Status, strings.TrimSpace(string(reply)))
	if resp.StatusCode/100 != 2 {
		return exitError{1}
	}
	return nil
}

func dingtalkCmd(env *Env, g *globals) *cobra.Command {
	c := &cobra.Command{Use: "dingtalk", Short: "Work with DingTalk robots"}
	c.AddCommand(&cobra.Command{
		Use:   "test ROBOT",
		Short: "Send a test message through a robot and print DingTalk's answer and what to fix",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load(cmd, env)
			if err != nil {
				return err
			}
			rt, err := bot.Build(cfg, bot.BuildDeps{Log: quietLogger(cmd.ErrOrStderr()), Clock: bot.SystemClock{}, HTTPClient: &http.Client{Timeout: 30 * time.Second}})
			if err != nil {
				printProblems(cmd.ErrOrStderr(), cfg.Path, err)
				return exitError{1}
			}
			r, ok := rt.Robots[args[0]]
			if !ok {
				names := make([]string, 0, len(rt.Robots))
				for n := range rt.Robots {
					names = append(names, n)
				}
				sort.Strings(names)
				if len(names) == 0 {
					return fmt.Errorf("no robot named %q: the config has no robots", args[0])
				}
				return fmt.Errorf("no robot named %q in the config (robots: %s)", args[0], strings.Join(names, ", "))
			}
			host, _ := os.Hostname()
			now := time.Now().In(cfg.Location)
			// The test message counts against DingTalk's 20 a minute like
			// any other: take a slot of the robot's budget in the store, so
			// the server neither trips the limit because of it nor lets it
			// trip the limit. A store this machine cannot open only warns.
			release, stop := reserveTestSlot(cmd, cfg, r, now)
			if stop != nil {
				return stop
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), r.Timeout)
			defer cancel()
			defer release()
			err = r.Sender.Send(ctx, bot.TestMessage(args[0], host, now))
			ok, lines := bot.TestOutcome(args[0], err)
			for _, l := range lines {
				fmt.Fprintln(cmd.OutOrStdout(), l)
			}
			if ok {
				return nil
			}
			return exitError{1}
		},
	})
	return c
}

// reserveTestSlot takes one send of robot r's budget for `dingtalk test`.
// It returns a function that restamps the slot with the answer's time (and
// closes the store), or an error when the budget is spent.
func reserveTestSlot(cmd *cobra.Command, cfg *config.Config, r *bot.Robot, now time.Time) (release func(), stop error) {
	release = func() {}
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
	defer cancel()
	st, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: cannot open the store (%v): the test message is not counted in robots.%s's budget of %d a minute\n", err, r.Name, r.RatePerMinute)
		return release, nil
	}
	slot, b, err := bot.ReserveSlot(ctx, st, r, now)
	if err != nil {
		_ = st.Close()
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: cannot take a send slot (%v): the test message is not counted in robots.%s's budget\n", err, r.Name)
		return release, nil
	}
	if slot == 0 {
		_ = st.Close()
		fmt.Fprintf(cmd.OutOrStdout(), "robots.%s: its budget of %d messages a minute is in use", r.Name, r.RatePerMinute)
		if !b.BlockedUntil.IsZero() {
			fmt.Fprintf(cmd.OutOrStdout(), " (DingTalk paused it until %s)", b.BlockedUntil.In(cfg.Location).Format("15:04:05 MST"))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "; try again after %s\n", b.NextAt.In(cfg.Location).Format("15:04:05 MST"))
		return release, exitError{1}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StampSend(ctx, slot, time.Now())
		_ = st.Close()
	}, nil
}
