package bankhooks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Thai bank-slip "mini QR" (the QR printed on a transfer slip). It is a
// small TLV (2-digit tag, 2-digit length, value), not the EMVCo/PromptPay
// merchant QR:
//
//	00 LL  payload, itself TLV:
//	       00 LL  API id ("000001" in every real slip seen)
//	       01 03  sending bank code (ITMX, 3 digits: 004 KBANK, 014 SCB …)
//	       02 LL  transaction reference
//	51 02  country code ("TH")
//	91 04  CRC-16/CCITT-FALSE of everything before its value (up to and
//	       including "9104"), 4 hex digits
//
// A slip QR carries no amount, no receiver and no time: a CRC-valid slip is
// well formed, not proof of payment. The reference has to be looked up with
// the sending bank (or in the events the bank sent).

// Slip errors. ParseSlip wraps exactly one of them.
var (
	// ErrSlipFormat: the text is not a slip QR (not TLV, a field missing or
	// of the wrong form, a tag twice, data after the CRC).
	ErrSlipFormat = errors.New("not a bank-slip QR")
	// ErrSlipTruncated: the text ends inside a field, or before its CRC.
	ErrSlipTruncated = errors.New("bank-slip QR is cut off")
	// ErrSlipCRC: the CRC (tag 91) does not match the text.
	ErrSlipCRC = errors.New("bank-slip QR checksum does not match")
)

// Slip tags.
const (
	slipTagPayload = "00"
	slipTagCountry = "51"
	slipTagCRC     = "91"

	slipSubAPIID     = "00"
	slipSubBank      = "01"
	slipSubReference = "02"
)

// maxSlipLen bounds the text ParseSlip reads: a slip QR is well under 100
// characters; anything much longer is not one.
const maxSlipLen = 512

// BankName names a Thai bank in English and Thai.
type BankName struct {
	Short   string // the usual abbreviation: KBANK, SCB …
	English string
	Thai    string
}

// Slip is a parsed, CRC-checked bank-slip QR.
type Slip struct {
	APIID       string   // payload sub-tag 00
	SendingBank string   // payload sub-tag 01: the ITMX 3-digit bank code
	BankName    BankName // the sending bank's names; zero when the code is not in ThaiBanks
	Reference   string   // payload sub-tag 02: the transaction reference (transRef)
	Country     string   // tag 51 ("TH"); empty when absent
	CRC         string   // tag 91, upper case
	Raw         string   // the text parsed, surrounding white space removed
}

// thaiBanks maps ITMX bank codes to names.
var thaiBanks = map[string]BankName{
	"002": {"BBL", "Bangkok Bank", "ธนาคารกรุงเทพ"},
	"004": {"KBANK", "Kasikornbank", "ธนาคารกสิกรไทย"},
	"006": {"KTB", "Krungthai Bank", "ธนาคารกรุงไทย"},
	"011": {"TTB", "TMBThanachart Bank", "ธนาคารทหารไทยธนชาต"},
	"014": {"SCB", "Siam Commercial Bank", "ธนาคารไทยพาณิชย์"},
	"022": {"CIMBT", "CIMB Thai Bank", "ธนาคารซีไอเอ็มบีไทย"},
	"024": {"UOBT", "United Overseas Bank (Thai)", "ธนาคารยูโอบี"},
	"025": {"BAY", "Bank of Ayudhya (Krungsri)", "ธนาคารกรุงศรีอยุธยา"},
	"030": {"GSB", "Government Savings Bank", "ธนาคารออมสิน"},
	"033": {"GHB", "Government Housing Bank", "ธนาคารอาคารสงเคราะห์"},
	"034": {"BAAC", "Bank for Agriculture and Agricultural Cooperatives", "ธนาคารเพื่อการเกษตรและสหกรณ์การเกษตร"},
	"035": {"EXIM", "Export-Import Bank of Thailand", "ธนาคารเพื่อการส่งออกและนำเข้าแห่งประเทศไทย"},
	"066": {"IBANK", "Islamic Bank of Thailand", "ธนาคารอิสลามแห่งประเทศไทย"},
	"067": {"TISCO", "TISCO Bank", "ธนาคารทิสโก้"},
	"069": {"KKP", "Kiatnakin Phatra Bank", "ธนาคารเกียรตินาคินภัทร"},
	"070": {"ICBCT", "ICBC (Thai)", "ธนาคารไอซีบีซี (ไทย)"},
	"071": {"TCRB", "Thai Credit Bank", "ธนาคารไทยเครดิต"},
	"073": {"LHB", "Land and Houses Bank", "ธนาคารแลนด์ แอนด์ เฮ้าส์"},
	"098": {"SME", "SME Development Bank", "ธนาคารพัฒนาวิสาหกิจขนาดกลางและขนาดย่อมแห่งประเทศไทย"},
}

// ThaiBank returns the names of the bank with ITMX code code.
func ThaiBank(code string) (BankName, bool) {
	b, ok := thaiBanks[code]
	return b, ok
}

// SlipCRC returns the CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no
// reflection, xorout 0) of s as 4 upper-case hex digits: the value of tag
// 91 for s = everything before it, "9104" included.
func SlipCRC(s string) string {
	return fmt.Sprintf("%04X", crc16CCITTFalse(s))
}

func crc16CCITTFalse(s string) uint16 {
	crc := uint16(0xFFFF)
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// tlv is one tag-length-value field; at is the offset of its tag.
type tlv struct {
	tag, value string
	at         int
}

// splitTLV reads s as consecutive TLV fields. what names s in errors;
// offset is s's position in the whole text (for error messages). A field
// that runs past the end of s is ErrSlipTruncated; a tag or length that is
// not two digits is ErrSlipFormat. A field whose tag is stop ends the
// reading: the fields after it are returned in rest, unread.
func splitTLV(s, what string, offset int, stop string) (fields []tlv, rest string, err error) {
	pos := 0
	for pos < len(s) {
		if len(s)-pos < 4 {
			return nil, "", fmt.Errorf("%w: %s ends inside a field header at character %d (%q)", ErrSlipTruncated, what, offset+pos+1, s[pos:])
		}
		tag, ln := s[pos:pos+2], s[pos+2:pos+4]
		if !digits(tag) {
			return nil, "", fmt.Errorf("%w: %s: tag %q at character %d is not two digits", ErrSlipFormat, what, tag, offset+pos+1)
		}
		if !digits(ln) {
			return nil, "", fmt.Errorf("%w: %s: tag %s at character %d: length %q is not two digits", ErrSlipFormat, what, tag, offset+pos+1, ln)
		}
		n, _ := strconv.Atoi(ln)
		start := pos + 4
		if start+n > len(s) {
			return nil, "", fmt.Errorf("%w: %s: tag %s at character %d says %d characters, %d follow", ErrSlipTruncated, what, tag, offset+pos+1, n, len(s)-start)
		}
		for _, f := range fields {
			if f.tag == tag {
				return nil, "", fmt.Errorf("%w: %s: tag %s appears twice (characters %d and %d)", ErrSlipFormat, what, tag, offset+f.at+1, offset+pos+1)
			}
		}
		fields = append(fields, tlv{tag: tag, value: s[start : start+n], at: pos})
		pos = start + n
		if tag == stop {
			return fields, s[pos:], nil
		}
	}
	return fields, "", nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hexDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ParseSlip reads a bank-slip QR's text (white space around it is
// ignored) and checks its CRC. Fields of tags it does not know, at the top
// level or inside the payload, are skipped; a tag twice, a field cut off,
// anything after the CRC or a CRC that does not match is refused.
func ParseSlip(text string) (Slip, error) {
	raw := strings.TrimSpace(text)
	switch {
	case raw == "":
		return Slip{}, fmt.Errorf("%w: the text is empty", ErrSlipFormat)
	case len(raw) > maxSlipLen:
		return Slip{}, fmt.Errorf("%w: %d characters, a slip QR has fewer than %d", ErrSlipFormat, len(raw), maxSlipLen)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c > 0x7e {
			return Slip{}, fmt.Errorf("%w: character %d (%q) is not printable ASCII", ErrSlipFormat, i+1, string(rune(c)))
		}
	}
	fields, rest, err := splitTLV(raw, "slip", 0, slipTagCRC)
	if err != nil {
		return Slip{}, err
	}
	last := fields[len(fields)-1]
	if last.tag != slipTagCRC {
		return Slip{}, fmt.Errorf("%w: the text ends before its CRC (tag 91)", ErrSlipTruncated)
	}
	if rest != "" {
		return Slip{}, fmt.Errorf("%w: %d characters (%q) follow the CRC (tag 91), which must come last", ErrSlipFormat, len(rest), rest)
	}
	if len(last.value) != 4 || !hexDigits(last.value) {
		return Slip{}, fmt.Errorf("%w: the CRC (tag 91) %q is not 4 hex digits", ErrSlipFormat, last.value)
	}
	s := Slip{CRC: strings.ToUpper(last.value), Raw: raw}
	if want := SlipCRC(raw[:last.at+4]); s.CRC != want {
		return Slip{}, fmt.Errorf("%w: the slip says %s, its text gives %s (mistyped or altered)", ErrSlipCRC, s.CRC, want)
	}
	var payload *tlv
	for i, f := range fields {
		switch f.tag {
		case slipTagPayload:
			payload = &fields[i]
		case slipTagCountry:
			s.Country = f.value
		}
	}
	if payload == nil {
		return Slip{}, fmt.Errorf("%w: no payload (tag 00)", ErrSlipFormat)
	}
	subs, _, err := splitTLV(payload.value, "payload (tag 00)", payload.at+4, "")
	if err != nil {
		return Slip{}, err
	}
	for _, f := range subs {
		switch f.tag {
		case slipSubAPIID:
			s.APIID = f.value
		case slipSubBank:
			s.SendingBank = f.value
		case slipSubReference:
			s.Reference = f.value
		}
	}
	switch {
	case s.APIID == "":
		return Slip{}, fmt.Errorf("%w: the payload has no API id (sub-tag 00)", ErrSlipFormat)
	case s.SendingBank == "":
		return Slip{}, fmt.Errorf("%w: the payload has no sending bank (sub-tag 01)", ErrSlipFormat)
	case len(s.SendingBank) != 3 || !digits(s.SendingBank):
		return Slip{}, fmt.Errorf("%w: the sending bank (sub-tag 01) %q is not a 3-digit bank code", ErrSlipFormat, s.SendingBank)
	case strings.TrimSpace(s.Reference) == "":
		return Slip{}, fmt.Errorf("%w: the payload has no transaction reference (sub-tag 02)", ErrSlipFormat)
	}
	s.BankName = thaiBanks[s.SendingBank]
	return s, nil
}
