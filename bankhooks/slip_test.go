package bankhooks

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Real slips (providers.md §11), their CRCs computed independently.
const (
	slipKBank  = "0041000600000101030040220014242082547BPM049885102TH910434DF"
	slipKBank2 = "0041000600000101030040220013075180347BTF021645102TH9104A4B7"
	slipSCB    = "0046000600000101030140225202308231Bvr3VeN49LIa3twr5102TH9104289A"
)

// withCRC appends "9104" and the CRC to body.
func withCRC(body string) string {
	body += "9104"
	return body + SlipCRC(body)
}

// tl is one TLV field.
func tl(tag, value string) string { return fmt.Sprintf("%s%02d%s", tag, len(value), value) }

// payload is tag 00 holding the given sub-fields.
func payload(subs ...string) string { return tl("00", strings.Join(subs, "")) }

func TestSlipCRC(t *testing.T) {
	// The standard check value of CRC-16/CCITT-FALSE.
	require.Equal(t, "29B1", SlipCRC("123456789"))
	require.Equal(t, "FFFF", SlipCRC(""))
	for _, s := range []string{slipKBank, slipKBank2, slipSCB} {
		require.Equal(t, s[len(s)-4:], SlipCRC(s[:len(s)-4]), s)
	}
}

func TestParseSlip(t *testing.T) {
	kbank := BankName{"KBANK", "Kasikornbank", "ธนาคารกสิกรไทย"}
	scb := BankName{"SCB", "Siam Commercial Bank", "ธนาคารไทยพาณิชย์"}
	api, bank, ref := tl("00", "000001"), tl("01", "014"), tl("02", "REF12345")
	lowerCRC := slipSCB[:len(slipSCB)-4] + strings.ToLower(slipSCB[len(slipSCB)-4:])
	extra := withCRC(tl("62", "abc") + payload(api, bank, ref, tl("99", "12345")) + tl("51", "TH") + tl("77", ""))
	unknownBank := withCRC(payload(api, tl("01", "999"), ref) + tl("51", "TH"))
	noCountry := withCRC(payload(api, bank, ref))
	reordered := withCRC(tl("51", "TH") + payload(ref, bank, api))
	tests := []struct {
		name string
		text string
		want Slip
	}{
		{"kbank", slipKBank, Slip{APIID: "000001", SendingBank: "004", BankName: kbank,
			Reference: "014242082547BPM04988", Country: "TH", CRC: "34DF", Raw: slipKBank}},
		{"kbank 2", slipKBank2, Slip{APIID: "000001", SendingBank: "004", BankName: kbank,
			Reference: "013075180347BTF02164", Country: "TH", CRC: "A4B7", Raw: slipKBank2}},
		{"scb", slipSCB, Slip{APIID: "000001", SendingBank: "014", BankName: scb,
			Reference: "202308231Bvr3VeN49LIa3twr", Country: "TH", CRC: "289A", Raw: slipSCB}},
		{"lowercase crc", lowerCRC, Slip{APIID: "000001", SendingBank: "014", BankName: scb,
			Reference: "202308231Bvr3VeN49LIa3twr", Country: "TH", CRC: "289A", Raw: lowerCRC}},
		{"white space around", " \t\n" + slipKBank + "\r\n ", Slip{APIID: "000001", SendingBank: "004", BankName: kbank,
			Reference: "014242082547BPM04988", Country: "TH", CRC: "34DF", Raw: slipKBank}},
		{"unknown bank code", unknownBank, Slip{APIID: "000001", SendingBank: "999",
			Reference: "REF12345", Country: "TH", CRC: unknownBank[len(unknownBank)-4:], Raw: unknownBank}},
		{"extra top-level and payload tags", extra, Slip{APIID: "000001", SendingBank: "014", BankName: scb,
			Reference: "REF12345", Country: "TH", CRC: extra[len(extra)-4:], Raw: extra}},
		{"no country", noCountry, Slip{APIID: "000001", SendingBank: "014", BankName: scb,
			Reference: "REF12345", CRC: noCountry[len(noCountry)-4:], Raw: noCountry}},
		{"fields in another order", reordered, Slip{APIID: "000001", SendingBank: "014", BankName: scb,
			Reference: "REF12345", Country: "TH", CRC: reordered[len(reordered)-4:], Raw: reordered}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSlip(tc.text)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseSlipRefuses(t *testing.T) {
	corrupt := []byte(slipKBank)
	corrupt[20] = '9' // a digit of the reference
	api, bank, ref := tl("00", "000001"), tl("01", "014"), tl("02", "REF12345")
	good := payload(api, bank, ref)
	tests := []struct {
		name    string
		text    string
		want    error
		message string
	}{
		{"wrong crc", slipKBank[:len(slipKBank)-4] + "34DE", ErrSlipCRC, "the slip says 34DE, its text gives 34DF"},
		{"altered reference", string(corrupt), ErrSlipCRC, "checksum does not match"},
		{"crc of another slip", slipKBank[:len(slipKBank)-4] + "A4B7", ErrSlipCRC, "A4B7"},
		{"empty", "  \n", ErrSlipFormat, "empty"},
		{"cut inside the reference", slipKBank[:30], ErrSlipTruncated, "tag 00 at character 1 says 41 characters, 26 follow"},
		{"cut before the crc", slipKBank[:len(slipKBank)-8], ErrSlipTruncated, "ends before its CRC"},
		{"cut inside the crc", slipKBank[:len(slipKBank)-1], ErrSlipTruncated, "tag 91"},
		{"cut inside a header", slipKBank[:len(slipKBank)-6], ErrSlipTruncated, "field header"},
		{"payload sub-field cut", withCRC(tl("00", api+bank+"0208REF")), ErrSlipTruncated, "payload (tag 00)"},
		{"data after the crc", slipKBank + "5102TH", ErrSlipFormat, "follow the CRC"},
		{"crc not hex", good + "9104XYZW", ErrSlipFormat, "not 4 hex digits"},
		{"crc of 3 digits", good + "9103ABC", ErrSlipFormat, "not 4 hex digits"},
		{"tag not digits", withCRC("AB02TH" + good), ErrSlipFormat, `tag "AB"`},
		{"length not digits", withCRC("51x2TH" + good), ErrSlipFormat, `length "x2"`},
		{"no payload", withCRC(tl("51", "TH")), ErrSlipFormat, "no payload"},
		{"no api id", withCRC(payload(bank, ref)), ErrSlipFormat, "API id"},
		{"no bank", withCRC(payload(api, ref)), ErrSlipFormat, "sending bank"},
		{"bank not 3 digits", withCRC(payload(api, tl("01", "14"), ref)), ErrSlipFormat, "3-digit"},
		{"bank not digits", withCRC(payload(api, tl("01", "SCB"), ref)), ErrSlipFormat, "3-digit"},
		{"no reference", withCRC(payload(api, bank)), ErrSlipFormat, "transaction reference"},
		{"empty reference", withCRC(payload(api, bank, tl("02", ""))), ErrSlipFormat, "transaction reference"},
		{"tag twice", withCRC(good + "5102TH5102TH"), ErrSlipFormat, "tag 51 appears twice"},
		{"sub-tag twice", withCRC(payload(api, bank, ref, tl("01", "004"))), ErrSlipFormat, "tag 01 appears twice"},
		{"not ascii", "0041000600000101030040220014242082547BPM049885102ไทย", ErrSlipFormat, "printable ASCII"},
		{"a url", "https://example.com/slip", ErrSlipFormat, "not two digits"},
		{"too long", strings.Repeat("0", 600), ErrSlipFormat, "600 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSlip(tc.text)
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.message)
			for _, other := range []error{ErrSlipCRC, ErrSlipFormat, ErrSlipTruncated} {
				if other != tc.want {
					require.NotErrorIs(t, err, other, "exactly one slip error")
				}
			}
		})
	}
}

// Every proper prefix of a real slip is cut off, whatever the cut.
func TestParseSlipEveryPrefixTruncated(t *testing.T) {
	for _, s := range []string{slipKBank, slipKBank2, slipSCB} {
		for n := 1; n < len(s); n++ {
			_, err := ParseSlip(s[:n])
			require.ErrorIs(t, err, ErrSlipTruncated, "%q", s[:n])
		}
	}
}

func TestThaiBank(t *testing.T) {
	for code, short := range map[string]string{"002": "BBL", "004": "KBANK", "006": "KTB", "011": "TTB", "014": "SCB",
		"022": "CIMBT", "024": "UOBT", "025": "BAY", "030": "GSB", "033": "GHB", "034": "BAAC", "067": "TISCO",
		"069": "KKP", "073": "LHB"} {
		b, ok := ThaiBank(code)
		require.True(t, ok, code)
		require.Equal(t, short, b.Short, code)
		require.NotEmpty(t, b.English, code)
		require.NotEmpty(t, b.Thai, code)
	}
	_, ok := ThaiBank("999")
	require.False(t, ok)
}

func FuzzParseSlip(f *testing.F) {
	for _, s := range []string{slipKBank, slipKBank2, slipSCB, " " + slipSCB + "\n", slipKBank[:30], "",
		withCRC(tl("62", "abc") + payload(tl("00", "000001"), tl("01", "014"), tl("02", "REF1"), tl("99", "x")))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSlip(text)
		if err != nil {
			n := 0
			for _, e := range []error{ErrSlipCRC, ErrSlipFormat, ErrSlipTruncated} {
				if errors.Is(err, e) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("ParseSlip(%q) = %v: wraps %d slip errors, want 1", text, err, n)
			}
			return
		}
		// A slip that parses re-verifies: its CRC is the CRC of the text
		// before it, and parsing its Raw again gives the same slip.
		if len(s.Raw) < 8 || !strings.EqualFold(s.Raw[len(s.Raw)-8:len(s.Raw)-4], "9104") {
			t.Fatalf("ParseSlip(%q): Raw %q does not end with 9104 and a CRC", text, s.Raw)
		}
		if got := SlipCRC(s.Raw[:len(s.Raw)-4]); got != s.CRC || !strings.EqualFold(s.Raw[len(s.Raw)-4:], got) {
			t.Fatalf("ParseSlip(%q): CRC %s, text gives %s", text, s.CRC, got)
		}
		if s.Raw != strings.TrimSpace(text) || len(s.SendingBank) != 3 || s.Reference == "" || s.APIID == "" {
			t.Fatalf("ParseSlip(%q) = %+v", text, s)
		}
		again, err := ParseSlip(s.Raw)
		if err != nil || again != s {
			t.Fatalf("ParseSlip(%q) again = %+v, %v; first %+v", s.Raw, again, err, s)
		}
	})
}
