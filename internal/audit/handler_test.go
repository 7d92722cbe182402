package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/store"
)

func get(t *testing.T, h http.Handler, query string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/audit?"+query, nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET ?%s: %d %s: %v", query, rec.Code, rec.Body, err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return rec.Code, body
}

func objectIDs(t *testing.T, h http.Handler, query string) []string {
	t.Helper()
	var out []string
	for range 100 {
		code, body := get(t, h, query)
		if code != http.StatusOK {
			t.Fatalf("GET ?%s: %d %v", query, code, body)
		}
		for _, e := range body["entries"].([]any) {
			out = append(out, e.(map[string]any)["object_id"].(string))
		}
		cur, _ := body["next_cursor"].(string)
		if cur == "" {
			return out
		}
		v, _ := url.ParseQuery(query)
		v.Set("cursor", cur)
		query = v.Encode()
	}
	t.Fatal("pages never end")
	return nil
}

func TestHandler(t *testing.T) {
	st, _ := openStore(t)
	clock := t0
	l := New(st, Options{Now: func() time.Time { clock = clock.Add(time.Hour); return clock }})
	ana := WithActor(context.Background(), Actor{Kind: "user", Name: "ana", Role: "admin"})
	cli := WithActor(context.Background(), Actor{Kind: "cli", Name: "ops"})
	for i, c := range []struct {
		ctx          context.Context
		action, kind string
	}{
		{ana, "limit.put", "limit"},       // 13:00, id 0
		{ana, "limit.delete", "limit"},    // 14:00, id 1
		{cli, "key.create", "key"},        // 15:00, id 2
		{cli, "key.revoke", "key"},        // 16:00, id 3
		{ana, "use_case.put", "use_case"}, // 17:00, id 4
	} {
		if err := l.Record(c.ctx, c.action, c.kind, fmt.Sprint(i), nil, map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	h := Handler(st, nil)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"4", "3", "2", "1", "0"}},
		{"limit=2", []string{"4", "3", "2", "1", "0"}}, // followed page by page
		{"limit=1&actor=ana", []string{"4", "1", "0"}},
		{"object_kind=key", []string{"3", "2"}},
		{"object_kind=limit&object_id=1", []string{"1"}},
		{"action=key.create", []string{"2"}},
		{"from=2026-11-27T15:00:00Z&to=2026-11-27T17:00:00Z", []string{"3", "2"}},
		{"from=2026-11-28", nil},
		{fmt.Sprintf("to=%d", t0.Add(2*time.Hour).Unix()), []string{"0"}},
		{"actor=nobody", nil},
	} {
		if got := objectIDs(t, h, tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("?%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	_, body := get(t, h, "object_id=2")
	e := body["entries"].([]any)[0].(map[string]any)
	if e["before"] != nil || e["after"].(map[string]any)["n"] != 2.0 || e["actor"].(map[string]any)["name"] != "ops" || e["action"] != "key.create" {
		t.Errorf("entry %v", e)
	}
	for _, q := range []string{
		"team=cx", "limit=x", "limit=-1", "cursor=!!", "from=yesterday", "to=2026-13-01",
		"from=2026-11-28&to=2026-11-27", "actor=a&actor=b", "Actor=ana",
	} {
		code, body := get(t, h, q)
		errBody, _ := body["error"].(map[string]any)
		if code != http.StatusBadRequest || errBody["code"] != "invalid_query" || errBody["message"] == "" {
			t.Errorf("?%s: %d %v, want 400 invalid_query", q, code, body)
		}
	}
}

type brokenLister struct{}

func (brokenLister) ListAudit(context.Context, store.AuditQuery) (store.AuditPage, error) {
	return store.AuditPage{}, errors.New("database is locked")
}

func TestHandlerStoreError(t *testing.T) {
	code, body := get(t, Handler(brokenLister{}, nil), "")
	if code != http.StatusInternalServerError || strings.Contains(fmt.Sprint(body), "locked") {
		t.Errorf("%d %v: want 500 without the store's message", code, body)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "from=2026-11-27&to=1764244800&limit=5", "cursor=AQ&actor=a", "limit=99999999999999999999", "x=1", "from=1e10&from=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			return
		}
		if _, err := q.Plan(); err != nil {
			t.Fatalf("ParseQuery(%q) accepted a query Plan refuses: %v", s, err)
		}
		for k := range v {
			if !slices.Contains([]string{"from", "to", "object_kind", "object_id", "actor", "action", "limit", "cursor"}, k) {
				t.Fatalf("ParseQuery(%q) accepted parameter %q", s, k)
			}
		}
	})
}
