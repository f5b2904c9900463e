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
// Digits are ASCII digits. Amounts are not provider strings (money and
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
		if !isASCIIDigit(rs[i]) {
			i++
			continue
		}
		// A chain: digit groups joined by a single space or dash.
		var chain []digitGroup
		j := i
		for {
			start := j
			for j < len(rs) && isASCIIDigit(rs[j]) {
				j++
			}
			g := digitGroup{start: start, end: j}
			if j+1 < len(rs) && (rs[j] == ' ' || rs[j] == '-') && isASCIIDigit(rs[j+1]) {
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
			if strings.Trim(string(digits), "0") == "" || !luhn(digits) {
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

// digitsIn returns the ASCII digits of rs.
func digitsIn(rs []rune) []rune {
	var d []rune
	for _, r := range rs {
		if isASCIIDigit(r) {
			d = append(d, r)
		}
	}
	return d
}

// luhn reports whether the digits pass the Luhn check.
func luhn(digits []rune) bool {
	sum := 0
	for i := range digits {
		d := int(digits[len(digits)-1-i] - '0')
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
// autolinks allow "_www."). A bare host name followed by a path is found by
// defangPathHosts.
var (
	schemeURL = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*)?://[^\s/?#\\]*`)
	wwwHost   = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])www\.[^\s/?#\\]*`)
)

// defang makes URLs in provider text unclickable, the way threat reports
// quote them: the scheme http(s) becomes hxxp(s) and ftp(s) fxp(s), the
// "://" of any other scheme (or of none) becomes "[:]//", and the dots of
// the host name become "[.]": "https://evil.example/login" shows as
// "hxxps://evil[.]example/login", "www.evil.example" as "www[.]evil[.]example"
// and "evil.example/login" as "evil[.]example/login". Escaping then turns the
// brackets into \[ and \], so they cannot form a link either. A host name
// alone ("shop.example") is left as it is.
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
	return defangPathHosts(rs)
}

// defangPathHosts writes the dots of a host name directly followed by a
// path ("evil.example/login": labels of letters, digits and dashes, the last
// of at least two letters) as "[.]".
func defangPathHosts(rs []rune) []rune {
	var out []rune
	last := 0
	for i, r := range rs {
		if r != '/' {
			continue
		}
		k := i
		for k > last && (isASCIIAlnum(rs[k-1]) || rs[k-1] == '-' || rs[k-1] == '.') {
			k--
		}
		host := rs[k:i]
		dot := -1
		for j, c := range host {
			if c == '.' {
				dot = j
			}
		}
		if dot <= 0 || len(host)-dot-1 < 2 || !allASCIILetters(host[dot+1:]) || host[0] == '.' {
			continue
		}
		out = append(out, rs[last:k]...)
		for _, c := range host {
			if c == '.' {
				out = append(out, '[', '.', ']')
			} else {
				out = append(out, c)
			}
		}
		last = i
	}
	if out == nil {
		return rs
	}
	return append(out, rs[last:]...)
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
