package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadSpec is one load phase against one server.
type loadSpec struct {
	URL         string
	Key         []byte // the decoded Opn secret
	Concurrency int
	Warmup      time.Duration
	Duration    time.Duration
	Timeout     time.Duration // per request
	Gen         *eventGen
	// AtStart and AtEnd run when the measured window opens and closes
	// (server CPU time, profilers); either may be nil.
	AtStart, AtEnd func()
}

// sample is one finished request.
type sample struct {
	end      time.Duration // when it finished, from the start of the measured window (negative: warm-up)
	lat      time.Duration
	code     int    // HTTP status; 0 for a transport error
	err      string // the kind of transport error; empty when there was an answer
	accepted bool
}

// acceptedEvent is a 200 "accepted" answer: bankbot's id for the event (empty
// from the bare handler) and the Opn event id that was sent.
type acceptedEvent struct {
	ID         string
	ProviderID string
}

// loadResult is what one load phase saw.
type loadResult struct {
	// Measured window: requests that finished inside it.
	Window     time.Duration
	Completed  int         // requests that finished (any outcome)
	OK         int         // 200
	Accepted   int         // 200 with status "accepted"
	Duplicates int         // 200 with another status ("duplicate")
	Non200     map[int]int // by status
	Errors     map[string]int
	Latency    latencySummary // of every request that got an HTTP answer

	// Whole phase, warm-up and drain included.
	TotalSent     int
	TotalAccepted []acceptedEvent
	TotalErrors   int
	Dials         int64 // TCP connections opened: ≈ Concurrency when keep-alive works
}

// AcceptedPerSecond is the accepted rate over the measured window.
func (r *loadResult) AcceptedPerSecond() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Accepted) / r.Window.Seconds()
}

type workerOut struct {
	samples  []sample
	accepted []acceptedEvent
}

// runLoad drives spec.Concurrency closed-loop senders: each sends one signed
// event, waits for the answer, and sends the next, for Warmup + Duration.
// Only requests that finish inside the measured window (after the warm-up)
// count towards its rates and latencies; requests still in flight when it
// closes are awaited and counted in the totals.
func runLoad(ctx context.Context, spec loadSpec) loadResult {
	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil, // loopback, never a proxy from the environment
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        2 * spec.Concurrency,
		MaxIdleConnsPerHost: 2 * spec.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: spec.Timeout}

	start := time.Now()
	windowStart := start.Add(spec.Warmup)
	windowEnd := windowStart.Add(spec.Duration)
	outs := make([]workerOut, spec.Concurrency)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() { outs[i] = sendLoop(ctx, client, spec, windowStart, windowEnd) })
	}
	// Mark the window on the wall clock for the caller's probes.
	sleepUntil(ctx, windowStart)
	if spec.AtStart != nil {
		spec.AtStart()
	}
	sleepUntil(ctx, windowEnd)
	if spec.AtEnd != nil {
		spec.AtEnd()
	}
	wg.Wait()

	res := loadResult{Window: spec.Duration, Non200: map[int]int{}, Errors: map[string]int{}, Dials: dials.Load()}
	var lat []time.Duration
	for _, o := range outs {
		res.TotalSent += len(o.samples)
		res.TotalAccepted = append(res.TotalAccepted, o.accepted...)
		for _, s := range o.samples {
			if s.err != "" {
				res.TotalErrors++
			}
			if s.end < 0 || s.end > spec.Duration {
				continue
			}
			res.Completed++
			switch {
			case s.err != "":
				res.Errors[s.err]++
				continue
			case s.code == http.StatusOK && s.accepted:
				res.OK++
				res.Accepted++
			case s.code == http.StatusOK:
				res.OK++
				res.Duplicates++
			default:
				res.Non200[s.code]++
			}
			lat = append(lat, s.lat)
		}
	}
	res.Latency = summarize(lat)
	return res
}

// sendLoop is one sender. Each event is signed just before it is sent, with
// the current time.
func sendLoop(ctx context.Context, client *http.Client, spec loadSpec, windowStart, windowEnd time.Time) workerOut {
	var out workerOut
	for ctx.Err() == nil && time.Now().Before(windowEnd) {
		body, eventID := spec.Gen.next()
		now := time.Now()
		ts := strconv.FormatInt(now.Unix(), 10)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, spec.URL, bytes.NewReader(body))
		if err != nil { // a bad URL: every request would fail the same way
			out.samples = append(out.samples, sample{err: classifyErr(err)})
			return out
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "bankbot-loadtest")
		req.Header.Set(omiseSignatureHeader, hex.EncodeToString(signOmise(spec.Key, ts, body)))
		req.Header.Set(omiseTimestampHeader, ts)
		begin := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			end := time.Now()
			out.samples = append(out.samples, sample{end: end.Sub(windowStart), lat: end.Sub(begin), err: classifyErr(err)})
			continue
		}
		rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		end := time.Now()
		if err != nil {
			out.samples = append(out.samples, sample{end: end.Sub(windowStart), lat: end.Sub(begin), err: classifyErr(err)})
			continue
		}
		s := sample{end: end.Sub(windowStart), lat: end.Sub(begin), code: resp.StatusCode}
		if resp.StatusCode == http.StatusOK {
			var ans struct {
				Status string `json:"status"`
				ID     string `json:"id"`
			}
			if json.Unmarshal(rb, &ans) == nil && ans.Status == "accepted" {
				s.accepted = true
				out.accepted = append(out.accepted, acceptedEvent{ID: ans.ID, ProviderID: eventID})
			}
		}
		out.samples = append(out.samples, s)
	}
	return out
}

// classifyErr names a transport error without its addresses, so equal
// failures group together.
func classifyErr(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}
