package bankhooks

import "errors"

// Sentinel errors. Verify and Parse wrap exactly one of them so callers map
// failures to HTTP codes and metric labels with errors.Is or Reason.
var (
	// ErrNoActiveKey: the source has no key that is active now (fail closed).
	ErrNoActiveKey = errors.New("no active key")
	// ErrMissingSignature: the signature header (or field) is absent or empty.
	ErrMissingSignature = errors.New("missing signature")
	// ErrMalformedSignature: the signature header cannot be parsed.
	ErrMalformedSignature = errors.New("malformed signature header")
	// ErrMissingTimestamp: the scheme signs a timestamp and none was sent.
	ErrMissingTimestamp = errors.New("missing timestamp")
	// ErrTimestampOutOfWindow: the signed timestamp is further from now than the allowed skew.
	ErrTimestampOutOfWindow = errors.New("timestamp outside the allowed window")
	// ErrSignatureMismatch: no signature matched any active key.
	ErrSignatureMismatch = errors.New("signature does not match any active key")
	// ErrKeyExpired: the signature matched only a key that has expired.
	ErrKeyExpired = errors.New("signature matches only an expired key")
	// ErrMalformedPayload: the body is not a well-formed event of this provider.
	ErrMalformedPayload = errors.New("malformed payload")
	// ErrUnknownEventType: Sample was asked for a type it cannot build.
	ErrUnknownEventType = errors.New("unknown event type")
)

// Reason returns a short, stable label for err, for metrics and error bodies:
// one of no_active_key, missing_signature, malformed_signature,
// missing_timestamp, stale_timestamp, bad_signature, expired_key,
// malformed_payload, or "error" for anything else.
func Reason(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNoActiveKey):
		return "no_active_key"
	case errors.Is(err, ErrMissingSignature):
		return "missing_signature"
	case errors.Is(err, ErrMalformedSignature):
		return "malformed_signature"
	case errors.Is(err, ErrMissingTimestamp):
		return "missing_timestamp"
	case errors.Is(err, ErrTimestampOutOfWindow):
		return "stale_timestamp"
	case errors.Is(err, ErrSignatureMismatch):
		return "bad_signature"
	case errors.Is(err, ErrKeyExpired):
		return "expired_key"
	case errors.Is(err, ErrMalformedPayload):
		return "malformed_payload"
	}
	return "error"
}
