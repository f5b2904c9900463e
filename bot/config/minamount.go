package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// AnyCurrency is the key of a per-currency MinAmount that gives the minimum
// for every currency the map does not list.
const AnyCurrency = "*"

// Decimal is a non-negative decimal number written in config, kept as text.
type Decimal string

// MinAmount is the smallest amount an event must have, in major units of the
// event's currency ("1000", "99.50"): routes[].min_amount (the route takes
// only such events) and routes[].mention.min_amount (the route @-mentions for
// them). Amounts are kept as decimal text and compared exactly, never as
// floats; a YAML number keeps every digit it was written with.
//
// It is written in one of two ways:
//
//   - One amount, a YAML number or string (min_amount: 1000, min_amount:
//     "99.50"): the minimum for every currency. It is kept in All.
//   - A map from ISO 4217 code to amount (min_amount: {THB: 100000, JPY:
//     1000000, "*": 1000}), kept in PerCurrency with upper-case codes. An
//     event in a listed currency needs at least that currency's amount; the
//     key "*" (AnyCurrency) gives the minimum for every currency not listed;
//     a currency that is not listed, when there is no "*", has no minimum.
//
// Leaving the key out (or writing an empty map) means no minimum at all.
type MinAmount struct {
	// All is the minimum for every currency; empty for the map form or when
	// min_amount is not set.
	All Decimal
	// PerCurrency is the map form: upper-case ISO 4217 codes and "*" to
	// minimums; nil for the single-amount form.
	PerCurrency map[string]Decimal
}

// For returns the minimum that applies to an event in currency, in major
// units of that currency; ok is false when there is none (a route then takes
// every event in that currency). A listed currency wins over "*", and "*"
// over All. currency is matched case-insensitively.
func (m MinAmount) For(currency string) (minimum Decimal, ok bool) {
	if d, ok := m.PerCurrency[strings.ToUpper(strings.TrimSpace(currency))]; ok {
		return d, true
	}
	if d, ok := m.PerCurrency[AnyCurrency]; ok {
		return d, true
	}
	if m.All != "" {
		return m.All, true
	}
	return "", false
}

// IsZero reports whether no minimum is set for any currency: the key was
// left out, or was an empty string or an empty map.
func (m MinAmount) IsZero() bool {
	return m.All == "" && len(m.PerCurrency) == 0
}

// set reports whether the key was written at all (an empty map counts).
func (m MinAmount) set() bool {
	return m.All != "" || m.PerCurrency != nil
}

// MarshalJSON writes the form the amount was configured in: the single
// amount as a string ("" when unset), or the per-currency map.
func (m MinAmount) MarshalJSON() ([]byte, error) {
	if m.PerCurrency != nil {
		return json.Marshal(m.PerCurrency)
	}
	return json.Marshal(m.All)
}

var (
	decimalType   = reflect.TypeOf(Decimal(""))
	minAmountType = reflect.TypeOf(MinAmount{})
)

// subkeyError is a decode hook's error about one key inside the value being
// decoded; decodeProblems appends the key to the problem's path. A hook
// returns several joined with errors.Join.
type subkeyError struct {
	key string
	err error
}

func (e *subkeyError) Error() string { return e.key + ": " + e.err.Error() }

func (e *subkeyError) Unwrap() error { return e.err }

// subkeyErrors returns err's subkeyErrors: err itself, or those it joins.
func subkeyErrors(err error) []*subkeyError {
	if sub, ok := err.(*subkeyError); ok {
		return []*subkeyError{sub}
	}
	var subs []*subkeyError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			subs = append(subs, subkeyErrors(e)...)
		}
	}
	return subs
}

// numberToDecimal keeps an amount written as a YAML number as text, for
// Decimal fields. See amountText.
func numberToDecimal(from, to reflect.Type, data any) (any, error) {
	if to != decimalType {
		return data, nil
	}
	if data == nil {
		return data, nil
	}
	s, err := amountText(data)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// minAmountHook decodes a MinAmount from a YAML number or string (one
// minimum for every currency) or from a map of currency code to amount
// (codes upper-cased: Viper lower-cases every key).
func minAmountHook(from, to reflect.Type, data any) (any, error) {
	if to != minAmountType {
		return data, nil
	}
	switch v := data.(type) {
	case MinAmount:
		return v, nil
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, val := range v {
			m[fmt.Sprint(k)] = val
		}
		data = m
	}
	if v, ok := data.(map[string]any); ok {
		m := MinAmount{PerCurrency: make(map[string]Decimal, len(v))}
		var errs []error
		for _, k := range sortedKeys(v) {
			code := strings.ToUpper(k)
			s, err := amountText(v[k])
			if err != nil {
				errs = append(errs, &subkeyError{key: code, err: err})
				continue
			}
			m.PerCurrency[code] = Decimal(s)
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return m, nil
	}
	if !isScalar(data) {
		return nil, fmt.Errorf("wrong type: want an amount such as 1000 or \"99.50\", or a map of currency to amount such as {THB: 100000, \"*\": 1000}; got %s", yamlKind(data))
	}
	s, err := amountText(data)
	if err != nil {
		return nil, err
	}
	return MinAmount{All: Decimal(s)}, nil
}

// amountText returns an amount written as a YAML number or string as text.
// Integers print as themselves; a float prints in its shortest
// round-tripping form ("99.5"). Parse has already replaced the floats of
// min_amount with the text they were written as (exactAmounts), so this is
// the fallback for YAML it could not follow (merge keys): a float with more
// than 15 significant digits may have lost some, and is refused.
func amountText(data any) (string, error) {
	switch n := data.(type) {
	case nil:
		return "", nil
	case string:
		return n, nil
	case int:
		return strconv.Itoa(n), nil
	case int64:
		return strconv.FormatInt(n, 10), nil
	case uint64:
		return strconv.FormatUint(n, 10), nil
	case float64:
		e := strconv.FormatFloat(n, 'e', -1, 64)
		mant, _, _ := strings.Cut(strings.TrimLeft(e, "+-"), "e")
		if len(strings.Replace(mant, ".", "", 1)) > 15 {
			return "", fmt.Errorf("a YAML number with more than 15 significant digits may lose some: write it as a string (%q)", strconv.FormatFloat(n, 'f', -1, 64))
		}
		return strconv.FormatFloat(n, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("wrong type: want an amount such as 1000 or \"99.50\"; got %s", yamlKind(data))
}

// isScalar reports whether amountText takes data's type.
func isScalar(data any) bool {
	switch data.(type) {
	case nil, string, int, int64, uint64, float64:
		return true
	}
	return false
}

func yamlKind(v any) string {
	switch v.(type) {
	case bool:
		return "true/false"
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a map"
	}
	return fmt.Sprintf("%T", v)
}

// exactAmounts replaces the floats that Viper decoded at routes[i].min_amount
// and routes[i].mention.min_amount (and inside their per-currency maps) with
// the number's text as written in the file: a float64 keeps about 15
// significant digits, and an amount must keep all of them (0.1,
// 123456789012345678901234, 99.50). It reads raw a second time with the YAML
// parser Viper uses, which keeps each scalar's text.
//
// A per-currency map that gives one code twice in different case (THB and
// thb) is a problem: Viper lower-cases keys, so one of them would be lost.
func exactAmounts(raw []byte, settings map[string]any, ps *problems) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 {
		return
	}
	routesNode := child(doc.Content[0], "routes")
	routes, _ := settings["routes"].([]any)
	if routesNode == nil || routesNode.Kind != yaml.SequenceNode || len(routesNode.Content) != len(routes) {
		return
	}
	for i, rn := range routesNode.Content {
		route, ok := routes[i].(map[string]any)
		if !ok {
			continue
		}
		p := index("routes", i)
		exactAmount(ps, join(p, "min_amount"), route, child(rn, "min_amount"))
		if mention, ok := route["mention"].(map[string]any); ok {
			exactAmount(ps, join(p, "mention.min_amount"), mention, child(child(rn, "mention"), "min_amount"))
		}
	}
}

// exactAmount fixes parent["min_amount"] from its YAML node n.
func exactAmount(ps *problems, path string, parent map[string]any, n *yaml.Node) {
	if n == nil {
		return
	}
	switch v := parent["min_amount"].(type) {
	case float64:
		if n.Kind == yaml.ScalarNode {
			if s, ok := yamlDecimal(n.Value); ok {
				parent["min_amount"] = s
			}
		}
	case map[string]any:
		if n.Kind != yaml.MappingNode {
			return
		}
		seen := map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			lk := strings.ToLower(k)
			if prev, dup := seen[lk]; dup {
				ps.add(join(path, strings.ToUpper(k)), "given twice (%s and %s): currency codes are not case-sensitive", prev, k)
				continue
			}
			seen[lk] = k
			if _, ok := v[lk].(float64); !ok {
				continue
			}
			if vn := deref(n.Content[i+1]); vn != nil && vn.Kind == yaml.ScalarNode {
				if s, ok := yamlDecimal(vn.Value); ok {
					v[lk] = s
				}
			}
		}
	}
}

// child returns the value of key in the mapping n, matching keys
// case-insensitively as Viper does, and looking into merged mappings
// (<<: *defaults) when n has no such key itself; nil when there is none.
func child(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var found *yaml.Node
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch {
		case k.Tag == "!!merge" || (k.Tag == "" && k.Value == "<<"):
			if v != nil && v.Kind == yaml.SequenceNode {
				merged = append(merged, v.Content...) // the first mapping listed wins
			} else {
				merged = append(merged, v)
			}
		case strings.EqualFold(k.Value, key):
			found = v
		}
	}
	for _, m := range merged {
		if found != nil {
			break
		}
		found = child(m, key)
	}
	return deref(found)
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

var yamlFloatRE = regexp.MustCompile(`^([-+]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([-+]?[0-9]+))?$`)

// yamlDecimal writes the YAML float s ("99.50", "1e3", "1_000.5", "-2.5")
// as plain decimal text without losing a digit ("99.50", "1000", "1000.5",
// "-2.5"). ok is false for what is not a finite decimal number (.inf, .nan)
// or has an exponent beyond ±100.
func yamlDecimal(s string) (string, bool) {
	m := yamlFloatRE.FindStringSubmatch(strings.ReplaceAll(s, "_", ""))
	if m == nil {
		return "", false
	}
	sign, mant := m[1], m[2]
	if sign == "+" {
		sign = ""
	}
	exp := 0
	if m[3] != "" {
		e, err := strconv.Atoi(m[3])
		if err != nil || e > 100 || e < -100 {
			return "", false
		}
		exp = e
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := whole + frac
	point := len(whole) + exp // digits before the decimal point
	switch {
	case point <= 0:
		whole, frac = "0", strings.Repeat("0", -point)+digits
	case point >= len(digits):
		whole, frac = digits+strings.Repeat("0", point-len(digits)), ""
	default:
		whole, frac = digits[:point], digits[point:]
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	if frac == "" {
		return sign + whole, true
	}
	return sign + whole + "." + frac, true
}

// sortedCurrencies returns the keys of a per-currency map, "*" last.
func sortedCurrencies(m map[string]Decimal) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == AnyCurrency) != (keys[j] == AnyCurrency) {
			return keys[j] == AnyCurrency
		}
		return keys[i] < keys[j]
	})
	return keys
}
