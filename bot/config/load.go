package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// LookupEnv is how Load reads environment variables; tests pass a map.
type LookupEnv func(string) (string, bool)

// Load reads, expands, decodes, defaults and validates the config at path.
// On failure the error is Problems (one line per problem, each naming its key
// path) or a plain error when the file cannot be read at all.
func Load(path string, env LookupEnv) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config path: %w", err)
	}
	cfg, err := Parse(raw, filepath.Dir(abs), env)
	if cfg != nil {
		cfg.Path = abs
	}
	return cfg, err
}

// Parse is Load on bytes; baseDir resolves relative paths (value_file, the
// SQLite file, templates.dir).
//
// When the file decodes but fails validation, Parse returns the decoded
// Config together with the Problems: it is not usable, but it tells the
// reload poller which files (value_file, templates.dir) to watch for the fix.
// Callers must not use a Config returned with an error for anything else.
func Parse(raw []byte, baseDir string, env LookupEnv) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	// Viper reads the YAML. A key delimiter that cannot appear in a key keeps
	// names with dots intact. Viper lowercases keys: source and robot names
	// are case-insensitive.
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(raw)); err != nil {
		return nil, Problems{syntaxProblem(raw, err)}
	}
	settings := v.AllSettings()

	// Unknown keys, unset variables and decode errors do not stop the
	// checks: every problem is reported in one run. Unknown keys are left
	// out by the decoder; validation problems at a path already reported
	// (an unset variable's "required") are dropped as duplicates.
	var ps problems
	exactAmounts(raw, settings, &ps)
	expanded := expand("", settings, env, &ps).(map[string]any)
	unknownKeys("", expanded, reflect.TypeOf(Config{}), &ps)

	cfg := &Config{}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:     cfg,
		TagName:    "mapstructure",
		DecodeHook: mapstructure.ComposeDecodeHookFunc(timeToString, periodHook, numberToDecimal, minAmountHook, mapstructure.StringToTimeDurationHookFunc()),
	})
	if err != nil {
		return nil, fmt.Errorf("config decoder: %w", err)
	}
	if err := dec.Decode(expanded); err != nil {
		// A partly decoded config would give misleading validation
		// problems: report what is known.
		decodeProblems(err, &ps)
		return nil, ps.err()
	}

	cfg.templatesDirAlias(&ps)
	hash := sha256.New()
	hash.Write(raw)
	if err := cfg.readFiles(baseDir, &ps, hash); err != nil {
		// A secret file that cannot be read for a moment (out of file
		// descriptors …) is not a config problem: the caller retries.
		return nil, err
	}
	cfg.applyDefaults(baseDir)
	var vs problems
	cfg.validate(&vs)
	ps.merge(vs)
	if err := ps.err(); err != nil {
		return cfg, err
	}
	cfg.Hash = hex.EncodeToString(hash.Sum(nil))
	return cfg, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default} in every string value; $$ is a
// literal $. An unset variable without a default is a problem: an empty
// secret must never slip through unnoticed.
func expand(path string, v any, env LookupEnv, ps *problems) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = expand(join(path, k), val, env, ps)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = expand(index(path, i), val, env, ps)
		}
		return out
	case string:
		if !strings.Contains(t, "$") {
			return t
		}
		return envRef.ReplaceAllStringFunc(t, func(m string) string {
			if m == "$$" {
				return "$"
			}
			sub := envRef.FindStringSubmatch(m)
			if val, ok := env(sub[1]); ok {
				return val
			}
			if sub[2] != "" {
				return sub[3]
			}
			ps.add(path, "environment variable %s is not set (use ${%s:-default} for an optional value)", sub[1], sub[1])
			return ""
		})
	}
	return v
}

// unknownKeys reports every key of raw that t (a struct decoded with
// mapstructure tags) does not have.
func unknownKeys(path string, raw any, t reflect.Type, ps *problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == minAmountType {
		return // an amount or a map of currency codes; minAmountHook decodes it
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return // a type mismatch; the decoder reports it
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = f.Type
		}
		keys := sortedKeys(m)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				ps.add(join(path, k), "unknown key%s", suggest(k, fields))
				continue
			}
			unknownKeys(join(path, k), m[k], ft, ps)
		}
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return
		}
		for _, k := range sortedKeys(m) {
			unknownKeys(join(path, k), m[k], t.Elem(), ps)
		}
	case reflect.Slice:
		s, ok := raw.([]any)
		if !ok {
			return
		}
		for i, e := range s {
			unknownKeys(index(path, i), e, t.Elem(), ps)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// suggest names the closest known key, for typos.
func suggest(k string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for f := range fields {
		if d := distance(k, f); d < bestD || (d == bestD && f < best) {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// timeToString keeps YAML timestamps (expires: 2026-12-01T00:00:00Z, which
// the YAML parser turns into time.Time) as text for string fields, so
// validation parses and reports them in one place.
func timeToString(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.String {
		return data, nil
	}
	if t, ok := data.(time.Time); ok {
		return t.Format(time.RFC3339Nano), nil
	}
	return data, nil
}

var decodeName = regexp.MustCompile(`\[([^\]]*)\]`)

// decodeProblems turns mapstructure's errors into key-path problems.
func decodeProblems(err error, ps *problems) {
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
			return
		}
		// mapstructure wraps the joined errors of every field in one
		// fmt.Errorf: look through single wrappers so that each is reported.
		de, ok := e.(*mapstructure.DecodeError)
		if !ok {
			if inner := errors.Unwrap(e); inner != nil {
				walk(inner)
				return
			}
		}
		if ok {
			// mapstructure writes map keys as name[key]; slices as name[0].
			path := decodeName.ReplaceAllStringFunc(de.Name(), func(m string) string {
				inner := m[1 : len(m)-1]
				if _, err := strconv.Atoi(inner); err == nil {
					return m
				}
				return "." + inner
			})
			if subs := subkeyErrors(de.Unwrap()); len(subs) > 0 {
				for _, sub := range subs {
					ps.add(join(path, sub.key), "%s", describeDecode(sub.err))
				}
				return
			}
			ps.add(path, "%s", describeDecode(de.Unwrap()))
			return
		}
		ps.add("", "%s", oneLine(e.Error()))
	}
	walk(err)
}

func describeDecode(err error) string {
	msg := oneLine(err.Error())
	switch {
	case strings.Contains(msg, "time: "):
		return "not a duration (use e.g. 300ms, 5m, 6h): " + msg
	case strings.Contains(msg, "expected type"), strings.Contains(msg, "cannot parse"):
		return "wrong type: " + msg
	}
	return msg
}

// readFiles resolves value_file secrets, feeding their bytes to the hash so a
// rotated secret file is a config change. A file that cannot be read right
// now (TransientReadError) stops it with that error: the config is neither
// valid nor refused, and the caller tries again.
func (c *Config) readFiles(baseDir string, ps *problems, hash interface{ Write([]byte) (int, error) }) error {
	for _, name := range sortedKeysOf(c.Sources) {
		src := c.Sources[name]
		if src == nil {
			continue
		}
		for i, s := range src.Secrets {
			p := index(join(join("sources", name), "secrets"), i)
			if s == nil {
				ps.add(p, "empty entry: give value or value_file")
				continue
			}
			if s.ValueFile == "" {
				continue
			}
			if s.Value != "" {
				ps.add(p, "give either value or value_file, not both")
				continue
			}
			f := s.ValueFile
			if !filepath.IsAbs(f) {
				f = filepath.Join(baseDir, f)
			}
			b, err := readFile(f)
			if err != nil {
				if TransientReadError(err) {
					return fmt.Errorf("%s: cannot read right now: %w", join(p, "value_file"), err)
				}
				ps.add(join(p, "value_file"), "cannot read: %v", unwrapPath(err))
				continue
			}
			hash.Write(b)
			s.Value = Secret(strings.TrimRight(string(b), "\r\n"))
			if s.Value == "" {
				ps.add(join(p, "value_file"), "file %s is empty", s.ValueFile)
			}
		}
	}
	if c.Templates.Dir != "" {
		dir := c.Templates.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(baseDir, dir)
		}
		c.Templates.Dir = dir
		entries, err := os.ReadDir(dir)
		if err != nil {
			if TransientReadError(err) {
				return fmt.Errorf("templates.dir: cannot read right now: %w", err)
			}
			ps.add("templates.dir", "cannot read: %v", unwrapPath(err))
			return nil
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil && TransientReadError(err) {
				return fmt.Errorf("templates.dir: cannot read %s right now: %w", e.Name(), err)
			}
			if err == nil {
				hash.Write([]byte(e.Name()))
				hash.Write(b)
			}
		}
	}
	return nil
}

// templatesDirAlias makes top-level templates_dir the same key as
// templates.dir: either may be given, or both naming the same directory.
func (c *Config) templatesDirAlias(ps *problems) {
	alias, dir := c.TemplatesDir, c.Templates.Dir
	switch {
	case alias == "":
	case dir == "":
		c.Templates.Dir = alias
	case filepath.Clean(alias) != filepath.Clean(dir):
		ps.add("templates_dir", "is another name of templates.dir, which names a different directory (%q, %q): keep one", alias, dir)
	}
}

// readFile is os.ReadFile; tests replace it to fail on cue.
var readFile = os.ReadFile

// TransientReadError reports whether err, from reading a config file or a
// file it names, says the file may read fine in a moment: the process or the
// system is out of file descriptors or memory, or the read was interrupted.
// A missing or forbidden file is not transient: that is a config the admin
// must fix.
func TransientReadError(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.EINTR, syscall.EAGAIN, syscall.ENOMEM, syscall.EBUSY} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
