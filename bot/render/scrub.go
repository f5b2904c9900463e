package render

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// This file holds what EscapeMarkdown does to a provider string besides
// escaping it: it masks card numbers, IBANs and long digit runs, and defangs
// URLs. Both work on the normalised runes, before the value is cut to
// MaxFieldRunes and escaped, so no template, nor Fallback or Digest, can show
// a provider string without them.
//
// Masking rules (a masked number shows as maskDots and its last 4 digits or
// letters, e.g. ••••1111):
//   - an IBAN: 2 letters, 2 check digits and 11 to 30 letters or digits,
//     with single spaces allowed between them, whose ISO 7064 mod-97
//     checksum is valid (a failing one is left to the digit rules below);
//   - a card number: 13 to 19 digits, not all zeros, that pass the Luhn
//     check, written together or as groups of 4 to 6 digits (the last may
//     have 3) separated by a single space or dash (4111 1111 1111 1111,
//     3782-822463-10005, 6304 0000 0000 0000 018);
//   - any other run of 10 or more digits, written together or as groups
//     separated by single dashes (account numbers such as 123-4-56789-0). A
//     space ends such a run, so "2026-03-14 10:30", "1 000 000" or
//     "Order 1001 2002" are left alone.
//
// Digit runs inside a hash or UUID (see inHexToken) are left alone.
//
// Digits are every decimal digit Unicode knows (ASCII, Thai ๐-๙, fullwidth
// ０-９, Arabic-Indic …), so a card number typed in Thai digits is masked
// too; IBANs are ASCII by definition. Amounts are not provider strings (money and
// amount format them), and bankbot's own ids (ev_…, dm_…) are exempt, see
// isBankbotID.

// isBankbotID reports whether s is exactly one of bankbot's own event or
// message ids (package bot's newID): "ev_" or "dm_" and 26 characters of its
// Crockford base-32 alphabet (digits and lower-case letters but i, l, o and
// u). EscapeMarkdown shows them as they are: their random part can hold ten
// digits in a row, and masking it would hide the id people search for.
func isBankbotID(s string) bool {
	if len(s) != 29 || (s[:3] != "ev_" && s[:3] != "dm_") {
		return false
	}
	for i := 3; i < len(s); i++ {
		c := s[i]
		if !isASCIIDigit(rune(c)) && (c < 'a' || c > 'z' || c == 'i' || c == 'l' || c == 'o' || c == 'u') {
			return false
		}
	}
	return true
}

// scrub masks numbers in rs and then defangs URLs; see the rules above.
func scrub(rs []rune) []rune {
	return defang(maskDigitRuns(maskIBANs(rs)))
}

// isASCIIDigit reports whether r is 0-9.
func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// isASCIILetter reports whether r is A-Z or a-z.
func isASCIILetter(r rune) bool { return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') }

// isASCIIAlnum reports whether r is an ASCII letter or digit.
func isASCIIAlnum(r rune) bool { return isASCIIDigit(r) || isASCIILetter(r) }

// masked is maskDots followed by the last 4 runes of keep.
func masked(keep []rune) []rune {
	if len(keep) > 4 {
		keep = keep[len(keep)-4:]
	}
	return append([]rune(maskDots), keep...)
}

// maskIBANs replaces every IBAN with a valid checksum by •••• and its last 4
// characters.
func maskIBANs(rs []rune) []rune {
	var out []rune
	last := 0 // rs[last:] is not yet copied to out
	for i := 0; i+4 <= len(rs); i++ {
		if (i > 0 && isASCIIAlnum(rs[i-1])) || !isASCIILetter(rs[i]) || !isASCIILetter(rs[i+1]) ||
			!isASCIIDigit(rs[i+2]) || !isASCIIDigit(rs[i+3]) {
			continue
		}
		// Collect the letters and digits from i, allowing single spaces
		// between groups; ends[k] is where the k-th group ends in rs and
		// counts[k] how many characters the groups so far hold.
		var chars []rune
		var ends, counts []int
		j := i
		for j < len(rs) && len(chars) <= 34 {
			if !isASCIIAlnum(rs[j]) {
				if rs[j] == ' ' && j+1 < len(rs) && isASCIIAlnum(rs[j+1]) && j > i {
					j++
					continue
				}
				break
			}
			chars = append(chars, unicode.ToUpper(rs[j]))
			if j+1 == len(rs) || !isASCIIAlnum(rs[j+1]) {
				ends, counts = append(ends, j+1), append(counts, len(chars))
			}
			j++
		}
		for k := len(ends) - 1; k >= 0; k-- {
			n := counts[k]
			if n < 15 || n > 34 || !ibanChecksum(chars[:n]) {
				continue
			}
			out = append(out, rs[last:i]...)
			out = append(out, masked(chars[:n])...)
			last = ends[k]
			i = ends[k] - 1
			break
		}
	}
	if last == 0 {
		return rs
	}
	return append(out, rs[last:]...)
}

// ibanChecksum reports whether the upper-case letters and digits of an IBAN
// pass ISO 7064 mod 97-10: the first four moved to the end, letters as 10 to
// 35, the number modulo 97 is 1.
func ibanChecksum(iban []rune) bool {
	n := 0
	for _, r := range append(append([]rune{}, iban[4:]...), iban[:4]...) {
		switch {
		case isASCIIDigit(r):
			n = (n*10 + int(r-'0')) % 97
		case r >= 'A' && r <= 'Z':
			n = (n*100 + int(r-'A') + 10) % 97
		default:
			return false
		}
	}
	return n == 1
}

// digitGroup is a run of ASCII digits rs[start:end]; sep is the separator
// (' ' or '-') between it and the next group of the same chain, or 0.
type digitGroup struct {
	start, end int
	sep        rune
}

// maskDigitRuns masks card numbers and long digit runs (see the rules at the
// top of this file).
func maskDigitRuns(rs []rune) []rune {
	var out []rune
	last := 0
	for i := 0; i < len(rs); {
		if !isDigit(rs[i]) {
			i++
			continue
		}
		// A chain: digit groups joined by a single space or dash.
		var chain []digitGroup
		j := i
		for {
			start := j
			for j < len(rs) && isDigit(rs[j]) {
				j++
			}
			g := digitGroup{start: start, end: j}
			if j+1 < len(rs) && (rs[j] == ' ' || rs[j] == '-') && isDigit(rs[j+1]) {
				g.sep = rs[j]
				chain = append(chain, g)
				j++
				continue
			}
			chain = append(chain, g)
			break
		}
		if inHexToken(rs, i, j) {
			i = j
			continue
		}
		for _, span := range chainMasks(rs, chain) {
			out = append(out, rs[last:span[0]]...)
			out = append(out, masked(digitsIn(rs[span[0]:span[1]]))...)
			last = span[1]
		}
		i = j
	}
	if last == 0 {
		return rs
	}
	return append(out, rs[last:]...)
}

// inHexToken reports whether rs[i:j] lies in a hash or UUID: a word of at
// least 32 hexadecimal digits (dashes allowed) with at least one letter, such
// as the "sha256:…" id of an unreadable event. Its digit runs are not masked:
// they are not account numbers, and the id must stay searchable.
func inHexToken(rs []rune, i, j int) bool {
	isHex := func(r rune) bool { return isASCIIDigit(r) || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F') }
	word := func(r rune) bool { return isASCIIAlnum(r) || r == '-' }
	for i > 0 && word(rs[i-1]) {
		i--
	}
	for j < len(rs) && word(rs[j]) {
		j++
	}
	n, letter := 0, false
	for _, r := range rs[i:j] {
		switch {
		case r == '-':
		case !isHex(r):
			return false
		default:
			n++
			letter = letter || !isASCIIDigit(r)
		}
	}
	return n >= 32 && letter
}

// chainMasks returns the spans of rs to mask in one chain of digit groups:
// Luhn-valid card numbers first, then runs of 10 or more digits joined only
// by dashes among the groups left.
func chainMasks(rs []rune, chain []digitGroup) [][2]int {
	size := func(g digitGroup) int { return g.end - g.start }
	card := make([]bool, len(chain))
	var spans [][2]int
	for i := 0; i < len(chain); i++ {
		// The groups from i that hold at most 19 digits, longest first.
		last, n := i, size(chain[i])
		for last+1 < len(chain) && n+size(chain[last+1]) <= 19 {
			last++
			n += size(chain[last])
		}
		for j := last; j >= i; j-- {
			if j < last {
				n -= size(chain[j+1])
			}
			ok := true
			for k := i; k <= j && j > i; k++ {
				if size(chain[k]) > 6 || size(chain[k]) < 4 && (k < j || size(chain[k]) < 3) {
					ok = false
				}
			}
			if !ok || n < 13 || n > 19 {
				continue
			}
			digits := digitsIn(rs[chain[i].start:chain[j].end])
			if allZero(digits) || !luhn(digits) {
				continue
			}
			for k := i; k <= j; k++ {
				card[k] = true
			}
			spans = append(spans, [2]int{chain[i].start, chain[j].end})
			i = j
			break
		}
	}
	for i := 0; i < len(chain); i++ {
		if card[i] {
			continue
		}
		j, n := i, size(chain[i])
		for j+1 < len(chain) && chain[j].sep == '-' && !card[j+1] {
			j++
			n += size(chain[j])
		}
		if n >= 10 {
			spans = append(spans, [2]int{chain[i].start, chain[j].end})
		}
		i = j
	}
	// Both passes went left to right; interleave them.
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	return spans
}

// isDigit reports whether r is a decimal digit of any script (Unicode Nd).
func isDigit(r rune) bool { return isASCIIDigit(r) || (r > 0x7f && unicode.IsDigit(r)) }

// digitValue is the value 0-9 of a decimal digit of any script. Unicode
// lays every script's digits out as runs of ten from zero, so the value is
// how many digits precede r in its run, modulo 10 (runs of several tens,
// such as the mathematical digits, start at a zero too).
func digitValue(r rune) int {
	if isASCIIDigit(r) {
		return int(r - '0')
	}
	k := 0
	for k < 50 && unicode.IsDigit(r-rune(k)-1) {
		k++
	}
	return k % 10
}

// allZero reports whether every digit is a zero.
func allZero(digits []rune) bool {
	for _, r := range digits {
		if digitValue(r) != 0 {
			return false
		}
	}
	return true
}

// digitsIn returns the digits of rs.
func digitsIn(rs []rune) []rune {
	var d []rune
	for _, r := range rs {
		if isDigit(r) {
			d = append(d, r)
		}
	}
	return d
}

// luhn reports whether the digits pass the Luhn check.
func luhn(digits []rune) bool {
	sum := 0
	for i := range digits {
		d := digitValue(digits[len(digits)-1-i])
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return len(digits) > 0 && sum%10 == 0
}

// URL patterns defang rewrites with regular expressions: "://" with the
// scheme before it, if any, and the host after it; and a host starting with
// "www." (after anything but a letter or digit, as GitHub-flavoured
// autolinks allow "_www."). A bare host name is found by defangBareHosts.
var (
	schemeURL = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*)?://[^\s/?#\\]*`)
	wwwHost   = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])www\.[^\s/?#\\]*`)
)

// defang makes URLs in provider text unclickable, the way threat reports
// quote them: the scheme http(s) becomes hxxp(s) and ftp(s) fxp(s), the
// "://" of any other scheme (or of none) becomes "[:]//", and the dots of
// the host name become "[.]": "https://evil.example/login" shows as
// "hxxps://evil[.]example/login", "www.evil.example" as "www[.]evil[.]example",
// "evil.example/login" as "evil[.]example/login" and "shop.example" or an
// e-mail address's host as "shop[.]example". Escaping then turns the
// brackets into \[ and \], so they cannot form a link either.
func defang(rs []rune) []rune {
	s := string(rs)
	if !strings.Contains(s, ".") && !strings.Contains(s, "://") {
		return rs
	}
	dots := func(host string) string { return strings.ReplaceAll(host, ".", "[.]") }
	changed := false
	if strings.Contains(s, "://") {
		changed = true
		s = schemeURL.ReplaceAllStringFunc(s, func(m string) string {
			scheme, host, _ := strings.Cut(m, "://")
			switch strings.ToLower(scheme) {
			case "http", "https":
				return scheme[:1] + "xx" + scheme[3:] + "://" + dots(host) // hxxp, hxxps
			case "ftp", "ftps":
				return scheme[:1] + "x" + scheme[2:] + "://" + dots(host) // fxp, fxps
			}
			return scheme + "[:]//" + dots(host)
		})
	}
	if containsFoldASCII(s, "www.") {
		changed = true
		s = wwwHost.ReplaceAllStringFunc(s, dots)
	}
	if changed {
		rs = []rune(s)
	}
	return defangBareHosts(rs)
}

// defangBareHosts writes the dots of a bare host name as "[.]": a run of
// ASCII letters, digits, dashes and dots that isBareHost takes for a DNS
// name ("evil.example", "evil.example/login", "login.evil-bank.co.th", and
// the host of an e-mail address, "pay@evil[.]example"): chat clients link
// such names even without a scheme. A dot at the end of the run ends a
// sentence and is kept. Numbers ("12.50", "v1.2.3"), abbreviations ("e.g.",
// "Co. Ltd.") and event types ("charge.complete") do not match.
func defangBareHosts(rs []rune) []rune {
	hostRune := func(r rune) bool { return isASCIIAlnum(r) || r == '-' || r == '.' }
	var out []rune
	last := 0
	for i := 0; i < len(rs); {
		if !hostRune(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && hostRune(rs[j]) {
			j++
		}
		k := j
		for k > i && rs[k-1] == '.' {
			k-- // a sentence's full stop
		}
		// A run right after a slash is a path segment ("/a.html"), not a host.
		if (i == 0 || rs[i-1] != '/') && isBareHost(rs[i:k]) {
			out = append(out, rs[last:i]...)
			for _, c := range rs[i:k] {
				if c == '.' {
					out = append(out, '[', '.', ']')
				} else {
					out = append(out, c)
				}
			}
			last = k
		}
		i = j
	}
	if out == nil {
		return rs
	}
	return append(out, rs[last:]...)
}

// isBareHost reports whether host looks like a DNS name a chat client would
// link: labels separated by single dots, at least two, none empty, the last
// a top-level domain of linkTLDs.
func isBareHost(host []rune) bool {
	dot := -1
	for j, c := range host {
		if c == '.' {
			if j == 0 || j == dot+1 {
				return false // an empty label
			}
			dot = j
		}
	}
	if dot <= 0 {
		return false
	}
	tld := host[dot+1:]
	if !allASCIILetters(tld) {
		return false
	}
	return len(tld) == 2 || linkTLDs[strings.ToLower(string(tld))]
}

// linkTLDs are the top-level domains, besides every two-letter country code,
// after which a bare name is linked: linkify-it's fuzzy-link set (what
// markdown-it renderers use) and the generic domains common in phishing and
// payment pages. Without a list, event types such as "customer.update"
// would be defanged too.
var linkTLDs = map[string]bool{
	"biz": true, "com": true, "edu": true, "gov": true, "net": true, "org": true, "pro": true, "web": true,
	"xxx": true, "aero": true, "asia": true, "coop": true, "info": true, "museum": true, "name": true, "shop": true,
	"app": true, "dev": true, "xyz": true, "top": true, "online": true, "site": true, "club": true, "vip": true,
	"link": true, "click": true, "live": true, "store": true, "tech": true, "bank": true, "finance": true,
	"money": true, "cloud": true, "icu": true, "buzz": true, "work": true, "support": true, "services": true,
	"page": true, "website": true, "example": true,
}

// allASCIILetters reports whether rs is only ASCII letters.
func allASCIILetters(rs []rune) bool {
	for _, r := range rs {
		if !isASCIILetter(r) {
			return false
		}
	}
	return true
}

// containsFoldASCII reports whether s contains the lower-case ASCII sub,
// ignoring ASCII case.
func containsFoldASCII(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && (s[i+j]|0x20) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}
