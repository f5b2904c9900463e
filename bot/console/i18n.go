package console

import "net/http"

// The console speaks English and Thai: ?lang=th or ?lang=en picks one and a
// cookie remembers it; without either, English.

var languages = []string{"en", "th"}

// texts maps a key to its English and Thai text.
var texts = map[string][2]string{
	"title":               {"bankbot console", "คอนโซล bankbot"},
	"nav.overview":        {"Overview", "ภาพรวม"},
	"nav.events":          {"Events", "รายการเหตุการณ์"},
	"nav.deadletters":     {"Dead letters", "ข้อความที่ส่งไม่สำเร็จ"},
	"nav.actions":         {"Actions", "การดำเนินการ"},
	"nav.preview":         {"Preview", "ตัวอย่างข้อความ"},
	"signout":             {"Sign out", "ออกจากระบบ"},
	"signed.in.as":        {"Signed in as", "เข้าสู่ระบบในฐานะ"},
	"role.admin":          {"admin", "admin (ผู้ดูแล)"},
	"role.viewer":         {"viewer", "viewer (ดูอย่างเดียว)"},
	"lang.switch":         {"ภาษาไทย", "English"},
	"times.in":            {"Times in", "เวลาตามเขต"},
	"signin.title":        {"Sign in", "เข้าสู่ระบบ"},
	"signin.token":        {"Token (admin.token or admin.viewer_token)", "โทเคน (admin.token หรือ admin.viewer_token)"},
	"signin.submit":       {"Sign in", "เข้าสู่ระบบ"},
	"signin.wrong":        {"That token is not right.", "โทเคนไม่ถูกต้อง"},
	"signin.limited":      {"Too many failed sign-ins from this address; try again after", "ลงชื่อเข้าใช้ผิดหลายครั้งเกินไป ลองใหม่หลังเวลา"},
	"signin.off":          {"The console is off: set admin.token in the config.", "คอนโซลปิดอยู่: ตั้งค่า admin.token ในไฟล์คอนฟิก"},
	"signin.origin":       {"The sign-in came from another site and was refused.", "คำขอมาจากเว็บไซต์อื่น จึงถูกปฏิเสธ"},
	"sources":             {"Sources", "แหล่งที่มา"},
	"source":              {"Source", "แหล่งที่มา"},
	"provider":            {"Provider", "ผู้ให้บริการ"},
	"last.event":          {"Last event", "เหตุการณ์ล่าสุด"},
	"events.today":        {"Events today", "เหตุการณ์วันนี้"},
	"rejects.hour":        {"Rejected (last hour)", "ถูกปฏิเสธ (1 ชั่วโมงล่าสุด)"},
	"keys.expiring":       {"Keys expiring within 14 days", "คีย์ที่จะหมดอายุภายใน 14 วัน"},
	"none":                {"none", "ไม่มี"},
	"never":               {"never", "ไม่เคย"},
	"robots":              {"Robots", "บอท"},
	"robot":               {"Robot", "บอท"},
	"state":               {"State", "สถานะ"},
	"hint":                {"What to do", "วิธีแก้ไข"},
	"sent.today":          {"Sent today", "ส่งวันนี้"},
	"outbox":              {"Outbox", "คิวรอส่ง"},
	"dead":                {"Dead", "ส่งไม่สำเร็จ"},
	"state.ok":            {"ok", "ปกติ"},
	"state.paused":        {"paused until", "หยุดชั่วคราวถึง"},
	"state.misconfigured": {"misconfigured", "ตั้งค่าไม่ถูกต้อง"},
	"state.failing":       {"failing", "ส่งไม่สำเร็จ"},
	"dead.letters":        {"Dead letters", "ข้อความที่ส่งไม่สำเร็จ"},
	"config":              {"Config", "คอนฟิก"},
	"config.file":         {"File", "ไฟล์"},
	"config.hash":         {"Hash", "แฮช"},
	"config.applied":      {"Applied at", "ใช้งานเมื่อ"},
	"config.lastreload":   {"Last reload", "โหลดซ้ำครั้งล่าสุด"},
	"config.error":        {"Last reload error", "ข้อผิดพลาดของการโหลดซ้ำล่าสุด"},
	"config.warnings":     {"Warnings", "คำเตือน"},
	"version":             {"Version", "เวอร์ชัน"},
	"chart.title":         {"Events per hour, last 24 hours", "เหตุการณ์ต่อชั่วโมง 24 ชั่วโมงล่าสุด"},
	"chart.total":         {"events in 24 hours", "เหตุการณ์ใน 24 ชั่วโมง"},
	"problems":            {"Could not read everything", "อ่านข้อมูลได้ไม่ครบ"},
	"search":              {"Search", "ค้นหา"},
	"search.hint":         {"reference, provider id, bankbot id, amount or last digits of the account", "เลขอ้างอิง, รหัสจากผู้ให้บริการ, รหัส bankbot, จำนวนเงิน หรือเลขท้ายบัญชี"},
	"any":                 {"any", "ทั้งหมด"},
	"kind":                {"Kind", "ประเภท"},
	"from":                {"From", "ตั้งแต่"},
	"to":                  {"To", "ถึง"},
	"received":            {"Received", "ได้รับเมื่อ"},
	"amount":              {"Amount", "จำนวนเงิน"},
	"reference":           {"Reference", "เลขอ้างอิง"},
	"account":             {"Account", "บัญชี"},
	"next.page":           {"Older events →", "เหตุการณ์ก่อนหน้า →"},
	"first.page":          {"Newest", "ล่าสุด"},
	"no.events":           {"No events.", "ไม่มีเหตุการณ์"},
	"test.mode":           {"test", "ทดสอบ"},
	"event":               {"Event", "เหตุการณ์"},
	"event.id":            {"bankbot id", "รหัส bankbot"},
	"provider.id":         {"Provider event id", "รหัสเหตุการณ์จากผู้ให้บริการ"},
	"type":                {"Type", "ชนิด"},
	"counterparty":        {"Counterparty", "คู่ธุรกรรม"},
	"description":         {"Description", "รายละเอียด"},
	"failure":             {"Failure", "สาเหตุที่ล้มเหลว"},
	"livemode":            {"Live", "ใช้งานจริง"},
	"yes":                 {"yes", "ใช่"},
	"no":                  {"no", "ไม่ใช่"},
	"remote.ip":           {"From IP", "IP ผู้ส่ง"},
	"occurred":            {"Occurred", "เกิดขึ้นเมื่อ"},
	"routed":              {"Routed", "จัดเส้นทางเมื่อ"},
	"confirmation":        {"Confirmation", "การยืนยัน"},
	"deliveries":          {"Deliveries", "การส่ง"},
	"delivery":            {"Delivery", "การส่ง"},
	"route":               {"Route", "เส้นทาง"},
	"status":              {"Status", "สถานะ"},
	"message.id":          {"Message", "ข้อความ"},
	"next.attempt":        {"Next attempt", "ลองใหม่ครั้งถัดไป"},
	"sent.at":             {"Sent", "ส่งเมื่อ"},
	"attempt":             {"Attempt", "ครั้งที่"},
	"time":                {"Time", "เวลา"},
	"result":              {"Result", "ผลลัพธ์"},
	"errcode":             {"errcode", "errcode"},
	"error":               {"Error", "ข้อผิดพลาด"},
	"duration":            {"Took", "ใช้เวลา"},
	"no.deliveries":       {"No deliveries.", "ไม่มีการส่ง"},
	"message":             {"Message as rendered", "ข้อความที่แสดงผล"},
	"message.raw":         {"Markdown", "Markdown"},
	"raw.body":            {"Raw body (masked)", "ข้อมูลดิบ (ปิดบังเลขบัญชี)"},
	"copy":                {"Copy", "คัดลอก"},
	"copied":              {"Copied", "คัดลอกแล้ว"},
	"retry":               {"Retry", "ส่งใหม่"},
	"retry.selected":      {"Retry selected", "ส่งใหม่ที่เลือก"},
	"retry.all":           {"Retry all…", "ส่งใหม่ทั้งหมด…"},
	"retry.all.confirm":   {"Retry every dead letter", "ยืนยันส่งใหม่ทั้งหมด"},
	"retry.all.question":  {"Make every dead letter due again through today's config?", "ส่งข้อความที่ไม่สำเร็จทั้งหมดใหม่ตามคอนฟิกปัจจุบันหรือไม่?"},
	"cancel":              {"Cancel", "ยกเลิก"},
	"no.deadletters":      {"No dead letters.", "ไม่มีข้อความที่ส่งไม่สำเร็จ"},
	"showing":             {"Showing", "แสดง"},
	"of":                  {"of", "จาก"},
	"attempts":            {"Attempts", "จำนวนครั้ง"},
	"reason":              {"Reason", "สาเหตุ"},
	"updated":             {"Updated", "อัปเดตเมื่อ"},
	"reload":              {"Reload the config", "โหลดคอนฟิกใหม่"},
	"reload.help":         {"Reads the config file now, as POST /admin/reload does; a refused file leaves the running config serving.", "อ่านไฟล์คอนฟิกทันที เหมือน POST /admin/reload หากไฟล์ผิดพลาด คอนฟิกเดิมยังทำงานต่อ"},
	"test.message":        {"Send a test message", "ส่งข้อความทดสอบ"},
	"test.help":           {"Sends `bankbot dingtalk test`'s message through the robot and shows DingTalk's answer.", "ส่งข้อความทดสอบแบบ `bankbot dingtalk test` ผ่านบอท และแสดงคำตอบจาก DingTalk"},
	"send":                {"Send", "ส่ง"},
	"replay":              {"Replay an event", "ส่งเหตุการณ์ซ้ำ"},
	"replay.help":         {"Sends the event (bankbot id or provider event id) again through today's routes, as `bankbot replay` does.", "ส่งเหตุการณ์ (รหัส bankbot หรือรหัสจากผู้ให้บริการ) ซ้ำตามเส้นทางปัจจุบัน เหมือน `bankbot replay`"},
	"replay.submit":       {"Replay", "ส่งซ้ำ"},
	"no.robots":           {"No robots configured.", "ยังไม่ได้ตั้งค่าบอท"},
	"template":            {"Template", "เทมเพลต"},
	"language":            {"Language", "ภาษา"},
	"show":                {"Show", "แสดง"},
	"preview.rendered":    {"As DingTalk shows it", "แสดงผลแบบใน DingTalk"},
	"preview.raw":         {"Raw text", "ข้อความดิบ"},
	"preview.sample":      {"A sample event of the chosen kind, rendered through today's templates.", "เหตุการณ์ตัวอย่างของประเภทที่เลือก แสดงผลด้วยเทมเพลตปัจจุบัน"},
	"forbidden":           {"Viewers cannot act: sign in with the admin token.", "ผู้ดูอย่างเดียวไม่สามารถดำเนินการได้ กรุณาเข้าสู่ระบบด้วยโทเคนผู้ดูแล"},
	"csrf":                {"The form expired or came from another site; reload the page and try again.", "แบบฟอร์มหมดอายุหรือมาจากเว็บไซต์อื่น กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง"},
	"not.found":           {"Not found.", "ไม่พบข้อมูล"},
	"store.error":         {"The store did not answer; try again.", "ฐานข้อมูลไม่ตอบสนอง กรุณาลองใหม่"},
	"bad.request":         {"That request is not valid.", "คำขอไม่ถูกต้อง"},
	"window.note":         {"Searched", "ค้นหาช่วง"},
	"scanned.to":          {"Account digits are searched a few thousand events a page; this page searched back to", "การค้นหาเลขท้ายบัญชีค้นได้ครั้งละไม่กี่พันรายการ หน้านี้ค้นย้อนไปถึง"},
}

// T returns key's text in lang; an unknown key shows as itself (a test
// checks every key the templates use exists).
func T(lang, key string) string {
	t, ok := texts[key]
	if !ok {
		return key
	}
	if lang == "th" {
		return t[1]
	}
	return t[0]
}

// pickLang is the language of a request: ?lang=, else the cookie, else
// English. set is true when ?lang= chose it.
func pickLang(r *http.Request) (lang string, set bool) {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "th" {
		return l, true
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "th") {
		return c.Value, false
	}
	return "en", false
}
