package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
	"github.com/bankbot/bankbot/store/storetest"
)

// The burst tests hold bankbot to DingTalk's limit as the fake counts it:
// 20 messages in any 60 s by arrival time, a 10-minute block after the
// 21st, 20,000-byte bodies, signatures checked, and a keyword required.

const burstKeyword = "bankbot-alert"

// burstRobot makes robots.finance a keyword robot.
const burstRobot = "    keywords: [" + burstKeyword + "]\n"

func newBurstFake(t *testing.T) *dingtalktest.Server {
	return dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret, Keywords: []string{burstKeyword}})
}

// postBurst posts n distinct Opn events (ids prefix-0 … prefix-(n-1)) from
// 8 concurrent senders, some failed payments, with descriptions long enough
// that a digest of all of them is far over 20,000 bytes. It returns the
// bankbot ids of the accepted events.
func postBurst(t *testing.T, targets []*server, prefix string, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var ids []string
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := range jobs {
				s := targets[i%len(targets)]
				id := fmt.Sprintf("%s-%04d", prefix, i)
				body := chargeComplete(id, int64(1000+i), "THB")
				if i%10 == 3 {
					body = []byte(strings.Replace(string(body), `"charge.complete"`, `"charge.complete","failure_code":"insufficient_fund"`, 1))
					body = []byte(strings.Replace(string(body), `"status":"successful","paid":true`, `"status":"failed","paid":false,"failure_code":"insufficient_fund","failure_message":"insufficient funds in the account"`, 1))
				}
				r := s.postOpn("opn", keyA, time.Now(), body)
				if r.Status != http.StatusOK {
					t.Errorf("event %s: %d %s", id, r.Status, r.Body)
					continue
				}
				mu.Lock()
				ids = append(ids, idOf(t, r.Body))
				mu.Unlock()
			}
		})
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return ids
}

// shownReport says which events the fake has shown and how often.
type shownReport struct {
	missing    []string // accepted but in no message
	repeated   int      // messages whose msgUuid was already accepted (resends)
	multiShown []string // events in two messages with different msgUuids
}

// shortID is how a digest line names an event (render.ShortID); a single
// message has the full id, which ends with it.
func shortID(id string) string { return id[len(id)-8:] }

func shown(msgs []dingtalktest.Received, ids []string) shownReport {
	var r shownReport
	seenUUID := map[string]bool{}
	var unique []dingtalktest.Received
	for _, m := range msgs {
		if m.UUID != "" && seenUUID[m.UUID] {
			r.repeated++
			continue
		}
		seenUUID[m.UUID] = true
		unique = append(unique, m)
	}
	for _, id := range ids {
		n := 0
		for _, m := range unique {
			if strings.Contains(m.Text, shortID(id)) {
				n++
			}
		}
		switch {
		case n == 0:
			r.missing = append(r.missing, id)
		case n > 1:
			r.multiShown = append(r.multiShown, id)
		}
	}
	return r
}

// waitAllShown waits until every id is in some message, up to timeout, and
// returns how long it took.
func waitAllShown(t *testing.T, fake *dingtalktest.Server, ids []string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := shown(fake.Messages(), ids)
		if len(r.missing) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%d of %d events not shown within %s (first: %v); %d messages, %d answered 410100",
				len(r.missing), len(ids), timeout, r.missing[:min(3, len(r.missing))], len(fake.Messages()), fake.Count(410100))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkLimits asserts DingTalk's limits were never tripped and every
// message carries the keyword.
func checkLimits(t *testing.T, fake *dingtalktest.Server) {
	t.Helper()
	require.Zero(t, fake.Count(410100), "DingTalk's rate limit was tripped")
	require.Zero(t, fake.Count(460101), "a message was over 20,000 bytes")
	require.Zero(t, fake.Count(310000), "a message failed the robot's security check (signature or keyword)")
	require.LessOrEqual(t, fake.MaxRequestsInWindow(time.Minute), 20, "more than 20 requests reached the robot in some 60 s")
	for _, m := range fake.Messages() {
		require.Contains(t, m.Title+"\n"+m.Text, burstKeyword)
		require.LessOrEqual(t, len(m.Raw), 20000)
	}
}

// TestE2E_Burst1000_AllShownWithinLimit: 1,000 events for one robot are all
// shown, in at most 20 messages a minute, with no 410100, within 3 minutes.
func TestE2E_Burst1000_AllShownWithinLimit(t *testing.T) {
	fake := newBurstFake(t)
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	p.RobotExtra = burstRobot
	s := startServer(t, dir, p)

	start := time.Now()
	ids := postBurst(t, []*server{s}, "evnt_burst", 1000)
	require.Len(t, ids, 1000)
	posted := time.Since(start)
	drain := waitAllShown(t, fake, ids, 3*time.Minute)
	checkLimits(t, fake)
	r := shown(fake.Messages(), ids)
	require.Zero(t, r.repeated)
	require.Empty(t, r.multiShown, "an event was shown in two different messages")
	msgs := fake.Messages()
	digests := 0
	for _, m := range msgs {
		if strings.Contains(m.Text, "dm_") && strings.Count(m.Text, "\n- ") > 1 {
			digests++
		}
	}
	require.Positive(t, digests, "the burst was combined into digests")
	require.Less(t, len(msgs), 60, "1,000 events need a few digests, not one message each")
	t.Logf("1000 events posted in %s, all shown %s later in %d messages (%d digests); max %d requests in any 60 s",
		posted.Round(time.Millisecond), drain.Round(time.Millisecond), len(msgs), digests, fake.MaxRequestsInWindow(time.Minute))
	require.Contains(t, []string{"", "0"}, s.metric(`bankbot_robot_rate_limited_total{robot="finance"}`), "no 410100 was counted")
}

// TestE2E_Burst_RestartAndKill9: a burst with a SIGTERM restart, then a
// kill -9, in the middle: every accepted event shown, no 410100, and at
// most one duplicate message per crash (a resend keeps its msgUuid).
func TestE2E_Burst_RestartAndKill9(t *testing.T) {
	for _, mode := range []string{"sigterm", "kill9"} {
		t.Run(mode, func(t *testing.T) {
			fake := newBurstFake(t)
			dir := t.TempDir()
			p := newParams(t, fake, dir)
			p.RobotExtra = burstRobot
			s := startServer(t, dir, p)

			ids := postBurst(t, []*server{s}, "evnt_"+mode+"_a", 100)
			// Stop it while it is sending: after the first messages.
			fake.WaitForMessages(3, 30*time.Second)
			if mode == "kill9" {
				s.kill9()
			} else {
				s.stop()
			}
			sent := len(fake.Messages())
			s.start()
			ids = append(ids, postBurst(t, []*server{s}, "evnt_"+mode+"_b", 100)...)
			require.Len(t, ids, 200)
			waitAllShown(t, fake, ids, 3*time.Minute)
			checkLimits(t, fake)
			r := shown(fake.Messages(), ids)
			require.LessOrEqual(t, r.repeated, 1, "at most one message is sent twice per crash")
			if mode == "sigterm" {
				require.Zero(t, r.repeated, "a clean stop sends nothing twice")
			}
			require.Empty(t, r.multiShown, "an event was shown in two different messages")
			t.Logf("%s after %d messages: %d messages in all, %d resent", mode, sent, len(fake.Messages()), r.repeated)
		})
	}
}

// TestE2E_TwoReplicasShareOneBudget: two bankbot processes on one
// PostgreSQL database, one robot: a burst of 300 events through both is
// fully shown, never more than 20 requests in any 60 s, no 410100.
func TestE2E_TwoReplicasShareOneBudget(t *testing.T) {
	schemaDSN := storetest.PostgresSchema(t) // skips without BANKBOT_TEST_POSTGRES_DSN
	fake := newBurstFake(t)
	var servers []*server
	for i := 0; i < 2; i++ {
		dir := t.TempDir()
		p := newParams(t, fake, dir)
		p.RobotExtra = burstRobot
		p.Storage = fmt.Sprintf("storage:\n  driver: postgres\n  dsn: %q", schemaDSN)
		servers = append(servers, startServer(t, dir, p))
	}
	ids := postBurst(t, servers, "evnt_replicas", 300)
	require.Len(t, ids, 300)
	drain := waitAllShown(t, fake, ids, 3*time.Minute)
	checkLimits(t, fake)
	r := shown(fake.Messages(), ids)
	require.Zero(t, r.repeated)
	require.Empty(t, r.multiShown)
	t.Logf("300 events through 2 replicas shown within %s in %d messages", drain.Round(time.Millisecond), len(fake.Messages()))
}
