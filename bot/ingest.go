package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// commitTimeout bounds the store commit of one webhook. It does not follow
// the request context: a provider hanging up mid-commit must not leave the
// commit half done.
const commitTimeout = 5 * time.Second

// hookRouter serves POST /hooks/{source}.
func (a *App) hookRouter() http.Handler {
	r := gin.New()
	r.Use(gin.Recovery())
	r.HandleMethodNotAllowed = true
	// A trailing slash (/hooks/opn/) is the same source, answered directly:
	// Gin's default 307 redirect would make every webhook a second request,
	// which many providers do not follow.
	r.RedirectTrailingSlash = false
	r.POST("/hooks/:source", a.handleHook)
	r.POST("/hooks/:source/", a.handleHook)
	r.POST("/dingtalk/callback", a.handleChatCallback)
	r.NoRoute(func(c *gin.Context) {
		writeError(c, http.StatusNotFound, "not_found", "webhooks are POSTed to /hooks/{source}")
	})
	r.NoMethod(func(c *gin.Context) {
		writeError(c, http.StatusMethodNotAllowed, "method_not_allowed", "webhooks are POSTed to /hooks/{source}")
	})
	return r
}

// hookError is a rejected webhook: its HTTP status, error code and message.
type hookError struct {
	status int
	code   string
	msg    string
}

// handleHook is bind → verify → store → answer. Routing, rendering and
// sending happen after the answer, from the stored event.
func (a *App) handleHook(c *gin.Context) {
	rt := a.runtime.Load()
	now := a.clock.Now()
	// Source names are case-insensitive (the config's keys are lowercased).
	name := strings.ToLower(c.Param("source"))
	src, ok := rt.Sources[name]
	if !ok {
		a.metrics.Received.WithLabelValues("unknown", "unknown_source").Inc()
		writeError(c, http.StatusNotFound, "unknown_source", fmt.Sprintf("no source named %q is configured", name))
		return
	}
	ip := clientIP(c.Request, rt.TrustedProxies)
	// The logger is built only when a line is written (see the success path).
	log := func() *logrus.Entry { return a.log.WithFields(logrus.Fields{"source": name, "remote_ip": ip.String()}) }
	evs, body, unreadable, herr := a.verifyHook(c, src, rt.Config.Server.MaxBodyBytes, ip, now)
	if herr != nil {
		a.metrics.Received.WithLabelValues(name, herr.code).Inc()
		a.rejects.add(name, herr.code, now)
		// At most one line per source and reason every rejectLogEvery; the
		// metric keeps the full count.
		if ok, suppressed := a.rejectLog.allow(name+"\x00"+herr.code, now); ok {
			e, msg := log().WithFields(logrus.Fields{"status": herr.status, "reason": herr.code}), herr.msg
			if suppressed > 0 {
				e = e.WithField("suppressed", suppressed)
				msg += fmt.Sprintf(" (%d more like it not logged since the last line)", suppressed)
			}
			e.Warn("webhook rejected: " + msg)
		}
		writeError(c, herr.status, herr.code, herr.msg)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), commitTimeout)
	defer cancel()
	// A request carrying several events (Adyen) stores each on its own. If
	// one cannot be stored the provider gets 503 and sends the whole request
	// again; the events stored before it are then duplicates.
	stored := make([]storedHook, 0, len(evs))
	for i, ev := range evs {
		why := unreadable
		if ev.Kind == bankhooks.KindUnreadable && why == "" {
			why = ev.FailureMessage // an item of a multi-event request
		}
		sh, err := a.storeHook(ctx, rt, src, c.Request.Header, ev, body, why, ip, now)
		if err != nil {
			a.metrics.Received.WithLabelValues(name, "store_unavailable").Inc()
			log().WithError(err).WithField("stored_before", i).Error("webhook not stored; answering 503 so the provider retries")
			writeError(c, http.StatusServiceUnavailable, "store_unavailable", "the event could not be stored; retry later")
			return
		}
		stored = append(stored, sh)
		a.afterStore(name, sh, log)
	}
	if ack, ok := src.Provider.(bankhooks.Acknowledger); ok {
		ct, b := ack.Ack()
		c.Data(http.StatusOK, ct, b)
		return
	}
	if len(stored) == 1 {
		c.JSON(http.StatusOK, stored[0].answer())
		return
	}
	answers := make([]gin.H, len(stored))
	status := "duplicate"
	for i, sh := range stored {
		answers[i] = sh.answer()
		if !sh.res.Duplicate {
			status = "accepted"
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": status, "events": answers})
}

// storedHook is one event of a webhook as stored.
type storedHook struct {
	ne         store.NewEvent
	res        store.InsertResult
	unreadable string
}

// answer is the JSON answer for one stored event.
func (sh storedHook) answer() gin.H {
	switch {
	case sh.res.Duplicate:
		return gin.H{"status": "duplicate", "id": sh.res.ID}
	case sh.unreadable != "":
		return gin.H{"status": "accepted", "id": sh.res.ID, "unreadable": sh.unreadable}
	}
	return gin.H{"status": "accepted", "id": sh.res.ID}
}

// storeHook routes one verified event and stores it with its outbox rows in
// one commit. Route now, so the event and its outbox rows commit together:
// one commit per webhook, and no routing backlog behind a flood. If routing
// cannot be computed, the event is stored unrouted and the background
// router retries it.
func (a *App) storeHook(ctx context.Context, rt *Runtime, src *Source, h http.Header, ev bankhooks.Event, body []byte,
	unreadable string, ip netip.Addr, now time.Time) (storedHook, error) {
	ne := store.NewEvent{
		ID: newEventID(now), Source: src.Name, Event: ev, ReceivedAt: now,
		RemoteIP: remoteIP(ip), Headers: keptHeaders(h), Body: body,
	}
	if needsConfirm(src, ev) {
		// Stored unrouted: the router confirms it through the provider's
		// API first (confirmflow.go). The answer does not wait for the API.
		ne.Confirmation = store.ConfirmUnconfirmed
	} else if ds, err := rt.Deliveries(src.Name, ev); err == nil {
		ne.Deliveries, ne.Routed = ds, true
	} else {
		a.log.WithFields(logrus.Fields{"source": src.Name, "provider_event_id": ev.ID}).WithError(err).
			Error("routing failed at ingest; the router retries it")
	}
	res, err := a.store.InsertEvent(ctx, ne)
	if errors.Is(err, store.ErrInvalid) && unreadable == "" {
		// The store refused the values themselves (an id with a NUL byte).
		// The signature verified, so the event is kept as unreadable under
		// the hash of its body rather than refused.
		unreadable = "the event's id or fields cannot be stored: " + err.Error()
		ne.Event = bankhooks.Unreadable(src.Provider.Name(), bankhooks.Request{Header: h, Body: body}, unreadable)
		ne.Event.ID = bankhooks.BodyID(body)
		ne.Confirmation = ""
		if ds, derr := rt.Deliveries(src.Name, ne.Event); derr == nil {
			ne.Deliveries, ne.Routed = ds, true
		} else {
			ne.Deliveries, ne.Routed = nil, false
		}
		res, err = a.store.InsertEvent(ctx, ne)
	}
	if err != nil {
		return storedHook{}, err
	}
	return storedHook{ne: ne, res: res, unreadable: unreadable}, nil
}

// afterStore counts, logs and wakes the workers for one stored event.
func (a *App) afterStore(name string, sh storedHook, log func() *logrus.Entry) {
	ev, res, ne := sh.ne.Event, sh.res, sh.ne
	if res.Duplicate {
		a.metrics.Received.WithLabelValues(name, "duplicate").Inc()
		log().WithFields(logrus.Fields{"event_id": res.ID, "provider_event_id": ev.ID, "kind": ev.Kind}).
			Info("duplicate webhook: already stored, not sent again")
		return
	}
	if sh.unreadable != "" {
		a.metrics.Received.WithLabelValues(name, "unreadable").Inc()
		log().WithFields(logrus.Fields{"event_id": res.ID, "provider_event_id": ev.ID, "problem": sh.unreadable}).
			Warn("signed webhook stored, but its content could not be read: alerted as unreadable")
	} else {
		a.metrics.Received.WithLabelValues(name, "accepted").Inc()
	}
	switch {
	case !ne.Routed:
		a.wakeRouter()
	case len(ne.Deliveries) == 0:
		a.metrics.Unrouted.WithLabelValues(name).Inc()
		log().WithFields(logrus.Fields{"event_id": res.ID, "kind": ev.Kind}).
			Warn("event matched no route: stored, not sent (add a route to alert on it)")
	default:
		for _, d := range ne.Deliveries {
			a.deliverer.wake(d.Robot)
		}
	}
	// The success path logs at debug level only, and builds no fields unless
	// that level is on: at thousands of webhooks a second the log line cost
	// more than the commit. The store and the metrics keep the record.
	if a.log.IsLevelEnabled(logrus.DebugLevel) {
		log().WithFields(logrus.Fields{"event_id": res.ID, "provider_event_id": ev.ID, "kind": ev.Kind}).Debug("webhook accepted")
	}
}

// verifyHook applies the allowlist, the body cap, the signature and the
// parse. A verified body that does not parse is not an error: it comes back
// as an event of kind unreadable, with the reason. A provider whose request
// carries several events (bankhooks.MultiParser) gives one event each; an
// item it cannot read comes back as an unreadable event of its own.
func (a *App) verifyHook(c *gin.Context, src *Source, maxBody int64, ip netip.Addr, now time.Time) ([]bankhooks.Event, []byte, string, *hookError) {
	if !src.Allowed(ip) {
		msg := fmt.Sprintf("%s is not in sources.%s.allow_ips", ip, src.Name)
		if !ip.IsValid() {
			msg = fmt.Sprintf("no valid client address: the X-Forwarded-For of the trusted proxy %s has a hop that is not an IP address, so sources.%s.allow_ips cannot be checked",
				c.Request.RemoteAddr, src.Name)
		}
		return nil, nil, "", &hookError{http.StatusForbidden, "ip_not_allowed", msg}
	}
	tooLarge := &hookError{http.StatusRequestEntityTooLarge, "body_too_large",
		fmt.Sprintf("body is over server.max_body_bytes (%d bytes)", maxBody)}
	if c.Request.ContentLength > maxBody {
		return nil, nil, "", tooLarge
	}
	body, err := readBody(c.Writer, c.Request, maxBody)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, "", tooLarge
		}
		return nil, nil, "", &hookError{http.StatusBadRequest, "unreadable_body", "the request body could not be read"}
	}
	req := bankhooks.Request{Header: c.Request.Header, Body: body}
	if _, err := src.Provider.Verify(req, src.Keys, bankhooks.VerifyOptions{Now: now, MaxSkew: src.MaxSkew}); err != nil {
		return nil, nil, "", &hookError{http.StatusUnauthorized, bankhooks.Reason(err), verifyMessage(src, err)}
	}
	if mp, ok := src.Provider.(bankhooks.MultiParser); ok {
		evs, err := mp.ParseAll(req)
		if err == nil && len(evs) == 0 {
			err = fmt.Errorf("%w: the request carries no event", bankhooks.ErrMalformedPayload)
		}
		if err != nil {
			return []bankhooks.Event{bankhooks.Unreadable(src.Provider.Name(), req, err.Error())}, body, err.Error(), nil
		}
		return evs, body, "", nil
	}
	ev, err := src.Provider.Parse(req)
	if err != nil {
		return []bankhooks.Event{bankhooks.Unreadable(src.Provider.Name(), req, err.Error())}, body, err.Error(), nil
	}
	return []bankhooks.Event{ev}, body, "", nil
}

// readBody reads at most maxBody bytes of the request body. When the
// request says its length (and it is within the cap), the buffer is
// allocated once at that size instead of growing by doubling.
func readBody(w http.ResponseWriter, r *http.Request, maxBody int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	if n := r.ContentLength; n >= 0 && n <= maxBody {
		buf := make([]byte, n)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		// A body longer than it said is cut off by the server; read on to
		// see EOF so a lying Content-Length cannot pass unnoticed.
		var one [1]byte
		if k, _ := body.Read(one[:]); k > 0 {
			return nil, errors.New("body longer than its Content-Length")
		}
		return buf, nil
	}
	return io.ReadAll(body)
}

func verifyMessage(src *Source, err error) string {
	switch bankhooks.Reason(err) {
	case "stale_timestamp":
		return fmt.Sprintf("the signed timestamp is more than %s from the server's clock (sources.%s.max_skew)", src.MaxSkew, src.Name)
	case "bad_signature":
		return fmt.Sprintf("the signature matches none of the active secrets of sources.%s", src.Name)
	case "expired_key":
		return fmt.Sprintf("the signature matches a secret of sources.%s that has expired", src.Name)
	case "no_active_key":
		return fmt.Sprintf("sources.%s has no active secret", src.Name)
	}
	return err.Error()
}

func writeError(c *gin.Context, status int, code, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": code, "message": msg})
}

// clientIP is the caller's address. X-Forwarded-For is believed only when the
// direct peer is a trusted proxy; then the right-most address that is not a
// trusted proxy is the client (left-most entries are whatever the client
// claimed).
//
// Failure policy: fails closed because the proxy's own address may be in an
// allowlist: when a trusted proxy sends an X-Forwarded-For whose hop right of
// the client is not a bare IP address (1.2.3.4:5678, [2001:db8::1], garbage,
// an empty entry), the client is unknown and clientIP returns the zero Addr,
// which no allow_ips contains (403 ip_not_allowed); sources without
// allow_ips still accept it. A trusted proxy that sends no X-Forwarded-For at
// all, or only trusted hops, is itself the client.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if len(trusted) == 0 || !containsIP(trusted, peer) {
		return peer
	}
	values := r.Header.Values("X-Forwarded-For")
	if len(values) == 0 {
		return peer
	}
	hops := strings.Split(strings.Join(values, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil || a.Zone() != "" {
			return netip.Addr{} // a garbled hop: the client is unknown
		}
		a = a.Unmap()
		if !containsIP(trusted, a) {
			return a
		}
	}
	return peer
}

// keptHeaders are the request headers stored with an event: everything but
// signatures, credentials and cookies.
func keptHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "sign") || strings.Contains(lk, "auth") || strings.Contains(lk, "token") ||
			strings.Contains(lk, "cookie") || strings.Contains(lk, "secret") || strings.Contains(lk, "key") {
			continue
		}
		out[k] = strings.Join(v, ", ")
	}
	return out
}

// remoteIP is the caller's address as stored with an event: "" when there
// is no valid one (a garbled X-Forwarded-For from a trusted proxy).
func remoteIP(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}
