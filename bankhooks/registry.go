package bankhooks

// Lookup returns the built-in provider with the given config name ("omise",
// "stripe", "standardwebhooks", "airwallex", "xendit", "midtrans", "adyen",
// "twoc2p"). The generic provider is built from configuration, not looked up.
func Lookup(name string) (Provider, bool) {
	switch name {
	case "omise":
		return Omise{}, true
	case "stripe":
		return Stripe{}, true
	case "standardwebhooks":
		return StandardWebhooks{}, true
	case "airwallex":
		return Airwallex{}, true
	case "xendit":
		return Xendit{}, true
	case "midtrans":
		return Midtrans{}, true
	case "adyen":
		return Adyen{}, true
	case "twoc2p":
		return TwoC2P{}, true
	}
	return nil, false
}

// Names returns the names Lookup knows, sorted.
func Names() []string {
	return []string{"adyen", "airwallex", "midtrans", "omise", "standardwebhooks", "stripe", "twoc2p", "xendit"}
}
