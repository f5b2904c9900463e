package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/store"
)

// testLease: two owners, only one holds; renewal by the holder; expiry
// hands over; release frees it only for its holder.
func testLease(t *testing.T, s store.Store) {
	const ttl = 30 * time.Second
	now := base()
	held, err := s.AcquireLease(ctx(t), "l", "a", ttl, now)
	require.NoError(t, err)
	require.True(t, held, "a free lease")
	held, err = s.AcquireLease(ctx(t), "l", "b", ttl, now.Add(time.Second))
	require.NoError(t, err)
	require.False(t, held, "a's lease is unexpired")
	held, err = s.AcquireLease(ctx(t), "other", "b", ttl, now)
	require.NoError(t, err)
	require.True(t, held, "leases are per name")

	// a renews: the lease now runs until now+10s+ttl.
	held, err = s.AcquireLease(ctx(t), "l", "a", ttl, now.Add(10*time.Second))
	require.NoError(t, err)
	require.True(t, held, "renewal")
	held, err = s.AcquireLease(ctx(t), "l", "b", ttl, now.Add(ttl+5*time.Second))
	require.NoError(t, err)
	require.False(t, held, "the renewal extended a's lease")

	// a stops renewing: at until, b takes over and a no longer holds.
	held, err = s.AcquireLease(ctx(t), "l", "b", ttl, now.Add(10*time.Second+ttl))
	require.NoError(t, err)
	require.True(t, held, "expired: b takes over")
	held, err = s.AcquireLease(ctx(t), "l", "a", ttl, now.Add(11*time.Second+ttl))
	require.NoError(t, err)
	require.False(t, held, "a lost it")

	// Release by a non-holder changes nothing; by the holder frees it.
	require.NoError(t, s.ReleaseLease(ctx(t), "l", "a"))
	held, err = s.AcquireLease(ctx(t), "l", "a", ttl, now.Add(12*time.Second+ttl))
	require.NoError(t, err)
	require.False(t, held, "a's release did not free b's lease")
	require.NoError(t, s.ReleaseLease(ctx(t), "l", "b"))
	held, err = s.AcquireLease(ctx(t), "l", "a", ttl, now.Add(13*time.Second+ttl))
	require.NoError(t, err)
	require.True(t, held, "released by b")
	require.NoError(t, s.ReleaseLease(ctx(t), "missing", "a"), "releasing no lease is fine")

	for _, tc := range []struct {
		name, lease, owner string
		ttl                time.Duration
		now                time.Time
	}{
		{"empty name", "", "a", ttl, now},
		{"empty owner", "l", "", ttl, now},
		{"zero ttl", "l", "a", 0, now},
		{"zero now", "l", "a", ttl, time.Time{}},
	} {
		_, err := s.AcquireLease(ctx(t), tc.lease, tc.owner, tc.ttl, tc.now)
		invalid(t, err, tc.name)
	}
	invalid(t, s.ReleaseLease(ctx(t), "", "a"))
}

// testLeaseConcurrent: of owners racing for a free lease, one holds it.
func testLeaseConcurrent(t *testing.T, s store.Store) {
	const n = 8
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			held, err := s.AcquireLease(ctx(t), "race", fmt.Sprintf("owner-%d", i), time.Minute, base())
			require.NoError(t, err)
			if held {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load())
}
