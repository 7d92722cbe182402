package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

type calls map[string]record.Record

func (c calls) GetRequest(_ context.Context, id string) (record.Record, error) {
	r, ok := c[id]
	if !ok {
		return r, fmt.Errorf("call %s: %w", id, store.ErrNotFound)
	}
	return r, nil
}

func (c calls) ListRequests(context.Context, store.RequestQuery) (store.RequestPage, error) {
	return store.RequestPage{}, nil
}

type auditLog struct{ actions []string }

func (a *auditLog) Record(_ context.Context, action, kind, id string, _, _ any) error {
	a.actions = append(a.actions, action+" "+kind+" "+id)
	return nil
}

func newTestServer(t *testing.T) (*httptest.Server, *auditLog) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	al := &auditLog{}
	svc := New(Options{Store: st, Audit: al, Calls: calls{
		"req_ok": {ID: "req_ok", Endpoint: record.EndpointChatCompletions, Model: "m", Provider: "p", Status: 200,
			Request:  `{"messages":[{"role":"user","content":"Where is my order?"}]}`,
			Response: `{"choices":[{"message":{"role":"assistant","content":"Today."}}]}`},
		"req_nolog": {ID: "req_nolog", Endpoint: record.EndpointChatCompletions, Status: 200},
	}, Now: func() time.Time { return time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC) }})
	h := svc.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(audit.WithActor(r.Context(), audit.Actor{Kind: "person", Name: "ada"})))
	}))
	t.Cleanup(srv.Close)
	return srv, al
}

func do(t *testing.T, srv *httptest.Server, method, path, ctype, body string, wantStatus int) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return out
}

func itemIDs(t *testing.T, m map[string]any) []string {
	t.Helper()
	var out []string
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func TestHandlerFlow(t *testing.T) {
	srv, al := newTestServer(t)
	const js = "application/json"
	do(t, srv, "POST", "/api/v1/datasets", js, `{"name":"faq","use_case":"support","description":"Questions"}`, 201)
	do(t, srv, "POST", "/api/v1/datasets", js, `{"name":"faq"}`, 409)
	do(t, srv, "POST", "/api/v1/datasets", js, `{"name":"bad name"}`, 400)
	do(t, srv, "POST", "/api/v1/datasets", js, `{"name":"x","extra":1}`, 400)
	got := do(t, srv, "GET", "/api/v1/datasets/faq", "", "", 200)
	if got["version"] != nil || len(got["items"].([]any)) != 0 {
		t.Errorf("a new dataset: %v", got)
	}

	v := do(t, srv, "POST", "/api/v1/datasets/faq/items", js, `[{"id":"q1","messages":[{"role":"user","content":"Hi"}],"expected":"Hello"},{"variables":{"city":"Paris"}}]`, 201)
	if v["version"] != 1.0 || v["added"] != 2.0 || v["created_by"] != "ada" {
		t.Errorf("version 1: %v", v)
	}
	v = do(t, srv, "POST", "/api/v1/datasets/faq/items", "application/jsonl", `{"id":"q2","input":"Refund?","split":"test"}`+"\n"+`{"id":"q3","input":"Hours?"}`, 201)
	if v["version"] != 2.0 || v["items"] != 4.0 {
		t.Errorf("version 2: %v", v)
	}
	// A refused import adds nothing and says which lines.
	e := do(t, srv, "POST", "/api/v1/datasets/faq/items", "text/csv", "id,input,split\nq4,ok,\nq5,x,two words\n", 400)
	if lines := e["error"].(map[string]any)["lines"].([]any); len(lines) != 1 || lines[0].(map[string]any)["line"] != 3.0 {
		t.Errorf("csv error: %v", e)
	}
	v = do(t, srv, "POST", "/api/v1/datasets/faq/items", "text/csv; charset=utf-8", "id,input,tags\nq4,Shipping?,\"a,b\"\n", 201)
	if v["version"] != 3.0 {
		t.Errorf("version 3: %v", v)
	}
	do(t, srv, "POST", "/api/v1/datasets/faq/items", "application/xml", "<x/>", 415)
	do(t, srv, "PUT", "/api/v1/datasets/faq/items/q1", js, `{"messages":[{"role":"user","content":"Hi there"}],"expected":"Hello!"}`, 200)
	do(t, srv, "PUT", "/api/v1/datasets/faq/items/nope", js, `{"messages":[{"role":"user","content":"x"}]}`, 404)
	do(t, srv, "PUT", "/api/v1/datasets/faq/items/q1", js, `{"id":"q9","messages":[{"role":"user","content":"x"}]}`, 400)
	do(t, srv, "DELETE", "/api/v1/datasets/faq/items/q2", "", "", 200)
	do(t, srv, "DELETE", "/api/v1/datasets/faq/items/q2", "", "", 404)
	v = do(t, srv, "POST", "/api/v1/datasets/faq/items/from-calls", js, `{"call_ids":["req_ok"],"expected_from_response":true}`, 201)
	if v["version"] != 6.0 {
		t.Errorf("version 6: %v", v)
	}
	e = do(t, srv, "POST", "/api/v1/datasets/faq/items/from-calls", js, `{"call_ids":["req_nolog"]}`, 422)
	if !strings.Contains(e["error"].(map[string]any)["message"].(string), "x-weir-no-log") {
		t.Errorf("no-log error: %v", e)
	}
	do(t, srv, "POST", "/api/v1/datasets/faq/items/from-calls", js, `{"call_ids":["req_missing"]}`, 404)

	latest := do(t, srv, "GET", "/api/v1/datasets/faq", "", "", 200)
	ids := itemIDs(t, latest)
	if want := "q1 " + ids[1] + " q3 q4 call-req_ok"; strings.Join(ids, " ") != want {
		t.Errorf("latest items %q, want %q", ids, want)
	}
	last := latest["items"].([]any)[4].(map[string]any)
	if last["source_call"] != "req_ok" || last["expected"] != "Today." {
		t.Errorf("item from a call: %v", last)
	}
	// Earlier versions stay readable exactly.
	v2 := do(t, srv, "GET", "/api/v1/datasets/faq?version=2", "", "", 200)
	first := v2["items"].([]any)[0].(map[string]any)
	if got := itemIDs(t, v2); len(got) != 4 || first["expected"] != "Hello" || first["rev"] != 1.0 {
		t.Errorf("version 2: %v", v2)
	}
	page := do(t, srv, "GET", "/api/v1/datasets/faq?limit=2", "", "", 200)
	if len(itemIDs(t, page)) != 2 || page["next"] == nil {
		t.Fatalf("page 1: %v", page)
	}
	page2 := do(t, srv, "GET", "/api/v1/datasets/faq?limit=2&cursor="+page["next"].(string), "", "", 200)
	if got := itemIDs(t, page2); len(got) != 2 || got[0] != "q3" {
		t.Errorf("page 2: %v", got)
	}
	do(t, srv, "GET", "/api/v1/datasets/faq?version=99", "", "", 404)
	do(t, srv, "GET", "/api/v1/datasets/faq?version=x", "", "", 400)
	do(t, srv, "GET", "/api/v1/datasets/faq?cursor=zz", "", "", 400)
	do(t, srv, "GET", "/api/v1/datasets/nope", "", "", 404)
	vs := do(t, srv, "GET", "/api/v1/datasets/faq/versions", "", "", 200)["versions"].([]any)
	if len(vs) != 6 {
		t.Errorf("%d versions, want 6", len(vs))
	}
	l := do(t, srv, "GET", "/api/v1/datasets?use_case=support", "", "", 200)["datasets"].([]any)
	if len(l) != 1 || l[0].(map[string]any)["latest_version"] != 6.0 || l[0].(map[string]any)["items"] != 5.0 {
		t.Errorf("list: %v", l)
	}
	if len(do(t, srv, "GET", "/api/v1/datasets?use_case=other", "", "", 200)["datasets"].([]any)) != 0 {
		t.Error("another use case lists faq")
	}
	if len(al.actions) != 7 || al.actions[0] != "dataset.create dataset faq" || al.actions[6] != "dataset.version.create dataset faq@6" {
		t.Errorf("audit: %q", al.actions)
	}
}

func TestCreateWithItems(t *testing.T) {
	srv, _ := newTestServer(t)
	d := do(t, srv, "POST", "/api/v1/datasets", "application/json", `{"name":"seeded","items":[{"messages":[{"role":"user","content":"x"}]}]}`, 201)
	if d["latest_version"] != 1.0 || d["items"] != 1.0 {
		t.Errorf("created: %v", d)
	}
	do(t, srv, "POST", "/api/v1/datasets", "application/json", `{"name":"bad-items","items":[{"expected":"no input"}]}`, 400)
	do(t, srv, "GET", "/api/v1/datasets/bad-items", "", "", 404)
}

func TestRoutesServed(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, rt := range Routes {
		path := strings.NewReplacer("{name}", "none", "{id}", "x").Replace(rt.Path)
		req, _ := http.NewRequest(rt.Method, srv.URL+path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "no route") {
			t.Errorf("%s %s is not served", rt.Method, rt.Path)
		}
	}
}
