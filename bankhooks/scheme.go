package bankhooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Scheme is a declarative webhook signing scheme: where the signature is,
// how it is written, what is signed and with which algorithm and key. Its
// exported fields mirror the `signature:` block of a `provider: generic`
// source (the YAML key is the field name in snake case); the built-in
// providers are Schemes too (see omise.go, stripe.go, standardwebhooks.go
// and presets.go).
//
// A Scheme is compiled once by NewVerifier; nothing is parsed per request.
type Scheme struct {
	// Header is the request header holding the signature. Exactly one of
	// Header and BodyField is given (neither for algorithm none).
	Header string
	// BodyField is the JSON path of the signature inside a JSON body
	// (Midtrans signature_key): a simple dotted path of letters, digits, _
	// and -, such as signature_key or additionalData.hmacSignature.
	BodyField string
	// Format is how the signature value is written:
	//   - plain: the value is one signature (each header line is one);
	//   - comma-list: signatures separated by commas (Opn during rotation);
	//   - space-list: "ver,sig" items separated by spaces; only items whose
	//     ver is Version (default v1) are used (Standard Webhooks);
	//   - kv: "t=…,v1=…[,v1=…]" pairs; TimestampKey (default t) is the
	//     timestamp, Version (default v1) the signature key (Stripe).
	// Default plain.
	Format string
	// Prefix is stripped from each signature before it is decoded
	// ("sha256=" of GitHub-style headers); compared case-insensitively. A
	// signature without the prefix is not used.
	Prefix string
	// Algorithm is one of hmac-sha256, hmac-sha512 (HMAC of the signed
	// string keyed with the secret), sha256-digest, sha512-digest (a plain
	// digest of the signed string; the secret enters through {secret} in
	// Signed), static-token (the signature value equals the secret,
	// compared in constant time) or none (nothing is verified; bankbot's
	// config requires allow_ips with it). Required.
	Algorithm string
	// KeyEncoding is how a configured secret becomes key bytes: raw (the
	// text as is; the default), base64 (standard, padded), hex, or whsec
	// (strip "whsec_", then base64).
	KeyEncoding string
	// Encoding is how the signature bytes are written: hex (either case;
	// the default), base64 (standard; padding optional) or base64url.
	Encoding string
	// Signed is the template of the signed string: literal text with the
	// placeholders {body} (raw body), {timestamp} (the timestamp as sent),
	// {id} (IDHeader's value), {header:Name} (that header's first value),
	// {json:path} (the value at a simple dotted path of a JSON body:
	// strings unquoted, numbers as written, absent as empty) and {secret}
	// (the key, for the digest algorithms only). Default {body}.
	Signed string
	// TimestampHeader is the header holding the signed timestamp; with
	// format kv the timestamp may come from the signature header instead.
	TimestampHeader string
	// TimestampUnit is s (unix seconds; the default) or ms.
	TimestampUnit string
	// IDHeader is the header holding a message id ({id}); for a generic
	// source it is also the event id when the body has none.
	IDHeader string
	// Version is the version tag of space-list items and the signature key
	// of kv pairs; default v1.
	Version string
	// TimestampKey is the timestamp key of kv pairs; default t.
	TimestampKey string

	// The fields below tune a built-in preset; a configured scheme leaves
	// them zero.

	// name prefixes Sign and DecodeKey errors; default "generic".
	name string
	// compat makes the verifier accept exactly what the reference library
	// of the scheme accepts (stripe-go, standard-webhooks): only the first
	// header line is read; kv pairs split on every '='; signatures of any
	// length are kept; undecodable signatures count as absent; base64 is
	// decoded strictly; the timestamp is parsed with strconv.ParseInt and
	// signed in its canonical decimal form.
	compat bool
	// contentType is the Content-Type Sign sets; default application/json.
	contentType string
}

// FieldProblem is one problem of a Scheme or Mapping, at a key path relative
// to the source, such as "signature.format" or "event.kind.map.success".
type FieldProblem struct {
	Field   string
	Message string
}

func (p FieldProblem) String() string { return p.Field + ": " + p.Message }

// SchemeError lists every problem NewVerifier or NewGeneric found.
type SchemeError struct {
	Problems []FieldProblem
}

func (e *SchemeError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (e *SchemeError) add(field, format string, args ...any) {
	e.Problems = append(e.Problems, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (e *SchemeError) err() error {
	if e == nil || len(e.Problems) == 0 {
		return nil
	}
	return e
}

// The values of Scheme's enumerated fields.
var (
	schemeFormats      = []string{"plain", "comma-list", "space-list", "kv"}
	schemeAlgorithms   = []string{"hmac-sha256", "hmac-sha512", "sha256-digest", "sha512-digest", "static-token", "none"}
	schemeKeyEncodings = []string{"raw", "base64", "hex", "whsec"}
	schemeEncodings    = []string{"hex", "base64", "base64url"}
	schemeUnits        = []string{"s", "ms"}
)

type sigFormat uint8

const (
	fmtPlain sigFormat = iota
	fmtComma
	fmtSpace
	fmtKV
)

type algKind uint8

const (
	algHMAC algKind = iota
	algDigest
	algStatic
	algNone
)

type segKind uint8

const (
	segLit segKind = iota
	segBody
	segTimestamp
	segID
	segHeader
	segJSON
	segSecret
)

// segment is one piece of a compiled Signed template.
type segment struct {
	kind segKind
	lit  []byte // segLit
	arg  string // segHeader: canonical header name; segJSON: path
	slot int    // segHeader, segJSON: index into the per-request values
}

// Verifier is a compiled Scheme. It is immutable and safe for concurrent
// use.
type Verifier struct {
	name        string
	alg         algKind
	newHash     func() hash.Hash
	sigLen      int // bytes of a signature; 0 for static-token and none
	format      sigFormat
	prefix      string
	keyEnc      string
	enc         string
	header      string // canonical signature header, or ""
	bodyField   string // gjson path, or ""
	bodyPath    []string
	tsHeader    string
	tsMS        bool
	idHeader    string
	version     string
	tsKey       string
	segs        []segment
	headerSlots []string // canonical names, per segHeader slot
	jsonSlots   []string // paths, per segJSON slot
	usesTS      bool
	usesID      bool
	compat      bool
	contentType string
}

// NewVerifier compiles s, checking it once. Every inconsistency is reported,
// all at once, as a *SchemeError whose fields are named relative to the
// source ("signature.algorithm").
func NewVerifier(s Scheme) (*Verifier, error) {
	var e SchemeError
	v := compileScheme(s, &e)
	if err := e.err(); err != nil {
		return nil, err
	}
	return v, nil
}

// mustVerifier compiles a built-in preset; a bad preset is a programming
// error caught by every test run.
func mustVerifier(s Scheme) *Verifier {
	v, err := NewVerifier(s)
	if err != nil {
		panic("bankhooks: bad preset " + s.name + ": " + err.Error())
	}
	return v
}

func oneOf(vals []string) string { return strings.Join(vals, ", ") }

func indexOf(vals []string, s string) int {
	for i, v := range vals {
		if v == s {
			return i
		}
	}
	return -1
}

// compileScheme checks and compiles s, adding its problems to e.
func compileScheme(s Scheme, e *SchemeError) *Verifier {
	const f = "signature."
	v := &Verifier{
		name: firstNonEmpty(s.name, "generic"), compat: s.compat,
		contentType: firstNonEmpty(s.contentType, "application/json"),
		prefix:      s.Prefix,
		version:     firstNonEmpty(s.Version, "v1"),
		tsKey:       firstNonEmpty(s.TimestampKey, "t"),
	}

	switch s.Algorithm {
	case "":
		e.add(f+"algorithm", "required (one of %s)", oneOf(schemeAlgorithms))
		v.alg = algNone
	case "hmac-sha256":
		v.alg, v.newHash, v.sigLen = algHMAC, sha256.New, sha256.Size
	case "hmac-sha512":
		v.alg, v.newHash, v.sigLen = algHMAC, sha512.New, sha512.Size
	case "sha256-digest":
		v.alg, v.newHash, v.sigLen = algDigest, sha256.New, sha256.Size
	case "sha512-digest":
		v.alg, v.newHash, v.sigLen = algDigest, sha512.New, sha512.Size
	case "static-token":
		v.alg = algStatic
	case "none":
		v.alg = algNone
	default:
		e.add(f+"algorithm", "unknown %q (one of %s)", s.Algorithm, oneOf(schemeAlgorithms))
		v.alg = algNone
	}
	known := s.Algorithm != "" && indexOf(schemeAlgorithms, s.Algorithm) >= 0

	if v.alg == algNone && known {
		// Nothing is verified: every other signature key is a mistake.
		for _, kv := range []struct{ key, val string }{
			{"header", s.Header}, {"body_field", s.BodyField}, {"format", s.Format}, {"prefix", s.Prefix},
			{"key_encoding", s.KeyEncoding}, {"encoding", s.Encoding}, {"signed", s.Signed},
			{"timestamp_header", s.TimestampHeader}, {"timestamp_unit", s.TimestampUnit},
			{"version", s.Version}, {"timestamp_key", s.TimestampKey},
		} {
			if kv.val != "" {
				e.add(f+kv.key, "not used with algorithm none (nothing is verified)")
			}
		}
		v.idHeader = compileHeaderName(e, f+"id_header", s.IDHeader)
		return v
	}

	// The prefix and the list tags are written into a header or a JSON
	// string: only printable ASCII survives both unchanged.
	for _, kv := range []struct{ key, val string }{{"prefix", s.Prefix}, {"version", s.Version}, {"timestamp_key", s.TimestampKey}} {
		for i := 0; i < len(kv.val); i++ {
			if c := kv.val[i]; c < 0x20 || c > 0x7e {
				e.add(f+kv.key, "%q: use printable ASCII characters only (no control or non-ASCII characters)", kv.val)
				break
			}
		}
	}

	// Where the signature is.
	switch {
	case s.Header == "" && s.BodyField == "":
		e.add(f+"header", "give header (the request header holding the signature) or body_field (its JSON path in the body)")
	case s.Header != "" && s.BodyField != "":
		e.add(f+"body_field", "give header or body_field, not both")
	case s.Header != "":
		v.header = compileHeaderName(e, f+"header", s.Header)
	default:
		if simplePath(s.BodyField) {
			v.bodyField = s.BodyField
			v.bodyPath = strings.Split(s.BodyField, ".")
		} else {
			e.add(f+"body_field", "%q is not a simple dotted JSON path (letters, digits, _ and - separated by dots, e.g. signature_key or additionalData.hmacSignature)", s.BodyField)
		}
	}

	switch s.Format {
	case "", "plain":
		v.format = fmtPlain
	case "comma-list":
		v.format = fmtComma
	case "space-list":
		v.format = fmtSpace
	case "kv":
		v.format = fmtKV
	default:
		e.add(f+"format", "unknown %q (one of %s)", s.Format, oneOf(schemeFormats))
	}
	if s.Version != "" && v.format != fmtSpace && v.format != fmtKV {
		e.add(f+"version", "only for format space-list or kv")
	}
	if s.TimestampKey != "" && v.format != fmtKV {
		e.add(f+"timestamp_key", "only for format kv")
	}
	for _, kv := range []struct{ key, val string }{{"version", v.version}, {"timestamp_key", v.tsKey}} {
		if strings.ContainsAny(kv.val, ",= \t") {
			e.add(f+kv.key, "%q must not contain commas, '=' or spaces", kv.val)
		}
	}
	if v.format == fmtKV && v.version == v.tsKey {
		e.add(f+"version", "the signature key and the timestamp key are both %q", v.version)
	}

	v.keyEnc = s.KeyEncoding
	if v.keyEnc == "" {
		v.keyEnc = "raw"
	} else if indexOf(schemeKeyEncodings, v.keyEnc) < 0 {
		e.add(f+"key_encoding", "unknown %q (one of %s)", s.KeyEncoding, oneOf(schemeKeyEncodings))
	}
	v.enc = s.Encoding
	if v.enc == "" {
		v.enc = "hex"
	} else if indexOf(schemeEncodings, v.enc) < 0 {
		e.add(f+"encoding", "unknown %q (one of %s)", s.Encoding, oneOf(schemeEncodings))
	}

	switch s.TimestampUnit {
	case "", "s":
	case "ms":
		v.tsMS = true
	default:
		e.add(f+"timestamp_unit", "unknown %q (one of %s)", s.TimestampUnit, oneOf(schemeUnits))
	}
	v.tsHeader = compileHeaderName(e, f+"timestamp_header", s.TimestampHeader)
	v.idHeader = compileHeaderName(e, f+"id_header", s.IDHeader)
	// Each header holds one thing: a header named twice would carry the
	// signature and the timestamp (or the id) in one value.
	switch {
	case v.tsHeader != "" && v.tsHeader == v.header:
		e.add(f+"timestamp_header", "%q is also the signature header: the timestamp needs a header of its own (or format kv)", s.TimestampHeader)
	case v.idHeader != "" && v.idHeader == v.header:
		e.add(f+"id_header", "%q is also the signature header: the id needs a header of its own", s.IDHeader)
	case v.idHeader != "" && v.idHeader == v.tsHeader:
		e.add(f+"id_header", "%q is also the timestamp header: the id needs a header of its own", s.IDHeader)
	}

	if v.alg == algStatic {
		if s.Signed != "" {
			e.add(f+"signed", "not used with static-token: the header holds the secret itself")
		}
		if s.TimestampHeader != "" || s.TimestampUnit != "" {
			e.add(f+"timestamp_header", "not used with static-token: a static token signs no timestamp")
		}
		if s.Encoding != "" {
			e.add(f+"encoding", "not used with static-token: the header holds the secret as written")
		}
		if v.keyEnc != "raw" {
			e.add(f+"key_encoding", "static-token compares the header with the secret as written: use raw")
		}
		if v.format != fmtPlain && v.format != fmtComma {
			e.add(f+"format", "static-token takes format plain or comma-list")
		}
		return v
	}

	// The signed-string template.
	tmpl := s.Signed
	if tmpl == "" && v.alg == algHMAC {
		tmpl = "{body}"
	}
	if tmpl == "" {
		e.add(f+"signed", "required for %s: the template of the digested string, with {secret} where the secret goes", s.Algorithm)
	}
	v.compileTemplate(e, tmpl)
	hasSecret, hasBody := false, false
	for _, sg := range v.segs {
		switch sg.kind {
		case segSecret:
			hasSecret = true
		case segBody:
			hasBody = true
		}
	}
	switch {
	case v.alg == algHMAC && hasSecret:
		e.add(f+"signed", "{secret} is only for the digest algorithms; %s keys the MAC with the secret", s.Algorithm)
	case v.alg == algDigest && !hasSecret && tmpl != "":
		e.add(f+"signed", "%s needs {secret} in the template: a digest without the secret proves nothing", s.Algorithm)
	}
	if hasBody && v.bodyField != "" {
		e.add(f+"signed", "{body} cannot be signed when the signature is inside the body (body_field); sign the fields with {json:path}")
	}
	if v.usesTS && v.tsHeader == "" && v.format != fmtKV {
		e.add(f+"signed", "{timestamp} used but no timestamp_header and format is not kv")
	}
	if !v.usesTS && s.TimestampHeader != "" {
		e.add(f+"timestamp_header", "set but {timestamp} is not in signed: the timestamp would not be authenticated")
	}
	if !v.usesTS && s.TimestampUnit != "" {
		e.add(f+"timestamp_unit", "set but the scheme signs no timestamp")
	}
	if v.usesID && v.idHeader == "" {
		e.add(f+"signed", "{id} used but no id_header")
	}
	return v
}

// compileHeaderName checks a header name and returns its canonical form.
func compileHeaderName(e *SchemeError, field, name string) string {
	if name == "" {
		return ""
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			e.add(field, "%q is not a valid HTTP header name", name)
			return ""
		}
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// simplePath reports whether p is dot-separated segments of letters,
// digits, _ and -, so that gjson reads it literally.
func simplePath(p string) bool {
	if p == "" {
		return false
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// compileTemplate parses tmpl into v.segs.
func (v *Verifier) compileTemplate(e *SchemeError, tmpl string) {
	const field = "signature.signed"
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			v.segs = append(v.segs, segment{kind: segLit, lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c == '}' {
			e.add(field, "unmatched '}' at offset %d", i)
			return
		}
		if c != '{' {
			lit = append(lit, c)
			i++
			continue
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			e.add(field, "unclosed '{' at offset %d", i)
			return
		}
		ph := tmpl[i+1 : i+end]
		i += end + 1
		flush()
		name, arg, hasArg := strings.Cut(ph, ":")
		switch {
		case ph == "body":
			v.segs = append(v.segs, segment{kind: segBody})
		case ph == "timestamp":
			v.segs = append(v.segs, segment{kind: segTimestamp})
			v.usesTS = true
		case ph == "id":
			v.segs = append(v.segs, segment{kind: segID})
			v.usesID = true
		case ph == "secret":
			v.segs = append(v.segs, segment{kind: segSecret})
		case hasArg && name == "header":
			h := compileHeaderName(e, field, arg)
			if arg == "" {
				e.add(field, "{header:} needs a header name, e.g. {header:X-Request-Time}")
			}
			if h == "" {
				continue
			}
			switch h {
			case v.header:
				e.add(field, "{header:%s} is the signature header itself: a signature cannot sign itself", arg)
				continue
			case v.tsHeader:
				e.add(field, "{header:%s} is the timestamp header: write {timestamp} (it is checked against max_skew)", arg)
				continue
			}
			v.segs = append(v.segs, segment{kind: segHeader, arg: h, slot: len(v.headerSlots)})
			v.headerSlots = append(v.headerSlots, h)
		case hasArg && name == "json":
			if !simplePath(arg) {
				e.add(field, "{json:%s}: not a simple dotted JSON path (letters, digits, _ and - separated by dots)", arg)
				continue
			}
			if v.bodyField != "" && (arg == v.bodyField || strings.HasPrefix(v.bodyField, arg+".") || strings.HasPrefix(arg, v.bodyField+".")) {
				e.add(field, "{json:%s} holds the signature (body_field %s): a signature cannot sign itself", arg, v.bodyField)
				continue
			}
			v.segs = append(v.segs, segment{kind: segJSON, arg: arg, slot: len(v.jsonSlots)})
			v.jsonSlots = append(v.jsonSlots, arg)
		default:
			e.add(field, "unknown placeholder {%s} (one of {body}, {timestamp}, {id}, {header:Name}, {json:path}, {secret})", ph)
		}
	}
	flush()
}

// Name is the scheme's name in errors ("generic" for a configured scheme).
func (v *Verifier) Name() string { return v.name }

// DecodeKey turns a configured secret into key material by KeyEncoding.
// Surrounding white space is ignored; an empty result is refused. Errors
// never quote the secret.
func (v *Verifier) DecodeKey(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	if s == "" {
		return nil, fmt.Errorf("%s: %w", v.name, errEmptySecret)
	}
	var k []byte
	var err error
	switch v.keyEnc {
	case "base64":
		k, err = base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s: secret is not standard base64 (key_encoding: base64)", v.name)
		}
	case "hex":
		k, err = hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s: secret is not hex (key_encoding: hex)", v.name)
		}
	case "whsec":
		k, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			return nil, fmt.Errorf("%s: secret is not whsec_ followed by standard base64 (key_encoding: whsec)", v.name)
		}
	default:
		k = []byte(s)
	}
	if len(k) == 0 {
		return nil, fmt.Errorf("%s: secret decodes to zero bytes", v.name)
	}
	return k, nil
}

// reqValues are the parts of one request the template reads, converted once
// per request (not once per key).
type reqValues struct {
	body    []byte
	ts      []byte
	id      []byte
	headers [][]byte
	json    [][]byte
}

// write feeds the signed string to h, segment by segment (no concatenation).
func (v *Verifier) write(h hash.Hash, rv *reqValues, key []byte) {
	for i := range v.segs {
		sg := &v.segs[i]
		switch sg.kind {
		case segLit:
			h.Write(sg.lit)
		case segBody:
			h.Write(rv.body)
		case segTimestamp:
			h.Write(rv.ts)
		case segID:
			h.Write(rv.id)
		case segHeader:
			h.Write(rv.headers[sg.slot])
		case segJSON:
			h.Write(rv.json[sg.slot])
		case segSecret:
			h.Write(key)
		}
	}
}

// sum returns the signature bytes for one key.
func (v *Verifier) sum(rv *reqValues, key []byte) []byte {
	var h hash.Hash
	if v.alg == algHMAC {
		h = hmac.New(v.newHash, key)
	} else {
		h = v.newHash()
	}
	v.write(h, rv, key)
	return h.Sum(nil)
}

// findHeader returns every value of a header whose canonical name is canon,
// falling back to a case-insensitive scan for hand-built maps.
func findHeader(h http.Header, canon string) []string {
	if vs, ok := h[canon]; ok {
		return vs
	}
	for k, vs := range h {
		if strings.EqualFold(k, canon) {
			return vs
		}
	}
	return nil
}

func firstHeader(h http.Header, canon string) string {
	if vs := findHeader(h, canon); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// where names the signature's location in errors.
func (v *Verifier) where() string {
	if v.bodyField != "" {
		return "body field " + v.bodyField
	}
	return v.header + " header"
}

// Verify checks r against every active key. It fails closed: a missing or
// unparsable signature, a missing timestamp or one outside the window, no
// usable key are errors wrapping the package's sentinels. Algorithm none
// verifies nothing and returns a zero Verification.
func (v *Verifier) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	if v.alg == algNone {
		return Verification{}, nil
	}
	// The signature text.
	var raw []string
	var one [1]string
	if v.bodyField != "" {
		if !gjson.ValidBytes(r.Body) {
			return Verification{}, fmt.Errorf("%w: the body is not JSON, so %s cannot be read", ErrMalformedSignature, v.where())
		}
		res, err := uniqueJSON(r.Body, v.bodyField)
		if err != nil {
			return Verification{}, err
		}
		switch {
		case !res.Exists() || res.Type == gjson.Null:
		case res.Type != gjson.String:
			return Verification{}, fmt.Errorf("%w: %s is not a string", ErrMalformedSignature, v.where())
		default:
			one[0] = res.Str
			raw = one[:]
		}
	} else {
		raw = findHeader(r.Header, v.header)
		if v.compat && len(raw) > 1 {
			raw = raw[:1]
		}
		if v.alg == algStatic && len(raw) > 1 {
			// Two tokens are not a rotation, they are a request someone built.
			return Verification{}, fmt.Errorf("%w: %s sent %d times", ErrMalformedSignature, v.where(), len(raw))
		}
	}
	sigs, kvTS, err := v.parseSignatures(raw)
	if err != nil {
		return Verification{}, err
	}

	rv := reqValues{body: r.Body}
	if v.usesID {
		id := firstHeader(r.Header, v.idHeader)
		if id == "" {
			return Verification{}, fmt.Errorf("%w: %s header is absent or empty", ErrMalformedSignature, v.idHeader)
		}
		rv.id = []byte(id)
	}
	var ts time.Time
	if v.usesTS {
		var tsText string
		if v.tsHeader != "" {
			tsText = firstHeader(r.Header, v.tsHeader)
			if !v.compat {
				tsText = strings.TrimSpace(tsText)
			}
		} else {
			tsText = kvTS
		}
		where := v.tsHeader + " header"
		if v.tsHeader == "" {
			where = v.header + " " + v.tsKey
		}
		if tsText == "" {
			return Verification{}, fmt.Errorf("%w: %s is absent or empty", ErrMissingTimestamp, where)
		}
		n, signed, err := v.parseTimestamp(tsText)
		if err != nil {
			return Verification{}, fmt.Errorf("%w: %s is not %s", ErrMalformedSignature, where, v.unitName())
		}
		if v.tsMS {
			ts = time.UnixMilli(n)
		} else {
			ts = time.Unix(n, 0)
		}
		if err := checkWindow(ts, opts.Now, opts.skew()); err != nil {
			return Verification{}, err
		}
		rv.ts = []byte(signed)
	}
	if len(v.headerSlots) > 0 {
		rv.headers = make([][]byte, len(v.headerSlots))
		for i, h := range v.headerSlots {
			rv.headers[i] = []byte(firstHeader(r.Header, h))
		}
	}
	if len(v.jsonSlots) > 0 {
		if v.bodyField == "" && !gjson.ValidBytes(r.Body) {
			return Verification{}, fmt.Errorf("%w: the signed fields are read from a JSON body and the body is not JSON", ErrMalformedSignature)
		}
		if rv.json, err = jsonValues(r.Body, v.jsonSlots); err != nil {
			return Verification{}, err
		}
	}

	mac := func(k []byte) []byte { return v.sum(&rv, k) }
	if v.alg == algStatic {
		mac = func(k []byte) []byte { return k }
	}
	name, err := matchKeys(keys, opts.Now, mac, sigs)
	if err != nil {
		return Verification{}, err
	}
	out := Verification{Key: name}
	if v.usesTS {
		out.Timestamp = ts.UTC()
	}
	return out, nil
}

func (v *Verifier) unitName() string {
	if v.tsMS {
		return "unix milliseconds"
	}
	return "unix seconds"
}

// parseTimestamp parses the timestamp text and returns it with the text
// that is signed: the text as sent (digits only, at most 18), or, for
// compat presets, whatever strconv.ParseInt accepts, signed canonically.
func (v *Verifier) parseTimestamp(s string) (int64, string, error) {
	if v.compat {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, "", err
		}
		return n, strconv.FormatInt(n, 10), nil
	}
	if !allDigits(s) || len(s) > 18 {
		return 0, "", fmt.Errorf("not digits")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, s, err
}

// jsonValues reads the template's JSON fields from body: a string's value,
// a number's or boolean's JSON text, "" when absent or null. An object or
// array, or a path that is ambiguous (see uniqueJSON), is
// ErrMalformedSignature.
func jsonValues(body []byte, paths []string) ([][]byte, error) {
	out := make([][]byte, len(paths))
	for i, path := range paths {
		res, err := uniqueJSON(body, path)
		if err != nil {
			return nil, err
		}
		switch {
		case res.Type == gjson.Null:
		case res.Type == gjson.String:
			out[i] = []byte(res.Str)
		case res.IsObject() || res.IsArray():
			return nil, fmt.Errorf("%w: the signed field %s is not a string or a number", ErrMalformedSignature, path)
		default:
			out[i] = []byte(res.Raw)
		}
	}
	return out, nil
}

// uniqueJSON looks up a simple dotted path in the JSON body and refuses an
// ambiguous one: a member name that appears twice in one object along the
// path, also when only its case differs. JSON parsers disagree on which of
// two equal names counts (gjson takes the first, encoding/json the last, and
// encoding/json matches names without regard to case), so a signature over
// one and a parser reading the other would let a signed request carry an
// unsigned amount. Failure policy: fails closed (ErrMalformedSignature).
// A path that does not lead anywhere is an absent (zero) Result.
func uniqueJSON(body []byte, path string) (gjson.Result, error) {
	cur := gjson.ParseBytes(body)
	for seg := range strings.SplitSeq(path, ".") {
		if !cur.IsObject() {
			return gjson.Result{}, nil
		}
		var found gjson.Result
		n := 0
		cur.ForEach(func(k, val gjson.Result) bool {
			if strings.EqualFold(k.Str, seg) {
				n++
				if k.Str == seg {
					found = val
				}
			}
			return n < 2
		})
		if n > 1 {
			return gjson.Result{}, fmt.Errorf("%w: the body has the member %q more than once", ErrMalformedSignature, seg)
		}
		if !found.Exists() {
			return gjson.Result{}, nil
		}
		cur = found
	}
	return cur, nil
}

// parseSignatures splits the signature values by Format and decodes them.
// It returns the kv timestamp text too. No signature text at all is
// ErrMissingSignature; text of which nothing decodes is
// ErrMalformedSignature (compat presets: ErrMissingSignature, as their
// libraries report it).
func (v *Verifier) parseSignatures(values []string) ([][]byte, string, error) {
	var sigs [][]byte
	present := false
	kvTS := ""
	take := func(s string) {
		if v.prefix != "" {
			if len(s) < len(v.prefix) || !strings.EqualFold(s[:len(v.prefix)], v.prefix) {
				return
			}
			s = s[len(v.prefix):]
		}
		if b, ok := v.decodeSig(s); ok {
			sigs = append(sigs, b)
		}
	}
	for _, val := range values {
		switch v.format {
		case fmtPlain:
			s := val
			if !v.compat {
				s = strings.TrimSpace(s)
			}
			if s == "" {
				continue
			}
			present = true
			take(s)
		case fmtComma:
			for rest := val; rest != ""; {
				var item string
				item, rest, _ = strings.Cut(rest, ",")
				item = strings.TrimSpace(item)
				if item == "" {
					continue
				}
				present = true
				take(item)
			}
		case fmtSpace:
			var items []string
			if v.compat {
				items = strings.Split(val, " ")
			} else {
				items = strings.Fields(val)
			}
			for _, item := range items {
				if item == "" {
					continue
				}
				present = true
				parts := strings.Split(item, ",")
				if len(parts) < 2 || parts[0] != v.version {
					continue
				}
				take(parts[1])
			}
		case fmtKV:
			if val == "" {
				continue
			}
			present = true
			for _, pair := range strings.Split(val, ",") {
				var key, value string
				if v.compat {
					parts := strings.Split(pair, "=")
					if len(parts) != 2 {
						return nil, "", fmt.Errorf("%w: %s has an element that is not key=value", ErrMalformedSignature, v.where())
					}
					key, value = parts[0], parts[1]
				} else {
					var ok bool
					key, value, ok = strings.Cut(strings.TrimSpace(pair), "=")
					if !ok || key == "" {
						return nil, "", fmt.Errorf("%w: %s has an element that is not key=value", ErrMalformedSignature, v.where())
					}
				}
				switch key {
				case v.tsKey:
					if v.compat {
						if _, err := strconv.ParseInt(value, 10, 64); err != nil {
							return nil, "", fmt.Errorf("%w: %s %s is not an integer", ErrMalformedSignature, v.where(), v.tsKey)
						}
					}
					kvTS = value // the last one wins, as in stripe-go
				case v.version:
					take(value)
				}
			}
		}
	}
	switch {
	case !present:
		return nil, "", fmt.Errorf("%w: %s is absent or empty", ErrMissingSignature, v.where())
	case len(sigs) == 0 && (v.compat || v.format == fmtSpace || v.format == fmtKV):
		// A list without a usable item of the wanted version is, for these
		// formats, a request without our signature.
		return nil, "", fmt.Errorf("%w: %s has no usable %s signature", ErrMissingSignature, v.where(), v.version)
	case len(sigs) == 0:
		return nil, "", fmt.Errorf("%w: %s holds no %s %s signature", ErrMalformedSignature, v.where(), v.enc, v.algName())
	}
	if v.format == fmtKV && v.usesTS && v.tsHeader == "" && kvTS == "" {
		return nil, "", fmt.Errorf("%w: %s has no %s", ErrMissingTimestamp, v.where(), v.tsKey)
	}
	return sigs, kvTS, nil
}

func (v *Verifier) algName() string {
	switch {
	case v.alg == algStatic:
		return "token"
	case v.sigLen == sha512.Size:
		return "SHA-512"
	}
	return "SHA-256"
}

// decodeSig decodes one signature by Encoding. Non-compat schemes also
// refuse a signature of the wrong length for the algorithm.
func (v *Verifier) decodeSig(s string) ([]byte, bool) {
	if v.alg == algStatic {
		return []byte(s), true
	}
	var b []byte
	var err error
	switch v.enc {
	case "hex":
		b, err = hex.DecodeString(s)
	case "base64":
		if v.compat {
			// The reference library compares base64 text: decoding strictly
			// (refusing the line breaks Go's decoder would skip) accepts
			// exactly the canonical encoding.
			if strings.ContainsAny(s, "\r\n") {
				return nil, false
			}
			b, err = base64.StdEncoding.Strict().DecodeString(s)
		} else {
			b, err = decodeB64(s, base64.StdEncoding)
		}
	case "base64url":
		b, err = decodeB64(s, base64.URLEncoding)
	default:
		return nil, false
	}
	if err != nil {
		return nil, false
	}
	if !v.compat && len(b) != v.sigLen {
		return nil, false
	}
	return b, true
}

// decodeB64 decodes padded or unpadded base64 of enc's alphabet.
func decodeB64(s string, enc *base64.Encoding) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("line break")
	}
	if strings.HasSuffix(s, "=") {
		return enc.DecodeString(s)
	}
	return enc.WithPadding(base64.NoPadding).DecodeString(s)
}

// encodeSig writes signature bytes by Encoding (hex lower case, base64
// padded).
func (v *Verifier) encodeSig(b []byte) string {
	switch v.enc {
	case "base64":
		return base64.StdEncoding.EncodeToString(b)
	case "base64url":
		return base64.URLEncoding.EncodeToString(b)
	}
	return hex.EncodeToString(b)
}

// Sign returns the request a sender of this scheme would send with body at
// now, signed with every given key: the signature header (or the body with
// the signature at BodyField), the timestamp and id headers. An empty id is
// replaced by "msg_" and a hash of the body. A {header:Name} of the
// template is sent with the id as its value (Sign has no other value for
// it). Algorithm none returns the body unsigned.
//
// For a BodyField scheme the signature is spliced into the body bytes: an
// existing string value at the path is replaced in place; otherwise the
// member is inserted at the start of the deepest existing object on the
// path (with the missing objects around it). Every other byte of the body
// is kept as it was.
func (v *Verifier) Sign(body []byte, keys []Key, now time.Time, id string) (Signed, error) {
	h := http.Header{}
	h.Set("Content-Type", v.contentType)
	if v.alg == algNone {
		if v.idHeader != "" {
			h.Set(v.idHeader, firstNonEmpty(id, defaultMessageID(body)))
		}
		return Signed{Header: h, Body: body}, nil
	}
	mats, err := signingKeys(v.name, keys)
	if err != nil {
		return Signed{}, err
	}
	if id == "" {
		id = defaultMessageID(body)
	}
	if v.compat && v.usesID && strings.Contains(id, ".") {
		return Signed{}, fmt.Errorf("%s: sign: message id must not contain '.'", v.name)
	}
	if (v.bodyField != "" || len(v.jsonSlots) > 0) && !gjson.ValidBytes(body) {
		return Signed{}, fmt.Errorf("%s: sign: the body is not JSON", v.name)
	}
	var ts string
	if v.tsMS {
		ts = strconv.FormatInt(now.UnixMilli(), 10)
	} else {
		ts = strconv.FormatInt(now.Unix(), 10)
	}
	rv := reqValues{body: body, ts: []byte(ts), id: []byte(id)}
	rv.headers = make([][]byte, len(v.headerSlots))
	for i := range v.headerSlots {
		rv.headers[i] = []byte(id)
	}
	if len(v.jsonSlots) > 0 {
		var err error
		if rv.json, err = jsonValues(body, v.jsonSlots); err != nil {
			return Signed{}, fmt.Errorf("%s: sign: %w", v.name, err)
		}
	}

	sigs := make([]string, len(mats))
	for i, k := range mats {
		if v.alg == algStatic {
			sigs[i] = v.prefix + string(k)
			continue
		}
		sigs[i] = v.prefix + v.encodeSig(v.sum(&rv, k))
	}
	var value string
	var lines []string
	switch v.format {
	case fmtPlain:
		lines = sigs
		value = sigs[0]
	case fmtComma:
		value = strings.Join(sigs, ",")
	case fmtSpace:
		for i := range sigs {
			sigs[i] = v.version + "," + sigs[i]
		}
		value = strings.Join(sigs, " ")
	case fmtKV:
		var b strings.Builder
		if v.usesTS && v.tsHeader == "" {
			b.WriteString(v.tsKey + "=" + ts)
		}
		for _, s := range sigs {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v.version + "=" + s)
		}
		value = b.String()
	}
	out := body
	if v.bodyField != "" {
		if lines != nil && len(lines) > 1 {
			return Signed{}, fmt.Errorf("%s: sign: a plain signature in body field %s holds one key, %d given", v.name, v.bodyField, len(lines))
		}
		out, err = spliceJSONString(body, v.bodyPath, value)
		if err != nil {
			return Signed{}, fmt.Errorf("%s: sign: %w", v.name, err)
		}
		// A body with a member that differs from the signature's only in
		// case would be refused by Verify as ambiguous: do not sign it.
		if _, err := uniqueJSON(out, v.bodyField); err != nil {
			return Signed{}, fmt.Errorf("%s: sign: %w", v.name, err)
		}
	} else if lines != nil {
		for _, l := range lines {
			h.Add(v.header, l)
		}
	} else {
		h.Set(v.header, value)
	}
	for _, hs := range v.headerSlots {
		h.Set(hs, id)
	}
	if v.usesTS && v.tsHeader != "" {
		h.Set(v.tsHeader, ts)
	}
	if v.idHeader != "" {
		h.Set(v.idHeader, id)
	}
	return Signed{Header: h, Body: out}, nil
}

// defaultMessageID is the id Sign uses when given none: stable for a body,
// as a retry's would be.
func defaultMessageID(body []byte) string {
	sum := sha256.Sum256(body)
	return "msg_" + hex.EncodeToString(sum[:13])
}

// spliceJSONString sets the string member at path (simple segments) of the
// JSON object body to value, keeping every other byte. An existing value at
// the path is replaced in place; otherwise the member (wrapped in the
// missing objects) is inserted first in the deepest existing object.
func spliceJSONString(body []byte, path []string, value string) ([]byte, error) {
	quoted, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	if !gjson.ParseBytes(body).IsObject() {
		return nil, fmt.Errorf("the body is not a JSON object")
	}
	full := strings.Join(path, ".")
	if res := gjson.GetBytes(body, full); res.Exists() && res.Index > 0 && res.Index+len(res.Raw) <= len(body) {
		out := make([]byte, 0, len(body)+len(quoted))
		out = append(out, body[:res.Index]...)
		out = append(out, quoted...)
		return append(out, body[res.Index+len(res.Raw):]...), nil
	}
	// The deepest existing object on the path.
	depth, objStart := 0, bytes.IndexByte(body, '{')
	for depth < len(path)-1 {
		res := gjson.GetBytes(body, strings.Join(path[:depth+1], "."))
		if !res.Exists() {
			break
		}
		if !res.IsObject() || res.Index <= 0 {
			return nil, fmt.Errorf("%s is not an object in the body", strings.Join(path[:depth+1], "."))
		}
		objStart = res.Index
		depth++
	}
	if depth == len(path)-1 {
		// The parent exists; the member does not (or could not be located).
		if gjson.GetBytes(body, full).Exists() {
			return nil, fmt.Errorf("cannot place the signature at %s", full)
		}
	}
	// Build "a":{"b":"sig"} for the missing part.
	var member []byte
	for i := depth; i < len(path); i++ {
		k, _ := json.Marshal(path[i])
		member = append(member, k...)
		member = append(member, ':')
		if i < len(path)-1 {
			member = append(member, '{')
		}
	}
	member = append(member, quoted...)
	for i := depth; i < len(path)-1; i++ {
		member = append(member, '}')
	}
	// Is the object empty?
	rest := bytes.TrimLeft(body[objStart+1:], " \t\r\n")
	out := make([]byte, 0, len(body)+len(member)+1)
	out = append(out, body[:objStart+1]...)
	out = append(out, member...)
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, body[objStart+1:]...), nil
}
