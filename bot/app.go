package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/net/netutil"

	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/store"
)

// Options start an App. main fills them from flags and signals.
type Options struct {
	// ConfigPath is the config file; it is watched for changes.
	ConfigPath string
	// Reload receives a value for every SIGHUP.
	Reload <-chan struct{}
	// Version is reported by /metrics and the admin page.
	Version string
	// Clock defaults to the system clock.
	Clock Clock
	// HTTPClient is used for DingTalk; a client with sane timeouts by default.
	HTTPClient *http.Client
	// LogOutput defaults to stderr.
	LogOutput io.Writer
	// Env looks up ${VAR}s; os.LookupEnv by default.
	Env config.LookupEnv
}

// App is a running bankbot.
type App struct {
	opts    Options
	log     *logrus.Logger
	clock   Clock
	store   store.Store
	metrics *Metrics
	runtime atomic.Pointer[Runtime]
	owner   string // lease owner id of this process
	tokens  *dingtalk.TokenCache

	routeWake chan struct{}
	deliverer *deliverer
	// chat answers DingTalk @-messages (POST /dingtalk/callback).
	chat *chatBridge

	reloadMu sync.Mutex
	// fingerprint is the content hash of the config files as last loaded,
	// applied or refused: the poller reloads when the files differ from it.
	fingerprint string
	// lastLoaded is the config last decoded by a load or reload, applied or
	// refused; the poller watches the files it names.
	lastLoaded *config.Config
	// lastReload is the outcome of the last load or reload, shown on /admin/.
	lastReload reloadStatus
	// refusedInARow counts reloads refused since the last good one.
	refusedInARow int
	// transientInARow counts reloads in a row that could not read the file.
	transientInARow int
	// loadConfig is config.Load; tests replace it to fail on cue.
	loadConfig func(path string, env config.LookupEnv) (*config.Config, error)

	// rejectLog rate-limits the log lines of rejected webhooks.
	rejectLog *logLimiter
	// confirmAlerts remembers the sources whose failing confirmation the
	// ops route was told about.
	confirmAlerts confirmState
	// appliedAt is when the running config was applied (reloadMu).
	appliedAt time.Time
	// rejects counts rejected webhooks of the last hour for the console.
	rejects rejectCounter
	// console is the web console's handler (consoleHandler).
	consoleOnce sync.Once
	console     http.Handler
}

// Run loads the config, opens the store, serves until ctx is cancelled, then
// shuts down in order: stop accepting webhooks, stop workers (in-flight sends
// finish), close the store.
func Run(ctx context.Context, opts Options) error {
	a, err := newApp(ctx, opts)
	if err != nil {
		return err
	}
	return a.serve(ctx)
}

func newApp(ctx context.Context, opts Options) (*App, error) {
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.LogOutput == nil {
		opts.LogOutput = os.Stderr
	}
	if opts.Env == nil {
		opts.Env = os.LookupEnv
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = newHTTPClient()
	}
	log := logrus.New()
	log.SetOutput(opts.LogOutput)
	cfg, err := config.Load(opts.ConfigPath, opts.Env)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", opts.ConfigPath, err)
	}
	configureLogger(log, cfg.Log)
	a := &App{opts: opts, log: log, clock: opts.Clock, routeWake: make(chan struct{}, 1), owner: newOwnerID(), tokens: &dingtalk.TokenCache{},
		loadConfig: config.Load, rejectLog: newLogLimiter(rejectLogEvery)}
	rt, err := Build(cfg, a.buildDeps())
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", opts.ConfigPath, err)
	}
	for _, w := range cfg.Warnings(a.clock.Now()) {
		log.WithField("config", cfg.Path).Warn(w)
	}
	st, err := OpenStore(ctx, cfg.Storage)
	if err != nil {
		return nil, err
	}
	a.store = st
	a.metrics = NewMetrics(st, opts.Version, a.clock)
	a.runtime.Store(rt)
	a.fingerprint = fingerprint(cfg.Path, cfg)
	a.lastLoaded = cfg
	a.metrics.ReloadOK.Set(1)
	a.metrics.ReloadTime.Set(float64(a.clock.Now().Unix()))
	a.metrics.ConfigInfo.WithLabelValues(cfg.Hash[:12]).Set(1)
	a.precreateMetrics(rt)
	a.lastReload = reloadStatus{At: a.clock.Now(), Trigger: "start", Result: string(ReloadApplied)}
	a.appliedAt = a.lastReload.At
	a.deliverer = newDeliverer(a)
	a.chat = newChatBridge(a)
	return a, nil
}

func (a *App) buildDeps() BuildDeps {
	return BuildDeps{Log: a.log, Clock: a.clock, HTTPClient: a.opts.HTTPClient, Tokens: a.tokens}
}

func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second, // a backstop; each send has its own shorter deadline
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func configureLogger(log *logrus.Logger, c config.Log) {
	if c.Format == "text" {
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	} else {
		log.SetFormatter(&logrus.JSONFormatter{})
	}
	if lvl, err := logrus.ParseLevel(c.Level); err == nil {
		log.SetLevel(lvl)
	}
}

// OpenStore opens the store the config names (the server and the CLI's
// outbox commands share it).
func OpenStore(ctx context.Context, s config.Storage) (store.Store, error) {
	switch s.Driver {
	case "postgres":
		st, err := store.OpenPostgres(ctx, s.DSN.Reveal())
		if err != nil {
			return nil, fmt.Errorf("open postgres store: %w", err)
		}
		return st, nil
	default:
		st, err := store.OpenSQLite(ctx, s.DSN.Reveal())
		if err != nil {
			return nil, fmt.Errorf("open sqlite store %s: %w", s.DSN.Reveal(), err)
		}
		return st, nil
	}
}

func (a *App) serve(ctx context.Context) error {
	rt := a.runtime.Load()
	cfg := rt.Config
	hookLn, err := listenHooks(cfg.Server)
	if err != nil {
		a.store.Close()
		return err
	}
	adminLn, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		hookLn.Close()
		a.store.Close()
		return fmt.Errorf("admin.listen %s: %w", cfg.Admin.Listen, err)
	}
	hookSrv := a.newServer(a.hookRouter(), cfg.Server)
	adminSrv := a.newServer(a.adminRouter(), cfg.Server)

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() { errc <- serveHTTP(hookSrv, hookLn) })
	wg.Go(func() { errc <- serveHTTP(adminSrv, adminLn) })
	var workers sync.WaitGroup
	workers.Go(func() { a.routeLoop(workCtx) })
	workers.Go(func() { a.reloadLoop(workCtx) })
	a.deliverer.sync(workCtx)
	a.chat.start(workCtx)
	if a.chatStreamOn() {
		// Stopped with the other workers, before a.chat.stop: no message
		// is handed over after that.
		workers.Go(func() { a.runChatStream(workCtx) })
	}

	a.log.WithFields(logrus.Fields{
		"listen": hookLn.Addr().String(), "admin": adminLn.Addr().String(),
		"config": cfg.Path, "storage": cfg.Storage.Driver, "version": a.opts.Version,
		"sources": len(rt.Sources), "robots": len(rt.Robots), "routes": len(rt.Routes),
	}).Info("bankbot started")

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		a.log.WithError(runErr).Error("listener failed")
	}
	a.log.Info("shutting down")
	deadline, cancel := context.WithTimeout(context.Background(), config.DefaultShutdown)
	defer cancel()
	// 1. Stop accepting webhooks; requests in progress finish (their events commit).
	var errs []error
	errs = append(errs, hookSrv.Shutdown(deadline), adminSrv.Shutdown(deadline))
	// 2. Stop claiming; sends in progress finish within their own timeout.
	stopWork()
	workers.Wait()
	a.deliverer.wait()
	a.chat.stop() // commands in progress finish; their replies give up waiting for budget
	// 3. Close the store.
	errs = append(errs, a.store.Close())
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		a.log.WithError(err).Warn("shutdown was not clean")
	}
	a.log.Info("bankbot stopped")
	return runErr
}

// listenHooks opens the webhook listener, capped at server.max_connections
// concurrent connections (idle keep-alive ones count), so a flood of slow
// connections cannot exhaust the process's file descriptors, which the store
// and the DingTalk client need too.
//
// Failure policy: fails closed because an unbounded accept loop lets a
// slow-connection flood take every descriptor and stop the store and the
// deliveries as well; at the cap, new connections wait in the kernel's
// accept backlog (they are not refused) until a slot frees, and
// server.read_header_timeout / idle_timeout bound how long a slot is held.
// The admin listener is not capped, so /healthz and /metrics still answer.
func listenHooks(c config.Server) (net.Listener, error) {
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, fmt.Errorf("server.listen %s: %w", c.Listen, err)
	}
	n := c.MaxConnections
	if n < 1 {
		n = config.DefaultMaxConnections
	}
	return netutil.LimitListener(ln, n), nil
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (a *App) newServer(h http.Handler, c config.Server) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
}

func (a *App) wakeRouter() {
	select {
	case a.routeWake <- struct{}{}:
	default:
	}
}

// rejectLogEvery is the least time between two log lines of rejected
// webhooks with the same source and reason.
const rejectLogEvery = 10 * time.Second

// logLimiter allows one log line per key per interval and counts the lines
// it suppressed in between, so a flood of bad requests (a misconfigured
// sender retrying, a scanner) cannot fill the disk or drown other lines.
//
// Failure policy: fails open for requests because it only decides whether a
// line is written, never whether a webhook is answered; over the rate, lines
// are dropped and the next line of the key says how many (lines dropped at
// the end of a flood are only in the metric), and
// bankbot_webhooks_received_total keeps the full count. Keys are a
// configured source and a fixed reason code, so the map stays small.
type logLimiter struct {
	every time.Duration
	mu    sync.Mutex
	keys  map[string]*logLimit
}

type logLimit struct {
	last       time.Time
	suppressed int
}

func newLogLimiter(every time.Duration) *logLimiter {
	return &logLimiter{every: every, keys: map[string]*logLimit{}}
}

// allow reports whether a line for key may be written at now and, if so, how
// many lines for key were suppressed since the last one written.
func (l *logLimiter) allow(key string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.keys[key]
	if st == nil {
		l.keys[key] = &logLimit{last: now}
		return true, 0
	}
	if d := now.Sub(st.last); d >= l.every || d < 0 {
		n := st.suppressed
		st.last, st.suppressed = now, 0
		return true, n
	}
	st.suppressed++
	return false, 0
}
