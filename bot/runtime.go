// Package bot is the bankbot application: the webhook and admin HTTP servers
// (Gin), config loading and hot reload (Viper), routing, rendering and the
// delivery workers that drain the outbox into DingTalk robots.
//
// Everything a request or a worker needs from the config lives in one
// immutable Runtime, built completely (and validated) from a Config before it
// is published with a single atomic pointer swap. Nothing reads Viper on a
// request path.
package bot

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/bot/confirm"
	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/store"
)

// Runtime is one loaded config, ready to serve. It is never modified after
// Build; reload builds a new one.
type Runtime struct {
	Config         *config.Config
	Sources        map[string]*Source
	Robots         map[string]*Robot
	Routes         []*Route
	Engine         *render.Engine
	TrustedProxies []netip.Prefix
	Backoff        Backoff
}

// Source is a configured webhook sender.
type Source struct {
	Name     string
	Provider bankhooks.Provider
	Keys     []bankhooks.Key
	MaxSkew  time.Duration
	AllowIPs []netip.Prefix
	// Confirmer, when the source sets confirm, confirms its money events
	// through the provider's API before they are routed.
	Confirmer confirm.Confirmer
}

// Allowed reports whether ip may call the source.
func (s *Source) Allowed(ip netip.Addr) bool {
	if len(s.AllowIPs) == 0 {
		return true
	}
	return containsIP(s.AllowIPs, ip)
}

func containsIP(ps []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Robot is a configured DingTalk robot.
type Robot struct {
	Name          string
	Type          string
	Sender        dingtalk.Sender
	RatePerMinute int
	Timeout       time.Duration
}

// Route is a configured route.
type Route struct {
	*config.Route
	sources map[string]bool
	kinds   map[bankhooks.Kind]bool
}

// Spec is what routing decided for one delivery; it is stored with the
// outbox row so a later reload does not change a message already routed.
type Spec struct {
	Template string   `json:"template"`
	Language string   `json:"language"`
	Mobiles  []string `json:"mobiles,omitempty"`
	UserIDs  []string `json:"user_ids,omitempty"`
	AtAll    bool     `json:"at_all,omitempty"`
	// Title and Text, when Text is set, are a message bankbot composed
	// itself (an ops alert): sent as they are instead of a template.
	Title string `json:"title,omitempty"`
	Text  string `json:"text,omitempty"`
}

// BuildDeps are the process-wide things a Runtime's parts use.
type BuildDeps struct {
	Log        logrus.FieldLogger
	Clock      Clock
	HTTPClient *http.Client
	// Tokens keeps app robot access tokens across reloads: a reload that
	// leaves a robot's app key and secret alone reuses its token.
	Tokens *dingtalk.TokenCache
}

// buildEngine parses the config's templates and renders each against the
// sample events.
func buildEngine(cfg *config.Config) (*render.Engine, error) {
	opts := render.Options{Location: cfg.Location}
	if opts.Location == nil {
		opts.Location = time.UTC // a timezone problem is reported on its own
	}
	if cfg.Templates.Dir != "" {
		opts.Extra = os.DirFS(cfg.Templates.Dir)
	}
	return render.New(opts)
}

// TemplateEngine is the template engine cfg's runtime would use: the
// embedded sets with cfg's templates.dir over them, validated (`bankbot
// preview`).
func TemplateEngine(cfg *config.Config) (*render.Engine, error) { return buildEngine(cfg) }

// TemplateProblems is the template check of Build for a config that failed
// validation (config.Parse returned it with Problems): `config check`
// reports template problems in the same run as the others.
func TemplateProblems(cfg *config.Config) config.Problems {
	if cfg == nil {
		return nil
	}
	_, err := buildEngine(cfg)
	return templateProblems(err)
}

// templateProblems is one "templates" problem per template error (New
// joins them, some joins nested), so config check prints one line for each.
func templateProblems(err error) config.Problems {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var ps config.Problems
		for _, e := range j.Unwrap() {
			ps = append(ps, templateProblems(e)...)
		}
		return ps
	}
	return config.Problems{{Path: "templates", Msg: err.Error()}}
}

// Build turns a validated Config into a Runtime: templates are parsed and
// rendered against fixtures, keys decoded, CIDRs parsed, robots constructed.
// Any failure is a config.Problems naming the key path.
func Build(cfg *config.Config, deps BuildDeps) (*Runtime, error) {
	var ps config.Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, config.Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	rt := &Runtime{
		Config:  cfg,
		Sources: map[string]*Source{},
		Robots:  map[string]*Robot{},
		Backoff: Backoff{Initial: cfg.Delivery.Retry.Initial, Max: cfg.Delivery.Retry.MaxInterval},
	}
	engine, err := buildEngine(cfg)
	ps = append(ps, templateProblems(err)...)
	rt.Engine = engine
	for _, p := range cfg.Server.TrustedProxies {
		prefix, _ := config.ParsePrefix(p) // validated by config
		rt.TrustedProxies = append(rt.TrustedProxies, prefix)
	}
	for name, sc := range cfg.Sources {
		prov, err := sc.BuildProvider() // validated by config
		if err != nil {
			add("sources."+name, "%v", err)
			continue
		}
		src := &Source{Name: name, Provider: prov, MaxSkew: sc.MaxSkew}
		for i, s := range sc.Secrets {
			material, err := prov.DecodeKey(s.Value.Reveal())
			if err != nil {
				add(fmt.Sprintf("sources.%s.secrets[%d]", name, i), "%v", err)
				continue
			}
			src.Keys = append(src.Keys, bankhooks.Key{Name: fmt.Sprintf("secrets[%d]", i), Material: material, Expires: s.ExpiresAt})
		}
		for _, a := range sc.AllowIPs {
			prefix, _ := config.ParsePrefix(a)
			src.AllowIPs = append(src.AllowIPs, prefix)
		}
		if c := sc.Confirm; c != nil {
			cf, err := confirm.New(sc.Provider, confirm.Options{APIBase: c.APIBase, APIKey: c.APIKey.Reveal(), Timeout: c.Timeout, Client: deps.HTTPClient})
			if err != nil {
				add(fmt.Sprintf("sources.%s.confirm", name), "%v", err)
			}
			src.Confirmer = cf
		}
		rt.Sources[name] = src
	}
	for name, rc := range cfg.Robots {
		r, err := buildRobot(name, rc, deps)
		if err != nil {
			add("robots."+name, "%v", err)
			continue
		}
		rt.Robots[name] = r
	}
	for i, rc := range cfg.Routes {
		if engine != nil && !engine.Has(rc.Template) {
			add(fmt.Sprintf("routes[%d].template", i), "no template set %q (have: %s)", rc.Template, strings.Join(engine.Sets(), ", "))
		}
		r := &Route{Route: rc, sources: map[string]bool{}, kinds: map[bankhooks.Kind]bool{}}
		for _, s := range rc.Sources {
			r.sources[s] = true
		}
		for _, k := range rc.Kinds {
			r.kinds[bankhooks.Kind(k)] = true
		}
		rt.Routes = append(rt.Routes, r)
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return rt, nil
}

func buildRobot(name string, rc *config.Robot, deps BuildDeps) (*Robot, error) {
	r := &Robot{Name: name, Type: rc.Type, RatePerMinute: rc.RatePerMinute, Timeout: rc.Timeout}
	now := deps.Clock.Now
	switch rc.Type {
	case "console":
		r.Sender = &dingtalk.Console{Name: name, Log: deps.Log, Keywords: rc.Keywords}
	case "app":
		s, err := dingtalk.NewAppRobot(dingtalk.AppRobotConfig{
			AppKey: rc.AppKey, AppSecret: rc.AppSecret.Reveal(), RobotCode: rc.RobotCode,
			ConversationID: rc.ConversationID, APIBase: rc.APIBase, Client: deps.HTTPClient, Now: now,
			Timeout: rc.Timeout, Keywords: rc.Keywords, Proxy: rc.Proxy.Reveal(), Tokens: deps.Tokens,
		})
		if err != nil {
			return nil, err
		}
		r.Sender = s
	default:
		s, err := dingtalk.NewRobot(dingtalk.RobotConfig{
			Webhook: rc.Webhook.Reveal(), Secret: rc.Secret.Reveal(), Client: deps.HTTPClient, Now: now, Timeout: rc.Timeout,
			Keywords: rc.Keywords, Proxy: rc.Proxy.Reveal(),
		})
		if err != nil {
			return nil, err
		}
		r.Sender = s
	}
	return r, nil
}

// Match reports whether the route takes an event of source. An unreadable
// event goes to every route of its source whatever its kinds and minimum:
// nothing about it is known, and someone must look at it.
func (r *Route) Match(source string, ev bankhooks.Event) bool {
	if len(r.sources) > 0 && !r.sources[source] {
		return false
	}
	if ev.Kind == bankhooks.KindUnreadable {
		return true
	}
	if len(r.kinds) > 0 && !r.kinds[ev.Kind] {
		return false
	}
	return atLeastMin(ev, r.MinAmount)
}

// atLeastMin reports whether ev passes min: the minimum of ev's currency,
// or no minimum when min has none for it.
func atLeastMin(ev bankhooks.Event, min config.MinAmount) bool {
	d, ok := min.For(ev.Currency)
	if !ok {
		return true
	}
	return atLeast(ev, d)
}

// Spec is the delivery spec the route gives ev.
func (r *Route) Spec(ev bankhooks.Event) Spec {
	s := Spec{Template: r.Template, Language: r.Language}
	m := r.Mention
	mention := false
	switch {
	case !m.OnFailure && m.MinAmount.IsZero():
		mention = true
	default:
		mention = (m.OnFailure && ev.Kind.Failed()) || (!m.MinAmount.IsZero() && mentionAmount(ev, m.MinAmount))
	}
	if mention {
		s.Mobiles = slices.Clone(m.Mobiles)
		s.UserIDs = slices.Clone(m.UserIDs)
		s.AtAll = m.All
	}
	return s
}

// mentionAmount reports whether ev reaches a mention threshold: only a
// currency that has a minimum can reach it.
func mentionAmount(ev bankhooks.Event, min config.MinAmount) bool {
	d, ok := min.For(ev.Currency)
	return ok && atLeast(ev, d)
}

// Deliveries routes one event of source: one outbox row per matching route.
// The ops route takes bankbot's own alerts only, never bank events.
func (rt *Runtime) Deliveries(source string, ev bankhooks.Event) ([]store.NewDelivery, error) {
	var out []store.NewDelivery
	for _, r := range rt.Routes {
		if r.Name == opsRoute || !r.Match(source, ev) {
			continue
		}
		spec, err := json.Marshal(r.Spec(ev))
		if err != nil {
			return nil, fmt.Errorf("encode delivery spec: %w", err)
		}
		out = append(out, store.NewDelivery{Route: r.Name, Robot: r.Robot, Spec: spec})
	}
	return out, nil
}

// RouteNamed returns the route called name, or nil.
func (rt *Runtime) RouteNamed(name string) *Route {
	for _, r := range rt.Routes {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// atLeast reports whether ev's amount is at least min major units of its
// currency, exactly (big integers, no floats). An empty or zero minimum
// matches everything; a positive one never matches an event without amount.
func atLeast(ev bankhooks.Event, min config.Decimal) bool {
	if min == "" {
		return true
	}
	whole, frac, _ := strings.Cut(string(min), ".")
	if strings.Trim(whole, "0") == "" && strings.Trim(frac, "0") == "" {
		return true
	}
	if ev.Currency == "" {
		return false
	}
	exp, err := bankhooks.Exponent(ev.Currency)
	if err != nil {
		return false
	}
	// Compare amount×10^len(frac) with (whole.frac)×10^exp, both as integers.
	minInt, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		return false
	}
	lhs := new(big.Int).Mul(big.NewInt(ev.Amount), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil))
	rhs := new(big.Int).Mul(minInt, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	return lhs.Cmp(rhs) >= 0
}
