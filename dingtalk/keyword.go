package dingtalk

import (
	"fmt"
	"strings"
)

// MaxKeywords is the largest number of custom keywords DingTalk lets a robot
// be secured with.
const MaxKeywords = 10

// checkKeywords validates the keywords of a robot config: at most
// MaxKeywords, none blank. It returns a copy, so a caller changing its slice
// later does not change the robot.
func checkKeywords(kws []string) ([]string, error) {
	if len(kws) > MaxKeywords {
		return nil, fmt.Errorf("%w: a robot has at most %d keywords, got %d", ErrConfig, MaxKeywords, len(kws))
	}
	for i, k := range kws {
		if strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%w: keywords[%d] is empty", ErrConfig, i)
		}
	}
	if len(kws) == 0 {
		return nil, nil
	}
	return append([]string(nil), kws...), nil
}

// withKeyword validates m and returns it as a robot secured with keywords
// sends it: when the text that is sent (FullText, mentions included) holds
// none of the keywords, the first non-blank keyword is appended to Text as a
// final line, before the mentions that FullText appends. Blank keywords are
// ignored; without a keyword m is returned unchanged. An invalid message is
// an error, so a message with nothing to say never becomes a bare keyword.
func withKeyword(m Message, keywords []string) (Message, error) {
	full, err := m.checkedText()
	if err != nil {
		return m, err
	}
	first := ""
	for _, k := range keywords {
		if strings.TrimSpace(k) == "" {
			continue
		}
		if strings.Contains(full, k) {
			return m, nil
		}
		if first == "" {
			first = k
		}
	}
	if first == "" {
		return m, nil
	}
	m.Text += lineSep(m.Type, m.Text) + first
	return m, nil
}

// shape is how one kind of sender turns a message into what it sends: the
// keywords it guarantees, the size function its limit counts and the limit.
type shape struct {
	keywords []string
	size     func(Message) (int, error) // of a message as sent (keyword included)
	max      int
}

// sizeOf is the size of m as sent: keyword added, mentions appended.
func (s shape) sizeOf(m Message) (int, error) {
	m, err := withKeyword(m, s.keywords)
	if err != nil {
		return 0, err
	}
	return s.size(m)
}

// prepare fits m to the limit, leaving room for the keyword so the cut
// never removes it, and returns the message exactly as it is sent (keyword
// added) and whether its text was truncated. An invalid message is an error.
// A message that is still over the limit (title and mentions alone are too
// long) is returned as is, for the caller to measure and refuse with
// ErrTooLarge.
func (s shape) prepare(m Message) (sent Message, truncated bool, err error) {
	fitted, truncated := fit(m, s.max, s.sizeOf)
	sent, err = withKeyword(fitted, s.keywords)
	return sent, truncated, err
}
