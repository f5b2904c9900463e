package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
	"github.com/bankbot/bankbot/bot/schedule"
	"github.com/bankbot/bankbot/store"
)

// newScheduler returns the runner of the config's schedules (bot/schedule).
// Its messages go through the outbox like the ops alerts: postScheduled.
func (a *App) newScheduler() *schedule.Runner {
	return schedule.New(schedule.Options{
		Clock: a.clock, Log: a.log, Owner: a.owner,
		Deps: schedule.Deps{Store: a.store, Post: a.postScheduled, Retention: a.retention},
		OnTick: func(name, job, result string) {
			a.metrics.ScheduleTicks.WithLabelValues(name, job, result).Inc()
		},
	})
}

// applySchedules hands the runtime's config to the scheduler (at start and
// after every reload).
func (a *App) applySchedules(cfg *config.Config) {
	// The ok and failed series of each schedule exist at 0 from the start,
	// so an alert on failures sees them before the first tick.
	for _, sc := range cfg.Schedules {
		if sc != nil {
			a.metrics.ScheduleTicks.WithLabelValues(sc.Name, sc.Job, schedule.ResultOK)
			a.metrics.ScheduleTicks.WithLabelValues(sc.Name, sc.Job, schedule.ResultFailed)
		}
	}
	if err := a.scheduler.Apply(cfg); err != nil {
		// Validation parses every spec, so this is a bug, not a config
		// problem: the schedules keep the previous config's.
		a.log.WithError(err).Error("cannot apply the schedules; the previous ones keep running")
	}
}

// scheduleRoute is the route name of a scheduled message's delivery (shown
// in the delivery list; no configured route has a ':' in its name).
func scheduleRoute(name string) string { return "schedule:" + name }

// postScheduled queues a scheduled job's message: a synthetic event of
// source _bankbot, inserted routed with one delivery to m.Robot, so the
// robot's rate limit, retries, digests and dead letters apply as to any
// alert. The event's provider id is m.Key, so posting the same message
// twice (a retried job) creates one delivery.
func (a *App) postScheduled(ctx context.Context, m schedule.Message) error {
	now := a.clock.Now()
	ev := bankhooks.Event{
		Provider: "bankbot", ID: m.Key, Type: "bankbot.schedule." + m.Job, Kind: bankhooks.KindOther,
		Livemode: true, Description: m.Title, OccurredAt: now,
	}
	spec := Spec{Template: config.DefaultTemplate, Language: m.Language, Title: m.Title, Text: m.Text}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode the scheduled message: %w", err)
	}
	body, err := json.Marshal(map[string]string{"schedule": m.Schedule, "job": m.Job, "key": m.Key})
	if err != nil {
		return fmt.Errorf("encode the scheduled message: %w", err)
	}
	res, err := a.store.InsertEvent(ctx, store.NewEvent{
		ID: newEventID(now), Source: opsSource, Event: ev, ReceivedAt: now, Body: body,
		Routed: true, Deliveries: []store.NewDelivery{{Route: scheduleRoute(m.Schedule), Robot: m.Robot, Spec: specJSON}},
	})
	if err != nil {
		return fmt.Errorf("queue the scheduled message: %w", err)
	}
	if res.Duplicate {
		a.log.WithField("schedule", m.Schedule).WithField("key", m.Key).Info("scheduled message already queued")
	}
	a.deliverer.wake(m.Robot)
	return nil
}
