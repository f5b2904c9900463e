package bot

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newEventID returns "ev_" and 26 characters: 48 bits of milliseconds then 80
// random bits, so ids sort by receipt time and never collide in practice.
func newEventID(now time.Time) string { return newID("ev_", now) }

// newMessageID returns the id of one DingTalk message (a lone alert or a
// digest): "dm_" and 26 characters like an event id. It is sent as msgUuid
// and written on every outbox row the message carries before it is sent, so
// a resend after a crash keeps it; it is unique across databases (random),
// unlike a row number that a fresh database hands out again.
func newMessageID(now time.Time) string { return newID("dm_", now) }

func newID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the runtime cannot continue safely without randomness
	}
	return prefix + idEncoding.EncodeToString(b[:])
}

// newOwnerID names this process as a lease owner: host, pid and a random suffix.
func newOwnerID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strings.Join([]string{host, strconv.Itoa(os.Getpid()), idEncoding.EncodeToString(b[:])}, "/")
}
