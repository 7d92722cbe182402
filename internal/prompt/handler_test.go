package prompt

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/audit"
)

func TestHandler(t *testing.T) {
	r, a := newRegistry(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := audit.WithActor(req.Context(), audit.Actor{Kind: "user", Name: "bob", Role: "admin"})
		r.Handler().ServeHTTP(w, req.WithContext(ctx))
	}))
	defer srv.Close()
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %s is not a JSON object", method, path, b)
		}
		return resp.StatusCode, m
	}
	errCode := func(m map[string]any) string {
		e, _ := m["error"].(map[string]any)
		c, _ := e["code"].(string)
		return c
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string // error code, or "" for success
		check              func(m map[string]any) bool
	}{
		{"GET", "/api/v1/prompts", "", 200, "", func(m map[string]any) bool { return len(m["prompts"].([]any)) == 1 }},
		{"GET", "/api/v1/prompt-partials", "", 200, "", func(m map[string]any) bool { return len(m["partials"].([]any)) == 1 }},
		{"POST", "/api/v1/prompts/support-reply/versions", `{"messages":[{"role":"user","content":"v2 {{q}}"}],"variables":[{"name":"q"}]}`, 201, "",
			func(m map[string]any) bool { return m["version"] == 2.0 && m["created_by"] == "bob" }},
		{"POST", "/api/v1/prompts/support-reply/versions", `{"messages":[{"role":"user","content":"{{undeclared}}"}]}`, 400, "invalid_request", nil},
		{"POST", "/api/v1/prompts/support-reply/versions", `{"messages":[],"extra":1}`, 400, "invalid_request", nil},
		{"PUT", "/api/v1/prompts/support-reply/labels/production", `{"version":2}`, 200, "", func(m map[string]any) bool { return m["version"] == 2.0 && m["changed_by"] == "bob" }},
		{"PUT", "/api/v1/prompts/support-reply/labels/production", `{"version":7}`, 404, "not_found", nil},
		{"PUT", "/api/v1/prompts/support-reply/labels/42", `{"version":1}`, 400, "invalid_request", nil},
		{"GET", "/api/v1/prompts/support-reply", "", 200, "", func(m map[string]any) bool {
			return m["latest"].(map[string]any)["version"] == 2.0 && len(m["labels"].([]any)) == 1
		}},
		{"GET", "/api/v1/prompts/support-reply/versions", "", 200, "", func(m map[string]any) bool { return len(m["versions"].([]any)) == 2 }},
		{"GET", "/api/v1/prompts/support-reply/versions/1", "", 200, "", func(m map[string]any) bool { return len(m["variants"].([]any)) == 3 }},
		{"GET", "/api/v1/prompts/support-reply/versions/x", "", 400, "invalid_request", nil},
		{"GET", "/api/v1/prompts/support-reply/versions/9", "", 404, "not_found", nil},
		{"GET", "/api/v1/prompts/nope", "", 404, "not_found", nil},
		{"GET", "/api/v1/prompts/support-reply/labels", "", 200, "", func(m map[string]any) bool { return len(m["history"].([]any)) == 1 }},
		{"POST", "/api/v1/prompts/support-reply/render", `{"label":"production","variables":{"q":"hi"}}`, 200, "", func(m map[string]any) bool {
			return m["version"] == 2.0 && m["messages"].([]any)[0].(map[string]any)["content"] == "v2 hi"
		}},
		{"POST", "/api/v1/prompts/support-reply/render", `{"version":1,"model":"claude-3-5-haiku","variables":{"question":"Q"}}`, 200, "", func(m map[string]any) bool {
			return m["variant"] == "claude-haiku-exact"
		}},
		{"POST", "/api/v1/prompts/support-reply/render", `{"version":1}`, 400, "missing_variable", nil},
		{"POST", "/api/v1/prompts/support-reply/render", `{"version":1,"variables":{"question":"q","x":1}}`, 400, "unknown_variable", nil},
		{"POST", "/api/v1/prompts/support-reply/render", `{"version":1,"label":"production"}`, 400, "invalid_request", nil},
		{"POST", "/api/v1/prompts/support-reply/render", `{"variables":[1]}`, 400, "invalid_request", nil},
		// Version 2 uses a variable only the prompts including it declare.
		{"POST", "/api/v1/prompt-partials/safety/render", `{"variables":{"company":"X"}}`, 400, "invalid_request", nil},
		{"POST", "/api/v1/prompt-partials/safety/render", `{"label":"production"}`, 200, "", func(m map[string]any) bool { return m["text"] == "Never share secrets." }},
		{"POST", "/api/v1/prompt-partials/footer/versions", `{"text":"-- {{sig}}","variables":[{"name":"sig","default":"Weir"}]}`, 201, "", nil},
		{"POST", "/api/v1/prompt-partials/footer/render", `{}`, 200, "", func(m map[string]any) bool { return m["text"] == "-- Weir" }},
		{"GET", "/api/v1/prompts/x/unknown", "", 404, "not_found", nil},
	} {
		status, m := call(tc.method, tc.path, tc.body)
		if status != tc.status || errCode(m) != tc.code || (tc.check != nil && !tc.check(m)) {
			t.Errorf("%s %s %s: %d %v; want %d %q", tc.method, tc.path, tc.body, status, m, tc.status, tc.code)
		}
	}
	last := a.calls[len(a.calls)-1]
	if last != (auditCall{"prompt_partial.version.create", "prompt_partial", "footer@1"}) {
		t.Errorf("last audit entry %+v", last)
	}
}
