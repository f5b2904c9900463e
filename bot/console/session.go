package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sessions are stateless: the cookie is "role.expiry.nonce.mac", the MAC an
// HMAC-SHA256 keyed by a hash of the role's token as configured now. So a
// session survives a restart (and works on every replica), expires on its
// own, and dies the moment its token changes in the config: the key it was
// signed with no longer exists. Nothing is stored server-side, so signing
// out only drops the cookie: a copied cookie stays valid until it expires
// or the token changes (rotate the token to end every session at once).

const (
	sessionCookie = "bankbot_session"
	langCookie    = "bankbot_lang"
)

// sessionKey derives a role's signing key from its token. The label keeps
// it from being a hash anyone else computes of the token.
func sessionKey(token string) []byte {
	h := sha256.Sum256([]byte("bankbot console session v1\x00" + token))
	return h[:]
}

func mac(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenFor is the configured token of role; "" when that role cannot sign in.
func (s Settings) tokenFor(r Role) string {
	switch r {
	case RoleAdmin:
		return s.AdminToken
	case RoleViewer:
		return s.ViewerToken
	}
	return ""
}

// checkToken returns the role whose token got is, comparing with both in
// constant time (both are always compared).
func (s Settings) checkToken(got string) (Role, bool) {
	if got == "" {
		return "", false
	}
	admin := s.AdminToken != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.AdminToken)) == 1
	viewer := s.ViewerToken != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.ViewerToken)) == 1
	switch {
	case admin:
		return RoleAdmin, true
	case viewer:
		return RoleViewer, true
	}
	return "", false
}

// newSession returns a cookie value for role, valid until exp.
func newSession(s Settings, role Role, exp time.Time) string {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	payload := string(role) + "." + strconv.FormatInt(exp.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(nonce[:])
	return payload + "." + mac(sessionKey(s.tokenFor(role)), "session", payload)
}

// session is a verified sign-in.
type session struct {
	role    Role
	payload string // what the CSRF token is bound to
	bearer  bool   // signed in by Authorization: Bearer, not a cookie
}

// parseSession verifies a cookie value at now.
func parseSession(s Settings, v string, now time.Time) (session, bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return session{}, false
	}
	payload, sig := v[:i], v[i+1:]
	parts := strings.Split(payload, ".")
	if len(parts) != 3 {
		return session{}, false
	}
	role := Role(parts[0])
	token := s.tokenFor(role)
	if token == "" {
		return session{}, false
	}
	want := mac(sessionKey(token), "session", payload)
	if subtle.ConstantTimeCompare([]byte(sig), []byte(want)) != 1 {
		return session{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return session{}, false
	}
	return session{role: role, payload: payload}, true
}

// csrfToken is the session's CSRF token: a MAC of the session under its
// role's key, so it is bound to this sign-in and dies with it.
func (s Settings) csrfToken(ss session) string {
	if ss.bearer {
		return ""
	}
	return mac(sessionKey(s.tokenFor(ss.role)), "csrf", ss.payload)
}

// bearerToken returns the token of an Authorization header of the Bearer
// scheme (matched case-insensitively).
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// secureRequest reports whether the browser reached us over TLS: directly,
// or through a proxy that says so. It only decides the cookie's Secure
// flag, so trusting the header cannot weaken anything.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sameOrigin reports whether a POST comes from a page of this host: its
// Origin, else its Referer, names the host the request was sent to. A
// browser always sends one of them on a form POST; a request with neither
// is refused (fails closed) unless it is a Bearer request, which no
// browser sends on its own.
func sameOrigin(r *http.Request, bearer bool) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return bearer
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// Sign-in rate limit.
const (
	signinWindow   = 15 * time.Minute
	signinFailures = 10     // failed attempts per client per window
	signinClients  = 10_000 // clients tracked at once
)

// signinLimiter counts failed sign-ins per client IP in a fixed window.
//
// Failure policy: fails closed. A client with signinFailures failures in
// the window is refused, the right token included, until the window
// started by its first failure ends (a guesser cannot learn which attempt
// would have worked); a success resets the client's count. When more than
// signinClients clients are tracked, new ones share a single overflow
// entry, so a flood from many addresses limits the flood, never opens the
// door; expired entries are dropped as new ones arrive. Behind a proxy not
// listed in server.trusted_proxies every client is the proxy: they then
// share one budget (refused together rather than unlimited).
type signinLimiter struct {
	mu      sync.Mutex
	clients map[string]*signinCount
}

type signinCount struct {
	start    time.Time
	failures int
}

func newSigninLimiter() *signinLimiter {
	return &signinLimiter{clients: map[string]*signinCount{}}
}

// blocked reports whether client may not try now, and until when.
func (l *signinLimiter) blocked(client string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[l.key(client)]
	if c == nil || now.Sub(c.start) >= signinWindow {
		return false, time.Time{}
	}
	return c.failures >= signinFailures, c.start.Add(signinWindow)
}

// fail records a failed attempt.
func (l *signinLimiter) fail(client string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.clients[client]; !ok && len(l.clients) >= signinClients {
		for k, c := range l.clients {
			if now.Sub(c.start) >= signinWindow {
				delete(l.clients, k)
			}
		}
	}
	k := l.key(client)
	c := l.clients[k]
	if c == nil || now.Sub(c.start) >= signinWindow {
		c = &signinCount{start: now}
		l.clients[k] = c
	}
	c.failures++
}

// succeed forgets client's failures.
func (l *signinLimiter) succeed(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.clients, client)
}

// key is client, or the shared overflow key when the map is full.
func (l *signinLimiter) key(client string) string {
	if _, ok := l.clients[client]; ok || len(l.clients) < signinClients {
		return client
	}
	return "\x00overflow"
}
