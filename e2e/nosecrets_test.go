package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

// TestE2E_StoreCommandsWithoutSecrets: on a host where a source's secret is
// only in the service's environment, the commands that need the store only
// (deadletters list, events list, replay) work with the real binary, while
// config check still says the variable is missing.
func TestE2E_StoreCommandsWithoutSecrets(t *testing.T) {
	fake := dingtalktest.New(t, dingtalktest.Options{Secret: dtSecret})
	fake.Script(dingtalktest.Response{ErrCode: 400102}) // the first message is dead-lettered
	dir := t.TempDir()
	p := newParams(t, fake, dir)
	p.Secrets = "      - value: ${E2E_OPN_SECRET}\n"
	t.Setenv("E2E_OPN_SECRET", keyA) // the service's environment
	s := startServer(t, dir, p)
	r := s.postOpn("opn", keyA, time.Now(), chargeComplete("evnt_nosecret", 4200, "THB"))
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	id := idOf(t, r.Body)
	eventually(t, 20*time.Second, func() bool { return s.metric(`bankbot_deliveries_total{result="dead",robot="finance"}`) == "1" },
		"the delivery was not dead-lettered")

	// An operator's shell: the same config file, no secret in the environment.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "E2E_OPN_SECRET=") {
			env = append(env, kv)
		}
	}
	cli := func(args ...string) (string, error) {
		cmd := exec.Command(binPath, append(args, "--config", s.cfgPath)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := cli("config", "check")
	require.Error(t, err, out)
	require.Contains(t, out, "E2E_OPN_SECRET")

	out, err = cli("deadletters", "list")
	require.NoError(t, err, out)
	require.Contains(t, out, id)
	require.Contains(t, out, "THB 42.00")

	out, err = cli("events", "list")
	require.NoError(t, err, out)
	require.Contains(t, out, id)

	out, err = cli("replay", "evnt_nosecret")
	require.NoError(t, err, out)
	require.Contains(t, out, "requeued")
}
