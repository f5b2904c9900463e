// Package chatops answers DingTalk @-messages to bankbot: chat commands such
// as `today`, `find chrg_…`, `status`, `ack ev_…` and `verify <slip QR>`.
//
// It decodes a verified callback body (DecodeCallback), parses the command
// (ParseCommand), checks who may run it where (Policy), rate-limits each
// sender (Limiter), runs it against the store (Service.Handle) and writes
// every command to the audit log. Replies are sent by a Replier: to the
// callback's sessionWebhook while it is valid, else through the app robot's
// OpenAPI, split under the size limit and counted against the robot's send
// budget.
//
// The store methods the commands need are declared here as the Store
// interface (package store's Store implements it; tests use a fake); the
// record types are package store's.
package chatops

import (
	"context"
	"time"

	"github.com/bankbot/bankbot/store"
)

// AuditEntry is one chat command as written to the audit log.
type AuditEntry = store.AuditEntry

// Ack is an event's acknowledgement. Already is true when the event had
// been acknowledged before; the other fields are then the first ack's.
type Ack = store.Ack

// SlipRecord is a payment slip someone verified in a chat.
type SlipRecord = store.SlipRecord

// Slip is a payment slip's QR code, parsed.
type Slip struct {
	APIID       string
	SendingBank string // the sending bank's code
	BankName    string // its name, when known
	Reference   string // the transaction reference
}

// Store is what the chat commands read and write.
//
// ClaimChatMessage records msgID and reports whether this call was the first
// to do so (DingTalk may deliver a message twice). AckEvent returns an error
// wrapping store.ErrNotFound for an unknown event. RecordSlip records a slip
// by its reference and returns the first record of that reference, with
// reused true when there was one before this call.
type Store interface {
	ClaimChatMessage(ctx context.Context, msgID string, at time.Time) (first bool, err error)
	AppendAudit(ctx context.Context, e AuditEntry) error
	AckEvent(ctx context.Context, eventID, byID, byName, note string, at time.Time) (Ack, error)
	ListUnacked(ctx context.Context, kinds []string, since time.Time, limit int) ([]store.StoredEvent, error)
	RecordSlip(ctx context.Context, r SlipRecord) (first SlipRecord, reused bool, err error)

	// Methods of store.Store.
	GetEvent(ctx context.Context, id string) (store.StoredEvent, error)
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.StoredEvent, error)
	FindEvents(ctx context.Context, s store.EventSearch) ([]store.StoredEvent, error)
	Stats(ctx context.Context) (store.Stats, error)
	RobotStates(ctx context.Context) ([]store.RobotState, error)
	RequeueDelivery(ctx context.Context, id int64, now time.Time) error
}

// SlipParser reads a payment slip's QR text.
type SlipParser interface {
	ParseSlip(text string) (Slip, error)
}

// SlipParserFunc adapts a function to SlipParser.
type SlipParserFunc func(text string) (Slip, error)

// ParseSlip calls f.
func (f SlipParserFunc) ParseSlip(text string) (Slip, error) { return f(text) }
