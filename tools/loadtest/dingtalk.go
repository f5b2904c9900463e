package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// shownPoll is how often the fake's messages are read while waiting for
// every accepted event to be shown. The times reported come from the
// messages' arrival times, not from the polls.
const shownPoll = 100 * time.Millisecond

// robotName is bankbot's robot in the load config.
const robotName = "dingtalk"

// shortIDLen is how many trailing characters of a bankbot id a digest line
// shows (render.ShortID): the random part of an ev_ id.
const shortIDLen = 8

// startFakeDingTalk starts the in-process fake custom robot: signing on
// with a fresh secret, DingTalk's 20 messages per 60 s (counted on arrival,
// a 10-minute block after the 21st) and 20,000-byte bodies.
func startFakeDingTalk() *dingtalktest.Server {
	return dingtalktest.Start(dingtalktest.Options{Secret: "SEC" + randHex(32)})
}

// messageKind says what a message is by its last "ref:" line: a digest ends
// with its message id (dm_…), a single alert with its event id (ev_…).
// Anything else (an ops alert, say) is "other".
func messageKind(text string) string {
	i := strings.LastIndex(text, "ref: ")
	if i < 0 {
		return "other"
	}
	switch rest := text[i+len("ref: "):]; {
	case strings.HasPrefix(rest, "dm"):
		return "digest"
	case strings.HasPrefix(rest, "ev"):
		return "single"
	}
	return "other"
}

// shownTracker matches accepted events to the messages the fake accepted:
// a message names an event when its title or text holds the last 8
// characters of the event's bankbot id (how a digest line names it; a single
// alert's "ref: ev_…" ends with them too). Messages are taken in the order
// the fake recorded them, each once; a message whose msgUuid was already
// seen is a resend and names nothing new.
type shownTracker struct {
	events  []acceptedEvent
	byShort map[string][]int // short id → indices into events
	first   []time.Time      // arrival of the first message naming event i; zero while unshown
	namedBy []int            // distinct messages naming event i
	seen    int              // messages processed
	uuids   map[string]bool
	shown   int
	// timeline is every distinct message in the fake's order.
	timeline []sentMessage

	Messages, Digests, Singles, Others, Resent int
}

func newShownTracker(events []acceptedEvent) *shownTracker {
	t := &shownTracker{
		events:  events,
		byShort: make(map[string][]int, len(events)),
		first:   make([]time.Time, len(events)),
		namedBy: make([]int, len(events)),
		uuids:   map[string]bool{},
	}
	for i, e := range events {
		if len(e.ID) < shortIDLen {
			continue // never shown: counted as missing
		}
		k := e.ID[len(e.ID)-shortIDLen:]
		t.byShort[k] = append(t.byShort[k], i)
	}
	return t
}

// add takes the messages not yet processed from msgs, the fake's whole
// list in its order.
func (t *shownTracker) add(msgs []dingtalktest.Received) {
	for _, m := range msgs[min(t.seen, len(msgs)):] {
		t.seen++
		if m.UUID != "" && t.uuids[m.UUID] {
			t.Resent++
			continue
		}
		t.uuids[m.UUID] = true
		t.Messages++
		text := m.Title + "\n" + m.Text
		kind := messageKind(m.Text)
		switch kind {
		case "digest":
			t.Digests++
		case "single":
			t.Singles++
		default:
			t.Others++
		}
		named := map[int]bool{}
		for i := 0; i+shortIDLen <= len(text); i++ {
			for _, ev := range t.byShort[text[i:i+shortIDLen]] {
				named[ev] = true
			}
		}
		t.timeline = append(t.timeline, sentMessage{At: m.At, Kind: kind, Events: len(named), Bytes: len(m.Raw)})
		for ev := range named {
			t.namedBy[ev]++
			if t.first[ev].IsZero() {
				t.shown++
			}
			if t.first[ev].IsZero() || m.At.Before(t.first[ev]) {
				t.first[ev] = m.At
			}
		}
	}
}

// missing is how many accepted events no message has named yet.
func (t *shownTracker) missing() int { return len(t.events) - t.shown }

// sentMessage is one distinct message the fake accepted.
type sentMessage struct {
	At     time.Time
	Kind   string // digest, single or other
	Events int    // accepted events it names
	Bytes  int    // request body size
}

// shownResult is what the tracker found, for the report.
type shownResult struct {
	Accepted   int
	Shown      int
	MultiShown int // events named by two or more distinct messages
	// Latency: from sending each shown event's webhook to the arrival of
	// the first message naming it.
	Latency   latencySummary
	LastShown time.Time // the latest of those arrivals; zero if none
	Missing   []string  // ids of up to 5 unshown events

	// Distinct messages (by msgUuid) by kind, and repeats of one.
	Messages, Digests, Singles, Others, Resent int
	Timeline                                   []sentMessage
}

func (t *shownTracker) result() shownResult {
	r := shownResult{Accepted: len(t.events), Shown: t.shown, Messages: t.Messages, Digests: t.Digests,
		Singles: t.Singles, Others: t.Others, Resent: t.Resent, Timeline: t.timeline}
	var lat []time.Duration
	for i, at := range t.first {
		if at.IsZero() {
			if len(r.Missing) < 5 {
				r.Missing = append(r.Missing, t.events[i].ID)
			}
			continue
		}
		if t.namedBy[i] > 1 {
			r.MultiShown++
		}
		lat = append(lat, at.Sub(t.events[i].Sent))
		if at.After(r.LastShown) {
			r.LastShown = at
		}
	}
	r.Latency = summarize(lat)
	return r
}

// waitShown reads the fake's messages every interval until every accepted
// event is named by one, for at most timeout.
func waitShown(ctx context.Context, c clock, messages func() []dingtalktest.Received, t *shownTracker, interval, timeout time.Duration) error {
	deadline := c.Now().Add(timeout)
	for {
		t.add(messages())
		if t.missing() == 0 {
			return nil
		}
		at := c.Now()
		if !at.Before(deadline) {
			return fmt.Errorf("%d of %d accepted events not shown after %s", t.missing(), len(t.events), timeout)
		}
		c.SleepUntil(ctx, at.Add(interval))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// deliveryResult is what the fake DingTalk saw in one bankbot phase.
type deliveryResult struct {
	Shown   shownResult
	WaitErr string // why waiting for every event to be shown stopped early
	// From the fake, after bankbot stopped.
	Requests        int
	MaxInWindow     int         // accepted messages in any 60 s
	MaxReqsInWindow int         // requests that reached the rate limit in any 60 s
	Codes           map[int]int // errcode of every {"errcode":N} answer but 0
	HTTP            map[int]int // answers without an errcode, by HTTP status
	// Timing of the load, for the drain: the first request was sent at
	// LoadStart, the last answer read at LoadEnd.
	LoadStart, LoadEnd time.Time
	Burst              int // the --burst size; 0 for a timed load
}

// readFake fills the fake's figures into d.
func (d *deliveryResult) readFake(fake *dingtalktest.Server) {
	d.Requests = fake.Requests()
	d.MaxInWindow = fake.MaxInWindow(time.Minute)
	d.MaxReqsInWindow = fake.MaxRequestsInWindow(time.Minute)
	d.Codes, d.HTTP = map[int]int{}, map[int]int{}
	for _, a := range fake.Answers() {
		switch {
		case a.HTTPStatus == http.StatusOK && a.ErrCode == 0:
		case a.ErrCode != 0:
			d.Codes[a.ErrCode]++
		default:
			d.HTTP[a.HTTPStatus]++
		}
	}
}

// drain is from the first request to the arrival of the message that showed
// the last event; 0 when nothing was shown.
func (d *deliveryResult) drain() time.Duration {
	if d.Shown.LastShown.IsZero() {
		return 0
	}
	return d.Shown.LastShown.Sub(d.LoadStart)
}

// perMinute is messages per minute over the drain, as text. A drain under a
// minute has no rate worth the name: it says how many messages it took.
func (d *deliveryResult) perMinute() string {
	dr := d.drain()
	switch {
	case dr <= 0:
		return "n/a"
	case dr < time.Minute:
		return fmt.Sprintf("%d in %s (< 1 min)", d.Shown.Messages, fmtSec(dr))
	}
	return fmt.Sprintf("%.1f", float64(d.Shown.Messages)/dr.Minutes())
}

// write prints the DingTalk section of a bankbot phase.
func (d *deliveryResult) write(w io.Writer, name string) {
	s := d.Shown
	fmt.Fprintf(w, "\n%s → fake DingTalk (custom robot in the load tool's process, signed; 20 messages per 60 s counted on arrival, 10-minute block after the 21st; bodies up to 20,000 bytes):\n\n", name)
	fmt.Fprintln(w, "| accepted events | shown | not shown | posted in | first post → last shown | messages | digests | singles | other | resent | events in 2+ messages | max messages in 60 s | max requests in 60 s | 410100 | 460101 | other answers | messages/min |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|")
	others := map[string]int{}
	for code, n := range d.Codes {
		if code != 410100 && code != 460101 {
			others[fmt.Sprintf("errcode %d", code)] += n
		}
	}
	for st, n := range d.HTTP {
		others[fmt.Sprintf("HTTP %d", st)] += n
	}
	drain := "n/a"
	if dr := d.drain(); dr > 0 {
		drain = fmtSec(dr)
	}
	fmt.Fprintf(w, "| %d | %d | %d | %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %s | %s |\n",
		s.Accepted, s.Shown, s.Accepted-s.Shown, fmtSec(d.LoadEnd.Sub(d.LoadStart)), drain,
		s.Messages, s.Digests, s.Singles, s.Others, s.Resent, s.MultiShown,
		d.MaxInWindow, d.MaxReqsInWindow, d.Codes[410100], d.Codes[460101], fmtCounts(others), d.perMinute())
	fmt.Fprintln(w)
	l := s.Latency
	fmt.Fprintf(w, "**event → DingTalk, %d events: p50 %s, p90 %s, p99 %s, max %s** (from sending an event's webhook to the fake receiving the first message naming it; every accepted event of the phase, warm-up included).\n",
		l.N, fmtSec(l.P50), fmtSec(l.P90), fmtSec(l.P99), fmtSec(l.Max))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "shown: named by a message the fake accepted (a digest line or a single alert's ref, by the last 8 characters of the event's ev_ id); digests end with ref: dm_…, singles with ref: ev_…; resent: a message whose msgUuid was already accepted; posted in: first request to last answer; messages/min: messages ÷ (first post → last shown), when that is a minute or more; max … in 60 s: exact sliding window over the fake's arrival times (requests: accepted plus refused by the rate limit).")
	if tl := s.Timeline; len(tl) > 0 {
		const most = 12
		parts := make([]string, 0, min(len(tl), most))
		for _, m := range tl[:min(len(tl), most)] {
			parts = append(parts, fmt.Sprintf("%s %s of %d events, %d bytes", fmtOffset(m.At.Sub(d.LoadStart)), m.Kind, m.Events, m.Bytes))
		}
		more := ""
		if len(tl) > most {
			more = fmt.Sprintf("; and %d more", len(tl)-most)
		}
		fmt.Fprintf(w, "\nmessages, by arrival after the first post: %s%s.\n", strings.Join(parts, "; "), more)
	}
	if d.WaitErr != "" {
		fmt.Fprintf(w, "\n**NOT ALL SHOWN: %s** (first unshown: %s).\n", d.WaitErr, strings.Join(s.Missing, ", "))
	}
}

// ok reports whether every accepted event was shown within DingTalk's limits.
func (d *deliveryResult) ok() bool {
	return d.WaitErr == "" && d.Shown.Shown == d.Shown.Accepted && d.Codes[410100] == 0 && d.Codes[460101] == 0
}

// fmtOffset prints a time after the start: +1.234 s.
func fmtOffset(d time.Duration) string { return fmt.Sprintf("+%.3f s", d.Seconds()) }

// fmtSec prints a duration in seconds, or milliseconds under a second.
func fmtSec(d time.Duration) string {
	if d < time.Second && d > -time.Second {
		return fmtDur(d)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
