package dingtalk

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
)

// Console is a Sender that writes each message to a log instead of sending
// it, for first runs and dry runs. It builds the same body as a custom robot
// (fitted to MaxBodyBytes, keyword added, mentions appended), so an invalid
// message fails here as it would against DingTalk, and it measures messages
// as a custom robot does. It logs no secret: a console robot has none.
type Console struct {
	// Name is logged as the "robot" field (the robot's name in config).
	Name string
	// Log receives one info entry per message; nil discards the messages.
	Log logrus.FieldLogger
	// Keywords are added as a custom robot with these RobotConfig.Keywords
	// adds them, so the log shows what such a robot would send. Blank
	// entries are ignored.
	Keywords []string
}

var (
	_ Sender = Console{}
	_ Sizer  = Console{}
)

// shape is the console's shape: the custom robot's.
func (c Console) shape() shape {
	return shape{keywords: c.Keywords, size: bodySize, max: MaxBodyBytes}
}

// MessageSize returns the length of the body a custom robot with the
// console's Keywords would send for m if it needed no truncation.
func (c Console) MessageSize(m Message) (int, error) { return c.shape().sizeOf(m) }

// MaxMessageSize returns MaxBodyBytes, as for a custom robot.
func (c Console) MaxMessageSize() int { return MaxBodyBytes }

// Send logs m at info level with the fields robot, msgtype, title, text,
// body_bytes and truncated, and returns nil. An invalid message is a
// permanent *Error, as Robot.Send would return.
func (c Console) Send(_ context.Context, m Message) error {
	fitted, truncated, err := c.shape().prepare(m)
	if err != nil {
		return &Error{Class: ClassPermanent, Err: err}
	}
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
