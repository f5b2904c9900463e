package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bankbot/bankbot/bankhooks"
)

// defaultListLimit is the page size of ListDeliveries when the filter names none.
const defaultListLimit = 100

// unavailable wraps a database failure so callers can errors.Is it against
// ErrUnavailable (and still reach the driver's own error).
func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
}

// invalidf reports a refused argument.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// plainError marks an error the store made itself (not the driver's), so a
// backend passes it on without classifying it as ErrUnavailable.
type plainError struct{ err error }

func (e *plainError) Error() string { return e.err.Error() }
func (e *plainError) Unwrap() error { return e.err }

// plain marks err as the store's own.
func plain(err error) error { return &plainError{err: err} }

// ours reports whether err already carries one of the store's own sentinels,
// or is marked plain, and so must be passed on unchanged.
func ours(err error) bool {
	var p *plainError
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnavailable) || errors.As(err, &p)
}

// checkKey refuses an empty key or one that is not valid UTF-8 text without
// NUL: keys are compared for identity, so they are never silently rewritten,
// and PostgreSQL's text type accepts neither.
func checkKey(name, v string) error {
	if v == "" {
		return invalidf("%s is empty", name)
	}
	if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		return invalidf("%s is not valid UTF-8 text", name)
	}
	return nil
}

// text makes a free-form string storable in a text column of either driver:
// invalid UTF-8 becomes U+FFFD and NUL is dropped. It is used for columns that
// are informative only (error text, reasons, denormalised event fields).
func text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// blob returns b, or an empty non-nil slice, so a NOT NULL blob column never
// receives NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// msUTC is the store's time normal form: truncated to the millisecond, in
// UTC. The zero time stays zero.
func msUTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Millisecond).UTC()
}

// checkEvent validates a NewEvent before it is written.
func checkEvent(e NewEvent) error {
	for _, k := range []struct{ name, v string }{
		{"event id", e.ID}, {"source", e.Source}, {"provider event id", e.Event.ID},
	} {
		if err := checkKey(k.name, k.v); err != nil {
			return err
		}
	}
	if e.ReceivedAt.IsZero() {
		return invalidf("received at is zero")
	}
	if !e.Routed && len(e.Deliveries) > 0 {
		// Dropping them silently would lose the caller's routing.
		return invalidf("%d deliveries given for an event that is not routed", len(e.Deliveries))
	}
	return checkDeliveries(e.Deliveries)
}

// encodedEvent is a NewEvent turned into column values shared by both drivers.
type encodedEvent struct {
	event   bankhooks.Event // normalised: OccurredAt in msUTC form
	json    string          // the canonical event, marshalled
	headers string          // JSON object
}

func encodeEvent(e NewEvent) (encodedEvent, error) {
	ev := e.Event
	ev.OccurredAt = msUTC(ev.OccurredAt)
	evJSON, err := json.Marshal(ev)
	if err != nil {
		return encodedEvent{}, fmt.Errorf("marshal event: %w", err)
	}
	h := e.Headers
	if h == nil {
		h = map[string]string{}
	}
	hJSON, err := json.Marshal(h)
	if err != nil {
		return encodedEvent{}, fmt.Errorf("marshal headers: %w", err)
	}
	return encodedEvent{event: ev, json: string(evJSON), headers: string(hJSON)}, nil
}

// decodeEvent fills the JSON-held parts of a StoredEvent.
func decodeEvent(se *StoredEvent, eventJSON, headersJSON []byte) error {
	if err := json.Unmarshal(eventJSON, &se.Event); err != nil {
		return plain(fmt.Errorf("event %s: unmarshal event: %w", se.ID, err))
	}
	se.Event.OccurredAt = msUTC(se.Event.OccurredAt)
	var h map[string]string
	if err := json.Unmarshal(headersJSON, &h); err != nil {
		return plain(fmt.Errorf("event %s: unmarshal headers: %w", se.ID, err))
	}
	if len(h) > 0 {
		se.Headers = h
	}
	if se.Body == nil {
		se.Body = []byte{}
	}
	return nil
}

// checkDeliveries validates the rows InsertEvent, RouteEvent or
// RerouteEvent is asked to create.
func checkDeliveries(ds []NewDelivery) error {
	for i, d := range ds {
		if err := checkKey(fmt.Sprintf("delivery %d route", i), d.Route); err != nil {
			return err
		}
		if err := checkKey(fmt.Sprintf("delivery %d robot", i), d.Robot); err != nil {
			return err
		}
	}
	return nil
}

// checkClaim validates a Claim.
func checkClaim(c Claim) error {
	if err := checkKey("claim robot", c.Robot); err != nil {
		return err
	}
	if err := checkKey("claim owner", c.Owner); err != nil {
		return err
	}
	if c.Limit <= 0 {
		return invalidf("claim limit %d is not positive", c.Limit)
	}
	if c.Now.IsZero() {
		return invalidf("claim now is zero")
	}
	if !msUTC(c.LeaseUntil).After(msUTC(c.Now)) {
		return invalidf("claim lease does not end after now")
	}
	return nil
}

// listLimit applies DeliveryFilter's default.
func listLimit(f DeliveryFilter) (int, error) {
	switch {
	case f.Limit < 0:
		return 0, invalidf("list limit %d is negative", f.Limit)
	case f.Limit == 0:
		return defaultListLimit, nil
	}
	return f.Limit, nil
}

// stateErr turns "no row changed" into ErrNotFound or ErrConflict, given the
// row's current status ("" when it does not exist).
func stateErr(op string, id int64, status, want string) error {
	if status == "" {
		return fmt.Errorf("%s: delivery %d: %w", op, id, ErrNotFound)
	}
	return fmt.Errorf("%s: delivery %d is %s, not %s: %w", op, id, status, want, ErrConflict)
}
