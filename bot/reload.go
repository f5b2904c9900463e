package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bot/config"
)

// ReloadResult says what a reload did.
type ReloadResult string

// Reload outcomes.
const (
	ReloadApplied   ReloadResult = "applied"
	ReloadUnchanged ReloadResult = "unchanged"
)

// reloadLoop reloads on SIGHUP and when the config file or a file it reads
// changes. Files are polled and compared by content: that survives editors
// that save by rename, git checkouts and Kubernetes ConfigMap symlink swaps,
// which inotify-based watchers lose track of.
func (a *App) reloadLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-a.opts.Reload:
			if !ok {
				a.opts.Reload = nil
				continue
			}
			_, _ = a.Reload("sighup")
		case <-a.clock.After(config.DefaultReloadInterval):
			// Fingerprint the files of the config last loaded, applied or
			// refused: a refused config may read files the running one
			// does not (a value_file not written yet).
			a.reloadMu.Lock()
			last, seen := a.lastLoaded, a.fingerprint
			a.reloadMu.Unlock()
			changed := fingerprint(a.opts.ConfigPath, last) != seen
			if changed {
				_, _ = a.Reload("file change")
			}
		}
	}
}

// reloadStatus is the outcome of the last load or reload, for /admin/.
type reloadStatus struct {
	At       time.Time
	Trigger  string
	Result   string // applied, unchanged, failed or transient
	Error    string
	Problems []string
}

// reloadTransient is a reload that could not read the config file for a
// moment (out of file descriptors, an interrupted read): it is retried on
// the next poll and is not a refused config.
const reloadTransient ReloadResult = "transient"

// errReloadTransient marks a reload that could not read the config file for a
// moment; the previous config keeps serving and the next poll retries.
var errReloadTransient = errors.New("config file temporarily unreadable")

// transientReadError is config.TransientReadError: the config file, or a
// file it names (value_file, templates.dir), cannot be read for a moment.
func transientReadError(err error) bool { return config.TransientReadError(err) }

// Reload loads the config file into a fresh Config, builds a complete new
// Runtime and only then swaps it in. Any failure leaves the running config
// serving, is logged with every problem, and sets
// bankbot_config_last_reload_successful to 0. A config file that cannot be
// read for a moment (see transientReadError) is not a failure: it is logged
// as a warning and retried on the next poll.
func (a *App) Reload(trigger string) (ReloadResult, error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	log := a.log.WithFields(logrus.Fields{"trigger": trigger, "config": a.opts.ConfigPath})
	cur := a.runtime.Load()
	fp := fingerprint(a.opts.ConfigPath, cur.Config)
	cfg, err := a.loadConfig(a.opts.ConfigPath, a.opts.Env)
	if err != nil && cfg == nil && transientReadError(err) {
		// Keep the fingerprint: the poller sees the file as changed
		// again and retries; nothing is refused.
		a.transientInARow++
		a.metrics.Reloads.WithLabelValues(string(reloadTransient)).Inc()
		a.lastReload = reloadStatus{At: a.clock.Now(), Trigger: trigger, Result: string(reloadTransient), Error: err.Error()}
		entry := log.WithError(err).WithField("attempts", a.transientInARow)
		if a.transientInARow == 1 {
			entry.Warn("config file cannot be read right now; retrying on the next poll, the running config keeps serving")
		} else {
			entry.Debug("config file still cannot be read; retrying on the next poll")
		}
		return "", fmt.Errorf("%w: %w", errReloadTransient, err)
	}
	if a.transientInARow > 0 {
		log.WithField("attempts", a.transientInARow).Info("config file readable again")
		a.transientInARow = 0
	}
	if err != nil && cfg != nil {
		// Refused, but decoded: watch the files it names (a value_file not
		// yet written) so fixing them is noticed without another edit.
		fp = fingerprint(a.opts.ConfigPath, cfg)
		a.lastLoaded = cfg
	} else if err != nil {
		a.lastLoaded = cur.Config
	}
	var rt *Runtime
	if err == nil {
		fp = fingerprint(a.opts.ConfigPath, cfg)
		a.lastLoaded = cfg
		if cfg.Hash == cur.Config.Hash {
			// The file is the running config again (an edit reverted, or a
			// reload with nothing new): that is a successful load.
			a.fingerprint = fp
			a.metrics.ReloadOK.Set(1)
			a.metrics.Reloads.WithLabelValues(string(ReloadUnchanged)).Inc()
			a.reloadSucceeded(log, trigger, ReloadUnchanged)
			log.Debug("config unchanged")
			return ReloadUnchanged, nil
		}
		rt, err = Build(cfg, a.buildDeps())
	}
	if err != nil {
		a.fingerprint = fp // a refused file is reported once, not on every poll
		a.metrics.ReloadOK.Set(0)
		a.metrics.Reloads.WithLabelValues("failed").Inc()
		a.refusedInARow++
		st := reloadStatus{At: a.clock.Now(), Trigger: trigger, Result: "failed", Error: err.Error()}
		var ps config.Problems
		if errors.As(err, &ps) {
			st.Problems = ps.Lines()
			for _, p := range ps {
				log.WithField("problem", p.String()).Error("config reload refused: " + p.String())
			}
		}
		a.lastReload = st
		log.WithError(err).WithField("refused_reloads", a.refusedInARow).Error("config reload refused; the previous config keeps serving")
		return "", err
	}
	for _, k := range restartOnly(cur.Config, cfg) {
		log.WithField("key", k).Warn(k + " changed: restart bankbot to apply it; the rest of the config is applied now")
	}
	for _, w := range cfg.Warnings(a.clock.Now()) {
		log.Warn(w)
	}
	a.precreateMetrics(rt) // before the workers of new robots can set their state
	a.runtime.Store(rt)
	a.fingerprint = fp
	configureLogger(a.log, cfg.Log)
	a.deliverer.apply()
	a.metrics.ReloadOK.Set(1)
	a.metrics.ReloadTime.Set(float64(a.clock.Now().Unix()))
	a.metrics.ConfigInfo.Reset()
	a.metrics.ConfigInfo.WithLabelValues(cfg.Hash[:12]).Set(1)
	a.metrics.Reloads.WithLabelValues(string(ReloadApplied)).Inc()
	a.reloadSucceeded(log, trigger, ReloadApplied)
	a.appliedAt = a.lastReload.At
	log.WithFields(logrus.Fields{"sources": len(rt.Sources), "robots": len(rt.Robots), "routes": len(rt.Routes)}).Info("config reloaded")
	a.wakeRouter()
	return ReloadApplied, nil
}

// reloadSucceeded records a good reload and, after refused ones, says that
// the config file is good again. Called with reloadMu held.
func (a *App) reloadSucceeded(log *logrus.Entry, trigger string, res ReloadResult) {
	a.lastReload = reloadStatus{At: a.clock.Now(), Trigger: trigger, Result: string(res)}
	if a.refusedInARow == 0 {
		return
	}
	n := a.refusedInARow
	a.refusedInARow = 0
	log.WithFields(logrus.Fields{"refused_reloads": n, "result": string(res)}).
		Info(fmt.Sprintf("config applied again after %d refused reload(s)", n))
}

// reloadState returns the last reload's outcome and how many reloads in a row
// were refused.
func (a *App) reloadState() (reloadStatus, int) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	return a.lastReload, a.refusedInARow
}

// restartOnly lists keys whose change needs a restart.
func restartOnly(old, cur *config.Config) []string {
	var keys []string
	if old.Server.Listen != cur.Server.Listen {
		keys = append(keys, "server.listen")
	}
	if old.Admin.Listen != cur.Admin.Listen {
		keys = append(keys, "admin.listen")
	}
	if old.Storage.Driver != cur.Storage.Driver || old.Storage.DSN != cur.Storage.DSN {
		keys = append(keys, "storage")
	}
	if old.Server.MaxConnections != cur.Server.MaxConnections {
		keys = append(keys, "server.max_connections")
	}
	if old.Server.ReadTimeout != cur.Server.ReadTimeout || old.Server.WriteTimeout != cur.Server.WriteTimeout ||
		old.Server.ReadHeaderTimeout != cur.Server.ReadHeaderTimeout || old.Server.IdleTimeout != cur.Server.IdleTimeout {
		keys = append(keys, "server timeouts")
	}
	return keys
}

// fingerprint hashes the config file and every file the config cfg reads, so
// a change to any of them (a rotated value_file secret, say) is noticed.
func fingerprint(path string, cfg *config.Config) string {
	h := sha256.New()
	b, err := os.ReadFile(path)
	if err != nil {
		h.Write([]byte("unreadable: " + err.Error()))
	}
	h.Write(b)
	var files []string
	if cfg != nil {
		base := filepath.Dir(cfg.Path)
		for _, src := range cfg.Sources {
			for _, s := range src.Secrets {
				if s.ValueFile != "" {
					f := s.ValueFile
					if !filepath.IsAbs(f) {
						f = filepath.Join(base, f)
					}
					files = append(files, f)
				}
			}
		}
		if cfg.Templates.Dir != "" {
			if entries, err := os.ReadDir(cfg.Templates.Dir); err == nil {
				for _, e := range entries {
					files = append(files, filepath.Join(cfg.Templates.Dir, e.Name()))
				}
			}
		}
	}
	sort.Strings(files)
	for _, f := range files {
		h.Write([]byte(f))
		if b, err := os.ReadFile(f); err == nil {
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
