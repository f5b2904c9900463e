package bot

import (
	"encoding/json"
	"io"
	"math"
	"strconv"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
)

// buildRuntime parses cfg and builds its Runtime, as a load or reload does.
func buildRuntime(t *testing.T, cfg testConfig) *Runtime {
	t.Helper()
	c, err := config.Parse([]byte(cfg.yaml()), t.TempDir(), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	log := logrus.New()
	log.SetOutput(io.Discard)
	rt, err := Build(c, BuildDeps{Log: log, Clock: newFakeClock(t0)})
	require.NoError(t, err)
	return rt
}

func routeNamed(t *testing.T, rt *Runtime, name string) *Route {
	t.Helper()
	for _, r := range rt.Routes {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no route %q", name)
	return nil
}

// TestAtLeast_ExactMajorUnits: route min_amount is in major units of the
// event's currency, compared exactly (no float), per the currency's exponent.
func TestAtLeast_ExactMajorUnits(t *testing.T) {
	tests := []struct {
		name     string
		min      config.Decimal
		amount   int64
		currency string
		want     bool
	}{
		{"THB 50 vs 50.00", "50", 5000, "THB", true},
		{"THB 50 vs 49.99", "50", 4999, "THB", false},
		{"THB 50.00 vs 50.00", "50.00", 5000, "THB", true},
		{"THB 0.01 vs 0.01", "0.01", 1, "THB", true},
		{"THB 0.01 vs 0", "0.01", 0, "THB", false},
		{"THB 0.005 vs 0.01 (sub-unit minimum)", "0.005", 1, "THB", true},
		{"THB 0.015 vs 0.01 (sub-unit minimum)", "0.015", 1, "THB", false},
		{"JPY 1000 vs 1000", "1000", 1000, "JPY", true},
		{"JPY 1000 vs 999", "1000", 999, "JPY", false},
		{"KWD 1.5 vs 1.500", "1.5", 1500, "KWD", true},
		{"KWD 1.5 vs 1.499", "1.5", 1499, "KWD", false},
		{"JPY 99.50 vs 100", "99.50", 100, "JPY", true},
		{"JPY 99.50 vs 99", "99.50", 99, "JPY", false},
		{"lower-case currency", "50", 5000, "thb", true},
		{"no currency, positive min", "1", 0, "", false},
		{"no currency, positive min, amount set", "1", 100000, "", false},
		{"unknown currency", "1", 100000, "ZZZ", false},
		{"currency without minor unit", "1", 100000, "XXX", false},
		{"zero matches all", "0", 0, "", true},
		{"0.00 matches all", "0.00", 0, "", true},
		{"empty matches all", "", 0, "", true},
		{"leading zeros", "0050", 5000, "THB", true},
		{"negative amount (a refund sign)", "1", -100000, "THB", false},
		{"largest amount", "92233720368547758.07", math.MaxInt64, "THB", true},
		{"above the largest amount", "92233720368547758.08", math.MaxInt64, "THB", false},
		{"minimum beyond int64", "100000000000000000000000000", math.MaxInt64, "THB", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := bankhooks.Event{Amount: tc.amount, Currency: tc.currency}
			require.Equal(t, tc.want, atLeast(ev, tc.min))
		})
	}
}

func TestRoute_Match(t *testing.T) {
	rt := buildRuntime(t, testConfig{
		sources: "  opn:\n    provider: omise\n    secrets: [{value: " + keyA + "}]\n" +
			"  stripe:\n    provider: stripe\n    secrets: [{value: whsec_x}]\n",
		routes: `  - name: any
    robot: log
  - name: opn-only
    sources: [opn]
    robot: log
  - name: failures
    kinds: [payment.failed, refund.failed]
    robot: log
  - name: big-opn-payments
    sources: [opn]
    kinds: [payment.succeeded]
    min_amount: "1000"
    robot: log
`,
	})
	ok := bankhooks.Event{Kind: bankhooks.KindPaymentSucceeded, Amount: 100000, Currency: "THB"}
	small := bankhooks.Event{Kind: bankhooks.KindPaymentSucceeded, Amount: 99999, Currency: "THB"}
	failed := bankhooks.Event{Kind: bankhooks.KindPaymentFailed, Amount: 100, Currency: "THB"}
	tests := []struct {
		route  string
		source string
		ev     bankhooks.Event
		want   bool
	}{
		{"any", "opn", ok, true},
		{"any", "stripe", failed, true},
		{"any", "stripe", bankhooks.Event{Kind: bankhooks.KindOther}, true},
		{"opn-only", "opn", ok, true},
		{"opn-only", "stripe", ok, false},
		{"failures", "opn", failed, true},
		{"failures", "opn", ok, false},
		{"failures", "stripe", bankhooks.Event{Kind: bankhooks.KindRefundFailed}, true},
		{"big-opn-payments", "opn", ok, true},
		{"big-opn-payments", "opn", small, false},
		{"big-opn-payments", "stripe", ok, false},
		{"big-opn-payments", "opn", bankhooks.Event{Kind: bankhooks.KindPaymentFailed, Amount: 100000, Currency: "THB"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.route+"/"+tc.source+"/"+string(tc.ev.Kind)+"/"+strconv.Itoa(int(tc.ev.Amount)), func(t *testing.T) {
			require.Equal(t, tc.want, routeNamed(t, rt, tc.route).Match(tc.source, tc.ev))
		})
	}
}

func TestRoute_SpecMentions(t *testing.T) {
	rt := buildRuntime(t, testConfig{
		routes: `  - name: always
    robot: log
    template: payment
    language: th
    mention: {mobiles: ["+66-811111111"], user_ids: [u1]}
  - name: on-failure
    robot: log
    mention: {mobiles: ["+66-822222222"], on_failure: true}
  - name: big
    robot: log
    mention: {all: true, min_amount: "10000"}
  - name: failure-or-big
    robot: log
    mention: {user_ids: [boss], on_failure: true, min_amount: "10000"}
  - name: nobody
    robot: log
`,
	})
	succ := bankhooks.Event{Kind: bankhooks.KindPaymentSucceeded, Amount: 500, Currency: "THB"}
	big := bankhooks.Event{Kind: bankhooks.KindPaymentSucceeded, Amount: 1000000, Currency: "THB"}
	fail := bankhooks.Event{Kind: bankhooks.KindTransferFailed, Amount: 500, Currency: "THB"}
	dispute := bankhooks.Event{Kind: bankhooks.KindDisputeOpened}
	tests := []struct {
		name  string
		route string
		ev    bankhooks.Event
		want  Spec
	}{
		{"neither set: always", "always", succ, Spec{Template: "payment", Language: "th", Mobiles: []string{"+66-811111111"}, UserIDs: []string{"u1"}}},
		{"on_failure, success", "on-failure", succ, Spec{Template: "default", Language: "en"}},
		{"on_failure, failure", "on-failure", fail, Spec{Template: "default", Language: "en", Mobiles: []string{"+66-822222222"}}},
		{"on_failure, dispute counts as failure", "on-failure", dispute, Spec{Template: "default", Language: "en", Mobiles: []string{"+66-822222222"}}},
		{"min_amount, below", "big", succ, Spec{Template: "default", Language: "en"}},
		{"min_amount, reached", "big", big, Spec{Template: "default", Language: "en", AtAll: true}},
		{"min_amount, failure below is not mentioned", "big", fail, Spec{Template: "default", Language: "en"}},
		{"either, failure", "failure-or-big", fail, Spec{Template: "default", Language: "en", UserIDs: []string{"boss"}}},
		{"either, big", "failure-or-big", big, Spec{Template: "default", Language: "en", UserIDs: []string{"boss"}}},
		{"either, neither", "failure-or-big", succ, Spec{Template: "default", Language: "en"}},
		{"nobody to mention", "nobody", fail, Spec{Template: "default", Language: "en"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, routeNamed(t, rt, tc.route).Spec(tc.ev))
		})
	}

	t.Run("spec does not alias the config", func(t *testing.T) {
		r := routeNamed(t, rt, "always")
		s := r.Spec(succ)
		s.Mobiles[0] = "changed"
		require.Equal(t, "+66-811111111", r.Mention.Mobiles[0])
	})
}

func TestRuntime_Deliveries(t *testing.T) {
	rt := buildRuntime(t, testConfig{
		robots: "  a:\n    type: console\n  b:\n    type: console\n",
		routes: `  - name: to-a
    robot: a
  - name: to-b
    robot: b
    kinds: [payment.succeeded]
    template: payment
    mention: {mobiles: ["+66-800000000"], on_failure: true}
`,
	})
	tests := []struct {
		name       string
		ev         bankhooks.Event
		wantRoutes []string
		wantRobots []string
		wantSpecs  []Spec
	}{
		{"two routes, two rows", bankhooks.Event{Kind: bankhooks.KindPaymentSucceeded, Amount: 1, Currency: "THB"},
			[]string{"to-a", "to-b"}, []string{"a", "b"},
			[]Spec{{Template: "default", Language: "en"}, {Template: "payment", Language: "en"}}},
		{"one route", bankhooks.Event{Kind: bankhooks.KindPaymentFailed},
			[]string{"to-a"}, []string{"a"}, []Spec{{Template: "default", Language: "en"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := rt.Deliveries("opn", tc.ev)
			require.NoError(t, err)
			require.Len(t, rs, len(tc.wantRoutes))
			for i, r := range rs {
				require.Equal(t, tc.wantRoutes[i], r.Route)
				require.Equal(t, tc.wantRobots[i], r.Robot)
				var s Spec
				require.NoError(t, json.Unmarshal(r.Spec, &s))
				require.Equal(t, tc.wantSpecs[i], s)
			}
		})
	}
	t.Run("unknown source of an explicit source list matches nothing", func(t *testing.T) {
		rt := buildRuntime(t, testConfig{routes: "  - name: x\n    sources: [opn]\n    robot: log\n"})
		rs, err := rt.Deliveries("other", bankhooks.Event{Kind: bankhooks.KindOther})
		require.NoError(t, err)
		require.Empty(t, rs)
	})
}

// TestBuild_Problems: Build refuses a config it cannot run, naming the key.
func TestBuild_Problems(t *testing.T) {
	tests := []struct {
		name     string
		template string // a broken.en.tmpl in templates.dir, if set
		route    string
		wantPath string
	}{
		{"template fails on the fixtures", `{{define "payment.succeeded"}}### x {{.Event.NoSuchField}}{{end}}`, "default", "templates"},
		{"template does not parse", `{{define "payment.succeeded"}}### x {{.Event.Amount}`, "default", "templates"},
		{"route names an unknown set", "", "nosuchset", "routes[0].template"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig{routes: "  - name: r\n    robot: log\n    template: " + tc.route + "\n"}
			if tc.template != "" {
				writeFile(t, dir+"/tpl/broken.en.tmpl", tc.template)
				cfg.templatesDir = dir + "/tpl"
			}
			c, err := config.Parse([]byte(cfg.yaml()), dir, func(string) (string, bool) { return "", false })
			require.NoError(t, err)
			rt, err := Build(c, BuildDeps{Log: logrus.New(), Clock: newFakeClock(t0)})
			require.Nil(t, rt)
			var ps config.Problems
			require.ErrorAs(t, err, &ps)
			require.Len(t, ps, 1, "%v", ps)
			require.Equal(t, tc.wantPath, ps[0].Path)
		})
	}
}
