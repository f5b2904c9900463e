package schedule

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/bot/internal/clocktest"
	"github.com/bankbot/bankbot/store"
	"github.com/bankbot/bankbot/store/storetest"
)

const demoKey = "YmFua2JvdC1kZW1vLXNlY3JldC1kby1ub3QtdXNlLWluLXByb2R1Y3Rpb24="

var bangkok = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Bangkok")
	if err != nil {
		panic(err)
	}
	return loc
}()

// bkk is a time in Asia/Bangkok.
func bkk(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, bangkok)
}

// fakeClock is the manual clock of clocktest (After registers a timer that
// Set fires).
type fakeClock struct{ *clocktest.Clock }

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{clocktest.New(t)} }

// mark returns the sequence number of the last timer registered.
func (c *fakeClock) mark() int { return c.Mark() }

// waitSleeping waits until n goroutines (runners' loops) sleep on timers
// registered after mark that are not due yet: they finished the round the
// last change started.
func (c *fakeClock) waitSleeping(t *testing.T, mark, n int) {
	t.Helper()
	c.WaitPending(t, mark, n)
}

// advance moves the clock to to and waits until n runners sleep again.
func (c *fakeClock) advance(t *testing.T, to time.Time, n int) {
	t.Helper()
	m := c.mark()
	c.Set(to)
	c.waitSleeping(t, m, n)
}

// stores returns the drivers to run a test on: SQLite in t.TempDir, and
// PostgreSQL when BANKBOT_TEST_POSTGRES_DSN is set.
func stores() []string {
	out := []string{"sqlite"}
	if os.Getenv("BANKBOT_TEST_POSTGRES_DSN") != "" {
		out = append(out, "postgres")
	}
	return out
}

// openStore opens a new, empty store of the driver.
func openStore(t *testing.T, driver string) store.Store {
	t.Helper()
	var (
		s   store.Store
		err error
	)
	switch driver {
	case "postgres":
		s, err = store.OpenPostgres(t.Context(), pgSchema(t))
	default:
		s, err = store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "bankbot.db"))
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pgSchema creates a schema for one test, dropped at cleanup, and returns a
// DSN whose search_path points at it.
var pgSchema = storetest.PostgresSchema

// loadConfig writes yaml (after a common head: Asia/Bangkok, sources opn
// and stripe, robot finance) to a file and loads it.
func loadConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	yaml := `timezone: Asia/Bangkok
language: en
storage: {driver: sqlite, dsn: ":memory:"}
sources:
  opn:
    provider: omise
    secrets:
      - value: ` + demoKey + `
  stripe:
    provider: omise
    secrets:
      - value: ` + demoKey + `
robots:
  finance:
    type: console
routes:
  - name: all
    robot: finance
` + extra
	return loadYAML(t, yaml)
}

// loadYAML loads a whole config file.
func loadYAML(t *testing.T, yaml string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	return cfg
}

// posted records the messages the jobs post.
type posted struct {
	mu   sync.Mutex
	msgs []Message
	fail error
}

func (p *posted) post(_ context.Context, m Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.msgs = append(p.msgs, m)
	return nil
}

func (p *posted) all() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Message(nil), p.msgs...)
}

// tickResult is one OnTick call.
type tickResult struct{ schedule, job, result string }

// runner is a Runner under test, its results and its log.
type runner struct {
	*Runner
	results chan tickResult
	log     *bytes.Buffer
	logMu   *sync.Mutex
	stop    func()
}

type syncWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// startRunner starts a runner of cfg on clock and st, named owner.
func startRunner(t *testing.T, owner string, clock Clock, st store.Store, cfg *config.Config, p *posted) *runner {
	t.Helper()
	return startRunnerJobs(t, owner, clock, st, cfg, p, nil)
}

// startRunnerJobs is startRunner with another job registry (nil: Registry).
func startRunnerJobs(t *testing.T, owner string, clock Clock, st store.Store, cfg *config.Config, p *posted, jobs map[string]Job) *runner {
	t.Helper()
	r := &runner{results: make(chan tickResult, 100), log: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	l := logrus.New()
	l.SetOutput(syncWriter{r.logMu, r.log})
	r.Runner = New(Options{Clock: clock, Log: l, Owner: owner, Deps: Deps{Store: st, Post: p.post}, Jobs: jobs,
		OnTick: func(s, j, res string) { r.results <- tickResult{s, j, res} }})
	require.NoError(t, r.Apply(cfg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		r.Run(ctx)
		close(done)
	}()
	r.stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(r.stop)
	return r
}

// apply applies cfg and waits until the runner sleeps again.
func (r *runner) apply(t *testing.T, c *fakeClock, cfg *config.Config) {
	t.Helper()
	m := c.mark()
	require.NoError(t, r.Apply(cfg))
	c.waitSleeping(t, m, 1)
}

// next waits for the runner's next tick result.
func (r *runner) next(t *testing.T) tickResult {
	t.Helper()
	select {
	case res := <-r.results:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("no tick finished")
		return tickResult{}
	}
}

// none checks that no tick result is pending.
func (r *runner) none(t *testing.T) {
	t.Helper()
	select {
	case res := <-r.results:
		t.Fatalf("unexpected tick %+v", res)
	default:
	}
}

func (r *runner) logText() string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return r.log.String()
}

// event inserts a live event of source received at at.
func event(t *testing.T, s store.Store, id, source string, kind bankhooks.Kind, amount int64, currency string, at time.Time) {
	t.Helper()
	insertEvent(t, s, id, source, kind, amount, currency, at, true)
}

// testModeEvent inserts an event the provider sent in test mode.
func testModeEvent(t *testing.T, s store.Store, id, source string, kind bankhooks.Kind, amount int64, currency string, at time.Time) {
	t.Helper()
	insertEvent(t, s, id, source, kind, amount, currency, at, false)
}

func insertEvent(t *testing.T, s store.Store, id, source string, kind bankhooks.Kind, amount int64, currency string, at time.Time, live bool) {
	t.Helper()
	_, err := s.InsertEvent(t.Context(), store.NewEvent{
		ID: id, Source: source, ReceivedAt: at, Body: []byte(`{}`),
		Event: bankhooks.Event{Provider: "omise", ID: "p_" + id, Kind: kind, Amount: amount, Currency: currency,
			Reference: "ref-" + id, Livemode: live, OccurredAt: at},
	})
	require.NoError(t, err)
}
