package schedule

import (
	"fmt"
	"strings"
	"time"
)

// words are a language's texts of the scheduled messages (English, Thai,
// Simplified Chinese, Indonesian; the schedule's language: key, by default
// the config's language).
type words struct {
	lang         string
	summaryTitle string // "📊 Summary: %s" (the schedule's name)
	noEvents     string
	total        string // "%d events in all"
	testMode     string // "🧪 Test mode, not in the totals (%d)": events sent in the provider's test mode
	failed       string // "❌ Failed (%d)"
	unacked      string // "🔔 Not acknowledged (%d)"
	more         string // "- … and %d more"
	ref          string
	silentTitle  string // "🔕 %s is silent" (the source)
	silentText   string // "No event received since %s (%s ago)."
	hoursNote    string // "Only its business hours count toward its %s of silence_after."
	backTitle    string // "🔔 %s is receiving again"
	backText     string // "Source %s is receiving again after %s of silence (at %s)."
	keyTitle     string
	keyLine      string // "%s expires at %s (in %s)"
	keyHint      string
	units        [3]string // days, hours, minutes
}

var allWords = map[string]words{
	"en": {
		lang:         "en",
		summaryTitle: "📊 Summary: %s",
		noEvents:     "No events in this period.",
		total:        "%d events in all.",
		testMode:     "🧪 Test mode, not in the totals (%d)",
		failed:       "❌ Failed (%d)",
		unacked:      "🔔 Not acknowledged (%d)",
		more:         "- … and %d more",
		ref:          "ref",
		silentTitle:  "🔕 Source %s is silent",
		silentText:   "No event received since %s (%s ago). The bank may be in maintenance, or webhooks may not reach bankbot.",
		hoursNote:    "Only its business hours (silence_hours) count toward its silence_after of %s.",
		backTitle:    "🔔 Source %s is receiving again",
		backText:     "Source %s is receiving again after %s of silence (first event at %s).",
		keyTitle:     "🔑 Keys expiring soon",
		keyLine:      "%s expires at %s (in %s)",
		keyHint:      "Add the new key next to the old one in config.yaml before it expires (both are accepted meanwhile), then remove the old one.",
		units:        [3]string{"d", "h", "min"},
	},
	"th": {
		lang:         "th",
		summaryTitle: "📊 สรุปยอด: %s",
		noEvents:     "ไม่มีรายการในช่วงเวลานี้",
		total:        "รวมทั้งหมด %d รายการ",
		testMode:     "🧪 โหมดทดสอบ ไม่นับรวมในยอด (%d)",
		failed:       "❌ ไม่สำเร็จ (%d)",
		unacked:      "🔔 ยังไม่มีผู้รับทราบ (%d)",
		more:         "- … และอีก %d รายการ",
		ref:          "อ้างอิง",
		silentTitle:  "🔕 แหล่งข้อมูล %s เงียบ",
		silentText:   "ไม่ได้รับรายการใดตั้งแต่ %s (ผ่านมา %s) ธนาคารอาจปิดปรับปรุงระบบ หรือ webhook อาจส่งมาไม่ถึง bankbot",
		hoursNote:    "นับเฉพาะเวลาทำการ (silence_hours) สำหรับ silence_after %s",
		backTitle:    "🔔 แหล่งข้อมูล %s กลับมารับรายการแล้ว",
		backText:     "แหล่งข้อมูล %s กลับมารับรายการแล้วหลังจากเงียบไป %s (รายการแรกเมื่อ %s)",
		keyTitle:     "🔑 คีย์ใกล้หมดอายุ",
		keyLine:      "%s หมดอายุเมื่อ %s (อีก %s)",
		keyHint:      "เพิ่มคีย์ใหม่ไว้คู่กับคีย์เดิมใน config.yaml ก่อนหมดอายุ (ระหว่างนั้นใช้ได้ทั้งสองคีย์) แล้วจึงลบคีย์เดิมออก",
		units:        [3]string{" วัน", " ชม.", " นาที"},
	},
	"zh": {
		lang:         "zh",
		summaryTitle: "📊 汇总：%s",
		noEvents:     "此期间没有事件。",
		total:        "共 %d 个事件。",
		testMode:     "🧪 测试模式，不计入合计（%d）",
		failed:       "❌ 失败（%d）",
		unacked:      "🔔 未确认（%d）",
		more:         "- … 另有 %d 条",
		ref:          "编号",
		silentTitle:  "🔕 来源 %s 已静默",
		silentText:   "自 %s 起未收到任何事件（已 %s）。银行可能在维护，或 webhook 未能到达 bankbot。",
		hoursNote:    "只有营业时间（silence_hours）计入 silence_after（%s）。",
		backTitle:    "🔔 来源 %s 已恢复接收",
		backText:     "来源 %s 在静默 %s 后恢复接收（第一个事件于 %s）。",
		keyTitle:     "🔑 密钥即将过期",
		keyLine:      "%s 将于 %s 过期（还有 %s）",
		keyHint:      "请在过期前将新密钥加到 config.yaml 中旧密钥旁边（期间两者都有效），然后删除旧密钥。",
		units:        [3]string{" 天", " 小时", " 分钟"},
	},
	"id": {
		lang:         "id",
		summaryTitle: "📊 Ringkasan: %s",
		noEvents:     "Tidak ada peristiwa pada periode ini.",
		total:        "Total %d peristiwa.",
		testMode:     "🧪 Mode uji, tidak termasuk total (%d)",
		failed:       "❌ Gagal (%d)",
		unacked:      "🔔 Belum dikonfirmasi (%d)",
		more:         "- … dan %d lainnya",
		ref:          "ref",
		silentTitle:  "🔕 Sumber %s tidak aktif",
		silentText:   "Tidak ada peristiwa diterima sejak %s (%s yang lalu). Bank mungkin sedang pemeliharaan, atau webhook tidak sampai ke bankbot.",
		hoursNote:    "Hanya jam kerja (silence_hours) yang dihitung untuk silence_after %s.",
		backTitle:    "🔔 Sumber %s menerima lagi",
		backText:     "Sumber %s menerima lagi setelah %s tidak aktif (peristiwa pertama pada %s).",
		keyTitle:     "🔑 Kunci segera kedaluwarsa",
		keyLine:      "%s kedaluwarsa pada %s (dalam %s)",
		keyHint:      "Tambahkan kunci baru di samping kunci lama di config.yaml sebelum kedaluwarsa (keduanya diterima sementara itu), lalu hapus kunci lama.",
		units:        [3]string{" hari", " jam", " menit"},
	},
}

// wordsFor returns lang's words, English for an unknown language.
func wordsFor(lang string) words {
	if w, ok := allWords[lang]; ok {
		return w
	}
	return allWords["en"]
}

// duration is d in days, hours and minutes ("2d 3h", "45min"), rounded
// down to the minute; under a minute is "0min".
func (w words) duration(d time.Duration) string {
	d = d.Truncate(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%d%s", days, w.units[0]))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%d%s", hours, w.units[1]))
	}
	if mins > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%d%s", max(mins, 0), w.units[2]))
	}
	return strings.Join(parts, " ")
}
