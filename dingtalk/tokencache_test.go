package dingtalk_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/dingtalk"
	"github.com/bankbot/bankbot/dingtalk/dingtalktest"
)

func appConfig(f *appFake, clock *dingtalktest.Clock, cache *dingtalk.TokenCache) dingtalk.AppRobotConfig {
	return dingtalk.AppRobotConfig{
		AppKey: appKey, AppSecret: appSecret, RobotCode: "dingrobot", ConversationID: "cidGroup==",
		APIBase: f.srv.URL, Now: clock.Now, Tokens: cache,
	}
}

func sendText(t *testing.T, a *dingtalk.AppRobot, text string) {
	t.Helper()
	require.NoError(t, a.Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: text}))
}

// TestTokenCache_SurvivesRebuild builds an AppRobot, sends, then builds a
// second one (as a config reload does) and sends again.
func TestTokenCache_SurvivesRebuild(t *testing.T) {
	const newSecret = "rotated-secret-0123456789"
	tests := []struct {
		name       string
		fake       func(f *appFake)                 // before the second robot
		second     func(c *dingtalk.AppRobotConfig) // edits the second robot's config
		cache      func() (first, second *dingtalk.TokenCache)
		wantTokens int
	}{
		{name: "same credentials, same cache", wantTokens: 1},
		{name: "same app, another group", wantTokens: 1, second: func(c *dingtalk.AppRobotConfig) {
			c.RobotCode, c.ConversationID = "otherrobot", "cidOther=="
		}},
		{name: "api base with a trailing slash", wantTokens: 1, second: func(c *dingtalk.AppRobotConfig) { c.APIBase += "/" }},
		{
			name: "changed secret", wantTokens: 2,
			fake:   func(f *appFake) { f.creds[appKey] = newSecret },
			second: func(c *dingtalk.AppRobotConfig) { c.AppSecret = newSecret },
		},
		{
			name: "changed key", wantTokens: 2,
			fake:   func(f *appFake) { f.creds["dingotherkey"] = appSecret },
			second: func(c *dingtalk.AppRobotConfig) { c.AppKey = "dingotherkey" },
		},
		{name: "no cache: private to each robot", wantTokens: 2, cache: func() (*dingtalk.TokenCache, *dingtalk.TokenCache) { return nil, nil }},
		{name: "another cache", wantTokens: 2, cache: func() (*dingtalk.TokenCache, *dingtalk.TokenCache) {
			return new(dingtalk.TokenCache), new(dingtalk.TokenCache)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newAppFake(t)
			clock := dingtalktest.NewClock(t0)
			var shared dingtalk.TokenCache // the zero value is ready for use
			c1, c2 := &shared, &shared
			if tc.cache != nil {
				c1, c2 = tc.cache()
			}

			first, err := dingtalk.NewAppRobot(appConfig(f, clock, c1))
			require.NoError(t, err)
			sendText(t, first, "before the reload")

			if tc.fake != nil {
				f.set(tc.fake)
			}
			cfg := appConfig(f, clock, c2)
			if tc.second != nil {
				tc.second(&cfg)
			}
			second, err := dingtalk.NewAppRobot(cfg)
			require.NoError(t, err)
			sendText(t, second, "after the reload")

			tokens, sends := f.calls()
			require.Equal(t, tc.wantTokens, tokens)
			require.Len(t, sends, 2)
			require.Equal(t, "tok-1", sends[0].Token)
			require.Equal(t, fmt.Sprintf("tok-%d", tc.wantTokens), sends[1].Token)
		})
	}
}

func TestTokenCache_OneFetchAcrossRobots(t *testing.T) {
	f := newAppFake(t)
	clock := dingtalktest.NewClock(t0)
	cache := new(dingtalk.TokenCache)
	robots := make([]*dingtalk.AppRobot, 4)
	for i := range robots {
		a, err := dingtalk.NewAppRobot(appConfig(f, clock, cache))
		require.NoError(t, err)
		robots[i] = a
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			errs <- robots[i%len(robots)].Send(context.Background(), dingtalk.Message{Type: dingtalk.MsgText, Text: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	tokens, sends := f.calls()
	require.Equal(t, 1, tokens, "concurrent sends of robots sharing credentials fetch one token")
	require.Len(t, sends, 40)
}

// TestTokenCache_SharedRefreshAndRevocation: a token one robot replaces is
// replaced for all robots sharing the cache.
func TestTokenCache_SharedRefreshAndRevocation(t *testing.T) {
	f := newAppFake(t)
	clock := dingtalktest.NewClock(t0)
	cache := new(dingtalk.TokenCache)
	a, err := dingtalk.NewAppRobot(appConfig(f, clock, cache))
	require.NoError(t, err)
	b, err := dingtalk.NewAppRobot(appConfig(f, clock, cache))
	require.NoError(t, err)

	sendText(t, a, "1")
	f.set(func(f *appFake) { f.revoked["tok-1"] = true })
	sendText(t, a, "2") // refused tok-1, fetched tok-2
	sendText(t, b, "3") // uses tok-2

	clock.Advance(7200 * time.Second) // past expiry
	sendText(t, b, "4")               // fetches tok-3
	sendText(t, a, "5")               // uses tok-3

	tokens, sends := f.calls()
	require.Equal(t, 3, tokens)
	got := make([]string, len(sends))
	for i, s := range sends {
		got[i] = s.Token
	}
	require.Equal(t, []string{"tok-1", "tok-2", "tok-2", "tok-3", "tok-3"}, got)
}
