package console

import (
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html static/*
var files embed.FS

// Errors a Backend returns for the console to answer 404 or 400.
var (
	// ErrNotFound: no such event.
	ErrNotFound = errors.New("not found")
	// ErrBadRequest: a query the backend refuses (a forged cursor).
	ErrBadRequest = errors.New("bad request")
)

// Prefix is where the console is mounted.
const Prefix = "/ui/"

// Security headers of every answer. The CSP allows no inline script and no
// inline style: the only script is static/copy.js, the only stylesheet
// static/console.css.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"

// maxRetryIDs bounds the ids of one "retry selected".
const maxRetryIDs = 1000

// Handler serves the console.
type Handler struct {
	b       Backend
	pages   map[string]*template.Template
	static  http.Handler
	limiter *signinLimiter
	mux     *http.ServeMux
}

// New returns the console's handler for requests under Prefix.
func New(b Backend) *Handler {
	h := &Handler{b: b, limiter: newSigninLimiter(), pages: map[string]*template.Template{}}
	for _, name := range []string{"signin", "overview", "events", "event", "deadletters", "retryall", "actions", "preview", "error"} {
		files := []string{"templates/layout.html", "templates/" + name + ".html"}
		h.pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files0(), files...))
	}
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err)
	}
	h.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
	m := http.NewServeMux()
	m.HandleFunc("GET "+Prefix+"static/", h.serveStatic)
	m.HandleFunc("GET "+Prefix+"signin", h.signinPage)
	m.HandleFunc("POST "+Prefix+"signin", h.signin)
	m.HandleFunc("POST "+Prefix+"signout", h.signout)
	m.HandleFunc("GET "+Prefix+"{$}", h.page(h.overview))
	m.HandleFunc("GET "+Prefix+"events", h.page(h.events))
	m.HandleFunc("GET "+Prefix+"events/{id}", h.page(h.event))
	m.HandleFunc("GET "+Prefix+"deadletters", h.page(h.deadletters))
	m.HandleFunc("GET "+Prefix+"deadletters/retry-all", h.page(h.retryAllPage))
	m.HandleFunc("POST "+Prefix+"deadletters/retry", h.action(h.retry))
	m.HandleFunc("GET "+Prefix+"actions", h.page(h.actions))
	m.HandleFunc("POST "+Prefix+"actions/reload", h.action(h.reload))
	m.HandleFunc("POST "+Prefix+"actions/replay", h.action(h.replay))
	m.HandleFunc("POST "+Prefix+"actions/test", h.action(h.test))
	m.HandleFunc("GET "+Prefix+"preview", h.page(h.preview))
	m.HandleFunc(Prefix, h.page(func(w http.ResponseWriter, r *http.Request, p *pageData) {
		h.fail(w, r, p, http.StatusNotFound, "not.found")
	}))
	h.mux = m
	return h
}

func files0() fs.FS { return files }

// ServeHTTP serves one console request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if h.b.Settings().AdminToken == "" {
		hd.Set("Cache-Control", "no-store")
		http.Error(w, "the web console is off: set admin.token in the config", http.StatusNotFound)
		return
	}
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	// No data here: the browser may keep them, revalidating each time.
	w.Header().Set("Cache-Control", "no-cache")
	h.static.ServeHTTP(w, r)
}

// pageData is what every template executes on.
type pageData struct {
	Lang     string
	Role     Role
	CSRF     string
	Loc      *time.Location
	Version  string
	Path     string // the request path and query, for the language switch
	Active   string // the nav entry of this page
	Flash    *Result
	Error    string
	Next     string // sign-in: where to go after
	Page     any
	bearer   bool
	settings Settings
}

// T is key's text in the page's language.
func (p *pageData) T(key string) string { return T(p.Lang, key) }

// Bearer reports whether the request signed in with a Bearer header.
func (p *pageData) Bearer() bool { return p.bearer }

// Admin reports whether the viewer may act.
func (p *pageData) Admin() bool { return p.Role == RoleAdmin }

// Time formats t in the configured zone; "—" for the zero time.
func (p *pageData) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(p.Loc).Format("2006-01-02 15:04:05 MST")
}

// Zone is the configured zone's name.
func (p *pageData) Zone() string { return p.Loc.String() }

// LangSwitch is this page in the other language.
func (p *pageData) LangSwitch() string {
	other := "th"
	if p.Lang == "th" {
		other = "en"
	}
	u, err := url.Parse(p.Path)
	if err != nil {
		return Prefix + "?lang=" + other
	}
	q := u.Query()
	q.Set("lang", other)
	u.RawQuery = q.Encode()
	return u.String()
}

var funcs = template.FuncMap{
	"markdown": Markdown,
	"add":      func(a, b int) int { return a + b },
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		return d.Round(time.Millisecond).String()
	},
	"dash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
	"chart": func(c Chart, loc *time.Location) svgChart { return c.layout(loc) },
}

// newPage is the page data of an authenticated (or sign-in) request.
func (h *Handler) newPage(w http.ResponseWriter, r *http.Request, ss session) *pageData {
	s := h.b.Settings()
	lang, set := pickLang(r)
	if set {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: Prefix, MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	return &pageData{Lang: lang, Role: ss.role, CSRF: s.csrfToken(ss), Loc: loc, Version: s.Version,
		Path: r.URL.RequestURI(), bearer: ss.bearer, settings: s}
}

// authenticate returns the request's session: a Bearer token, else the
// session cookie.
func (h *Handler) authenticate(r *http.Request) (session, bool, bool) {
	s := h.b.Settings()
	if tok, ok := BearerToken(r.Header.Get("Authorization")); ok {
		role, ok := s.checkToken(tok)
		return session{role: role, bearer: true}, ok, true
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false, false
	}
	ss, ok := parseSession(s, c.Value, h.b.Now())
	return ss, ok, false
}

// refuse answers a request without a valid session: HTML requests go to
// the sign-in page, others get 401.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, bearer bool) {
	w.Header().Set("Cache-Control", "no-store")
	if !bearer && strings.Contains(r.Header.Get("Accept"), "text/html") {
		// After signing in, a GET comes back to its page; a POST (its
		// session expired meanwhile) to the overview, never re-sent.
		next := Prefix
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, Prefix+"signin?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="bankbot console"`)
	http.Error(w, "sign in at "+Prefix+"signin, or send Authorization: Bearer <admin.token or admin.viewer_token>", http.StatusUnauthorized)
}

type pageFunc func(w http.ResponseWriter, r *http.Request, p *pageData)

// page wraps a read page: authenticated, never cached.
func (h *Handler) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, ok, bearer := h.authenticate(r)
		if !ok {
			h.refuse(w, r, bearer)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		fn(w, r, h.newPage(w, r, ss))
	}
}

// action wraps a POST that changes something: authenticated, same-origin,
// with the session's CSRF token, by an admin.
func (h *Handler) action(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, ok, bearer := h.authenticate(r)
		if !ok {
			h.refuse(w, r, bearer)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		p := h.newPage(w, r, ss)
		if !h.postAllowed(w, r, ss) {
			h.fail(w, r, p, http.StatusForbidden, "csrf")
			return
		}
		if ss.role != RoleAdmin {
			h.fail(w, r, p, http.StatusForbidden, "forbidden")
			return
		}
		fn(w, r, p)
	}
}

// postAllowed checks a POST's origin and CSRF token. A Bearer request
// needs no CSRF token (no browser attaches that header by itself), but a
// foreign Origin is refused even then.
func (h *Handler) postAllowed(w http.ResponseWriter, r *http.Request, ss session) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return false
	}
	if !sameOrigin(r, ss.bearer) {
		return false
	}
	if ss.bearer {
		return true
	}
	want := h.b.Settings().csrfToken(ss)
	got := r.PostForm.Get("csrf")
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, p *pageData) {
	t := h.pages[name]
	var b strings.Builder
	if err := t.Execute(&b, p); err != nil {
		http.Error(w, "page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail shows an error page.
func (h *Handler) fail(w http.ResponseWriter, _ *http.Request, p *pageData, status int, key string) {
	p.Error = p.T(key)
	h.render(w, status, "error", p)
}

// failErr shows an error page for a backend error.
func (h *Handler) failErr(w http.ResponseWriter, r *http.Request, p *pageData, err error) {
	if errors.Is(err, ErrNotFound) {
		h.fail(w, r, p, http.StatusNotFound, "not.found")
		return
	}
	if errors.Is(err, ErrBadRequest) {
		h.fail(w, r, p, http.StatusBadRequest, "bad.request")
		return
	}
	p.Error = p.T("store.error")
	h.render(w, http.StatusServiceUnavailable, "error", p)
}

// --- sign-in ---

// safeNext is where to go after signing in: a console path, never another
// site ("//evil", "/\evil" and absolute URLs are refused).
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p := h.newPage(w, r, session{})
	p.Next = safeNext(r.URL.Query().Get("next"))
	h.render(w, http.StatusOK, "signin", p)
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p := h.newPage(w, r, session{})
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		p.Error = p.T("bad.request")
		h.render(w, http.StatusBadRequest, "signin", p)
		return
	}
	p.Next = safeNext(r.PostForm.Get("next"))
	if !sameOrigin(r, false) {
		p.Error = p.T("signin.origin")
		h.render(w, http.StatusForbidden, "signin", p)
		return
	}
	client := h.b.ClientIP(r)
	now := h.b.Now()
	if limited, until := h.limiter.blocked(client, now); limited {
		p.Error = p.T("signin.limited") + " " + p.Time(until)
		w.Header().Set("Retry-After", strconv.Itoa(int(until.Sub(now).Seconds())+1))
		h.render(w, http.StatusTooManyRequests, "signin", p)
		return
	}
	s := h.b.Settings()
	role, ok := s.checkToken(strings.TrimSpace(r.PostForm.Get("token")))
	if !ok {
		h.limiter.fail(client, now)
		p.Error = p.T("signin.wrong")
		h.render(w, http.StatusUnauthorized, "signin", p)
		return
	}
	h.limiter.succeed(client)
	exp := now.Add(s.SessionTTL)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: newSession(s, role, exp), Path: Prefix,
		Expires: exp, MaxAge: int(s.SessionTTL.Seconds()), HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	ss, ok, bearer := h.authenticate(r)
	if !ok {
		h.refuse(w, r, bearer)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if !h.postAllowed(w, r, ss) {
		h.fail(w, r, h.newPage(w, r, ss), http.StatusForbidden, "csrf")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: Prefix, MaxAge: -1,
		HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// --- read pages ---

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, p *pageData) {
	ov, err := h.b.Overview(r.Context())
	if err != nil {
		h.failErr(w, r, p, err)
		return
	}
	p.Active, p.Page = "overview", ov
	h.render(w, http.StatusOK, "overview", p)
}

// eventsPage is the events page's data.
type eventsPage struct {
	Q       EventQuery
	From    string
	To      string
	List    EventList
	NextURL string
}

// day parses a YYYY-MM-DD in loc.
func day(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.ParseInLocation("2006-01-02", s, loc)
}

func (h *Handler) events(w http.ResponseWriter, r *http.Request, p *pageData) {
	qv := r.URL.Query()
	q := EventQuery{Text: strings.TrimSpace(qv.Get("q")), Source: qv.Get("source"), Kind: qv.Get("kind"), Cursor: qv.Get("cursor"), Limit: 50}
	ep := &eventsPage{From: qv.Get("from"), To: qv.Get("to")}
	var err1, err2 error
	q.From, err1 = day(ep.From, p.Loc)
	q.To, err2 = day(ep.To, p.Loc)
	if err1 != nil || err2 != nil || (!q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From)) || len(q.Text) > 256 {
		h.fail(w, r, p, http.StatusBadRequest, "bad.request")
		return
	}
	list, err := h.b.Events(r.Context(), q)
	if err != nil {
		h.failErr(w, r, p, err)
		return
	}
	ep.Q, ep.List = q, list
	if list.Next != "" {
		nv := url.Values{}
		for _, k := range []string{"q", "source", "kind", "from", "to"} {
			if v := qv.Get(k); v != "" {
				nv.Set(k, v)
			}
		}
		nv.Set("cursor", list.Next)
		ep.NextURL = Prefix + "events?" + nv.Encode()
	}
	p.Active, p.Page = "events", ep
	h.render(w, http.StatusOK, "events", p)
}

func (h *Handler) event(w http.ResponseWriter, r *http.Request, p *pageData) {
	ev, err := h.b.Event(r.Context(), r.PathValue("id"))
	if err != nil {
		h.failErr(w, r, p, err)
		return
	}
	p.Active, p.Page = "events", ev
	h.render(w, http.StatusOK, "event", p)
}

func (h *Handler) deadletters(w http.ResponseWriter, r *http.Request, p *pageData) {
	h.showDeadletters(w, r, p, http.StatusOK, "deadletters")
}

// showDeadletters renders the dead letters with page (the list, or the
// retry-all confirmation).
func (h *Handler) showDeadletters(w http.ResponseWriter, r *http.Request, p *pageData, status int, page string) {
	dl, err := h.b.DeadLetters(r.Context())
	if err != nil {
		h.failErr(w, r, p, err)
		return
	}
	p.Active, p.Page = "deadletters", dl
	h.render(w, status, page, p)
}

func (h *Handler) retryAllPage(w http.ResponseWriter, r *http.Request, p *pageData) {
	if !p.Admin() {
		h.fail(w, r, p, http.StatusForbidden, "forbidden")
		return
	}
	h.showDeadletters(w, r, p, http.StatusOK, "retryall")
}

// --- actions ---

func (h *Handler) retry(w http.ResponseWriter, r *http.Request, p *pageData) {
	f := r.PostForm
	var res Result
	status := http.StatusOK
	switch {
	case f.Get("all") == "1":
		if f.Get("confirm") != "1" {
			http.Redirect(w, r, Prefix+"deadletters/retry-all", http.StatusSeeOther)
			return
		}
		res = h.b.RetryDead(r.Context(), nil, true)
	default:
		ids := f["id"]
		if len(ids) == 0 || len(ids) > maxRetryIDs {
			res, status = Result{Message: p.T("bad.request")}, http.StatusBadRequest
			break
		}
		var nums []int64
		for _, s := range ids {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				res, status = Result{Message: p.T("bad.request")}, http.StatusBadRequest
				break
			}
			nums = append(nums, n)
		}
		if status == http.StatusOK {
			res = h.b.RetryDead(r.Context(), nums, false)
		}
	}
	p.Flash = &res
	h.showDeadletters(w, r, p, status, "deadletters")
}

// actionsPage is the actions page's data.
type actionsPage struct {
	Robots []string
	Event  string
}

func (h *Handler) showActions(w http.ResponseWriter, p *pageData, status int, event string) {
	p.Active, p.Page = "actions", actionsPage{Robots: h.b.Robots(), Event: event}
	h.render(w, status, "actions", p)
}

func (h *Handler) actions(w http.ResponseWriter, r *http.Request, p *pageData) {
	h.showActions(w, p, http.StatusOK, r.URL.Query().Get("event"))
}

func (h *Handler) reload(w http.ResponseWriter, r *http.Request, p *pageData) {
	res := h.b.Reload(r.Context())
	p.Flash = &res
	h.showActions(w, p, http.StatusOK, "")
}

func (h *Handler) replay(w http.ResponseWriter, r *http.Request, p *pageData) {
	ev := strings.TrimSpace(r.PostForm.Get("event"))
	if ev == "" || len(ev) > 256 {
		p.Flash = &Result{Message: p.T("bad.request")}
		h.showActions(w, p, http.StatusBadRequest, ev)
		return
	}
	res := h.b.Replay(r.Context(), ev)
	p.Flash = &res
	h.showActions(w, p, http.StatusOK, ev)
}

func (h *Handler) test(w http.ResponseWriter, r *http.Request, p *pageData) {
	robot := r.PostForm.Get("robot")
	if robot == "" {
		p.Flash = &Result{Message: p.T("bad.request")}
		h.showActions(w, p, http.StatusBadRequest, "")
		return
	}
	res := h.b.TestMessage(r.Context(), robot)
	p.Flash = &res
	h.showActions(w, p, http.StatusOK, "")
}

// previewPage is the preview page's data.
type previewPage struct {
	Choices                  PreviewChoices
	Template, Kind, Language string
	Message                  Message
	Err                      string
}

func (h *Handler) preview(w http.ResponseWriter, r *http.Request, p *pageData) {
	c := h.b.PreviewChoices()
	q := r.URL.Query()
	pp := previewPage{Choices: c, Template: or(q.Get("template"), c.DefaultTemplate), Kind: or(q.Get("kind"), c.DefaultKind),
		Language: or(q.Get("language"), c.DefaultLanguage)}
	msg, err := h.b.Preview(pp.Template, pp.Kind, pp.Language)
	status := http.StatusOK
	if err != nil {
		pp.Err, status = err.Error(), http.StatusBadRequest
	}
	pp.Message = msg
	p.Active, p.Page = "preview", pp
	h.render(w, status, "preview", p)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Errorf formats a Result that failed.
func Errorf(format string, args ...any) Result {
	return Result{Message: fmt.Sprintf(format, args...)}
}
