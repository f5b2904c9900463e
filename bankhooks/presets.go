package bankhooks

// The built-in signing schemes, as data on the declarative engine
// (scheme.go). Each is compiled once, at package initialisation; a preset
// that does not compile panics, which every test run catches.
//
// Sources of each scheme: providers.md §1–6 and the comments of the
// provider types.
var (
	// omiseScheme: Opn Payments (community consensus, providers.md §1.2):
	// Omise-Signature is a comma-separated list of lower-case hex
	// HMAC-SHA256 of "<Omise-Signature-Timestamp>.<raw body>", keyed with the
	// base64-decoded dashboard secret; the timestamp is unix seconds, signed
	// as sent.
	omiseScheme = mustVerifier(Scheme{
		name:            "omise",
		Header:          OmiseSignatureHeader,
		Format:          "comma-list",
		Algorithm:       "hmac-sha256",
		KeyEncoding:     "base64",
		Encoding:        "hex",
		Signed:          "{timestamp}.{body}",
		TimestampHeader: OmiseTimestampHeader,
	})

	// stripeScheme: Stripe-Signature "t=<unix>,v1=<hex>[,v1=…]", HMAC-SHA256
	// of "<t>.<raw body>" keyed with the whole whsec_ string, parsed exactly
	// as stripe-go does (compat).
	stripeScheme = mustVerifier(Scheme{
		name:        "stripe",
		Header:      StripeSignatureHeader,
		Format:      "kv",
		Algorithm:   "hmac-sha256",
		KeyEncoding: "raw",
		Encoding:    "hex",
		Signed:      "{timestamp}.{body}",
		compat:      true,
		contentType: "application/json; charset=utf-8",
	})

	// standardWebhooksScheme: webhook-signature "v1,<base64> …", HMAC-SHA256
	// of "<webhook-id>.<webhook-timestamp>.<raw body>" keyed with the
	// base64 after whsec_, parsed exactly as the reference Go library does
	// (compat).
	standardWebhooksScheme = mustVerifier(Scheme{
		name:            "standardwebhooks",
		Header:          StandardWebhooksSignatureHeader,
		Format:          "space-list",
		Version:         "v1",
		Algorithm:       "hmac-sha256",
		KeyEncoding:     "whsec",
		Encoding:        "base64",
		Signed:          "{id}.{timestamp}.{body}",
		TimestampHeader: StandardWebhooksTimestampHeader,
		IDHeader:        StandardWebhooksIDHeader,
		compat:          true,
	})

	// airwallexScheme: x-signature is the lower-case hex HMAC-SHA256 of
	// x-timestamp (unix milliseconds, as sent) followed directly by the raw
	// body, keyed with the secret as written (providers.md §4).
	airwallexScheme = mustVerifier(Scheme{
		name:            "airwallex",
		Header:          "x-signature",
		Algorithm:       "hmac-sha256",
		KeyEncoding:     "raw",
		Encoding:        "hex",
		Signed:          "{timestamp}{body}",
		TimestampHeader: "x-timestamp",
		TimestampUnit:   "ms",
	})

	// xenditScheme: x-callback-token equals the account's webhook
	// verification token (constant-time); nothing is signed, so there is no
	// timestamp (providers.md §5). webhook-id is the message id newer
	// products send; Sign sets it.
	xenditScheme = mustVerifier(Scheme{
		name:      "xendit",
		Header:    "x-callback-token",
		Algorithm: "static-token",
		IDHeader:  "webhook-id",
	})

	// midtransScheme: the body's signature_key is the lower-case hex
	// SHA-512 of order_id, status_code, gross_amount (the strings exactly as
	// sent) and the server key, concatenated (a plain digest, not an HMAC;
	// providers.md §6).
	midtransScheme = mustVerifier(Scheme{
		name:        "midtrans",
		BodyField:   "signature_key",
		Algorithm:   "sha512-digest",
		KeyEncoding: "raw",
		Encoding:    "hex",
		Signed:      "{json:order_id}{json:status_code}{json:gross_amount}{secret}",
	})
)
