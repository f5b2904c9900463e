package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest sample such that at least p % of the
// samples are less than or equal to it. It is exact (no histogram buckets)
// and always one of the samples. It returns 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// latencySummary is the exact distribution of one target's measured
// request latencies.
type latencySummary struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// summarize sorts lat in place and summarizes it.
func summarize(lat []time.Duration) latencySummary {
	slices.Sort(lat)
	s := latencySummary{N: len(lat)}
	if len(lat) == 0 {
		return s
	}
	s.P50 = percentile(lat, 50)
	s.P90 = percentile(lat, 90)
	s.P99 = percentile(lat, 99)
	s.Max = lat[len(lat)-1]
	return s
}

// fmtDur prints a latency in milliseconds with two decimals.
func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// fmtCounts prints a count map as "k×n, …" in key order, or "0".
func fmtCounts[K int | string](m map[K]int) string {
	if len(m) == 0 {
		return "0"
	}
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%v×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
