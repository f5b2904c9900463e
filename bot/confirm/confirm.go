// Package confirm asks a payment provider's API whether a money event that
// arrived by signed webhook really happened, as the provider itself
// recommends (Opn: "use the Charge ID to make a GET request … to
// independently verify its status"; Midtrans' SDKs re-query the
// transaction status). A Confirmer fetches the event's object and reports
// the status, kind, amount and currency the API holds; Compare decides
// whether that confirms the webhook.
//
// The package knows nothing of storage, routing or DingTalk: bot's router
// calls it before routing an event and decides what the outcome means.
package confirm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
)

// Confirmer confirms one provider's events through its API.
type Confirmer interface {
	// Handles reports whether the confirmer can confirm events of kind k.
	Handles(k bankhooks.Kind) bool
	// Confirm fetches ev's object from the provider's API. A failure to
	// get an answer is an *Error with a Reason; an object the API does not
	// know is a Result with Missing set, not an error.
	Confirm(ctx context.Context, ev bankhooks.Event) (Result, error)
	// Provider is the provider's display name ("Opn", "Midtrans").
	Provider() string
}

// Result is what the provider's API says about an event's object.
type Result struct {
	// Missing: the API answered that no such object exists (404).
	Missing bool
	// Kind is the canonical kind the object's current status means for
	// this event ("" when it means none of the money kinds).
	Kind bankhooks.Kind
	// Amount (minor units) and Currency are the object's, per the API.
	Amount   int64
	Currency string
	// AtLeast marks Amount as an upper bound rather than the exact amount:
	// a refund is checked against the refunded total of its charge.
	AtLeast bool
	// Status is the provider's own status text, as the API gave it.
	Status string
	// Note explains how the result was obtained, when it is not plain.
	Note string
}

// Failure reasons: the result label of bankbot_confirm_total for a
// confirmation that got no usable answer.
const (
	ReasonNetwork     = "network"      // connection refused, reset, DNS …
	ReasonTimeout     = "timeout"      // no answer within the timeout
	ReasonServer      = "server"       // HTTP 5xx
	ReasonRateLimited = "rate_limited" // HTTP 429
	ReasonAuth        = "auth"         // HTTP 401/403: the api_key is wrong
	ReasonBadResponse = "bad_response" // an answer that is not the object (other 4xx, bad JSON, too large)
)

// Reasons lists every failure reason.
func Reasons() []string {
	return []string{ReasonNetwork, ReasonTimeout, ReasonServer, ReasonRateLimited, ReasonAuth, ReasonBadResponse}
}

// Error is a confirmation that got no usable answer. Every Error is
// temporary from the caller's point of view: the event cannot be confirmed
// now, and asking again later may work.
type Error struct {
	Reason string
	Err    error
}

// Error returns the reason and what failed; it never contains the api_key.
func (e *Error) Error() string { return e.Reason + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns err's failure reason (ReasonNetwork for an error that
// is not an *Error).
func ReasonOf(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return ReasonNetwork
}

// Options build a Confirmer.
type Options struct {
	// APIBase is the API's root URL, e.g. https://api.omise.co.
	APIBase string
	// APIKey is the secret key sent as the basic-auth user. It is never
	// put in an error or a log line.
	APIKey string
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// Client sends the requests (it should not follow redirects).
	Client *http.Client
}

// DefaultTimeout is the request timeout when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxResponse caps the bytes read of one API answer: a charge or
// transaction status is a few kilobytes.
const maxResponse = 256 << 10

var constructors = map[string]func(Options) (Confirmer, error){
	"omise":    newOmise,
	"midtrans": newMidtrans,
}

// Providers lists, sorted, the provider names that have a confirmer.
func Providers() []string {
	out := make([]string, 0, len(constructors))
	for p := range constructors {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Supports reports whether provider has a confirmer.
func Supports(provider string) bool {
	_, ok := constructors[provider]
	return ok
}

// CheckAPIBase reports whether raw is an http(s) URL with a host and no
// query or fragment.
func CheckAPIBase(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("not an http(s) URL: %q", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("give only scheme, host and path (no user, query or fragment): %q", u.Redacted())
	}
	return nil
}

// New builds the confirmer of provider.
func New(provider string, o Options) (Confirmer, error) {
	mk, ok := constructors[provider]
	if !ok {
		return nil, fmt.Errorf("provider %q has no confirmer (available: %s)", provider, strings.Join(Providers(), ", "))
	}
	if err := CheckAPIBase(o.APIBase); err != nil {
		return nil, err
	}
	if o.APIKey == "" {
		return nil, errors.New("no api_key")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	o.APIBase = strings.TrimRight(o.APIBase, "/")
	return mk(o)
}

// MoneyKind reports whether events of kind k move money: payment.*,
// refund.* and transfer.*. Only those are confirmed.
func MoneyKind(k bankhooks.Kind) bool {
	group, _, _ := strings.Cut(string(k), ".")
	return slices.Contains([]string{"payment", "refund", "transfer"}, group) && k.Valid()
}

// errNotFound is what get returns for HTTP 404.
var errNotFound = errors.New("not found")

// get sends GET base+path with basic auth (key as user, empty password)
// and returns the body of a 2xx answer, errNotFound for 404, or an *Error.
func get(ctx context.Context, o Options, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, o.Timeout, fmt.Errorf("no answer within %s", o.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.APIBase+path, nil)
	if err != nil {
		return nil, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("build request: %w", err)}
	}
	req.SetBasicAuth(o.APIKey, "")
	req.Header.Set("Accept", "application/json")
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, transportError(ctx, path, err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxResponse {
		return nil, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: answer of %d bytes is over %d", path, resp.ContentLength, maxResponse)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, transportError(ctx, path, err)
	}
	switch c := resp.StatusCode; {
	case c == http.StatusNotFound:
		return body, errNotFound
	case c == http.StatusTooManyRequests:
		return nil, &Error{Reason: ReasonRateLimited, Err: fmt.Errorf("GET %s: HTTP %d", path, c)}
	case c >= 500:
		return nil, &Error{Reason: ReasonServer, Err: fmt.Errorf("GET %s: HTTP %d", path, c)}
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		return nil, &Error{Reason: ReasonAuth, Err: fmt.Errorf("GET %s: HTTP %d: the API refused the api_key", path, c)}
	case c < 200 || c > 299:
		return nil, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: HTTP %d", path, c)}
	}
	if len(body) > maxResponse {
		return nil, &Error{Reason: ReasonBadResponse, Err: fmt.Errorf("GET %s: answer over %d bytes", path, maxResponse)}
	}
	return body, nil
}

// transportError classifies a failure to get an answer. The request URL
// holds no secret (the key is in the Authorization header), so the
// *url.Error text is safe; only the path is kept all the same.
func transportError(ctx context.Context, path string, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		cause := context.Cause(ctx)
		if cause == nil {
			cause = err
		}
		return &Error{Reason: ReasonTimeout, Err: fmt.Errorf("GET %s: %w", path, cause)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
		if ue.Timeout() {
			return &Error{Reason: ReasonTimeout, Err: fmt.Errorf("GET %s: %w", path, err)}
		}
	}
	return &Error{Reason: ReasonNetwork, Err: fmt.Errorf("GET %s: %w", path, err)}
}

// pathEscape escapes one path segment; an id with a slash cannot reach
// another endpoint.
func pathEscape(s string) string { return url.PathEscape(s) }
