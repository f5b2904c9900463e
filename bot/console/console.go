// Package console is bankbot's web console: server-rendered pages under /ui/
// on the admin listener, for admins and finance staff, to see what arrived,
// what was sent and what failed, and to fix it with a click.
//
// Pages are html/template files embedded in the binary with one small CSS
// file and one small pinned script (the copy button); no CDN, no build
// step, and every read page works without JavaScript. The package knows
// nothing of package bot: bot implements Backend (bot/console_backend.go)
// and mounts Handler on the admin listener.
//
// Security: sign-in with admin.token or the read-only admin.viewer_token
// gives an HMAC-signed session cookie (see session.go); Authorization:
// Bearer works on every page too. Every POST needs a CSRF token bound to the
// session and a same-host Origin (or Referer); a viewer gets 403 on every
// action. Responses carry a strict Content-Security-Policy, and pages with
// data are never cached.
package console

import (
	"context"
	"net/http"
	"time"
)

// Role is who signed in.
type Role string

// Roles.
const (
	RoleAdmin  Role = "admin"  // sees everything and acts
	RoleViewer Role = "viewer" // sees everything, acts on nothing
)

// Settings are the console's part of the running config, read on every
// request (a reload changes them at once).
type Settings struct {
	// AdminToken is admin.token; empty turns the console off.
	AdminToken string
	// ViewerToken is admin.viewer_token; empty: no viewer sign-in.
	ViewerToken string
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration
	// Location is the configured time zone; every time is shown in it.
	Location *time.Location
	// Version is bankbot's version.
	Version string
}

// Backend is what the console reads and does; package bot implements it.
// Every text it returns is shown escaped; none may hold a secret.
type Backend interface {
	Settings() Settings
	// Now is the application clock.
	Now() time.Time
	// ClientIP is the request's client address as the webhook listener
	// sees it (server.trusted_proxies applied): the sign-in rate limit's key.
	ClientIP(r *http.Request) string

	Overview(ctx context.Context) (Overview, error)
	Events(ctx context.Context, q EventQuery) (EventList, error)
	// Event returns one event by bankbot id; ErrNotFound when unknown.
	Event(ctx context.Context, id string) (EventDetail, error)
	DeadLetters(ctx context.Context) (DeadLetters, error)

	// RetryDead makes the given dead deliveries (or all, when all) due
	// again through today's config.
	RetryDead(ctx context.Context, ids []int64, all bool) Result
	// Replay sends an event (bankbot or provider id) through today's routes.
	Replay(ctx context.Context, event string) Result
	// Reload reloads the config file now.
	Reload(ctx context.Context) Result
	// TestMessage sends `bankbot dingtalk test`'s message through robot.
	TestMessage(ctx context.Context, robot string) Result
	// Robots lists the configured robots, sorted.
	Robots() []string

	// PreviewChoices lists the templates, kinds and languages to preview.
	PreviewChoices() PreviewChoices
	// Preview renders a sample event of kind with template and language.
	Preview(template, kind, language string) (Message, error)
}

// Result is the outcome of an action, shown in #flash.
type Result struct {
	OK      bool
	Message string
	Details []string
}

// Message is a rendered DingTalk markdown message.
type Message struct {
	Title string
	Text  string
}

// Overview is the overview page's data.
type Overview struct {
	Sources     []SourceInfo
	Robots      []RobotInfo
	DeadLetters int
	Config      ConfigInfo
	Chart       Chart
	// Problems lists what could not be read (the store did not answer).
	Problems []string
}

// SourceInfo is one configured source.
type SourceInfo struct {
	Name        string
	Provider    string
	LastEvent   time.Time // zero: none stored
	EventsToday int
	// Rejects counts the webhooks refused in the last hour by reason.
	Rejects []ReasonCount
	// KeysExpiring are its signing keys expiring within 14 days.
	KeysExpiring []KeyExpiry
}

// ReasonCount is a count of one reason.
type ReasonCount struct {
	Reason string
	Count  int
}

// KeyExpiry is a signing key's name and expiry (never the key).
type KeyExpiry struct {
	Name    string
	Expires time.Time
}

// Robot states, as recorded by the delivery workers.
const (
	StateOK            = "ok"
	StatePaused        = "paused"
	StateMisconfigured = "misconfigured"
	StateFailing       = "failing"
)

// RobotInfo is one configured robot.
type RobotInfo struct {
	Name  string
	Type  string
	State string // StateOK, StatePaused, StateMisconfigured or StateFailing
	// Reason is what was recorded with the state (DingTalk's answer).
	Reason string
	// Hint is what to fix, for a misconfigured robot.
	Hint        string
	PausedUntil time.Time
	ChangedAt   time.Time
	SentToday   int
	Pending     int
	Sending     int
	Dead        int
}

// ConfigInfo is the running config and the last reload.
type ConfigInfo struct {
	File      string
	Hash      string
	AppliedAt time.Time
	// LastReload is the last load or reload, applied or not.
	LastReloadAt      time.Time
	LastReloadTrigger string
	LastReloadResult  string
	LastReloadError   string
	Problems          []string
	Warnings          []string
}

// Chart is events per hour by source.
type Chart struct {
	Start  time.Time // the first hour
	Series []Series
}

// Series is one source's counts, one per hour from Chart.Start.
type Series struct {
	Source string
	Counts []int
}

// EventQuery is the events page's filters.
type EventQuery struct {
	Text   string // the same search as `bankbot events find`
	Source string
	Kind   string
	// From and To are whole days in the configured zone, inclusive; zero
	// leaves that side open.
	From, To time.Time
	// Cursor is the opaque position the page starts after ("" = newest).
	Cursor string
	Limit  int
}

// EventList is one page of events.
type EventList struct {
	Events []EventRow
	// Next is the cursor of the next page; "" when this is the last.
	Next string
	// Window says what a text search covered when no dates were given.
	Window string
	// ScannedTo, when set, is how far back a search by account digits read
	// before the page ended short (it reads a bounded number of events a
	// page); the next page searches on from there.
	ScannedTo time.Time
	// Sources and Kinds are the filter choices.
	Sources []string
	Kinds   []string
}

// EventRow is one event in a listing.
type EventRow struct {
	ID         string
	Source     string
	Kind       string
	Amount     string
	Reference  string
	Account    string // masked
	ReceivedAt time.Time
	Test       bool
}

// EventDetail is one event's page.
type EventDetail struct {
	ID             string
	Source         string
	Provider       string
	ProviderID     string
	Type           string
	Kind           string
	Amount         string // exactly as the DingTalk message prints it
	Language       string // the message language Amount is formatted in
	Reference      string
	Account        string // masked
	Counterparty   string
	Description    string
	FailureCode    string
	FailureMessage string
	Livemode       bool
	RemoteIP       string
	OccurredAt     time.Time
	ReceivedAt     time.Time
	RoutedAt       time.Time
	Confirmation   string
	ConfirmReason  string
	Deliveries     []DeliveryInfo
	// Message is the message as rendered for its first delivery (or the
	// default route's language), through today's templates.
	Message Message
	// RawBody is the body as received, JSON pretty-printed, masked.
	RawBody string
}

// DeliveryInfo is one delivery of an event, with every attempt.
type DeliveryInfo struct {
	ID            int64
	Route         string
	Robot         string
	Status        string
	MessageID     string
	Attempts      []AttemptInfo
	NextAttemptAt time.Time
	SentAt        time.Time
	LastError     string
}

// AttemptInfo is one attempt of a delivery.
type AttemptInfo struct {
	N        int
	At       time.Time
	Duration time.Duration
	Result   string // ok, rate_limited, config …
	Errcode  string // DingTalk's errcode, when it answered one
	Error    string
	// Throttled is an answer that only asked to slow down.
	Throttled bool
}

// DeadLetters is the dead letters page's data.
type DeadLetters struct {
	Rows  []DeadLetter
	Total int // every dead letter, Rows may be fewer
}

// DeadLetter is one dead delivery.
type DeadLetter struct {
	ID        int64
	EventID   string
	Source    string
	Kind      string
	Amount    string
	Reference string
	Robot     string
	Route     string
	Attempts  int
	Reason    string
	LastError string
	UpdatedAt time.Time
}

// PreviewChoices are the preview form's options.
type PreviewChoices struct {
	Templates []string
	Kinds     []string
	Languages []string
	// Default* are preselected.
	DefaultTemplate, DefaultKind, DefaultLanguage string
}
