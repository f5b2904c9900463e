package config

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// StorageKeys are the top-level keys LoadStorage reads: what the commands
// that only read or requeue the store (deadletters, replay, events) need.
var StorageKeys = []string{"storage", "timezone", "language", "delivery"}

// LoadStorage reads only the StorageKeys of the config at path: ${VAR} is
// expanded in those keys only, so a host where the sources' and robots'
// secrets exist only in the service's environment can still open the
// store. The rest of the file is neither decoded nor validated. The result
// has Storage, Timezone, Location, Language and Delivery set (defaults
// applied) and Path; nothing else is usable.
func LoadStorage(path string, env LookupEnv) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config path: %w", err)
	}
	cfg, err := ParseStorage(raw, filepath.Dir(abs), env)
	if err != nil {
		return nil, err
	}
	cfg.Path = abs
	return cfg, nil
}

// ParseStorage is LoadStorage on bytes; baseDir resolves a relative SQLite
// path. Its error is Problems, each naming its key path.
func ParseStorage(raw []byte, baseDir string, env LookupEnv) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(raw)); err != nil {
		return nil, Problems{{Msg: "not valid YAML: " + oneLine(err.Error())}}
	}
	settings := v.AllSettings()
	sub := make(map[string]any, len(StorageKeys))
	for _, k := range StorageKeys {
		if val, ok := settings[k]; ok {
			sub[k] = val
		}
	}

	var ps problems
	expanded := expand("", sub, env, &ps).(map[string]any)
	unknownKeys("", expanded, reflect.TypeOf(Config{}), &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	cfg := &Config{}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:     cfg,
		TagName:    "mapstructure",
		DecodeHook: mapstructure.ComposeDecodeHookFunc(timeToString, periodHook, mapstructure.StringToTimeDurationHookFunc()),
	})
	if err != nil {
		return nil, fmt.Errorf("config decoder: %w", err)
	}
	if err := dec.Decode(expanded); err != nil {
		decodeProblems(err, &ps)
		return nil, ps.err()
	}
	cfg.applyDefaults(baseDir)
	cfg.validateStorage(&ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// validateStorage checks what ParseStorage decodes.
func (c *Config) validateStorage(ps *problems) {
	switch c.Storage.Driver {
	case "sqlite":
	case "postgres":
		if c.Storage.DSN == "" {
			ps.add("storage.dsn", "required for the postgres driver (postgres://user:pass@host:5432/db)")
		} else if u, err := url.Parse(c.Storage.DSN.Reveal()); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			if !strings.Contains(c.Storage.DSN.Reveal(), "=") { // key=value DSNs are valid too
				ps.add("storage.dsn", "not a PostgreSQL URL (postgres://user:pass@host:5432/db) or key=value DSN")
			}
		}
	default:
		ps.add("storage.driver", "must be sqlite or postgres (got %q)", c.Storage.Driver)
	}
	if loc, err := time.LoadLocation(c.Timezone); err != nil {
		ps.add("timezone", "unknown time zone %q (use an IANA name such as Asia/Bangkok)", c.Timezone)
	} else {
		c.Location = loc
	}
	checkLanguage(ps, "language", c.Language)
	c.Storage.validateRetention(ps)
}
