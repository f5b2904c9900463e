package bankhooks

import (
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// iso4217 is an independent copy of the minor units of the current ISO 4217
// list (List One), written from the standard rather than from CLDR: every
// code not listed under another exponent has two decimals; "-1" marks
// "N.A.".
var iso4217 = map[int]string{
	0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
	2: "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP " +
		"BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB " +
		"EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES " +
		"KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR " +
		"MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD " +
		"RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP " +
		"TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG",
	3:  "BHD IQD JOD KWD LYD OMR TND",
	4:  "CLF UYW",
	-1: "XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX",
}

func TestExponentMatchesISO4217(t *testing.T) {
	for want, codes := range iso4217 {
		for _, code := range strings.Fields(codes) {
			t.Run(code, func(t *testing.T) {
				got, err := Exponent(code)
				if want < 0 {
					require.ErrorIs(t, err, ErrNoMinorUnit)
					return
				}
				require.NoError(t, err)
				require.Equal(t, want, got)
			})
		}
	}
}

func TestExponent(t *testing.T) {
	tests := []struct {
		code    string
		want    int
		wantErr error
	}{
		{code: "THB", want: 2},
		{code: "IDR", want: 2}, // CLDR says 0; ISO 4217 (and the providers) say 2
		{code: "JPY", want: 0},
		{code: "KWD", want: 3},
		{code: "KRW", want: 0},
		{code: "VND", want: 0},
		{code: "BHD", want: 3},
		{code: "USD", want: 2},
		{code: "SGD", want: 2},
		{code: "thb", want: 2},
		{code: " jpy ", want: 0},
		{code: "MRU", want: 2}, // not in x/text's CLDR data
		{code: "XXX", wantErr: ErrNoMinorUnit},
		{code: "ZZZ", wantErr: ErrUnknownCurrency},
		{code: "", wantErr: ErrUnknownCurrency},
		{code: "TH", wantErr: ErrUnknownCurrency},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			got, err := Exponent(tc.code)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNormalizeCurrency(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "lower", in: "thb", want: "THB"},
		{name: "upper", in: "USD", want: "USD"},
		{name: "mixed and spaces", in: "  IdR\n", want: "IDR"},
		{name: "new code unknown to CLDR", in: "ves", want: "VES"},
		{name: "offshore renminbi", in: "cnh", want: "CNH"},
		{name: "unknown", in: "ABC", wantErr: true},
		{name: "too long", in: "THBX", wantErr: true},
		{name: "digits", in: "764", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "non-ascii", in: "THß", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeCurrency(tc.in)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrUnknownCurrency)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseMajor(t *testing.T) {
	tests := []struct {
		name, in, cur string
		want          int64
		wantErr       error
	}{
		{name: "two decimals", in: "1234.50", cur: "THB", want: 123450},
		{name: "integer", in: "1234", cur: "THB", want: 123400},
		{name: "one decimal negative", in: "-3.5", cur: "THB", want: -350},
		{name: "plus sign", in: "+5", cur: "THB", want: 500},
		{name: "leading zeros", in: "0001.10", cur: "THB", want: 110},
		{name: "negative zero", in: "-0.00", cur: "THB", want: 0},
		{name: "trailing zeros beyond exponent", in: "12.500", cur: "THB", want: 1250},
		{name: "lower-case currency", in: "1.00", cur: "thb", want: 100},
		{name: "IDR counts cents", in: "10000.00", cur: "IDR", want: 1000000},
		{name: "JPY whole", in: "500", cur: "JPY", want: 500},
		{name: "JPY zero fraction", in: "500.00", cur: "JPY", want: 500},
		{name: "KWD three", in: "1.234", cur: "KWD", want: 1234},
		{name: "KWD trailing zero", in: "1.2340", cur: "KWD", want: 1234},
		{name: "max int64", in: "92233720368547758.07", cur: "THB", want: math.MaxInt64},
		{name: "min int64", in: "-92233720368547758.08", cur: "THB", want: math.MinInt64},
		{name: "max int64 JPY", in: "9223372036854775807", cur: "JPY", want: math.MaxInt64},
		{name: "JPY fraction", in: "0.5", cur: "JPY", wantErr: ErrInvalidAmount},
		{name: "too many digits", in: "12.501", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "KWD four digits", in: "1.2345", cur: "KWD", wantErr: ErrInvalidAmount},
		{name: "overflow", in: "92233720368547758.08", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "negative overflow", in: "-92233720368547758.09", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "overflow JPY", in: "9223372036854775808", cur: "JPY", wantErr: ErrInvalidAmount},
		{name: "huge", in: strings.Repeat("9", 40), cur: "THB", wantErr: ErrInvalidAmount},
		{name: "exponent", in: "1e3", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "thousands separator", in: "1,234.50", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "leading space", in: " 12", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "trailing space", in: "12 ", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "empty", in: "", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "sign only", in: "-", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "dot only", in: ".", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "trailing dot", in: "5.", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "leading dot", in: ".5", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "double sign", in: "--5", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "two dots", in: "1.2.3", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "hex", in: "0x10", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "non-ascii digits", in: "١٢", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "float words", in: "NaN", cur: "THB", wantErr: ErrInvalidAmount},
		{name: "unknown currency", in: "1", cur: "ZZZ", wantErr: ErrUnknownCurrency},
		{name: "no minor unit", in: "1", cur: "XAU", wantErr: ErrNoMinorUnit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMajor(tc.in, tc.cur)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFormatMajor(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  string
	}{
		{123450, "THB", "1234.50"},
		{5, "THB", "0.05"},
		{-5, "THB", "-0.05"},
		{0, "THB", "0.00"},
		{500, "JPY", "500"},
		{-5, "KWD", "-0.005"},
		{1, "CLF", "0.0001"},
		{1000000, "IDR", "10000.00"},
		{math.MinInt64, "THB", "-92233720368547758.08"},
		{math.MaxInt64, "JPY", "9223372036854775807"},
	}
	for _, tc := range tests {
		t.Run(tc.want+" "+tc.cur, func(t *testing.T) {
			got, err := FormatMajor(tc.minor, tc.cur)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("unknown currency", func(t *testing.T) {
		_, err := FormatMajor(1, "ZZZ")
		require.ErrorIs(t, err, ErrUnknownCurrency)
	})
}

func TestAmountFromJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "5000", want: 5000},
		{in: "0", want: 0},
		{in: "-1", want: -1},
		{in: "9223372036854775807", want: math.MaxInt64},
		{in: "-9223372036854775808", want: math.MinInt64},
		{in: "9223372036854775808", wantErr: true},
		{in: "5000.0", wantErr: true},
		{in: "12.5", wantErr: true},
		{in: "1e3", wantErr: true},
		{in: "", wantErr: true},
		{in: "-", wantErr: true},
		{in: "+5", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := AmountFromJSON(json.Number(tc.in))
			if tc.wantErr {
				require.ErrorIs(t, err, ErrInvalidAmount)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// fuzzCurrencies are the currencies FuzzParseMajor rotates through, one per
// exponent.
var fuzzCurrencies = []string{"JPY", "THB", "IDR", "KWD", "CLF"}

func FuzzParseMajor(f *testing.F) {
	f.Add("1234.50", uint8(1), int64(123450))
	f.Add("-3.5", uint8(1), int64(-350))
	f.Add("500.000", uint8(0), int64(math.MaxInt64))
	f.Add("92233720368547758.08", uint8(1), int64(math.MinInt64))
	f.Add("1.2340", uint8(3), int64(-1))
	f.Add("1e3", uint8(2), int64(0))
	f.Fuzz(func(t *testing.T, s string, ci uint8, v int64) {
		cur := fuzzCurrencies[int(ci)%len(fuzzCurrencies)]
		exp, err := Exponent(cur)
		require.NoError(t, err)

		got, err := ParseMajor(s, cur)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidAmount)
		} else {
			// Independent oracle: exact rational arithmetic.
			r, ok := new(big.Rat).SetString(s)
			require.True(t, ok, "accepted %q that big.Rat rejects", s)
			r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
			require.True(t, r.IsInt(), "accepted %q with more than %d decimals", s, exp)
			require.Equal(t, r.Num().String(), big.NewInt(got).String(), "ParseMajor(%q, %s)", s, cur)
		}

		// FormatMajor and ParseMajor are inverses for every int64.
		str, err := FormatMajor(v, cur)
		require.NoError(t, err)
		back, err := ParseMajor(str, cur)
		require.NoError(t, err, "ParseMajor(FormatMajor(%d)) = %q", v, str)
		require.Equal(t, v, back)
	})
}
