package chatops

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Command names. Every alias maps to one of these.
const (
	CmdHelp    = "help"
	CmdToday   = "today"
	CmdSummary = "summary"
	CmdFind    = "find"
	CmdStatus  = "status"
	CmdAck     = "ack"
	CmdUnacked = "unacked"
	CmdVerify  = "verify"
	CmdRetry   = "retry"
	// CmdUnknown is a word that names no command; it is answered with help.
	CmdUnknown = "unknown"
)

// aliases maps what people type (lower-cased) to a command name: English,
// Thai, Chinese and Indonesian words where they are natural.
var aliases = map[string]string{
	"help": CmdHelp, "?": CmdHelp, "h": CmdHelp, "ช่วย": CmdHelp, "ช่วยเหลือ": CmdHelp, "帮助": CmdHelp, "bantuan": CmdHelp,
	"today": CmdToday, "วันนี้": CmdToday, "今天": CmdToday, "hariini": CmdToday,
	"summary": CmdSummary, "สรุป": CmdSummary, "汇总": CmdSummary, "ringkasan": CmdSummary,
	"find": CmdFind, "search": CmdFind, "ค้นหา": CmdFind, "หา": CmdFind, "查找": CmdFind, "查": CmdFind, "cari": CmdFind,
	"status": CmdStatus, "สถานะ": CmdStatus, "状态": CmdStatus,
	"ack": CmdAck, "รับทราบ": CmdAck, "确认": CmdAck,
	"unacked": CmdUnacked, "ค้าง": CmdUnacked, "ยังไม่รับทราบ": CmdUnacked, "未确认": CmdUnacked,
	"verify": CmdVerify, "slip": CmdVerify, "ตรวจ": CmdVerify, "ตรวจสลิป": CmdVerify, "สลิป": CmdVerify, "验证": CmdVerify, "cek": CmdVerify,
	"retry": CmdRetry, "ส่งใหม่": CmdRetry, "重试": CmdRetry,
}

// MaxCommandBytes is how much of a message's text is read as a command; a
// slip's QR text is a few hundred bytes.
const MaxCommandBytes = 4096

// Command is a parsed chat command.
type Command struct {
	// Name is one of the Cmd* names; CmdHelp for an empty message and
	// CmdUnknown for a word that names no command.
	Name string
	// Word is the command word as typed (for "unknown command X").
	Word string
	// Arg is the rest of the text after the command word, trimmed, with
	// its inner spacing kept (a slip's QR text, a note).
	Arg string
}

// Fields returns Arg split on white space.
func (c Command) Fields() []string { return strings.Fields(c.Arg) }

// ParseCommand reads a command from the text of an @-message. Leading
// @-mentions (DingTalk usually strips the robot's own, but not always, and
// not others') and slashes are skipped; the command word is matched
// case-insensitively against the names and their aliases. Invalid UTF-8 is
// replaced, control and zero-width characters are taken as spaces, and only
// the first MaxCommandBytes are read.
func ParseCommand(text string) Command {
	text = clean(text)
	for {
		text = strings.TrimSpace(text)
		if strings.HasPrefix(text, "/") {
			text = strings.TrimLeft(text, "/")
			continue
		}
		if !strings.HasPrefix(text, "@") && !strings.HasPrefix(text, "＠") {
			break
		}
		// Drop the mention up to the next space.
		i := strings.IndexFunc(text, unicode.IsSpace)
		if i < 0 {
			text = ""
			break
		}
		text = text[i:]
	}
	word, rest := text, ""
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		word, rest = text[:i], text[i:]
	}
	rest = strings.TrimSpace(rest)
	if word == "" {
		return Command{Name: CmdHelp}
	}
	lw := strings.ToLower(word)
	if name, ok := aliases[lw]; ok {
		return Command{Name: name, Word: word, Arg: rest}
	}
	// "hari ini" (Indonesian for today) is two words.
	if lw == "hari" {
		if next, after, _ := strings.Cut(rest+" ", " "); strings.EqualFold(next, "ini") {
			return Command{Name: CmdToday, Word: word + " " + next, Arg: strings.TrimSpace(after)}
		}
	}
	return Command{Name: CmdUnknown, Word: word, Arg: rest}
}

// clean makes text safe to parse: valid UTF-8, at most MaxCommandBytes (cut
// on a rune boundary), control, format (zero-width, bidi) and other space
// characters as plain spaces.
func clean(text string) string {
	if len(text) > MaxCommandBytes {
		k := MaxCommandBytes
		for k > 0 && !utf8.RuneStart(text[k]) {
			k--
		}
		text = text[:k]
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\uFFFD':
			return r
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), unicode.IsSpace(r):
			return ' '
		}
		return r
	}, text)
}
