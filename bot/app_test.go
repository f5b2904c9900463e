package bot

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bot/config"
)

// TestListenHooks_MaxConnections: with server.max_connections N, the N+1th
// connection is not served while N are open (idle keep-alive ones count),
// and is served as soon as one closes.
func TestListenHooks_MaxConnections(t *testing.T) {
	const n = 2
	ln, err := listenHooks(config.Server{Listen: "127.0.0.1:0", MaxConnections: n})
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })

	// get sends one request on conn and reads the status line, waiting at
	// most wait.
	get := func(conn net.Conn, wait time.Duration) (string, error) {
		require.NoError(t, conn.SetDeadline(time.Now().Add(wait)))
		if _, err := conn.Write([]byte("GET /x HTTP/1.1\r\nHost: bankbot\r\n\r\n")); err != nil {
			return "", err
		}
		return bufio.NewReader(conn).ReadString('\n')
	}
	var open []net.Conn
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		line, err := get(c, 5*time.Second)
		require.NoError(t, err)
		require.Contains(t, line, "200")
		open = append(open, c) // kept open: an idle keep-alive connection
	}

	extra, err := net.Dial("tcp", ln.Addr().String()) // the kernel backlog takes it
	require.NoError(t, err)
	t.Cleanup(func() { _ = extra.Close() })
	_, err = get(extra, 300*time.Millisecond)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "connection %d was served while %d were open: %v", n+1, n, err)

	require.NoError(t, open[0].Close())
	require.NoError(t, extra.SetDeadline(time.Now().Add(5*time.Second)))
	line, err := bufio.NewReader(extra).ReadString('\n')
	require.NoError(t, err, "the waiting connection is served once a slot frees")
	require.Contains(t, line, "200")
}

func TestListenHooks_ZeroMeansDefault(t *testing.T) {
	ln, err := listenHooks(config.Server{Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	_, err = listenHooks(config.Server{Listen: "not an address"})
	require.ErrorContains(t, err, "server.listen")
}

func TestLogLimiter(t *testing.T) {
	type step struct {
		key        string
		after      time.Duration // since the start
		ok         bool
		suppressed int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first line is written", []step{{"a", 0, true, 0}}},
		{"repeats within the interval are suppressed and counted", []step{
			{"a", 0, true, 0}, {"a", time.Second, false, 0}, {"a", 9 * time.Second, false, 0},
			{"a", 10 * time.Second, true, 2}, {"a", 11 * time.Second, false, 0}, {"a", 25 * time.Second, true, 1},
		}},
		{"keys are independent", []step{
			{"a", 0, true, 0}, {"b", time.Second, true, 0}, {"a", 2 * time.Second, false, 0}, {"b", 3 * time.Second, false, 0},
			{"b", 11 * time.Second, true, 1}, {"a", 11 * time.Second, true, 1},
		}},
		{"a clock stepping back writes a line", []step{{"a", 10 * time.Second, true, 0}, {"a", 0, true, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLogLimiter(10 * time.Second)
			for i, s := range tc.steps {
				ok, n := l.allow(s.key, t0.Add(s.after))
				require.Equal(t, s.ok, ok, "step %d", i)
				require.Equal(t, s.suppressed, n, "step %d", i)
			}
		})
	}
}

func TestTransientReadError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"too many open files", &os.PathError{Op: "open", Path: "c.yaml", Err: syscall.EMFILE}, true},
		{"file table full", &os.PathError{Op: "open", Path: "c.yaml", Err: syscall.ENFILE}, true},
		{"interrupted", &os.PathError{Op: "read", Path: "c.yaml", Err: syscall.EINTR}, true},
		{"missing file", &os.PathError{Op: "open", Path: "c.yaml", Err: os.ErrNotExist}, false},
		{"permission denied", &os.PathError{Op: "open", Path: "c.yaml", Err: os.ErrPermission}, false},
		{"a config problem", errors.New("routes[0].robot: unknown robot"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, transientReadError(tc.err))
			require.Equal(t, tc.want, transientReadError(fmt.Errorf("read config: %w", tc.err)), "wrapped as config.Load does")
		})
	}
}
