package schedule

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/store"
)

// runJob runs job for the first schedule of cfg at at, as a runner would.
func runJob(t *testing.T, job Job, d *Deps, cfg *config.Config, at time.Time) string {
	t.Helper()
	es, err := Entries(cfg)
	require.NoError(t, err)
	res, err := job(t.Context(), d, Tick{Entry: es[0], At: at, Now: at, Cfg: cfg, Log: logrus.NewEntry(logrus.New())})
	require.NoError(t, err)
	return res
}

func TestSilentFor(t *testing.T) {
	hours := &config.SilenceHours{Weekdays: map[time.Weekday]bool{time.Monday: true, time.Tuesday: true, time.Wednesday: true,
		time.Thursday: true, time.Friday: true}, FromMin: 9 * 60, ToMin: 18 * 60}
	tests := []struct {
		name     string
		from, to time.Time
		h        *config.SilenceHours
		want     time.Duration
	}{
		{"no hours: wall time", bkk(2026, 12, 4, 17, 0, 0), bkk(2026, 12, 7, 10, 0, 0), nil, 65 * time.Hour},
		{"friday evening to monday morning", bkk(2026, 12, 4, 17, 0, 0), bkk(2026, 12, 7, 10, 0, 0), hours, 2 * time.Hour},
		{"night only", bkk(2026, 12, 1, 18, 30, 0), bkk(2026, 12, 2, 8, 59, 0), hours, 0},
		{"weekend only", bkk(2026, 12, 5, 9, 0, 0), bkk(2026, 12, 6, 18, 0, 0), hours, 0},
		{"inside one day", bkk(2026, 12, 1, 10, 0, 0), bkk(2026, 12, 1, 10, 45, 0), hours, 45 * time.Minute},
		{"a whole week", bkk(2026, 12, 7, 0, 0, 0), bkk(2026, 12, 14, 0, 0, 0), hours, 45 * time.Hour},
		{"to before from", bkk(2026, 12, 2, 0, 0, 0), bkk(2026, 12, 1, 0, 0, 0), hours, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, SilentFor(tc.from, tc.to, tc.h, bangkok, 1000*time.Hour))
		})
	}
	// It stops counting at the limit (a source silent for years is not
	// walked day by day).
	got := SilentFor(bkk(2020, 1, 6, 0, 0, 0), bkk(2026, 12, 14, 0, 0, 0), hours, bangkok, 3*time.Hour)
	require.GreaterOrEqual(t, got, 3*time.Hour)
	require.LessOrEqual(t, got, 9*time.Hour)
}

func TestWatchdog_OncePerSilenceAndRecovery(t *testing.T) {
	for _, driver := range stores() {
		t.Run(driver, func(t *testing.T) {
			st := openStore(t, driver)
			cfg := loadYAML(t, `timezone: Asia/Bangkok
sources:
  opn:
    provider: omise
    secrets: [{value: `+demoKey+`}]
    silence_after: 2h
    silence_hours: {days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}
  stripe:
    provider: omise
    secrets: [{value: `+demoKey+`}]
    silence_after: 30m
  quiet:
    provider: omise
    secrets: [{value: `+demoKey+`}]
    silence_after: 1h
  other:
    provider: omise
    secrets: [{value: `+demoKey+`}]
robots:
  ops: {type: console}
schedules:
  - {name: dog, cron: "*/15 * * * *", job: watchdog, robot: ops, language: en, sources: [opn, stripe, other]}
`)
			event(t, st, "ev_opn", "opn", bankhooks.KindPaymentSucceeded, 100, "THB", bkk(2026, 12, 4, 17, 0, 0))
			event(t, st, "ev_stripe", "stripe", bankhooks.KindPaymentSucceeded, 100, "THB", bkk(2026, 12, 4, 17, 0, 0))
			p := &posted{}
			// Two replicas running the watchdog at the same times (two
			// watchdog schedules, say) still alert once.
			d1, d2 := &Deps{Store: st, Post: p.post}, &Deps{Store: st, Post: p.post}
			type alert struct {
				at    time.Time
				title string
			}
			var got []alert
			seen := 0
			run := func(from, to time.Time) {
				for at := from; !at.After(to); at = at.Add(15 * time.Minute) {
					require.Equal(t, ResultOK, runJob(t, Watchdog, d1, cfg, at))
					require.Equal(t, ResultOK, runJob(t, Watchdog, d2, cfg, at))
					msgs := p.all()
					for _, m := range msgs[seen:] {
						got = append(got, alert{at, m.Title})
					}
					seen = len(msgs)
				}
			}
			run(bkk(2026, 12, 4, 17, 0, 0), bkk(2026, 12, 7, 11, 0, 0))
			require.Equal(t, []alert{
				{bkk(2026, 12, 4, 17, 30, 0), "🔕 Source stripe is silent"},
				{bkk(2026, 12, 7, 10, 0, 0), "🔕 Source opn is silent"},
			}, got, "stripe after 30 min; opn after 2 business hours (1 on Friday, 1 on Monday), not over the weekend; quiet is not in the schedule's sources")
			msgs := p.all()
			require.Contains(t, msgs[1].Text, "No event received since 2026-12-04 17:00 (Asia/Bangkok) (2d 17h ago)")
			require.Contains(t, msgs[1].Text, "Only its business hours (silence_hours) count toward its silence_after of 2h.")
			require.Equal(t, "ops", msgs[1].Robot)

			// opn speaks at 11:05: one recovery alert, then silent again
			// two business hours later: one more alert.
			event(t, st, "ev_opn2", "opn", bankhooks.KindPaymentSucceeded, 100, "THB", bkk(2026, 12, 7, 11, 5, 0))
			got = nil
			run(bkk(2026, 12, 7, 11, 15, 0), bkk(2026, 12, 7, 14, 0, 0))
			require.Equal(t, []alert{
				{bkk(2026, 12, 7, 11, 15, 0), "🔔 Source opn is receiving again"},
				{bkk(2026, 12, 7, 13, 15, 0), "🔕 Source opn is silent"},
			}, got)
			msgs = p.all()
			require.Contains(t, msgs[2].Text, "Source opn is receiving again after 2d 18h 5min of silence (first event at 2026-12-07 11:05 (Asia/Bangkok)).")
			require.NotEqual(t, msgs[1].Key, msgs[3].Key, "each silence is its own alert")
		})
	}
}

func TestWatchdog_NeverHeardAndFailedPost(t *testing.T) {
	st := openStore(t, "sqlite")
	cfg := loadYAML(t, `timezone: Asia/Bangkok
sources:
  quiet:
    provider: omise
    secrets: [{value: `+demoKey+`}]
    silence_after: 1h
robots:
  ops: {type: console}
schedules:
  - {name: dog, cron: "*/15 * * * *", job: watchdog, robot: ops, language: th}
`)
	p := &posted{fail: fmt.Errorf("outbox down")}
	d := &Deps{Store: st, Post: p.post}
	start := bkk(2026, 12, 1, 9, 0, 0)
	require.Equal(t, ResultOK, runJob(t, Watchdog, d, cfg, start), "first watched now")
	es, _ := Entries(cfg)
	res, err := Watchdog(t.Context(), d, Tick{Entry: es[0], At: start.Add(time.Hour), Now: start.Add(time.Hour), Cfg: cfg})
	require.Equal(t, ResultFailed, res)
	require.ErrorContains(t, err, "outbox down")
	p.mu.Lock()
	p.fail = nil
	p.mu.Unlock()
	require.Equal(t, ResultOK, runJob(t, Watchdog, d, cfg, start.Add(75*time.Minute)), "retried at the next tick")
	require.Equal(t, ResultOK, runJob(t, Watchdog, d, cfg, start.Add(90*time.Minute)))
	msgs := p.all()
	require.Len(t, msgs, 1)
	require.Equal(t, "🔕 แหล่งข้อมูล quiet เงียบ", msgs[0].Title)
	require.Contains(t, msgs[0].Text, "2026-12-01 09:00")
}

func TestKeyExpiry_RemindsOnTheRightDaysOnce(t *testing.T) {
	const robotSecret = "SECdemo-robot-signing-secret"
	for _, driver := range stores() {
		t.Run(driver, func(t *testing.T) {
			st := openStore(t, driver)
			cfg := loadYAML(t, `timezone: Asia/Bangkok
sources:
  opn:
    provider: omise
    secrets:
      - value: `+demoKey+`
        expires: 2026-12-20T12:00:00+07:00
      - value: `+demoKey+`
robots:
  finance:
    webhook: https://oapi.dingtalk.com/robot/send?access_token=x
    secret: `+robotSecret+`
    secret_expires: 2026-12-10T00:00:00Z
schedules:
  - {name: keys, cron: "0 9 * * *", job: key_expiry, robot: finance, language: en}
`)
			p := &posted{}
			d1, d2 := &Deps{Store: st, Post: p.post}, &Deps{Store: st, Post: p.post}
			var days []string
			seen := 0
			for at := bkk(2026, 11, 20, 9, 0, 0); at.Before(bkk(2026, 12, 23, 0, 0, 0)); at = at.AddDate(0, 0, 1) {
				require.Equal(t, ResultOK, runJob(t, KeyExpiry, d1, cfg, at))
				require.Equal(t, ResultOK, runJob(t, KeyExpiry, d2, cfg, at), "a second run the same day reminds of nothing")
				for _, m := range p.all()[seen:] {
					var keys []string
					for _, l := range strings.Split(m.Text, "\n") {
						if strings.HasPrefix(l, "- `") {
							keys = append(keys, l[3:strings.Index(l[3:], "`")+3])
						}
					}
					days = append(days, at.Format("01-02")+" "+strings.Join(keys, "+"))
					require.NotContains(t, m.Text, demoKey)
					require.NotContains(t, m.Text, robotSecret)
					require.NotContains(t, m.Key, demoKey)
				}
				seen = len(p.all())
			}
			require.Equal(t, []string{
				"11-26 robots.finance.secret",                        // 13d 22h left: the 14-day reminder
				"12-07 sources.opn.secrets[0]+robots.finance.secret", // 13d 3h and 2d 22h: 14 and 3 days
				"12-09 robots.finance.secret",                        // 22h: 1 day
				"12-18 sources.opn.secrets[0]",                       // 2d 3h: 3 days
				"12-20 sources.opn.secrets[0]",                       // 3h: 1 day
			}, days)
			msgs := p.all()
			require.Contains(t, msgs[1].Text, "`sources.opn.secrets[0]` ("+Fingerprint(config.Secret(demoKey))+") expires at 2026-12-20 12:00 (Asia/Bangkok) (in 13d 3h)")
			require.Len(t, Fingerprint(config.Secret(robotSecret)), 8)
			marks, err := st.ListMarks(t.Context(), "key_expiry/")
			require.NoError(t, err)
			require.Len(t, marks, 6)
			for _, m := range marks {
				require.NotContains(t, m.Key, demoKey)
				require.NotContains(t, m.Key, robotSecret)
			}
		})
	}
}

func TestSummaryText_LanguagesAndSize(t *testing.T) {
	var totals []store.EventTotal
	for s := range 30 {
		for _, k := range bankhooks.Kinds() {
			for _, c := range []string{"THB", "IDR", "USD"} {
				totals = append(totals, store.EventTotal{Source: fmt.Sprintf("source-%02d", s), Kind: string(k), Currency: c, Count: 3, Sum: big.NewInt(200000)})
			}
		}
	}
	totals[0].Sum = new(big.Int).Mul(big.NewInt(math.MaxInt64), big.NewInt(3))
	var failed []store.StoredEvent
	for i := range 10 {
		failed = append(failed, store.StoredEvent{ID: fmt.Sprintf("ev_%020d", i), Source: "opn", Event: bankhooks.Event{
			Kind: bankhooks.KindPaymentFailed, Amount: 5000, Currency: "THB", Reference: strings.Repeat("R", 300),
			FailureCode: "insufficient_fund", FailureMessage: strings.Repeat("ข้อความยาว ", 100)}})
	}
	d := SummaryData{Schedule: "daily", Location: bangkok, Since: bkk(2026, 12, 1, 0, 0, 0), Until: bkk(2026, 12, 1, 18, 0, 0),
		Totals: totals, Failed: failed, FailedTotal: 250, Unacked: failed, UnackedTotal: 12}
	titles := map[string]bool{}
	for _, lang := range []string{"en", "th", "zh", "id"} {
		d.Lang = lang
		title, text := SummaryText(d)
		titles[title] = true
		require.Less(t, len(text), 16000, lang)
		require.Contains(t, text, strings.SplitN(allWords[lang].more, "%d", 2)[0], lang)
		require.NotContains(t, text, "%!", lang)
	}
	require.Len(t, titles, 4, "each language has its own title")
	d.Lang = "id"
	_, text := SummaryText(d)
	require.Contains(t, text, "IDR 2.000,00", "Indonesian numbers")
	require.Contains(t, text, "27670116110564327421 THB", "a sum past int64 is exact, in minor units")
	require.Contains(t, text, "- … dan 247 lainnya", "failed: 250 in all, as many long lines as fit (3) listed")
	short := make([]store.StoredEvent, len(failed))
	for i, se := range failed {
		se.Event.Reference, se.Event.FailureMessage = fmt.Sprintf("order-%d", i), "declined"
		short[i] = se
	}
	d.Failed, d.Lang = short, "en"
	_, text = SummaryText(d)
	require.Contains(t, text, "- opn · ❌ Payment failed · **THB 50.00** · order-9 · insufficient_fund — declined · 00000009\n- … and 240 more\n",
		"failed: 250 in all, 10 listed")
	d.Failed = failed
	d.Lang = "fr"
	title, _ := SummaryText(d)
	require.Equal(t, "📊 Summary: daily", title, "unknown language: English")

	_, empty := SummaryText(SummaryData{Schedule: "daily", Lang: "en", Location: bangkok, Since: bkk(2026, 12, 1, 0, 0, 0), Until: bkk(2026, 12, 1, 18, 0, 0)})
	require.Equal(t, "### 📊 Summary: daily\n\n2026-12-01 00:00 – 18:00 (Asia/Bangkok)\n\nNo events in this period.\n\nref: daily 2026-12-01T11:00:00Z", empty)
}

func TestSummaryPeriod_FirstRunAtMidnight(t *testing.T) {
	st := openStore(t, "sqlite")
	cfg := loadConfig(t, "schedules:\n  - {name: midnight, cron: \"0 0 * * *\", job: summary, robot: finance}\n")
	es, err := Entries(cfg)
	require.NoError(t, err)
	since, err := SummaryPeriod(context.Background(), st, es[0], bkk(2026, 12, 2, 0, 0, 0))
	require.NoError(t, err)
	require.Equal(t, bkk(2026, 12, 1, 0, 0, 0), since, "a first run at midnight covers the day that just ended")
}
