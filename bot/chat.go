package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/chatops"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/store"
)

// maxChatBody caps a DingTalk callback body (a text message is a few KB),
// below server.max_body_bytes when that is smaller.
const maxChatBody = 64 << 10

// chatWork bounds the store work of one chat command (the reply has its
// own timeouts and budget wait).
const chatWork = 30 * time.Second

// chatBridge answers DingTalk @-messages posted to /dingtalk/callback: it
// verifies and dedupes them in the request, then runs the command and
// replies after answering DingTalk, in a goroutine that shutdown waits for.
type chatBridge struct {
	app     *App
	limiter *chatops.Limiter
	// store is what the commands read and write; nil means the App's store
	// when it implements chatops.Store (an adapter over the real store).
	store chatops.Store
	// slips reads slip QR texts; nil makes verify answer "not available".
	slips chatops.SlipParser

	callbacks *prometheus.CounterVec
	replies   *prometheus.CounterVec
	// streamEvents counts the Stream connection's events (chat_stream.go).
	streamEvents *prometheus.CounterVec

	mu     sync.Mutex
	ctx    context.Context
	closed bool
	wg     sync.WaitGroup
}

func newChatBridge(a *App) *chatBridge {
	b := &chatBridge{
		app:     a,
		limiter: &chatops.Limiter{Now: a.clock.Now},
		ctx:     context.Background(),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_chat_callbacks_total",
			Help: "DingTalk chat callbacks by result: accepted, duplicate, or the rejection reason (bad_signature, stale_timestamp …).",
		}, []string{"result"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankbot_chat_replies_total",
			Help: "Chat reply messages by way (session, openapi) and result (ok, or DingTalk's reason).",
		}, []string{"via", "result"}),
	}
	b.streamEvents = newStreamEvents()
	a.metrics.Registry.MustRegister(b.callbacks, b.replies, b.streamEvents)
	b.slips = chatops.SlipParserFunc(parseSlip)
	return b
}

// The real store answers chat commands directly.
var _ chatops.Store = store.Store(nil)

// parseSlip is bankhooks.ParseSlip in the shape the chat commands use.
func parseSlip(text string) (chatops.Slip, error) {
	s, err := bankhooks.ParseSlip(text)
	if err != nil {
		return chatops.Slip{}, err
	}
	name := s.BankName.English
	if s.BankName.Short != "" {
		name = s.BankName.Short + " (" + s.BankName.English + ")"
	}
	return chatops.Slip{APIID: s.APIID, SendingBank: s.SendingBank, BankName: name, Reference: s.Reference}, nil
}

// start makes the work after an answer run under ctx (cancelled at shutdown).
func (b *chatBridge) start(ctx context.Context) {
	b.mu.Lock()
	b.ctx = ctx
	b.mu.Unlock()
}

// stop refuses new work and waits for the work in flight.
func (b *chatBridge) stop() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.wg.Wait()
}

// goTrack runs f in a goroutine that stop waits for; false when stopped.
func (b *chatBridge) goTrack(f func(ctx context.Context)) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	ctx := b.ctx
	b.wg.Go(func() { f(ctx) })
	return true
}

// chatStore is the store the commands use, nil when there is none.
func (b *chatBridge) chatStore() chatops.Store {
	if b.store != nil {
		return b.store
	}
	if s, ok := b.app.store.(chatops.Store); ok {
		return s
	}
	return nil
}

// handleChatCallback is verify → cap → decode → dedupe → answer 200; the
// command runs and replies after the answer (DingTalk wants it fast).
func (a *App) handleChatCallback(c *gin.Context) {
	b := a.chat
	rt := a.runtime.Load()
	now := a.clock.Now()
	co := rt.Config.Chatops
	reject := func(status int, code, msg string) {
		b.callbacks.WithLabelValues(code).Inc()
		if ok, suppressed := a.rejectLog.allow("dingtalk-callback\x00"+code, now); ok {
			e := a.log.WithFields(logrus.Fields{"status": status, "reason": code})
			if suppressed > 0 {
				e = e.WithField("suppressed", suppressed)
			}
			e.Warn("dingtalk callback rejected: " + msg)
		}
		writeError(c, status, code, msg)
	}
	rc := (*config.Robot)(nil)
	if co != nil {
		rc = rt.Config.Robots[co.Robot]
	}
	if co != nil && co.Mode == config.ChatModeStream {
		// Stream mode: messages come over the gateway connection, and this
		// endpoint is off (404, like an unconfigured one: a caller learns
		// nothing it could use) so no unverified path can inject commands
		// beside the stream.
		reject(http.StatusNotFound, "not_configured", "chat commands use stream mode (chatops.mode: stream); this endpoint is off")
		return
	}
	if co == nil || co.Mode != config.ChatModeCallback || rc == nil || rt.Robots[co.Robot] == nil {
		reject(http.StatusNotFound, "not_configured", "chat commands are not configured (chatops with mode: callback)")
		return
	}
	// The secret is never logged: VerifyCallback's errors do not hold it.
	if err := dingtalk.VerifyCallback(rc.AppSecret.Reveal(), c.GetHeader("timestamp"), c.GetHeader("sign"), now); err != nil {
		code, msg := callbackReason(err)
		reject(http.StatusUnauthorized, code, msg)
		return
	}
	limit := min(int64(maxChatBody), rt.Config.Server.MaxBodyBytes)
	if c.Request.ContentLength > limit {
		reject(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("a chat callback body is at most %d bytes", limit))
		return
	}
	body, err := readBody(c.Writer, c.Request, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			reject(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("a chat callback body is at most %d bytes", limit))
			return
		}
		reject(http.StatusBadRequest, "unreadable_body", "the request body could not be read")
		return
	}
	m, err := chatops.DecodeCallback(body)
	if err != nil {
		reject(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	first, err := a.dispatchChat(c.Request.Context(), m)
	switch {
	case errors.Is(err, errChatNotConfigured): // a reload took chatops away
		reject(http.StatusNotFound, "not_configured", "chat commands are not configured (chatops with mode: callback)")
		return
	case errors.Is(err, errChatNoStore):
		reject(http.StatusServiceUnavailable, "unavailable", "chat commands need a store with the chat tables; this build has none")
		return
	case errors.Is(err, errChatShutdown):
		reject(http.StatusServiceUnavailable, "shutting_down", "bankbot is shutting down; retry later")
		return
	case err != nil:
		reject(http.StatusServiceUnavailable, "store_unavailable", "the message could not be recorded; retry later")
		return
	case !first:
		b.callbacks.WithLabelValues("duplicate").Inc()
		c.JSON(http.StatusOK, gin.H{"status": "duplicate"})
		return
	}
	b.callbacks.WithLabelValues("accepted").Inc()
	c.JSON(http.StatusOK, gin.H{"status": "accepted"})
}

// Why dispatchChat did not take a message.
var (
	errChatNotConfigured = errors.New("chat commands are not configured")
	errChatNoStore       = errors.New("chat commands need a store with the chat tables")
	errChatShutdown      = errors.New("bankbot is shutting down")
)

// dispatchChat is what both ways of receiving a message share (POST
// /dingtalk/callback after verifying it, and the Stream connection):
// dedupe by msgId in the store, then run the command and reply in a
// goroutine that shutdown waits for. first is false for a repeat (not
// run again); an error means the message was not taken (a store error is
// wrapped, and the sender should retry).
func (a *App) dispatchChat(ctx context.Context, m chatops.Message) (first bool, err error) {
	b := a.chat
	rt := a.runtime.Load()
	co := rt.Config.Chatops
	var rc *config.Robot
	if co != nil {
		rc = rt.Config.Robots[co.Robot]
	}
	if co == nil || rc == nil || rt.Robots[co.Robot] == nil {
		return false, errChatNotConfigured
	}
	st := b.chatStore()
	if st == nil {
		return false, errChatNoStore
	}
	now := a.clock.Now()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	first, err = st.ClaimChatMessage(cctx, m.MsgID, now)
	cancel()
	if err != nil {
		a.log.WithError(err).WithField("msg_id", m.MsgID).Error("chat message not claimed")
		return false, fmt.Errorf("claim chat message: %w", err)
	}
	if !first {
		return false, nil
	}
	env := chatEnv(rt)
	svc := &chatops.Service{Store: st, Slips: b.slips, Limiter: b.limiter, Now: a.clock.Now, Log: a.log}
	replier := a.chatReplier(rt, co, rc)
	if !b.goTrack(func(ctx context.Context) {
		work, cancel := context.WithTimeout(context.WithoutCancel(ctx), chatWork)
		rep := svc.Handle(work, env, m)
		cancel()
		if err := replier.Reply(ctx, m, rep); err != nil {
			a.log.WithError(err).WithFields(logrus.Fields{"msg_id": m.MsgID, "conversation_id": m.ConversationID}).
				Warn("chat reply not sent")
		}
	}) {
		return false, errChatShutdown
	}
	return true, nil
}

// callbackReason is the error code and message of a failed verification.
func callbackReason(err error) (code, msg string) {
	switch {
	case errors.Is(err, dingtalk.ErrCallbackNoSecret):
		return "no_secret", "the chat robot has no app_secret; callbacks cannot be verified"
	case errors.Is(err, dingtalk.ErrCallbackMissing):
		return "missing_signature", "the timestamp or sign header is missing"
	case errors.Is(err, dingtalk.ErrCallbackTimestamp):
		return "stale_timestamp", "the timestamp is not milliseconds within 1 hour of the server's clock"
	}
	return "bad_signature", "the sign header does not match the chat robot's app_secret"
}

// chatEnv is what the commands need from the running config.
func chatEnv(rt *Runtime) chatops.Env {
	cfg := rt.Config
	co := cfg.Chatops
	env := chatops.Env{
		Policy: chatops.Policy{
			AllowedConversations: co.AllowedConversations, AllowedStaff: co.AllowedStaff, AdminStaff: co.AdminStaff,
		},
		Location:  cfg.Location,
		Language:  co.Language,
		Languages: co.ConversationLanguages(),
	}
	for name, sc := range cfg.Sources {
		si := chatops.SourceInfo{Name: name}
		for i, s := range sc.Secrets {
			si.Keys = append(si.Keys, chatops.KeyInfo{Name: fmt.Sprintf("secrets[%d]", i), Expires: s.ExpiresAt})
		}
		env.Sources = append(env.Sources, si)
	}
	sort.Slice(env.Sources, func(i, j int) bool { return env.Sources[i].Name < env.Sources[j].Name })
	for name := range rt.Robots {
		env.Robots = append(env.Robots, name)
	}
	sort.Strings(env.Robots)
	return env
}

// chatReplier sends replies for the chat robot: session webhook first, the
// app robot's OpenAPI into the message's conversation as the fallback, each
// message taking a send from the robot's budget.
func (a *App) chatReplier(rt *Runtime, co *config.Chatops, rc *config.Robot) *chatops.Replier {
	robot := rt.Robots[co.Robot]
	hosts := append([]string(nil), chatops.DefaultSessionHosts...)
	if u, err := url.Parse(rc.APIBase); err == nil && u.Host != "" {
		hosts = append(hosts, u.Host)
	}
	return &chatops.Replier{
		Client: a.opts.HTTPClient,
		Clock:  a.clock,
		Fallback: func(conversationID string) (dingtalk.Sender, error) {
			return dingtalk.NewAppRobot(dingtalk.AppRobotConfig{
				AppKey: rc.AppKey, AppSecret: rc.AppSecret.Reveal(), RobotCode: rc.RobotCode, ConversationID: conversationID,
				APIBase: rc.APIBase, Client: a.opts.HTTPClient, Now: a.clock.Now, Timeout: rc.Timeout,
				Keywords: rc.Keywords, Proxy: rc.Proxy.Reveal(), Tokens: a.tokens,
			})
		},
		Budget:       robotBudget{st: a.store, r: robot},
		SessionHosts: hosts,
		Timeout:      rc.Timeout,
		Log:          a.log.WithField("robot", robot.Name),
		Sent:         func(via, result string) { a.chat.replies.WithLabelValues(via, result).Inc() },
	}
}

// robotBudget is a robot's send budget in the store (ReserveSlot).
type robotBudget struct {
	st store.Store
	r  *Robot
}

func (b robotBudget) Reserve(ctx context.Context, now time.Time) (int64, time.Time, error) {
	slot, bud, err := ReserveSlot(ctx, b.st, b.r, now)
	return slot, bud.NextAt, err
}

func (b robotBudget) Stamp(ctx context.Context, slot int64, at time.Time) error {
	return b.st.StampSend(ctx, slot, at)
}
