package chatops

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bankbot/bankbot/bankhooks"
	"github.com/bankbot/bankbot/bot/render"
	"github.com/bankbot/bankbot/store"
)

// verbRE finds the fmt verbs of a format.
var verbRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// TestTexts reads every text{…} literal in texts.go (so a text added later
// is checked without being listed here) and requires, for each, a non-empty
// text in every language bankbot speaks, taking the same fmt verbs in the
// same order as the English one, and no translation that is the English
// text left in place.
func TestTexts(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "texts.go", nil, 0)
	require.NoError(t, err)
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		lit, ok := node.(*ast.CompositeLit)
		if !ok || !isTextLit(lit) {
			return true
		}
		n++
		pos := fset.Position(lit.Pos()).String()
		got := map[string]string{}
		for _, el := range lit.Elts {
			kv := el.(*ast.KeyValueExpr)
			s, err := strconv.Unquote(kv.Value.(*ast.BasicLit).Value)
			require.NoError(t, err, pos)
			got[kv.Key.(*ast.Ident).Name] = s
		}
		for _, lang := range render.Languages() {
			require.NotEmpty(t, strings.TrimSpace(got[lang]), "%s: no %s text", pos, lang)
			require.Equal(t, verbRE.FindAllString(got["en"], -1), verbRE.FindAllString(got[lang], -1), "%s: %s verbs differ from English", pos, lang)
		}
		for _, lang := range []string{"th", "zh"} { // id shares words with English (status, ref …)
			require.NotEqual(t, got["en"], got[lang], "%s: the %s text is the English one", pos, lang)
		}
		return true
	})
	require.Greater(t, n, 50, "found the texts")
	require.Len(t, usage, len(levels)-1, "a help line for every command but unknown")
}

// isTextLit reports whether lit is a text{…} literal, its type written or
// elided (the values of usage).
func isTextLit(lit *ast.CompositeLit) bool {
	if id, ok := lit.Type.(*ast.Ident); ok {
		return id.Name == "text"
	}
	if lit.Type != nil || len(lit.Elts) == 0 {
		return false
	}
	kv, ok := lit.Elts[0].(*ast.KeyValueExpr)
	if !ok {
		return false
	}
	k, ok := kv.Key.(*ast.Ident)
	return ok && k.Name == "en"
}

// TestText_FallsBackToEnglish: a language without its own text shows the
// English one, never an empty message.
func TestText_FallsBackToEnglish(t *testing.T) {
	tx := text{en: "Delivery %d is queued again.", th: "", zh: "  "}
	for _, lang := range []string{"th", "zh", "id", "", "fr"} {
		require.Equal(t, "Delivery 7 is queued again.", Env{Language: lang}.tr(tx, 7), lang)
	}
	require.Equal(t, "ok", Env{Language: "id"}.tr(text{en: "en", id: "ok"}))
}

// langStore answers the store calls of help, today, status and retry.
type langStore struct {
	Store
	events []store.StoredEvent
}

func (langStore) AppendAudit(context.Context, AuditEntry) error { return nil }
func (s langStore) ListEvents(context.Context, store.EventFilter) ([]store.StoredEvent, error) {
	return s.events, nil
}
func (langStore) Stats(context.Context) (store.Stats, error)              { return store.Stats{Pending: 2}, nil }
func (langStore) RobotStates(context.Context) ([]store.RobotState, error) { return nil, nil }
func (langStore) RequeueDelivery(context.Context, int64, time.Time) error { return store.ErrNotFound }
func (langStore) ListUnacked(context.Context, []string, time.Time, int) ([]store.StoredEvent, error) {
	return nil, nil
}

// TestHandle_LanguagePerConversation: each chat group gets replies in its
// chatops.languages language, the others in the default one; amounts follow
// the reply language's number format, and failure codes are explained.
func TestHandle_LanguagePerConversation(t *testing.T) {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	failed := store.StoredEvent{ID: "ev_01aaaa", Source: "opn", ReceivedAt: now.Add(-time.Hour), Event: bankhooks.Event{
		Kind: bankhooks.KindPaymentFailed, Amount: 123456789, Currency: "IDR", FailureCode: "insufficient_fund", Livemode: true,
	}}
	svc := &Service{Store: langStore{events: []store.StoredEvent{failed}}, Limiter: &Limiter{Limit: 1000}, Now: func() time.Time { return now }}
	env := Env{
		Policy:    Policy{AllowedConversations: []string{"cidTH==", "cidZH==", "cidID==", "cidEN==", "cidth=="}, AdminStaff: []string{"boss"}},
		Language:  "en",
		Languages: map[string]string{"cidTH==": "th", "cidZH==": "zh", "cidID==": "id"},
		Robots:    []string{"finance"},
	}
	for _, tc := range []struct {
		cid, cmd string
		want     []string
	}{
		{"cidTH==", "help", []string{"#### คำสั่งที่ใช้ได้ในห้องนี้", "`today` (วันนี้): จำนวนและยอดรวม"}},
		{"cidZH==", "help", []string{"#### 在这里可以问我的问题"}},
		{"cidID==", "bantuan", []string{"#### Yang bisa Anda tanyakan di sini"}},
		{"cidEN==", "help", []string{"#### What you can ask me here"}},
		{"cidth==", "help", []string{"#### What you can ask me here"}}, // conversation ids are case-sensitive
		{"cidTH==", "coffee", []string{"ไม่รู้จักคำสั่ง \"coffee\""}},
		{"cidZH==", "today", []string{"#### 2026-03-14 汇总", "共 1 个事件", "**失败（1）**", "IDR 1,234,567.89", "卡内或账户余额不足 (insufficient_fund)"}},
		{"cidID==", "today", []string{"#### Ringkasan 2026-03-14", "1 peristiwa", "IDR 1.234.567,89", "❌ Pembayaran gagal", "saldo kartu atau rekening tidak cukup"}},
		{"cidEN==", "today", []string{"#### Summary 2026-03-14", "IDR 1,234,567.89", "❌ Payment failed", "not enough money"}},
		{"cidTH==", "status", []string{"#### สถานะ bankbot", "รอส่ง 2", "- finance: ปกติ", "ไม่มีคีย์ที่จะหมดอายุภายใน 14 วัน"}},
		{"cidID==", "retry 42", []string{"Tidak ada pengiriman 42."}},
	} {
		t.Run(tc.cid+" "+tc.cmd, func(t *testing.T) {
			rep := svc.Handle(context.Background(), env, Message{Text: tc.cmd, ConversationID: tc.cid, SenderStaffID: "boss", MsgID: "m1"})
			require.NotEmpty(t, strings.TrimSpace(rep.Text))
			for _, w := range tc.want {
				require.Contains(t, rep.Text, w)
			}
		})
	}
	require.Equal(t, "en", Env{Language: "fr"}.LanguageFor("x"), "an unknown language is English")
	require.Equal(t, "en", Env{}.LanguageFor(""), "no language is English")
	require.Equal(t, "th", Env{Language: "th", Languages: map[string]string{"": "zh"}}.LanguageFor(""))
}

// TestHandle_TodayLeavesOutTestMode: events sent in the provider's test mode
// are counted in their own section, not in the totals nor the failed list.
func TestHandle_TodayLeavesOutTestMode(t *testing.T) {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	ev := func(id string, kind bankhooks.Kind, amount int64, live bool) store.StoredEvent {
		return store.StoredEvent{ID: id, Source: "opn", ReceivedAt: now.Add(-time.Hour), Event: bankhooks.Event{
			Kind: kind, Amount: amount, Currency: "THB", Livemode: live}}
	}
	svc := &Service{Store: langStore{events: []store.StoredEvent{
		ev("ev_live", bankhooks.KindPaymentSucceeded, 10000, true),
		ev("ev_test_ok", bankhooks.KindPaymentSucceeded, 990000, false),
		ev("ev_test_failed", bankhooks.KindPaymentFailed, 4400, false),
	}}, Limiter: &Limiter{Limit: 1000}, Now: func() time.Time { return now }}
	env := Env{Policy: Policy{AllowedConversations: []string{"cid=="}}, Language: "en"}
	rep := svc.Handle(context.Background(), env, Message{Text: "today", ConversationID: "cid==", SenderStaffID: "u1", MsgID: "m1"})
	live, test, ok := strings.Cut(rep.Text, "**🧪 Test mode, not in the totals (2)**")
	require.True(t, ok, rep.Text)
	require.Contains(t, live, "1 events")
	require.Contains(t, live, "- ✅ Payment received: 1 · THB 100.00")
	require.NotContains(t, live, "9,900.00")
	require.NotContains(t, rep.Text, "Failed (", "a test-mode failure is not listed as failed")
	require.Contains(t, test, "- ❌ Payment failed: 1 · THB 44.00")
	require.Contains(t, test, "- ✅ Payment received: 1 · THB 9,900.00")
}
