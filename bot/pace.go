package bot

import (
	"context"
	"time"

	"github.com/bankbot/bankbot/store"
)

// DingTalk counts a robot's messages over a sliding 60 s window and blocks
// the robot for 10 minutes after the 21st (dingtalk.md §3.1).
const (
	// dingtalkWindow is the span DingTalk counts messages over.
	dingtalkWindow = time.Minute
	// windowMargin widens bankbot's window beyond DingTalk's: it absorbs
	// the clock difference between replicas and the jitter between DingTalk's
	// arrival stamp and bankbot's response stamp.
	windowMargin = 2 * time.Second
	// spreadParts spreads a robot's budget over the window: at most
	// 1/spreadParts of it in any 1/spreadParts of the window, so a burst
	// does not spend the whole minute's budget in one second and leave the
	// next alerts waiting a minute.
	spreadParts = 4
)

// sendRules are the send budget of a robot allowed perMinute messages:
//
//   - at most perMinute sends whose stamp lies in the last 62 s;
//   - at most ⌈perMinute/4⌉ in the last 15.5 s (the spread rule).
//
// Every send is stamped in the store before it leaves with the latest moment
// it can reach DingTalk (now + the robot's timeout), and restamped with the
// response time. A stamp is never earlier than DingTalk's arrival time, so
// when bankbot sees fewer than perMinute stamps in the last 62 s, DingTalk
// sees fewer than perMinute arrivals in its last 60 s.
//
// Failure policy: fails closed (delays, never drops). The budget is read and
// reserved in the store, so a restarted process knows the sends of the last
// minute and replicas on PostgreSQL draw from one budget; a message over
// budget waits in the outbox and its wait spends no retry budget. When the
// store cannot be read, nothing is sent until it can.
func sendRules(perMinute int) []store.SendRule {
	w := dingtalkWindow + windowMargin
	return []store.SendRule{
		{Window: w, Limit: perMinute},
		{Window: w / spreadParts, Limit: max(1, (perMinute+spreadParts-1)/spreadParts)},
	}
}

// budgetQuery asks the store for robot's send budget at now.
func budgetQuery(r *Robot, now time.Time) store.BudgetQuery {
	return store.BudgetQuery{Robot: r.Name, Now: now, Rules: sendRules(r.RatePerMinute)}
}

// ReserveSlot takes one send of robot r's budget in st for a message sent
// outside the outbox (bankbot dingtalk test), so the server's budget counts
// it too. slot is 0 when the budget is spent; b.NextAt then says when a
// send is free again. The caller restamps the slot with StampSend after the
// answer.
func ReserveSlot(ctx context.Context, st store.Store, r *Robot, now time.Time) (slot int64, b store.Budget, err error) {
	return st.ReserveSend(ctx, budgetQuery(r, now), now.Add(r.Timeout), "")
}
