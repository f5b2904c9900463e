package chatops

import (
	"fmt"
	"strings"
)

// text is one reply text in each language bankbot speaks (render.Languages).
// Each is a fmt format; every translation takes the same verbs in the same
// order as the English one (TestTexts checks), so one call site serves all.
type text struct{ en, th, zh, id string }

// in returns the format in lang, or the English one when lang has none: a
// missing translation shows English, never an empty message.
func (t text) in(lang string) string {
	var s string
	switch lang {
	case "th":
		s = t.th
	case "zh":
		s = t.zh
	case "id":
		s = t.id
	}
	if strings.TrimSpace(s) == "" {
		return t.en
	}
	return s
}

// tr formats the reply text t in env's language (Env.Language, set per
// conversation by Handle). Arguments that come from people or providers
// must already be escaped (md).
func (env Env) tr(t text, args ...any) string {
	if len(args) == 0 {
		return t.in(env.Language)
	}
	return fmt.Sprintf(t.in(env.Language), args...)
}

// The reply texts. Command words in backticks stay English: they work in
// every language (the Thai, Chinese and Indonesian aliases too).
var (
	txtHelpHeading = text{
		en: "#### What you can ask me here",
		th: "#### คำสั่งที่ใช้ได้ในห้องนี้",
		zh: "#### 在这里可以问我的问题",
		id: "#### Yang bisa Anda tanyakan di sini",
	}
	txtHelpNotAllowed = text{
		en: "Amounts and references are only shown in the groups listed in chatops.allowed_conversations; this conversation's id is %s.",
		th: "ยอดเงินและเลขอ้างอิงจะแสดงเฉพาะในกลุ่มที่อยู่ใน chatops.allowed_conversations เท่านั้น รหัสของห้องนี้คือ %s",
		zh: "金额和参考号只在 chatops.allowed_conversations 列出的群里显示；本会话的 id 是 %s。",
		id: "Jumlah dan referensi hanya ditampilkan di grup yang tercantum di chatops.allowed_conversations; id percakapan ini %s.",
	}
	txtHelpExample = text{
		en: "Write @bankbot and the command, e.g. `@bankbot today`.",
		th: "พิมพ์ @bankbot ตามด้วยคำสั่ง เช่น `@bankbot วันนี้`",
		zh: "输入 @bankbot 加命令，例如 `@bankbot 今天`。",
		id: "Tulis @bankbot dan perintahnya, mis. `@bankbot hariini`.",
	}
	txtUnknownCommand = text{
		en: "I do not know the command \"%s\".",
		th: "ไม่รู้จักคำสั่ง \"%s\"",
		zh: "我不认识命令“%s”。",
		id: "Saya tidak mengenal perintah \"%s\".",
	}
	txtSlowDown = text{
		en: "%s, please slow down: at most %d commands a minute. I will answer again when the minute has passed.",
		th: "%s กรุณาส่งช้าลง: ได้สูงสุด %d คำสั่งต่อนาที จะตอบอีกครั้งเมื่อครบหนึ่งนาที",
		zh: "%s，请慢一点：每分钟最多 %d 条命令。一分钟后我会再回答。",
		id: "%s, mohon pelan-pelan: paling banyak %d perintah per menit. Saya akan menjawab lagi setelah satu menit.",
	}
	txtDeniedConversation = text{
		en: "**%s** shows amounts and references, so it is only answered in the groups listed in chatops.allowed_conversations. This conversation's id is %s.",
		th: "**%s** แสดงยอดเงินและเลขอ้างอิง จึงตอบเฉพาะในกลุ่มที่อยู่ใน chatops.allowed_conversations รหัสของห้องนี้คือ %s",
		zh: "**%s** 会显示金额和参考号，因此只在 chatops.allowed_conversations 列出的群里回答。本会话的 id 是 %s。",
		id: "**%s** menampilkan jumlah dan referensi, jadi hanya dijawab di grup yang tercantum di chatops.allowed_conversations. Id percakapan ini %s.",
	}
	txtDeniedGroupsOnly = text{
		en: "**%s** is only answered in the groups listed in chatops.allowed_conversations. This conversation's id is %s.",
		th: "**%s** ตอบเฉพาะในกลุ่มที่อยู่ใน chatops.allowed_conversations รหัสของห้องนี้คือ %s",
		zh: "**%s** 只在 chatops.allowed_conversations 列出的群里回答。本会话的 id 是 %s。",
		id: "**%s** hanya dijawab di grup yang tercantum di chatops.allowed_conversations. Id percakapan ini %s.",
	}
	txtDeniedStaff = text{
		en: "**%s** needs a sender listed in chatops.allowed_staff; %s is not (staff id %s).",
		th: "**%s** ต้องส่งโดยผู้ที่อยู่ใน chatops.allowed_staff แต่ %s ไม่อยู่ในรายชื่อ (staff id %s)",
		zh: "**%s** 需要发送者在 chatops.allowed_staff 中；%s 不在其中（staff id %s）。",
		id: "**%s** memerlukan pengirim yang tercantum di chatops.allowed_staff; %s tidak tercantum (staff id %s).",
	}
	txtDeniedAdmin = text{
		en: "**%s** needs an admin: a group admin in an allowed group, or a staff id in chatops.admin_staff.",
		th: "**%s** ต้องเป็นผู้ดูแล: ผู้ดูแลกลุ่มในกลุ่มที่อนุญาต หรือ staff id ที่อยู่ใน chatops.admin_staff",
		zh: "**%s** 需要管理员：允许的群里的群管理员，或 chatops.admin_staff 中的 staff id。",
		id: "**%s** memerlukan admin: admin grup di grup yang diizinkan, atau staff id di chatops.admin_staff.",
	}
	txtStoreTrouble = text{
		en: "I cannot read the store right now; please try again in a minute.",
		th: "ตอนนี้อ่านฐานข้อมูลไม่ได้ กรุณาลองใหม่ในอีกหนึ่งนาที",
		zh: "暂时无法读取数据库，请一分钟后再试。",
		id: "Saya tidak bisa membaca basis data saat ini; coba lagi dalam satu menit.",
	}
	txtMinorUnits = text{
		en: "%d minor units %s",
		th: "%d หน่วยย่อย %s",
		zh: "%d 最小单位 %s",
		id: "%d satuan terkecil %s",
	}
	txtNone = text{en: "none", th: "ไม่มี", zh: "无", id: "tidak ada"}

	// today, summary
	txtSummaryBadDay = text{
		en: "Give the day as YYYY-MM-DD, e.g. `summary %s`.",
		th: "ระบุวันเป็น YYYY-MM-DD เช่น `summary %s`",
		zh: "请按 YYYY-MM-DD 给出日期，例如 `summary %s`。",
		id: "Tulis tanggal sebagai YYYY-MM-DD, mis. `summary %s`.",
	}
	txtSummaryHeading = text{
		en: "#### Summary %s (%s)",
		th: "#### สรุปวันที่ %s (%s)",
		zh: "#### %s 汇总（%s）",
		id: "#### Ringkasan %s (%s)",
	}
	txtSummaryNone = text{
		en: "No events received that day.",
		th: "ไม่มีรายการเข้ามาในวันนั้น",
		zh: "当天没有收到任何事件。",
		id: "Tidak ada peristiwa yang diterima hari itu.",
	}
	txtSummaryCount    = text{en: "%d events", th: "%d รายการ", zh: "共 %d 个事件", id: "%d peristiwa"}
	txtSummaryTest     = text{en: "**🧪 Test mode, not in the totals (%d)**", th: "**🧪 โหมดทดสอบ ไม่นับรวมในยอด (%d)**", zh: "**🧪 测试模式，不计入合计（%d）**", id: "**🧪 Mode uji, tidak termasuk total (%d)**"}
	txtSummaryTooLarge = text{
		en: "total too large to add up",
		th: "ยอดรวมใหญ่เกินกว่าจะรวมได้",
		zh: "总额过大，无法相加",
		id: "total terlalu besar untuk dijumlahkan",
	}
	txtSummaryFailed = text{en: "**Failed (%d)**", th: "**ไม่สำเร็จ (%d)**", zh: "**失败（%d）**", id: "**Gagal (%d)**"}
	txtSummaryMore   = text{
		en: "- … and %d more: `bankbot events list --kind …`",
		th: "- … และอีก %d รายการ: `bankbot events list --kind …`",
		zh: "- … 还有 %d 个：`bankbot events list --kind …`",
		id: "- … dan %d lagi: `bankbot events list --kind …`",
	}
	txtSummaryCapped = text{
		en: "Only the latest %d events of the day are counted.",
		th: "นับเฉพาะ %d รายการล่าสุดของวัน",
		zh: "只统计了当天最新的 %d 个事件。",
		id: "Hanya %d peristiwa terakhir hari itu yang dihitung.",
	}

	// find
	txtFindEmpty = text{
		en: "Tell me what to find: a reference (`find chrg_…`), an amount (`find 1,250.50`) or the account's last digits (`find 7890`).",
		th: "บอกสิ่งที่ต้องการค้นหา: เลขอ้างอิง (`find chrg_…`) ยอดเงิน (`find 1,250.50`) หรือเลขท้ายบัญชี (`find 7890`)",
		zh: "请告诉我要找什么：参考号（`find chrg_…`）、金额（`find 1,250.50`）或账号末几位（`find 7890`）。",
		id: "Sebutkan yang dicari: referensi (`find chrg_…`), jumlah (`find 1,250.50`) atau digit akhir rekening (`find 7890`).",
	}
	txtFindNone = text{
		en: "Nothing matches \"%s\" in the last 30 days.",
		th: "ไม่พบรายการที่ตรงกับ \"%s\" ใน 30 วันที่ผ่านมา",
		zh: "最近 30 天内没有与“%s”匹配的记录。",
		id: "Tidak ada yang cocok dengan \"%s\" dalam 30 hari terakhir.",
	}
	txtFindHeading = text{
		en: "#### Found for \"%s\" (last 30 days)",
		th: "#### ผลการค้นหา \"%s\" (30 วันที่ผ่านมา)",
		zh: "#### “%s”的查找结果（最近 30 天）",
		id: "#### Hasil untuk \"%s\" (30 hari terakhir)",
	}
	txtFindMore = text{
		en: "- … more: narrow the search, or `bankbot events find`",
		th: "- … ยังมีอีก: ระบุให้แคบลง หรือใช้ `bankbot events find`",
		zh: "- … 还有更多：缩小查找范围，或使用 `bankbot events find`",
		id: "- … masih ada: persempit pencarian, atau `bankbot events find`",
	}

	// event lines
	txtRef  = text{en: "ref %s", th: "อ้างอิง %s", zh: "参考号 %s", id: "ref %s"}
	txtAcct = text{en: "acct %s", th: "บัญชี %s", zh: "账户 %s", id: "rek %s"}

	// status
	txtStatusHeading = text{
		en: "#### bankbot status\n\n**Sources** (last event)",
		th: "#### สถานะ bankbot\n\n**แหล่งที่มา** (รายการล่าสุด)",
		zh: "#### bankbot 状态\n\n**来源**（最近一个事件）",
		id: "#### Status bankbot\n\n**Sumber** (peristiwa terakhir)",
	}
	txtStatusNever  = text{en: "never", th: "ยังไม่เคย", zh: "从未", id: "belum pernah"}
	txtStatusAgo    = text{en: "%s (%s ago)", th: "%s (%s ที่แล้ว)", zh: "%s（%s前）", id: "%s (%s lalu)"}
	txtStatusOutbox = text{
		en: "**Outbox**: %d pending, %d sending, %d unrouted, **%d dead letters**",
		th: "**คิวส่ง**: รอส่ง %d, กำลังส่ง %d, ไม่มีเส้นทาง %d, **ส่งไม่สำเร็จถาวร %d**",
		zh: "**发件队列**：待发 %d，发送中 %d，无路由 %d，**死信 %d**",
		id: "**Kotak keluar**: %d menunggu, %d dikirim, %d tanpa rute, **%d surat mati**",
	}
	txtStatusOldest = text{en: "; oldest due %s ago", th: "; รายการเก่าสุดถึงกำหนดเมื่อ %s ที่แล้ว", zh: "；最早的一条 %s前已到期", id: "; yang tertua jatuh tempo %s lalu"}
	txtStatusRobots = text{en: "**Robots**", th: "**บอท**", zh: "**机器人**", id: "**Robot**"}
	txtStatusPaused = text{en: ", paused until %s", th: ", หยุดพักถึง %s", zh: "，暂停至 %s", id: ", dijeda sampai %s"}
	txtKeyExpires   = text{en: "expires %s (in %s)", th: "หมดอายุ %s (อีก %s)", zh: "将于 %s 过期（还有 %s）", id: "kedaluwarsa %s (dalam %s)"}
	txtKeyExpired   = text{en: "expired %s: remove it", th: "หมดอายุแล้วเมื่อ %s: ลบออก", zh: "已于 %s 过期：请删除", id: "kedaluwarsa %s: hapus"}
	txtStatusKeys   = text{
		en: "**Keys expiring within 14 days**",
		th: "**คีย์ที่จะหมดอายุภายใน 14 วัน**",
		zh: "**14 天内过期的密钥**",
		id: "**Kunci yang kedaluwarsa dalam 14 hari**",
	}
	txtStatusNoKeys = text{
		en: "No key expires within 14 days.",
		th: "ไม่มีคีย์ที่จะหมดอายุภายใน 14 วัน",
		zh: "14 天内没有密钥过期。",
		id: "Tidak ada kunci yang kedaluwarsa dalam 14 hari.",
	}

	// durations (ago)
	txtDays    = text{en: "%dd %dh", th: "%d วัน %d ชม.", zh: "%d天%d小时", id: "%d hr %d jam"}
	txtHours   = text{en: "%dh %dm", th: "%d ชม. %d นาที", zh: "%d小时%d分", id: "%d jam %d mnt"}
	txtMinutes = text{en: "%dm", th: "%d นาที", zh: "%d分钟", id: "%d mnt"}
	txtSeconds = text{en: "%ds", th: "%d วินาที", zh: "%d秒", id: "%d dtk"}

	// ack
	txtAckEmpty = text{
		en: "Tell me which event: `ack ev_… [note]` (the id is in the alert).",
		th: "ระบุรายการ: `ack ev_… [หมายเหตุ]` (รหัสอยู่ในข้อความแจ้งเตือน)",
		zh: "请说明是哪个事件：`ack ev_… [备注]`（id 在提醒消息里）。",
		id: "Sebutkan peristiwanya: `ack ev_… [catatan]` (id ada di peringatan).",
	}
	txtAckSeveral = text{
		en: "Several sources received \"%s\"; give bankbot's id (ev_…) from the alert.",
		th: "มีหลายแหล่งที่ได้รับ \"%s\" กรุณาใช้รหัสของ bankbot (ev_…) จากข้อความแจ้งเตือน",
		zh: "多个来源都收到了“%s”；请使用提醒消息中 bankbot 的 id（ev_…）。",
		id: "Beberapa sumber menerima \"%s\"; gunakan id bankbot (ev_…) dari peringatan.",
	}
	txtAckNone = text{
		en: "No event \"%s\". Use the id shown in the alert (ev_…).",
		th: "ไม่พบรายการ \"%s\" กรุณาใช้รหัสที่แสดงในข้อความแจ้งเตือน (ev_…)",
		zh: "没有事件“%s”。请使用提醒消息中显示的 id（ev_…）。",
		id: "Tidak ada peristiwa \"%s\". Gunakan id yang tertera di peringatan (ev_…).",
	}
	txtAckAlready = text{
		en: "%s was already acknowledged by %s at %s.",
		th: "%s ได้รับทราบแล้วโดย %s เมื่อ %s",
		zh: "%s 已由 %s 于 %s 确认。",
		id: "%s sudah dikonfirmasi oleh %s pada %s.",
	}
	txtAckNote = text{en: " Note: %s", th: " หมายเหตุ: %s", zh: " 备注：%s", id: " Catatan: %s"}
	txtAckDone = text{
		en: "✅ %s acknowledged by %s.",
		th: "✅ %s รับทราบแล้วโดย %s",
		zh: "✅ %s 已由 %s 确认。",
		id: "✅ %s dikonfirmasi oleh %s.",
	}

	// unacked
	txtUnackedNone = text{
		en: "Nothing waits for an ack: every failure of the last 7 days is acknowledged.",
		th: "ไม่มีรายการค้าง: รายการไม่สำเร็จทั้งหมดใน 7 วันที่ผ่านมาได้รับทราบแล้ว",
		zh: "没有待确认的事件：最近 7 天的失败都已确认。",
		id: "Tidak ada yang menunggu konfirmasi: semua kegagalan 7 hari terakhir sudah dikonfirmasi.",
	}
	txtUnackedHeading = text{
		en: "#### Not acknowledged (last 7 days)",
		th: "#### ยังไม่มีผู้รับทราบ (7 วันที่ผ่านมา)",
		zh: "#### 未确认（最近 7 天）",
		id: "#### Belum dikonfirmasi (7 hari terakhir)",
	}
	txtUnackedMore = text{en: "- … more", th: "- … ยังมีอีก", zh: "- … 还有更多", id: "- … masih ada"}
	txtUnackedHint = text{
		en: "Acknowledge one with `ack ev_… [note]`.",
		th: "รับทราบรายการด้วย `ack ev_… [หมายเหตุ]`",
		zh: "用 `ack ev_… [备注]` 确认。",
		id: "Konfirmasi dengan `ack ev_… [catatan]`.",
	}

	// verify
	txtVerifyEmpty = text{
		en: "Paste the text of the slip's QR code after the command: `verify 0046000600000101030…`.",
		th: "วางข้อความจาก QR บนสลิปต่อท้ายคำสั่ง: `verify 0046000600000101030…`",
		zh: "请在命令后粘贴转账凭证二维码的文本：`verify 0046000600000101030…`。",
		id: "Tempel teks kode QR slip setelah perintah: `verify 0046000600000101030…`.",
	}
	txtVerifyUnavailable = text{
		en: "Slip checks are not available in this version of bankbot.",
		th: "bankbot รุ่นนี้ยังตรวจสลิปไม่ได้",
		zh: "此版本的 bankbot 不支持核对转账凭证。",
		id: "Pemeriksaan slip tidak tersedia di versi bankbot ini.",
	}
	txtVerifyUnreadable = text{
		en: "That is not a payment slip's QR code I can read. Scan the QR on the slip and paste its text.",
		th: "อ่าน QR ของสลิปนี้ไม่ได้ สแกน QR บนสลิปแล้ววางข้อความอีกครั้ง",
		zh: "这不是我能读取的转账凭证二维码。请扫描凭证上的二维码并粘贴其文本。",
		id: "Itu bukan kode QR slip pembayaran yang bisa saya baca. Pindai QR pada slip dan tempel teksnya.",
	}
	txtVerifyHeading = text{
		en: "#### Slip %s\n\nFrom: %s",
		th: "#### สลิป %s\n\nจาก: %s",
		zh: "#### 凭证 %s\n\n付款银行：%s",
		id: "#### Slip %s\n\nDari: %s",
	}
	txtVerifyReceived = text{
		en: "✅ Payment received: **%s** at %s (%s, %s)",
		th: "✅ ได้รับเงินแล้ว: **%s** เมื่อ %s (%s, %s)",
		zh: "✅ 已收款：**%s**，时间 %s（%s，%s）",
		id: "✅ Pembayaran diterima: **%s** pada %s (%s, %s)",
	}
	txtVerifyNotReceived = text{
		en: "⚠️ No received payment with this reference among the events of the last 90 days.",
		th: "⚠️ ไม่พบการรับเงินที่มีเลขอ้างอิงนี้ในรายการ 90 วันที่ผ่านมา",
		zh: "⚠️ 最近 90 天的事件中没有该参考号的收款。",
		id: "⚠️ Tidak ada pembayaran diterima dengan referensi ini di antara peristiwa 90 hari terakhir.",
	}
	txtVerifyHere      = text{en: "in this conversation", th: "ในห้องนี้", zh: "在本会话中", id: "di percakapan ini"}
	txtVerifyElsewhere = text{en: "in another conversation", th: "ในห้องอื่น", zh: "在另一个会话中", id: "di percakapan lain"}
	txtVerifyReused    = text{
		en: "⚠️ **Verified before** by %s at %s %s: this slip may be used twice.",
		th: "⚠️ **เคยตรวจแล้ว** โดย %s เมื่อ %s %s: สลิปนี้อาจถูกใช้ซ้ำ",
		zh: "⚠️ **已核对过**：%s 于 %s %s核对过；该凭证可能被重复使用。",
		id: "⚠️ **Sudah diverifikasi** oleh %s pada %s %s: slip ini mungkin dipakai dua kali.",
	}
	txtVerifyFirst = text{
		en: "First time this slip is verified.",
		th: "ตรวจสลิปนี้เป็นครั้งแรก",
		zh: "该凭证是第一次核对。",
		id: "Slip ini baru pertama kali diverifikasi.",
	}

	// retry
	txtRetryBad = text{
		en: "Give the delivery id: `retry 42` (`bankbot deadletters list` shows them).",
		th: "ระบุรหัสการส่ง: `retry 42` (ดูได้จาก `bankbot deadletters list`)",
		zh: "请给出投递 id：`retry 42`（`bankbot deadletters list` 可列出）。",
		id: "Sebutkan id pengiriman: `retry 42` (`bankbot deadletters list` menampilkannya).",
	}
	txtRetryNone    = text{en: "No delivery %d.", th: "ไม่พบการส่งหมายเลข %d", zh: "没有投递 %d。", id: "Tidak ada pengiriman %d."}
	txtRetryNotDead = text{
		en: "Delivery %d is not dead-lettered; nothing to retry.",
		th: "การส่งหมายเลข %d ไม่ได้อยู่ในรายการส่งไม่สำเร็จถาวร ไม่มีอะไรต้องส่งใหม่",
		zh: "投递 %d 不在死信中；无需重试。",
		id: "Pengiriman %d bukan surat mati; tidak ada yang perlu diulang.",
	}
	txtRetryDone = text{
		en: "Delivery %d is queued again.",
		th: "นำการส่งหมายเลข %d กลับเข้าคิวแล้ว",
		zh: "投递 %d 已重新排队。",
		id: "Pengiriman %d sudah diantrekan lagi.",
	}
)

// robotStates names the robot states status shows (package bot keeps them
// in the store); a state not listed shows as stored.
var robotStates = map[string]text{
	"ok":            {en: "ok", th: "ปกติ", zh: "正常", id: "normal"},
	"paused":        {en: "paused", th: "หยุดพัก", zh: "已暂停", id: "dijeda"},
	"misconfigured": {en: "misconfigured", th: "ตั้งค่าไม่ถูกต้อง", zh: "配置错误", id: "salah konfigurasi"},
	"failing":       {en: "failing", th: "ส่งไม่สำเร็จ", zh: "发送失败", id: "gagal"},
}

// usage is each command's line in help: syntax, Thai alias, what it does.
var usage = map[string]text{
	CmdToday: {
		en: "`today` (วันนี้): counts and totals of today per source, kind and currency; failed payments listed",
		th: "`today` (วันนี้): จำนวนและยอดรวมของวันนี้ แยกตามแหล่งที่มา ประเภท และสกุลเงิน พร้อมรายการที่ไม่สำเร็จ",
		zh: "`today`（今天）：今天按来源、类型和币种的笔数与总额；列出失败的付款",
		id: "`today` (hariini): jumlah dan total hari ini per sumber, jenis dan mata uang; pembayaran gagal dicantumkan",
	},
	CmdSummary: {
		en: "`summary 2026-05-17` (สรุป): the same for another day",
		th: "`summary 2026-05-17` (สรุป): เหมือนกันสำหรับวันอื่น",
		zh: "`summary 2026-05-17`（汇总）：其他日期的同样内容",
		id: "`summary 2026-05-17` (ringkasan): sama untuk hari lain",
	},
	CmdFind: {
		en: "`find chrg_…` / `find 1,250.50` / `find 7890` (ค้นหา): events of the last 30 days by reference, amount or the account's last digits",
		th: "`find chrg_…` / `find 1,250.50` / `find 7890` (ค้นหา): รายการใน 30 วันที่ผ่านมา ตามเลขอ้างอิง ยอดเงิน หรือเลขท้ายบัญชี",
		zh: "`find chrg_…` / `find 1,250.50` / `find 7890`（查找）：按参考号、金额或账号末几位查找最近 30 天的事件",
		id: "`find chrg_…` / `find 1,250.50` / `find 7890` (cari): peristiwa 30 hari terakhir menurut referensi, jumlah atau digit akhir rekening",
	},
	CmdUnacked: {
		en: "`unacked` (ค้าง): failures of the last 7 days no one has acknowledged",
		th: "`unacked` (ค้าง): รายการไม่สำเร็จใน 7 วันที่ผ่านมาที่ยังไม่มีใครรับทราบ",
		zh: "`unacked`（未确认）：最近 7 天无人确认的失败",
		id: "`unacked`: kegagalan 7 hari terakhir yang belum dikonfirmasi siapa pun",
	},
	CmdAck: {
		en: "`ack ev_… [note]` (รับทราบ): acknowledge an alert",
		th: "`ack ev_… [หมายเหตุ]` (รับทราบ): รับทราบการแจ้งเตือน",
		zh: "`ack ev_… [备注]`（确认）：确认一条提醒",
		id: "`ack ev_… [catatan]`: konfirmasi sebuah peringatan",
	},
	CmdVerify: {
		en: "`verify <slip QR text>` (ตรวจสลิป): the sending bank, whether the payment arrived, whether the slip was checked before",
		th: "`verify <ข้อความ QR บนสลิป>` (ตรวจสลิป): ธนาคารผู้โอน เงินเข้าแล้วหรือยัง และสลิปเคยถูกตรวจมาก่อนหรือไม่",
		zh: "`verify <凭证二维码文本>`（验证）：付款银行、款项是否到账、该凭证是否核对过",
		id: "`verify <teks QR slip>` (cek): bank pengirim, apakah pembayaran masuk, apakah slip pernah diperiksa",
	},
	CmdStatus: {
		en: "`status` (สถานะ): each source's last event, the outbox, dead letters, robots, keys expiring soon",
		th: "`status` (สถานะ): รายการล่าสุดของแต่ละแหล่ง คิวส่ง รายการส่งไม่สำเร็จ บอท และคีย์ที่ใกล้หมดอายุ",
		zh: "`status`（状态）：各来源最近的事件、发件队列、死信、机器人、即将过期的密钥",
		id: "`status`: peristiwa terakhir tiap sumber, kotak keluar, surat mati, robot, kunci yang segera kedaluwarsa",
	},
	CmdRetry: {
		en: "`retry 42` (ส่งใหม่): send a dead-lettered delivery again (admins)",
		th: "`retry 42` (ส่งใหม่): ส่งรายการที่ส่งไม่สำเร็จถาวรอีกครั้ง (ผู้ดูแล)",
		zh: "`retry 42`（重试）：重新发送一条死信投递（管理员）",
		id: "`retry 42`: kirim ulang pengiriman yang menjadi surat mati (admin)",
	},
	CmdHelp: {
		en: "`help` (ช่วย): this list",
		th: "`help` (ช่วย): รายการนี้",
		zh: "`help`（帮助）：本列表",
		id: "`help` (bantuan): daftar ini",
	},
}
