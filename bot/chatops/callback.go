package chatops

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Conversation types of a callback (dingtalk.md §6.3).
const (
	ConversationSingle = "1" // 1:1 chat with the robot
	ConversationGroup  = "2" // group chat
)

// ErrBadCallback wraps every reason DecodeCallback refuses a body.
var ErrBadCallback = errors.New("chatops: unreadable callback body")

// Message is one @-message to the robot, decoded from a verified callback.
type Message struct {
	MsgID            string
	MsgType          string // text, richText, picture …; only text carries a command
	Text             string // text.content, untrimmed
	SenderID         string // DingTalk's encrypted sender id
	SenderStaffID    string // the sender's userId; empty for external members
	SenderNick       string
	IsAdmin          bool // the sender is an admin of the group
	ConversationID   string
	ConversationType string // ConversationSingle or ConversationGroup
	SessionWebhook   string
	// SessionExpires is when SessionWebhook stops working; zero when the
	// callback did not say.
	SessionExpires time.Time
	CreatedAt      time.Time
}

// SenderKey identifies the sender for rate limiting: the staff id, else the
// encrypted sender id, else the nickname.
func (m Message) SenderKey() string {
	switch {
	case m.SenderStaffID != "":
		return "staff:" + m.SenderStaffID
	case m.SenderID != "":
		return "id:" + m.SenderID
	}
	return "nick:" + m.SenderNick
}

// Sender names the sender for replies and the audit: nickname, else staff id.
func (m Message) Sender() string {
	if m.SenderNick != "" {
		return m.SenderNick
	}
	return m.SenderStaffID
}

// wireCallback is the callback body (dingtalk.md §6.3).
type wireCallback struct {
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	MsgID                     string `json:"msgId"`
	CreateAt                  int64  `json:"createAt"`
	ConversationType          string `json:"conversationType"`
	ConversationID            string `json:"conversationId"`
	SenderID                  string `json:"senderId"`
	SenderNick                string `json:"senderNick"`
	SenderStaffID             string `json:"senderStaffId"`
	IsAdmin                   bool   `json:"isAdmin"`
	SessionWebhook            string `json:"sessionWebhook"`
	SessionWebhookExpiredTime int64  `json:"sessionWebhookExpiredTime"`
}

// maxFieldBytes bounds the ids, names and URL taken from a callback:
// DingTalk's are well under it, and they end up in the store and the logs.
const maxFieldBytes = 2048

// DecodeCallback decodes a callback body. It requires msgId and
// conversationId; a message that is not text decodes with an empty Text
// (its command is then empty: help).
func DecodeCallback(body []byte) (Message, error) {
	var w wireCallback
	if err := json.Unmarshal(body, &w); err != nil {
		return Message{}, fmt.Errorf("%w: not JSON", ErrBadCallback)
	}
	if strings.TrimSpace(w.MsgID) == "" {
		return Message{}, fmt.Errorf("%w: no msgId", ErrBadCallback)
	}
	if strings.TrimSpace(w.ConversationID) == "" {
		return Message{}, fmt.Errorf("%w: no conversationId", ErrBadCallback)
	}
	for _, f := range []struct{ name, v string }{
		{"msgId", w.MsgID}, {"conversationId", w.ConversationID}, {"senderStaffId", w.SenderStaffID},
		{"senderId", w.SenderID}, {"senderNick", w.SenderNick}, {"sessionWebhook", w.SessionWebhook},
	} {
		if len(f.v) > maxFieldBytes {
			return Message{}, fmt.Errorf("%w: %s too long", ErrBadCallback, f.name)
		}
	}
	m := Message{
		MsgID: w.MsgID, MsgType: w.MsgType, ConversationID: w.ConversationID, ConversationType: w.ConversationType,
		SenderID: w.SenderID, SenderNick: w.SenderNick, SenderStaffID: w.SenderStaffID, IsAdmin: w.IsAdmin,
		SessionWebhook: w.SessionWebhook,
	}
	if w.MsgType == "text" && w.Text != nil {
		m.Text = w.Text.Content
	}
	if w.SessionWebhookExpiredTime > 0 {
		m.SessionExpires = time.UnixMilli(w.SessionWebhookExpiredTime)
	}
	if w.CreateAt > 0 {
		m.CreatedAt = time.UnixMilli(w.CreateAt)
	}
	return m, nil
}
