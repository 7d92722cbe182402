package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/record"
)

// TestAddCallToDataset: the call page's form adds the call to a dataset
// (a new version whose item links the call) and says so; a missing
// dataset and a call recorded without bodies say why; a viewer sees no
// form and is refused.
func TestAddCallToDataset(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	body, _ := json.Marshal(map[string]any{"model": "gpt-4o", "messages": []map[string]string{{"role": "user", "content": "Where is my parcel?"}}})
	resp, _ := json.Marshal(map[string]any{"choices": []map[string]any{{"message": map[string]string{"role": "assistant", "content": "On its way."}}}})
	calls := []record.Record{
		{ID: "c-ok", ReceivedAt: now.Add(-2 * 60e9), Endpoint: record.EndpointChatCompletions, Provider: "openai", Model: "gpt-4o", Status: 200, Request: string(body), Response: string(resp)},
		{ID: "c-nolog", ReceivedAt: now.Add(-60e9), Endpoint: record.EndpointChatCompletions, Provider: "openai", Model: "gpt-4o", Status: 200},
	}
	calls[1].NoLog = true
	if err := e.st.WriteRecords(ctx, calls); err != nil {
		t.Fatal(err)
	}
	ds := dataset.New(dataset.Options{Store: e.st, Calls: e.st})
	if _, err := ds.Create(ctx, dataset.Dataset{Name: "golden"}, "ada"); err != nil {
		t.Fatal(err)
	}
	e.d.opt.Datasets = ds
	csrf := auth.CSRFToken("admin-secret")
	post := func(id string, form url.Values) string {
		t.Helper()
		form.Set("csrf", csrf)
		w := e.do(t, req{method: "POST", target: "/ui/calls/" + id + "/dataset", session: "admin-secret", form: form})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("POST %s: %d %s", id, w.Code, w.Body)
		}
		loc := w.Header().Get("Location")
		return get(t, e, loc, "admin-secret", http.StatusOK)
	}
	page := get(t, e, "/ui/calls/c-ok", "admin-secret", http.StatusOK)
	if !strings.Contains(page, `action="/ui/calls/c-ok/dataset"`) {
		t.Fatal("no add-to-dataset form for an admin")
	}
	if p := post("c-ok", url.Values{"dataset": {"golden"}, "expected": {"1"}}); !strings.Contains(p, "Added to golden version 1") {
		t.Errorf("after adding: %.300s", p[strings.Index(p, "ds-h"):])
	}
	_, items, err := ds.AllItems(ctx, "golden", 0)
	if err != nil || len(items) != 1 || items[0].SourceCall != "c-ok" {
		t.Errorf("items %+v, %v", items, err)
	}
	if p := post("c-ok", url.Values{"dataset": {"nope"}}); !strings.Contains(p, "There is no dataset &#34;nope&#34;") {
		t.Errorf("missing dataset: %.400s", p[strings.Index(p, "ds-h"):])
	}
	if p := post("c-nolog", url.Values{"dataset": {"golden"}}); !strings.Contains(p, `role="alert"`) {
		t.Errorf("no-log call: %.400s", p[strings.Index(p, "ds-h"):])
	}
	// A team-limited viewer sees no form and is refused.
	if p := get(t, e, "/ui/calls/c-ok", "cx-secret", http.StatusNotFound); strings.Contains(p, "/dataset\"") {
		t.Error("a team viewer got the form")
	}
	w := e.do(t, req{method: "POST", target: "/ui/calls/c-ok/dataset", session: "cx-secret", form: url.Values{"dataset": {"golden"}, "csrf": {auth.CSRFToken("cx-secret")}}})
	if w.Code != http.StatusForbidden {
		t.Errorf("team viewer POST: %d", w.Code)
	}
}
