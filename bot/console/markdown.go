package console

import (
	"html"
	"html/template"
	"regexp"
	"strings"
)

// Markdown renders DingTalk's markdown subset as HTML for the preview and
// the event page: headings, bold, italics, inline code, quotes, bullet and
// numbered lists, rules and line breaks. Everything else is text: every
// piece of the input reaches the output through html.EscapeString, links
// and images show as their text and their address (never an <a> or <img>,
// so a javascript: address is inert text), and HTML in the input (such as
// DingTalk's <font>) shows as typed. Backslash escapes show the character,
// and entities are decoded once, as DingTalk shows them.
func Markdown(src string) template.HTML {
	var b strings.Builder
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	list := "" // "ul" or "ol" while a list is open
	para := false
	closeBlocks := func() {
		if para {
			b.WriteString("</p>\n")
			para = false
		}
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	openList := func(kind string) {
		if para {
			b.WriteString("</p>\n")
			para = false
		}
		if list != kind {
			if list != "" {
				b.WriteString("</" + list + ">\n")
			}
			b.WriteString("<" + kind + ">\n")
			list = kind
		}
	}
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			closeBlocks()
		case headingRE.MatchString(trimmed):
			closeBlocks()
			m := headingRE.FindStringSubmatch(trimmed)
			level := len(m[1])
			tag := "h" + string(rune('0'+min(level+2, 6))) // # → h3: the page has its own h1/h2
			b.WriteString("<" + tag + ">" + inline(m[2]) + "</" + tag + ">\n")
		case ruleRE.MatchString(trimmed):
			closeBlocks()
			b.WriteString("<hr>\n")
		case strings.HasPrefix(trimmed, ">"):
			closeBlocks()
			b.WriteString("<blockquote>" + inline(strings.TrimSpace(strings.TrimPrefix(trimmed, ">"))) + "</blockquote>\n")
		case bulletRE.MatchString(trimmed):
			openList("ul")
			b.WriteString("<li>" + inline(bulletRE.FindStringSubmatch(trimmed)[1]) + "</li>\n")
		case orderedRE.MatchString(trimmed):
			openList("ol")
			b.WriteString("<li>" + inline(orderedRE.FindStringSubmatch(trimmed)[1]) + "</li>\n")
		default:
			if list != "" {
				b.WriteString("</" + list + ">\n")
				list = ""
			}
			if para {
				b.WriteString("<br>\n")
			} else {
				b.WriteString("<p>")
				para = true
			}
			b.WriteString(inline(trimmed))
		}
	}
	closeBlocks()
	return template.HTML(b.String()) //nolint:gosec // every input piece is escaped by inline or is markup written here
}

var (
	headingRE = regexp.MustCompile(`^(#{1,6})\s+(.*)$`)
	ruleRE    = regexp.MustCompile(`^(-{3,}|\*{3,}|_{3,})$`)
	bulletRE  = regexp.MustCompile(`^[-*+]\s+(.*)$`)
	orderedRE = regexp.MustCompile(`^[0-9]{1,9}[.)]\s+(.*)$`)
)

// text escapes a run of literal text, decoding entities first (DingTalk
// shows "&amp;" as "&").
func text(s string) string { return html.EscapeString(html.UnescapeString(s)) }

// markdownPunct are the characters a backslash escapes.
const markdownPunct = "\\`*_{}[]()#+-.!<>~|&"

// inline renders one line's inline markup.
func inline(s string) string {
	var b strings.Builder
	var lit strings.Builder
	flush := func() {
		b.WriteString(text(lit.String()))
		lit.Reset()
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte(markdownPunct, s[i+1]) >= 0:
			// An escaped character is itself, never markup (nor an
			// entity's start: "\&amp;" shows "&amp;").
			flush()
			if s[i+1] == '&' {
				b.WriteString("&amp;")
			} else {
				b.WriteString(html.EscapeString(s[i+1 : i+2]))
			}
			i += 2
		case c == '`':
			if j := strings.IndexByte(s[i+1:], '`'); j >= 0 {
				flush()
				b.WriteString("<code>" + html.EscapeString(s[i+1:i+1+j]) + "</code>")
				i += j + 2
				continue
			}
			lit.WriteByte(c)
			i++
		case strings.HasPrefix(s[i:], "**") || strings.HasPrefix(s[i:], "__"):
			mark := s[i : i+2]
			if j := strings.Index(s[i+2:], mark); j > 0 {
				flush()
				b.WriteString("<strong>" + inline(s[i+2:i+2+j]) + "</strong>")
				i += j + 4
				continue
			}
			lit.WriteString(mark)
			i += 2
		case c == '*' || c == '_':
			if j := emphasisEnd(s, i); j > 0 {
				flush()
				b.WriteString("<em>" + inline(s[i+1:j]) + "</em>")
				i = j + 1
				continue
			}
			lit.WriteByte(c)
			i++
		case c == '[' || (c == '!' && i+1 < len(s) && s[i+1] == '['):
			if label, href, n, ok := link(s[i:]); ok {
				flush()
				cls := "md-link"
				if c == '!' {
					cls = "md-image"
				}
				b.WriteString(`<span class="` + cls + `">` + inline(label) + `</span> <span class="md-href">(` + text(href) + `)</span>`)
				i += n
				continue
			}
			lit.WriteByte(c)
			i++
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return b.String()
}

// link parses [label](href) or ![label](href) at the start of s and
// returns its parts and length.
func link(s string) (label, href string, n int, ok bool) {
	start := 0
	if s[0] == '!' {
		start = 1
	}
	closeLabel := strings.Index(s[start:], "](")
	if closeLabel < 0 {
		return "", "", 0, false
	}
	closeLabel += start
	end := strings.IndexByte(s[closeLabel+2:], ')')
	if end < 0 {
		return "", "", 0, false
	}
	end += closeLabel + 2
	return s[start+1 : closeLabel], s[closeLabel+2 : end], end + 1, true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// emphasisEnd returns the index of the marker closing the emphasis s[i]
// opens, or -1. An underscore inside a word (snake_case ids, references)
// neither opens nor closes emphasis, as in CommonMark and DingTalk.
func emphasisEnd(s string, i int) int {
	c := s[i]
	if i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == c {
		return -1
	}
	if c == '_' && i > 0 && isAlnum(s[i-1]) {
		return -1
	}
	for k := i + 2; k < len(s); k++ {
		if s[k] != c || s[k-1] == ' ' || s[k-1] == '\\' {
			continue
		}
		if c == '_' && k+1 < len(s) && isAlnum(s[k+1]) {
			continue
		}
		return k
	}
	return -1
}
