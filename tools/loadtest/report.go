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
	fmt.Fprintf(w, "- load: %d concurrent closed-loop senders on keep-alive loopback connections, unique signed Opn charge.complete events; %s warm-up, then %s measured per target; targets in this order: %s; client and server share the CPUs\n",
		r.Opts.Concurrency, r.Opts.Warmup, r.Opts.Duration, strings.Join(r.Opts.Targets, ", "))
	for _, t := range r.Results {
		if c := t.Check; c != nil {
			durable := "durable: SQLite WAL, synchronous=FULL"
			if c.FSType == "tmpfs" || c.FSType == "ramfs" {
				durable = "NOT DURABLE: the database is in memory (" + c.FSType + "); a diagnostic, not a result"
			}
			fmt.Fprintf(w, "- bankbot database: %s (%s on %s; %s)\n", c.DBPath, c.FSType, c.FSOn, durable)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | requests | 200 accepted | 200 other | non-200 | errors | accepted/s | p50 | p90 | p99 | max | peak RSS | server CPU | loadtest CPU | other CPU | idle | connections |")
	fmt.Fprintln(w, "|---|--:|--:|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, t := range r.Results {
		l := t.Load
		other, idle := "n/a", "n/a"
		if m := t.Machine; m.Total > 0 && t.ServerCPU >= 0 {
			other = fmtCPU(max(0, m.Busy-t.ServerCPU-t.ClientCPU), l.Window)
			idle = fmtCPU(m.Total-m.Busy, l.Window)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
			t.Name, l.Completed, l.Accepted, l.Duplicates, fmtCounts(l.Non200), fmtCounts(l.Errors),
			l.AcceptedPerSecond(), fmtDur(l.Latency.P50), fmtDur(l.Latency.P90), fmtDur(l.Latency.P99), fmtDur(l.Latency.Max),
			fmtKB(t.PeakRSSKB), fmtCPU(t.ServerCPU, l.Window), fmtCPU(t.ClientCPU, l.Window), other, idle, l.Dials)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "requests: finished inside the measured window; latency: from sending the request to reading the whole answer, every answered request, exact nearest-rank percentiles; peak RSS: VmHWM of the server process after the load; CPU: user+system CPU seconds per wall second during the window (1.00 = one core); other CPU: the rest of the machine's busy time (other processes, kernel work not charged to either); idle: idle plus iowait, from /proc/stat.")
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
		fmt.Fprintf(w, "\nbankbot store check (whole phase, warm-up and drain included): %d requests sent, %d transport errors; %d answered 200 \"accepted\"; metric accepted = %s; SQLite events of the source after stopping = %d; accepted ids read back with store.GetEvent = %d (missing or different: %d): %s.\n",
			t.Load.TotalSent, t.Load.TotalErrors, c.Answers, metric, c.Rows, c.Found, c.Missing, verdict)
	}
	for _, t := range r.Results {
		for _, n := range t.Notes {
			fmt.Fprintf(w, "\n- %s: %s", t.Name, n)
		}
	}
	fmt.Fprintln(w)
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
