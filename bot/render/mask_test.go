package render

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"card": "4111 1111 1111 1111"}`, `{"card": "••••1111"}`},
		{`{"account": "123-4-56789-0"}`, `{"account": "••••7890"}`},
		{`{"iban": "DE89 3704 0044 0532 0130 00"}`, `{"iban": "••••3000"}`},
		{`{"url": "https://evil.example/a"}`, `{"url": "hxxps://evil[.]example/a"}`},
		{"{\n  \"amount\": 123456,\n  \"date\": \"2026-03-14 10:30\"\n}", "{\n  \"amount\": 123456,\n  \"date\": \"2026-03-14 10:30\"\n}"},
		{"bad \xff byte", "bad \uFFFD byte"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, Scrub(tc.in), tc.in)
	}
}
