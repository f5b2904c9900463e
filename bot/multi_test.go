package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/store"
)

// multiProvider is Opn's verification with a body that carries several
// events, as Adyen's notificationItems do: {"items": [charge, …]}, each
// item an Opn charge event; an item that is not one is unreadable on its
// own. It answers "[accepted]" like Adyen.
type multiProvider struct{ bankhooks.Omise }

func (multiProvider) ParseAll(r bankhooks.Request) ([]bankhooks.Event, error) {
	var doc struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		return nil, err
	}
	out := make([]bankhooks.Event, 0, len(doc.Items))
	for i, raw := range doc.Items {
		ev, err := (bankhooks.Omise{}).Parse(bankhooks.Request{Header: r.Header, Body: raw})
		if err != nil {
			ev = bankhooks.Unreadable("multi", bankhooks.Request{Body: raw}, err.Error())
			ev.ID = "item-" + string(rune('0'+i))
		}
		out = append(out, ev)
	}
	return out, nil
}

func (multiProvider) Ack() (string, []byte) { return "text/plain; charset=utf-8", []byte("[accepted]") }

// TestIngest_MultiEventRequest: every event of a multi-event request is
// stored and routed on its own, an unreadable item among them is stored as
// unreadable without holding back the others, the answer is the provider's
// acknowledgement, and the provider's retry of the whole request adds
// nothing.
func TestIngest_MultiEventRequest(t *testing.T) {
	ta := newTestApp(t, testConfig{})
	ta.withRuntime(func(rt *Runtime) {
		s := *rt.Sources["opn"]
		s.Provider = multiProvider{}
		rt.Sources = map[string]*Source{"opn": &s}
	})
	body, err := json.Marshal(map[string]any{"items": []json.RawMessage{
		charge("evnt_multi_1", 1000, "THB", "a"),
		charge("evnt_multi_2", 2000, "THB", "b"),
		json.RawMessage(`{"object":"event","id":"evnt_bad","key":"charge.complete","data":{"object":"charge","amount":"x"}}`),
	}})
	require.NoError(t, err)
	post := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		ta.hookRouter().ServeHTTP(rec, hookRequest(t, "opn", keyA, ta.clock.Now(), body))
		return rec
	}
	rec := post()
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "[accepted]", rec.Body.String())
	require.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))

	evs, err := ta.store.ListEvents(context.Background(), store.EventFilter{Limit: 10})
	require.NoError(t, err)
	require.Len(t, evs, 3)
	byID := map[string]store.StoredEvent{}
	for _, e := range evs {
		byID[e.Event.ID] = e
	}
	require.Equal(t, int64(1000), byID["evnt_multi_1"].Event.Amount)
	require.Equal(t, int64(2000), byID["evnt_multi_2"].Event.Amount)
	require.Equal(t, bankhooks.KindUnreadable, byID["item-2"].Event.Kind)
	require.Len(t, ta.deliveries(t), 3, "each event routed on its own")
	require.Equal(t, 2.0, metricValue(ta.metrics.Received.WithLabelValues("opn", "accepted")))
	require.Equal(t, 1.0, metricValue(ta.metrics.Received.WithLabelValues("opn", "unreadable")))

	// The provider sends the request again: all duplicates, same answer.
	rec = post()
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "[accepted]", rec.Body.String())
	require.Equal(t, 3.0, metricValue(ta.metrics.Received.WithLabelValues("opn", "duplicate")))
	require.Len(t, ta.deliveries(t), 3)

	// A rejected request keeps the JSON error, not the acknowledgement.
	req := hookRequest(t, "opn", keyB, ta.clock.Now(), body)
	rec = httptest.NewRecorder()
	ta.hookRouter().ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Contains(t, rec.Body.String(), `"error":"bad_signature"`)
}
