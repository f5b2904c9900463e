package config

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/confirm"
	"github.com/bankbot/bankbot/bot/render"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (c *Config) applyDefaults(baseDir string) {
	s := &c.Server
	s.Listen = or(s.Listen, DefaultListen)
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.MaxConnections == 0 {
		s.MaxConnections = DefaultMaxConnections
	}
	s.ReadHeaderTimeout = orDur(s.ReadHeaderTimeout, 10*time.Second)
	s.ReadTimeout = orDur(s.ReadTimeout, 30*time.Second)
	s.WriteTimeout = orDur(s.WriteTimeout, 30*time.Second)
	s.IdleTimeout = orDur(s.IdleTimeout, 120*time.Second)
	c.Admin.Listen = or(c.Admin.Listen, DefaultAdminListen)
	c.Admin.SessionTTL = orDur(c.Admin.SessionTTL, DefaultSessionTTL)
	c.Storage.Driver = or(c.Storage.Driver, "sqlite")
	c.Storage.applyRetentionDefaults()
	if c.Storage.Driver == "sqlite" {
		dsn := or(c.Storage.DSN.Reveal(), "data/bankbot.db")
		if dsn != ":memory:" && !filepath.IsAbs(dsn) {
			dsn = filepath.Join(baseDir, dsn)
		}
		c.Storage.DSN = Secret(dsn)
	}
	c.Timezone = or(c.Timezone, DefaultTimezone)
	c.Language = or(c.Language, DefaultLanguage)
	c.Log.Level = or(c.Log.Level, "info")
	c.Log.Format = or(c.Log.Format, "json")
	d := &c.Delivery
	d.Retry.Initial = orDur(d.Retry.Initial, DefaultRetryInitial)
	d.Retry.MaxInterval = orDur(d.Retry.MaxInterval, DefaultRetryMax)
	if d.Retry.MaxAttempts == 0 {
		d.Retry.MaxAttempts = DefaultRetryAttempts
	}
	d.Retry.MaxAge = orDur(d.Retry.MaxAge, DefaultRetryMaxAge)
	d.Lease = orDur(d.Lease, DefaultLease)
	d.PollInterval = orDur(d.PollInterval, DefaultPollInterval)
	if c.Chatops != nil {
		c.Chatops.Mode = or(c.Chatops.Mode, ChatModeCallback)
		c.Chatops.Language = or(c.Chatops.Language, c.Language)
	}
	for _, src := range c.Sources {
		if src != nil {
			src.MaxSkew = orDur(src.MaxSkew, DefaultMaxSkew)
			if src.Confirm != nil {
				src.Confirm.Timeout = orDur(src.Confirm.Timeout, confirm.DefaultTimeout)
			}
		}
	}
	for _, r := range c.Robots {
		if r == nil {
			continue
		}
		r.Type = or(r.Type, "custom")
		if r.RatePerMinute == 0 {
			r.RatePerMinute = DefaultRatePerMinute
		}
		r.Timeout = orDur(r.Timeout, DefaultRobotTimeout)
		for i, k := range r.Keywords {
			r.Keywords[i] = strings.TrimSpace(k)
		}
		if r.Type == "app" {
			r.APIBase = or(r.APIBase, DefaultAppAPIBase)
		}
	}
	for _, rt := range c.Routes {
		if rt == nil {
			continue
		}
		rt.Template = or(rt.Template, DefaultTemplate)
		rt.Language = or(rt.Language, c.Language)
	}
	for _, sc := range c.Schedules {
		if sc != nil {
			sc.Language = or(sc.Language, c.Language)
		}
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

func (c *Config) validate(ps *problems) {
	c.validateServer(ps)
	if loc, err := time.LoadLocation(c.Timezone); err != nil {
		ps.add("timezone", "unknown time zone %q (use an IANA name such as Asia/Bangkok)", c.Timezone)
	} else {
		c.Location = loc
	}
	checkLanguage(ps, "language", c.Language)
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		ps.add("log.level", "must be one of debug, info, warn, error (got %q)", c.Log.Level)
	}
	if !slices.Contains([]string{"json", "text"}, c.Log.Format) {
		ps.add("log.format", "must be json or text (got %q)", c.Log.Format)
	}
	c.validateDelivery(ps)
	for _, name := range sortedKeysOf(c.Sources) {
		c.validateSource(ps, name, c.Sources[name])
	}
	for _, name := range sortedKeysOf(c.Robots) {
		c.validateRobot(ps, name, c.Robots[name])
	}
	names := map[string]bool{}
	for i, rt := range c.Routes {
		c.validateRoute(ps, index("routes", i), rt, names)
	}
	c.validateChatops(ps)
	scheduleNames := map[string]bool{}
	for i, sc := range c.Schedules {
		c.validateSchedule(ps, index("schedules", i), sc, scheduleNames)
	}
}

func (c *Config) validateServer(ps *problems) {
	checkListen(ps, "server.listen", c.Server.Listen)
	checkListen(ps, "admin.listen", c.Admin.Listen)
	c.validateConsole(ps)
	if c.Server.MaxBodyBytes < 1024 {
		ps.add("server.max_body_bytes", "must be at least 1024 (got %d)", c.Server.MaxBodyBytes)
	}
	if c.Server.MaxConnections < 1 {
		ps.add("server.max_connections", "must be at least 1 (got %d)", c.Server.MaxConnections)
	}
	for i, p := range c.Server.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			ps.add(index("server.trusted_proxies", i), "%v", err)
		}
	}
	for key, d := range map[string]time.Duration{
		"server.read_header_timeout": c.Server.ReadHeaderTimeout, "server.read_timeout": c.Server.ReadTimeout,
		"server.write_timeout": c.Server.WriteTimeout, "server.idle_timeout": c.Server.IdleTimeout,
	} {
		if d < 0 {
			ps.add(key, "must not be negative")
		}
	}
	switch c.Storage.Driver {
	case "sqlite":
	case "postgres":
		if c.Storage.DSN == "" {
			ps.add("storage.dsn", "required for the postgres driver (postgres://user:pass@host:5432/db)")
		} else if u, err := url.Parse(c.Storage.DSN.Reveal()); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			if !strings.Contains(c.Storage.DSN.Reveal(), "=") { // key=value DSNs are valid too
				ps.add("storage.dsn", "not a PostgreSQL URL (postgres://user:pass@host:5432/db) or key=value DSN")
			}
		}
	default:
		ps.add("storage.driver", "must be sqlite or postgres (got %q)", c.Storage.Driver)
	}
	c.Storage.validateRetention(ps)
}

func checkListen(ps *problems, path, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		ps.add(path, "not a host:port address (e.g. :8080 or 127.0.0.1:9090): %q", addr)
	}
}

func checkLanguage(ps *problems, path, lang string) {
	if !render.ValidLanguage(lang) {
		ps.add(path, "must be one of %s (got %q)", strings.Join(render.Languages(), ", "), lang)
	}
}

// ParsePrefix parses a CIDR, or a bare IP as a one-address prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("not a CIDR or IP address: %q", s)
}

func (c *Config) validateDelivery(ps *problems) {
	r := c.Delivery.Retry
	if r.Initial <= 0 {
		ps.add("delivery.retry.initial", "must be positive")
	}
	if r.MaxInterval < r.Initial {
		ps.add("delivery.retry.max_interval", "must be at least delivery.retry.initial (%s)", r.Initial)
	}
	if r.MaxAttempts < 1 {
		ps.add("delivery.retry.max_attempts", "must be at least 1")
	}
	if r.MaxAge <= 0 {
		ps.add("delivery.retry.max_age", "must be positive")
	}
	if c.Delivery.Lease < 5*time.Second {
		ps.add("delivery.lease", "must be at least 5s, longer than one send attempt")
	}
	if c.Delivery.PollInterval <= 0 {
		ps.add("delivery.poll_interval", "must be positive")
	}
}

func (c *Config) validateSource(ps *problems, name string, src *Source) {
	p := join("sources", name)
	if !nameRE.MatchString(name) {
		ps.add(p, "source names are used in the URL /hooks/{name}: use lowercase letters, digits, - and _")
	}
	if src == nil {
		ps.add(p, "empty source: give at least provider and secrets")
		return
	}
	var prov bankhooks.Provider
	ok := false
	switch {
	case src.Provider == "":
		ps.add(join(p, "provider"), "required (one of %s)", strings.Join(ProviderNames(), ", "))
	case src.Provider == GenericProvider:
		var err error
		if prov, err = src.BuildProvider(); err != nil {
			schemeProblems(ps, p, err)
		} else {
			ok = true
		}
	default:
		prov, ok = bankhooks.Lookup(src.Provider)
		switch {
		case !ok:
			ps.add(join(p, "provider"), "unknown provider %q (available: %s)", src.Provider, strings.Join(ProviderNames(), ", "))
		}
	}
	if src.Signature != nil || src.Event != nil {
		if src.Provider != GenericProvider {
			ps.add(p, "signature and event are only for provider: generic")
		}
	}
	unsigned := src.Algorithm() == "none"
	if unsigned && len(src.AllowIPs) == 0 {
		ps.add(join(p, "signature.algorithm"), "none verifies nothing: it is only accepted together with a non-empty allow_ips (the sender's addresses)")
	}
	if len(src.Secrets) == 0 && !unsigned {
		ps.add(join(p, "secrets"), "at least one secret is required: bankbot never accepts unsigned webhooks")
	}
	for i, s := range src.Secrets {
		sp := index(join(p, "secrets"), i)
		if s == nil {
			continue // reported by readFiles
		}
		if s.Value == "" && s.ValueFile == "" {
			ps.add(sp, "give value or value_file")
		} else if s.Value != "" && ok {
			if _, err := prov.DecodeKey(s.Value.Reveal()); err != nil {
				field := "value"
				if s.ValueFile != "" {
					field = "value_file"
				}
				ps.add(join(sp, field), "%v", err)
			}
		}
		if s.Expires != "" {
			t, err := time.Parse(time.RFC3339, s.Expires)
			if err != nil {
				ps.add(join(sp, "expires"), "not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z): %q", s.Expires)
			} else {
				s.ExpiresAt = t
			}
		}
	}
	if src.MaxSkew < 0 {
		ps.add(join(p, "max_skew"), "must not be negative")
	}
	if src.SilenceAfter < 0 {
		ps.add(join(p, "silence_after"), "must not be negative")
	}
	if src.SilenceHours != nil {
		validateSilenceHours(ps, join(p, "silence_hours"), src.SilenceHours)
	}
	for i, ip := range src.AllowIPs {
		if _, err := ParsePrefix(ip); err != nil {
			ps.add(index(join(p, "allow_ips"), i), "%v", err)
		}
	}
	if src.Confirm != nil {
		validateConfirm(ps, join(p, "confirm"), src.Provider, src.Confirm)
	}
}

// weekdays are the day names silence_hours.days takes.
var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// validateSilenceHours checks and parses a source's business hours.
func validateSilenceHours(ps *problems, p string, h *SilenceHours) {
	h.Weekdays = map[time.Weekday]bool{}
	for i, d := range h.Days {
		wd, ok := weekdays[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			ps.add(index(join(p, "days"), i), "not a weekday (mon tue wed thu fri sat sun): %q", d)
			continue
		}
		h.Weekdays[wd] = true
	}
	if len(h.Days) == 0 {
		for _, wd := range weekdays {
			h.Weekdays[wd] = true
		}
	}
	from, okF := clockMinutes(h.From)
	if !okF || from == 24*60 {
		ps.add(join(p, "from"), "not a time of day HH:MM from 00:00 to 23:59 (got %q)", h.From)
	}
	to, okT := clockMinutes(h.To)
	if !okT {
		ps.add(join(p, "to"), "not a time of day HH:MM from 00:01 to 24:00 (got %q)", h.To)
	}
	if okF && okT && to <= from {
		ps.add(join(p, "to"), "must be after from (%s); hours that cross midnight are two days' hours", h.From)
	}
	h.FromMin, h.ToMin = from, to
}

// clockMinutes parses "HH:MM" (00:00 to 24:00) into minutes since midnight.
func clockMinutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	hh, err1 := strconv.Atoi(s[:2])
	mm, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

// validateConfirm checks a source's confirm block.
func validateConfirm(ps *problems, p, provider string, c *Confirm) {
	if !confirm.Supports(provider) {
		ps.add(p, "provider %q cannot confirm events through its API (confirm is available for: %s)", provider, strings.Join(confirm.Providers(), ", "))
	}
	if c.APIBase == "" {
		ps.add(join(p, "api_base"), "required: the provider's API root URL (e.g. https://api.omise.co)")
	} else if err := confirm.CheckAPIBase(c.APIBase); err != nil {
		ps.add(join(p, "api_base"), "%v", err)
	}
	if c.APIKey == "" {
		ps.add(join(p, "api_key"), "required: the API's secret key (Opn skey_…, Midtrans server key), e.g. ${OPN_SECRET_KEY}")
	}
	if c.Timeout < 0 {
		ps.add(join(p, "timeout"), "must not be negative")
	}
}

func (c *Config) validateRobot(ps *problems, name string, r *Robot) {
	p := join("robots", name)
	if !nameRE.MatchString(name) {
		ps.add(p, "robot names: use lowercase letters, digits, - and _")
	}
	if r == nil {
		ps.add(p, "empty robot: give a webhook, or type: console")
		return
	}
	switch r.Type {
	case "custom":
		checkWebhook(ps, join(p, "webhook"), r.Webhook.Reveal())
		if r.AppKey != "" || r.AppSecret != "" || r.RobotCode != "" || r.ConversationID != "" {
			ps.add(p, "app_key, app_secret, robot_code and conversation_id are for type: app")
		}
		if s := r.Secret.Reveal(); s != "" && !strings.HasPrefix(s, "SEC") {
			ps.add(join(p, "secret"), "a DingTalk signing secret starts with SEC (copy it from the robot's 加签 setting)")
		}
	case "app":
		for key, v := range map[string]string{"app_key": r.AppKey, "app_secret": r.AppSecret.Reveal(), "robot_code": r.RobotCode, "conversation_id": r.ConversationID} {
			if v == "" {
				ps.add(join(p, key), "required for type: app")
			}
		}
		if u, err := url.Parse(r.APIBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			ps.add(join(p, "api_base"), "not an http(s) URL: %q", r.APIBase)
		}
	case "console":
	default:
		ps.add(join(p, "type"), "must be custom, app or console (got %q)", r.Type)
	}
	if r.SecretExpires != "" {
		t, err := time.Parse(time.RFC3339, r.SecretExpires)
		switch {
		case err != nil:
			ps.add(join(p, "secret_expires"), "not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z): %q", r.SecretExpires)
		case r.ExpiringSecret() == "":
			ps.add(join(p, "secret_expires"), "the robot has no secret to expire (secret for type: custom, app_secret for type: app)")
		default:
			r.SecretExpiresAt = t
		}
	}
	if len(r.Keywords) > maxKeywords {
		ps.add(join(p, "keywords"), "at most %d keywords: DingTalk's keyword security allows %d (got %d)", maxKeywords, maxKeywords, len(r.Keywords))
	}
	for i, k := range r.Keywords {
		if k == "" {
			ps.add(index(join(p, "keywords"), i), "empty keyword: every message must contain one of the robot's keywords as set in DingTalk")
		}
	}
	if r.Proxy != "" {
		checkProxy(ps, join(p, "proxy"), r.Proxy.Reveal())
	}
	if r.RatePerMinute < 1 || r.RatePerMinute > 20 {
		ps.add(join(p, "rate_per_minute"), "must be 1..20: DingTalk blocks a robot for 10 minutes above 20 messages a minute (got %d)", r.RatePerMinute)
	}
	if r.Timeout <= 0 {
		ps.add(join(p, "timeout"), "must be positive")
	} else if r.Type != "console" && 2*r.Timeout > c.Delivery.Lease {
		ps.add(join(p, "timeout"), "must be at most half of delivery.lease (%s), so a send always ends inside its lease", c.Delivery.Lease)
	}
}

// maxKeywords is how many keywords DingTalk's keyword security takes.
const maxKeywords = 10

// checkProxy checks an outbound proxy URL. Its problems never quote the URL
// or any part of it: it may carry a user name and password.
func checkProxy(ps *problems, path, raw string) {
	const example = "e.g. http://proxy.internal:3128 or socks5://user:pass@proxy.internal:1080"
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		ps.add(path, "not a URL (%s)", example)
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5":
		ps.add(path, "the scheme must be http, https or socks5 (%s)", example)
	case u.Hostname() == "":
		ps.add(path, "has no host (%s)", example)
	}
}

func checkWebhook(ps *problems, path, raw string) {
	if raw == "" {
		ps.add(path, "required: the robot's webhook URL (https://oapi.dingtalk.com/robot/send?access_token=…)")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		ps.add(path, "not an http(s) URL: %s", RedactURL(raw))
		return
	}
	if u.Query().Get("access_token") == "" {
		ps.add(path, "has no access_token query parameter: copy the whole webhook URL from the robot's settings")
	}
}

func (c *Config) validateRoute(ps *problems, p string, rt *Route, names map[string]bool) {
	if rt == nil {
		ps.add(p, "empty route")
		return
	}
	if rt.Name == "" {
		ps.add(join(p, "name"), "required (it names the route in logs, metrics and the outbox)")
	} else if names[rt.Name] {
		ps.add(join(p, "name"), "duplicate route name %q", rt.Name)
	}
	names[rt.Name] = true
	for i, s := range rt.Sources {
		if _, ok := c.Sources[s]; !ok {
			ps.add(index(join(p, "sources"), i), "%s", c.noSource(s))
		}
	}
	for i, k := range rt.Kinds {
		if !bankhooks.Kind(k).Valid() {
			ps.add(index(join(p, "kinds"), i), "unknown kind %q (kinds: %s)", k, kindList())
		}
	}
	checkMinAmount(ps, join(p, "min_amount"), rt.MinAmount)
	checkMinAmount(ps, join(p, "mention.min_amount"), rt.Mention.MinAmount)
	if rt.IsOps() {
		for _, k := range []struct {
			key string
			set bool
		}{
			{"sources", len(rt.Sources) > 0},
			{"kinds", len(rt.Kinds) > 0},
			{"min_amount", rt.MinAmount.set()},
			{"mention.min_amount", rt.Mention.MinAmount.set()},
		} {
			if k.set {
				ps.add(join(p, k.key), "the ops route takes bankbot's own alerts only; remove %s", k.key)
			}
		}
	}
	if rt.Robot == "" {
		ps.add(join(p, "robot"), "required")
	} else if _, ok := c.Robots[rt.Robot]; !ok {
		ps.add(join(p, "robot"), "%s", c.noRobot(rt.Robot))
	}
	if rt.Language != c.Language { // an inherited language is reported once, at language
		checkLanguage(ps, join(p, "language"), rt.Language)
	}
}

// noRobot says that no robot is named name and which robots there are.
func (c *Config) noRobot(name string) string {
	names := sortedKeysOf(c.Robots)
	if len(names) == 0 {
		return fmt.Sprintf("no robot named %q (the config has no robots: add one under robots)", name)
	}
	return fmt.Sprintf("no robot named %q (robots: %s)", name, strings.Join(names, ", "))
}

// noSource says that no source is named name and which sources there are.
func (c *Config) noSource(name string) string {
	names := sortedKeysOf(c.Sources)
	if len(names) == 0 {
		return fmt.Sprintf("no source named %q (the config has no sources)", name)
	}
	return fmt.Sprintf("no source named %q (sources: %s)", name, strings.Join(names, ", "))
}

var decimalRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// currencyRE is the form of an ISO 4217 alphabetic code.
var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// checkMinAmount checks a single amount, or each code and amount of a
// per-currency map (at path.THB, path.*).
func checkMinAmount(ps *problems, path string, m MinAmount) {
	checkDecimal(ps, path, m.All)
	for _, code := range sortedCurrencies(m.PerCurrency) {
		p := join(path, code)
		switch {
		case code == AnyCurrency:
		case !currencyRE.MatchString(code):
			ps.add(p, "not an ISO 4217 currency code (three letters such as THB) or %q for every currency not listed", AnyCurrency)
		default:
			if _, err := bankhooks.NormalizeCurrency(code); err != nil {
				ps.add(p, "unknown ISO 4217 currency code %q", code)
			}
		}
		if d := m.PerCurrency[code]; d == "" {
			ps.add(p, "no amount: give a non-negative decimal amount in major units (e.g. 1000 or 99.50)")
		} else {
			checkDecimal(ps, p, d)
		}
	}
}

func checkDecimal(ps *problems, path string, d Decimal) {
	if d != "" && !decimalRE.MatchString(string(d)) {
		ps.add(path, "not a non-negative decimal amount in major units (e.g. 1000 or 99.50): %q", string(d))
	}
}

func kindList() string {
	ks := make([]string, len(bankhooks.Kinds()))
	for i, k := range bankhooks.Kinds() {
		ks[i] = string(k)
	}
	return strings.Join(ks, ", ")
}

func (c *Config) validateChatops(ps *problems) {
	if c.Chatops == nil {
		return
	}
	r, ok := c.Robots[c.Chatops.Robot]
	switch {
	case c.Chatops.Robot == "":
		ps.add("chatops.robot", "required: the app robot whose @-messages are commands")
	case !ok:
		ps.add("chatops.robot", "%s", c.noRobot(c.Chatops.Robot))
	case r != nil && r.Type != "app":
		ps.add("chatops.robot", "robot %q is type %s; chat commands need an app robot (type: app)", c.Chatops.Robot, r.Type)
	}
	switch c.Chatops.Mode {
	case ChatModeCallback:
	case ChatModeStream:
		// The stream logs in with the app robot's credentials.
		if r != nil && r.Type == "app" && (r.AppKey == "" || r.AppSecret.Reveal() == "") {
			ps.add("chatops.mode", "stream needs the chat robot %q to have app_key and app_secret", c.Chatops.Robot)
		}
	default:
		ps.add("chatops.mode", "must be callback or stream (got %q)", c.Chatops.Mode)
	}
	checkLanguage(ps, "chatops.language", c.Chatops.Language)
	langOf := map[string]string{}
	for _, lang := range sortedKeysOf(c.Chatops.Languages) {
		p := "chatops.languages." + lang
		checkLanguage(ps, p, lang)
		for i, id := range c.Chatops.Languages[lang] {
			switch prev, dup := langOf[id]; {
			case strings.TrimSpace(id) == "" || strings.TrimSpace(id) != id:
				ps.add(index(p, i), "empty, or with spaces around it: %q", id)
			case dup && prev == lang:
				ps.add(index(p, i), "conversation %q is listed twice", id)
			case dup:
				ps.add(index(p, i), "conversation %q is also listed under %s; give it one language", id, prev)
			}
			langOf[id] = lang
		}
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"allowed_conversations", c.Chatops.AllowedConversations}, {"allowed_staff", c.Chatops.AllowedStaff}, {"admin_staff", c.Chatops.AdminStaff}} {
		for i, v := range l.list {
			if strings.TrimSpace(v) == "" || strings.TrimSpace(v) != v {
				ps.add(index("chatops."+l.key, i), "empty, or with spaces around it: %q", v)
			}
		}
	}
}

// scheduleName is what a schedule's name may hold: it keys its ticks in the
// store and labels its metrics.
var scheduleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (c *Config) validateSchedule(ps *problems, p string, sc *Schedule, names map[string]bool) {
	if sc == nil {
		ps.add(p, "empty schedule")
		return
	}
	switch {
	case sc.Name == "":
		ps.add(join(p, "name"), "required")
	case !scheduleName.MatchString(sc.Name):
		ps.add(join(p, "name"), "use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (got %q)", sc.Name)
	case names[sc.Name]:
		ps.add(join(p, "name"), "another schedule is named %q (each tick is kept by schedule name)", sc.Name)
	}
	names[sc.Name] = true
	if s, err := CronParser.Parse(sc.Cron); err != nil {
		ps.add(join(p, "cron"), "not a cron spec (minute hour day month weekday, e.g. \"0 18 * * *\"): %v", err)
	} else if every, ok := s.(cron.ConstantDelaySchedule); ok && every.Delay < time.Minute {
		// Each tick is a row in the store: a schedule runs at most once a
		// minute, as a 5-field spec does.
		ps.add(join(p, "cron"), "@every must be at least 1m (got %s)", every.Delay)
	}
	if !slices.Contains(Jobs(), sc.Job) {
		ps.add(join(p, "job"), "must be summary, watchdog, key_expiry or retention (got %q)", sc.Job)
	}
	for i, s := range sc.Sources {
		if _, ok := c.Sources[s]; !ok {
			ps.add(index(join(p, "sources"), i), "no source named %q is configured", s)
		}
	}
	if len(sc.Sources) > 0 && sc.Job != JobSummary && sc.Job != JobWatchdog {
		ps.add(join(p, "sources"), "only the summary and watchdog jobs take sources")
	}
	if sc.Robot != "" {
		if _, ok := c.Robots[sc.Robot]; !ok {
			ps.add(join(p, "robot"), "%s", c.noRobot(sc.Robot))
		}
	} else if sc.Job != "retention" {
		ps.add(join(p, "robot"), "required for job %s", sc.Job)
	}
	checkLanguage(ps, join(p, "language"), sc.Language)
}

// Warnings are facts an admin should hear about a valid config, such as a
// key that expires soon.
func (c *Config) Warnings(now time.Time) []string {
	var ws []string
	for _, name := range sortedKeysOf(c.Sources) {
		src := c.Sources[name]
		active := 0
		for i, s := range src.Secrets {
			p := index(join(join("sources", name), "secrets"), i)
			switch {
			case s.ExpiresAt.IsZero():
				active++
			case !now.Before(s.ExpiresAt):
				ws = append(ws, fmt.Sprintf("%s: expired at %s and is no longer accepted; remove it", p, s.ExpiresAt.Format(time.RFC3339)))
			default:
				active++
				if s.ExpiresAt.Sub(now) < 7*24*time.Hour {
					ws = append(ws, fmt.Sprintf("%s: expires at %s (in %s)", p, s.ExpiresAt.Format(time.RFC3339), s.ExpiresAt.Sub(now).Round(time.Minute)))
				}
			}
		}
		if active == 0 && len(src.Secrets) > 0 {
			ws = append(ws, fmt.Sprintf("sources.%s: every secret has expired: all its webhooks get 401", name))
		}
	}
	for _, name := range sortedKeysOf(c.Sources) {
		ws = append(ws, sourceSecretWarnings(name, c.Sources[name])...)
	}
	ws = append(ws, c.routingWarnings()...)
	for _, name := range sortedKeysOf(c.Robots) {
		r := c.Robots[name]
		if r == nil {
			continue
		}
		if t := r.SecretExpiresAt; !t.IsZero() {
			switch {
			case !now.Before(t):
				ws = append(ws, fmt.Sprintf("robots.%s.secret_expires: expired at %s; DingTalk refuses the robot's messages once its secret is gone: set the new secret", name, t.Format(time.RFC3339)))
			case t.Sub(now) < 7*24*time.Hour:
				ws = append(ws, fmt.Sprintf("robots.%s.secret_expires: expires at %s (in %s)", name, t.Format(time.RFC3339), t.Sub(now).Round(time.Minute)))
			}
		}
		if r.Type == "custom" && r.Secret == "" && len(r.Keywords) == 0 {
			ws = append(ws, fmt.Sprintf("robots.%s.secret: not set; DingTalk then needs a keyword or IP allowlist on the robot", name))
		}
		if r.Type == "custom" && insecureURL(r.Webhook.Reveal()) {
			ws = append(ws, fmt.Sprintf("robots.%s.webhook: uses http://, so the access_token and every message cross the network unencrypted; use the https:// URL from the robot's settings", name))
		}
		if r.Type == "app" && insecureURL(r.APIBase) {
			ws = append(ws, fmt.Sprintf("robots.%s.api_base: uses http://, so the app's access token and every message cross the network unencrypted; use https://", name))
		}
	}
	ws = append(ws, c.scheduleWarnings(now)...)
	if c.Chatops != nil && len(c.Chatops.AllowedConversations) == 0 {
		ws = append(ws, "chatops.allowed_conversations: empty, so chat commands show no amounts or references anywhere (help answers with each group's conversation id)")
	}
	return ws
}

// scheduleWarnings names the configured keys that are not active because no
// schedule runs the job that reads them, and the scheduled jobs that have
// nothing to do. Keys already expired at now are left to the warnings about
// them.
func (c *Config) scheduleWarnings(now time.Time) []string {
	var ws []string
	jobs := map[string]int{} // job -> index of its first schedule
	watchAll, watched := false, map[string]bool{}
	for i, sc := range c.Schedules {
		if sc == nil {
			continue
		}
		if _, ok := jobs[sc.Job]; !ok {
			jobs[sc.Job] = i
		}
		if sc.Job == JobWatchdog {
			watchAll = watchAll || len(sc.Sources) == 0
			for _, s := range sc.Sources {
				watched[s] = true
			}
		}
	}
	_, watchdog := jobs[JobWatchdog]
	_, keyExpiry := jobs[JobKeyExpiry]
	silent, expiring := false, false
	for _, name := range sortedKeysOf(c.Sources) {
		src := c.Sources[name]
		if src == nil {
			continue
		}
		p := join("sources", name)
		switch {
		case src.SilenceAfter <= 0:
			if src.SilenceHours != nil {
				ws = append(ws, fmt.Sprintf("%s.silence_hours: not active: the source sets no silence_after", p))
			}
		case !watchdog:
			ws = append(ws, fmt.Sprintf("%s.silence_after: not active: no schedule runs the watchdog job, so no alert comes when the source goes quiet (add a schedule with job: watchdog, e.g. cron \"*/5 * * * *\")", p))
		case !watchAll && !watched[name]:
			ws = append(ws, fmt.Sprintf("%s.silence_after: not active: no watchdog schedule lists %s in its sources", p, name))
		default:
			silent = true
		}
		for i, s := range src.Secrets {
			if s == nil || s.ExpiresAt.IsZero() || !now.Before(s.ExpiresAt) {
				continue
			}
			expiring = true
			if !keyExpiry {
				ws = append(ws, fmt.Sprintf("%s: no reminder comes before the key expires: no schedule runs the key_expiry job (the log and config check still warn in its last 7 days)", join(index(join(p, "secrets"), i), "expires")))
			}
		}
	}
	for _, name := range sortedKeysOf(c.Robots) {
		r := c.Robots[name]
		if r == nil || r.SecretExpiresAt.IsZero() || !now.Before(r.SecretExpiresAt) {
			continue
		}
		expiring = true
		if !keyExpiry {
			ws = append(ws, fmt.Sprintf("robots.%s.secret_expires: not active: no schedule runs the key_expiry job, so no reminder comes before the secret expires", name))
		}
	}
	if _, ok := jobs[JobRetention]; !ok && c.Storage.retentionSet {
		ws = append(ws, "storage.retention: not active: no schedule runs the retention job, so nothing is purged and the store keeps every raw body (add a schedule with job: retention, e.g. cron \"30 3 * * *\", or run `bankbot storage purge`)")
	}
	if i, ok := jobs[JobWatchdog]; ok && !silent {
		ws = append(ws, fmt.Sprintf("%s: the watchdog job watches no source: set silence_after on the sources to watch", index("schedules", i)))
	}
	if i, ok := jobs[JobKeyExpiry]; ok && !expiring {
		ws = append(ws, fmt.Sprintf("%s: the key_expiry job has nothing to remind of: no source secret sets expires and no robot sets secret_expires", index("schedules", i)))
	}
	return ws
}

// sourceSecretWarnings warns about secrets that verify webhooks but are
// unlikely to be the provider's signing secret.
func sourceSecretWarnings(name string, src *Source) []string {
	if src == nil {
		return nil
	}
	var ws []string
	for i, s := range src.Secrets {
		if s == nil || s.Value == "" {
			continue
		}
		p := index(join(join("sources", name), "secrets"), i)
		field := "value"
		if s.ValueFile != "" {
			field = "value_file"
		}
		p = join(p, field)
		v := s.Value.Reveal()
		switch src.Provider {
		case "stripe":
			switch {
			case strings.HasPrefix(v, "whsec_"):
			case strings.HasPrefix(v, "sk_"), strings.HasPrefix(v, "rk_"), strings.HasPrefix(v, "pk_"):
				ws = append(ws, fmt.Sprintf("%s: this is a Stripe API key (%s…), not a webhook signing secret: every webhook will get 401; copy the endpoint's signing secret (whsec_…) from the Stripe dashboard (Developers → Webhooks) and revoke the exposed key", p, v[:3]))
			default:
				ws = append(ws, fmt.Sprintf("%s: a Stripe webhook signing secret starts with whsec_; copy the endpoint's signing secret from the Stripe dashboard (Developers → Webhooks)", p))
			}
		case "standardwebhooks":
			if !strings.HasPrefix(v, "whsec_") {
				ws = append(ws, fmt.Sprintf("%s: a Standard Webhooks secret is usually written whsec_ followed by base64; check that this is the endpoint's signing secret", p))
			}
		}
	}
	return ws
}

// routingWarnings warns about a config that receives events it never sends:
// no robots, no routes for bank events, or a source that no route takes.
func (c *Config) routingWarnings() []string {
	var ws []string
	if len(c.Robots) == 0 {
		ws = append(ws, "robots: none configured; bankbot can send nothing to DingTalk (add a robot, or one with type: console to try it out)")
	}
	taken := map[string]bool{}
	all, bankRoutes := false, 0
	for _, rt := range c.Routes {
		if rt == nil || rt.IsOps() { // the ops route takes no bank events
			continue
		}
		bankRoutes++
		if len(rt.Sources) == 0 {
			all = true
		}
		for _, s := range rt.Sources {
			taken[s] = true
		}
	}
	switch {
	case len(c.Routes) == 0:
		ws = append(ws, "routes: none configured; webhooks are received and checked but no message is sent")
	case bankRoutes == 0:
		ws = append(ws, "routes: only the ops route, which takes bankbot's own alerts; webhooks are received and checked but no message is sent")
	case !all:
		for _, name := range sortedKeysOf(c.Sources) {
			if !taken[name] {
				ws = append(ws, fmt.Sprintf("sources.%s: no route takes its events; add %s to a route's sources (or leave a route's sources empty to take every source)", name, name))
			}
		}
	}
	return ws
}

// insecureURL reports whether raw is a plain http:// URL to a host other
// than this machine (tests and local fakes use http://127.0.0.1).
func insecureURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return false
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return false
	}
	return true
}

// validateConsole checks the web console's keys (admin.viewer_token,
// admin.session_ttl).
func (c *Config) validateConsole(ps *problems) {
	a := c.Admin
	if a.ViewerToken != "" && a.Token == "" {
		ps.add("admin.viewer_token", "needs admin.token: the console is on only when admin.token is set")
	}
	if a.ViewerToken != "" && subtle.ConstantTimeCompare([]byte(a.ViewerToken.Reveal()), []byte(a.Token.Reveal())) == 1 {
		ps.add("admin.viewer_token", "must differ from admin.token (a viewer would sign in as admin)")
	}
	if a.SessionTTL < time.Minute || a.SessionTTL > 30*24*time.Hour {
		ps.add("admin.session_ttl", "must be between 1m and 720h (got %s)", a.SessionTTL)
	}
}
