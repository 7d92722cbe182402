package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/config"
)

// TestCriteriaWired: on the open API (nobody exists, owners are names), a
// criterion is created and redefined, scores posted under both versions
// stay apart in its history, and a label of neither version is refused.
func TestCriteriaWired(t *testing.T) {
	srv := serveApp(t, config.Default())
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode, out
	}
	steps := []struct {
		method, path, body string
		want               int
	}{
		{"PUT", "/api/v1/criteria/resolved", `{"use_case":"support","business_owner":"bea","technical_owner":"tom","definition":{"question":"Resolved?","type":"boolean"}}`, 200},
		{"POST", "/api/v1/scores", `{"scores":[{"id":"s1","criterion":"resolved","evaluator_kind":"code","evaluator":"check","target_kind":"call","target":"req_1","value":{"bool":true}}]}`, 200},
		{"PUT", "/api/v1/criteria/resolved", `{"definition":{"question":"How resolved?","type":"categorical","labels":["no","partly","yes"],"pass_labels":["yes"]},"reason":"partial answers"}`, 200},
		{"POST", "/api/v1/scores", `{"scores":[{"id":"s2","criterion":"resolved","evaluator_kind":"code","evaluator":"check","target_kind":"call","target":"req_1","value":{"label":"partly"}}]}`, 200},
		{"POST", "/api/v1/scores", `{"scores":[{"id":"s3","criterion":"resolved","evaluator_kind":"code","evaluator":"check","target_kind":"call","target":"req_1","value":{"label":"maybe"}}]}`, 400},
		{"PATCH", "/api/v1/criteria/resolved", `{}`, 405},
	}
	for _, s := range steps {
		if code, out := do(s.method, s.path, s.body); code != s.want {
			t.Fatalf("%s %s: %d %v, want %d", s.method, s.path, code, out, s.want)
		}
	}
	code, h := do("GET", "/api/v1/criteria/resolved/history", "")
	vs, _ := h["versions"].([]any)
	if code != 200 || len(vs) != 2 {
		t.Fatalf("history: %d %v", code, h)
	}
	for i, v := range vs {
		tot, _ := v.(map[string]any)["totals"].([]any)
		if len(tot) != 1 || tot[0].(map[string]any)["count"] != 1.0 {
			t.Errorf("version %d totals: %v", i+1, tot)
		}
	}
}
