package bankhooks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// maxUnreadableID bounds the provider id taken from an unreadable body.
const maxUnreadableID = 200

// Unreadable builds the canonical event for a verified request that Parse
// could not read: kind KindUnreadable, the reason in FailureMessage, and as
// ID the provider's event id when one can still be found (the Standard
// Webhooks id header, or a top-level string "id" in a JSON body), else
// "sha256:" and the hex SHA-256 of the body. A provider's retry of the same
// body is then a duplicate either way.
func Unreadable(provider string, r Request, reason string) Event {
	return Event{
		Provider:       provider,
		ID:             unreadableID(r),
		Kind:           KindUnreadable,
		Livemode:       true, // unknown: assume real money until someone looks
		FailureMessage: reason,
	}
}

// BodyID is the dedupe key of a body without a usable provider id.
func BodyID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func unreadableID(r Request) string {
	id := strings.TrimSpace(r.Header.Get(StandardWebhooksIDHeader))
	if id == "" {
		var top struct {
			ID any `json:"id"`
		}
		if json.Unmarshal(r.Body, &top) == nil {
			if s, ok := top.ID.(string); ok {
				id = strings.TrimSpace(s)
			}
		}
	}
	if id == "" || len(id) > maxUnreadableID || !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		return BodyID(r.Body)
	}
	return id
}
