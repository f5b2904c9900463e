package dingtalk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TruncatedMarker is appended to a text that Fit shortened.
const TruncatedMarker = "… (truncated)"

// maxDerivedTitle is the length, in runes, of a markdown title derived from
// the text when Title is empty.
const maxDerivedTitle = 64

// Errors returned by Message.Body.
var (
	// ErrUnsupportedType: the message type is neither text nor markdown.
	ErrUnsupportedType = errors.New("dingtalk: unsupported message type")
	// ErrEmptyMessage: the message has no text and no mention to send.
	ErrEmptyMessage = errors.New("dingtalk: empty message")
)

type wireText struct {
	Content string `json:"content"`
}

type wireMarkdown struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type wireAt struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	AtUserIDs []string `json:"atUserIds,omitempty"`
	IsAtAll   bool     `json:"isAtAll"`
}

type wireBody struct {
	MsgType  MsgType       `json:"msgtype"`
	Text     *wireText     `json:"text,omitempty"`
	Markdown *wireMarkdown `json:"markdown,omitempty"`
	At       wireAt        `json:"at"`
	MsgUUID  string        `json:"msgUuid,omitempty"`
}

// Body returns the JSON request body DingTalk's custom robot expects for m
// (dingtalk.md §2):
//
//	{"msgtype":"markdown","markdown":{"title":…,"text":…},"at":{"atMobiles":[…],"atUserIds":[…],"isAtAll":false},"msgUuid":…}
//	{"msgtype":"text","text":{"content":…},"at":{…}}
//
// The text is FullText: every mention missing from the text is appended to
// it. Empty and duplicate mentions are dropped. A markdown message without a
// Title gets one derived from the first line of its text, because DingTalk
// requires a title. HTML characters are not escaped, so the body is as small
// as it can be; its length is what DingTalk's 20000-byte limit counts.
func (m Message) Body() ([]byte, error) {
	text, err := m.checkedText()
	if err != nil {
		return nil, err
	}
	w := wireBody{
		MsgType: m.Type,
		At: wireAt{
			AtMobiles: cleanMentions(m.AtMobiles),
			AtUserIDs: cleanMentions(m.AtUserIDs),
			IsAtAll:   m.AtAll,
		},
		MsgUUID: m.UUID,
	}
	switch m.Type {
	case MsgText:
		w.Text = &wireText{Content: text}
	case MsgMarkdown:
		w.Markdown = &wireMarkdown{Title: m.title(), Text: text}
	}
	return marshal(w)
}

// FullText returns the text that is sent: Text followed, for every
// @-mention in AtMobiles and AtUserIDs that does not already appear in Text
// as "@<mobile>" or "@<userId>", by that "@…" token. The appended tokens are
// space separated on their own final line (a paragraph of their own in
// markdown). DingTalk only notifies a mention that appears in the text.
func (m Message) FullText() string {
	missing := m.missingMentions()
	if len(missing) == 0 {
		return m.Text
	}
	return m.Text + lineSep(m.Type, m.Text) + strings.Join(missing, " ")
}

// lineSep returns what goes between text and a line appended to it: nothing
// after a blank text, a blank line in markdown (so the line is a paragraph of
// its own; one newline when text already ends with one), and a newline in a
// text message unless text already ends with one.
func lineSep(t MsgType, text string) string {
	switch {
	case strings.TrimSpace(text) == "":
		return ""
	case t == MsgMarkdown:
		if strings.HasSuffix(text, "\n") {
			return "\n"
		}
		return "\n\n"
	case !strings.HasSuffix(text, "\n"):
		return "\n"
	}
	return ""
}

// checkedText validates m and returns FullText.
func (m Message) checkedText() (string, error) {
	if m.Type != MsgText && m.Type != MsgMarkdown {
		return "", fmt.Errorf("%w %q", ErrUnsupportedType, string(m.Type))
	}
	text := m.FullText()
	if strings.TrimSpace(text) == "" {
		return "", ErrEmptyMessage
	}
	return text, nil
}

// title returns the markdown title, derived from the text when empty.
func (m Message) title() string {
	if t := strings.TrimSpace(m.Title); t != "" {
		return t
	}
	for line := range strings.SplitSeq(m.Text, "\n") {
		line = strings.TrimSpace(strings.TrimLeft(line, "#> \t"))
		if line == "" {
			continue
		}
		if utf8.RuneCountInString(line) > maxDerivedTitle {
			r := []rune(line)
			line = string(r[:maxDerivedTitle])
		}
		return line
	}
	return "bankbot"
}

// missingMentions returns "@x" for every cleaned mobile then user id that
// does not appear in the text as a mention.
func (m Message) missingMentions() []string {
	var out []string
	for _, list := range [][]string{cleanMentions(m.AtMobiles), cleanMentions(m.AtUserIDs)} {
		for _, x := range list {
			if !containsMention(m.Text, x) {
				out = append(out, "@"+x)
			}
		}
	}
	return out
}

// cleanMentions trims the entries, drops empty ones and duplicates, and keeps
// the order. It returns nil for an empty result so "at" omits the key.
func cleanMentions(list []string) []string {
	var out []string
	seen := make(map[string]bool, len(list))
	for _, x := range list {
		x = strings.TrimSpace(x)
		if x == "" || seen[x] {
			continue
		}
		seen[x] = true
		out = append(out, x)
	}
	return out
}

// containsMention reports whether text holds "@"+x not followed by a letter,
// digit, '_' or '-' (so "@1380" is not found in "@13800001111").
func containsMention(text, x string) bool {
	tok := "@" + x
	for i := 0; ; {
		j := strings.Index(text[i:], tok)
		if j < 0 {
			return false
		}
		end := i + j + len(tok)
		r, _ := utf8.DecodeRuneInString(text[end:])
		if end == len(text) || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-') {
			return true
		}
		i += j + 1
	}
}

// marshal encodes v as compact JSON without HTML escaping and without the
// encoder's trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("dingtalk: encode message: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// bodySize is the size function of the custom robot: the length of Body.
func bodySize(m Message) (int, error) {
	b, err := m.Body()
	return len(b), err
}

// Fit returns m unchanged and false when m.Body() is at most max bytes.
// Otherwise it shortens m.Text so the body fits and reports true: the text is
// cut on a UTF-8 rune boundary (never inside a multi-byte character, never
// between a character and its combining marks, as in Thai), preferably at
// the end of a line, and TruncatedMarker is appended. Mentions still reach
// the body, because Body re-appends any @-token the cut removed.
//
// When even an empty text does not fit (title and mentions alone exceed max),
// Fit returns the shortest message it can build with true, and its body is
// still over max; Robot.Send refuses such a message with ErrTooLarge. An
// invalid message (Body fails) is returned unchanged with false.
//
// Fit knows nothing of a robot's keywords: the senders fit with room left for
// the keyword they add, and Sizer.MessageSize measures a message with it.
func Fit(m Message, max int) (Message, bool) {
	return fit(m, max, bodySize)
}

// fit implements Fit for any size function (the app robot measures msgParam).
func fit(m Message, max int, size func(Message) (int, error)) (Message, bool) {
	n, err := size(m)
	if err != nil || n <= max {
		return m, false
	}
	text := m.Text
	cut := func(k int) Message {
		c := m
		c.Text = text[:k] + TruncatedMarker
		return c
	}
	fits := func(k int) bool {
		n, err := size(cut(k))
		return err == nil && n <= max
	}
	if !fits(0) {
		return cut(0), true
	}
	// Binary search for a long prefix that fits. size is not strictly
	// monotonic in k (a mention cut from the text is re-appended at the end),
	// so lo is only ever set to a value that was checked to fit.
	lo, hi := 0, len(text)
	for hi-lo > 1 {
		mid := runeStart(text, lo+(hi-lo)/2)
		if mid <= lo {
			mid = nextRune(text, lo)
			if mid >= hi {
				break
			}
		}
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if k := niceCut(text, lo); k != lo && fits(k) {
		lo = k
	}
	return cut(lo), true
}

// runeStart moves k back to the start of the rune it is in.
func runeStart(s string, k int) int {
	for k > 0 && k < len(s) && !utf8.RuneStart(s[k]) {
		k--
	}
	return k
}

// nextRune returns the index of the rune after the one starting at k.
func nextRune(s string, k int) int {
	_, n := utf8.DecodeRuneInString(s[k:])
	if n == 0 {
		return len(s)
	}
	return k + n
}

// niceCut moves a cut at k (a rune boundary) backwards so it does not split a
// character from its combining marks, and to the end of a line within 512
// bytes, or else after a space within 64 bytes, so that a number or word is
// not cut in half.
func niceCut(s string, k int) int {
	for k > 0 {
		r, _ := utf8.DecodeRuneInString(s[k:])
		if !unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc) {
			break
		}
		k = runeStart(s, k-1)
	}
	if i := strings.LastIndexByte(s[:k], '\n'); i >= 0 && k-(i+1) <= 512 {
		return i + 1
	}
	if i := strings.LastIndexByte(s[:k], ' '); i >= 0 && k-(i+1) <= 64 {
		return i + 1
	}
	return k
}
