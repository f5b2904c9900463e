package chatops

import "slices"

// Level is what a command needs of the sender and the conversation.
type Level int

// Levels, from the least to the most demanding.
const (
	// LevelAnyone: any member of any conversation with the robot (help).
	LevelAnyone Level = iota
	// LevelConversation: the conversation is in allowed_conversations. The
	// commands that show amounts or references need it.
	LevelConversation
	// LevelSender: an allowed sender (see Policy.AllowedSender).
	LevelSender
	// LevelAdmin: an admin (see Policy.Admin).
	LevelAdmin
)

// levels says what each command needs. Commands that show amounts or
// references need an allowed conversation; ack and status need an allowed
// sender; retry (re-sending a dead-lettered delivery) needs an admin.
var levels = map[string]Level{
	CmdHelp:    LevelAnyone,
	CmdUnknown: LevelAnyone,
	CmdToday:   LevelConversation,
	CmdSummary: LevelConversation,
	CmdFind:    LevelConversation,
	CmdUnacked: LevelConversation,
	CmdVerify:  LevelConversation,
	CmdStatus:  LevelSender,
	CmdAck:     LevelSender,
	CmdRetry:   LevelAdmin,
}

// Policy is chatops' authorization config.
type Policy struct {
	// AllowedConversations are the conversations (groups, or 1:1 chats)
	// where commands may show amounts and references.
	AllowedConversations []string
	// AllowedStaff are the staff ids (userIds) that may run ack and status;
	// empty means anyone in an allowed conversation.
	AllowedStaff []string
	// AdminStaff are staff ids that may run admin commands anywhere,
	// besides the group admins (isAdmin) of allowed conversations.
	AdminStaff []string
}

// ConversationAllowed reports whether m's conversation is allowed.
func (p Policy) ConversationAllowed(m Message) bool {
	return m.ConversationID != "" && slices.Contains(p.AllowedConversations, m.ConversationID)
}

// Admin reports whether m's sender is an admin: listed in AdminStaff, or a
// DingTalk group admin (isAdmin) in an allowed conversation. A group admin
// of any other group is not bankbot's admin.
func (p Policy) Admin(m Message) bool {
	if m.SenderStaffID != "" && slices.Contains(p.AdminStaff, m.SenderStaffID) {
		return true
	}
	return m.IsAdmin && p.ConversationAllowed(m)
}

// AllowedSender reports whether m's sender may run ack and status: an
// admin, a staff id in AllowedStaff, or, when AllowedStaff is empty, anyone
// in an allowed conversation.
func (p Policy) AllowedSender(m Message) bool {
	switch {
	case p.Admin(m):
		return true
	case len(p.AllowedStaff) == 0:
		return p.ConversationAllowed(m)
	}
	return m.SenderStaffID != "" && slices.Contains(p.AllowedStaff, m.SenderStaffID)
}

// Has reports whether m meets level l.
func (p Policy) Has(m Message, l Level) bool {
	switch l {
	case LevelAnyone:
		return true
	case LevelConversation:
		return p.ConversationAllowed(m)
	case LevelSender:
		return p.AllowedSender(m)
	case LevelAdmin:
		return p.Admin(m)
	}
	return false
}

// May reports whether m may run cmd, and the level cmd needs. An unknown
// command name needs LevelAdmin and is never allowed.
func (p Policy) May(m Message, cmd string) (ok bool, needs Level) {
	l, known := levels[cmd]
	if !known {
		return false, LevelAdmin
	}
	return p.Has(m, l), l
}

// Commands lists the commands m may run, in help order.
func (p Policy) Commands(m Message) []string {
	var out []string
	for _, c := range helpOrder {
		if ok, _ := p.May(m, c); ok {
			out = append(out, c)
		}
	}
	return out
}

// helpOrder is the order commands are listed in help.
var helpOrder = []string{CmdToday, CmdSummary, CmdFind, CmdUnacked, CmdAck, CmdVerify, CmdStatus, CmdRetry, CmdHelp}
