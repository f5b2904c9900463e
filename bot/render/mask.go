package render

import "strings"

// Scrub masks card numbers, IBANs and runs of 10 or more digits and defangs
// URLs in s by the rules EscapeMarkdown applies to a provider string (see
// scrub.go), without normalising white space, cutting or escaping it: for
// showing a provider's text as it arrived (the web console's raw body)
// masked exactly as messages mask its fields. Invalid UTF-8 becomes U+FFFD.
func Scrub(s string) string {
	return string(scrub([]rune(strings.ToValidUTF8(s, "\uFFFD"))))
}
