package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/store"
)

// Robot states, kept in the store (shared by replicas) and shown by the
// bankbot_robot_state metric.
const (
	stateOK            = "ok"
	statePaused        = "paused"        // DingTalk answered 410100: no sends until the block ends
	stateMisconfigured = "misconfigured" // token, signing secret, keyword or IP allowlist refused
	stateFailing       = "failing"       // deliveries were dead-lettered for another reason
)

var robotStates = []string{stateOK, statePaused, stateMisconfigured, stateFailing}

// opsRoute is the route name that receives bankbot's own alerts.
const opsRoute = config.OpsRouteName

// opsSource is the source name of bankbot's own alerts in the store. A
// configured source name cannot start with "_", so it never collides.
const opsSource = "_bankbot"

// robotState records robot's state and, when this call changed it (only one
// replica sees the change), queues one ops alert.
//
// Failure policy: fails open. A state that cannot be recorded is logged and
// the alert is skipped; delivery itself never waits on ops alerts.
func (a *App) robotState(ctx context.Context, robot, state, reason string) {
	for _, s := range robotStates {
		v := 0.0
		if s == state {
			v = 1
		}
		a.metrics.RobotState.WithLabelValues(robot, s).Set(v)
	}
	changed, prev, err := a.store.SetRobotState(ctx, robot, state, reason, a.clock.Now())
	log := a.log.WithFields(logrus.Fields{"robot": robot, "state": state})
	if err != nil {
		log.WithError(err).Warn("cannot record the robot's state; no ops alert for this change")
		return
	}
	if !changed {
		return
	}
	log = log.WithField("previous", prev)
	if state == stateOK {
		log.Info("robot delivers again")
	} else {
		log.WithField("why", reason).Warn("robot state changed")
	}
	a.opsAlert(ctx, robot, prev, state, reason)
}

// opsAlert queues one message about robot's new state for the ops route, if
// there is one and it does not use the robot in question.
func (a *App) opsAlert(ctx context.Context, robot, prev, state, reason string) {
	rt := a.runtime.Load()
	route := rt.RouteNamed(opsRoute)
	log := a.log.WithFields(logrus.Fields{"robot": robot, "state": state})
	switch {
	case route == nil:
		a.metrics.OpsAlerts.WithLabelValues(robot, state, "skipped").Inc()
		log.Debug("no route named ops: no ops alert")
		return
	case route.Robot == robot:
		a.metrics.OpsAlerts.WithLabelValues(robot, state, "skipped").Inc()
		log.Warn("the ops route sends through the robot that changed state: no ops alert (give the ops route another robot)")
		return
	}
	now := a.clock.Now()
	title, text := opsText(route.Language, robot, prev, state, reason)
	ev := bankhooks.Event{
		Provider: "bankbot", ID: "robot:" + robot + ":" + state + ":" + strconv.FormatInt(now.UnixMilli(), 10),
		Type: "bankbot.robot." + state, Kind: bankhooks.KindOther, Livemode: true,
		Description: reason, OccurredAt: now,
	}
	spec := route.Spec(ev)
	spec.Template, spec.Title, spec.Text = config.DefaultTemplate, title, text
	specJSON, err := json.Marshal(spec)
	if err != nil {
		log.WithError(err).Error("cannot encode the ops alert")
		return
	}
	body, _ := json.Marshal(map[string]string{"robot": robot, "previous": prev, "state": state, "reason": reason})
	_, err = a.store.InsertEvent(ctx, store.NewEvent{
		ID: newEventID(now), Source: opsSource, Event: ev, ReceivedAt: now, Body: body,
		Routed: true, Deliveries: []store.NewDelivery{{Route: opsRoute, Robot: route.Robot, Spec: specJSON}},
	})
	if err != nil {
		a.metrics.OpsAlerts.WithLabelValues(robot, state, "failed").Inc()
		log.WithError(err).Error("cannot queue the ops alert")
		return
	}
	a.metrics.OpsAlerts.WithLabelValues(robot, state, "queued").Inc()
	a.deliverer.wake(route.Robot)
}

// opsText is the ops alert for a state change, in lang (Thai, Chinese,
// Indonesian or English).
func opsText(lang, robot, prev, state, reason string) (title, text string) {
	var head, what string
	switch state {
	case statePaused:
		head, what = "⏸️ Robot %s paused by DingTalk's rate limit", "Its alerts wait in the outbox and go out when the pause ends; nothing is lost."
		switch lang {
		case "th":
			head, what = "⏸️ บอท %s ถูก DingTalk จำกัดความเร็วชั่วคราว", "การแจ้งเตือนรออยู่ในคิวและจะส่งเมื่อพ้นช่วงจำกัด ไม่มีรายการสูญหาย"
		case "zh":
			head, what = "⏸️ 机器人 %s 因 DingTalk 限流已暂停", "它的提醒在发件箱中等待，暂停结束后发出；不会丢失。"
		case "id":
			head, what = "⏸️ Robot %s dijeda oleh batas kecepatan DingTalk", "Peringatannya menunggu di kotak keluar dan dikirim setelah jeda berakhir; tidak ada yang hilang."
		}
	case stateMisconfigured:
		head, what = "🔧 Robot %s is misconfigured", "DingTalk refuses its messages. Fix robots.%s in config.yaml; its alerts are retried and nothing is lost until they expire."
		switch lang {
		case "th":
			head, what = "🔧 บอท %s ตั้งค่าไม่ถูกต้อง", "DingTalk ปฏิเสธข้อความ แก้ไข robots.%s ใน config.yaml ระบบจะส่งซ้ำให้อัตโนมัติ"
		case "zh":
			head, what = "🔧 机器人 %s 配置有误", "DingTalk 拒收它的消息。请修正 config.yaml 中的 robots.%s；它的提醒会自动重试，过期前不会丢失。"
		case "id":
			head, what = "🔧 Robot %s salah konfigurasi", "DingTalk menolak pesannya. Perbaiki robots.%s di config.yaml; peringatannya dicoba ulang dan tidak ada yang hilang sampai kedaluwarsa."
		}
	case stateFailing:
		head, what = "❗ Robot %s: alerts could not be delivered", "They are dead letters: `bankbot deadletters list` shows them, `bankbot deadletters retry --all` sends them again."
		switch lang {
		case "th":
			head, what = "❗ บอท %s: ส่งการแจ้งเตือนไม่สำเร็จ", "ดูรายการด้วย `bankbot deadletters list` และส่งใหม่ด้วย `bankbot deadletters retry --all`"
		case "zh":
			head, what = "❗ 机器人 %s：提醒无法送达", "这些提醒已转为死信：用 `bankbot deadletters list` 查看，用 `bankbot deadletters retry --all` 重新发送。"
		case "id":
			head, what = "❗ Robot %s: peringatan tidak dapat dikirim", "Peringatan itu menjadi dead letter: `bankbot deadletters list` menampilkannya, `bankbot deadletters retry --all` mengirimnya lagi."
		}
	default:
		head, what = "✅ Robot %s delivers again", "It was "+prev+"."
		switch lang {
		case "th":
			head, what = "✅ บอท %s กลับมาส่งได้ตามปกติ", "สถานะก่อนหน้า: "+prev
		case "zh":
			head, what = "✅ 机器人 %s 已恢复发送", "之前的状态："+prev
		case "id":
			head, what = "✅ Robot %s kembali mengirim", "Status sebelumnya: "+prev
		}
	}
	title = fmt.Sprintf(head, robot)
	if state == stateMisconfigured {
		what = fmt.Sprintf(what, robot)
	}
	text = "### " + title + "\n\n"
	if reason != "" {
		text += "> " + reason + "\n\n"
	}
	text += what
	return title, text
}
