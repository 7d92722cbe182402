package criteria

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/store"
)

// serve answers req as principal (person, role) through the handler.
func serve(t *testing.T, h http.Handler, method, path, body, person string, role auth.Role) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req = req.WithContext(auth.WithPrincipal(req.Context(), auth.Principal{Kind: "user", Person: person, Role: role}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d %q: %v", method, path, w.Code, w.Body.String(), err)
	}
	return w.Code, out
}

func TestHandlerApprovalFlow(t *testing.T) {
	e := newEnv(t)
	h := e.s.Handler()
	type step struct {
		method, path, body, person string
		role                       auth.Role
		want                       int
		check                      func(t *testing.T, out map[string]any)
	}
	var changeID string
	field := func(out map[string]any, keys ...string) any {
		var v any = out
		for _, k := range keys {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		return v
	}
	steps := []step{
		{"PUT", "/api/v1/criteria/tone", `{"use_case":"support","business_owner":"bea","technical_owner":"tom","requires_approval":true,
			"definition":{"question":"Polite?","type":"categorical","labels":["rude","ok","polite"],"pass_labels":["polite"]}}`, "bea", auth.Owner, 200,
			func(t *testing.T, out map[string]any) {
				if field(out, "version", "version") != 1.0 || field(out, "status") != "applied" {
					t.Errorf("create: %v", out)
				}
			}},
		{"PUT", "/api/v1/criteria/tone", `{"definition":{"question":"Polite?","type":"boolean"},"reason":"x"}`, "oscar", auth.Owner, 403, nil},
		{"PUT", "/api/v1/criteria/tone", `{"definition":{"question":"Polite?","type":"boolean"},"reasn":"x"}`, "bea", auth.Owner, 400, nil},
		{"PUT", "/api/v1/criteria/tone", `{"definition":{"question":"Polite?","type":"boolean"}}`, "bea", auth.Owner, 400, nil},
		{"PUT", "/api/v1/criteria/tone", `{"definition":{"question":"Polite?","type":"categorical","labels":["rude","ok","polite","warm"],"pass_labels":["polite","warm"]},"reason":"warmth counts"}`, "bea", auth.Owner, 202,
			func(t *testing.T, out map[string]any) {
				changeID, _ = field(out, "change", "id").(string)
				if field(out, "status") != "pending" || changeID == "" {
					t.Errorf("propose: %v", out)
				}
			}},
		{"PUT", "/api/v1/criteria/tone", `{"definition":{"question":"Nice?","type":"boolean"},"reason":"simpler"}`, "tom", auth.Owner, 409, nil},
		{"POST", "/api/v1/criteria/tone/changes/{id}/approve", ``, "bea", auth.Owner, 403, nil},
		{"POST", "/api/v1/criteria/tone/changes/{id}/approve", `{"reason":"ok"}`, "oscar", auth.Owner, 403, nil},
		{"POST", "/api/v1/criteria/tone/changes/{id}/approve", `{"reason":"ok"}`, "tom", auth.Owner, 200,
			func(t *testing.T, out map[string]any) {
				if out["status"] != "approved" || out["version"] != 2.0 {
					t.Errorf("approve: %v", out)
				}
			}},
		{"POST", "/api/v1/criteria/tone/changes/{id}/reject", `{"reason":"late"}`, "tom", auth.Owner, 409, nil},
		{"POST", "/api/v1/criteria/tone/changes/nope/approve", ``, "tom", auth.Owner, 404, nil},
		{"GET", "/api/v1/criteria/tone/versions/2", ``, "ann", auth.Viewer, 200,
			func(t *testing.T, out map[string]any) {
				if out["author"] != "bea" || out["reason"] != "warmth counts" {
					t.Errorf("version 2: %v", out)
				}
			}},
		{"GET", "/api/v1/criteria/tone/versions/0", ``, "ann", auth.Viewer, 400, nil},
		{"GET", "/api/v1/criteria/tone/versions/3", ``, "ann", auth.Viewer, 404, nil},
		{"POST", "/api/v1/scores", `{"scores":[{"id":"s1","criterion":"tone","criterion_version":1,"evaluator_kind":"human","evaluator":"mallory","target_kind":"call","target":"req_1","value":{"label":"warm"}}]}`, "bea", auth.Owner, 400, nil},
		{"POST", "/api/v1/scores", `{"scores":[{"id":"s1","criterion":"tone","criterion_version":1,"evaluator_kind":"human","evaluator":"mallory","target_kind":"call","target":"req_1","value":{"label":"polite"}},
			{"id":"s2","criterion":"tone","evaluator_kind":"llm","evaluator":"judge@1","target_kind":"call","target":"req_1","value":{"label":"warm"}}]}`, "bea", auth.Owner, 200,
			func(t *testing.T, out map[string]any) {
				if out["stored"] != 2.0 || field(out["scores"].([]any)[0].(map[string]any), "evaluator") != "bea" {
					t.Errorf("scores: %v", out)
				}
			}},
		{"POST", "/api/v1/scores", `{"scores":[{"id":"s1","criterion":"tone","criterion_version":1,"evaluator_kind":"human","target_kind":"call","target":"req_1","value":{"label":"rude"}}]}`, "bea", auth.Owner, 200,
			func(t *testing.T, out map[string]any) {
				if out["stored"] != 0.0 || out["skipped"] != 1.0 {
					t.Errorf("repeat: %v", out)
				}
			}},
		{"GET", "/api/v1/scores?criterion=tone&version=2", ``, "ann", auth.Viewer, 200,
			func(t *testing.T, out map[string]any) {
				if s, _ := out["scores"].([]any); len(s) != 1 {
					t.Errorf("v2 scores: %v", out)
				}
			}},
		{"GET", "/api/v1/scores?limit=x", ``, "ann", auth.Viewer, 400, nil},
		{"GET", "/api/v1/criteria/tone/history", ``, "ann", auth.Viewer, 200,
			func(t *testing.T, out map[string]any) {
				vs, _ := out["versions"].([]any)
				if len(vs) != 2 {
					t.Fatalf("history: %v", out)
				}
				v2 := vs[1].(map[string]any)
				if field(v2, "diff", "labels") != true || field(v2, "diff", "type") != false {
					t.Errorf("diff: %v", v2["diff"])
				}
				for i, v := range vs {
					tot, _ := v.(map[string]any)["totals"].([]any)
					if len(tot) != 1 || tot[0].(map[string]any)["count"] != 1.0 {
						t.Errorf("version %d totals: %v", i+1, tot)
					}
				}
			}},
		{"GET", "/api/v1/criteria/tone/history?from=yesterday", ``, "ann", auth.Viewer, 400, nil},
		{"GET", "/api/v1/criteria/tone/changes", ``, "ann", auth.Viewer, 200,
			func(t *testing.T, out map[string]any) {
				if c, _ := out["changes"].([]any); len(c) != 1 {
					t.Errorf("changes: %v", out)
				}
			}},
		{"GET", "/api/v1/criteria?use_case=support", ``, "ann", auth.Viewer, 200,
			func(t *testing.T, out map[string]any) {
				if c, _ := out["criteria"].([]any); len(c) != 1 {
					t.Errorf("list: %v", out)
				}
			}},
		{"GET", "/api/v1/criteria/nope", ``, "ann", auth.Viewer, 404, nil},
		{"DELETE", "/api/v1/criteria/tone", ``, "root", auth.Admin, 404, nil}, // the API answers 405 before
	}
	for i, s := range steps {
		path := strings.ReplaceAll(s.path, "{id}", changeID)
		code, out := serve(t, h, s.method, path, s.body, s.person, s.role)
		if code != s.want {
			t.Fatalf("step %d: %s %s as %s: %d %v, want %d", i, s.method, path, s.person, code, out, s.want)
		}
		if s.check != nil {
			s.check(t, out)
		}
	}
}

func TestRoutesServed(t *testing.T) {
	e := newEnv(t)
	h := e.s.Handler()
	for _, rt := range Routes {
		path := strings.NewReplacer("{name}", "x", "{version}", "1", "{id}", "y").Replace(rt.Path)
		code, _ := serve(t, h, rt.Method, path, `{}`, "root", auth.Admin)
		if code == http.StatusMethodNotAllowed || code == http.StatusInternalServerError {
			t.Errorf("%s %s: %d", rt.Method, rt.Path, code)
		}
		if rt.Method != "GET" && rt.Permission == auth.Read {
			t.Errorf("%s %s changes something under read", rt.Method, rt.Path)
		}
	}
}

func FuzzDecodeInput(f *testing.F) {
	for _, s := range []string{
		`{"use_case":"support","business_owner":"bea","technical_owner":"tom","requires_approval":true,"definition":{"question":"q","type":"boolean"},"reason":"r"}`,
		`{"definition":{"question":"q","type":"numeric","min":0,"max":1,"pass_at":0.5}}`,
		`{}`, `{} {}`, `[]`, `{"x":1}`, `{"definition":{"labels":["a",1]}}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeInput(body)
		if err != nil {
			return
		}
		// What decodes re-encodes and decodes to the same input.
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeInput(b)
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		b2, _ := json.Marshal(again)
		if string(b) != string(b2) {
			t.Fatalf("round trip: %s != %s", b, b2)
		}
		if in.Definition != nil {
			_ = in.Definition.Validate()
		}
	})
}

func FuzzParseScoreQuery(f *testing.F) {
	for _, s := range []string{"criterion=tone&version=2&limit=10", "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z", "version=1", "limit=-1", "cursor=abc&evaluator_kind=llm"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		sq, err := ParseScoreQuery(q)
		if err != nil {
			return
		}
		if sq.Limit < 0 || sq.CriterionVersion < 0 || sq.CriterionVersion > 0 && sq.Criterion == "" {
			t.Fatalf("accepted %q as %+v", raw, sq)
		}
		_ = store.ScoreQuery(sq)
	})
}
