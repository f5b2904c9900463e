package bankhooks

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TwoC2P is 2C2P's PGW backend notification ("Payment Response (Backend)"):
// a server-to-server POST whose body is {"payload":"<JWT>"}.
//
// Signature: the JWT is HS256, keyed with the merchant's secret key used as
// its ASCII string (it looks like hex but is not decoded: the hex-decoded
// key does not verify 2C2P's own sample). Verification uses
// github.com/golang-jwt/jwt/v5 restricted to HS256 (WithValidMethods): "none",
// RS256/PS256 and every other alg are refused before any key is tried, and
// the library compares MACs in constant time. Every active key is tried
// (rotation); a token that only an expired key verifies is ErrKeyExpired.
//
// Failure policy (Verify): fails closed. No usable key, a body without a
// string payload, a payload that is not a JWS of three segments, a header
// whose alg is not HS256, or a MAC that matches no active key is an error.
//
// Replay: 2C2P's tokens carry no exp or iat, so none is required and there
// is no replay window; the protection is the dedupe key, Event.ID
// (invoiceNo:tranRef:respCode, all signed). When a token does carry exp or
// nbf, it is honoured against VerifyOptions.Now (never the wall clock):
// outside them it is ErrTimestampOutOfWindow.
//
// Events (Parse; Type is "payment_response"; 2C2P sends no event type):
//   - respCode "0000" → payment.succeeded;
//   - "0001" (pending), "2001" (transaction in progress), "1003" (payslip
//     issued, payment pending: 123 / pay-at-counter) → payment.pending;
//   - any other code → payment.failed with FailureCode respCode and
//     FailureMessage respDesc.
//
// ID is invoiceNo:tranRef:respCode, so a later status of the same invoice
// (pending, then paid) is a new event while 2C2P's retries of one status are
// duplicates. Amount is 2C2P's amount in MAJOR units, a JSON number (1000)
// or string ("230.87"), parsed from its text with ParseMajor (never a
// float); currencyCode is the ISO 4217 alphabetic code, or the numeric one
// for the codes 2C2P's markets use (764 → THB …). Reference is invoiceNo;
// Account is cardNo (masked) or accountNo; Description is description;
// OccurredAt is transactionDateTime (yyyyMMddHHmmss), read as Bangkok time
// (UTC+7): 2C2P does not document the zone. Livemode is always true: the
// payload does not say whether it comes from the sandbox.
type TwoC2P struct{}

var _ Provider = TwoC2P{}

// twoC2PType is Event.Type of every 2C2P event.
const twoC2PType = "payment_response"

// twoC2PZone is the zone of transactionDateTime (assumed, see TwoC2P).
var twoC2PZone = time.FixedZone("UTC+7", 7*60*60)

// Name returns "twoc2p".
func (TwoC2P) Name() string { return "twoc2p" }

// DecodeKey returns the merchant secret key as its bytes (surrounding
// whitespace removed): 2C2P's HS256 uses the key string as is, not
// hex-decoded.
func (TwoC2P) DecodeKey(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	if s == "" {
		return nil, fmt.Errorf("twoc2p: %w", errEmptySecret)
	}
	return []byte(s), nil
}

// twoC2PBody is the notification body.
type twoC2PBody struct {
	Payload *adyenText `json:"payload"`
}

// twoC2PToken returns the JWT of body, or a Verify error.
func twoC2PToken(body []byte) (string, error) {
	var b twoC2PBody
	if err := decodeJSON(body, &b); err != nil {
		return "", fmt.Errorf("%w: body is not {\"payload\": \"<JWT>\"}: %v", ErrMissingSignature, err)
	}
	if b.Payload == nil || strings.TrimSpace(string(*b.Payload)) == "" {
		return "", fmt.Errorf("%w: body has no payload", ErrMissingSignature)
	}
	return strings.TrimSpace(string(*b.Payload)), nil
}

// Verify checks the HS256 JWT in the body's payload.
func (TwoC2P) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	tok, err := twoC2PToken(r.Body)
	if err != nil {
		return Verification{}, err
	}
	// Read the header first so a wrong alg is reported as such (and never
	// reaches a key).
	t, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		return Verification{}, fmt.Errorf("%w: payload is not a JWT: %v", ErrMalformedSignature, err)
	}
	if alg, _ := t.Header["alg"].(string); alg != jwt.SigningMethodHS256.Alg() {
		return Verification{}, fmt.Errorf("%w: JWT alg %q is not accepted; 2C2P signs with HS256", ErrMalformedSignature, truncate(alg, 16))
	}
	now := opts.Now
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var expiredMatch *Key
	var timeErr error
	active := 0
	for i := range keys {
		k := &keys[i]
		if len(k.Material) == 0 {
			continue
		}
		isActive := k.ActiveAt(now)
		if isActive {
			active++
		}
		_, err := parser.Parse(tok, func(t *jwt.Token) (any, error) {
			if t.Method != jwt.SigningMethodHS256 {
				return nil, errors.New("not HS256")
			}
			return k.Material, nil
		})
		switch {
		case err == nil:
			if isActive {
				return Verification{Key: k.Name}, nil
			}
			if expiredMatch == nil {
				expiredMatch = k
			}
		case errors.Is(err, jwt.ErrTokenExpired) || errors.Is(err, jwt.ErrTokenNotValidYet):
			// The library checks claims only after the MAC verified: the
			// token is authentic but outside its exp/nbf.
			if timeErr == nil {
				timeErr = fmt.Errorf("%w: %v (2C2P token exp/nbf, checked at %s)", ErrTimestampOutOfWindow, err, now.UTC().Format(time.RFC3339))
			}
		case errors.Is(err, jwt.ErrTokenInvalidClaims):
			// Authentic, but exp/nbf/iat cannot be read: fail closed.
			return Verification{}, fmt.Errorf("%w: the JWT's time claims cannot be read: %v", ErrMalformedSignature, err)
		}
	}
	switch {
	case timeErr != nil:
		return Verification{}, timeErr
	case expiredMatch != nil:
		return Verification{}, fmt.Errorf("%w: key %q expired at %s", ErrKeyExpired, expiredMatch.Name,
			expiredMatch.Expires.UTC().Format(time.RFC3339))
	case active == 0:
		return Verification{}, fmt.Errorf("%w: %d configured, none active and non-empty", ErrNoActiveKey, len(keys))
	}
	return Verification{}, fmt.Errorf("%w: tried %d active key(s) against the JWT", ErrSignatureMismatch, active)
}

// twoC2PClaims are the payment response fields Parse uses.
type twoC2PClaims struct {
	MerchantID          adyenText `json:"merchantID"`
	InvoiceNo           adyenText `json:"invoiceNo"`
	CardNo              adyenText `json:"cardNo"`
	AccountNo           adyenText `json:"accountNo"`
	Amount              adyenText `json:"amount"`
	CurrencyCode        adyenText `json:"currencyCode"`
	TranRef             adyenText `json:"tranRef"`
	ReferenceNo         adyenText `json:"referenceNo"`
	TransactionDateTime adyenText `json:"transactionDateTime"`
	RespCode            adyenText `json:"respCode"`
	RespDesc            adyenText `json:"respDesc"`
	Description         adyenText `json:"description"`
}

// twoC2PNumericCurrency maps the ISO 4217 numeric codes of 2C2P's markets
// to their alphabetic codes.
var twoC2PNumericCurrency = map[string]string{
	"764": "THB", "702": "SGD", "360": "IDR", "458": "MYR", "608": "PHP",
	"704": "VND", "344": "HKD", "156": "CNY", "392": "JPY", "410": "KRW",
	"840": "USD", "978": "EUR", "826": "GBP", "036": "AUD", "104": "MMK",
	"116": "KHR", "418": "LAK", "901": "TWD", "356": "INR", "096": "BND",
}

// twoC2PCurrency returns the alphabetic ISO code of a 2C2P currencyCode.
func twoC2PCurrency(code string) (string, error) {
	c := strings.TrimSpace(code)
	if allDigits(c) {
		if len(c) < 3 {
			c = strings.Repeat("0", 3-len(c)) + c
		}
		alpha, ok := twoC2PNumericCurrency[c]
		if !ok {
			return "", malformed("currencyCode %q: %w", truncate(c, 8), ErrUnknownCurrency)
		}
		return alpha, nil
	}
	alpha, err := NormalizeCurrency(c)
	if err != nil {
		return "", malformed("currencyCode: %w", err)
	}
	return alpha, nil
}

// Parse decodes the JWT's claims (Verify has checked its signature) into
// the canonical Event.
func (TwoC2P) Parse(r Request) (Event, error) {
	var b twoC2PBody
	if err := decodeJSON(r.Body, &b); err != nil {
		return Event{}, malformed("body is not {\"payload\": \"<JWT>\"}: %v", err)
	}
	if b.Payload == nil {
		return Event{}, malformed("missing %q", "payload")
	}
	parts := strings.Split(strings.TrimSpace(string(*b.Payload)), ".")
	if len(parts) != 3 {
		return Event{}, malformed("payload is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Event{}, malformed("JWT claims are not base64url")
	}
	var c twoC2PClaims
	if err := decodeJSON(raw, &c); err != nil {
		return Event{}, malformed("JWT claims: %v", err)
	}
	invoice := strings.TrimSpace(string(c.InvoiceNo))
	resp := strings.TrimSpace(string(c.RespCode))
	switch {
	case invoice == "":
		return Event{}, malformed("missing %q", "invoiceNo")
	case resp == "":
		return Event{}, malformed("missing %q", "respCode")
	}
	id := invoice + ":" + strings.TrimSpace(string(c.TranRef)) + ":" + resp
	if !adyenUsableID(id) {
		return Event{}, malformed("invoiceNo/tranRef/respCode do not make a usable id")
	}
	ev := Event{
		Provider:    "twoc2p",
		ID:          id,
		Type:        twoC2PType,
		Kind:        twoC2PKind(resp),
		Reference:   invoice,
		Account:     firstNonEmpty(string(c.CardNo), string(c.AccountNo)),
		Description: string(c.Description),
		Livemode:    true,
	}
	if ev.Kind.Failed() {
		ev.FailureCode, ev.FailureMessage = resp, string(c.RespDesc)
	}
	amount := strings.TrimSpace(string(c.Amount))
	cur := strings.TrimSpace(string(c.CurrencyCode))
	switch {
	case cur != "":
		if ev.Currency, err = twoC2PCurrency(cur); err != nil {
			return Event{}, err
		}
		if amount != "" {
			if ev.Amount, err = ParseMajor(amount, ev.Currency); err != nil {
				return Event{}, malformed("amount: %w", err)
			}
		}
	case amount != "":
		return Event{}, malformed("amount %q has no currencyCode", truncate(amount, 24))
	}
	if ev.Amount < 0 {
		return Event{}, malformed("amount %q is negative", truncate(amount, 24))
	}
	if ts := strings.TrimSpace(string(c.TransactionDateTime)); ts != "" {
		t, err := time.ParseInLocation("20060102150405", ts, twoC2PZone)
		if err != nil {
			return Event{}, malformed("transactionDateTime %q is not yyyyMMddHHmmss", truncate(ts, 24))
		}
		ev.OccurredAt = t.UTC()
	}
	return ev, nil
}

// twoC2PKind maps a respCode to a canonical kind (see TwoC2P).
func twoC2PKind(resp string) Kind {
	switch resp {
	case "0000":
		return KindPaymentSucceeded
	case "0001", "2001", "1003":
		return KindPaymentPending
	}
	return KindPaymentFailed
}

// twoC2PHeader is the JOSE header 2C2P sends, base64url-encoded.
var twoC2PHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// Sign builds the notification 2C2P would send for the claims JSON in body:
// an HS256 JWT of body (compacted, member order kept) with the first key
// (a JWT carries one signature), wrapped as {"payload":"<JWT>"}.
func (TwoC2P) Sign(body []byte, keys []Key, _ time.Time, _ string) (Signed, error) {
	mats, err := signingKeys("twoc2p", keys)
	if err != nil {
		return Signed{}, err
	}
	var claims map[string]json.RawMessage
	if err := decodeJSON(body, &claims); err != nil || claims == nil {
		return Signed{}, fmt.Errorf("twoc2p: sign: body must be the JWT claims as a JSON object")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return Signed{}, fmt.Errorf("twoc2p: sign: %v", err)
	}
	signing := twoC2PHeader + "." + base64.RawURLEncoding.EncodeToString(compact.Bytes())
	sig, err := jwt.SigningMethodHS256.Sign(signing, mats[0])
	if err != nil {
		return Signed{}, fmt.Errorf("twoc2p: sign: %v", err)
	}
	out, err := json.Marshal(map[string]string{"payload": signing + "." + base64.RawURLEncoding.EncodeToString(sig)})
	if err != nil {
		return Signed{}, fmt.Errorf("twoc2p: sign: %v", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return Signed{Header: h, Body: out}, nil
}

// 2C2P sample types: the default is a successful card payment; the
// ":pending" and ":failed" variants are our own labels for other respCodes.
const (
	twoC2PSamplePaid    = twoC2PType
	twoC2PSamplePending = twoC2PType + ":pending"
	twoC2PSampleFailed  = twoC2PType + ":failed"
)

// SampleTypes lists the 2C2P payment responses Sample builds.
func (TwoC2P) SampleTypes() []string {
	return []string{twoC2PSamplePaid, twoC2PSamplePending, twoC2PSampleFailed}
}

// Sample builds the decoded claims of a 2C2P payment response (Sign turns
// them into the {"payload":"<JWT>"} body), amount in major units as a
// string like 2C2P's documented sample. p.ID, when set, is the invoiceNo.
func (TwoC2P) Sample(eventType string, p SampleParams) ([]byte, error) {
	sp, err := sampleDefaults(p, "THB")
	if err != nil {
		return nil, fmt.Errorf("twoc2p: sample: %w", err)
	}
	major, err := FormatMajor(sp.Amount, sp.Currency)
	if err != nil {
		return nil, fmt.Errorf("twoc2p: sample: %w", err)
	}
	local := p.Now.In(twoC2PZone)
	digits := strconv.FormatUint(uint64(p.Now.UnixNano())%1_000_000_000_000, 10)
	invoice := firstNonEmpty(p.ID, local.Format("020106")+digits[max(0, len(digits)-6):])
	claims := []struct{ k, v string }{
		{"merchantID", "JT01"},
		{"invoiceNo", invoice},
		{"cardNo", "411111XXXXXX1111"},
		{"amount", major},
		{"currencyCode", sp.Currency},
		{"tranRef", "28" + digits[max(0, len(digits)-5):]},
		{"referenceNo", "27" + digits[max(0, len(digits)-5):]},
		{"approvalCode", "531484"},
		{"eci", "05"},
		{"transactionDateTime", local.Format("20060102150405")},
	}
	switch eventType {
	case "", twoC2PSamplePaid:
		claims = append(claims, struct{ k, v string }{"respCode", "0000"}, struct{ k, v string }{"respDesc", "Success"})
	case twoC2PSamplePending:
		claims = append(claims, struct{ k, v string }{"respCode", "0001"}, struct{ k, v string }{"respDesc", "Transaction is pending"})
	case twoC2PSampleFailed:
		claims = append(claims, struct{ k, v string }{"respCode", "4005"}, struct{ k, v string }{"respDesc", "Do not honour"})
	default:
		return nil, fmt.Errorf("twoc2p: sample %q: %w (known: %s)", eventType, ErrUnknownEventType,
			strings.Join(TwoC2P{}.SampleTypes(), ", "))
	}
	// Written by hand to keep 2C2P's member order.
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range claims {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(adyenMarshal(c.k))
		b.WriteByte(':')
		b.Write(adyenMarshal(c.v))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
