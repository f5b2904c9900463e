package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
)

// keyExpiryWarning is how long before a key's expiry `source test` warns.
const keyExpiryWarning = 14 * 24 * time.Hour

func sourceCmd(env *Env, g *globals) *cobra.Command {
	c := &cobra.Command{Use: "source", Short: "Work with a configured webhook source"}
	var publicURL, timeURL string
	test := &cobra.Command{
		Use:   "test SOURCE",
		Short: "Check what can be checked of a source without the bank: keys, a signed round trip, clock skew, allowlist, URL",
		Long: "source test checks a source without a request from the bank: that each secret decodes and which are\n" +
			"active or about to expire; that an event signed with the current secret the provider's way verifies\n" +
			"and parses (the same code the server runs); this machine's clock against a time source you name\n" +
			"(--time-url, read from its HTTP Date header) for schemes that sign a timestamp; allow_ips against\n" +
			"the addresses the provider publishes; and the URL the provider must call.\n" +
			"Exit 0 when nothing failed (warnings may be printed), 1 otherwise.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load(cmd, env)
			if err != nil {
				return err
			}
			name := strings.ToLower(args[0])
			prov, keys, err := sourceKeys(cmd, cfg, name)
			if err != nil {
				return err
			}
			r := &sourceReport{w: cmd.OutOrStdout()}
			now := time.Now()
			src := cfg.Sources[name]
			fmt.Fprintf(r.w, "source %s (provider %s)\n", name, prov.Name())
			r.url(cfg, name, publicURL)
			r.keys(src, keys, now)
			signsTime := r.roundTrip(prov, keys, src.MaxSkew, now)
			r.clock(cmd.Context(), timeURL, signsTime, src.MaxSkew)
			r.allowlist(cfg, name, prov.Name())
			if r.failed > 0 {
				fmt.Fprintf(r.w, "%s failed\n", plural(r.failed, "check"))
				return exitError{1}
			}
			fmt.Fprintf(r.w, "no check failed (%s)\n", plural(r.warned, "warning"))
			return nil
		},
	}
	test.Flags().StringVar(&publicURL, "public-url", "", "the public base URL of this server (https://hooks.example.com), to print the exact URL the provider must call")
	test.Flags().StringVar(&timeURL, "time-url", "", "a server whose HTTP Date header this machine's clock is compared with (e.g. the provider's API host)")
	c.AddCommand(test)
	return c
}

// sourceReport prints one line per check: ok, warn, fail or info.
type sourceReport struct {
	w              io.Writer
	failed, warned int
}

func (r *sourceReport) line(status, check, format string, args ...any) {
	switch status {
	case "FAIL":
		r.failed++
	case "warn":
		r.warned++
	}
	fmt.Fprintf(r.w, "  %-4s  %-9s  %s\n", status, check, fmt.Sprintf(format, args...))
}

func (r *sourceReport) url(cfg *config.Config, name, publicURL string) {
	path := "/hooks/" + name
	if publicURL != "" {
		r.line("info", "url", "the provider must POST to %s%s", strings.TrimRight(publicURL, "/"), path)
		return
	}
	r.line("info", "url", "the provider must POST to https://<this server's public host>%s (bankbot listens on %s; put TLS in front; --public-url prints the full URL)",
		path, cfg.Server.Listen)
}

func (r *sourceReport) keys(src *config.Source, keys []bankhooks.Key, now time.Time) {
	active := 0
	for i, k := range keys {
		exp := ""
		if i < len(src.Secrets) && src.Secrets[i].ValueFile != "" {
			exp = " (from " + src.Secrets[i].ValueFile + ")"
		}
		switch {
		case !k.ActiveAt(now):
			r.line("warn", "keys", "%s%s expired at %s and is no longer accepted: remove it", k.Name, exp, k.Expires.UTC().Format(time.RFC3339))
		case !k.Expires.IsZero() && k.Expires.Sub(now) < keyExpiryWarning:
			active++
			r.line("warn", "keys", "%s%s decodes; expires in %s (%s): make sure the provider signs with the new key by then",
				k.Name, exp, roundDays(k.Expires.Sub(now)), k.Expires.UTC().Format(time.RFC3339))
		case !k.Expires.IsZero():
			active++
			r.line("ok", "keys", "%s%s decodes; active until %s", k.Name, exp, k.Expires.UTC().Format(time.RFC3339))
		default:
			active++
			r.line("ok", "keys", "%s%s decodes; active, no expiry", k.Name, exp)
		}
	}
	if active == 0 {
		r.line("FAIL", "keys", "no active secret: every request will be refused (401 no_active_key)")
	}
}

// roundTrip signs a sample event with the current key the provider's way
// and runs it through the source's own verifier and parser. It reports
// whether the scheme signs a timestamp (a sample signed long ago is refused
// as stale), which decides whether clock skew matters.
func (r *sourceReport) roundTrip(prov bankhooks.Provider, keys []bankhooks.Key, maxSkew time.Duration, now time.Time) bool {
	key, err := currentKey(keys, now)
	if err != nil {
		r.line("FAIL", "signature", "cannot sign a test event: %v", err)
		return false
	}
	types := prov.SampleTypes()
	if len(types) == 0 {
		r.line("warn", "signature", "the provider has no sample event to sign")
		return false
	}
	body, err := prov.Sample(types[0], bankhooks.SampleParams{Now: now})
	if err != nil {
		r.line("FAIL", "signature", "cannot build a sample %s event: %v", types[0], err)
		return false
	}
	signed, err := prov.Sign(body, []bankhooks.Key{key}, now, randomID("msg_"))
	if err != nil {
		r.line("FAIL", "signature", "cannot sign with %s: %v", key.Name, err)
		return false
	}
	req := bankhooks.Request{Header: signed.Header, Body: signed.Body}
	opts := bankhooks.VerifyOptions{Now: now, MaxSkew: maxSkew}
	v, err := prov.Verify(req, keys, opts)
	if err != nil {
		r.line("FAIL", "signature", "a sample %s event signed with %s does not verify: %v", types[0], key.Name, err)
		return false
	}
	ev, err := prov.Parse(req)
	if err != nil {
		r.line("FAIL", "signature", "a sample %s event signed with %s verifies but does not parse: %v", types[0], key.Name, err)
		return false
	}
	amount := ""
	if ev.Currency != "" {
		if s, err := bankhooks.FormatMajor(ev.Amount, ev.Currency); err == nil {
			amount = ", " + ev.Currency + " " + s
		}
	}
	r.line("ok", "signature", "a sample %s event signed with %s verifies (matched %s) and reads as %s%s", types[0], key.Name, v.Key, ev.Kind, amount)

	// Signed far outside the window: refused as stale only if the scheme
	// signs a timestamp.
	skew := maxSkew
	if skew <= 0 {
		skew = config.DefaultMaxSkew
	}
	old := now.Add(-skew - time.Hour)
	if body, err = prov.Sample(types[0], bankhooks.SampleParams{Now: old}); err != nil {
		return false
	}
	if signed, err = prov.Sign(body, []bankhooks.Key{key}, old, randomID("msg_")); err != nil {
		return false
	}
	_, err = prov.Verify(bankhooks.Request{Header: signed.Header, Body: signed.Body}, keys, opts)
	return errors.Is(err, bankhooks.ErrTimestampOutOfWindow)
}

func (r *sourceReport) clock(ctx context.Context, timeURL string, signsTime bool, maxSkew time.Duration) {
	if maxSkew <= 0 {
		maxSkew = config.DefaultMaxSkew
	}
	if !signsTime {
		r.line("info", "clock", "the scheme signs no timestamp: clock skew does not matter (retries are caught by the dedupe key)")
		return
	}
	if timeURL == "" {
		r.line("info", "clock", "the scheme signs a timestamp (max_skew %s); not checked: give --time-url https://<a server you trust> to compare this machine's clock", maxSkew)
		return
	}
	skew, err := clockSkew(ctx, timeURL)
	if err != nil {
		r.line("FAIL", "clock", "cannot read the time from %s: %v", timeURL, err)
		return
	}
	abs := skew
	if abs < 0 {
		abs = -abs
	}
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	switch {
	case abs > maxSkew/2:
		r.line("FAIL", "clock", "this machine is %s %s %s (max_skew %s): fix NTP, or signed requests will be refused as stale", abs.Round(time.Second), dir, timeURL, maxSkew)
	case abs > 30*time.Second:
		r.line("warn", "clock", "this machine is %s %s %s (max_skew %s): check NTP", abs.Round(time.Second), dir, timeURL, maxSkew)
	default:
		r.line("ok", "clock", "this machine is %s %s %s (max_skew %s)", abs.Round(time.Second), dir, timeURL, maxSkew)
	}
}

// clockSkew is how far this machine's clock is ahead of the Date header of
// url's answer (negative: behind), taking the middle of the round trip as
// the moment the server wrote it. Date has a resolution of one second, so
// the answer is good to about a second.
func clockSkew(ctx context.Context, url string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return 0, fmt.Errorf("--time-url: %w", err)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	end := time.Now()
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return 0, fmt.Errorf("the answer has no valid Date header (%q)", resp.Header.Get("Date"))
	}
	mid := start.Add(end.Sub(start) / 2)
	// Date is truncated to the second: its true value is up to 1 s later.
	return mid.Sub(date.Add(500 * time.Millisecond)), nil
}

func (r *sourceReport) allowlist(cfg *config.Config, name, provider string) {
	src := cfg.Sources[name]
	published, from := bankhooks.PublishedIPs(provider)
	var allow []netip.Prefix
	for _, s := range src.AllowIPs {
		if p, err := config.ParsePrefix(s); err == nil {
			allow = append(allow, p)
		}
	}
	if len(allow) == 0 {
		switch {
		case len(published) > 0:
			r.line("info", "allowlist", "allow_ips is empty: any address may call; %s publishes %s (%s): consider sources.%s.allow_ips",
				provider, strings.Join(published, ", "), from, name)
		case from != "":
			r.line("info", "allowlist", "allow_ips is empty: any address may call; %s publishes its addresses at %s", provider, from)
		case provider == config.GenericProvider:
			r.line("info", "allowlist", "allow_ips is empty: any address may call (the signature is the protection; list the bank's addresses if it publishes them)")
		default:
			r.line("info", "allowlist", "allow_ips is empty: any address may call (%s publishes no addresses; the signature is the protection)", provider)
		}
		return
	}
	if len(cfg.Server.TrustedProxies) == 0 {
		r.line("info", "allowlist", "allow_ips is checked against the direct peer: behind a reverse proxy, set server.trusted_proxies or every request comes from the proxy")
	}
	if len(published) == 0 {
		r.line("info", "allowlist", "%s publishes no list to compare with%s", provider, orFrom(from))
		return
	}
	var missing []string
	for _, c := range published {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			continue
		}
		if !coveredBy(p, allow) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 && allLoopback(allow) {
		r.line("warn", "allowlist", "allow_ips holds only loopback addresses: only this machine may call (a demo or a local test); %s sends from %s (%s)",
			provider, strings.Join(missing, ", "), from)
		return
	}
	if len(missing) > 0 {
		r.line("FAIL", "allowlist", "%s sends from %s, which sources.%s.allow_ips does not contain: those requests would be refused with 403 (list: %s)",
			provider, strings.Join(missing, ", "), name, from)
		return
	}
	r.line("ok", "allowlist", "every address %s publishes is in allow_ips (%s)", provider, from)
}

func allLoopback(ps []netip.Prefix) bool {
	for _, p := range ps {
		if !p.Addr().IsLoopback() {
			return false
		}
	}
	return true
}

func orFrom(from string) string {
	if from == "" {
		return ""
	}
	return " (its list: " + from + ")"
}

// coveredBy reports whether every address of p is in one of the prefixes.
func coveredBy(p netip.Prefix, allow []netip.Prefix) bool {
	p = p.Masked()
	for _, a := range allow {
		if a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// roundDays writes d as whole days, or hours under two days.
func roundDays(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
