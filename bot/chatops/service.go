package chatops

import (
	"context"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bot/render"
)

// Audit results.
const (
	ResultOK          = "ok"
	ResultDenied      = "denied"
	ResultUnknown     = "unknown"
	ResultInvalid     = "invalid"
	ResultNotFound    = "not_found"
	ResultError       = "error"
	ResultRateLimited = "rate_limited"
)

// Env is what the commands need from the running config. It is built from
// each config (reload changes it) and passed to every Handle.
type Env struct {
	Policy   Policy
	Location *time.Location // the config's timezone; nil is UTC
	// Language is the reply language (render.Languages: th, en, zh, id),
	// which also sets the number format of amounts; unknown or empty
	// means English. Handle replaces it by the conversation's own
	// (Languages) before running a command.
	Language string
	// Languages maps a conversation id (cid…, case-sensitive) to its reply
	// language (chatops.languages in config); others get Language.
	Languages map[string]string
	Sources   []SourceInfo // sorted by name
	Robots    []string     // the configured robots, sorted
}

// SourceInfo is a configured source as status shows it.
type SourceInfo struct {
	Name string
	Keys []KeyInfo
}

// KeyInfo is one of a source's secrets: its key path and expiry (zero when
// it does not expire). Never the secret itself.
type KeyInfo struct {
	Name    string // e.g. secrets[1]
	Expires time.Time
}

// Reply is the answer to one message. Silent means send nothing.
type Reply struct {
	Title  string
	Text   string // DingTalk markdown
	Silent bool
}

// Service runs chat commands. Its fields are set once; it is safe for
// concurrent use.
type Service struct {
	Store Store
	// Slips reads slip QR texts; nil makes verify answer "not available".
	Slips   SlipParser
	Limiter *Limiter
	Now     func() time.Time
	Log     logrus.FieldLogger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// outcome is what running one command produced.
type outcome struct {
	text   string
	result string
}

// Handle runs the command in m and returns the reply. Every message is
// audited (AppendAudit) with its command and result, rate-limited ones
// included; the log gets the command name and result but never its
// arguments (a search may be a whole account number).
func (s *Service) Handle(ctx context.Context, env Env, m Message) Reply {
	if env.Location == nil {
		env.Location = time.UTC
	}
	env.Language = env.LanguageFor(m.ConversationID)
	cmd := ParseCommand(m.Text)
	var out outcome
	reply := Reply{Title: "bankbot"}
	switch v := s.limiter().Check(m.SenderKey()); v {
	case Allow:
		out = s.authorized(ctx, env, m, cmd)
	case SlowDown:
		out = outcome{text: env.tr(txtSlowDown, md(m.Sender()), s.limiter().limit()), result: ResultRateLimited}
	default:
		out = outcome{result: ResultRateLimited}
		reply.Silent = true
	}
	reply.Text = out.text
	s.audit(ctx, m, cmd, out.result)
	return reply
}

// limiter is s.Limiter, or a shared one with the defaults when unset.
func (s *Service) limiter() *Limiter {
	if s.Limiter == nil {
		return defaultLimiter
	}
	return s.Limiter
}

var defaultLimiter = &Limiter{}

func (l *Limiter) limit() int {
	if l.Limit <= 0 {
		return DefaultRateLimit
	}
	return l.Limit
}

// authorized checks the policy, then runs the command.
func (s *Service) authorized(ctx context.Context, env Env, m Message, cmd Command) outcome {
	ok, needs := env.Policy.May(m, cmd.Name)
	if !ok {
		return outcome{text: denial(env, m, cmd, needs) + "\n\n" + helpText(env, m, ""), result: ResultDenied}
	}
	switch cmd.Name {
	case CmdHelp:
		return outcome{text: helpText(env, m, ""), result: ResultOK}
	case CmdUnknown:
		return outcome{text: helpText(env, m, env.tr(txtUnknownCommand, md(clipRunes(cmd.Word, 40)))), result: ResultUnknown}
	case CmdToday:
		return s.summary(ctx, env, "")
	case CmdSummary:
		return s.summary(ctx, env, cmd.Arg)
	case CmdFind:
		return s.find(ctx, env, cmd.Arg)
	case CmdStatus:
		return s.status(ctx, env)
	case CmdAck:
		return s.ack(ctx, env, m, cmd)
	case CmdUnacked:
		return s.unacked(ctx, env)
	case CmdVerify:
		return s.verify(ctx, env, m, cmd.Arg)
	case CmdRetry:
		return s.retry(ctx, env, cmd.Arg)
	}
	return outcome{text: helpText(env, m, ""), result: ResultUnknown}
}

// denial says why m may not run cmd and what would allow it.
func denial(env Env, m Message, cmd Command, needs Level) string {
	switch needs {
	case LevelConversation:
		return env.tr(txtDeniedConversation, cmd.Name, md(m.ConversationID))
	case LevelSender:
		if len(env.Policy.AllowedStaff) == 0 {
			return env.tr(txtDeniedGroupsOnly, cmd.Name, md(m.ConversationID))
		}
		return env.tr(txtDeniedStaff, cmd.Name, md(m.Sender()), md(env.orNone(m.SenderStaffID)))
	}
	return env.tr(txtDeniedAdmin, cmd.Name)
}

// audit writes the command to the audit log and the log.
func (s *Service) audit(ctx context.Context, m Message, cmd Command, result string) {
	e := AuditEntry{
		At: s.now(), SenderID: m.SenderStaffID, SenderName: m.SenderNick, ConversationID: m.ConversationID,
		Command: AuditCommand(cmd), Result: result,
	}
	if e.SenderID == "" {
		e.SenderID = m.SenderID
	}
	log := s.logger().WithFields(logrus.Fields{
		"command": cmd.Name, "result": result, "sender_staff_id": m.SenderStaffID, "conversation_id": m.ConversationID, "msg_id": m.MsgID,
	})
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		log.WithError(err).Error("chat command not written to the audit log")
		return
	}
	log.Info("chat command")
}

func (s *Service) logger() logrus.FieldLogger {
	if s.Log == nil {
		return discardLog
	}
	return s.Log
}

// discardLog is the logger of a Service or Replier without one.
var discardLog = func() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}()

// maxAuditRunes bounds the command text kept in the audit log.
const maxAuditRunes = 200

// AuditCommand is the command as the audit log keeps it: its name and
// arguments, cut to 200 characters, with every run of 8 or more digits
// masked to its last 4 (an account number or a slip's QR text).
func AuditCommand(cmd Command) string {
	s := cmd.Name
	switch {
	case cmd.Name == CmdUnknown:
		s = "unknown " + cmd.Word
	case cmd.Word != "" && !strings.EqualFold(cmd.Word, cmd.Name):
		s = cmd.Name + " (" + cmd.Word + ")"
	}
	if cmd.Arg != "" {
		s += " " + cmd.Arg
	}
	return clipRunes(MaskDigits(s), maxAuditRunes)
}

// MaskDigits replaces every run of 8 or more digits (spaces and dashes
// between them allowed) by "••••" and its last 4 digits.
func MaskDigits(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if !isDigit(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j, digits, end := i, []rune{}, i
		for j < len(rs) && (isDigit(rs[j]) || ((rs[j] == ' ' || rs[j] == '-') && j+1 < len(rs) && isDigit(rs[j+1]))) {
			if isDigit(rs[j]) {
				digits = append(digits, rs[j])
				end = j + 1
			}
			j++
		}
		if len(digits) >= 8 {
			b.WriteString("••••" + string(digits[len(digits)-4:]))
		} else {
			b.WriteString(string(rs[i:end]))
		}
		i = end
	}
	return b.String()
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// clipRunes cuts s to n runes, ending in "…" when cut.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// orNone is s, or the word for "none" in env's language when s is empty.
func (env Env) orNone(s string) string {
	if s == "" {
		return env.tr(txtNone)
	}
	return s
}

// LanguageFor is the reply language of a conversation: its entry in
// Languages, else Language, else English; a language bankbot has no texts
// for is English too.
func (env Env) LanguageFor(conversationID string) string {
	lang := env.Language
	if l, ok := env.Languages[conversationID]; ok && conversationID != "" {
		lang = l
	}
	if !render.ValidLanguage(lang) {
		return "en"
	}
	return lang
}

// storeTrouble logs a store failure and is the answer to it.
func (s *Service) storeTrouble(env Env, op string, err error) outcome {
	s.logger().WithError(err).WithField("op", op).Error("chat command: store failed")
	return outcome{text: env.tr(txtStoreTrouble), result: ResultError}
}
