package bankhooks

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AdyenAckBody is the answer Adyen requires for a delivered notification;
// anything else puts the notification in Adyen's retry queue.
const AdyenAckBody = "[accepted]"

// Adyen is Adyen's standard (payments) webhook scheme: one HTTP request
// carries one or more notification items, each signed on its own.
//
// Body: {"live":"false","notificationItems":[{"NotificationRequestItem":{…}}, …]}.
//
// Signature (Adyen's Go, Java and Node libraries, hmacvalidator
// GetDataToSign): additionalData.hmacSignature of each item is the standard
// base64 HMAC-SHA256 of
//
//	pspReference:originalReference:merchantAccountCode:merchantReference:amount.value:amount.currency:eventCode:success
//
// keyed with the Customer Area HMAC key hex-decoded (DecodeKey). A missing
// value is the empty string, so "::" appears (an absent amount.value is
// signed as "": Adyen's Node library; its Go library would write "0", but
// Adyen always sends an amount on standard notifications). The value is the
// JSON text of the number as sent.
//
// Failure policy (Verify): fails closed. A request is accepted only when it
// has at least one item and EVERY item carries a signature that matches an
// active key (each item may match a different key: during a rotation queued
// items keep the old key's signature). A request with no items, an item
// without hmacSignature, an unreadable signature or one mismatched item is
// refused as a whole, so Adyen retries it and no half of a batch is ever
// stored unauthenticated. Comparison is constant time (matchKeys).
//
// Only the eight fields above are signed: "live", eventDate, reason,
// paymentMethod and additionalData are not authenticated by Adyen's scheme.
// No timestamp is signed, so there is no replay window: the protection
// against a replayed item is the dedupe key, Event.ID =
// pspReference:eventCode:success (Adyen's documented dedupe fields), which
// is signed.
//
// Events (ParseAll, one per item; Type is eventCode):
//   - AUTHORISATION: success "true" → payment.succeeded, "false" →
//     payment.failed (FailureMessage is reason).
//   - CAPTURE: success "true" → payment.succeeded, "false" → payment.failed;
//     CAPTURE_FAILED → payment.failed. With manual capture a payment is
//     reported twice (authorised, then captured): both are money-relevant.
//   - REFUND: "true" → refund.succeeded, "false" → refund.failed;
//     REFUND_FAILED and REFUNDED_REVERSED (the refund came back) →
//     refund.failed.
//   - CANCELLATION, CANCEL_OR_REFUND → other: the merchant released an
//     authorisation; no money moved and nobody needs to be @-mentioned (a
//     refund made by CANCEL_OR_REFUND is reported by its own REFUND item).
//   - CHARGEBACK, NOTIFICATION_OF_CHARGEBACK, SECOND_CHARGEBACK →
//     dispute.opened (FailureCode additionalData.chargebackReasonCode,
//     FailureMessage reason).
//   - anything else → other.
//
// Amount is amount.value (integer minor units), Currency amount.currency;
// Reference is merchantReference (pspReference when empty); Account
// additionalData.cardSummary; Counterparty additionalData.cardHolderName;
// Livemode is "live" == "true" (anything but "false" counts as live: real
// money until someone looks); OccurredAt is eventDate.
//
// An item that verified but cannot be read (no pspReference or eventCode,
// success neither "true" nor "false", an amount that is not a non-negative
// integer, an unknown currency, a bad eventDate …) comes back as a
// KindUnreadable event with an id of its own, so the other items of the
// request still go through.
type Adyen struct{}

var (
	_ Provider     = Adyen{}
	_ MultiParser  = Adyen{}
	_ Acknowledger = Adyen{}
)

// Name returns "adyen".
func (Adyen) Name() string { return "adyen" }

// DecodeKey hex-decodes the HMAC key from the Customer Area (Developers >
// Webhooks > the webhook > Security > HMAC key). Surrounding whitespace is
// ignored.
func (Adyen) DecodeKey(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	if s == "" {
		return nil, fmt.Errorf("adyen: %w", errEmptySecret)
	}
	k, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("adyen: secret is not hexadecimal (the Adyen HMAC key is %s; paste it exactly as the Customer Area shows it, e.g. 64 hex digits)",
			adyenHexProblem(s))
	}
	return k, nil
}

// adyenHexProblem says what is wrong with a non-hex string, without quoting it.
func adyenHexProblem(s string) string {
	if len(s)%2 != 0 {
		return fmt.Sprintf("an even number of hex digits; this one has %d characters", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return fmt.Sprintf("hex digits only; character %d is not one", i+1)
		}
	}
	return "hex digits only"
}

// Ack returns Adyen's required answer, "[accepted]" as plain text.
func (Adyen) Ack() (string, []byte) {
	return "text/plain; charset=utf-8", []byte(AdyenAckBody)
}

// adyenText is a JSON string read as its value, or a JSON number or
// boolean read as its literal text; null (or absence) is "". Adyen sends
// strings ("success":"true") and numbers (amount.value) where its libraries
// expect them; accepting the other literal keeps a signed field readable
// without changing what is signed.
type adyenText string

// UnmarshalJSON implements json.Unmarshaler.
func (t *adyenText) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("empty value")
	case string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = adyenText(s)
	case b[0] == '{' || b[0] == '[':
		return errors.New("expected a string, number or boolean")
	default:
		*t = adyenText(b)
	}
	return nil
}

// adyenEnvelope is the request body; items are kept raw and read one by one.
type adyenEnvelope struct {
	Live              adyenText `json:"live"`
	NotificationItems []struct {
		Item json.RawMessage `json:"NotificationRequestItem"`
	} `json:"notificationItems"`
}

// adyenAmount is an item's amount.
type adyenAmount struct {
	Value    adyenText `json:"value"`
	Currency adyenText `json:"currency"`
}

// adyenSigned is what Verify reads of an item: the signed fields and the
// signature. Other members are ignored, so an unsigned field of an odd
// shape never stops verification.
type adyenSigned struct {
	PspReference        adyenText   `json:"pspReference"`
	OriginalReference   adyenText   `json:"originalReference"`
	MerchantAccountCode adyenText   `json:"merchantAccountCode"`
	MerchantReference   adyenText   `json:"merchantReference"`
	Amount              adyenAmount `json:"amount"`
	EventCode           adyenText   `json:"eventCode"`
	Success             adyenText   `json:"success"`
	AdditionalData      struct {
		HmacSignature adyenText `json:"hmacSignature"`
	} `json:"additionalData"`
}

// dataToSign is Adyen's GetDataToSign.
func (s *adyenSigned) dataToSign() []byte {
	return []byte(strings.Join([]string{
		string(s.PspReference), string(s.OriginalReference),
		string(s.MerchantAccountCode), string(s.MerchantReference),
		string(s.Amount.Value), string(s.Amount.Currency),
		string(s.EventCode), string(s.Success),
	}, ":"))
}

// adyenItem is what Parse reads of an item.
type adyenItem struct {
	PspReference      adyenText   `json:"pspReference"`
	MerchantReference adyenText   `json:"merchantReference"`
	Amount            adyenAmount `json:"amount"`
	EventCode         adyenText   `json:"eventCode"`
	EventDate         adyenText   `json:"eventDate"`
	Success           adyenText   `json:"success"`
	Reason            adyenText   `json:"reason"`
	AdditionalData    struct {
		CardSummary          adyenText `json:"cardSummary"`
		CardHolderName       adyenText `json:"cardHolderName"`
		ChargebackReasonCode adyenText `json:"chargebackReasonCode"`
	} `json:"additionalData"`
}

// decodeAdyen reads the envelope.
func decodeAdyen(body []byte) (*adyenEnvelope, error) {
	var env adyenEnvelope
	if err := decodeJSON(body, &env); err != nil {
		return nil, err
	}
	return &env, nil
}

// adyenRawNull reports whether a raw JSON member is absent or null.
func adyenRawNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// Verify checks the hmacSignature of every notification item (see the
// failure policy on Adyen). Verification.Key names the matching key, or the
// distinct matching keys comma-joined in item order when items were signed
// with different keys.
func (Adyen) Verify(r Request, keys []Key, opts VerifyOptions) (Verification, error) {
	env, err := decodeAdyen(r.Body)
	if err != nil {
		return Verification{}, fmt.Errorf("%w: body is not an Adyen notification ({\"notificationItems\":[…]}): %v", ErrMissingSignature, err)
	}
	if len(env.NotificationItems) == 0 {
		return Verification{}, fmt.Errorf("%w: the notification has no notificationItems", ErrMissingSignature)
	}
	var names []string
	for i, w := range env.NotificationItems {
		if adyenRawNull(w.Item) {
			return Verification{}, fmt.Errorf("%w: notification item %d has no NotificationRequestItem", ErrMissingSignature, i)
		}
		var it adyenSigned
		if err := json.Unmarshal(w.Item, &it); err != nil {
			return Verification{}, fmt.Errorf("%w: notification item %d: its signed fields cannot be read: %v", ErrMalformedSignature, i, err)
		}
		sigText := strings.TrimSpace(string(it.AdditionalData.HmacSignature))
		if sigText == "" {
			return Verification{}, fmt.Errorf("%w: notification item %d has no additionalData.hmacSignature (is HMAC enabled for this webhook in the Customer Area?)", ErrMissingSignature, i)
		}
		sig, err := base64.StdEncoding.DecodeString(sigText)
		if err != nil || len(sig) != sha256.Size {
			return Verification{}, fmt.Errorf("%w: notification item %d: hmacSignature is not a base64 HMAC-SHA256", ErrMalformedSignature, i)
		}
		data := it.dataToSign()
		name, err := matchKeys(keys, opts.Now, func(k []byte) []byte { return hmacSHA256(k, data) }, [][]byte{sig})
		if err != nil {
			return Verification{}, fmt.Errorf("notification item %d: %w", i, err)
		}
		if !adyenHasName(names, name) {
			names = append(names, name)
		}
	}
	return Verification{Key: strings.Join(names, ",")}, nil
}

func adyenHasName(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Parse returns the event of the first notification item, for callers that
// do not use ParseAll. An unreadable first item is an error.
func (a Adyen) Parse(r Request) (Event, error) {
	env, err := decodeAdyen(r.Body)
	if err != nil {
		return Event{}, malformed("not an Adyen notification: %v", err)
	}
	if len(env.NotificationItems) == 0 {
		return Event{}, malformed("the notification has no notificationItems")
	}
	return adyenItemEvent(env.NotificationItems[0].Item, adyenLive(env.Live))
}

// ParseAll returns one event per notification item, in order. An item that
// cannot be read becomes a KindUnreadable event (see Adyen). The error is
// for a body with no items to read.
func (Adyen) ParseAll(r Request) ([]Event, error) {
	env, err := decodeAdyen(r.Body)
	if err != nil {
		return nil, malformed("not an Adyen notification: %v", err)
	}
	if len(env.NotificationItems) == 0 {
		return nil, malformed("the notification has no notificationItems")
	}
	live := adyenLive(env.Live)
	evs := make([]Event, 0, len(env.NotificationItems))
	for i, w := range env.NotificationItems {
		ev, err := adyenItemEvent(w.Item, live)
		if err != nil {
			ev = adyenUnreadable(r.Body, i, w.Item, live, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// adyenLive reads the envelope's "live": only "false" is test mode.
func adyenLive(live adyenText) bool {
	return !strings.EqualFold(strings.TrimSpace(string(live)), "false")
}

// adyenSuccess reads an item's success flag.
func adyenSuccess(s adyenText) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(string(s))) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, malformed("success is %q, want \"true\" or \"false\"", truncate(string(s), 16))
}

// adyenID is Adyen's dedupe key of an item.
func adyenID(psp, eventCode, success adyenText) string {
	return string(psp) + ":" + string(eventCode) + ":" + string(success)
}

// adyenUsableID reports whether id can serve as a dedupe key.
func adyenUsableID(id string) bool {
	return id != "" && len(id) <= maxUnreadableID && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// adyenItemEvent maps one notification item to the canonical Event.
func adyenItemEvent(raw json.RawMessage, live bool) (Event, error) {
	if adyenRawNull(raw) {
		return Event{}, malformed("notification item has no NotificationRequestItem")
	}
	var it adyenItem
	if err := json.Unmarshal(raw, &it); err != nil {
		return Event{}, malformed("NotificationRequestItem: %v", err)
	}
	switch {
	case it.PspReference == "":
		return Event{}, malformed("missing %q", "pspReference")
	case it.EventCode == "":
		return Event{}, malformed("missing %q", "eventCode")
	}
	success, err := adyenSuccess(it.Success)
	if err != nil {
		return Event{}, err
	}
	id := adyenID(it.PspReference, it.EventCode, it.Success)
	if !adyenUsableID(id) {
		return Event{}, malformed("pspReference/eventCode/success do not make a usable id")
	}
	occurred, err := parseTime("eventDate", string(it.EventDate))
	if err != nil {
		return Event{}, err
	}
	ev := Event{
		Provider:     "adyen",
		ID:           id,
		Type:         string(it.EventCode),
		Kind:         adyenKind(string(it.EventCode), success),
		Reference:    firstNonEmpty(string(it.MerchantReference), string(it.PspReference)),
		Account:      string(it.AdditionalData.CardSummary),
		Counterparty: string(it.AdditionalData.CardHolderName),
		Livemode:     live,
		OccurredAt:   occurred,
	}
	if ev.Amount, ev.Currency, err = money(json.Number(it.Amount.Value), string(it.Amount.Currency)); err != nil {
		return Event{}, err
	}
	if ev.Amount < 0 {
		return Event{}, malformed("amount %d is negative", ev.Amount)
	}
	if ev.Kind.Failed() {
		ev.FailureMessage = string(it.Reason)
		if ev.Kind == KindDisputeOpened {
			ev.FailureCode = string(it.AdditionalData.ChargebackReasonCode)
		}
	}
	return ev, nil
}

// adyenKind maps an event code and its success flag to a canonical kind.
// The rules are documented on Adyen.
func adyenKind(eventCode string, success bool) Kind {
	switch eventCode {
	case "AUTHORISATION", "CAPTURE":
		if success {
			return KindPaymentSucceeded
		}
		return KindPaymentFailed
	case "CAPTURE_FAILED":
		return KindPaymentFailed
	case "REFUND":
		if success {
			return KindRefundSucceeded
		}
		return KindRefundFailed
	case "REFUND_FAILED", "REFUNDED_REVERSED":
		return KindRefundFailed
	case "CHARGEBACK", "NOTIFICATION_OF_CHARGEBACK", "SECOND_CHARGEBACK":
		return KindDisputeOpened
	}
	return KindOther
}

// adyenUnreadable is the KindUnreadable event of item i of body. Its id is
// the item's dedupe key when the signed fields give a usable one, else the
// body's hash and the item's index, so a retry of the same request is a
// duplicate either way and two unreadable items of one request never
// collide.
func adyenUnreadable(body []byte, i int, raw json.RawMessage, live bool, cause error) Event {
	ev := Unreadable("adyen", Request{Body: body}, cause.Error())
	ev.ID = BodyID(body) + ":" + strconv.Itoa(i)
	ev.Livemode = live
	var s adyenSigned
	if !adyenRawNull(raw) && json.Unmarshal(raw, &s) == nil {
		if id := adyenID(s.PspReference, s.EventCode, s.Success); s.PspReference != "" && s.EventCode != "" && adyenUsableID(id) {
			ev.ID = id
		}
		if t := string(s.EventCode); t != "" && len(t) <= maxUnreadableID && utf8.ValidString(t) {
			ev.Type = t
		}
	}
	return ev
}

// Sign returns body with additionalData.hmacSignature set in every
// notification item, computed with the first key: Adyen signs each item
// with one key, so a rotation is not shown as several signatures. The body
// is re-encoded: members are sorted by name and white space is removed;
// every value is kept as it was (numbers keep their text).
func (Adyen) Sign(body []byte, keys []Key, _ time.Time, _ string) (Signed, error) {
	mats, err := signingKeys("adyen", keys)
	if err != nil {
		return Signed{}, err
	}
	key := mats[0]
	bad := func(format string, args ...any) (Signed, error) {
		return Signed{}, fmt.Errorf("adyen: sign: "+format, args...)
	}
	var top map[string]json.RawMessage
	if err := decodeJSON(body, &top); err != nil || top == nil {
		return bad("body is not a JSON object")
	}
	var items []map[string]json.RawMessage
	if adyenRawNull(top["notificationItems"]) {
		return bad("body has no notificationItems")
	}
	if err := json.Unmarshal(top["notificationItems"], &items); err != nil {
		return bad("notificationItems is not an array of objects: %v", err)
	}
	if len(items) == 0 {
		return bad("notificationItems is empty")
	}
	for i, w := range items {
		raw := w["NotificationRequestItem"]
		if w == nil || adyenRawNull(raw) {
			return bad("notification item %d has no NotificationRequestItem", i)
		}
		var item map[string]json.RawMessage
		if err := json.Unmarshal(raw, &item); err != nil {
			return bad("notification item %d: %v", i, err)
		}
		var s adyenSigned
		if err := json.Unmarshal(raw, &s); err != nil {
			return bad("notification item %d: %v", i, err)
		}
		sig := base64.StdEncoding.EncodeToString(hmacSHA256(key, s.dataToSign()))
		ad := map[string]json.RawMessage{}
		if !adyenRawNull(item["additionalData"]) {
			if err := json.Unmarshal(item["additionalData"], &ad); err != nil {
				return bad("notification item %d: additionalData: %v", i, err)
			}
		}
		ad["hmacSignature"] = adyenMarshal(sig)
		item["additionalData"] = adyenMarshal(ad)
		w["NotificationRequestItem"] = adyenMarshal(item)
	}
	top["notificationItems"] = adyenMarshal(items)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return Signed{Header: h, Body: adyenMarshal(top)}, nil
}

// adyenMarshal marshals values that cannot fail to marshal (strings and
// maps of raw JSON already validated by the decoder).
func adyenMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("bankhooks: marshal: " + err.Error())
	}
	return b
}

// Adyen sample event types. "AUTHORISATION:failed" is our own label for a
// refused authorisation.
const (
	adyenSampleAuth       = "AUTHORISATION"
	adyenSampleCapture    = "CAPTURE"
	adyenSampleRefund     = "REFUND"
	adyenSampleChargeback = "CHARGEBACK"
	adyenSampleAuthFailed = "AUTHORISATION:failed"
)

// SampleTypes lists the Adyen events Sample builds; AUTHORISATION (a
// successful card payment of THB 50.00) is the default.
func (Adyen) SampleTypes() []string {
	return []string{adyenSampleAuth, adyenSampleCapture, adyenSampleRefund, adyenSampleChargeback, adyenSampleAuthFailed}
}

// adyenPSP derives a 16-character pspReference-like id from now.
func adyenPSP(now time.Time, salt string) string {
	s := strings.ToUpper(salt + sampleSuffix(now))
	if len(s) < 16 {
		s = strings.Repeat("0", 16-len(s)) + s
	}
	return s[len(s)-16:]
}

// Sample builds a realistic, unsigned Adyen notification with one item
// (Sign adds hmacSignature). p.ID, when set, is the item's pspReference.
func (Adyen) Sample(eventType string, p SampleParams) ([]byte, error) {
	sp, err := sampleDefaults(p, "THB")
	if err != nil {
		return nil, fmt.Errorf("adyen: sample: %w", err)
	}
	suffix := sampleSuffix(p.Now)
	payment := adyenPSP(p.Now, "P")
	psp := firstNonEmpty(p.ID, adyenPSP(p.Now, "N"))
	item := map[string]any{
		"amount":              map[string]any{"currency": sp.Currency, "value": sp.Amount},
		"eventDate":           p.Now.UTC().Format(time.RFC3339),
		"merchantAccountCode": "BankbotTH",
		"merchantReference":   "order-" + suffix[len(suffix)-6:],
		"paymentMethod":       "visa",
		"pspReference":        psp,
		"success":             "true",
		"reason":              "",
	}
	card := map[string]any{"cardSummary": "1111", "expiryDate": "03/2030", "cardHolderName": "SOMCHAI JAIDEE"}
	switch eventType {
	case "", adyenSampleAuth:
		item["eventCode"] = "AUTHORISATION"
		item["reason"] = "012345:1111:03/2030"
		item["operations"] = []string{"CANCEL", "CAPTURE", "REFUND"}
		card["authCode"] = "012345"
		item["additionalData"] = card
	case adyenSampleAuthFailed:
		item["eventCode"] = "AUTHORISATION"
		item["success"] = "false"
		item["reason"] = "Refused"
		card["refusalReasonRaw"] = "05 : Do not honor"
		item["additionalData"] = card
	case adyenSampleCapture:
		item["eventCode"] = "CAPTURE"
		item["originalReference"] = payment
		item["additionalData"] = map[string]any{}
	case adyenSampleRefund:
		item["eventCode"] = "REFUND"
		item["originalReference"] = payment
		item["additionalData"] = map[string]any{}
	case adyenSampleChargeback:
		item["eventCode"] = "CHARGEBACK"
		item["originalReference"] = payment
		item["reason"] = "Fraudulent transaction"
		item["additionalData"] = map[string]any{
			"chargebackReasonCode": "10.4", "chargebackSchemeCode": "visa",
			"defensePeriodEndsAt": p.Now.UTC().Add(14 * 24 * time.Hour).Format(time.RFC3339),
		}
	default:
		return nil, fmt.Errorf("adyen: sample %q: %w (known: %s)", eventType, ErrUnknownEventType,
			strings.Join(Adyen{}.SampleTypes(), ", "))
	}
	return json.Marshal(map[string]any{
		"live":              "false",
		"notificationItems": []any{map[string]any{"NotificationRequestItem": item}},
	})
}
