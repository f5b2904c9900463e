package bankhooks

// PublishedIPs returns the source addresses a provider publishes for its
// webhooks, as CIDRs, and where the list comes from; nil when the provider
// publishes none (or the list could not be confirmed). The lists change
// rarely but they do change: `bankbot source test` compares a source's
// allow_ips with them and says where to check for a newer list.
func PublishedIPs(provider string) (cidrs []string, from string) {
	switch provider {
	case "omise":
		return []string{"54.169.118.227/32", "52.74.199.175/32", "18.139.13.19/32"},
			"https://docs.opn.ooo/webhooks (and https://cdn.omise.co/ips.json)"
	case "midtrans":
		// Production; the sandbox sends from 103.58.103.177.
		return []string{"103.208.23.0/24", "103.208.23.6/32", "103.127.16.0/23", "103.127.17.6/32"},
			"https://docs.midtrans.com/docs/why-did-i-not-receive-any-http-notification-from-midtrans-system"
	case "stripe":
		return nil, "https://stripe.com/files/ips/ips_webhooks.txt"
	}
	return nil, ""
}
