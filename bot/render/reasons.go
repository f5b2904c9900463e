package render

import (
	"strings"

	"github.com/bankbot/bankbot/bankhooks"
)

// reasonText is one failure code explained in plain words, per language.
type reasonText struct{ en, th, zh, id string }

// in returns the text in lang, or the English one when lang has none.
func (r reasonText) in(lang string) string {
	s := map[string]string{"en": r.en, "th": r.th, "zh": r.zh, "id": r.id}[lang]
	if strings.TrimSpace(s) == "" {
		return r.en
	}
	return s
}

// failureReasons explains the failure codes providers send, keyed by the
// lower-case code as it arrives in bankhooks.Event.FailureCode.
//
// Opn Payments (Omise) charge failure codes (insufficient_fund,
// insufficient_balance, stolen_or_lost_card, invalid_security_code,
// failed_fraud_check, failed_processing, invalid_account,
// invalid_account_number, payment_rejected, payment_expired,
// payment_cancelled, timeout, confirmed_amount_mismatch) and the transfer
// and recipient ones (rate_limit_exceeded, registration_rejected). Stripe card decline codes
// and error codes (a charge's failure_code, a PaymentIntent's
// last_payment_error.code: card_declined, whose issuer reason arrives in
// Stripe's own message next to it), payout failure codes, refund failure
// reasons and PaymentIntent cancellation reasons (dispute reasons are in
// kindReasons). A code that is in no list is shown as the provider sent it,
// with its message: ExplainFailure returns "" for it.
//
// Codes that both providers use with the same meaning (insufficient_funds,
// invalid_account_number …) have one entry.
var failureReasons = map[string]reasonText{
	// Opn Payments.
	"insufficient_fund": {
		en: "not enough money on the card or in the account",
		th: "ยอดเงินในบัตรหรือบัญชีไม่พอ",
		zh: "卡内或账户余额不足",
		id: "saldo kartu atau rekening tidak cukup",
	},
	"insufficient_balance": {
		en: "not enough balance in the payer's bank account or e-wallet",
		th: "ยอดเงินในบัญชีธนาคารหรือวอลเล็ตของผู้จ่ายไม่พอ",
		zh: "付款人的银行账户或电子钱包余额不足",
		id: "saldo rekening bank atau e-wallet pembayar tidak cukup",
	},
	"invalid_account": {
		en: "no valid account was found for this payment method",
		th: "ไม่พบบัญชีที่ใช้ได้สำหรับช่องทางชำระเงินนี้",
		zh: "未找到该支付方式的有效账户",
		id: "tidak ditemukan akun yang valid untuk metode pembayaran ini",
	},
	"invalid_account_number": {
		en: "the account number is wrong",
		th: "เลขที่บัญชีไม่ถูกต้อง",
		zh: "账号有误",
		id: "nomor rekening salah",
	},
	"failed_processing": {
		en: "the bank or card network could not process the payment; it may work if tried again",
		th: "ธนาคารหรือเครือข่ายบัตรประมวลผลรายการไม่สำเร็จ ลองทำรายการใหม่ได้",
		zh: "银行或卡组织未能处理该付款，可稍后重试",
		id: "bank atau jaringan kartu gagal memproses pembayaran; bisa dicoba lagi",
	},
	"rate_limit_exceeded": {
		en: "too many attempts in a short time; try again later",
		th: "ทำรายการถี่เกินไปในเวลาสั้น ๆ ลองใหม่ภายหลัง",
		zh: "短时间内尝试次数过多，请稍后重试",
		id: "terlalu banyak percobaan dalam waktu singkat; coba lagi nanti",
	},
	"registration_rejected": {
		en: "the bank rejected the registration of the account",
		th: "ธนาคารปฏิเสธการลงทะเบียนบัญชี",
		zh: "银行拒绝了该账户的登记",
		id: "bank menolak pendaftaran rekening",
	},
	"payment_rejected": {
		en: "the bank or card issuer rejected the payment",
		th: "ธนาคารหรือผู้ออกบัตรปฏิเสธการชำระเงิน",
		zh: "银行或发卡行拒绝了该付款",
		id: "bank atau penerbit kartu menolak pembayaran",
	},
	"stolen_or_lost_card": {
		en: "the card was reported lost or stolen",
		th: "บัตรถูกแจ้งว่าสูญหายหรือถูกขโมย",
		zh: "该卡已挂失或被报告被盗",
		id: "kartu dilaporkan hilang atau dicuri",
	},
	"invalid_security_code": {
		en: "the card's security code (CVV) is wrong",
		th: "รหัสความปลอดภัยของบัตร (CVV) ไม่ถูกต้อง",
		zh: "银行卡安全码（CVV）错误",
		id: "kode keamanan kartu (CVV) salah",
	},
	"failed_fraud_check": {
		en: "the payment was stopped by the fraud check",
		th: "รายการถูกระงับโดยระบบตรวจสอบการทุจริต",
		zh: "付款未通过反欺诈检查",
		id: "pembayaran dihentikan oleh pemeriksaan penipuan",
	},
	"confirmed_amount_mismatch": {
		en: "the amount the payer confirmed differs from the amount charged",
		th: "ยอดที่ผู้จ่ายยืนยันไม่ตรงกับยอดที่เรียกเก็บ",
		zh: "付款人确认的金额与收取的金额不一致",
		id: "jumlah yang dikonfirmasi pembayar berbeda dengan jumlah tagihan",
	},
	"payment_expired": {
		en: "the payer did not complete the payment in time",
		th: "ผู้จ่ายไม่ได้ชำระเงินให้เสร็จภายในเวลาที่กำหนด",
		zh: "付款人未在规定时间内完成付款",
		id: "pembayar tidak menyelesaikan pembayaran tepat waktu",
	},
	"payment_cancelled": {
		en: "the payer cancelled the payment",
		th: "ผู้จ่ายยกเลิกการชำระเงิน",
		zh: "付款人取消了付款",
		id: "pembayar membatalkan pembayaran",
	},
	"timeout": {
		en: "the bank or payment channel did not answer in time",
		th: "ธนาคารหรือช่องทางชำระเงินไม่ตอบกลับภายในเวลาที่กำหนด",
		zh: "银行或支付渠道未及时响应",
		id: "bank atau kanal pembayaran tidak merespons tepat waktu",
	},

	// Midtrans transaction statuses (the parser puts the status of a failed
	// transaction in FailureCode, fraud_deny when the fraud check denied it)
	// and Xendit's.
	"deny": {
		en: "the bank or payment channel denied the payment",
		th: "ธนาคารหรือช่องทางชำระเงินปฏิเสธการชำระเงิน",
		zh: "银行或支付渠道拒绝了该付款",
		id: "bank atau kanal pembayaran menolak pembayaran",
	},
	"fraud_deny": {
		en: "the payment was stopped by the fraud check",
		th: "รายการถูกระงับโดยระบบตรวจสอบการทุจริต",
		zh: "付款未通过反欺诈检查",
		id: "pembayaran dihentikan oleh pemeriksaan penipuan",
	},
	"expire": {
		en: "the payer did not complete the payment in time",
		th: "ผู้จ่ายไม่ได้ชำระเงินให้เสร็จภายในเวลาที่กำหนด",
		zh: "付款人未在规定时间内完成付款",
		id: "pembayar tidak menyelesaikan pembayaran tepat waktu",
	},
	"expired": {
		en: "the payer did not complete the payment in time",
		th: "ผู้จ่ายไม่ได้ชำระเงินให้เสร็จภายในเวลาที่กำหนด",
		zh: "付款人未在规定时间内完成付款",
		id: "pembayar tidak menyelesaikan pembayaran tepat waktu",
	},
	"cancel": {
		en: "the payment was cancelled",
		th: "การชำระเงินถูกยกเลิก",
		zh: "付款已取消",
		id: "pembayaran dibatalkan",
	},
	"max_amount_limit_error": {
		en: "the amount is over the payment channel's limit",
		th: "ยอดเงินเกินวงเงินของช่องทางชำระเงิน",
		zh: "金额超出支付渠道的限额",
		id: "jumlah melebihi batas kanal pembayaran",
	},
	"account_access_blocked": {
		en: "the payer's account is blocked at the bank or e-wallet",
		th: "บัญชีของผู้จ่ายถูกระงับที่ธนาคารหรือกระเป๋าเงินอิเล็กทรอนิกส์",
		zh: "付款人的银行或电子钱包账户被冻结",
		id: "akun pembayar diblokir di bank atau e-wallet",
	},

	// Stripe decline codes.
	"card_declined": {
		en: "the card issuer declined the payment",
		th: "ผู้ออกบัตรปฏิเสธการชำระเงิน",
		zh: "发卡行拒绝了该付款",
		id: "penerbit kartu menolak pembayaran",
	},
	"generic_decline": {
		en: "the card issuer declined the payment without saying why",
		th: "ผู้ออกบัตรปฏิเสธการชำระเงินโดยไม่แจ้งเหตุผล",
		zh: "发卡行拒绝了该付款，未说明原因",
		id: "penerbit kartu menolak pembayaran tanpa alasan",
	},
	"do_not_honor": {
		en: "the card issuer declined the payment; the payer should call their bank",
		th: "ผู้ออกบัตรปฏิเสธการชำระเงิน ผู้จ่ายควรติดต่อธนาคาร",
		zh: "发卡行拒绝了该付款，付款人应联系其银行",
		id: "penerbit kartu menolak pembayaran; pembayar sebaiknya menghubungi banknya",
	},
	"insufficient_funds": {
		en: "not enough money on the card or in the account",
		th: "ยอดเงินในบัตรหรือบัญชีไม่พอ",
		zh: "卡内或账户余额不足",
		id: "saldo kartu atau rekening tidak cukup",
	},
	"expired_card": {
		en: "the card has expired",
		th: "บัตรหมดอายุแล้ว",
		zh: "银行卡已过期",
		id: "kartu sudah kedaluwarsa",
	},
	"incorrect_cvc": {
		en: "the card's security code (CVC) is wrong",
		th: "รหัสความปลอดภัยของบัตร (CVC) ไม่ถูกต้อง",
		zh: "银行卡安全码（CVC）错误",
		id: "kode keamanan kartu (CVC) salah",
	},
	"incorrect_number": {
		en: "the card number is wrong",
		th: "หมายเลขบัตรไม่ถูกต้อง",
		zh: "卡号错误",
		id: "nomor kartu salah",
	},
	"processing_error": {
		en: "an error occurred while processing the card; it may work if tried again",
		th: "เกิดข้อผิดพลาดขณะประมวลผลบัตร ลองทำรายการใหม่ได้",
		zh: "处理银行卡时出错，可稍后重试",
		id: "terjadi kesalahan saat memproses kartu; bisa dicoba lagi",
	},
	"lost_card": {
		en: "the card was reported lost",
		th: "บัตรถูกแจ้งว่าสูญหาย",
		zh: "该卡已挂失",
		id: "kartu dilaporkan hilang",
	},
	"stolen_card": {
		en: "the card was reported stolen",
		th: "บัตรถูกแจ้งว่าถูกขโมย",
		zh: "该卡被报告被盗",
		id: "kartu dilaporkan dicuri",
	},
	"fraudulent": {
		en: "the payment was declined as suspected fraud",
		th: "รายการถูกปฏิเสธเพราะสงสัยว่าเป็นการทุจริต",
		zh: "付款因疑似欺诈被拒绝",
		id: "pembayaran ditolak karena diduga penipuan",
	},
	"authentication_required": {
		en: "the card needs authentication (3D Secure) that was not completed",
		th: "บัตรต้องยืนยันตัวตน (3D Secure) แต่ยังไม่ได้ยืนยัน",
		zh: "该卡需要身份验证（3D Secure），但未完成",
		id: "kartu memerlukan autentikasi (3D Secure) yang belum diselesaikan",
	},
	"card_velocity_exceeded": {
		en: "the card's spending limit or number of payments was exceeded",
		th: "เกินวงเงินหรือจำนวนครั้งที่บัตรใช้ได้",
		zh: "超出该卡的消费额度或交易次数",
		id: "batas belanja atau jumlah transaksi kartu terlampaui",
	},
	"pickup_card": {
		en: "the card issuer asked to keep the card (it may be lost or stolen)",
		th: "ผู้ออกบัตรขอให้เก็บบัตรไว้ (อาจสูญหายหรือถูกขโมย)",
		zh: "发卡行要求没收该卡（可能已挂失或被盗）",
		id: "penerbit kartu meminta kartu ditahan (mungkin hilang atau dicuri)",
	},
	"restricted_card": {
		en: "the card cannot be used for this payment",
		th: "บัตรนี้ใช้กับรายการนี้ไม่ได้",
		zh: "该卡不能用于此笔付款",
		id: "kartu tidak dapat digunakan untuk pembayaran ini",
	},
	"transaction_not_allowed": {
		en: "the card issuer does not allow this kind of payment",
		th: "ผู้ออกบัตรไม่อนุญาตรายการประเภทนี้",
		zh: "发卡行不允许此类付款",
		id: "penerbit kartu tidak mengizinkan jenis pembayaran ini",
	},
	"try_again_later": {
		en: "the card issuer declined for now; try again later",
		th: "ผู้ออกบัตรปฏิเสธชั่วคราว ลองใหม่ภายหลัง",
		zh: "发卡行暂时拒绝，请稍后重试",
		id: "penerbit kartu menolak untuk sementara; coba lagi nanti",
	},
	"expired_or_canceled_card": {
		en: "the card has expired or was cancelled",
		th: "บัตรหมดอายุหรือถูกยกเลิกแล้ว",
		zh: "银行卡已过期或已注销",
		id: "kartu sudah kedaluwarsa atau dibatalkan",
	},
	"lost_or_stolen_card": {
		en: "the card was reported lost or stolen",
		th: "บัตรถูกแจ้งว่าสูญหายหรือถูกขโมย",
		zh: "该卡已挂失或被报告被盗",
		id: "kartu dilaporkan hilang atau dicuri",
	},
	"account_closed": {
		en: "the bank account is closed",
		th: "บัญชีธนาคารถูกปิดแล้ว",
		zh: "该银行账户已关闭",
		id: "rekening bank sudah ditutup",
	},
	"account_frozen": {
		en: "the bank account is frozen",
		th: "บัญชีธนาคารถูกอายัด",
		zh: "该银行账户已冻结",
		id: "rekening bank dibekukan",
	},
	"no_account": {
		en: "the bank account does not exist",
		th: "ไม่พบบัญชีธนาคารนี้",
		zh: "该银行账户不存在",
		id: "rekening bank tidak ditemukan",
	},
	"could_not_process": {
		en: "the bank could not process the payout",
		th: "ธนาคารประมวลผลการโอนออกไม่ได้",
		zh: "银行无法处理此笔出款",
		id: "bank tidak dapat memproses pencairan dana",
	},
	"abandoned": {
		en: "the payer left without paying",
		th: "ผู้จ่ายออกไปโดยไม่ได้ชำระเงิน",
		zh: "付款人未付款即离开",
		id: "pembayar pergi tanpa membayar",
	},
	"requested_by_customer": {
		en: "cancelled at the customer's request",
		th: "ยกเลิกตามคำขอของลูกค้า",
		zh: "应客户要求取消",
		id: "dibatalkan atas permintaan pelanggan",
	},
	"duplicate": {
		en: "cancelled as a duplicate payment",
		th: "ยกเลิกเพราะเป็นรายการซ้ำ",
		zh: "因重复付款而取消",
		id: "dibatalkan karena pembayaran ganda",
	},
}

// merchantBalance is insufficient_funds where the money was to come from
// the merchant's own balance: a refund or a payout, not the payer's card.
var merchantBalance = reasonText{
	en: "not enough balance in the merchant's account for this",
	th: "ยอดคงเหลือในบัญชีร้านค้าไม่พอสำหรับรายการนี้",
	zh: "商户账户余额不足，无法完成此笔款项",
	id: "saldo akun merchant tidak cukup untuk transaksi ini",
}

// kindReasons are the codes whose meaning depends on the kind of event:
// a dispute's reason (Stripe's dispute.reason) says what the cardholder
// claims, and insufficient_funds or insufficient_balance on a refund or
// payout is the merchant's balance, not the payer's. Looked up before failureReasons; a dispute reason not listed
// here is shown as sent, never explained as a decline.
var kindReasons = map[bankhooks.Kind]map[string]reasonText{
	bankhooks.KindRefundFailed:   {"insufficient_funds": merchantBalance, "insufficient_balance": merchantBalance},
	bankhooks.KindTransferFailed: {"insufficient_funds": merchantBalance, "insufficient_balance": merchantBalance},
	bankhooks.KindDisputeOpened: {
		"fraudulent": {
			en: "the cardholder says they did not make this payment",
			th: "ผู้ถือบัตรแจ้งว่าไม่ได้ทำรายการนี้",
			zh: "持卡人称并非本人付款",
			id: "pemegang kartu mengaku tidak melakukan pembayaran ini",
		},
		"duplicate": {
			en: "the cardholder says they were charged twice",
			th: "ผู้ถือบัตรแจ้งว่าถูกเรียกเก็บเงินซ้ำ",
			zh: "持卡人称被重复扣款",
			id: "pemegang kartu mengaku ditagih dua kali",
		},
		"product_not_received": {
			en: "the customer says the goods or service never arrived",
			th: "ลูกค้าแจ้งว่าไม่ได้รับสินค้าหรือบริการ",
			zh: "客户称未收到商品或服务",
			id: "pelanggan mengaku barang atau jasa tidak diterima",
		},
		"product_unacceptable": {
			en: "the customer says the goods or service were faulty or not as described",
			th: "ลูกค้าแจ้งว่าสินค้าหรือบริการชำรุดหรือไม่ตรงตามที่แจ้ง",
			zh: "客户称商品或服务有缺陷或与描述不符",
			id: "pelanggan mengaku barang atau jasa rusak atau tidak sesuai deskripsi",
		},
		"subscription_canceled": {
			en: "the customer says the subscription had been cancelled",
			th: "ลูกค้าแจ้งว่ายกเลิกการสมัครสมาชิกไปแล้ว",
			zh: "客户称订阅已取消",
			id: "pelanggan mengaku langganan sudah dibatalkan",
		},
		"unrecognized": {
			en: "the cardholder does not recognise the payment",
			th: "ผู้ถือบัตรไม่รู้จักรายการนี้",
			zh: "持卡人不认识这笔付款",
			id: "pemegang kartu tidak mengenali pembayaran ini",
		},
		"credit_not_processed": {
			en: "the customer says a promised refund was not made",
			th: "ลูกค้าแจ้งว่ายังไม่ได้รับเงินคืนตามที่ตกลง",
			zh: "客户称承诺的退款未到账",
			id: "pelanggan mengaku pengembalian dana yang dijanjikan belum diberikan",
		},
		"general": {
			en: "the cardholder disputes the payment without a specific reason",
			th: "ผู้ถือบัตรโต้แย้งรายการโดยไม่ระบุเหตุผล",
			zh: "持卡人对该付款提出争议，未说明具体原因",
			id: "pemegang kartu menyengketakan pembayaran tanpa alasan khusus",
		},
	},
}

// ExplainFailure returns the plain-words explanation of a provider's
// failure code on an event of kind, in lang (English when lang has no text
// of its own), or "" when bankbot does not know the code: the caller then
// shows the provider's own code and message unchanged. A dispute's reason
// is only looked up among dispute reasons. Matching ignores case and
// surrounding space. The text is bankbot's own, not escaped.
func ExplainFailure(kind bankhooks.Kind, code, lang string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	if r, ok := kindReasons[kind][code]; ok {
		return r.in(lang)
	}
	if kind == bankhooks.KindDisputeOpened {
		return ""
	}
	if r, ok := failureReasons[code]; ok {
		return r.in(lang)
	}
	return ""
}

// failureText is an event's failure as one escaped line in lang: the plain
// explanation with the provider's code and message in brackets when the
// code is known ("not enough money … (insufficient_fund — Insufficient
// funds)"), else the provider's code and message as sent, "" when neither
// is given. Digest and Fallback use it; the templates do the same with the
// reason function.
func failureText(ev bankhooks.Event, lang string) string {
	raw := joinNonEmpty(" — ", EscapeMarkdown(ev.FailureCode), EscapeMarkdown(ev.FailureMessage))
	plain := EscapeMarkdown(ExplainFailure(ev.Kind, ev.FailureCode, lang))
	if plain == "" {
		return raw
	}
	return plain + " (" + raw + ")"
}
