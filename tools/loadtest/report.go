package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// write prints the report as markdown.
func (r *report) write(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "## loadtest %s\n\n", r.Started.Format(time.RFC3339))
	fmt.Fprintf(w, "- command: `%s`\n", r.Command)
	fmt.Fprintf(w, "- machine: %s, %d cores (/proc/cpuinfo), %s RAM, kernel %s, %s\n", m.CPU, m.Cores, m.MemTotal, m.Kernel, m.Go)
	if r.Version != "" {
		fmt.Fprintf(w, "- bankbot: %s\n", r.Version)
	}
	switch {
	case r.Opts.Burst > 0:
		fmt.Fprintf(w, "- load: a burst of %d unique signed Opn charge.complete events posted as fast as they are answered by %d closed-loop senders on keep-alive loopback connections, no warm-up; the measured window is the whole burst (first request to last answer); targets in this order: %s; client and server share the CPUs\n",
			r.Opts.Burst, r.Opts.Concurrency, strings.Join(r.Opts.Targets, ", "))
	case r.Opts.Rate > 0:
		fmt.Fprintf(w, "- load: open loop, %g requests/s on schedule (at most %d in flight) on keep-alive loopback connections, unique signed Opn charge.complete events; %s warm-up, then %s measured per target; targets in this order: %s; client and server share the CPUs\n",
			r.Opts.Rate, r.Opts.MaxInFlight, r.Opts.Warmup, r.Opts.Duration, strings.Join(r.Opts.Targets, ", "))
	default:
		fmt.Fprintf(w, "- load: %d concurrent closed-loop senders on keep-alive loopback connections, unique signed Opn charge.complete events; %s warm-up, then %s measured per target; targets in this order: %s; client and server share the CPUs\n",
			r.Opts.Concurrency, r.Opts.Warmup, r.Opts.Duration, strings.Join(r.Opts.Targets, ", "))
	}
	for _, t := range r.Results {
		if c := t.Check; c != nil {
			fmt.Fprintf(w, "- bankbot database: %s\n", c.describe())
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | requests | 200 accepted | 200 other | non-200 | errors | accepted/s | p50 | p90 | p99 | max | peak RSS | server CPU | postgres CPU | loadtest CPU | other CPU | idle | connections |")
	fmt.Fprintln(w, "|---|--:|--:|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, t := range r.Results {
		l := t.Load
		other, idle := "n/a", "n/a"
		if m := t.Machine; m.Total > 0 && t.ServerCPU >= 0 {
			other = fmtCPU(max(0, m.Busy-t.ServerCPU-t.ClientCPU-max(0, t.DBCPU)), l.Window)
			idle = fmtCPU(m.Total-m.Busy, l.Window)
		}
		db := "-"
		if t.DBCPU >= 0 {
			db = fmtCPU(t.DBCPU, l.Window)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
			t.Name, l.Completed, l.Accepted, l.Duplicates, fmtCounts(l.Non200), fmtCounts(l.Errors),
			fmtRate(l.AcceptedPerSecond()), fmtDur(l.Latency.P50), fmtDur(l.Latency.P90), fmtDur(l.Latency.P99), fmtDur(l.Latency.Max),
			fmtKB(t.PeakRSSKB), fmtCPU(t.ServerCPU, l.Window), db, fmtCPU(t.ClientCPU, l.Window), other, idle, l.Dials)
	}
	fmt.Fprintln(w)
	if r.Opts.Rate > 0 {
		fmt.Fprintln(w, "requests: due inside the measured window by the schedule, each awaited to its end; latency: from the time it was due (not sent) to reading the whole answer, every answered request, exact nearest-rank percentiles; accepted/s: 200 \"accepted\" answers that finished inside the window, per second; peak RSS: VmHWM of the server process after the load; CPU: user+system CPU seconds per wall second during the window (1.00 = one core); postgres CPU: with --postgres, the CPU time of bankbot's PostgreSQL connections and the server's background processes (\"-\": no database server); other CPU: the rest of the machine's busy time (other processes, kernel work not charged to any of these); idle: idle plus iowait, from /proc/stat.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| target | offered/s | sent/s | answered/s | accepted/s | send lag p99 | send lag max | peak in flight | last answer after the window |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, t := range r.Results {
			l, o := t.Load, t.Load.Open
			if o == nil {
				continue
			}
			fmt.Fprintf(w, "| %s | %g | %s | %s | %s | %s | %s | %d | %s |\n",
				t.Name, o.Rate, fmtRate(l.perSecond(o.SentInWindow)), fmtRate(l.perSecond(o.FinishedInWindow)), fmtRate(l.perSecond(o.AcceptedInWindow)),
				fmtDur(o.SendLag.P99), fmtDur(o.SendLag.Max), o.PeakFlight, fmtDur(o.Drain))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "open loop, inside the window by the wall clock: sent/s, requests sent; answered/s, answers (any status) that finished; accepted/s, 200 \"accepted\" answers that finished. send lag: how late the window's requests were sent after they were due; it is included in their latency. A sent/s below offered/s means the offered rate was not sent: with peak in flight at the cap, every sender was waiting on the server (it is slower than the offered rate; a larger --max-inflight keeps offering it); below the cap, the load tool was short of CPU.")
	} else {
		if r.Opts.Burst > 0 {
			fmt.Fprintln(w, "burst: the window is the whole burst, so accepted/s is the burst's events over the time to post them.")
		}
		fmt.Fprintln(w, "requests: finished inside the measured window; latency: from sending the request to reading the whole answer, every answered request, exact nearest-rank percentiles; peak RSS: VmHWM of the server process after the load; CPU: user+system CPU seconds per wall second during the window (1.00 = one core); postgres CPU: with --postgres, the CPU time of bankbot's PostgreSQL connections and the server's background processes (\"-\": no database server); other CPU: the rest of the machine's busy time (other processes, kernel work not charged to any of these); idle: idle plus iowait, from /proc/stat.")
	}
	var bare, bot *targetResult
	for _, t := range r.Results {
		switch t.Name {
		case "bare":
			bare = t
		case "bankbot":
			bot = t
		}
	}
	if bare != nil && bot != nil && bare.Load.AcceptedPerSecond() > 0 {
		ratio := bot.Load.AcceptedPerSecond() / bare.Load.AcceptedPerSecond()
		fmt.Fprintf(w, "\n**bankbot / bare accepted per second: %.3f (%.1f %%)**\n", ratio, 100*ratio)
	}
	for _, t := range r.Results {
		c := t.Check
		if c == nil {
			continue
		}
		metric := "not read"
		if !math.IsNaN(c.Metric) {
			metric = fmt.Sprintf("%.0f", c.Metric)
		}
		verdict := "all agree"
		if !c.ok() {
			verdict = "MISMATCH"
		}
		where := "SQLite events"
		if c.PG != nil {
			where = "PostgreSQL events in schema " + c.PG.Schema
		}
		fmt.Fprintf(w, "\nbankbot store check (whole phase, warm-up and drain included): %d requests sent, %d transport errors; %d answered 200 \"accepted\"; metric accepted = %s; %s of the source after stopping = %d; accepted ids read back with store.GetEvent = %d (missing or different: %d): %s.\n",
			t.Load.TotalSent, t.Load.TotalErrors, c.Answers, metric, where, c.Rows, c.Found, c.Missing, verdict)
	}
	for _, t := range r.Results {
		if t.Delivery != nil {
			t.Delivery.write(w, t.Name)
		}
	}
	for _, t := range r.Results {
		if line := t.routedLine(); line != "" {
			fmt.Fprintf(w, "\n%s\n", line)
		}
	}
	for _, t := range r.Results {
		for _, n := range t.Notes {
			fmt.Fprintf(w, "\n- %s: %s", t.Name, n)
		}
	}
	fmt.Fprintln(w)
}

// fmtRate prints a rate per second: whole numbers, but two decimals below
// 10/s, where rounding would hide it (0.25/s is not 0).
func fmtRate(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtKB(kb int64) string {
	if kb < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

func fmtCPU(d, window time.Duration) string {
	if d < 0 || window <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", d.Seconds()/window.Seconds())
}

// routedLine reports bankbot's events stored and routed per second, or why
// it is missing; "" when routing was not waited for.
func (t *targetResult) routedLine() string {
	rt := t.Routed
	if rt == nil {
		return ""
	}
	l := t.Load
	if rt.At.IsZero() {
		return fmt.Sprintf("%s stored and routed: not measured (%s); %.0f of %.0f accepted events still unrouted at the last of %d scrapes.",
			t.Name, t.RoutedErr, rt.Unrouted, rt.Accepted, rt.Polls)
	}
	load := l.Ended.Sub(l.Started)
	total := rt.At.Sub(l.Started)
	stored := 0.0
	if load > 0 {
		stored = rt.Accepted / load.Seconds()
	}
	routed := 0.0
	if total > 0 {
		routed = rt.Accepted / total.Seconds()
	}
	return fmt.Sprintf("**%s stored and routed: %.0f events/s** — %.0f accepted events (metric, whole phase, warm-up included) were all routed %.2f s after the load began, %.2f s after its last answer (metrics read every %s, so up to that much late); stored alone over the %.2f s of load: %.0f events/s.",
		t.Name, routed, rt.Accepted, total.Seconds(), rt.At.Sub(l.Ended).Seconds(), routedPoll, load.Seconds(), stored)
}

// describe says where bankbot's database was and whether it was durable.
func (c *storeCheck) describe() string {
	if p := c.PG; p != nil {
		durable := "durable: fsync=on, bankbot's sessions synchronous_commit=on"
		if !p.durable() {
			durable = "NOT DURABLE (fsync=" + p.Fsync + ", data on " + p.FSType + "); a diagnostic, not a result"
		}
		data := "data directory not readable"
		if p.DataDir != "" {
			data = fmt.Sprintf("data in %s (%s on %s)", p.DataDir, p.FSType, p.FSOn)
		}
		return fmt.Sprintf("PostgreSQL %s at %s, schema %s (server: fsync=%s, synchronous_commit=%s, wal_sync_method=%s; %s; %s)",
			p.Version, p.Where, p.Schema, p.Fsync, p.SyncCommit, p.WALSync, data, durable)
	}
	durable := "durable: SQLite WAL, synchronous=FULL"
	if c.FSType == "tmpfs" || c.FSType == "ramfs" {
		durable = "NOT DURABLE: the database is in memory (" + c.FSType + "); a diagnostic, not a result"
	}
	return fmt.Sprintf("%s (%s on %s; %s)", c.DBPath, c.FSType, c.FSOn, durable)
}
