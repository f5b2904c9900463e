package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// EventFilter selects events for ListEvents.
type EventFilter struct {
	// Since and Until bound received_at: Since <= received_at < Until; a
	// zero time leaves that side open.
	Since, Until time.Time
	Source       string // empty = any
	Kind         string // empty = any; the canonical kind (bankhooks.Kind)
	// ProviderEventID selects the events with this provider event id (one
	// per source at most); empty = any.
	ProviderEventID string
	Limit           int // 0 = 100
}

// EventSearch is what FindEvents looks for: an event matches when any of
// Text, Amounts or AccountDigits matches it, and it was received in the
// window.
type EventSearch struct {
	// Text matches exactly bankbot's id, the provider's event id or the
	// reference.
	Text string
	// Amounts matches an amount in minor units equal to any of these.
	Amounts []int64
	// AccountDigits matches an account whose last letters and digits are
	// these (separators and case ignored): "7890" matches "123-4-56789-0".
	AccountDigits string
	// Since and Until bound received_at as in EventFilter.
	Since, Until time.Time
	Limit        int // 0 = 100
}

// eventLimit is the default and the check of a listing's limit.
func eventLimit(n int) (int, error) {
	switch {
	case n < 0:
		return 0, invalidf("limit %d is negative", n)
	case n == 0:
		return 100, nil
	}
	return n, nil
}

// eventWindow appends the received_at conditions of [since, until).
func (c *core) eventWindow(where []string, args []any, since, until time.Time) ([]string, []any, error) {
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return nil, nil, invalidf("since %s is not before until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	if !since.IsZero() {
		where, args = append(where, "received_at >= ?"), append(args, c.tv(since))
	}
	if !until.IsZero() {
		where, args = append(where, "received_at < ?"), append(args, c.tv(until))
	}
	return where, args, nil
}

// listEventsSQL selects events, without raw body and headers, newest first
// (events_received serves the order and the window).
func listEventsSQL(where []string, limited bool) string {
	q := `SELECT ` + eventRouteCols + ` FROM events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY received_at DESC, id DESC`
	if limited {
		q += ` LIMIT ?`
	}
	return q
}

// ListEvents lists the events matching f, newest received first, without
// their raw body and headers.
func (c *core) ListEvents(ctx context.Context, f EventFilter) ([]StoredEvent, error) {
	const op = "list events"
	limit, err := eventLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	where, args, err := c.eventWindow(nil, nil, f.Since, f.Until)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if f.Source != "" {
		where, args = append(where, "source = ?"), append(args, f.Source)
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.ProviderEventID != "" {
		where, args = append(where, "provider_event_id = ?"), append(args, f.ProviderEventID)
	}
	q := listEventsSQL(where, true)
	out := []StoredEvent{}
	err = c.b.read(ctx, op, func(qr querier) error {
		return eachEvent(ctx, qr, q, append(args, limit), func(se StoredEvent) bool { out = append(out, se); return true })
	})
	return out, err
}

// alnumLower keeps s's letters and digits, lower-cased.
func alnumLower(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			sb.WriteRune(unicode.ToLower(r))
		}
	}
	return sb.String()
}

// matches reports whether se matches the search (digits is AccountDigits
// normalised by alnumLower).
func (s EventSearch) matches(se StoredEvent, digits string) bool {
	ev := se.Event
	if s.Text != "" && (se.ID == s.Text || ev.ID == s.Text || ev.Reference == s.Text) {
		return true
	}
	if slices.Contains(s.Amounts, ev.Amount) {
		return true
	}
	return digits != "" && strings.HasSuffix(alnumLower(ev.Account), digits)
}

// FindEvents returns up to s.Limit events matching s, newest received first,
// without their raw body and headers. The database matches every term: the
// text and amounts on their indexes, the account digits on
// events_account_rev (account.go), or, when the search's digits match many
// events, on each event of the window read newest first. While some row has
// no account_rev yet (stored before migration 0011, not backfilled), a
// search by digits reads the window event by event and matches the stored
// events here instead: callers bound the window (the CLI searches the last
// 30 days by default).
func (c *core) FindEvents(ctx context.Context, s EventSearch) ([]StoredEvent, error) {
	const op = "find events"
	limit, err := eventLimit(s.Limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	digits := alnumLower(s.AccountDigits)
	if s.Text == "" && len(s.Amounts) == 0 && digits == "" {
		return nil, fmt.Errorf("%s: %w", op, invalidf("nothing to search for"))
	}
	if strings.TrimSpace(s.AccountDigits) != "" && digits == "" {
		return nil, fmt.Errorf("%s: %w", op, invalidf("account digits %q hold no letter or digit", s.AccountDigits))
	}
	where, args, err := c.eventWindow(nil, nil, s.Since, s.Until)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	plan := accountIndex
	if digits != "" {
		if plan, err = c.planAccount(ctx, op, digits); err != nil {
			return nil, err
		}
	}
	limited := plan != accountScan
	if limited {
		// The database does the matching.
		if digits != "" && plan == accountIndex {
			where = c.unindexed(where)
		}
		cond, condArgs := searchTerms(s, digits, plan)
		where, args = append(where, cond), append(append(args, condArgs...), limit)
	}
	q := listEventsSQL(where, limited)
	out := []StoredEvent{}
	err = c.b.read(ctx, op, func(qr querier) error {
		return eachEvent(ctx, qr, q, args, func(se StoredEvent) bool {
			if limited || s.matches(se, digits) {
				out = append(out, se)
			}
			return len(out) < limit
		})
	})
	return out, err
}
