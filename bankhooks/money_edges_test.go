package bankhooks

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseMajor_Edges: 0, one minor unit, 10^15 minor units and negative
// refunds in THB, IDR, JPY, USD and KWD parse exactly from the provider's
// decimal text and from its integer minor units, and format back the same.
func TestParseMajor_Edges(t *testing.T) {
	const e15 = int64(1_000_000_000_000_000)
	for _, tc := range []struct {
		text  string
		cur   string
		minor int64
	}{
		{"0.00", "THB", 0}, {"0.00", "IDR", 0}, {"0", "JPY", 0}, {"0.00", "USD", 0}, {"0.000", "KWD", 0},
		{"0.01", "THB", 1}, {"0.01", "IDR", 1}, {"1", "JPY", 1}, {"0.01", "USD", 1}, {"0.001", "KWD", 1},
		{"10000000000000.00", "THB", e15}, {"10000000000000.00", "IDR", e15}, {"1000000000000000", "JPY", e15},
		{"10000000000000.00", "USD", e15}, {"1000000000000.000", "KWD", e15},
		{"-0.01", "THB", -1}, {"-1", "JPY", -1}, {"-0.001", "KWD", -1},
		{"-2000.00", "IDR", -200000}, {"-2000.00", "USD", -200000}, {"-200.000", "KWD", -200000},
		{"-10000000000000.00", "THB", -e15}, {"-1000000000000000", "JPY", -e15}, {"-1000000000000.000", "KWD", -e15},
	} {
		got, err := ParseMajor(tc.text, tc.cur)
		require.NoError(t, err, "%s %s", tc.text, tc.cur)
		require.Equal(t, tc.minor, got, "%s %s", tc.text, tc.cur)
		back, err := FormatMajor(got, tc.cur)
		require.NoError(t, err)
		require.Equal(t, tc.text, back)

		n, err := AmountFromJSON(json.Number(strconv.FormatInt(tc.minor, 10)))
		require.NoError(t, err)
		require.Equal(t, tc.minor, n)
	}
	// One digit more than the currency has is refused, not rounded.
	for _, tc := range []struct{ text, cur string }{{"0.001", "THB"}, {"0.5", "JPY"}, {"0.0001", "KWD"}, {"-0.001", "USD"}} {
		_, err := ParseMajor(tc.text, tc.cur)
		require.ErrorIs(t, err, ErrInvalidAmount, "%s %s", tc.text, tc.cur)
	}
}
