package bot

import (
	"errors"
	"fmt"
	"time"

	"github.com/bankbot/bankbot/dingtalk"
)

// The test message of `bankbot dingtalk test` and of the web console's
// actions page: the same text, and the same reading of DingTalk's answer.

// TestMessage is the test message for robot, sent from host at at.
func TestMessage(robot, host string, at time.Time) dingtalk.Message {
	return dingtalk.Message{
		Type:  dingtalk.MsgMarkdown,
		Title: "bankbot test message",
		Text: fmt.Sprintf("### bankbot test message\nrobots.%s on %s works: this message was sent at %s.",
			robot, host, at.Format("2006-01-02 15:04:05 MST")),
	}
}

// TestOutcome reads the answer to a test message: ok, and the lines that
// say what DingTalk answered and, when it refused, what to fix (naming the
// robot's keys). It never holds the robot's token or secret.
func TestOutcome(robot string, err error) (ok bool, lines []string) {
	var de *dingtalk.Error
	switch {
	case err == nil:
		return true, []string{fmt.Sprintf("ok: robots.%s accepted the test message (errcode 0)", robot)}
	case errors.As(err, &de):
		// What DingTalk answered ("errcode 310000: …", "HTTP 500"), then
		// what to change.
		lines = append(lines, fmt.Sprintf("robots.%s: %s", robot, de.Status()))
		if hint := de.HintFor(robot); hint != "" {
			lines = append(lines, "fix: "+hint)
		}
		return false, lines
	}
	return false, []string{fmt.Sprintf("robots.%s: %v", robot, dingtalk.RedactError(err))}
}
