package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
)

// eventGen builds unique, realistic Opn charge.complete events: the body of
// bankhooks' Omise sample (a successful PromptPay charge of THB 50.00, the
// shape Opn sends) with its id suffix replaced by a run-unique token per
// event, so the event, charge and source ids all differ from one request to
// the next and no request is a duplicate. Building a body is a few appends,
// so the generator costs the shared CPUs little.
type eventGen struct {
	parts  [][]byte // the sample body split at its id suffix
	prefix string   // unique per run: a second run against the same database adds new events
	seq    atomic.Uint64
}

// newEventGen splits the sample built at now. runID makes the ids unique
// across runs.
func newEventGen(now time.Time, runID string) (*eventGen, error) {
	body, err := bankhooks.Omise{}.Sample("charge.complete", bankhooks.SampleParams{Now: now})
	if err != nil {
		return nil, fmt.Errorf("omise sample: %w", err)
	}
	var env struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("omise sample: %w", err)
	}
	suffix, ok := strings.CutPrefix(env.ID, "evnt_test_")
	if !ok || len(suffix) < 8 {
		return nil, fmt.Errorf("omise sample: unexpected event id %q", env.ID)
	}
	parts := bytes.Split(body, []byte(suffix))
	if len(parts) < 3 { // event id, its location, and at least the charge id
		return nil, errors.New("omise sample: id suffix not found in the body")
	}
	return &eventGen{parts: parts, prefix: "load" + runID}, nil
}

// next returns a new event body and its Opn event id. It is safe for
// concurrent use.
func (g *eventGen) next() (body []byte, eventID string) {
	token := g.prefix + strconv.FormatUint(g.seq.Add(1), 36)
	n := len(token) * (len(g.parts) - 1)
	for _, p := range g.parts {
		n += len(p)
	}
	body = make([]byte, 0, n)
	for i, p := range g.parts {
		if i > 0 {
			body = append(body, token...)
		}
		body = append(body, p...)
	}
	return body, "evnt_test_" + token
}
