package confirm_test

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/confirm"
)

const apiKey = "skey_test_5xunitconfirmkey0000000"

// fakeAPI is a provider API: it answers each path from a table, after
// checking the basic-auth header (key as user, empty password).
type fakeAPI struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]answer
	paths   []string
}

type answer struct {
	status int
	body   string
	delay  time.Duration
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{answers: map[string]answer{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(apiKey+":"))
		if r.Header.Get("Authorization") != want || r.Method != http.MethodGet {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"object":"error","code":"authentication_failure"}`))
			return
		}
		f.mu.Lock()
		f.paths = append(f.paths, r.URL.EscapedPath())
		a, ok := f.answers[r.URL.EscapedPath()]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"object":"error","code":"not_found"}`))
			return
		}
		if a.delay > 0 {
			select {
			case <-time.After(a.delay):
			case <-r.Context().Done():
				return
			}
		}
		if a.status != 0 {
			w.WriteHeader(a.status)
		}
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) set(path string, a answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[path] = a
}

func newConfirmer(t *testing.T, provider, base, key string) confirm.Confirmer {
	t.Helper()
	c, err := confirm.New(provider, confirm.Options{APIBase: base, APIKey: key, Timeout: time.Second, Client: &http.Client{}})
	require.NoError(t, err)
	return c
}

func TestOmise(t *testing.T) {
	api := newFakeAPI(t)
	api.set("/charges/chrg_ok", answer{body: `{"object":"charge","id":"chrg_ok","amount":5000,"currency":"thb","status":"successful","paid":true}`})
	api.set("/charges/chrg_captured", answer{body: `{"object":"charge","id":"chrg_captured","amount":9000,"captured_amount":5000,"currency":"thb","status":"successful"}`})
	api.set("/charges/chrg_pending", answer{body: `{"object":"charge","id":"chrg_pending","amount":5000,"currency":"thb","status":"pending"}`})
	api.set("/charges/chrg_failed", answer{body: `{"object":"charge","id":"chrg_failed","amount":5000,"currency":"thb","status":"failed"}`})
	api.set("/charges/chrg_refunded", answer{body: `{"object":"charge","id":"chrg_refunded","amount":5000,"currency":"thb","status":"successful","refunded_amount":2000}`})
	api.set("/charges/chrg_old", answer{body: `{"object":"charge","id":"chrg_old","amount":5000,"currency":"thb","status":"successful","refunded":2000}`})
	api.set("/transfers/trsf_paid", answer{body: `{"object":"transfer","id":"trsf_paid","amount":100000,"currency":"thb","paid":true,"sent":true,"failure_code":null}`})
	api.set("/transfers/trsf_fail", answer{body: `{"object":"transfer","id":"trsf_fail","amount":100000,"currency":"thb","paid":false,"failure_code":"insufficient_balance"}`})
	c := newConfirmer(t, "omise", api.URL, apiKey)
	require.Equal(t, "Opn", c.Provider())

	ev := func(kind bankhooks.Kind, ref string, amount int64) bankhooks.Event {
		return bankhooks.Event{Provider: "omise", ID: "evnt_1", Kind: kind, Reference: ref, Amount: amount, Currency: "THB"}
	}
	tests := []struct {
		name    string
		ev      bankhooks.Event
		want    confirm.Result
		verdict confirm.Verdict
	}{
		{"charge matches", ev(bankhooks.KindPaymentSucceeded, "chrg_ok", 5000),
			confirm.Result{Kind: bankhooks.KindPaymentSucceeded, Amount: 5000, Currency: "THB", Status: "successful"}, confirm.Confirmed},
		{"captured amount", ev(bankhooks.KindPaymentSucceeded, "chrg_captured", 5000),
			confirm.Result{Kind: bankhooks.KindPaymentSucceeded, Amount: 5000, Currency: "THB", Status: "successful"}, confirm.Confirmed},
		{"amount differs", ev(bankhooks.KindPaymentSucceeded, "chrg_ok", 500000),
			confirm.Result{Kind: bankhooks.KindPaymentSucceeded, Amount: 5000, Currency: "THB", Status: "successful"}, confirm.Mismatch},
		{"webhook says succeeded, charge pending", ev(bankhooks.KindPaymentSucceeded, "chrg_pending", 5000),
			confirm.Result{Kind: bankhooks.KindPaymentPending, Amount: 5000, Currency: "THB", Status: "pending"}, confirm.Mismatch},
		{"webhook pending, charge succeeded since", ev(bankhooks.KindPaymentPending, "chrg_ok", 5000),
			confirm.Result{Kind: bankhooks.KindPaymentSucceeded, Amount: 5000, Currency: "THB", Status: "successful"}, confirm.Later},
		{"webhook pending, charge failed since", ev(bankhooks.KindPaymentPending, "chrg_failed", 5000),
			confirm.Result{Kind: bankhooks.KindPaymentFailed, Amount: 5000, Currency: "THB", Status: "failed"}, confirm.Later},
		{"no such charge", ev(bankhooks.KindPaymentSucceeded, "chrg_forged", 5000),
			confirm.Result{Missing: true, Status: "not found"}, confirm.Mismatch},
		{"refund within the refunded total", ev(bankhooks.KindRefundSucceeded, "chrg_refunded", 2000),
			confirm.Result{Kind: bankhooks.KindRefundSucceeded, Amount: 2000, Currency: "THB", AtLeast: true,
				Status: "charge successful, refunded THB 20.00", Note: "checked against its charge's refunded total"}, confirm.Confirmed},
		{"refund on an older API version", ev(bankhooks.KindRefundSucceeded, "chrg_old", 1500),
			confirm.Result{Kind: bankhooks.KindRefundSucceeded, Amount: 2000, Currency: "THB", AtLeast: true,
				Status: "charge successful, refunded THB 20.00", Note: "checked against its charge's refunded total"}, confirm.Confirmed},
		{"refund larger than refunded", ev(bankhooks.KindRefundSucceeded, "chrg_ok", 2000),
			confirm.Result{Kind: bankhooks.KindRefundSucceeded, Amount: 0, Currency: "THB", AtLeast: true,
				Status: "charge successful, refunded THB 0.00", Note: "checked against its charge's refunded total"}, confirm.Mismatch},
		{"transfer paid", ev(bankhooks.KindTransferSucceeded, "trsf_paid", 100000),
			confirm.Result{Kind: bankhooks.KindTransferSucceeded, Amount: 100000, Currency: "THB", Status: "paid"}, confirm.Confirmed},
		{"transfer claimed paid, failed", ev(bankhooks.KindTransferSucceeded, "trsf_fail", 100000),
			confirm.Result{Kind: bankhooks.KindTransferFailed, Amount: 100000, Currency: "THB", Status: "failed: insufficient_balance"}, confirm.Mismatch},
		{"currency differs", bankhooks.Event{Kind: bankhooks.KindPaymentSucceeded, Reference: "chrg_ok", Amount: 5000, Currency: "JPY"},
			confirm.Result{Kind: bankhooks.KindPaymentSucceeded, Amount: 5000, Currency: "THB", Status: "successful"}, confirm.Mismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Confirm(t.Context(), tc.ev)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			out := confirm.Compare(tc.ev, got)
			require.Equal(t, tc.verdict, out.Verdict, out.Reason)
			require.NotEmpty(t, out.Reason)
		})
	}

	t.Run("ids are escaped into one path segment", func(t *testing.T) {
		got, err := c.Confirm(t.Context(), ev(bankhooks.KindPaymentSucceeded, "../transfers/trsf_paid", 100000))
		require.NoError(t, err)
		require.True(t, got.Missing)
		api.mu.Lock()
		defer api.mu.Unlock()
		require.Equal(t, "/charges/..%2Ftransfers%2Ftrsf_paid", api.paths[len(api.paths)-1])
	})
}

func TestMidtrans(t *testing.T) {
	api := newFakeAPI(t)
	status := func(order, st, fraud, gross string) {
		api.set("/v2/"+order+"/status", answer{body: `{"status_code":"200","transaction_status":"` + st + `","fraud_status":"` + fraud +
			`","gross_amount":"` + gross + `","currency":"IDR","order_id":"` + order + `"}`})
	}
	status("ord-settled", "settlement", "accept", "100000.00")
	status("ord-capture", "capture", "accept", "100000.00")
	status("ord-challenge", "capture", "challenge", "100000.00")
	status("ord-pending", "pending", "", "100000.00")
	status("ord-expired", "expire", "", "100000.00")
	status("ord-refunded", "refund", "accept", "100000.00")
	api.set("/v2/ord-unknown/status", answer{body: `{"status_code":"404","status_message":"Transaction doesn't exist."}`})
	c := newConfirmer(t, "midtrans", api.URL+"/", apiKey)
	require.Equal(t, "Midtrans", c.Provider())
	require.False(t, c.Handles(bankhooks.KindTransferSucceeded))
	require.True(t, c.Handles(bankhooks.KindPaymentSucceeded))

	ev := func(kind bankhooks.Kind, order string, amount int64) bankhooks.Event {
		return bankhooks.Event{Provider: "midtrans", ID: "tx-1:settlement", Kind: kind, Reference: order, Amount: amount, Currency: "IDR"}
	}
	paid := bankhooks.KindPaymentSucceeded
	tests := []struct {
		name     string
		ev       bankhooks.Event
		wantKind bankhooks.Kind
		status   string
		verdict  confirm.Verdict
	}{
		{"settlement", ev(paid, "ord-settled", 10000000), paid, "settlement/accept", confirm.Confirmed},
		{"capture accepted", ev(paid, "ord-capture", 10000000), paid, "capture/accept", confirm.Confirmed},
		{"capture challenged is not a success", ev(paid, "ord-challenge", 10000000), bankhooks.KindPaymentPending, "capture/challenge", confirm.Mismatch},
		{"claimed settled, still pending", ev(paid, "ord-pending", 10000000), bankhooks.KindPaymentPending, "pending", confirm.Mismatch},
		{"pending, settled since", ev(bankhooks.KindPaymentPending, "ord-settled", 10000000), paid, "settlement/accept", confirm.Later},
		{"pending, expired since", ev(bankhooks.KindPaymentPending, "ord-expired", 10000000), bankhooks.KindPaymentFailed, "expire", confirm.Later},
		{"gross amount differs", ev(paid, "ord-settled", 100000), paid, "settlement/accept", confirm.Mismatch},
		{"paid, refunded since", ev(paid, "ord-refunded", 10000000), paid, "refund/accept", confirm.Confirmed},
		{"refund within gross", ev(bankhooks.KindRefundSucceeded, "ord-refunded", 5000000), bankhooks.KindRefundSucceeded, "refund/accept", confirm.Confirmed},
		{"unknown order", ev(paid, "ord-unknown", 10000000), "", "404 Transaction doesn't exist.", confirm.Mismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Confirm(t.Context(), tc.ev)
			require.NoError(t, err)
			require.Equal(t, tc.wantKind, got.Kind)
			require.Equal(t, tc.status, got.Status)
			if !got.Missing {
				require.Equal(t, int64(10000000), got.Amount, "IDR 100000.00 is 10000000 minor units")
				require.Equal(t, "IDR", got.Currency)
			}
			out := confirm.Compare(tc.ev, got)
			require.Equal(t, tc.verdict, out.Verdict, out.Reason)
		})
	}
}

// TestFailures: every way of not getting an answer is an *Error with its
// reason, and no error text carries the api_key.
func TestFailures(t *testing.T) {
	api := newFakeAPI(t)
	api.set("/charges/chrg_500", answer{status: 500, body: "oops"})
	api.set("/charges/chrg_503", answer{status: 503})
	api.set("/charges/chrg_429", answer{status: 429})
	api.set("/charges/chrg_400", answer{status: 400, body: `{"object":"error"}`})
	api.set("/charges/chrg_slow", answer{delay: 5 * time.Second, body: `{}`})
	api.set("/charges/chrg_json", answer{body: `<html>`})
	api.set("/charges/chrg_obj", answer{body: `{"object":"refund","amount":1,"currency":"thb"}`})
	api.set("/charges/chrg_big", answer{body: `{"object":"charge","x":"` + strings.Repeat("a", 256<<10) + `"}`})
	api.set("/charges/chrg_amount", answer{body: `{"object":"charge","amount":50.5,"currency":"thb","status":"successful"}`})
	api.set("/v2/ord-auth/status", answer{body: `{"status_code":"401","status_message":"unauthorized"}`})
	api.set("/v2/ord-float/status", answer{body: `{"status_code":"200","transaction_status":"settlement","gross_amount":"1e5","currency":"IDR"}`})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	tests := []struct {
		name, provider, base, key, ref string
		reason                         string
	}{
		{"5xx", "omise", api.URL, apiKey, "chrg_500", confirm.ReasonServer},
		{"503", "omise", api.URL, apiKey, "chrg_503", confirm.ReasonServer},
		{"429", "omise", api.URL, apiKey, "chrg_429", confirm.ReasonRateLimited},
		{"other 4xx", "omise", api.URL, apiKey, "chrg_400", confirm.ReasonBadResponse},
		{"wrong key", "omise", api.URL, "skey_wrong", "chrg_500", confirm.ReasonAuth},
		{"timeout", "omise", api.URL, apiKey, "chrg_slow", confirm.ReasonTimeout},
		{"connection refused", "omise", refused, apiKey, "chrg_1", confirm.ReasonNetwork},
		{"not JSON", "omise", api.URL, apiKey, "chrg_json", confirm.ReasonBadResponse},
		{"not a charge", "omise", api.URL, apiKey, "chrg_obj", confirm.ReasonBadResponse},
		{"answer too large", "omise", api.URL, apiKey, "chrg_big", confirm.ReasonBadResponse},
		{"fractional minor units", "omise", api.URL, apiKey, "chrg_amount", confirm.ReasonBadResponse},
		{"midtrans refuses the key in the body", "midtrans", api.URL, apiKey, "ord-auth", confirm.ReasonAuth},
		{"midtrans gross amount not a decimal", "midtrans", api.URL, apiKey, "ord-float", confirm.ReasonBadResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConfirmer(t, tc.provider, tc.base, tc.key)
			_, err := c.Confirm(context.Background(), bankhooks.Event{Kind: bankhooks.KindPaymentSucceeded, Reference: tc.ref, Amount: 1, Currency: "THB"})
			require.Error(t, err)
			var ce *confirm.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.reason, ce.Reason, err.Error())
			require.Equal(t, tc.reason, confirm.ReasonOf(err))
			require.NotContains(t, err.Error(), apiKey)
			require.NotContains(t, err.Error(), tc.key)
		})
	}
}

func TestNew(t *testing.T) {
	require.Equal(t, []string{"midtrans", "omise"}, confirm.Providers())
	require.True(t, confirm.Supports("omise"))
	require.False(t, confirm.Supports("stripe"))
	tests := []struct {
		name, provider, base, key, err string
	}{
		{"no confirmer", "stripe", "https://api.stripe.com", "k", `provider "stripe" has no confirmer (available: midtrans, omise)`},
		{"not a URL", "omise", "api.omise.co", "k", "not an http(s) URL"},
		{"ftp", "omise", "ftp://api.omise.co", "k", "not an http(s) URL"},
		{"query", "omise", "https://api.omise.co?x=1", "k", "no user, query or fragment"},
		{"no key", "omise", "https://api.omise.co", "", "no api_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := confirm.New(tc.provider, confirm.Options{APIBase: tc.base, APIKey: tc.key})
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestMoneyKind(t *testing.T) {
	for k, want := range map[bankhooks.Kind]bool{
		bankhooks.KindPaymentSucceeded: true, bankhooks.KindPaymentPending: true, bankhooks.KindRefundFailed: true,
		bankhooks.KindTransferSucceeded: true, bankhooks.KindOther: false, bankhooks.KindUnreadable: false,
		bankhooks.KindAccountLinked: false, bankhooks.KindDisputeOpened: false, "payment.bogus": false,
	} {
		require.Equal(t, want, confirm.MoneyKind(k), k)
	}
}

func TestMoney(t *testing.T) {
	require.Equal(t, "THB 50.00", confirm.Money(5000, "THB"))
	require.Equal(t, "JPY 500", confirm.Money(500, "JPY"))
	require.Equal(t, "KWD 1.005", confirm.Money(1005, "KWD"))
}
