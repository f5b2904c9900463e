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

	reloadMu sync.Mutex
	// fingerprint is the content hash of the config files as last loaded,
	// applied or refused: the poller reloads when the files differ from it.
	fingerprint string
	// lastLoaded is the config last decoded by a load or reload, applied or
	// refused; the poller watches the files it names.
	lastLoaded *config.Config
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
	a := &App{opts: opts, log: log, clock: opts.Clock, routeWake: make(chan struct{}, 1), owner: newOwnerID(), tokens: &dingtalk.TokenCache{}}
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
	a.deliverer = newDeliverer(a)
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
	hookLn, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		a.store.Close()
		return fmt.Errorf("server.listen %s: %w", cfg.Server.Listen, err)
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
	// 3. Close the store.
	errs = append(errs, a.store.Close())
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		a.log.WithError(err).Warn("shutdown was not clean")
	}
	a.log.Info("bankbot stopped")
	return runErr
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
