package chatops

import (
	"strings"
)

// helpText lists what m's sender may do in m's conversation, after an
// optional first line.
func helpText(env Env, m Message, first string) string {
	var b strings.Builder
	if first != "" {
		b.WriteString(first + "\n\n")
	}
	b.WriteString(env.tr(txtHelpHeading) + "\n\n")
	for _, c := range env.Policy.Commands(m) {
		b.WriteString("- " + env.tr(usage[c]) + "\n")
	}
	if !env.Policy.ConversationAllowed(m) {
		b.WriteString("\n" + env.tr(txtHelpNotAllowed, md(m.ConversationID)) + "\n")
	}
	b.WriteString("\n" + env.tr(txtHelpExample))
	return b.String()
}
