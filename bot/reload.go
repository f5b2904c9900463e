package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"

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

// Reload loads the config file into a fresh Config, builds a complete new
// Runtime and only then swaps it in. Any failure leaves the running config
// serving, is logged with every problem, and sets
// bankbot_config_last_reload_successful to 0.
func (a *App) Reload(trigger string) (ReloadResult, error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	log := a.log.WithFields(logrus.Fields{"trigger": trigger, "config": a.opts.ConfigPath})
	cur := a.runtime.Load()
	fp := fingerprint(a.opts.ConfigPath, cur.Config)
	cfg, err := config.Load(a.opts.ConfigPath, a.opts.Env)
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
			log.Debug("config unchanged")
			return ReloadUnchanged, nil
		}
		rt, err = Build(cfg, a.buildDeps())
	}
	if err != nil {
		a.fingerprint = fp // a refused file is reported once, not on every poll
		a.metrics.ReloadOK.Set(0)
		a.metrics.Reloads.WithLabelValues("failed").Inc()
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				log.WithField("problem", p.String()).Error("config reload refused: " + p.String())
			}
		}
		log.WithError(err).Error("config reload refused; the previous config keeps serving")
		return "", err
	}
	for _, k := range restartOnly(cur.Config, cfg) {
		log.WithField("key", k).Warn(k + " changed: restart bankbot to apply it; the rest of the config is applied now")
	}
	for _, w := range cfg.Warnings(a.clock.Now()) {
		log.Warn(w)
	}
	a.runtime.Store(rt)
	a.fingerprint = fp
	configureLogger(a.log, cfg.Log)
	a.deliverer.apply()
	a.metrics.ReloadOK.Set(1)
	a.metrics.ReloadTime.Set(float64(a.clock.Now().Unix()))
	a.metrics.ConfigInfo.Reset()
	a.metrics.ConfigInfo.WithLabelValues(cfg.Hash[:12]).Set(1)
	a.metrics.Reloads.WithLabelValues(string(ReloadApplied)).Inc()
	log.WithFields(logrus.Fields{"sources": len(rt.Sources), "robots": len(rt.Robots), "routes": len(rt.Routes)}).Info("config reloaded")
	a.wakeRouter()
	return ReloadApplied, nil
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
