package bot

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bankbot/bankbot/bot/chatops"
	"github.com/bankbot/bankbot/bot/chatstream"
	"github.com/bankbot/bankbot/bot/config"
)

// chatStreamOn reports whether the running config receives chat commands
// over DingTalk's Stream mode.
func (a *App) chatStreamOn() bool {
	co := a.runtime.Load().Config.Chatops
	return co != nil && co.Mode == config.ChatModeStream
}

// runChatStream holds the DingTalk Stream connection of the chat robot
// (chatops.mode: stream) until ctx ends, while this replica holds the
// store lease "chatops-stream", and hands each message to dispatchChat,
// the path POST /dingtalk/callback takes after verifying a callback.
// The robot's credentials are read at start: changing chatops or the chat
// robot's app_key/app_secret/api_base needs a restart.
func (a *App) runChatStream(ctx context.Context) {
	rt := a.runtime.Load()
	co := rt.Config.Chatops
	if co == nil || co.Mode != config.ChatModeStream {
		return
	}
	rc := rt.Config.Robots[co.Robot]
	if rc == nil {
		a.log.WithField("robot", co.Robot).Error("chat stream not started: no chat robot")
		return
	}
	api := rc.APIBase
	if api == "" {
		api = config.DefaultAppAPIBase
	}
	opts := chatstream.Options{
		AppKey: rc.AppKey, AppSecret: rc.AppSecret.Reveal(), APIBase: api, Proxy: rc.Proxy.Reveal(),
		Lease: a.store, Clock: a.clock, Log: a.log.WithField("robot", co.Robot),
		OnEvent: func(ev string) { a.chat.streamEvents.WithLabelValues(ev).Inc() },
	}
	err := chatstream.Run(ctx, opts, func(ctx context.Context, m chatops.Message) error {
		first, err := a.dispatchChat(ctx, m)
		if err != nil {
			a.chat.callbacks.WithLabelValues("stream_error").Inc()
			return err
		}
		if !first {
			a.chat.callbacks.WithLabelValues("duplicate").Inc()
			return nil
		}
		a.chat.callbacks.WithLabelValues("accepted").Inc()
		return nil
	})
	if err != nil {
		a.log.WithError(err).Error("chat stream stopped: chat commands are off until restart")
	}
}

func newStreamEvents() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bankbot_chat_stream_events_total",
		Help: "DingTalk Stream connection events: connect, connect_error, drop, lease_lost, panic.",
	}, []string{"event"})
}
