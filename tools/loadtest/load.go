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
	// Rate, when positive, selects the open loop: requests are due at Rate
	// per second, evenly spaced, whatever the answers take, with at most
	// MaxInFlight outstanding; Concurrency is then not used.
	Rate        float64
	MaxInFlight int
	// Burst, when positive, selects a burst instead of a timed load:
	// Concurrency senders post Burst events as fast as they are answered,
	// with no warm-up; the measured window runs from the first send to the
	// last answer, and Warmup and Duration are not used.
	Burst int
	Gen   *eventGen
	// AtStart and AtEnd run when the measured window opens and closes
	// (server CPU time, profilers); either may be nil.
	AtStart, AtEnd func()
}

// sample is one finished request. Times are from the start of the measured
// window (negative: warm-up).
type sample struct {
	due      time.Duration // open loop: when the schedule said to send it; closed loop: when it was sent
	sent     time.Duration // when it was sent
	end      time.Duration // when it finished
	lat      time.Duration // end - due: from the scheduled send time in the open loop
	code     int           // HTTP status; 0 for a transport error
	err      string        // the kind of transport error; empty when there was an answer
	accepted bool
}

// acceptedEvent is a 200 "accepted" answer: bankbot's id for the event (empty
// from the bare handler), the Opn event id that was sent, and when the
// request was sent.
type acceptedEvent struct {
	ID         string
	ProviderID string
	Sent       time.Time
}

// loadResult is what one load phase saw.
type loadResult struct {
	// Measured window. Closed loop: the requests that finished inside it.
	// Open loop: the requests scheduled inside it, awaited to the end; their
	// latency is from the scheduled send time.
	Window     time.Duration
	Completed  int         // requests that finished (any outcome)
	OK         int         // 200
	Accepted   int         // 200 with status "accepted"
	Duplicates int         // 200 with another status ("duplicate")
	Non200     map[int]int // by status
	Errors     map[string]int
	Latency    latencySummary // of every request that got an HTTP answer

	// Open loop only (Rate > 0).
	Open *openResult

	// Whole phase, warm-up and drain included.
	Started, Ended time.Time // the first request was due, the last one finished
	TotalSent      int
	TotalAccepted  []acceptedEvent
	TotalErrors    int
	Dials          int64 // TCP connections opened: ≈ Concurrency when keep-alive works
}

// openResult is what the open loop adds: how closely the sends kept to the
// schedule, and the rates by the wall clock inside the window.
type openResult struct {
	Rate        float64 // offered, per second
	MaxInFlight int     // the cap
	PeakFlight  int64   // the most requests outstanding at once
	Scheduled   int     // requests due inside the window
	// Inside the window by the wall clock: requests sent, answers finished,
	// 200 "accepted" answers finished (whenever they were due).
	SentInWindow, FinishedInWindow, AcceptedInWindow int
	// SendLag is how late the scheduled requests were sent (a sender was
	// not free, or the client fell behind); it is part of their latency.
	SendLag latencySummary
	// Drain is how long after the window closed the last scheduled request
	// finished.
	Drain time.Duration
}

// AcceptedPerSecond is the accepted rate over the measured window: 200
// "accepted" answers that finished inside it, per second (in the closed
// loop these are the window's requests; in the open loop they include
// answers to requests due during the warm-up).
func (r *loadResult) AcceptedPerSecond() float64 {
	if r.Window <= 0 {
		return 0
	}
	if r.Open != nil {
		return float64(r.Open.AcceptedInWindow) / r.Window.Seconds()
	}
	return float64(r.Accepted) / r.Window.Seconds()
}

// perSecond is n over the window, per second.
func (r *loadResult) perSecond(n int) float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(n) / r.Window.Seconds()
}

type workerOut struct {
	samples  []sample
	accepted []acceptedEvent
}

// runLoad drives the load of spec: closed loop (spec.Concurrency senders,
// each sending one signed event, waiting for the answer, and sending the
// next) or, when spec.Rate is positive, open loop (see runOpen), for Warmup
// + Duration. Requests still in flight when the window closes are awaited
// and counted in the totals.
func runLoad(ctx context.Context, spec loadSpec) loadResult {
	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	idle := 2 * spec.Concurrency
	if spec.Rate > 0 {
		idle = spec.MaxInFlight
	}
	tr := &http.Transport{
		Proxy: nil, // loopback, never a proxy from the environment
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: spec.Timeout}
	if spec.Burst > 0 {
		res := runBurst(ctx, client, spec)
		res.Dials = dials.Load()
		return res
	}

	start := time.Now()
	windowStart := start.Add(spec.Warmup)
	windowEnd := windowStart.Add(spec.Duration)
	var outs []workerOut
	var peak int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		if spec.Rate > 0 {
			outs, peak = runOpen(ctx, client, spec, realClock{}, start, windowStart)
			return
		}
		outs = make([]workerOut, spec.Concurrency)
		var wg sync.WaitGroup
		for i := range outs {
			wg.Go(func() { outs[i] = sendLoop(ctx, client, spec, windowStart, windowEnd) })
		}
		wg.Wait()
	}()
	// Mark the window on the wall clock for the caller's probes.
	sleepUntil(ctx, windowStart)
	if spec.AtStart != nil {
		spec.AtStart()
	}
	sleepUntil(ctx, windowEnd)
	if spec.AtEnd != nil {
		spec.AtEnd()
	}
	<-done

	res := summarizeLoad(outs, spec)
	res.Started, res.Ended = start, time.Now()
	res.Dials = dials.Load()
	if res.Open != nil {
		res.Open.PeakFlight = peak
	}
	return res
}

// runBurst posts spec.Burst events from spec.Concurrency senders, each
// sending the next as soon as its answer is read. The window is the whole
// burst: from the start to the last answer.
func runBurst(ctx context.Context, client *http.Client, spec loadSpec) loadResult {
	start := time.Now()
	if spec.AtStart != nil {
		spec.AtStart()
	}
	var next atomic.Int64
	outs := make([]workerOut, spec.Concurrency)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			for ctx.Err() == nil && next.Add(1) <= int64(spec.Burst) {
				s, a, stop := send(ctx, client, spec, time.Time{}, start)
				outs[i].add(s, a)
				if stop {
					return
				}
			}
		})
	}
	wg.Wait()
	end := time.Now()
	if spec.AtEnd != nil {
		spec.AtEnd()
	}
	spec.Duration = end.Sub(start)
	res := summarizeLoad(outs, spec)
	res.Started, res.Ended = start, end
	return res
}

// summarizeLoad turns the senders' samples into the phase's result. Closed
// loop: the window's requests are the ones that finished inside it. Open
// loop: the ones due inside it, whenever they finished; the rates count
// what happened inside it by the wall clock.
func summarizeLoad(outs []workerOut, spec loadSpec) loadResult {
	res := loadResult{Window: spec.Duration, Non200: map[int]int{}, Errors: map[string]int{}}
	open := spec.Rate > 0
	if open {
		res.Open = &openResult{Rate: spec.Rate, MaxInFlight: spec.MaxInFlight}
	}
	inWindow := func(d time.Duration) bool { return d >= 0 && d <= spec.Duration }
	var lat, lag []time.Duration
	for _, o := range outs {
		res.TotalSent += len(o.samples)
		res.TotalAccepted = append(res.TotalAccepted, o.accepted...)
		for _, s := range o.samples {
			if s.err != "" {
				res.TotalErrors++
			}
			counted := inWindow(s.end)
			if open {
				counted = s.due >= 0 && s.due < spec.Duration
				if s.sent >= 0 && s.sent < spec.Duration {
					res.Open.SentInWindow++
				}
				if inWindow(s.end) {
					res.Open.FinishedInWindow++
					if s.accepted {
						res.Open.AcceptedInWindow++
					}
				}
				if counted {
					res.Open.Scheduled++
					lag = append(lag, s.sent-s.due)
					res.Open.Drain = max(res.Open.Drain, s.end-spec.Duration)
				}
			}
			if !counted {
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
	if open {
		res.Open.SendLag = summarize(lag)
	}
	return res
}

// sendLoop is one closed-loop sender.
func sendLoop(ctx context.Context, client *http.Client, spec loadSpec, windowStart, windowEnd time.Time) workerOut {
	var out workerOut
	for ctx.Err() == nil && time.Now().Before(windowEnd) {
		s, a, stop := send(ctx, client, spec, time.Time{}, windowStart)
		out.add(s, a)
		if stop {
			break
		}
	}
	return out
}

// add records one request.
func (o *workerOut) add(s sample, a *acceptedEvent) {
	o.samples = append(o.samples, s)
	if a != nil {
		o.accepted = append(o.accepted, *a)
	}
}

// send sends one new event, signed just before it is sent with the current
// time, and reads the answer. due is when the schedule said to send it
// (open loop; the latency is measured from it), or zero to measure from the
// send (closed loop). stop reports a request that could not be built: every
// other would fail the same way.
func send(ctx context.Context, client *http.Client, spec loadSpec, due, windowStart time.Time) (s sample, a *acceptedEvent, stop bool) {
	body, eventID := spec.Gen.next()
	now := time.Now()
	begin := now
	finish := func(errKind string) {
		end := time.Now()
		if due.IsZero() {
			due = begin
		}
		s.due, s.sent = due.Sub(windowStart), begin.Sub(windowStart)
		s.end, s.lat, s.err = end.Sub(windowStart), end.Sub(due), errKind
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, spec.URL, bytes.NewReader(body))
	if err != nil { // a bad URL
		finish(classifyErr(err))
		return s, nil, true
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bankbot-loadtest")
	req.Header.Set(omiseSignatureHeader, hex.EncodeToString(signOmise(spec.Key, ts, body)))
	req.Header.Set(omiseTimestampHeader, ts)
	begin = time.Now()
	resp, err := client.Do(req)
	if err != nil {
		finish(classifyErr(err))
		return s, nil, false
	}
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if err != nil {
		finish(classifyErr(err))
		return s, nil, false
	}
	finish("")
	s.code = resp.StatusCode
	if resp.StatusCode == http.StatusOK {
		var ans struct {
			Status string `json:"status"`
			ID     string `json:"id"`
		}
		if json.Unmarshal(rb, &ans) == nil && ans.Status == "accepted" {
			s.accepted = true
			a = &acceptedEvent{ID: ans.ID, ProviderID: eventID, Sent: begin}
		}
	}
	return s, a, false
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
