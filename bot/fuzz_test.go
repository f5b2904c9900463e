package bot

import (
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/config"
)

// FuzzClientIP: whatever the peer address and X-Forwarded-For say, clientIP
// never panics, returns the peer when the peer is not a trusted proxy, and
// otherwise returns the peer, an address that appears in the header and is
// not itself a trusted proxy, or no address (fail closed) when the header has
// a garbled hop.
func FuzzClientIP(f *testing.F) {
	for _, s := range [][2]string{
		{"203.0.113.9:5555", "198.51.100.7"},
		{"10.0.0.2:5555", "6.6.6.6, 198.51.100.7"},
		{"10.0.0.2:5555", "198.51.100.7, 10.1.1.1"},
		{"10.0.0.2:5555", "garbage"},
		{"[::ffff:10.0.0.2]:1", "::ffff:198.51.100.7"},
		{"[fd00::1]:1", "2001:db8::7, fd00::2"},
		{"nonsense", ""},
		{"10.0.0.2:5555", ",,,"},
		{"10.0.0.2:5555", "1.2.3.4:5678"},
		{"10.0.0.2:5555", "[2001:db8::1]"},
		{"10.0.0.2:5555", "198.51.100.7, fe80::1%eth0"},
	} {
		f.Add(s[0], s[1])
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		req := httptest.NewRequest(http.MethodPost, "/hooks/x", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", xff)
		got := clientIP(req, trusted)
		peer := clientIP(req, nil)
		if got == peer {
			return
		}
		if !containsIP(trusted, peer) {
			t.Fatalf("peer %s is not trusted, but got %s", peer, got)
		}
		if !got.IsValid() {
			// Fails closed only on a garbled hop: some entry of the
			// header is not a bare IP address.
			garbled := false
			for _, hop := range strings.Split(xff, ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(hop)); err != nil || a.Zone() != "" {
					garbled = true
				}
			}
			if !garbled {
				t.Fatalf("no address for peer %s and X-Forwarded-For %q, which has no garbled hop", peer, xff)
			}
			return
		}
		if containsIP(trusted, got) {
			t.Fatalf("returned a trusted proxy %s", got)
		}
		found := false
		for _, hop := range strings.Split(xff, ",") {
			if a, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && a.Unmap() == got {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s is neither the peer %s nor in X-Forwarded-For %q", got, peer, xff)
		}
	})
}

var decimalRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// FuzzAtLeast checks atLeast against exact rational arithmetic: amount/10^exp
// ≥ min, for every minimum config accepts.
func FuzzAtLeast(f *testing.F) {
	for _, s := range []struct {
		min      string
		amount   int64
		currency string
	}{
		{"50", 5000, "THB"}, {"50", 4999, "THB"}, {"1000", 1000, "JPY"}, {"1.5", 1500, "KWD"},
		{"99.50", 99, "JPY"}, {"0", 0, ""}, {"0.001", 1, "THB"}, {"92233720368547758.07", 1<<63 - 1, "THB"},
		{"1", -5, "THB"}, {"1", 100, "XXX"},
	} {
		f.Add(s.min, s.amount, s.currency)
	}
	f.Fuzz(func(t *testing.T, min string, amount int64, currency string) {
		if !decimalRE.MatchString(min) || len(min) > 60 {
			return // config refuses it
		}
		ev := bankhooks.Event{Amount: amount, Currency: currency}
		got := atLeast(ev, config.Decimal(min))

		minRat, ok := new(big.Rat).SetString(min)
		if !ok {
			t.Fatalf("reference cannot parse %q", min)
		}
		var want bool
		switch exp, err := bankhooks.Exponent(currency); {
		case minRat.Sign() == 0:
			want = true
		case currency == "" || err != nil:
			want = false
		default:
			scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)
			amt := new(big.Rat).SetFrac(big.NewInt(amount), scale)
			want = amt.Cmp(minRat) >= 0
		}
		if got != want {
			t.Fatalf("atLeast(%d %q, %q) = %v, want %v", amount, currency, min, got, want)
		}
	})
}
