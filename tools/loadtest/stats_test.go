package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ms(ns ...int) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"median of odd count", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"median of even count is the lower middle", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(seq(1, 100)...), 99, 99 * time.Millisecond},
		{"p99 of 101 is the 100th", ms(seq(1, 101)...), 99, 100 * time.Millisecond},
		{"p90 of 10", ms(seq(1, 10)...), 90, 9 * time.Millisecond},
		{"p100 is the max", ms(1, 5, 9), 100, 9 * time.Millisecond},
		{"tiny p is the min", ms(4, 5, 6), 0.001, 4 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, percentile(tt.sorted, tt.p))
		})
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestPercentileNearestRank checks the definition on shuffled input: at
// least p % of the samples are ≤ the result, and fewer than p % are < it.
func TestPercentileNearestRank(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 10, 99, 1000} {
		lat := make([]time.Duration, n)
		for i := range lat {
			lat[i] = time.Duration(r.IntN(50)) * time.Microsecond // many ties
		}
		s := summarize(slices.Clone(lat))
		require.Equal(t, n, s.N)
		for _, c := range []struct {
			p   float64
			got time.Duration
		}{{50, s.P50}, {90, s.P90}, {99, s.P99}, {100, s.Max}} {
			le, lt := 0, 0
			for _, v := range lat {
				if v <= c.got {
					le++
				}
				if v < c.got {
					lt++
				}
			}
			require.GreaterOrEqual(t, float64(le), c.p/100*float64(n), "n=%d p=%v", n, c.p)
			require.Less(t, float64(lt), c.p/100*float64(n), "n=%d p=%v", n, c.p)
		}
	}
}

func TestFmtCounts(t *testing.T) {
	require.Equal(t, "0", fmtCounts(map[int]int{}))
	require.Equal(t, "401×2, 503×7", fmtCounts(map[int]int{503: 7, 401: 2}))
	require.Equal(t, "eof×1, timeout×3", fmtCounts(map[string]int{"timeout": 3, "eof": 1}))
}

func TestMetricValue(t *testing.T) {
	text := `# HELP bankbot_webhooks_received_total Webhooks received.
# TYPE bankbot_webhooks_received_total counter
bankbot_webhooks_received_total_extra{result="accepted",source="load"} 9
bankbot_webhooks_received_total{result="accepted",source="loader"} 3
bankbot_webhooks_received_total{result="accepted",source="load"} 5150
bankbot_webhooks_received_total{result="bad_signature",source="load"} 2
bankbot_outbox_depth{status="unrouted"} 1.5e+03
`
	tests := []struct {
		name    string
		metric  string
		labels  []string
		want    float64
		wantErr bool
	}{
		{"accepted of the load source", "bankbot_webhooks_received_total", []string{`source="load"`, `result="accepted"`}, 5150, false},
		{"another result", "bankbot_webhooks_received_total", []string{`source="load"`, `result="bad_signature"`}, 2, false},
		{"exponent notation", "bankbot_outbox_depth", []string{`status="unrouted"`}, 1500, false},
		{"absent label value", "bankbot_webhooks_received_total", []string{`source="load"`, `result="duplicate"`}, 0, true},
		{"absent metric", "bankbot_nothing", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metricValue(text, tt.metric, tt.labels...)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFmtRate(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0.00"},
		{0.25, "0.25"},
		{9.996, "10.00"},
		{10, "10"},
		{7705.4, "7705"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, fmtRate(tt.v))
		})
	}
}
