// Package config loads, expands and validates bankbot's config.yaml.
//
// Loading is strict: an unknown key is an error naming its path, every
// problem is reported with its key path (sources.opn.secrets[1].expires: not
// an RFC 3339 time), `${VAR}` and `${VAR:-default}` take values from the
// environment per field (never by expanding the file as text), and
// `value_file` reads a secret from a file. Load never touches global state,
// so reload can decode into a fresh Config and throw it away if it is bad.
package config

import (
	"time"

	"github.com/robfig/cron/v3"
)

// Defaults for keys an admin may leave out.
const (
	DefaultListen         = ":8080"
	DefaultAdminListen    = "127.0.0.1:9090"
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxConnections = 1024 // server.max_connections
	DefaultTimezone       = "Asia/Bangkok"
	DefaultLanguage       = "th"
	DefaultMaxSkew        = 5 * time.Minute
	DefaultRatePerMinute  = 20
	DefaultRobotTimeout   = 10 * time.Second
	DefaultTemplate       = "default"
	DefaultAppAPIBase     = "https://api.dingtalk.com"
	DefaultRetryInitial   = time.Second
	DefaultRetryMax       = 5 * time.Minute
	DefaultRetryAttempts  = 20
	DefaultRetryMaxAge    = 24 * time.Hour
	DefaultLease          = 60 * time.Second
	DefaultPollInterval   = time.Second
	DefaultReloadInterval = 500 * time.Millisecond
	DefaultShutdown       = 15 * time.Second
	DefaultSessionTTL     = 12 * time.Hour
)

// Config is the whole of config.yaml.
type Config struct {
	Server    Server    `mapstructure:"server"`
	Admin     Admin     `mapstructure:"admin"`
	Storage   Storage   `mapstructure:"storage"`
	Timezone  string    `mapstructure:"timezone"`
	Language  string    `mapstructure:"language"`
	Log       Log       `mapstructure:"log"`
	Templates Templates `mapstructure:"templates"`
	// TemplatesDir is another name of templates.dir (the key the product
	// brief uses); giving both, different, is a problem.
	TemplatesDir string             `mapstructure:"templates_dir"`
	Delivery     Delivery           `mapstructure:"delivery"`
	Sources      map[string]*Source `mapstructure:"sources"`
	Robots       map[string]*Robot  `mapstructure:"robots"`
	Routes       []*Route           `mapstructure:"routes"`
	Chatops      *Chatops           `mapstructure:"chatops"`
	Schedules    []*Schedule        `mapstructure:"schedules"`

	// Path is the file the config was loaded from (not a key).
	Path string `mapstructure:"-"`
	// Hash identifies the config file and every file it reads (value_file,
	// templates.dir): reload is a no-op when it has not changed.
	Hash string `mapstructure:"-"`
	// Location is Timezone, loaded.
	Location *time.Location `mapstructure:"-"`
}

// Server is the webhook listener.
type Server struct {
	Listen            string        `mapstructure:"listen"`
	MaxBodyBytes      int64         `mapstructure:"max_body_bytes"`
	TrustedProxies    []string      `mapstructure:"trusted_proxies"`
	MaxConnections    int           `mapstructure:"max_connections"` // concurrent webhook connections, idle keep-alive ones too; more wait to be accepted
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	ReadTimeout       time.Duration `mapstructure:"read_timeout"`
	WriteTimeout      time.Duration `mapstructure:"write_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout"`
}

// Admin is the admin listener (health, metrics, status, reload).
type Admin struct {
	Listen string `mapstructure:"listen"`
	// Token guards /admin/, /admin/reload and the web console (/ui/);
	// empty disables them.
	Token Secret `mapstructure:"token"`
	// ViewerToken signs in to the web console read-only (finance staff who
	// look but do not act); empty: only the admin token signs in.
	ViewerToken Secret `mapstructure:"viewer_token"`
	// SessionTTL is how long a console sign-in lasts.
	SessionTTL time.Duration `mapstructure:"session_ttl"`
}

// Storage selects the database.
type Storage struct {
	Driver string `mapstructure:"driver"` // sqlite | postgres
	// DSN is a file path for sqlite (relative to the config file) or a
	// PostgreSQL URL; it may hold a password, so it is a Secret.
	DSN Secret `mapstructure:"dsn"`
	// Retention is how long raw webhook bodies, delivery attempts and chat
	// callback ids and audit are kept ("90d" or a Go duration; default
	// 90 days); the retention job purges what is older (store.Purge).
	// Canonical events and totals are kept for ever.
	Retention Period `mapstructure:"retention"`
	// RetentionBatch is how many rows one purge transaction changes
	// (default 20).
	RetentionBatch int `mapstructure:"retention_batch"`
	// retentionSet: the file sets retention or retention_batch (the
	// warnings say when no schedule makes them active).
	retentionSet, retentionDefaulted bool
}

// Log configures logging.
type Log struct {
	Level  string `mapstructure:"level"`  // debug | info | warn | error
	Format string `mapstructure:"format"` // json | text
}

// Templates points at admin-supplied templates that override or add to the
// embedded ones.
type Templates struct {
	Dir string `mapstructure:"dir"`
}

// Delivery tunes the outbox workers.
type Delivery struct {
	Retry        Retry         `mapstructure:"retry"`
	Lease        time.Duration `mapstructure:"lease"`
	PollInterval time.Duration `mapstructure:"poll_interval"`
}

// Retry is the delivery retry budget: exponential backoff from Initial,
// doubling, ±50 % jitter, each wait capped at MaxInterval, dead-lettered after
// MaxAttempts attempts or MaxAge since the delivery was created.
type Retry struct {
	Initial     time.Duration `mapstructure:"initial"`
	MaxInterval time.Duration `mapstructure:"max_interval"`
	MaxAttempts int           `mapstructure:"max_attempts"`
	MaxAge      time.Duration `mapstructure:"max_age"`
}

// Source is one webhook sender: POST /hooks/{name}.
type Source struct {
	Provider string        `mapstructure:"provider"`
	Secrets  []*SecretRef  `mapstructure:"secrets"`
	MaxSkew  time.Duration `mapstructure:"max_skew"`
	AllowIPs []string      `mapstructure:"allow_ips"`
	// SilenceAfter is how long the source may receive nothing before a
	// watchdog schedule alerts (0 = never).
	SilenceAfter time.Duration `mapstructure:"silence_after"`
	// SilenceHours, when set, are the source's business hours: only time
	// inside them counts toward SilenceAfter (a bank that rests at night
	// or on weekends is not silent then).
	SilenceHours *SilenceHours `mapstructure:"silence_hours"`
	Signature    *Signature    `mapstructure:"signature"`
	Event        *EventMapping `mapstructure:"event"`
	// Confirm, when set, confirms every money event of the source through
	// the provider's API before it is routed (bot/confirm).
	Confirm *Confirm `mapstructure:"confirm"`
}

// SilenceHours are a source's business hours, in the config's timezone:
// the listed weekdays, From to To (HH:MM, To after From; "24:00" is the end
// of the day).
type SilenceHours struct {
	Days []string `mapstructure:"days"` // mon tue wed thu fri sat sun; empty = every day
	From string   `mapstructure:"from"`
	To   string   `mapstructure:"to"`

	// Weekdays, FromMin and ToMin are Days, From and To parsed: FromMin and
	// ToMin are minutes since midnight.
	Weekdays map[time.Weekday]bool `mapstructure:"-"`
	FromMin  int                   `mapstructure:"-"`
	ToMin    int                   `mapstructure:"-"`
}

// Confirm is a source's confirmation through its provider's API.
type Confirm struct {
	// APIBase is the API's root URL, e.g. https://api.omise.co.
	APIBase string `mapstructure:"api_base"`
	// APIKey is the API's secret key (Opn skey_…, Midtrans server key).
	APIKey Secret `mapstructure:"api_key"`
	// Timeout bounds one request to the API (default 10s).
	Timeout time.Duration `mapstructure:"timeout"`
}

// SecretRef is one verification key of a source.
type SecretRef struct {
	Value     Secret `mapstructure:"value"`
	ValueFile string `mapstructure:"value_file"`
	Expires   string `mapstructure:"expires"`

	// ExpiresAt is Expires, parsed; zero when unset.
	ExpiresAt time.Time `mapstructure:"-"`
}

// Signature describes a generic provider's signing scheme.
type Signature struct {
	Header          string `mapstructure:"header"`
	BodyField       string `mapstructure:"body_field"`
	Format          string `mapstructure:"format"`
	Prefix          string `mapstructure:"prefix"`
	Algorithm       string `mapstructure:"algorithm"`
	KeyEncoding     string `mapstructure:"key_encoding"`
	Encoding        string `mapstructure:"encoding"`
	Signed          string `mapstructure:"signed"`
	TimestampHeader string `mapstructure:"timestamp_header"`
	TimestampUnit   string `mapstructure:"timestamp_unit"`
	IDHeader        string `mapstructure:"id_header"`
	Version         string `mapstructure:"version"`       // space-list version tag / kv signature key (v1)
	TimestampKey    string `mapstructure:"timestamp_key"` // kv timestamp key (t)
}

// EventMapping maps a generic provider's body onto the canonical event.
type EventMapping struct {
	ID             string      `mapstructure:"id"`
	Type           string      `mapstructure:"type"`
	Kind           KindMapping `mapstructure:"kind"`
	Amount         string      `mapstructure:"amount"`
	AmountUnit     string      `mapstructure:"amount_unit"`
	Currency       string      `mapstructure:"currency"`
	Reference      string      `mapstructure:"reference"`
	Account        string      `mapstructure:"account"`
	Counterparty   string      `mapstructure:"counterparty"`
	Description    string      `mapstructure:"description"`
	FailureCode    string      `mapstructure:"failure_code"`
	FailureMessage string      `mapstructure:"failure_message"`
	OccurredAt     string      `mapstructure:"occurred_at"`
}

// KindMapping is the JSON path of a generic event's status and how its values
// map to canonical kinds. Map keys are matched case-insensitively.
type KindMapping struct {
	Path string            `mapstructure:"path"`
	Map  map[string]string `mapstructure:"map"`
}

// Robot is one DingTalk robot.
type Robot struct {
	// Type is custom (group robot with webhook + secret; the default), app
	// (enterprise app robot) or console (writes messages to the log).
	Type          string        `mapstructure:"type"`
	Webhook       Secret        `mapstructure:"webhook"`
	Secret        Secret        `mapstructure:"secret"`
	RatePerMinute int           `mapstructure:"rate_per_minute"`
	Timeout       time.Duration `mapstructure:"timeout"`
	// Keywords are the robot's DingTalk keyword security setting (自定义关键词):
	// DingTalk refuses a message that contains none of them, so every message
	// to this robot must contain one. At most 10; each is trimmed of spaces.
	Keywords []string `mapstructure:"keywords"`
	// Proxy is the outbound proxy for this robot's requests
	// (http://host:3128, https://…, socks5://user:pass@host:1080); empty
	// means HTTPS_PROXY/NO_PROXY from the environment. It may hold a
	// password, so it is a Secret.
	Proxy Secret `mapstructure:"proxy"`
	// App robots.
	AppKey         string `mapstructure:"app_key"`
	AppSecret      Secret `mapstructure:"app_secret"`
	RobotCode      string `mapstructure:"robot_code"`
	ConversationID string `mapstructure:"conversation_id"`
	APIBase        string `mapstructure:"api_base"`
	// SecretExpires is when the robot's signing secret (custom) or app
	// secret (app) expires, RFC 3339; a key_expiry schedule reminds before.
	SecretExpires string `mapstructure:"secret_expires"`

	// SecretExpiresAt is SecretExpires, parsed; zero when unset.
	SecretExpiresAt time.Time `mapstructure:"-"`
}

// ExpiringSecret is the secret robots.*.secret_expires is about: the
// signing secret of a custom robot, the app secret of an app robot (empty
// when the robot has none).
func (r *Robot) ExpiringSecret() Secret {
	switch r.Type {
	case "custom":
		return r.Secret
	case "app":
		return r.AppSecret
	}
	return ""
}

// OpsRouteName is the name of the route reserved for bankbot's own
// operational alerts.
const OpsRouteName = "ops"

// Route sends matching events to a robot: an event matches when its source
// is in Sources (empty = every source), its kind in Kinds (empty = every
// kind) and its amount reaches MinAmount.
//
// The route named "ops" (OpsRouteName) is reserved for bankbot's own
// operational alerts: dead letters, a robot misconfigured or paused by
// DingTalk's rate limit. It receives no bank events, so it must not set
// sources, kinds, min_amount or mention.min_amount; its robot, template,
// language and mention otherwise work as for any route.
type Route struct {
	Name    string   `mapstructure:"name"`
	Sources []string `mapstructure:"sources"`
	Kinds   []string `mapstructure:"kinds"`
	// MinAmount is the smallest amount the route takes, in major units of
	// the event's currency, one for all currencies or per currency.
	MinAmount MinAmount `mapstructure:"min_amount"`
	Robot     string    `mapstructure:"robot"`
	Template  string    `mapstructure:"template"`
	Language  string    `mapstructure:"language"`
	Mention   Mention   `mapstructure:"mention"`
}

// IsOps reports whether r is the reserved ops route.
func (r *Route) IsOps() bool { return r != nil && r.Name == OpsRouteName }

// OpsRoute returns the route named "ops", which takes bankbot's own
// operational alerts, or nil when the config has none.
func (c *Config) OpsRoute() *Route {
	for _, r := range c.Routes {
		if r.IsOps() {
			return r
		}
	}
	return nil
}

// Mention says whom a route @-mentions. The listed people (or everyone, with
// all: true, DingTalk's isAtAll) are mentioned when on_failure is set and the
// event is a failure, or when min_amount is set and the amount reaches the
// minimum of the event's currency (a currency that a per-currency min_amount
// gives no minimum is never mentioned for its amount); with neither set they
// are mentioned on every message.
type Mention struct {
	Mobiles   []string  `mapstructure:"mobiles"`
	UserIDs   []string  `mapstructure:"user_ids"`
	All       bool      `mapstructure:"all"`
	OnFailure bool      `mapstructure:"on_failure"`
	MinAmount MinAmount `mapstructure:"min_amount"`
}

// Chatops configures chat commands: @-messages to the app robot Robot,
// received on POST /dingtalk/callback (Mode callback, the default) and
// verified with its app_secret.
type Chatops struct {
	Robot                string   `mapstructure:"robot"`
	AllowedConversations []string `mapstructure:"allowed_conversations"`
	AllowedStaff         []string `mapstructure:"allowed_staff"`
	AdminStaff           []string `mapstructure:"admin_staff"`
	// Mode is callback (DingTalk POSTs to /dingtalk/callback) or stream
	// (bankbot dials DingTalk's Stream gateway: no public URL; one replica,
	// the holder of the store lease "chatops-stream", holds the stream).
	Mode string `mapstructure:"mode"`
	// Language is the reply language of chat commands (th, en, zh, id);
	// empty means the top-level language.
	Language string `mapstructure:"language"`
	// Languages gives chat groups a reply language of their own: language
	// → the conversation ids (cid…) that get it. It is keyed by language,
	// not by conversation id, because config keys are lower-cased when read
	// and conversation ids are case-sensitive.
	Languages map[string][]string `mapstructure:"languages"`
}

// ConversationLanguages is Languages turned around: conversation id →
// language.
func (c *Chatops) ConversationLanguages() map[string]string {
	out := map[string]string{}
	for lang, ids := range c.Languages {
		for _, id := range ids {
			out[id] = lang
		}
	}
	return out
}

// Chat modes.
const (
	ChatModeCallback = "callback"
	ChatModeStream   = "stream"
)

// Schedule is one cron job (bot/schedule runs them).
type Schedule struct {
	Name     string `mapstructure:"name"`
	Cron     string `mapstructure:"cron"`
	Job      string `mapstructure:"job"`
	Robot    string `mapstructure:"robot"`
	Language string `mapstructure:"language"`
	// Sources limits the summary and the watchdog to these sources (empty
	// = every configured source).
	Sources []string `mapstructure:"sources"`
}

// Scheduled jobs.
const (
	JobSummary   = "summary"
	JobWatchdog  = "watchdog"
	JobKeyExpiry = "key_expiry"
	JobRetention = "retention"
)

// Jobs lists the scheduled jobs.
func Jobs() []string { return []string{JobSummary, JobWatchdog, JobKeyExpiry, JobRetention} }

// CronParser parses schedules' cron specs: standard 5-field specs and
// descriptors (@daily, @every 15m), with an optional CRON_TZ= or TZ= prefix.
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
