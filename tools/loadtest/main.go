// Command loadtest measures how many signed Opn webhooks per second bankbot
// accepts, durably, compared with a bare handler that only verifies the
// signature and answers 200. docs/PERFORMANCE.md records its results.
//
//	go run ./tools/loadtest [--concurrency 64 | --rate N [--max-inflight 512] | --burst N] [--duration 10s] [--warmup 2s]
//	    [--bin PATH] [--targets bare,bankbot] [--db-dir DIR | --postgres DSN] [--routed-timeout 5m]
//	    [--dingtalk [--shown-timeout 15m]] [--keep] [--perf DIR]
//
// It builds bankbot (or takes --bin), writes a temporary config (SQLite in a
// temporary directory, an omise source "load", a console robot and a route
// to it, log level warn), and runs each target as its own child process on
// loopback: first the bare handler (this program's hidden `bare` mode), then
// `bankbot serve`. Each target gets the same load of unique, freshly signed
// Opn charge.complete events on keep-alive connections, in one of two modes:
//
//   - closed loop (the default): --concurrency senders, each waiting for the
//     answer before sending the next. After a warm-up, requests that finish
//     in the measured window count; latency runs from sending to the whole
//     answer. The server's speed sets the rate.
//   - open loop (--rate N): N requests per second, evenly spaced, sent on
//     schedule whatever the answers take (at most --max-inflight outstanding;
//     a request that must wait for a free sender goes out late). The
//     requests due in the measured window count, each awaited to its end,
//     and latency runs from the time it was due, not sent, so a slow server
//     cannot hide its stalls by slowing the sender down (no coordinated
//     omission). The report adds the achieved rates inside the window (sent,
//     answered, accepted), how late sends were, and how long the window's
//     last answers took after it closed.
//
// For each target it prints the accepted rate, status counts, exact latency
// percentiles (p50, p90, p99, max), peak RSS (VmHWM) and CPU time of the
// server process. For bankbot it then polls /metrics on the admin listener
// until no accepted event waits to be routed (bankbot_outbox_depth
// {status="unrouted"} is 0; --routed-timeout, 0 to skip) and reports the
// events stored and routed per second: the accepted events
// (bankbot_webhooks_received_total{source="load",result="accepted"}) over
// the time from the start of the load to that scrape. Finally it checks that
// every "accepted" answer is an event in the database, through /metrics
// before stopping the server and through the store after.
//
// Other modes:
//
//   - --burst N: instead of a timed load, --concurrency senders post N
//     events as fast as they are answered, with no warm-up.
//   - --postgres DSN: bankbot runs on PostgreSQL instead of SQLite, in a new
//     schema lt_<random> (search_path and application_name in bankbot's
//     DSN), dropped after the run unless --keep. The report adds the CPU
//     time of bankbot's PostgreSQL connections and the server's background
//     processes, so that "other CPU" is still the rest of the machine.
//   - --dingtalk (bankbot only): bankbot's robot is a DingTalk custom robot
//     pointing at a fake one in this process (dingtalktest: signatures
//     checked, 20 messages per 60 s on arrival with a 10-minute block,
//     20,000-byte bodies) instead of the console robot. After the load the
//     tool waits until every accepted event is named by a message the fake
//     accepted (a digest line shows the last 8 characters of its ev_ id, a
//     single alert ends with ref: ev_…) and reports, per event, the time
//     from sending its webhook to the fake receiving the first message
//     naming it, the messages (digests, singles), the most in any 60 s, and
//     every 410100 (rate limited) and 460101 (too long) answer. With
//     --rate below 20 a minute it is the latency under the limit; with
//     --burst it is the time to drain a burst.
//
// The client and the servers share the machine's CPUs, and only one server
// runs at a time.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, for counting rows

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
	"github.com/bankbot/bankbot/store"
)

const (
	// routedPoll is how often /metrics is read while waiting for routing.
	routedPoll = 100 * time.Millisecond
	// defaultSecret is the Opn webhook secret of the load source: public, for
	// this tool only. base64 of "bankbot-loadtest-secret-not-for-production".
	defaultSecret = "YmFua2JvdC1sb2FkdGVzdC1zZWNyZXQtbm90LWZvci1wcm9kdWN0aW9u"
	// defaultMaxBody is bankbot's default server.max_body_bytes; both
	// servers read bodies under this cap.
	defaultMaxBody = 1 << 20
	// sourceName is the bankbot source the load is sent to.
	sourceName = "load"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bare" {
		return runBare(args[1:], stderr)
	}
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := measure(ctx, opts, stderr)
	if rep != nil {
		rep.write(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	return 0
}

// options are the command-line flags.
type options struct {
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
	Timeout     time.Duration
	Rate        float64 // open loop when positive
	MaxInFlight int
	RoutedWait  time.Duration // 0: do not wait for routing
	Bin         string
	Targets     []string
	DBDir       string
	Secret      string
	Keep        bool
	PerfDir     string
	// Postgres, when set, runs bankbot on this PostgreSQL server, in a new
	// schema per run, instead of SQLite.
	Postgres string
	// DingTalk runs bankbot with a custom robot pointing at an in-process
	// fake DingTalk instead of the console robot, and waits until every
	// accepted event is shown (at most ShownWait).
	DingTalk  bool
	ShownWait time.Duration
	Burst     int      // post this many events as fast as possible instead of a timed load
	Args      []string // as given, for the report
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: go run ./tools/loadtest [flags]

Loads a bare handler and bankbot, one after the other, with unique signed Opn
webhooks and reports accepted/s, status counts, latency p50/p90/p99/max, RSS
and CPU; for bankbot also events stored and routed per second.

  closed loop (default): --concurrency senders, each waits for its answer;
      latency from sending.
  open loop (--rate N):  N requests/s on schedule whatever the latency (at
      most --max-inflight outstanding); latency from the scheduled time.
  burst (--burst N):     N events as fast as --concurrency senders can post.

  --postgres DSN: bankbot on PostgreSQL (a new schema per run) instead of SQLite.
  --dingtalk: bankbot sends to an in-process fake DingTalk robot; reports
      event → DingTalk latency, messages, digests, 410100 answers.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.Concurrency, "concurrency", 64, "closed loop: concurrent senders (one keep-alive connection each); not used with --rate")
	fs.Float64Var(&o.Rate, "rate", 0, "open loop: send `N` requests per second on schedule, whatever the latency (latency from the scheduled time); 0: closed loop")
	fs.IntVar(&o.MaxInFlight, "max-inflight", 512, "open loop: most requests outstanding at once; a request due while all are busy is sent late, and its wait counts as latency")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "measured window per target")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "load before the measured window, not counted")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "per-request client timeout")
	fs.DurationVar(&o.RoutedWait, "routed-timeout", 5*time.Minute, "bankbot: after the load, wait up to this long for every accepted event to be routed, to report events stored and routed per second; 0: do not wait")
	fs.StringVar(&o.Bin, "bin", "", "bankbot binary (default: go build -o <tmp>/bankbot . in the module root)")
	targets := fs.String("targets", "bare,bankbot", "targets, run one after the other in this order")
	fs.StringVar(&o.DBDir, "db-dir", "", "directory for bankbot's SQLite file (default: a new temporary directory); a tmpfs here is NOT durable, for diagnosis only")
	fs.StringVar(&o.Secret, "secret", defaultSecret, "Opn webhook secret (base64) of the load source")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (config, logs, database)")
	fs.StringVar(&o.PerfDir, "perf", "", "run perf record -g on each server during its measured window, writing `DIR`/<target>.perf.data (needs perf)")
	fs.StringVar(&o.Postgres, "postgres", "", "run bankbot on PostgreSQL at `DSN` (URL or keyword=value), in a new schema lt_<random> dropped afterwards (kept with --keep), instead of SQLite")
	fs.BoolVar(&o.DingTalk, "dingtalk", false, "bankbot only: send to an in-process fake DingTalk custom robot (signed, 20 per 60 s) instead of the console robot, wait until every accepted event is shown, and report event → DingTalk latency, messages, digests and rate-limit answers")
	fs.DurationVar(&o.ShownWait, "shown-timeout", 15*time.Minute, "--dingtalk: wait up to this long after the load for every accepted event to be shown")
	fs.IntVar(&o.Burst, "burst", 0, "post `N` events as fast as possible (--concurrency senders) instead of a timed load; with --dingtalk, the burst drain")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if o.DingTalk && !given["targets"] {
		*targets = "bankbot"
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadtest: unexpected arguments %q\n", fs.Args())
		return o, errors.New("unexpected arguments")
	}
	for t := range strings.SplitSeq(*targets, ",") {
		switch t = strings.TrimSpace(t); t {
		case "bare", "bankbot":
			o.Targets = append(o.Targets, t)
		case "":
		default:
			fmt.Fprintf(stderr, "loadtest: --targets: unknown target %q (bare, bankbot)\n", t)
			return o, errors.New("bad --targets")
		}
	}
	switch {
	case len(o.Targets) == 0:
		fmt.Fprintln(stderr, "loadtest: --targets is empty")
		return o, errors.New("bad --targets")
	case o.Concurrency < 1:
		fmt.Fprintln(stderr, "loadtest: --concurrency must be at least 1")
		return o, errors.New("bad --concurrency")
	case o.Duration <= 0 || o.Warmup < 0 || o.RoutedWait < 0:
		fmt.Fprintln(stderr, "loadtest: --duration must be positive, --warmup and --routed-timeout not negative")
		return o, errors.New("bad durations")
	case o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		fmt.Fprintln(stderr, "loadtest: --rate must be a positive number of requests per second (or 0 for the closed loop)")
		return o, errors.New("bad --rate")
	case o.Rate > 0 && o.MaxInFlight < 1:
		fmt.Fprintln(stderr, "loadtest: --max-inflight must be at least 1")
		return o, errors.New("bad --max-inflight")
	case o.Burst < 0:
		fmt.Fprintln(stderr, "loadtest: --burst must be a positive number of events")
		return o, errors.New("bad --burst")
	case o.Burst > 0 && o.Rate > 0:
		fmt.Fprintln(stderr, "loadtest: --burst and --rate are two kinds of load: choose one")
		return o, errors.New("bad --burst")
	case o.DingTalk && slices.Contains(o.Targets, "bare"):
		fmt.Fprintln(stderr, "loadtest: --dingtalk measures bankbot only (the bare handler sends nothing): use --targets bankbot")
		return o, errors.New("bad --targets")
	case o.DingTalk && o.ShownWait <= 0:
		fmt.Fprintln(stderr, "loadtest: --shown-timeout must be positive")
		return o, errors.New("bad --shown-timeout")
	case o.Postgres != "" && o.DBDir != "":
		fmt.Fprintln(stderr, "loadtest: --db-dir is for SQLite; --postgres uses a schema on the server")
		return o, errors.New("bad --db-dir")
	}
	if o.Postgres != "" {
		if _, err := dsnWithParams(o.Postgres, [2]string{"search_path", "lt_check"}); err != nil {
			fmt.Fprintln(stderr, "loadtest: --postgres:", err)
			return o, err
		}
	}
	if o.Rate > 0 && given["concurrency"] {
		fmt.Fprintln(stderr, "loadtest: --concurrency is not used with --rate (see --max-inflight)")
	}
	if o.Burst > 0 && (given["duration"] || given["warmup"]) {
		fmt.Fprintln(stderr, "loadtest: --duration and --warmup are not used with --burst")
	}
	if _, err := decodeSecret(o.Secret); err != nil {
		fmt.Fprintln(stderr, "loadtest: --secret:", err)
		return o, err
	}
	o.Args = args
	return o, nil
}

// targetResult is one target's row of the report.
type targetResult struct {
	Name      string
	Load      loadResult
	PeakRSSKB int64         // VmHWM after the run; -1 when unknown
	ServerCPU time.Duration // server CPU time during the measured window; -1 when unknown
	ClientCPU time.Duration // this process's CPU time during the window; -1 when unknown
	// DBCPU is PostgreSQL's CPU time for bankbot during the window (its
	// connections and the server's background processes); -1 when there is
	// no database server (SQLite runs inside bankbot) or it was not read.
	DBCPU time.Duration
	// Machine is the whole machine's CPU time during the window (all CPUs):
	// what the server and this tool used, plus anything else running.
	Machine cpuTimes
	Check   *storeCheck // bankbot only
	// Routed is when bankbot had routed every accepted event (bankbot
	// only, when --routed-timeout is set); RoutedErr why it is missing.
	Routed    *routedResult
	RoutedErr string
	// Delivery is what the fake DingTalk saw (--dingtalk only).
	Delivery *deliveryResult
	Notes    []string
}

// storeCheck compares bankbot's "accepted" answers with what it stored.
type storeCheck struct {
	Answers      int     // 200 "accepted" answers over the whole phase, warm-up included
	Metric       float64 // bankbot_webhooks_received_total{source="load",result="accepted"} before stopping; NaN when unread
	Rows         int64   // events of the load source in the database after stopping; -1 when unread
	Found        int     // accepted ids read back with store.GetEvent, provider event id matching
	Missing      int     // accepted ids not found, or found with another provider event id
	DBPath       string  // SQLite
	FSType, FSOn string  // SQLite
	PG           *pgRun  // PostgreSQL; nil for SQLite
}

// ok reports whether every accepted answer is accounted for.
func (c *storeCheck) ok() bool {
	return c.Rows == int64(c.Answers) && c.Metric == float64(c.Answers) && c.Found == c.Answers && c.Missing == 0
}

// report is everything the run prints.
type report struct {
	Started  time.Time
	Command  string
	Machine  machineInfo
	Version  string
	Opts     options
	Results  []*targetResult
	Failures []string
}

func measure(ctx context.Context, o options, stderr io.Writer) (*report, error) {
	rep := &report{Started: time.Now(), Command: commandLine(o.Args), Machine: readMachine(), Opts: o}
	tmp, err := os.MkdirTemp("", "bankbot-loadtest-")
	if err != nil {
		return nil, err
	}
	if o.Keep {
		fmt.Fprintln(stderr, "loadtest: keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	key, _ := decodeSecret(o.Secret) // checked by parseFlags
	runID := strconv.FormatInt(time.Now().Unix(), 36) + randHex(3)
	gen, err := newEventGen(time.Now(), runID)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable for the bare handler: %w", err)
	}
	bin := o.Bin
	for _, t := range o.Targets {
		if t == "bankbot" && bin == "" {
			fmt.Fprintln(stderr, "loadtest: building bankbot")
			if bin, err = buildBankbot(ctx, tmp); err != nil {
				return nil, err
			}
		}
	}
	if bin != "" {
		if out, err := exec.CommandContext(ctx, bin, "version").Output(); err == nil {
			rep.Version = strings.Join(strings.Fields(string(out)), " ")
		}
	}
	for _, t := range o.Targets {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		switch {
		case o.Burst > 0:
			fmt.Fprintf(stderr, "loadtest: %s: burst of %d events from %d senders\n", t, o.Burst, o.Concurrency)
		case o.Rate > 0:
			fmt.Fprintf(stderr, "loadtest: %s: open loop, %g requests/s (at most %d in flight), %s warm-up + %s measured\n", t, o.Rate, o.MaxInFlight, o.Warmup, o.Duration)
		default:
			fmt.Fprintf(stderr, "loadtest: %s: %d senders, %s warm-up + %s measured\n", t, o.Concurrency, o.Warmup, o.Duration)
		}
		var res *targetResult
		switch t {
		case "bare":
			res, err = runBareTarget(ctx, o, key, gen, self, tmp)
		case "bankbot":
			res, err = runBankbotTarget(ctx, o, key, gen, bin, tmp, stderr)
		}
		if res != nil {
			rep.Results = append(rep.Results, res)
			if res.Check != nil && !res.Check.ok() {
				rep.Failures = append(rep.Failures, "bankbot: the accepted answers, the metric and the stored events do not agree")
			}
			if d := res.Delivery; d != nil && !d.ok() {
				rep.Failures = append(rep.Failures, "bankbot: not every accepted event was shown at the fake DingTalk within its limits")
			}
		}
		if err != nil {
			return rep, fmt.Errorf("%s: %w", t, err)
		}
	}
	if len(rep.Failures) > 0 {
		return rep, errors.New(strings.Join(rep.Failures, "; "))
	}
	return rep, nil
}

func runBareTarget(ctx context.Context, o options, key []byte, gen *eventGen, self, tmp string) (*targetResult, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c, err := startChild("bare", filepath.Join(tmp, "bare.log"), self,
		"bare", "--listen", addr, "--secret", o.Secret, "--max-body", strconv.Itoa(defaultMaxBody))
	if err != nil {
		return nil, err
	}
	defer c.stop(10 * time.Second)
	if err := c.waitReady(ctx, 30*time.Second, tcpReady(addr)); err != nil {
		return nil, err
	}
	res := loadPhase(ctx, o, "bare", c, "http://"+addr+"/hooks/"+sourceName, key, gen, nil)
	if err := c.stop(10 * time.Second); err != nil {
		res.Notes = append(res.Notes, "bare handler did not stop cleanly: "+err.Error())
	}
	return res, nil
}

func runBankbotTarget(ctx context.Context, o options, key []byte, gen *eventGen, bin, tmp string, stderr io.Writer) (*targetResult, error) {
	hookAddr, err1 := freeAddr()
	adminAddr, err2 := freeAddr()
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	var storage, dbPath, dbDir string
	var pg *pgRun
	if o.Postgres != "" {
		var err error
		if pg, err = createPGSchema(ctx, o.Postgres); err != nil {
			return nil, err
		}
		if o.Keep {
			fmt.Fprintf(stderr, "loadtest: keeping PostgreSQL schema %s\n", pg.Schema)
		} else {
			defer func() {
				if err := pg.drop(o.Postgres); err != nil {
					fmt.Fprintln(stderr, "loadtest:", err)
				}
			}()
		}
		storage = fmt.Sprintf("storage:\n  driver: postgres\n  dsn: %q\n", pg.DSN)
	} else {
		dbDir = o.DBDir
		if dbDir == "" {
			dbDir = filepath.Join(tmp, "data")
		} else {
			// A directory of its own inside the one given, so earlier runs do
			// not count.
			if err := os.MkdirAll(dbDir, 0o750); err != nil {
				return nil, err
			}
			d, err := os.MkdirTemp(dbDir, "bankbot-loadtest-")
			if err != nil {
				return nil, err
			}
			defer func() {
				if !o.Keep {
					os.RemoveAll(d)
				}
			}()
			dbDir = d
		}
		if err := os.MkdirAll(dbDir, 0o750); err != nil {
			return nil, err
		}
		dbPath = filepath.Join(dbDir, "bankbot.db")
		storage = fmt.Sprintf("storage:\n  driver: sqlite\n  dsn: %q\n", dbPath)
	}
	robot := "  console:\n    type: console\n"
	rName := "console"
	var fake *dingtalktest.Server
	if o.DingTalk {
		fake = startFakeDingTalk()
		defer fake.Close()
		robot, rName = fake.RobotYAML(robotName), robotName
	}
	cfgPath := filepath.Join(tmp, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(bankbotConfig(hookAddr, adminAddr, storage, robot, rName, o.Secret)), 0o600); err != nil {
		return nil, err
	}
	c, err := startChild("bankbot", filepath.Join(tmp, "bankbot.log"), bin, "serve", "--config", cfgPath)
	if err != nil {
		return nil, err
	}
	defer c.stop(30 * time.Second)
	if err := c.waitReady(ctx, 60*time.Second, httpReady("http://"+adminAddr+"/readyz")); err != nil {
		return nil, err
	}
	var probe *pgCPUProbe
	if pg != nil {
		if probe, err = newPGCPUProbe(ctx, o.Postgres, pg.Schema); err != nil {
			fmt.Fprintln(stderr, "loadtest: postgres CPU not measured:", err)
			probe = nil
		} else {
			defer probe.close()
		}
	}
	res := loadPhase(ctx, o, "bankbot", c, "http://"+hookAddr+"/hooks/"+sourceName, key, gen, probe)
	chk := &storeCheck{Answers: len(res.Load.TotalAccepted), Metric: math.NaN(), Rows: -1, DBPath: dbPath, PG: pg}
	if pg == nil {
		chk.FSType, chk.FSOn = mountOf(dbDir)
	}
	res.Check = chk
	if text, err := scrapeMetrics("http://" + adminAddr + "/metrics"); err != nil {
		res.Notes = append(res.Notes, "metrics not read: "+err.Error())
	} else {
		if v, err := metricValue(text, "bankbot_webhooks_received_total", `source="`+sourceName+`"`, `result="accepted"`); err == nil {
			chk.Metric = v
		} else {
			res.Notes = append(res.Notes, err.Error())
		}
		// Routing runs after the answer; a backlog here means it did not
		// keep up with ingest.
		unrouted, err1 := metricValue(text, "bankbot_outbox_depth", `status="unrouted"`)
		pending, err2 := metricValue(text, "bankbot_outbox_depth", `status="pending"`)
		if errors.Join(err1, err2) == nil {
			robotNote := "the console robot sends 20 a minute"
			if o.DingTalk {
				robotNote = "the DingTalk robot sends 20 a minute, more events per message in digests"
			}
			res.Notes = append(res.Notes, fmt.Sprintf("outbox right after the load: %.0f events not yet routed, %.0f deliveries pending (%s)", unrouted, pending, robotNote))
		}
	}
	if o.RoutedWait > 0 && chk.Answers > 0 {
		fmt.Fprintln(stderr, "loadtest: bankbot: waiting for every accepted event to be routed")
		r, err := waitRouted(ctx, realClock{}, func() (string, error) { return scrapeMetrics("http://" + adminAddr + "/metrics") },
			routedPoll, o.RoutedWait)
		res.Routed = &r
		if err != nil {
			res.RoutedErr = err.Error()
		}
	}
	if fake != nil {
		fmt.Fprintf(stderr, "loadtest: bankbot: waiting for all %d accepted events to be shown at the fake DingTalk (at most %s)\n", chk.Answers, o.ShownWait)
		d := &deliveryResult{LoadStart: res.Load.Started, LoadEnd: res.Load.Ended, Burst: o.Burst}
		tr := newShownTracker(res.Load.TotalAccepted)
		if err := waitShown(ctx, realClock{}, fake.Messages, tr, shownPoll, o.ShownWait); err != nil {
			d.WaitErr = err.Error()
		}
		res.Delivery = d
	}
	if err := c.stop(30 * time.Second); err != nil {
		res.Notes = append(res.Notes, "bankbot did not stop cleanly: "+err.Error())
	}
	if d := res.Delivery; d != nil {
		// Everything the fake saw, the shutdown included.
		tr := newShownTracker(res.Load.TotalAccepted)
		tr.add(fake.Messages())
		d.Shown = tr.result()
		d.readFake(fake)
	}
	if lines := logSummary(c.logPath); lines != "" {
		res.Notes = append(res.Notes, "bankbot log lines (level warn and above) by message: "+lines)
	}
	if pg != nil {
		if err := verifyPostgres(ctx, chk, pg, res.Load.TotalAccepted); err != nil {
			res.Notes = append(res.Notes, "store not checked: "+err.Error())
		}
	} else if err := verifyStore(ctx, chk, res.Load.TotalAccepted); err != nil {
		res.Notes = append(res.Notes, "store not checked: "+err.Error())
	}
	return res, nil
}

// loadPhase loads one running server and reads its process figures; probe,
// when not nil, measures PostgreSQL's CPU time during the window.
func loadPhase(ctx context.Context, o options, name string, c *child, url string, key []byte, gen *eventGen, probe *pgCPUProbe) *targetResult {
	res := &targetResult{Name: name, PeakRSSKB: -1, ServerCPU: -1, ClientCPU: -1, DBCPU: -1}
	pid := strconv.Itoa(c.pid())
	var srv0, cli0 time.Duration
	var mach0 cpuTimes
	var err0 error
	var perf *exec.Cmd
	var probeErr error
	spec := loadSpec{
		URL: url, Key: key, Concurrency: o.Concurrency, Warmup: o.Warmup, Duration: o.Duration,
		Timeout: o.Timeout, Rate: o.Rate, MaxInFlight: o.MaxInFlight, Burst: o.Burst, Gen: gen,
		AtStart: func() {
			if probe != nil {
				probeErr = probe.begin()
			}
			var e1, e2 error
			srv0, e1 = procCPU(pid)
			cli0, e2 = procCPU("self")
			var e3 error
			mach0, e3 = machineCPU()
			err0 = errors.Join(e1, e2, e3)
			if o.PerfDir != "" {
				perf = startPerf(o.PerfDir, name, pid, o.Duration, res)
			}
		},
		AtEnd: func() {
			srv1, e1 := procCPU(pid)
			cli1, e2 := procCPU("self")
			mach1, e3 := machineCPU()
			if probe != nil && probeErr == nil {
				if d, err := probe.end(ctx); err == nil {
					res.DBCPU = d
				} else {
					probeErr = err
				}
			}
			if err0 == nil && e1 == nil && e2 == nil && e3 == nil {
				res.ServerCPU, res.ClientCPU = srv1-srv0, cli1-cli0
				res.Machine = cpuTimes{Busy: mach1.Busy - mach0.Busy, IOWait: mach1.IOWait - mach0.IOWait, Total: mach1.Total - mach0.Total}
			}
		},
	}
	res.Load = runLoad(ctx, spec)
	if probeErr != nil {
		res.Notes = append(res.Notes, "postgres CPU not measured: "+probeErr.Error())
	}
	if perf != nil {
		if err := perf.Wait(); err != nil {
			res.Notes = append(res.Notes, "perf record: "+err.Error())
		}
	}
	if kb, err := procStatusKB(c.pid(), "VmHWM"); err == nil {
		res.PeakRSSKB = kb
	} else {
		res.Notes = append(res.Notes, "peak RSS not read: "+err.Error())
	}
	return res
}

// startPerf records the server's call stacks for d; the caller waits on it.
func startPerf(dir, name, pid string, d time.Duration, res *targetResult) *exec.Cmd {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		res.Notes = append(res.Notes, "perf: "+err.Error())
		return nil
	}
	out := filepath.Join(dir, name+".perf.data")
	cmd := exec.Command("perf", "record", "-g", "-F", "999", "-p", pid, "-o", out, "--", "sleep", strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
	if err := cmd.Start(); err != nil {
		res.Notes = append(res.Notes, "perf: "+err.Error())
		return nil
	}
	res.Notes = append(res.Notes, "profiled with perf (adds overhead): "+out)
	return cmd
}

// buildBankbot runs `go build -o <tmp>/bankbot .` in the module root.
func buildBankbot(ctx context.Context, tmp string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the bankbot module: run from the repository or pass --bin")
	}
	bin := filepath.Join(tmp, "bankbot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Dir(gomod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build bankbot: %w\n%s", err, b)
	}
	return bin, nil
}

// bankbotConfig is the server's config: one omise source, a robot and a
// route to it, so every event is stored, routed and queued as in production
// (the console robot sends at most 20 a minute, like DingTalk); log level
// warn so that per-request info lines do not dominate. storage is the whole
// storage block, robotYAML the robot's entry under robots: (indented two
// spaces) and robot its name.
func bankbotConfig(hookAddr, adminAddr, storage, robotYAML, robot, secret string) string {
	return fmt.Sprintf(`# Written by tools/loadtest.
server:
  listen: %q
  max_body_bytes: %d
admin:
  listen: %q
%stimezone: Asia/Bangkok
language: en
log:
  level: warn
  format: json
sources:
  %s:
    provider: omise
    secrets:
      - value: %q
    max_skew: 5m
robots:
%sroutes:
  - name: load
    sources: [%s]
    robot: %s
    template: payment
    language: en
`, hookAddr, defaultMaxBody, adminAddr, storage, sourceName, secret, robotYAML, sourceName, robot)
}

// scrapeMetrics reads bankbot's /metrics as text.
func scrapeMetrics(url string) (string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return string(b), err
}

// metricValue finds the sample of name whose labels include every one of
// labels (each written as key="value") in a Prometheus text exposition.
func metricValue(text, name string, labels ...string) (float64, error) {
	for line := range strings.SplitSeq(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				match = false
				break
			}
		}
		f := strings.Fields(rest)
		if !match || len(f) == 0 {
			continue
		}
		return strconv.ParseFloat(f[len(f)-1], 64)
	}
	return 0, fmt.Errorf("no %s{%s} in /metrics", name, strings.Join(labels, ","))
}

// verifyStore counts the load source's events in SQLite and reads every
// accepted id back with store.OpenSQLite and GetEvent. bankbot must have
// stopped: the file is then closed and checkpointed.
func verifyStore(ctx context.Context, chk *storeCheck, accepted []acceptedEvent) error {
	if _, err := os.Stat(chk.DBPath); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", chk.DBPath)
	if err != nil {
		return err
	}
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE source = ?`, sourceName).Scan(&chk.Rows)
	_ = db.Close()
	if err != nil {
		return fmt.Errorf("count events: %w", err)
	}
	st, err := store.OpenSQLite(ctx, chk.DBPath)
	if err != nil {
		return err
	}
	defer st.Close()
	readBack(ctx, chk, st, accepted)
	return nil
}

// readBack reads every accepted id back from the store and counts the ones
// found with the source and provider event id that were sent.
func readBack(ctx context.Context, chk *storeCheck, st interface {
	GetEvent(ctx context.Context, id string) (store.StoredEvent, error)
}, accepted []acceptedEvent) {
	for _, a := range accepted {
		ev, err := st.GetEvent(ctx, a.ID)
		if err != nil || ev.Source != sourceName || ev.Event.ID != a.ProviderID {
			chk.Missing++
			continue
		}
		chk.Found++
	}
}

// logSummary counts the JSON log lines of path by level and message.
func logSummary(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	counts := map[string]int{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var l struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			counts["(not JSON) "+line]++
			continue
		}
		k := l.Level + ": " + l.Msg
		if l.Error != "" {
			k += " (" + l.Error + ")"
		}
		counts[k]++
	}
	return fmtCounts(counts)
}

// commandLine is how this run was started, as the report shows it.
func commandLine(args []string) string {
	exe := os.Args[0]
	if strings.Contains(exe, "go-build") { // go run's temporary binary
		exe = "go run ./tools/loadtest"
	}
	parts := []string{exe}
	for _, a := range args {
		if strings.ContainsAny(a, " \t'\"$") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
