package dingtalk

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
)

// Console is a Sender that writes each message to a log instead of sending
// it, for first runs and dry runs. It builds the same body as a custom robot
// (Fit to MaxBodyBytes, mentions appended), so an invalid message fails here
// as it would against DingTalk. It logs no secret: a console robot has none.
type Console struct {
	// Name is logged as the "robot" field (the robot's name in config).
	Name string
	// Log receives one info entry per message; nil discards the messages.
	Log logrus.FieldLogger
}

var _ Sender = Console{}

// Send logs m at info level with the fields robot, msgtype, title, text,
// body_bytes and truncated, and returns nil. An invalid message is a
// permanent *Error, as Robot.Send would return.
func (c Console) Send(_ context.Context, m Message) error {
	fitted, truncated := Fit(m, MaxBodyBytes)
	body, err := fitted.Body()
	if err != nil {
		return &Error{Class: ClassPermanent, Err: err}
	}
	if len(body) > MaxBodyBytes {
		return &Error{Class: ClassPermanent, Err: fmt.Errorf("%w: %d bytes", ErrTooLarge, len(body))}
	}
	if c.Log == nil {
		return nil
	}
	f := logrus.Fields{
		"robot":      c.Name,
		"msgtype":    string(fitted.Type),
		"text":       fitted.FullText(),
		"body_bytes": len(body),
		"truncated":  truncated,
	}
	if fitted.Type == MsgMarkdown {
		f["title"] = fitted.title()
	}
	if fitted.UUID != "" {
		f["msg_uuid"] = fitted.UUID
	}
	c.Log.WithFields(f).Info("dingtalk console robot message")
	return nil
}
