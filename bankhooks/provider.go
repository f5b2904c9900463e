package bankhooks

import (
	"net/http"
	"time"
)

// Request is what a provider signed: the headers and the raw body bytes,
// exactly as received.
type Request struct {
	Header http.Header
	Body   []byte
}

// Key is one verification key of a source.
type Key struct {
	// Name identifies the key in logs and errors, e.g. "secrets[1]"; never the key itself.
	Name string
	// Material is the key as the provider's MAC uses it, already decoded by
	// Provider.DecodeKey (Opn: base64-decoded; Stripe: the whole whsec_ string).
	Material []byte
	// Expires is when the key stops being accepted; zero means never.
	Expires time.Time
}

// String names the key without its material, so a key printed by mistake
// (%v of a struct holding keys) never shows the secret.
func (k Key) String() string {
	if k.Expires.IsZero() {
		return "key " + k.Name + " <secret>"
	}
	return "key " + k.Name + " <secret> expires " + k.Expires.UTC().Format(time.RFC3339)
}

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

// ActiveAt reports whether the key may verify a request at t.
func (k Key) ActiveAt(t time.Time) bool {
	return k.Expires.IsZero() || t.Before(k.Expires)
}

// VerifyOptions are the per-source verification settings.
type VerifyOptions struct {
	// Now is the verifier's current time (injected clock).
	Now time.Time
	// MaxSkew is the timestamp window, applied both ways, for providers that
	// sign a timestamp. Zero means the provider's default.
	MaxSkew time.Duration
}

// Verification is what a successful Verify learned.
type Verification struct {
	// Key is the Name of the key whose signature matched.
	Key string
	// Timestamp is the signed timestamp, zero for schemes without one.
	Timestamp time.Time
}

// SampleParams shape a sample event built by Provider.Sample.
type SampleParams struct {
	Now      time.Time
	ID       string // provider event id; generated when empty
	Amount   int64  // minor units; a provider default when 0
	Currency string // ISO 4217; a provider default when empty
}

// Provider is one provider's webhook scheme.
//
// Every method is safe for concurrent use and pure apart from its arguments.
type Provider interface {
	// Name is the provider name used in config (`provider: omise`).
	Name() string
	// DecodeKey turns a configured secret into key material, or explains why
	// the secret has the wrong shape for this provider.
	DecodeKey(secret string) ([]byte, error)
	// Verify checks the request's signature (and timestamp, where the scheme
	// signs one) against every active key. It fails closed: no keys, an
	// unparsable header or a missing signature is an error. Errors wrap one of
	// the Err* sentinels of this package.
	Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error)
	// Parse turns a verified request into the canonical Event. Errors wrap
	// ErrMalformedPayload.
	Parse(r Request) (Event, error)
	// Sign returns the request the provider would send with body at now,
	// signed with every given key (several keys = a rotation window). id is the
	// message id for schemes that sign one (Standard Webhooks). Most schemes
	// only add headers and return body as given; a scheme whose signature
	// travels in the body (Midtrans signature_key, Adyen hmacSignature)
	// returns the body with the signature in place.
	Sign(body []byte, keys []Key, now time.Time, id string) (Signed, error)
	// SampleTypes lists the provider event types Sample can build, the first
	// being the default.
	SampleTypes() []string
	// Sample builds a realistic body of the given provider event type.
	Sample(eventType string, p SampleParams) ([]byte, error)
}

// Signed is a request as a provider would send it: the headers to add and
// the body to send.
type Signed struct {
	Header http.Header
	Body   []byte
}

// MultiParser is implemented by providers whose one request carries several
// events (Adyen's notificationItems). ParseAll is used instead of Parse:
// every returned event is stored, deduplicated and routed on its own. An
// item that cannot be read comes back as an event of KindUnreadable (see
// Unreadable) with an id of its own, so the readable items still go through;
// the error is for a request none of whose items can be found (it wraps
// ErrMalformedPayload and the whole body is then stored as unreadable).
type MultiParser interface {
	ParseAll(r Request) ([]Event, error)
}

// Acknowledger is implemented by providers that expect a particular answer
// to a webhook they delivered (Adyen: the body "[accepted]"; anything else
// puts the notification in its retry queue). bankbot sends Ack's answer,
// with status 200, for an accepted or duplicate request; rejections keep
// their JSON error body and status.
type Acknowledger interface {
	Ack() (contentType string, body []byte)
}
