package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Opn signature headers, as bankhooks names them. Spelled out here so the
// bare handler and the load generator do not share bankbot's verifier.
const (
	omiseSignatureHeader = "Omise-Signature"
	omiseTimestampHeader = "Omise-Signature-Timestamp"
)

// Errors of verifyOmise. They never carry a signature or the key.
var (
	errNoSignature  = errors.New("missing or malformed signature")
	errNoTimestamp  = errors.New("missing or malformed timestamp")
	errStale        = errors.New("timestamp outside the window")
	errBadSignature = errors.New("signature does not match")
)

// acceptedBody is the bare handler's answer to a verified webhook.
var acceptedBody = []byte(`{"status":"accepted"}`)

// bareHandler is the baseline bankbot is compared with: it reads the body
// under the same size cap, verifies the Opn signature and timestamp window
// exactly as bankbot's omise source does, and answers 200. It stores
// nothing, parses nothing and logs nothing.
type bareHandler struct {
	key     []byte
	maxBody int64
	maxSkew time.Duration
	now     func() time.Time
}

// ServeHTTP answers POST /hooks/{anything}.
func (h *bareHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/hooks/") {
		http.Error(w, `{"error":"not_found"}`, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, `{"error":"method_not_allowed"}`, http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > h.maxBody {
		http.Error(w, `{"error":"body_too_large"}`, http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, `{"error":"body_too_large"}`, http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, `{"error":"unreadable_body"}`, http.StatusBadRequest)
		return
	}
	if err := verifyOmise(h.key, r.Header, body, h.now(), h.maxSkew); err != nil {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(acceptedBody)
}

// verifyOmise checks Omise-Signature (lower-case hex HMAC-SHA256 of
// "<timestamp>.<body>", several comma-separated allowed) and that
// Omise-Signature-Timestamp (unix seconds) is within skew of now, both ways.
// It fails closed: anything it cannot read is an error.
func verifyOmise(key []byte, h http.Header, body []byte, now time.Time, skew time.Duration) error {
	var sigs [][]byte
	for _, v := range h.Values(omiseSignatureHeader) {
		for part := range strings.SplitSeq(v, ",") {
			b, err := hex.DecodeString(strings.TrimSpace(part))
			if err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if len(sigs) == 0 {
		return errNoSignature
	}
	tsRaw := strings.TrimSpace(h.Get(omiseTimestampHeader))
	if tsRaw == "" || len(tsRaw) > 18 || strings.TrimLeft(tsRaw, "0123456789") != "" {
		return errNoTimestamp
	}
	sec, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return errNoTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > skew || d < -skew {
		return errStale
	}
	want := signOmise(key, tsRaw, body)
	ok := false
	for _, s := range sigs {
		// Every candidate is compared, in constant time, so the time taken
		// does not tell which one matched.
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return errBadSignature
	}
	return nil
}

// signOmise returns the raw HMAC-SHA256 of "<ts>.<body>" keyed by key (the
// base64-decoded Opn secret), as Opn signs a webhook.
func signOmise(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// decodeSecret base64-decodes an Opn webhook secret.
func decodeSecret(b64 string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("secret is not standard base64: %w", err)
	}
	if len(k) == 0 {
		return nil, errors.New("secret decodes to zero bytes")
	}
	return k, nil
}

// runBare is `loadtest bare --listen ADDR --secret B64`: the bare handler as
// its own process, serving until SIGINT or SIGTERM.
func runBare(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	secret := fs.String("secret", defaultSecret, "Opn webhook secret (base64)")
	maxBody := fs.Int64("max-body", defaultMaxBody, "body size cap in bytes (bankbot's server.max_body_bytes)")
	maxSkew := fs.Duration("max-skew", 5*time.Minute, "signed-timestamp window, both ways")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	key, err := decodeSecret(*secret)
	if err != nil {
		fmt.Fprintln(stderr, "bare:", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "bare:", err)
		return 1
	}
	// The same timeouts as bankbot's webhook listener (config defaults).
	srv := &http.Server{
		Handler:           &bareHandler{key: key, maxBody: *maxBody, maxSkew: *maxSkew, now: time.Now},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		fmt.Fprintln(stderr, "bare:", err)
		return 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "bare: shutdown:", err)
		return 1
	}
	return 0
}
