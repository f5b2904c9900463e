package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Retention defaults (storage.retention, storage.retention_batch).
const (
	DefaultRetention      = 90 * 24 * time.Hour
	DefaultRetentionBatch = 20 // store.DefaultPurgeBatch
)

// Period is a length of time written as a Go duration ("2160h", "36h30m")
// or a whole number of days ("90d"). It must be positive.
type Period time.Duration

// Duration is p as a time.Duration.
func (p Period) Duration() time.Duration { return time.Duration(p) }

// String writes whole days as "90d", anything else as a Go duration.
func (p Period) String() string {
	d := time.Duration(p)
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

var periodDays = regexp.MustCompile(`^([0-9]{1,6})d$`)

// ParsePeriod reads "90d" or a Go duration; zero and negative lengths are
// refused.
func ParsePeriod(s string) (Period, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if m := periodDays.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1]) // six digits at most: fits
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a length of time (write days as 90d, or a duration such as 2160h)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q is not positive: retention cannot be switched off with 0 (data would never be purged, or all of it at once); give a length such as 90d", s)
	}
	return Period(d), nil
}

var periodType = reflect.TypeOf(Period(0))

// periodHook decodes a Period from a YAML string. A bare number is refused:
// its unit would be a guess.
func periodHook(from, to reflect.Type, data any) (any, error) {
	if to != periodType {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		return ParsePeriod(v)
	case Period:
		return v, nil
	case int, int64, float64, uint64:
		return nil, fmt.Errorf("%v has no unit: write days as %vd, or a duration such as 2160h", v, v)
	}
	return nil, fmt.Errorf("want a length of time such as 90d, not %T", data)
}

// applyRetentionDefaults fills storage.retention and retention_batch.
func (s *Storage) applyRetentionDefaults() {
	if !s.retentionDefaulted { // what the file said, before any default
		s.retentionDefaulted = true
		s.retentionSet = s.Retention != 0 || s.RetentionBatch != 0
	}
	if s.Retention == 0 {
		s.Retention = Period(DefaultRetention)
	}
	if s.RetentionBatch == 0 {
		s.RetentionBatch = DefaultRetentionBatch
	}
}

// validateRetention checks what the hook cannot: the batch size.
func (s *Storage) validateRetention(ps *problems) {
	if s.RetentionBatch < 0 || s.RetentionBatch > 100_000 {
		ps.add("storage.retention_batch", "must be between 1 and 100000 (got %d)", s.RetentionBatch)
	}
}
