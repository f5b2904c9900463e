package chatops

import (
	"fmt"
	"strings"
)

// usage is each command's line in help: syntax, Thai alias, what it does.
var usage = map[string]string{
	CmdToday:   "`today` (วันนี้): counts and totals of today per source, kind and currency; failed payments listed",
	CmdSummary: "`summary 2026-05-17` (สรุป): the same for another day",
	CmdFind:    "`find chrg_…` / `find 1,250.50` / `find 7890` (ค้นหา): events of the last 30 days by reference, amount or the account's last digits",
	CmdUnacked: "`unacked` (ค้าง): failures of the last 7 days no one has acknowledged",
	CmdAck:     "`ack ev_… [note]` (รับทราบ): acknowledge an alert",
	CmdVerify:  "`verify <slip QR text>` (ตรวจสลิป): the sending bank, whether the payment arrived, whether the slip was checked before",
	CmdStatus:  "`status` (สถานะ): each source's last event, the outbox, dead letters, robots, keys expiring soon",
	CmdRetry:   "`retry 42` (ส่งใหม่): send a dead-lettered delivery again (admins)",
	CmdHelp:    "`help` (ช่วย): this list",
}

// helpText lists what m's sender may do in m's conversation, after an
// optional first line.
func helpText(env Env, m Message, first string) string {
	var b strings.Builder
	if first != "" {
		b.WriteString(first + "\n\n")
	}
	b.WriteString("#### What you can ask me here\n\n")
	for _, c := range env.Policy.Commands(m) {
		b.WriteString("- " + usage[c] + "\n")
	}
	if !env.Policy.ConversationAllowed(m) {
		fmt.Fprintf(&b, "\nAmounts and references are only shown in the groups listed in chatops.allowed_conversations; this conversation's id is %s.\n",
			md(m.ConversationID))
	}
	b.WriteString("\nWrite @bankbot and the command, e.g. `@bankbot today`.")
	return b.String()
}
