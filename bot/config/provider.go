package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bankbot/bankbot/bankhooks"
)

// GenericProvider is the provider name of a source whose scheme is given in
// the config (signature and event blocks).
const GenericProvider = "generic"

// BuildProvider returns the source's provider: a built-in one by name
// (bankhooks.Lookup), or, for provider: generic, one compiled from the
// signature and event blocks. A generic source's problems come back as a
// *bankhooks.SchemeError whose fields are relative to the source
// ("signature.format").
func (s *Source) BuildProvider() (bankhooks.Provider, error) {
	if s.Provider != GenericProvider {
		p, ok := bankhooks.Lookup(s.Provider)
		if !ok {
			return nil, fmt.Errorf("unknown provider %q (available: %s)", s.Provider, strings.Join(ProviderNames(), ", "))
		}
		return p, nil
	}
	var missing bankhooks.SchemeError
	if s.Signature == nil {
		missing.Problems = append(missing.Problems, bankhooks.FieldProblem{Field: "signature",
			Message: "required for provider: generic: how the sender signs (header, algorithm, signed …)"})
	}
	if s.Event == nil {
		missing.Problems = append(missing.Problems, bankhooks.FieldProblem{Field: "event",
			Message: "required for provider: generic: where the event's id, kind, amount … are in the body"})
	}
	if len(missing.Problems) > 0 {
		return nil, &missing
	}
	return bankhooks.NewGeneric(s.Signature.scheme(), s.Event.mapping())
}

// Algorithm is the generic source's signature algorithm, "" for built-in
// providers.
func (s *Source) Algorithm() string {
	if s == nil || s.Provider != GenericProvider || s.Signature == nil {
		return ""
	}
	return s.Signature.Algorithm
}

func (sig *Signature) scheme() bankhooks.Scheme {
	return bankhooks.Scheme{
		Header: sig.Header, BodyField: sig.BodyField, Format: sig.Format, Prefix: sig.Prefix,
		Algorithm: sig.Algorithm, KeyEncoding: sig.KeyEncoding, Encoding: sig.Encoding, Signed: sig.Signed,
		TimestampHeader: sig.TimestampHeader, TimestampUnit: sig.TimestampUnit, IDHeader: sig.IDHeader,
		Version: sig.Version, TimestampKey: sig.TimestampKey,
	}
}

func (ev *EventMapping) mapping() bankhooks.Mapping {
	m := bankhooks.Mapping{
		ID: ev.ID, Type: ev.Type, KindPath: ev.Kind.Path, Amount: ev.Amount, AmountUnit: ev.AmountUnit,
		Currency: ev.Currency, Reference: ev.Reference, Account: ev.Account, Counterparty: ev.Counterparty,
		Description: ev.Description, FailureCode: ev.FailureCode, FailureMessage: ev.FailureMessage,
		OccurredAt: ev.OccurredAt,
	}
	if len(ev.Kind.Map) > 0 {
		m.KindMap = make(map[string]bankhooks.Kind, len(ev.Kind.Map))
		for k, v := range ev.Kind.Map {
			m.KindMap[k] = bankhooks.Kind(v)
		}
	}
	return m
}

// ProviderNames are the provider names a source may use: the built-ins and
// generic, sorted.
func ProviderNames() []string {
	names := bankhooks.Names()
	if _, ok := bankhooks.Lookup(GenericProvider); !ok {
		names = append(names, GenericProvider)
	}
	sort.Strings(names)
	return names
}

// schemeProblems reports a BuildProvider error of the source at p: each
// SchemeError problem at its own key path.
func schemeProblems(ps *problems, p string, err error) {
	var se *bankhooks.SchemeError
	if errors.As(err, &se) {
		for _, fp := range se.Problems {
			ps.add(join(p, fp.Field), "%s", fp.Message)
		}
		return
	}
	ps.add(join(p, "provider"), "%v", err)
}
