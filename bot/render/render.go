// Package render turns a canonical bankhooks.Event into a DingTalk markdown
// message with Go text/template.
//
// Templates come in sets. A set is one file per language named
// <set>.<lang>.tmpl, which {{define}}s one block per canonical kind
// ("payment.succeeded", …, "other"); blocks whose name has no "." are helpers.
// The built-in sets are embedded from package templates; Options.Extra adds
// sets or replaces built-in files. A set may leave kinds out: Render falls
// back through the "default" set and English (see Engine.Render).
//
// New parses every file and then renders every set × language × kind against
// built-in fixture events (empty optional fields, the largest and smallest
// int64 amount, JPY and KWD amounts, very long provider strings, test mode),
// so a template that would fail at send time is refused when the config is
// loaded or reloaded. An Engine is immutable and safe for concurrent use.
//
// Templates see Data (.EventID, .Source, .Event.*) plus .Lang, and these
// functions: amount, money, mask, time, md, reason, upper, lower, default (documented
// on funcMap). Every provider-supplied string in the shipped templates goes
// through md, which escapes it, masks card numbers, IBANs and long digit
// runs, and defangs URLs (EscapeMarkdown); Fallback and Digest use the same
// function.
//
// When a template fails at send time anyway, the caller sends Fallback, which
// cannot fail: an alert is never dropped for a template problem.
package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/templates"
)

// DefaultSet is the set every lookup falls back to. It must exist in English
// with an "other" block.
const DefaultSet = "default"

// MaxTextBytes is the largest rendered text Render accepts. It leaves room in
// DingTalk's 20000-byte request body (and the app robot's 15000-byte
// msgParam) for the JSON envelope, its escaping, a title and @-mentions.
const MaxTextBytes = 10000

// Sentinel errors; match them with errors.Is.
var (
	// ErrUnknownSet: Render was asked for a set that no file defines.
	ErrUnknownSet = errors.New("unknown template set")
	// ErrUnknownLanguage: the language is not one of Languages.
	ErrUnknownLanguage = errors.New("unknown language")
	// ErrUnknownCurrency: an amount's currency is not an ISO 4217 code with
	// minor units, so it cannot be formatted exactly.
	ErrUnknownCurrency = errors.New("unknown currency")
	// ErrBadTemplate: a template file is misnamed, fails to parse, or breaks
	// the rules of a set (New only).
	ErrBadTemplate = errors.New("bad template")
	// ErrEmptyOutput: a block rendered nothing but white space.
	ErrEmptyOutput = errors.New("template rendered empty text")
	// ErrNoTitle: the first non-empty line is not a "#" heading with text.
	ErrNoTitle = errors.New("first line is not a markdown heading")
	// ErrTooLarge: the rendered text is over MaxTextBytes.
	ErrTooLarge = errors.New("rendered text too large")
)

// TemplateError names the template that failed and the input it failed on.
// Err wraps one of the sentinels above or the text/template error.
type TemplateError struct {
	File    string // e.g. "extra:payment.th.tmpl" or "embedded:default.en.tmpl"
	Set     string // the set asked for
	Lang    string // the language asked for
	Kind    string // the kind asked for; the block run may be a fallback
	Block   string // the block that ran, "" when none did
	Fixture string // the validation fixture, "" at send time
	Err     error
}

// Error describes the failure on one line.
func (e *TemplateError) Error() string {
	var b strings.Builder
	b.WriteString("template")
	if e.File != "" {
		b.WriteString(" " + e.File)
	}
	var where []string
	for _, kv := range [][2]string{{"set", e.Set}, {"lang", e.Lang}, {"kind", e.Kind}, {"block", e.Block}, {"fixture", e.Fixture}} {
		if kv[1] != "" {
			where = append(where, kv[0]+" "+kv[1])
		}
	}
	if len(where) > 0 {
		b.WriteString(" (" + strings.Join(where, ", ") + ")")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *TemplateError) Unwrap() error { return e.Err }

// Options configure an Engine.
type Options struct {
	// Location is the time zone of times in messages; nil means UTC.
	Location *time.Location
	// Extra is an optional directory of admin template files named like the
	// built-in ones (<set>.<lang>.tmpl, top level only; other files are
	// ignored). A file here replaces the built-in file of the same set and
	// language, or adds a set or language.
	Extra fs.FS
}

// Data is the input of a message. Templates see its fields plus .Lang.
type Data struct {
	// EventID is bankbot's own id of the stored event, shown on the last line
	// ("ref: <id>") so people can spot a duplicate delivery.
	EventID string
	// Source is the configured source name (the {source} of /hooks/{source}).
	Source string
	// Event is the canonical event.
	Event bankhooks.Event
}

// view is what a template executes on: Data's fields plus the language.
type view struct {
	Data
	Lang string
}

// Rendered is a message ready for a DingTalk markdown send.
type Rendered struct {
	// Title is the first line without its leading "#"s: the text DingTalk
	// shows in the chat list and notifications.
	Title string
	// Text is the markdown body, title heading included.
	Text string
}

// Engine renders messages with parsed, validated template sets.
type Engine struct {
	loc   *time.Location
	files map[setLang]*file
	sets  []string
}

// setLang keys a template file.
type setLang struct{ set, lang string }

// file is one parsed <set>.<lang>.tmpl.
type file struct {
	name   string // origin-qualified, for errors
	tmpl   *template.Template
	blocks map[string]bool // the canonical kinds it defines
}

// fileName matches <set>.<lang>.tmpl.
var fileName = regexp.MustCompile(`^([a-z][a-z0-9_-]{0,63})\.([a-z]{2})\.tmpl$`)

// New parses the built-in sets and opts.Extra and validates every set ×
// language × kind against the built-in fixtures. It returns every problem it
// found, joined; each is a *TemplateError naming the file, set, language,
// kind and fixture, and wraps ErrBadTemplate or the render failure.
func New(opts Options) (*Engine, error) {
	e := &Engine{loc: opts.Location, files: map[setLang]*file{}}
	if e.loc == nil {
		e.loc = time.UTC
	}
	funcs := e.funcMap()
	var errs []error
	errs = append(errs, e.load("embedded", templates.FS(), funcs)...)
	if opts.Extra != nil {
		errs = append(errs, e.load("extra", opts.Extra, funcs)...)
	}
	if def := e.files[setLang{DefaultSet, "en"}]; def == nil || !def.blocks[string(bankhooks.KindOther)] {
		name := DefaultSet + ".en.tmpl"
		if def != nil {
			name = def.name
		}
		errs = append(errs, &TemplateError{File: name, Set: DefaultSet, Lang: "en",
			Err: fmt.Errorf("%w: the default set must have an English file with an %q block", ErrBadTemplate, bankhooks.KindOther)})
		return nil, errors.Join(errs...)
	}
	for k := range e.files {
		if !slices.Contains(e.sets, k.set) {
			e.sets = append(e.sets, k.set)
		}
	}
	slices.Sort(e.sets)
	// Validate what did parse even when some file did not, so one run
	// reports every problem.
	if err := e.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// load parses every <set>.<lang>.tmpl at the top of fsys; a file replaces an
// earlier one of the same set and language.
func (e *Engine) load(origin string, fsys fs.FS, funcs template.FuncMap) []error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return []error{&TemplateError{File: origin, Err: fmt.Errorf("%w: read directory: %w", ErrBadTemplate, err)}}
	}
	var errs []error
	for _, ent := range entries {
		if ent.IsDir() || path.Ext(ent.Name()) != ".tmpl" {
			continue
		}
		name := origin + ":" + ent.Name()
		m := fileName.FindStringSubmatch(ent.Name())
		if m == nil || !ValidLanguage(m[2]) {
			errs = append(errs, &TemplateError{File: name, Err: fmt.Errorf(
				"%w: file name must be <set>.<lang>.tmpl with a set of [a-z0-9_-] and a language of %s",
				ErrBadTemplate, strings.Join(Languages(), ", "))})
			continue
		}
		f, err := parseFile(fsys, ent.Name(), name, funcs)
		if err != nil {
			errs = append(errs, &TemplateError{File: name, Set: m[1], Lang: m[2], Err: err})
			continue
		}
		e.files[setLang{m[1], m[2]}] = f
	}
	return errs
}

// parseFile parses one template file and records which kinds it defines.
func parseFile(fsys fs.FS, fsName, name string, funcs template.FuncMap) (*file, error) {
	src, err := fs.ReadFile(fsys, fsName)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTemplate, err)
	}
	t, err := template.New(fsName).Option("missingkey=error").Funcs(funcs).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTemplate, err)
	}
	f := &file{name: name, tmpl: t, blocks: map[string]bool{}}
	for _, d := range t.Templates() {
		if d.Tree != nil && hasRange(d.Tree.Root) {
			// An event has nothing to loop over, and {{range .Event.Amount}}
			// would spin for ages on a large amount, validation included.
			return nil, fmt.Errorf("%w: block %q uses range, which message templates do not support", ErrBadTemplate, d.Name())
		}
		switch n := d.Name(); {
		case n == fsName:
		case bankhooks.Kind(n).Valid():
			f.blocks[n] = true
		case strings.Contains(n, "."):
			return nil, fmt.Errorf("%w: block %q is not a canonical kind (%s); helper names must not contain \".\"",
				ErrBadTemplate, n, kindList())
		}
	}
	if len(f.blocks) == 0 {
		return nil, fmt.Errorf("%w: no block for any canonical kind (%s)", ErrBadTemplate, kindList())
	}
	return f, nil
}

// hasRange reports whether the parse tree under n has a range action.
func hasRange(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.RangeNode:
		return true
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if hasRange(c) {
				return true
			}
		}
	case *parse.IfNode:
		return hasRange(n.List) || hasRange(n.ElseList)
	case *parse.WithNode:
		return hasRange(n.List) || hasRange(n.ElseList)
	}
	return false
}

// kindList is the canonical kinds, comma-separated.
func kindList() string {
	s := make([]string, len(bankhooks.Kinds()))
	for i, k := range bankhooks.Kinds() {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Sets returns the names of every template set, sorted.
func (e *Engine) Sets() []string { return slices.Clone(e.sets) }

// Has reports whether set exists (config validation: a route's template must).
func (e *Engine) Has(set string) bool {
	_, ok := slices.BinarySearch(e.sets, set)
	return ok
}

// Render renders d in set and lang. The block is looked up in this order,
// the first that exists winning:
//
//	(set, lang, kind) → (default, lang, kind) → (set, en, kind) →
//	(default, en, kind) → (default, lang, other) → (default, en, other)
//
// An unknown set wraps ErrUnknownSet and an unsupported lang
// ErrUnknownLanguage. A template failure is a *TemplateError; the caller
// should then send Fallback(d, loc) instead of dropping the alert.
func (e *Engine) Render(set, lang string, d Data) (Rendered, error) {
	if !e.Has(set) {
		return Rendered{}, fmt.Errorf("render: %w: %s", ErrUnknownSet, quote(set))
	}
	if !ValidLanguage(lang) {
		return Rendered{}, fmt.Errorf("render: %w: %s", ErrUnknownLanguage, quote(lang))
	}
	kind := string(d.Event.Kind)
	f, block := e.resolve(set, lang, kind)
	if f == nil { // New guarantees (default, en, other); kept for safety.
		return Rendered{}, &TemplateError{Set: set, Lang: lang, Kind: kind, Err: fmt.Errorf("%w: no block found", ErrBadTemplate)}
	}
	r, err := e.exec(f, block, view{Data: d, Lang: lang})
	if err != nil {
		return Rendered{}, &TemplateError{File: f.name, Set: set, Lang: lang, Kind: quoteKind(kind), Block: block, Err: err}
	}
	return r, nil
}

// quoteKind shows a kind in an error: canonical kinds as they are, anything
// else quoted and cut.
func quoteKind(k string) string {
	if bankhooks.Kind(k).Valid() {
		return k
	}
	return quote(k)
}

// resolve finds the file and block for (set, lang, kind) by Render's order.
func (e *Engine) resolve(set, lang, kind string) (*file, string) {
	other := string(bankhooks.KindOther)
	for _, c := range [...]struct{ set, lang, block string }{
		{set, lang, kind},
		{DefaultSet, lang, kind},
		{set, "en", kind},
		{DefaultSet, "en", kind},
		{DefaultSet, lang, other},
		{DefaultSet, "en", other},
	} {
		if f := e.files[setLang{c.set, c.lang}]; f != nil && f.blocks[c.block] {
			return f, c.block
		}
	}
	return nil, ""
}

// exec runs one block and checks the result: not empty, a "#" heading with
// text first, at most MaxTextBytes.
func (e *Engine) exec(f *file, block string, v view) (Rendered, error) {
	w := &limitWriter{max: MaxTextBytes + 1}
	if err := f.tmpl.ExecuteTemplate(w, block, v); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return Rendered{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, MaxTextBytes)
		}
		return Rendered{}, err
	}
	text := normalize(w.buf.String())
	if text == "" {
		return Rendered{}, ErrEmptyOutput
	}
	if len(text) > MaxTextBytes {
		return Rendered{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(text), MaxTextBytes)
	}
	first, _, _ := strings.Cut(text, "\n")
	title := strings.TrimSpace(strings.TrimLeft(first, "# \t"))
	if !strings.HasPrefix(first, "#") || title == "" {
		return Rendered{}, ErrNoTitle
	}
	return Rendered{Title: title, Text: text}, nil
}

// normalize turns CRLF into LF, makes white-space-only lines empty, collapses
// runs of empty lines into one and trims the text, so optional lines in a
// template do not leave gaps.
func normalize(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	out := make([]string, 0, strings.Count(s, "\n")+1)
	blank := true // also drops leading empty lines
	for line := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(line) == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, line)
		blank = false
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// limitWriter is a bytes.Buffer that fails once more than max bytes are
// written, which stops a runaway template early.
type limitWriter struct {
	buf bytes.Buffer
	max int
}

// Write appends p, or fails with ErrTooLarge when that would pass max.
func (w *limitWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		return 0, ErrTooLarge
	}
	return w.buf.Write(p)
}
