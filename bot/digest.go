package bot

import (
	"context"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/store"
)

// outItem is one claimed delivery with what it needs to be shown.
type outItem struct {
	d    store.Delivery
	spec Spec
	ev   store.StoredEvent
}

// urgent reports whether the item goes out alone while the budget allows
// even in a burst: failed payments (and other failures) and bankbot's own
// ops alerts.
func (it outItem) urgent() bool {
	return it.spec.Text != "" || it.ev.Event.Kind.Failed()
}

// outMsg is one DingTalk message about to be sent: one event alone, or a
// digest of several.
type outMsg struct {
	id     string // message id, sent as msgUuid and written on every row
	items  []outItem
	msg    dingtalk.Message
	digest bool
	// assign is true when the rows do not carry id yet (a new message);
	// false when the message is rebuilt after a failed or interrupted
	// attempt with the id its rows already carry.
	assign bool
}

func (m *outMsg) rows() []store.Delivery {
	out := make([]store.Delivery, len(m.items))
	for i, it := range m.items {
		out[i] = it.d
	}
	return out
}

// plan turns claimed deliveries into at most n messages, for a robot whose
// budget allows free sends now, and returns the rows no message took (to be
// handed back at once; they are planned again in the next round).
//
// Rows that already carry a message id (an attempt failed, or bankbot died
// mid-send) are rebuilt into that same message, with the same id, when all
// the rows of that message are here; so a resend after a crash keeps its
// msgUuid. Every other row is new: when there are no more of them than the
// budget allows, each goes out alone, rendered by its own template. When
// more wait than that, they are combined into digests. Failures and ops
// alerts still go out alone if the budget allows that and the digests of
// everything else; otherwise they are listed first in the digest, in a
// section of their own.
func (a *App) plan(ctx context.Context, log *logrus.Entry, rt *Runtime, robot *Robot, claimed []store.Delivery, free, n int) ([]*outMsg, []store.Delivery) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var rest []store.Delivery
	var items []outItem
	evIDs := make([]string, len(claimed))
	for i, d := range claimed {
		evIDs[i] = d.EventID
	}
	// One read for the whole claim (a digest lists hundreds of events).
	evs, err := a.store.GetEvents(bg, evIDs)
	if err != nil {
		log.WithError(err).WithField("deliveries", len(claimed)).Error("cannot read the events to send; retrying later")
		return nil, claimed
	}
	for _, d := range claimed {
		ev, ok := evs[d.EventID]
		if !ok {
			log.WithFields(logrus.Fields{"delivery_id": d.ID, "event_id": d.EventID}).Error("the event of a delivery is missing; retrying later")
			rest = append(rest, d)
			continue
		}
		items = append(items, outItem{d: d, spec: specOf(d, rt.Config.Language), ev: ev})
	}

	var msgs []*outMsg
	var pool []outItem
	groups := map[string][]outItem{}
	var order []string
	for _, it := range items {
		if it.d.MessageID == "" {
			pool = append(pool, it)
			continue
		}
		if _, ok := groups[it.d.MessageID]; !ok {
			order = append(order, it.d.MessageID)
		}
		groups[it.d.MessageID] = append(groups[it.d.MessageID], it)
	}
	for _, id := range order {
		g := groups[id]
		if !a.wholeMessage(bg, id, g) {
			pool = append(pool, g...) // part of it went elsewhere: a new message
			continue
		}
		m := a.buildMessage(rt, robot, g, id, 1, 1)
		m.assign = false
		msgs = append(msgs, m)
	}

	switch {
	case len(pool) == 0:
	case len(msgs)+len(pool) <= free:
		for _, it := range pool {
			msgs = append(msgs, a.buildMessage(rt, robot, []outItem{it}, newMessageID(a.clock.Now()), 1, 1))
		}
	default:
		var urgent, others []outItem
		for _, it := range pool {
			if it.urgent() {
				urgent = append(urgent, it)
			} else {
				others = append(others, it)
			}
		}
		parts := a.pack(rt, robot, others)
		if len(urgent) > 0 && len(msgs)+len(urgent)+len(parts) <= free {
			for _, it := range urgent {
				msgs = append(msgs, a.buildMessage(rt, robot, []outItem{it}, newMessageID(a.clock.Now()), 1, 1))
			}
		} else if len(urgent) > 0 {
			parts = a.pack(rt, robot, append(urgent, others...))
		}
		for i, p := range parts {
			msgs = append(msgs, a.buildMessage(rt, robot, p, newMessageID(a.clock.Now()), i+1, len(parts)))
		}
	}
	if len(msgs) > n {
		for _, m := range msgs[n:] {
			rest = append(rest, m.rows()...)
		}
		msgs = msgs[:n]
	}
	return msgs, rest
}

// wholeMessage reports whether g holds every row that carries message id
// (so the message can be rebuilt with that id).
func (a *App) wholeMessage(ctx context.Context, id string, g []outItem) bool {
	ds, err := a.store.ListDeliveries(ctx, store.DeliveryFilter{MessageID: id, Limit: claimMax + 1})
	if err != nil || len(ds) != len(g) {
		return false
	}
	for _, d := range ds {
		if !slices.ContainsFunc(g, func(it outItem) bool { return it.d.ID == d.ID }) {
			return false
		}
	}
	return true
}

// pack splits items into digests that each fit the robot's size limit,
// keeping their order; items of different languages go into different
// digests.
func (a *App) pack(rt *Runtime, robot *Robot, items []outItem) [][]outItem {
	var byLang [][]outItem
	idx := map[string]int{}
	for _, it := range items {
		lang := it.spec.Language
		i, ok := idx[lang]
		if !ok {
			i = len(byLang)
			idx[lang] = i
			byLang = append(byLang, nil)
		}
		byLang[i] = append(byLang[i], it)
	}
	var parts [][]outItem
	for _, group := range byLang {
		for len(group) > 0 {
			k := a.fitCount(rt, robot, group)
			parts = append(parts, group[:k])
			group = group[k:]
		}
	}
	return parts
}

// fitCount is the largest k >= 1 such that a digest of items[:k] fits the
// robot's size limit (1 even when one item alone does not fit: the sender
// then shortens it).
func (a *App) fitCount(rt *Runtime, robot *Robot, items []outItem) int {
	fits := func(k int) bool {
		// Measured with the longest id and part numbers it can get.
		m := a.buildMessage(rt, robot, items[:k], "dm_00000000000000000000000000", 99, 99)
		return messageFits(robot.Sender, m.msg)
	}
	if fits(len(items)) {
		return len(items)
	}
	lo, hi := 1, len(items) // fits(lo) assumed, !fits(hi)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// messageFits reports whether m is within the sender's size limit.
func messageFits(s dingtalk.Sender, m dingtalk.Message) bool {
	if sz, ok := s.(dingtalk.Sizer); ok {
		n, err := sz.MessageSize(m)
		return err == nil && n <= sz.MaxMessageSize()
	}
	b, err := m.Body()
	return err == nil && len(b) <= dingtalk.MaxBodyBytes
}

// buildMessage renders items as one message with id: a lone item by its own
// template (or its pre-composed text), several as a digest (part of parts).
func (a *App) buildMessage(rt *Runtime, robot *Robot, items []outItem, id string, part, parts int) *outMsg {
	m := &outMsg{id: id, items: items, assign: true}
	if len(items) == 1 {
		m.msg = a.renderSingle(rt, items[0])
		m.msg.UUID = id
		return m
	}
	m.digest = true
	ds := make([]render.DigestItem, len(items))
	msg := dingtalk.Message{Type: dingtalk.MsgMarkdown, UUID: id}
	for i, it := range items {
		ds[i] = render.DigestItem{Data: render.Data{EventID: it.ev.ID, Source: it.ev.Source, Event: it.ev.Event}, Title: it.spec.Title}
		msg.AtMobiles = appendNew(msg.AtMobiles, it.spec.Mobiles...)
		msg.AtUserIDs = appendNew(msg.AtUserIDs, it.spec.UserIDs...)
		msg.AtAll = msg.AtAll || it.spec.AtAll
	}
	r := render.Digest(ds, render.DigestOptions{ID: id, Lang: items[0].spec.Language, Part: part, Parts: parts, Limit: robot.RatePerMinute})
	msg.Title, msg.Text = r.Title, r.Text
	m.msg = msg
	return m
}

// renderSingle renders one delivery by its route's template; a template
// that fails gives the plain fallback, never a dropped alert.
func (a *App) renderSingle(rt *Runtime, it outItem) dingtalk.Message {
	spec := it.spec
	msg := dingtalk.Message{Type: dingtalk.MsgMarkdown, AtMobiles: spec.Mobiles, AtUserIDs: spec.UserIDs, AtAll: spec.AtAll}
	if spec.Text != "" {
		msg.Title, msg.Text = spec.Title, spec.Text
		return msg
	}
	data := render.Data{EventID: it.ev.ID, Source: it.ev.Source, Event: it.ev.Event}
	r, err := rt.Engine.Render(spec.Template, spec.Language, data)
	if err != nil {
		a.metrics.RenderFailed.WithLabelValues(spec.Template).Inc()
		a.log.WithError(err).WithField("event_id", it.ev.ID).Error("template failed; sending the plain fallback message")
		r = render.Fallback(data, rt.Config.Location)
	}
	msg.Title, msg.Text = r.Title, r.Text
	return msg
}

// appendNew appends the values of add not yet in list.
func appendNew(list []string, add ...string) []string {
	for _, x := range add {
		if !slices.Contains(list, x) {
			list = append(list, x)
		}
	}
	return list
}
