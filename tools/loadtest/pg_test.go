package main

import (
	"bytes"
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bot/config"
)

func TestDSNWithParams(t *testing.T) {
	schema := [2]string{"search_path", "lt_0123456789ab"}
	app := [2]string{"application_name", "lt_0123456789ab"}
	tests := []struct {
		name    string
		dsn     string
		kv      [][2]string
		want    string
		wantErr string
	}{
		{"URL with a query", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", [][2]string{schema},
			"postgres://postgres@127.0.0.1:5432/test?search_path=lt_0123456789ab&sslmode=disable", ""},
		{"URL without a query", "postgresql://u:p%40ss@db/test", [][2]string{schema, app},
			"postgresql://u:p%40ss@db/test?application_name=lt_0123456789ab&search_path=lt_0123456789ab", ""},
		{"URL replaces a search_path", "postgres://h/test?search_path=public", [][2]string{schema},
			"postgres://h/test?search_path=lt_0123456789ab", ""},
		{"keyword/value", "host=127.0.0.1 user=postgres dbname=test", [][2]string{schema, app},
			"host=127.0.0.1 user=postgres dbname=test search_path=lt_0123456789ab application_name=lt_0123456789ab", ""},
		{"surrounding space", "  host=h  ", [][2]string{schema}, "host=h search_path=lt_0123456789ab", ""},
		{"empty", " ", [][2]string{schema}, "", "empty dsn"},
		{"another scheme", "mysql://h/db", [][2]string{schema}, "", "only postgres://"},
		{"value that is not a word", "host=h", [][2]string{{"search_path", "a b"}}, "", "not a plain word"},
		{"empty value", "host=h", [][2]string{{"search_path", ""}}, "", "not a plain word"},
		{"bad URL, password not echoed", "postgres://u:secret@h:port/db", [][2]string{schema}, "", "dsn is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dsnWithParams(tt.dsn, tt.kv...)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSchemaName(t *testing.T) {
	a, b := newSchemaName(), newSchemaName()
	require.Regexp(t, `^lt_[0-9a-f]{12}$`, a)
	require.NotEqual(t, a, b)
}

func TestPGWhere(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://postgres:hunter2@127.0.0.1:5432/test?sslmode=disable", "postgres@127.0.0.1:5432/test"},
		{"host=db port=6432 user=bot password=hunter2 dbname=prod", "bot@db:6432/prod"},
		{"postgres://h:notaport/db", "(unparsable dsn)"},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			got := pgWhere(tt.dsn)
			require.Equal(t, tt.want, got)
			require.NotContains(t, got, "hunter2")
		})
	}
}

func TestSumCPUDelta(t *testing.T) {
	s := func(n int) time.Duration { return time.Duration(n) * time.Second }
	before := map[int]time.Duration{10: s(5), 11: s(1), 12: s(7)}
	after := map[int]time.Duration{10: s(8), 11: s(1), 13: s(2), 14: s(100)}
	tests := []struct {
		name string
		pids []int32
		want time.Duration
	}{
		{"ours only", []int32{10, 11}, s(3)},
		{"a new backend counts from zero", []int32{10, 13}, s(5)},
		{"an ended one is missed", []int32{12}, 0},
		{"unknown pid", []int32{99}, 0},
		{"none", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, sumCPUDelta(before, after, tt.pids))
		})
	}
}

func TestStoreCheckDescribe(t *testing.T) {
	pg := &pgRun{Schema: "lt_1", Where: "postgres@127.0.0.1:5432/test", Version: "15.10", Fsync: "on",
		SyncCommit: "on", WALSync: "fdatasync", DataDir: "/var/lib/postgresql/15/main", FSType: "ext4", FSOn: "/dev/vda"}
	tests := []struct {
		name string
		chk  storeCheck
		want []string
	}{
		{"sqlite on disk", storeCheck{DBPath: "/tmp/x/bankbot.db", FSType: "ext4", FSOn: "/dev/vda"},
			[]string{"/tmp/x/bankbot.db (ext4 on /dev/vda; durable: SQLite WAL, synchronous=FULL)"}},
		{"sqlite in memory", storeCheck{DBPath: "/dev/shm/b.db", FSType: "tmpfs", FSOn: "tmpfs"},
			[]string{"NOT DURABLE"}},
		{"postgres", storeCheck{PG: pg},
			[]string{"PostgreSQL 15.10 at postgres@127.0.0.1:5432/test, schema lt_1", "fsync=on, synchronous_commit=on, wal_sync_method=fdatasync",
				"data in /var/lib/postgresql/15/main (ext4 on /dev/vda)", "; durable:"}},
		{"postgres without fsync", storeCheck{PG: &pgRun{Schema: "lt_2", Fsync: "off", FSType: "unknown"}},
			[]string{"NOT DURABLE (fsync=off", "data directory not readable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.chk.describe()
			for _, w := range tt.want {
				require.Contains(t, got, w)
			}
		})
	}
}

// TestBankbotConfig: bankbot's own config loader accepts what the tool
// writes, for each storage and robot.
func TestBankbotConfig(t *testing.T) {
	fake := startFakeDingTalk()
	defer fake.Close()
	sqlite := `storage:
  driver: sqlite
  dsn: "/tmp/lt/bankbot.db"
`
	pg := `storage:
  driver: postgres
  dsn: "postgres://postgres@127.0.0.1:5432/test?application_name=lt_1&search_path=lt_1&sslmode=disable"
`
	tests := []struct {
		name      string
		storage   string
		robotYAML string
		robot     string
		driver    string
		webhook   string
	}{
		{"sqlite, console", sqlite, "  console:\n    type: console\n", "console", "sqlite", ""},
		{"postgres, fake DingTalk", pg, fake.RobotYAML(robotName), robotName, "postgres", fake.URL()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := bankbotConfig("127.0.0.1:1", "127.0.0.1:2", tt.storage, tt.robotYAML, tt.robot, defaultSecret)
			cfg, err := config.Parse([]byte(raw), t.TempDir(), func(string) (string, bool) { return "", false })
			require.NoError(t, err)
			require.Equal(t, tt.driver, cfg.Storage.Driver)
			require.Len(t, cfg.Routes, 1)
			require.Equal(t, tt.robot, cfg.Routes[0].Robot)
			r := cfg.Robots[tt.robot]
			require.NotNil(t, r)
			require.Equal(t, tt.webhook, r.Webhook.Reveal())
			if tt.webhook != "" {
				require.Equal(t, fake.Secret(), r.Secret.Reveal())
			}
		})
	}
}

func TestParseFlagsModes(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		stderr  string
		check   func(t *testing.T, o options)
	}{
		{name: "dingtalk measures bankbot alone", args: []string{"--dingtalk"}, check: func(t *testing.T, o options) {
			require.Equal(t, []string{"bankbot"}, o.Targets)
			require.Equal(t, 15*time.Minute, o.ShownWait)
		}},
		{name: "dingtalk with bare", args: []string{"--dingtalk", "--targets", "bare,bankbot"}, wantErr: true, stderr: "--dingtalk measures bankbot only"},
		{name: "dingtalk burst", args: []string{"--dingtalk", "--burst", "1000"}, check: func(t *testing.T, o options) {
			require.Equal(t, 1000, o.Burst)
			require.Equal(t, 64, o.Concurrency)
		}},
		{name: "burst and rate", args: []string{"--burst", "10", "--rate", "5"}, wantErr: true, stderr: "choose one"},
		{name: "negative burst", args: []string{"--burst", "-1"}, wantErr: true, stderr: "--burst"},
		{name: "burst ignores duration", args: []string{"--burst", "10", "--duration", "5s"}, stderr: "not used with --burst"},
		{name: "zero shown timeout", args: []string{"--dingtalk", "--shown-timeout", "0s"}, wantErr: true, stderr: "--shown-timeout"},
		{name: "postgres", args: []string{"--postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"}, check: func(t *testing.T, o options) {
			require.Equal(t, []string{"bare", "bankbot"}, o.Targets)
		}},
		{name: "postgres with db-dir", args: []string{"--postgres", "host=h", "--db-dir", "/tmp/x"}, wantErr: true, stderr: "--db-dir is for SQLite"},
		{name: "postgres DSN of another kind", args: []string{"--postgres", "mysql://h/db"}, wantErr: true, stderr: "--postgres"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tc.args, &stderr)
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			require.Contains(t, stderr.String(), tc.stderr)
			if tc.check != nil {
				tc.check(t, o)
			}
		})
	}
}

// TestRunBurst posts exactly the burst's events, each accepted, with their
// send times, and the window is the whole burst.
func TestRunBurst(t *testing.T) {
	srv, n := acceptingServer(t)
	gen, err := newEventGen(testNow, "burst")
	require.NoError(t, err)
	var marks []string
	spec := loadSpec{URL: srv.URL + "/hooks/load", Key: testKey(t), Concurrency: 8, Burst: 100,
		Warmup: time.Hour, Duration: time.Hour, Timeout: 10 * time.Second, Gen: gen,
		AtStart: func() { marks = append(marks, "start") },
		AtEnd:   func() { marks = append(marks, "end") },
	}
	res := runLoad(context.Background(), spec)
	require.Equal(t, []string{"start", "end"}, marks)
	require.Equal(t, int64(100), n.Load())
	require.Equal(t, 100, res.TotalSent)
	require.Equal(t, 100, res.Completed)
	require.Equal(t, 100, res.Accepted)
	require.Len(t, res.TotalAccepted, 100)
	require.Equal(t, res.Ended.Sub(res.Started), res.Window)
	require.Nil(t, res.Open)
	for _, a := range res.TotalAccepted {
		require.False(t, a.Sent.Before(res.Started))
		require.False(t, a.Sent.After(res.Ended))
	}
	require.False(t, math.IsNaN(res.AcceptedPerSecond()))
}

// TestRunBurstStopsOnBadURL: a request that cannot be built ends the burst
// instead of spinning.
func TestRunBurstStopsOnBadURL(t *testing.T) {
	gen, err := newEventGen(testNow, "bad")
	require.NoError(t, err)
	var calls atomic.Int64
	spec := loadSpec{URL: "http://[::1", Key: testKey(t), Concurrency: 4, Burst: 1000, Timeout: time.Second, Gen: gen,
		AtStart: func() { calls.Add(1) }}
	res := runLoad(context.Background(), spec)
	require.LessOrEqual(t, res.TotalSent, 4)
	require.Empty(t, res.TotalAccepted)
	require.Equal(t, int64(1), calls.Load())
}
