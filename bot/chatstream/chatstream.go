// Package chatstream receives chat commands over DingTalk's Stream mode
// (dingtalk.md §6.5): bankbot dials out to DingTalk's gateway over a
// WebSocket, so no public URL is needed. Run supervises the SDK client: one
// connection at a time, held only by the replica that holds a store lease,
// reconnected with backoff when it drops, with the SDK's and the handler's
// panics recovered.
package chatstream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"
	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bot/chatops"
)

// LeaseName is the store lease the stream's holder keeps.
const LeaseName = "chatops-stream"

// Events passed to Options.OnEvent (the metrics hook).
const (
	EventConnect      = "connect"       // a connection is up
	EventConnectError = "connect_error" // opening a connection failed
	EventDrop         = "drop"          // an open connection went away
	EventLeaseLost    = "lease_lost"    // the lease went to another replica (or could not be renewed)
	EventPanic        = "panic"         // a panic was recovered
)

// Clock is the time source of the waits (backoff, lease renewal).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Lease is the store's named lease (store.Store has it).
type Lease interface {
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration, now time.Time) (held bool, err error)
	ReleaseLease(ctx context.Context, name, owner string) error
}

// Handler handles one decoded message, as POST /dingtalk/callback does
// after verifying it: dedupe by msgId, then run the command. It should
// return quickly (the frame is acknowledged when it returns); an error
// acknowledges the frame as failed so DingTalk may deliver it again.
type Handler func(ctx context.Context, m chatops.Message) error

// Options configure Run.
type Options struct {
	AppKey, AppSecret string
	// APIBase is the OpenAPI root the gateway's connection endpoint is
	// asked from (default https://api.dingtalk.com).
	APIBase string
	// Proxy is an outbound proxy URL for the gateway; empty = none.
	Proxy string

	// Lease is required: no lease, no stream.
	Lease     Lease
	LeaseName string        // default LeaseName
	Owner     string        // this replica; default hostname-pid-random
	LeaseTTL  time.Duration // default 30 s; renewed every LeaseTTL/3

	MinBackoff, MaxBackoff time.Duration // default 1 s and 60 s
	// Rand returns a float in [0,1) for the backoff jitter; nil = math/rand/v2.
	Rand func() float64
	// ConnectTimeout bounds one connection attempt (default 30 s).
	ConnectTimeout time.Duration
	// Poll is how often the connection is checked for a drop (default 1 s).
	Poll time.Duration

	Clock Clock // default the real clock
	Log   logrus.FieldLogger
	// OnEvent is the metrics hook, called with the Event* constants.
	OnEvent func(event string)
}

func (o *Options) defaults() error {
	if o.AppKey == "" || o.AppSecret == "" {
		return errors.New("chatstream: app_key and app_secret are required")
	}
	if o.Lease == nil {
		return errors.New("chatstream: a lease is required (one stream per deployment)")
	}
	if o.LeaseName == "" {
		o.LeaseName = LeaseName
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		o.Owner = host + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64()%1e6, 10)
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(60*time.Second, o.MinBackoff)
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetOutput(os.Stderr)
		o.Log = l
	}
	if o.OnEvent == nil {
		o.OnEvent = func(string) {}
	}
	return nil
}

// backoff is the wait before the attempt-th reconnect (1-based):
// MinBackoff doubling per attempt, capped at MaxBackoff, times [0.5, 1.5)
// jitter (capped again), so replicas and restarts do not reconnect in step.
func (o *Options) backoff(attempt int) time.Duration {
	d := o.MinBackoff
	for i := 1; i < attempt && d < o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.MaxBackoff)
	return min(time.Duration(float64(d)*(0.5+o.Rand())), o.MaxBackoff)
}

// supervisor is one Run.
type supervisor struct {
	o   Options
	h   Handler
	log logrus.FieldLogger

	held bool // the lease, as of the last acquire

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// Why a connection ended.
type ended int

const (
	endCtx ended = iota
	endConnectError
	endDrop
	endLeaseLost
)

// Run holds the Stream connection until ctx ends, handing each bot message
// to h. It returns nil when ctx ends, an error only for bad Options or an
// SDK it cannot watch. When Run returns, h is not running and will not be
// called again, and the lease is released.
//
// Failure policy (fails closed: no lease, no stream):
//   - The lease: the stream is opened only while this replica holds
//     o.LeaseName; it is renewed every LeaseTTL/3 and, when a renewal
//     fails or finds the lease taken, the connection is closed at once
//     (a store error counts as lost: another replica may take the lease
//     when it expires, and two streams would answer every command twice).
//     Not holding it, Run retries every LeaseTTL/3.
//   - A failed connect or a dropped connection is retried after
//     backoff(attempt): 1 s doubling to 60 s, ±50 % jitter. The attempt
//     count goes back to 1 after a connection that stayed up MaxBackoff.
//     The lease is renewed during the wait, so a flapping gateway does not
//     hand the stream around.
//   - Panics in the connect call and in the handler are recovered, logged
//     and counted (EventPanic); a panicking handler nacks its frame. The
//     SDK recovers its own read/dispatch goroutines (v0.9.2-beta.1).
//   - A message that does not decode is logged and acknowledged (a
//     redelivery would not decode either); a handler error is nacked.
func Run(ctx context.Context, o Options, h Handler) error {
	if h == nil {
		return errors.New("chatstream: a handler is required")
	}
	if err := o.defaults(); err != nil {
		return err
	}
	s := &supervisor{o: o, h: h, log: o.Log.WithFields(logrus.Fields{"component": "chat_stream", "owner": o.Owner})}
	defer s.shutdown()

	attempt := 0
	for ctx.Err() == nil {
		if !s.acquire(ctx) {
			if !s.sleep(ctx, s.renewEvery()) {
				return nil
			}
			continue
		}
		up, why, err := s.connection(ctx, attempt)
		if err != nil {
			return err
		}
		switch why {
		case endCtx:
			return nil
		case endLeaseLost:
			attempt = 0
			continue // not holding: the loop waits and retries the lease
		case endDrop:
			if up >= o.MaxBackoff {
				attempt = 0
			}
		}
		attempt++
		d := o.backoff(attempt)
		s.log.WithFields(logrus.Fields{"attempt": attempt, "wait": d.String()}).Info("chat stream: reconnecting after backoff")
		if !s.pause(ctx, d) {
			return nil
		}
	}
	return nil
}

// leaseTimeout bounds one lease call (real time: a store round trip).
const leaseTimeout = 5 * time.Second

func (s *supervisor) renewEvery() time.Duration { return max(s.o.LeaseTTL/3, time.Millisecond) }

// acquire takes or renews the lease; it logs the changes of hands.
func (s *supervisor) acquire(ctx context.Context) bool {
	c, cancel := context.WithTimeout(ctx, leaseTimeout)
	held, err := s.o.Lease.AcquireLease(c, s.o.LeaseName, s.o.Owner, s.o.LeaseTTL, s.o.Clock.Now())
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			s.log.WithError(err).Warn("chat stream: lease not renewed (store error); not holding the stream")
		}
		held = false
	}
	if held != s.held {
		if held {
			s.log.WithField("lease", s.o.LeaseName).Info("chat stream: lease acquired")
		} else if err == nil {
			s.log.WithField("lease", s.o.LeaseName).Info("chat stream: lease held by another replica")
		}
	}
	s.held = held
	return held
}

// sleep waits d on the clock; false when ctx ended first.
func (s *supervisor) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-s.o.Clock.After(d):
		return true
	}
}

// pause waits d, renewing the lease every renewEvery meanwhile; false when
// ctx ended. Losing the lease ends the pause early (the loop then waits for
// the lease instead).
func (s *supervisor) pause(ctx context.Context, d time.Duration) bool {
	end := s.o.Clock.Now().Add(d)
	for {
		left := end.Sub(s.o.Clock.Now())
		if left <= 0 {
			return true
		}
		if !s.sleep(ctx, min(left, s.renewEvery())) {
			return false
		}
		if s.o.Clock.Now().Before(end) && !s.acquire(ctx) {
			s.o.OnEvent(EventLeaseLost)
			return ctx.Err() == nil
		}
	}
}

// connection opens one connection and watches it until it drops, the
// lease is lost or ctx ends; up is how long it was open.
func (s *supervisor) connection(ctx context.Context, attempt int) (up time.Duration, why ended, err error) {
	opts := []client.ClientOption{
		client.WithAppCredential(client.NewAppCredentialConfig(s.o.AppKey, s.o.AppSecret)),
		client.WithAutoReconnect(false),
	}
	if s.o.APIBase != "" {
		opts = append(opts, client.WithOpenApiHost(s.o.APIBase))
	}
	if s.o.Proxy != "" {
		opts = append(opts, client.WithProxy(s.o.Proxy))
	}
	cli := client.NewStreamClient(opts...)
	defer cli.Close()
	cli.RegisterChatBotCallbackRouter(s.onMessage)
	if _, err := sdkConnected(cli); err != nil {
		return 0, endCtx, err
	}

	if err := s.start(ctx, cli); err != nil {
		if ctx.Err() != nil {
			return 0, endCtx, nil
		}
		s.o.OnEvent(EventConnectError)
		s.log.WithError(err).WithField("attempt", attempt).Warn("chat stream: connect failed")
		return 0, endConnectError, nil
	}
	started := s.o.Clock.Now()
	s.o.OnEvent(EventConnect)
	s.log.WithFields(logrus.Fields{"attempt": attempt, "api_base": s.o.APIBase}).Info("chat stream: connected")

	poll := time.NewTicker(s.o.Poll)
	defer poll.Stop()
	renew := s.o.Clock.After(s.renewEvery())
	for {
		select {
		case <-ctx.Done():
			s.log.Info("chat stream: closing (shutdown)")
			return s.o.Clock.Now().Sub(started), endCtx, nil
		case <-poll.C:
			ok, err := sdkConnected(cli)
			if err != nil {
				return 0, endCtx, err
			}
			if !ok {
				up := s.o.Clock.Now().Sub(started)
				s.o.OnEvent(EventDrop)
				s.log.WithField("up", up.String()).Warn("chat stream: connection dropped")
				return up, endDrop, nil
			}
		case <-renew:
			if !s.acquire(ctx) {
				if ctx.Err() != nil {
					return s.o.Clock.Now().Sub(started), endCtx, nil
				}
				s.o.OnEvent(EventLeaseLost)
				s.log.Warn("chat stream: lease lost; closing the connection")
				return s.o.Clock.Now().Sub(started), endLeaseLost, nil
			}
			renew = s.o.Clock.After(s.renewEvery())
		}
	}
}

// start is cli.Start bounded by ConnectTimeout, its panics recovered.
func (s *supervisor) start(ctx context.Context, cli *client.StreamClient) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.o.OnEvent(EventPanic)
			s.log.WithField("panic", fmt.Sprint(p)).Error("chat stream: connect panicked")
			err = fmt.Errorf("chatstream: connect panicked: %v", p)
		}
	}()
	c, cancel := context.WithTimeout(ctx, s.o.ConnectTimeout)
	defer cancel()
	return cli.Start(c)
}

var errStopped = errors.New("chatstream: stopped")

// onMessage is the SDK's chat bot handler: decode, then h, its panics
// recovered. After shutdown it refuses (the frame is nacked).
func (s *supervisor) onMessage(ctx context.Context, d *chatbot.BotCallbackDataModel) (_ []byte, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errStopped
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()
	defer func() {
		if p := recover(); p != nil {
			s.o.OnEvent(EventPanic)
			s.log.WithField("panic", fmt.Sprint(p)).Error("chat stream: message handler panicked")
			err = fmt.Errorf("chatstream: handler panicked: %v", p)
		}
	}()
	m, err := ToMessage(d)
	if err != nil {
		s.log.WithError(err).Warn("chat stream: message dropped (not decodable)")
		return nil, nil
	}
	if err := s.h(ctx, m); err != nil {
		s.log.WithError(err).WithField("msg_id", m.MsgID).Warn("chat stream: message not handled; DingTalk may redeliver it")
		return nil, err
	}
	return nil, nil
}

// shutdown stops handing messages to h, waits for the calls in progress
// and releases the lease.
func (s *supervisor) shutdown() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.inflight.Wait()
	if s.held {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.o.Lease.ReleaseLease(c, s.o.LeaseName, s.o.Owner); err != nil {
			s.log.WithError(err).Warn("chat stream: lease not released; it expires by itself")
		}
		cancel()
	}
	s.log.Info("chat stream: stopped")
}
