package render

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
)

// TestRender_Unreadable: an event bankbot could not read is shown plainly,
// naming the source, the problem (escaped) and the ids, in every shipped
// language, never with a made-up amount.
func TestRender_Unreadable(t *testing.T) {
	e := newEngine(t, nil)
	ev := bankhooks.Unreadable("omise", bankhooks.Request{Header: http.Header{}, Body: []byte(`{"id":"evnt_x1","data":{"amount":"5000.5"}}`)},
		`amount "5000.5" is not an integer of minor units <b>`)
	for _, lang := range Languages() {
		t.Run(lang, func(t *testing.T) {
			r, err := e.Render("payment", lang, Data{EventID: "ev_U", Source: "opn", Event: ev})
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(r.Text, "### ⚠️ "), r.Text)
			require.Contains(t, r.Title, "opn")
			require.Contains(t, r.Text, `is not an integer of minor units \<b\>`)
			require.Contains(t, r.Text, "evnt_x1")
			require.True(t, strings.HasSuffix(r.Text, "ref: ev_U"))
			require.NotContains(t, r.Text, "THB")
		})
	}
}
