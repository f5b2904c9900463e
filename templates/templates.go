// Package templates holds bankbot's built-in DingTalk message templates,
// embedded in the binary. Package render parses and validates them.
//
// # Files and sets
//
// Each file is named <set>.<lang>.tmpl, where lang is th, en, zh or id, and is
// a Go text/template file that {{define}}s one block per canonical event kind:
// payment.succeeded, payment.failed, payment.pending, refund.succeeded,
// refund.failed, transfer.succeeded, transfer.failed, account.linked,
// account.link_failed, dispute.opened and other. Blocks whose name has no
// "." are helpers (the built-in files start them with "_"); each file stands
// alone, so a block can use only the helpers of its own file. A set may leave
// kinds out; they are then taken, in this order, from the "default" set in
// the same language, the set in English, the default set in English, and
// finally the "other" block of the default set. Built-in sets:
//
//   - default (en, th, zh, id): every kind, one labelled line per detail.
//   - payment (en, th, zh, id): a compact layout for payment.* kinds; the other
//     kinds fall back to default.
//
// An admin directory of files named the same way (Options.Extra in package
// render) replaces a built-in file of the same set and language or adds
// new ones; every template is test-rendered when the config is loaded and a
// failing one refuses the load.
//
// # What a block sees
//
//	.EventID   bankbot's event id        .Source   the configured source name
//	.Lang      the message language      .Event    the canonical event:
//	.Event.Kind .Event.Provider .Event.Type .Event.ID .Event.Amount (minor units)
//	.Event.Currency .Event.Reference .Event.Account .Event.Counterparty
//	.Event.Description .Event.FailureCode .Event.FailureMessage
//	.Event.Livemode (false in the provider's test mode) .Event.OccurredAt
//
// Functions: amount . (1,234.50; id 1.234,50), money . (THB 1,234.50),
// mask S (••••1234), time T (2006-01-02 15:04:05 MST in the configured zone),
// md S (escape for DingTalk markdown; it also masks card numbers, IBANs and
// runs of 10 or more digits to ••••1234 and defangs URLs, so
// https://evil.example shows as hxxps://evil[.]example), reason . (the
// failure code in plain words in the message language, escaped like md;
// empty for a code bankbot does not know, when the provider's code and
// message are shown as sent), upper, lower, default D V.
//
// # Rules for a message
//
// The first non-empty line must be a "###" heading: DingTalk shows it as the
// message title. Use only DingTalk's markdown subset (headings, bold, italic,
// links, quotes, lists; no tables or code blocks) and leave a blank line
// between paragraphs. Pass every provider-supplied string (counterparty,
// description, reference, failure code and message, type) through md, and
// accounts through mask. End with "ref: <event id>" so duplicates can be
// spotted, and mark test-mode events with "[TEST]".
package templates

import (
	"embed"
	"io/fs"
)

//go:embed *.tmpl
var files embed.FS

// FS returns the built-in template files, read-only.
func FS() fs.FS { return files }
