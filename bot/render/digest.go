package render

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/bankbot/bankbot/bankhooks"
)

// DigestItem is one alert listed in a digest: an event, or a message bankbot
// composed itself (Title set, e.g. an ops alert), which is listed by its title.
type DigestItem struct {
	Data
	// Title, when set, replaces the event's kind, amount and reference on the
	// item's line (a pre-composed message, such as an ops alert).
	Title string
}

// failed reports whether the item is a failure that must not be buried.
func (it DigestItem) failed() bool { return it.Title == "" && it.Event.Kind.Failed() }

// DigestOptions describe one digest message.
type DigestOptions struct {
	// ID is the message's id (its msgUuid), shown on the last line.
	ID string
	// Lang is the message language (every one of Languages has digest words);
	// an unknown one falls back to English.
	Lang string
	// Part and Parts number the messages of one split digest (1-based);
	// Parts <= 1 means the digest is a single message.
	Part, Parts int
	// Limit is the robot's rate limit per minute, named in the footnote.
	Limit int
}

// digestText holds a language's words for digests.
type digestText struct {
	title    string // "%d alerts"
	part     string // "part %d/%d"
	failed   string // "Failed (%d)"
	others   string // "Other alerts (%d)"
	inEvents string // "%s in %d"
	ref      string // "ref"
	why      string // "%d alerts came faster than DingTalk allows (%d messages a minute per robot), so they are listed together."
	kinds    map[bankhooks.Kind]string
}

var digestWords = map[string]digestText{
	"en": {
		title:    "📦 %d alerts",
		part:     " (part %d/%d)",
		failed:   "❌ Failed (%d)",
		others:   "Other alerts (%d)",
		inEvents: "%s in %d",
		ref:      "ref",
		why:      "> Listed together: alerts came faster than DingTalk allows (%d messages a minute per robot).",
		kinds: map[bankhooks.Kind]string{
			bankhooks.KindPaymentSucceeded:  "✅ Payment received",
			bankhooks.KindPaymentFailed:     "❌ Payment failed",
			bankhooks.KindPaymentPending:    "⏳ Payment pending",
			bankhooks.KindRefundSucceeded:   "↩️ Refund completed",
			bankhooks.KindRefundFailed:      "❌ Refund failed",
			bankhooks.KindTransferSucceeded: "✅ Transfer completed",
			bankhooks.KindTransferFailed:    "❌ Transfer failed",
			bankhooks.KindAccountLinked:     "🔗 Account linked",
			bankhooks.KindAccountLinkFailed: "❌ Account linking failed",
			bankhooks.KindDisputeOpened:     "⚠️ Dispute opened",
			bankhooks.KindOther:             "ℹ️ Other event",
			bankhooks.KindUnreadable:        "⚠️ Unreadable event",
		},
	},
	"th": {
		title:    "📦 %d รายการแจ้งเตือน",
		part:     " (ส่วนที่ %d/%d)",
		failed:   "❌ ไม่สำเร็จ (%d)",
		others:   "รายการอื่น (%d)",
		inEvents: "%s จาก %d รายการ",
		ref:      "ref",
		why:      "> รวมไว้ในข้อความเดียว เพราะมีการแจ้งเตือนเข้ามาเร็วกว่าที่ DingTalk อนุญาต (%d ข้อความต่อนาทีต่อบอท)",
		kinds: map[bankhooks.Kind]string{
			bankhooks.KindPaymentSucceeded:  "✅ ได้รับเงินแล้ว",
			bankhooks.KindPaymentFailed:     "❌ การชำระเงินล้มเหลว",
			bankhooks.KindPaymentPending:    "⏳ รอการชำระเงิน",
			bankhooks.KindRefundSucceeded:   "↩️ คืนเงินสำเร็จ",
			bankhooks.KindRefundFailed:      "❌ การคืนเงินล้มเหลว",
			bankhooks.KindTransferSucceeded: "✅ โอนเงินสำเร็จ",
			bankhooks.KindTransferFailed:    "❌ การโอนเงินล้มเหลว",
			bankhooks.KindAccountLinked:     "🔗 ผูกบัญชีสำเร็จ",
			bankhooks.KindAccountLinkFailed: "❌ การผูกบัญชีล้มเหลว",
			bankhooks.KindDisputeOpened:     "⚠️ มีการโต้แย้งรายการ",
			bankhooks.KindOther:             "ℹ️ เหตุการณ์อื่น",
			bankhooks.KindUnreadable:        "⚠️ อ่านเหตุการณ์ไม่ได้",
		},
	},
	"zh": {
		title:    "📦 %d 条提醒",
		part:     "（第 %d/%d 部分）",
		failed:   "❌ 失败（%d）",
		others:   "其他提醒（%d）",
		inEvents: "%s，共 %d 笔",
		ref:      "ref",
		why:      "> 合并发送：提醒到达速度超过 DingTalk 的限制（每个机器人每分钟 %d 条消息）。",
		kinds: map[bankhooks.Kind]string{
			bankhooks.KindPaymentSucceeded:  "✅ 收款成功",
			bankhooks.KindPaymentFailed:     "❌ 付款失败",
			bankhooks.KindPaymentPending:    "⏳ 付款处理中",
			bankhooks.KindRefundSucceeded:   "↩️ 退款成功",
			bankhooks.KindRefundFailed:      "❌ 退款失败",
			bankhooks.KindTransferSucceeded: "✅ 转账成功",
			bankhooks.KindTransferFailed:    "❌ 转账失败",
			bankhooks.KindAccountLinked:     "🔗 账户绑定成功",
			bankhooks.KindAccountLinkFailed: "❌ 账户绑定失败",
			bankhooks.KindDisputeOpened:     "⚠️ 收到争议",
			bankhooks.KindOther:             "ℹ️ 其他事件",
			bankhooks.KindUnreadable:        "⚠️ 无法识别的事件",
		},
	},
	"id": {
		title:    "📦 %d peringatan",
		part:     " (bagian %d/%d)",
		failed:   "❌ Gagal (%d)",
		others:   "Peringatan lain (%d)",
		inEvents: "%s dalam %d",
		ref:      "ref",
		why:      "> Digabung: peringatan datang lebih cepat dari batas DingTalk (%d pesan per menit per robot).",
		kinds: map[bankhooks.Kind]string{
			bankhooks.KindPaymentSucceeded:  "✅ Pembayaran diterima",
			bankhooks.KindPaymentFailed:     "❌ Pembayaran gagal",
			bankhooks.KindPaymentPending:    "⏳ Pembayaran tertunda",
			bankhooks.KindRefundSucceeded:   "↩️ Pengembalian dana selesai",
			bankhooks.KindRefundFailed:      "❌ Pengembalian dana gagal",
			bankhooks.KindTransferSucceeded: "✅ Transfer berhasil",
			bankhooks.KindTransferFailed:    "❌ Transfer gagal",
			bankhooks.KindAccountLinked:     "🔗 Rekening berhasil ditautkan",
			bankhooks.KindAccountLinkFailed: "❌ Penautan rekening gagal",
			bankhooks.KindDisputeOpened:     "⚠️ Sengketa dibuka",
			bankhooks.KindOther:             "ℹ️ Peristiwa lain",
			bankhooks.KindUnreadable:        "⚠️ Peristiwa tidak terbaca",
		},
	},
}

// ShortID is the part of a bankbot id shown on a digest line: its last 8
// characters (the random part of an ev_ id), enough to tell the events of
// one message apart and to find the event with `bankbot replay` by its full
// id from the delivery list.
func ShortID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[len(id)-8:]
}

// Digest renders several alerts as one markdown message: a heading with the
// number of alerts, the count and total per currency, failures first in a
// section of their own (with their reason), then every other alert on one
// line each (kind, amount, reference, short id), a note saying why they
// were combined, and the message id. It never fails: an amount in an
// unknown currency is shown as raw minor units. The caller splits a long list
// into parts that fit the robot's size limit (see DigestOptions.Part).
func Digest(items []DigestItem, o DigestOptions) Rendered {
	w, ok := digestWords[o.Lang]
	if !ok {
		w = digestWords["en"]
		o.Lang = "en"
	}
	var failed, others []DigestItem
	for _, it := range items {
		if it.failed() {
			failed = append(failed, it)
		} else {
			others = append(others, it)
		}
	}
	title := fmt.Sprintf(w.title, len(items))
	if o.Parts > 1 {
		title += fmt.Sprintf(w.part, o.Part, o.Parts)
	}
	var b strings.Builder
	b.WriteString("### " + title + "\n\n")
	if totals := digestTotals(items, o.Lang, w); totals != "" {
		b.WriteString(totals + "\n\n")
	}
	if len(failed) > 0 {
		b.WriteString("#### " + fmt.Sprintf(w.failed, len(failed)) + "\n\n")
		for _, it := range failed {
			b.WriteString(digestLine(it, o.Lang, w, true) + "\n")
		}
		b.WriteString("\n")
		if len(others) > 0 {
			b.WriteString("#### " + fmt.Sprintf(w.others, len(others)) + "\n\n")
		}
	}
	for _, it := range others {
		b.WriteString(digestLine(it, o.Lang, w, false) + "\n")
	}
	b.WriteString("\n")
	if o.Limit > 0 {
		b.WriteString(fmt.Sprintf(w.why, o.Limit) + "\n\n")
	}
	b.WriteString(w.ref + ": " + EscapeMarkdown(o.ID))
	return Rendered{Title: title, Text: b.String()}
}

// digestLine is one alert: "- ✅ Payment received · THB 50.00 · Order 1001 · `1a2b3c4d`".
func digestLine(it DigestItem, lang string, w digestText, withReason bool) string {
	if it.Title != "" {
		return "- " + EscapeMarkdown(it.Title) + " · " + EscapeMarkdown(ShortID(it.EventID))
	}
	ev := it.Event
	parts := []string{}
	label, ok := w.kinds[ev.Kind]
	if !ok {
		label = w.kinds[bankhooks.KindOther]
	}
	if !ev.Livemode {
		label = "[TEST] " + label
	}
	parts = append(parts, label)
	if ev.Kind == bankhooks.KindUnreadable {
		// Nothing else is known of it: say where it came from.
		parts = append(parts, EscapeMarkdown(it.Source))
	}
	if m := digestMoney(ev.Amount, ev.Currency, lang); m != "" {
		parts = append(parts, "**"+m+"**")
	}
	if ref := EscapeMarkdown(ev.Reference); ref != "" {
		parts = append(parts, ref)
	} else if id := EscapeMarkdown(ev.ID); id != "" {
		parts = append(parts, id)
	}
	if c := EscapeMarkdown(ev.Counterparty); c != "" {
		parts = append(parts, c)
	}
	if withReason {
		if r := failureText(ev, lang); r != "" {
			parts = append(parts, r)
		}
	}
	parts = append(parts, EscapeMarkdown(ShortID(it.EventID)))
	return "- " + strings.Join(parts, " · ")
}

// digestMoney formats an amount, or raw minor units for an unknown currency.
func digestMoney(minor int64, currency, lang string) string {
	if currency == "" {
		return ""
	}
	if s, err := FormatMoney(minor, currency, lang); err == nil {
		return s
	}
	return strconv.FormatInt(minor, 10) + " " + escapeField(currency, 16)
}

// digestTotals is the count and total per currency, exact: sums are big
// integers, so a burst of large amounts cannot overflow.
func digestTotals(items []DigestItem, lang string, w digestText) string {
	type total struct {
		sum   *big.Int
		count int
	}
	totals := map[string]*total{}
	for _, it := range items {
		if it.Title != "" || it.Event.Currency == "" {
			continue
		}
		t := totals[it.Event.Currency]
		if t == nil {
			t = &total{sum: new(big.Int)}
			totals[it.Event.Currency] = t
		}
		t.sum.Add(t.sum, big.NewInt(it.Event.Amount))
		t.count++
	}
	curs := make([]string, 0, len(totals))
	for c := range totals {
		curs = append(curs, c)
	}
	slices.Sort(curs)
	var parts []string
	for _, c := range curs {
		t := totals[c]
		money := ""
		if t.sum.IsInt64() {
			money = digestMoney(t.sum.Int64(), c, lang)
		} else {
			money = t.sum.String() + " " + escapeField(c, 16)
		}
		parts = append(parts, fmt.Sprintf(w.inEvents, "**"+money+"**", t.count))
	}
	return strings.Join(parts, " · ")
}

// KindLabel is a kind's short label in lang as digests show it ("❌ Payment
// failed", "❌ การชำระเงินล้มเหลว"): English for a language without digest
// words, the label of "other" for a kind that is not canonical.
func KindLabel(kind bankhooks.Kind, lang string) string {
	w, ok := digestWords[lang]
	if !ok {
		w = digestWords["en"]
	}
	if l, ok := w.kinds[kind]; ok {
		return l
	}
	return w.kinds[bankhooks.KindOther]
}
