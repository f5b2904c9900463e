package bankhooks

import "sort"

// Lookup returns the built-in provider with the given config name
// ("omise", "stripe", "standardwebhooks"). Providers that are not built yet
// (airwallex, xendit, midtrans, adyen, generic) are not found.
func Lookup(name string) (Provider, bool) {
	switch name {
	case "omise":
		return Omise{}, true
	case "stripe":
		return Stripe{}, true
	case "standardwebhooks":
		return StandardWebhooks{}, true
	}
	return nil, false
}

// Names returns the names Lookup knows, sorted.
func Names() []string {
	names := []string{Omise{}.Name(), Stripe{}.Name(), StandardWebhooks{}.Name()}
	sort.Strings(names)
	return names
}
