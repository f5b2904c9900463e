package bot

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bankbot/bankbot/bot/config"
)

// adminRouter serves health, readiness, metrics, the status page and reload.
func (a *App) adminRouter() http.Handler {
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	r.GET("/readyz", a.handleReady)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{})))
	admin := r.Group("/admin", a.requireToken)
	admin.GET("/", a.handleStatus)
	admin.POST("/reload", a.handleReload)
	// The web console (package console): on while admin.token is set.
	r.Any("/ui/*path", gin.WrapH(a.consoleHandler()))
	return r
}

// handleReady is 200 when a config is loaded and the store answers.
func (a *App) handleReady(c *gin.Context) {
	if a.runtime.Load() == nil {
		c.String(http.StatusServiceUnavailable, "config not loaded\n")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		c.String(http.StatusServiceUnavailable, "store unavailable\n")
		return
	}
	c.String(http.StatusOK, "ready\n")
}

// requireToken checks Authorization: Bearer <admin.token> in constant time.
// The scheme is case-insensitive (RFC 9110 §11.1: "bearer", "BEARER" and
// "Bearer" are the same); the token is not. With no token configured the
// admin API is off.
func (a *App) requireToken(c *gin.Context) {
	want := a.runtime.Load().Config.Admin.Token.Reveal()
	if want == "" {
		writeError(c, http.StatusForbidden, "admin_disabled",
			"the admin API is off: set admin.token in the config (the shipped config.yaml reads it from the BANKBOT_ADMIN_TOKEN environment variable)")
		return
	}
	got, ok := bearerToken(c.GetHeader("Authorization"))
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="bankbot admin"`)
		writeError(c, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <admin.token>")
		return
	}
	c.Next()
}

// bearerToken returns the token of an Authorization header of the Bearer
// scheme, matched case-insensitively, with the spaces around the token
// trimmed.
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// handleReload reloads now and answers 200 with the result, or 500 with
// every problem of a refused config.
func (a *App) handleReload(c *gin.Context) {
	res, err := a.Reload("admin api")
	if errors.Is(err, errReloadTransient) {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "reload_unavailable",
			"message":  "the config file cannot be read right now; the previous config keeps serving, retry later",
			"problems": []string{err.Error()}})
		return
	}
	if err != nil {
		body := gin.H{"error": "reload_failed", "message": "config refused; the previous config keeps serving"}
		var ps config.Problems
		if errors.As(err, &ps) {
			body["problems"] = ps.Lines()
		} else {
			body["problems"] = []string{err.Error()}
		}
		c.JSON(http.StatusInternalServerError, body)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": string(res), "config_hash": a.runtime.Load().Config.Hash[:12]})
}

// handleStatus is the admin status page: what is configured (never a secret)
// and the outbox.
func (a *App) handleStatus(c *gin.Context) {
	rt := a.runtime.Load()
	now := a.clock.Now()
	type keyInfo struct {
		Name    string `json:"name"`
		Expires string `json:"expires,omitempty"`
		Active  bool   `json:"active"`
	}
	sources := gin.H{}
	for name, s := range rt.Sources {
		var keys []keyInfo
		for _, k := range s.Keys {
			ki := keyInfo{Name: k.Name, Active: k.ActiveAt(now)}
			if !k.Expires.IsZero() {
				ki.Expires = k.Expires.Format(time.RFC3339)
			}
			keys = append(keys, ki)
		}
		var allow []string
		for _, p := range s.AllowIPs {
			allow = append(allow, p.String())
		}
		sources[name] = gin.H{"provider": s.Provider.Name(), "keys": keys, "max_skew": s.MaxSkew.String(), "allow_ips": allow, "url": "/hooks/" + name}
	}
	robots := gin.H{}
	for name, r := range rt.Robots {
		rc := rt.Config.Robots[name]
		info := gin.H{"type": r.Type, "rate_per_minute": r.RatePerMinute}
		if rc.Webhook != "" {
			info["webhook"] = config.RedactURL(rc.Webhook.Reveal())
		}
		robots[name] = info
	}
	var routes []gin.H
	for _, r := range rt.Routes {
		routes = append(routes, gin.H{"name": r.Name, "sources": r.Sources, "kinds": r.Kinds, "robot": r.Robot, "template": r.Template, "language": r.Language, "min_amount": r.MinAmount})
	}
	body := gin.H{
		"version": a.opts.Version, "config": rt.Config.Path, "config_hash": rt.Config.Hash[:12],
		"sources": sources, "robots": robots, "routes": routes, "templates": sortedStrings(rt.Engine.Sets()),
		"warnings": rt.Config.Warnings(now),
	}
	last, refused := a.reloadState()
	lr := gin.H{"time": last.At.UTC().Format(time.RFC3339), "trigger": last.Trigger, "result": last.Result}
	if last.Error != "" {
		lr["error"] = last.Error
	}
	if len(last.Problems) > 0 {
		lr["problems"] = last.Problems
	}
	if refused > 0 {
		lr["refused_in_a_row"] = refused
		lr["note"] = "the config file was refused; the config shown here is the previous one, still serving"
	}
	body["last_reload"] = lr
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if st, err := a.store.Stats(ctx); err == nil {
		body["outbox"] = gin.H{"pending": st.Pending, "sending": st.Sending, "dead": st.Dead, "unrouted": st.Unrouted}
	} else {
		body["outbox"] = gin.H{"error": "store unavailable"}
	}
	c.IndentedJSON(http.StatusOK, body)
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
