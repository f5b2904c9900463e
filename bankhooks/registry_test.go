package bankhooks

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			p, ok := Lookup(name)
			require.True(t, ok)
			require.Equal(t, name, p.Name())
			require.NotEmpty(t, p.SampleTypes())
		})
	}
	for _, name := range []string{"generic", "Omise", "", "standard-webhooks", "2c2p", "paypal"} {
		t.Run("unknown "+name, func(t *testing.T) {
			p, ok := Lookup(name)
			require.False(t, ok)
			require.Nil(t, p)
		})
	}
}

func TestNames(t *testing.T) {
	require.Equal(t, []string{"adyen", "airwallex", "midtrans", "omise", "standardwebhooks", "stripe", "twoc2p", "xendit"}, Names())
	require.IsIncreasing(t, Names())
	for _, n := range Names() {
		_, ok := Lookup(n)
		require.True(t, ok, n)
	}
	// Callers may modify the returned slice without affecting later calls.
	Names()[0] = "changed"
	require.Equal(t, "adyen", Names()[0])
}

func TestKeyNeverPrintsMaterial(t *testing.T) {
	k := Key{Name: "secrets[0]", Material: []byte("hunter2-material"), Expires: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	holder := struct{ Keys []Key }{[]Key{k}}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, holder)
		require.NotContains(t, out, "hunter2", f)
		require.NotContains(t, out, "104 117 110", f) // the bytes of "hun"
		require.Contains(t, out, "secrets[0]", f)
	}
}
