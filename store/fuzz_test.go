package store_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// FuzzSQLiteEventRoundTrip: whatever bytes a provider sends and whatever
// text its event carries, InsertEvent either refuses the key with ErrInvalid
// or stores an event that reads back with the exact body and, for valid
// UTF-8, the exact headers and event fields (JSON replaces invalid UTF-8).
func FuzzSQLiteEventRoundTrip(f *testing.F) {
	f.Add([]byte(`{"id":"evnt_1"}`), "evnt_1", "application/json", "chrg_1", "desc")
	f.Add([]byte{0x00, 0xff, 0xfe, 0x80}, "id\x00nul", "v\xff", "ref\x00", "\xc3\x28")
	f.Add([]byte{}, "", "", "", "")
	f.Add([]byte("ทดสอบ"), "évènement", "ทดสอบ 测试", "订单", "\u0000")

	s, err := store.OpenSQLite(f.Context(), ":memory:")
	require.NoError(f, err)
	f.Cleanup(func() { _ = s.Close() })
	var seq atomic.Int64

	f.Fuzz(func(t *testing.T, body []byte, providerID, header, reference, description string) {
		e := sampleEvent(fmt.Sprintf("evt_%d", seq.Add(1)), providerID)
		e.Event.ID = fmt.Sprintf("%s/%d", providerID, seq.Load()) // unique key, fuzzed content
		e.Body = body
		e.Headers = map[string]string{"X-Fuzz": header}
		e.Event.Reference = reference
		e.Event.Description = description

		res, err := s.InsertEvent(t.Context(), e)
		if !utf8.ValidString(e.Event.ID) || containsNUL(e.Event.ID) {
			require.ErrorIs(t, err, store.ErrInvalid)
			return
		}
		require.NoError(t, err)
		require.False(t, res.Duplicate)
		got, err := s.GetEvent(t.Context(), e.ID)
		require.NoError(t, err)
		require.Equal(t, len(body), len(got.Body))
		if len(body) > 0 {
			require.Equal(t, body, got.Body)
		}
		require.Equal(t, e.Event.ID, got.Event.ID)
		if utf8.ValidString(header) {
			require.Equal(t, header, got.Headers["X-Fuzz"])
		}
		if utf8.ValidString(reference) && utf8.ValidString(description) {
			require.Equal(t, reference, got.Event.Reference)
			require.Equal(t, description, got.Event.Description)
		}
	})
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}
