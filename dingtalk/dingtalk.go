// Package dingtalk sends messages through DingTalk robots and classifies
// DingTalk's answers.
//
// It covers the custom group robot (webhook + SEC… signing secret, signed on
// every request with a fresh millisecond timestamp), the enterprise app robot
// (OpenAPI groupMessages/send), and a console robot that writes messages to a
// log instead of sending them. It knows nothing of banks or storage.
package dingtalk

import (
	"context"
)

// MaxBodyBytes is DingTalk's limit on a robot request body (errcode 460101).
const MaxBodyBytes = 20000

// MsgType is a DingTalk message type.
type MsgType string

// Supported message types.
const (
	MsgText     MsgType = "text"
	MsgMarkdown MsgType = "markdown"
)

// Message is one robot message.
//
// Mentions are written into the text as well as into the `at` block: DingTalk
// only highlights and notifies an @ that also appears in the text.
type Message struct {
	Type  MsgType
	Title string // markdown only: the line shown in the chat list and notification
	Text  string // text content or markdown body
	// AtMobiles and AtUserIDs are @-mentioned; AtAll mentions everyone.
	AtMobiles []string
	AtUserIDs []string
	AtAll     bool
	// UUID, when set, is sent as msgUuid so a retried send is not shown twice
	// where DingTalk honours it.
	UUID string
}

// Sender delivers one message. A nil error means DingTalk accepted it
// (errcode 0). Any other outcome is an *Error carrying its Class.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Sizer is implemented by senders that can tell how large a message is on
// the wire and the largest size they accept, so that a caller can pack
// several alerts into one message without it being truncated.
type Sizer interface {
	// MessageSize returns the bytes the sender's limit counts for m, exactly
	// as Send would send it (keyword added, mentions appended) were it not
	// truncated. An invalid message is an error.
	MessageSize(m Message) (int, error)
	// MaxMessageSize returns the largest MessageSize that Send sends without
	// truncating: MaxBodyBytes for the custom robot (the whole request body),
	// MaxAppParamBytes for the app robot (its msgParam).
	MaxMessageSize() int
}

// Class says what a sender should do about an outcome.
type Class int

// Outcome classes (dingtalk.md §3 and anchors §8.1.6).
const (
	// ClassOK: delivered.
	ClassOK Class = iota
	// ClassRetry: transient (network, timeout, 5xx, system busy, rate limited);
	// try again later.
	ClassRetry
	// ClassPermanent: the message or robot cannot succeed as is (bad message,
	// group dissolved, robot removed); dead-letter it.
	ClassPermanent
	// ClassConfig: bankbot's configuration of the robot is wrong (token,
	// signing secret, keyword, IP allowlist, clock); an admin must fix it.
	ClassConfig
)

func (c Class) String() string {
	switch c {
	case ClassOK:
		return "ok"
	case ClassRetry:
		return "retry"
	case ClassPermanent:
		return "permanent"
	case ClassConfig:
		return "config"
	}
	return "unknown"
}
