package judge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/evaluator"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

// The SQLite store is all a Service needs.
var _ Store = (*sqlite.Store)(nil)

// fakeGateway answers from a function of the user message and records the
// calls.
type fakeGateway struct {
	mu    sync.Mutex
	calls []Completion
	reply func(c Completion) (string, error)
}

func (g *fakeGateway) Complete(_ context.Context, c Completion) (string, error) {
	g.mu.Lock()
	g.calls = append(g.calls, c)
	g.mu.Unlock()
	return g.reply(c)
}

type fakeSink struct {
	mu  sync.Mutex
	got []string
}

func (s *fakeSink) Enqueue(_ context.Context, queue, kind, target string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, queue+"/"+kind+"/"+target)
	return nil
}

type env struct {
	st   *sqlite.Store
	svc  *Service
	gw   *fakeGateway
	sink *fakeSink
	srv  *httptest.Server
	now  time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, gw: &fakeGateway{}, sink: &fakeSink{}, now: t0.Add(24 * time.Hour)}
	e.svc = New(Options{Store: st, Gateway: e.gw, Sink: e.sink, Seed: 1, Iterations: 300, Now: func() time.Time { return e.now }})
	h := e.svc.Handler()
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Kind: "user", Person: "ann", Role: auth.Admin})))
	}))
	t.Cleanup(e.srv.Close)
	ctx := context.Background()
	def, _ := json.Marshal(eval.Definition{Question: "Is the reply polite?", Rubric: "Polite means courteous.", Type: eval.Boolean})
	if _, _, err := st.CreateCriterion(ctx, store.Criterion{Name: "polite", UseCase: "support"}, store.CriterionVersion{Definition: def, Author: "ann"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) call(t *testing.T, id, question, answer string) {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"model": "m", "messages": []map[string]string{{"role": "user", "content": question}}})
	resp, _ := json.Marshal(map[string]any{"choices": []map[string]any{{"message": map[string]string{"role": "assistant", "content": answer}}}})
	rec := record.Record{ID: id, ReceivedAt: t0, Endpoint: record.EndpointChatCompletions, Provider: "p", Model: "m", Status: 200,
		Request: string(req), Response: string(resp)}
	if err := e.st.WriteRecords(context.Background(), []record.Record{rec}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, r)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestJudgeCRUD(t *testing.T) {
	e := newEnv(t)
	code, b := e.do(t, "POST", "/api/v1/judges", map[string]any{"name": "tone", "criterion": "polite", "model": "gpt-x", "temperature": 0})
	if code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	var j Judge
	json.Unmarshal(b, &j)
	if j.LatestVersion != 1 || j.CreatedBy != "ann" || j.Versions[0].Definition.CriterionVersion != 1 || j.Versions[0].Evaluator != "tone@1" {
		t.Errorf("created %+v", j)
	}
	for _, tc := range []struct {
		body any
		code int
	}{
		{map[string]any{"name": "tone", "criterion": "polite", "model": "m"}, 409},
		{map[string]any{"name": "x", "criterion": "nope", "model": "m"}, 400},
		{map[string]any{"name": "x", "criterion": "polite", "model": "m", "criterion_version": 2}, 400},
		{map[string]any{"name": "x", "criterion": "polite", "model": ""}, 400},
		{map[string]any{"name": "x", "criterion": "polite", "model": "m", "temperature": 3}, 400},
		{map[string]any{"name": "x", "criterion": "polite", "model": "m", "audit_share": 1.5}, 400},
		{map[string]any{"name": "x", "criterion": "polite", "model": "m", "prompt": "{{output}}"}, 400},
		{map[string]any{"name": "x", "criterion": "polite", "model": "m", "unknown": 1}, 400},
		{map[string]any{"name": "bad name", "criterion": "polite", "model": "m"}, 400},
	} {
		if code, b := e.do(t, "POST", "/api/v1/judges", tc.body); code != tc.code {
			t.Errorf("POST %v: %d %s, want %d", tc.body, code, b, tc.code)
		}
	}
	// Same definition: no new version.
	if code, b := e.do(t, "PUT", "/api/v1/judges/tone", map[string]any{"model": "gpt-x", "criterion_version": 1}); code != 200 {
		t.Errorf("identical PUT: %d %s", code, b)
	}
	code, b = e.do(t, "PUT", "/api/v1/judges/tone", map[string]any{"model": "gpt-y", "prompt": "Judge: {{question}} {{ rubric }} as {{allowed_values}}", "audit_share": 0.1})
	if code != 201 {
		t.Fatalf("PUT: %d %s", code, b)
	}
	json.Unmarshal(b, &j)
	if j.LatestVersion != 2 || len(j.Versions) != 2 || j.Versions[1].Definition.Model != "gpt-y" {
		t.Errorf("after PUT %+v", j)
	}
	if code, _ := e.do(t, "PUT", "/api/v1/judges/tone", map[string]any{"criterion": "other", "model": "m"}); code != 400 {
		t.Errorf("PUT to another criterion: %d, want 400", code)
	}
	if code, _ := e.do(t, "PUT", "/api/v1/judges/none", map[string]any{"model": "m"}); code != 404 {
		t.Errorf("PUT missing: %d, want 404", code)
	}
	if code, b := e.do(t, "GET", "/api/v1/judges?criterion=polite", nil); code != 200 || !strings.Contains(string(b), `"tone"`) {
		t.Errorf("list: %d %s", code, b)
	}
	if code, _ := e.do(t, "GET", "/api/v1/judges/none", nil); code != 404 {
		t.Errorf("GET missing: %d", code)
	}
}

// TestScoreRun: a reply that parses is a score, one that does not is an
// error on the run; the prompt carries the call; the run is stored.
func TestScoreRun(t *testing.T) {
	e := newEnv(t)
	e.call(t, "req_1", "Where is my parcel?", "Thank you for asking, it arrives tomorrow.")
	e.call(t, "req_2", "Refund?", "No.")
	e.call(t, "req_3", "Hello", "Hi there!")
	e.gw.reply = func(c Completion) (string, error) {
		switch {
		case strings.Contains(c.User, "parcel"):
			return `{"reasoning": "courteous", "score": true}`, nil
		case strings.Contains(c.User, "Refund"):
			return `I think it is rude, maybe.`, nil // no score: an error
		}
		return "", errors.New("upstream down")
	}
	if _, err := e.svc.Create(context.Background(), Input{Name: "tone", Criterion: "polite",
		Definition: Definition{Model: "gpt-x", Temperature: 0.2, Prompt: "Q: {{question}}", AuditShare: 1}}, "ann"); err != nil {
		t.Fatal(err)
	}
	code, b := e.do(t, "POST", "/api/v1/judges/tone/score", map[string]any{"targets": []map[string]string{
		{"kind": "call", "id": "req_1"}, {"kind": "call", "id": "req_2"}, {"kind": "call", "id": "req_3"}, {"kind": "call", "id": "req_404"}}})
	if code != 200 {
		t.Fatalf("score: %d %s", code, b)
	}
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	if run.Scored != 1 || len(run.Errors) != 3 || run.Evaluator != "tone@1" || run.Targets != 4 {
		t.Fatalf("run %+v", run)
	}
	s := run.Scores[0]
	if s.Target != "req_1" || s.EvaluatorKind != eval.LLM || s.Evaluator != "tone@1" || *s.Value.Bool != true || s.Reasoning != "courteous" || s.Pass == nil || !*s.Pass {
		t.Errorf("score %+v", s)
	}
	errs := map[string]string{}
	for _, re := range run.Errors {
		errs[re.Target.ID] = re.Error
	}
	if !strings.Contains(errs["req_2"], "judge reply") || !strings.Contains(errs["req_3"], "upstream down") || !strings.Contains(errs["req_404"], "not found") {
		t.Errorf("errors %v", errs)
	}
	page, err := e.st.ListScores(context.Background(), store.ScoreQuery{Criterion: "polite"})
	if err != nil || len(page.Scores) != 1 || page.Scores[0].Target != "req_1" {
		t.Errorf("stored scores %+v, %v; want req_1's only", page.Scores, err)
	}
	for _, c := range e.gw.calls {
		if c.Model != "gpt-x" || c.Temperature != 0.2 || c.System != "Q: Is the reply polite?" || c.Step != "judge:tone@1" {
			t.Errorf("call %+v", c)
		}
		if strings.Contains(c.User, "parcel") && !strings.Contains(c.User, "<output>\nThank you for asking") {
			t.Errorf("user message without the call's output: %s", c.User)
		}
	}
	if len(e.sink.got) != 1 || e.sink.got[0] != "tone-audit/call/req_1" {
		t.Errorf("audited %v, want tone-audit/call/req_1", e.sink.got)
	}
	if code, b := e.do(t, "GET", "/api/v1/judges/tone/runs/"+run.ID, nil); code != 200 || !strings.Contains(string(b), "req_404") {
		t.Errorf("stored run: %d %s", code, b)
	}
	for _, body := range []any{
		map[string]any{"targets": []any{}},
		map[string]any{"targets": []map[string]string{{"kind": "instance", "id": "x"}}},
		map[string]any{"targets": []map[string]string{{"kind": "call", "id": ""}}},
	} {
		if code, b := e.do(t, "POST", "/api/v1/judges/tone/score", body); code != 400 {
			t.Errorf("score %v: %d %s, want 400", body, code, b)
		}
	}
	// A nil sink is fine.
	e.svc.sink = nil
	if _, err := e.svc.Score(context.Background(), "tone", 0, []Target{{Kind: eval.TargetCall, ID: "req_1"}}, "ann"); err != nil {
		t.Errorf("nil sink: %v", err)
	}
}

func TestAuditedShare(t *testing.T) {
	n := 0
	for i := range 10000 {
		if Audited("tone@1", fmt.Sprint("req_", i), 0.1) {
			n++
		}
	}
	if n < 900 || n > 1100 {
		t.Errorf("%d of 10000 audited at 0.1", n)
	}
	if Audited("tone@1", "req_1", 0) || !Audited("tone@1", "req_1", 1) {
		t.Error("share 0 or 1 wrong")
	}
	if Audited("tone@1", "req_7", 0.5) != Audited("tone@1", "req_7", 0.5) {
		t.Error("not stable")
	}
}

// putScores stores scores of criterion polite.
func (e *env) putScores(t *testing.T, scores ...store.StoredScore) {
	t.Helper()
	for i := range scores {
		scores[i].Criterion = "polite"
		scores[i].ID = fmt.Sprintf("sco_%d_%s_%s_%d", scores[i].CriterionVersion, scores[i].Evaluator, scores[i].Target, scores[i].At.UnixNano())
		p := *scores[i].Value.Bool
		scores[i].Pass = &p
	}
	if _, err := e.st.PutScores(context.Background(), scores); err != nil {
		t.Fatal(err)
	}
}

// TestCalibrationAndPassRate: over HTTP, a trusted judge's scores join the
// headline, an untrusted one's are listed apart, versions stay apart.
func TestCalibrationAndPassRate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk := func(name string, minItems int) {
		if _, err := e.svc.Create(ctx, Input{Name: name, Criterion: "polite", Definition: Definition{Model: "m", MinItems: minItems}}, "ann"); err != nil {
			t.Fatal(err)
		}
	}
	mk("good", 20)
	mk("bad", 20)
	var scores []store.StoredScore
	for i := range 30 {
		v := i%3 != 0
		scores = append(scores, sc(1, eval.Human, "ann", tgt(i), bv(v), t0), sc(1, eval.LLM, "good@1", tgt(i), bv(v), t0),
			sc(1, eval.LLM, "bad@1", tgt(i), bv(i%2 == 0), t0))
	}
	// Items only judges scored: good passes 10 of 10, bad fails 10 of 10.
	for i := 30; i < 40; i++ {
		scores = append(scores, sc(1, eval.LLM, "good@1", tgt(i), bv(true), t0), sc(1, eval.LLM, "bad@1", tgt(i), bv(false), t0))
	}
	e.putScores(t, scores...)

	code, b := e.do(t, "GET", "/api/v1/judges/good/calibration", nil)
	if code != 200 {
		t.Fatalf("calibration: %d %s", code, b)
	}
	var c Calibration
	json.Unmarshal(b, &c)
	if !c.Trust.Trusted || c.DoubleScored != 30 || deref(c.Agreement.Kappa.Estimate) != 1 || c.Evaluator != "good@1" || c.CriterionVersion != 1 {
		t.Errorf("good: %s", b)
	}
	if code, b := e.do(t, "GET", "/api/v1/judges/good/calibration?criterion_version=2", nil); code != 404 {
		t.Errorf("criterion_version 2: %d %s, want 404", code, b)
	}
	if code, _ := e.do(t, "GET", "/api/v1/judges/good/calibration?version=x", nil); code != 400 {
		t.Errorf("bad version: %d, want 400", code)
	}

	code, b = e.do(t, "GET", "/api/v1/criteria/polite/pass-rate", nil)
	if code != 200 {
		t.Fatalf("pass rate: %d %s", code, b)
	}
	var pr PassRate
	json.Unmarshal(b, &pr)
	// People: 20 of 30 pass; good adds 10 passing items; bad is apart.
	if pr.Version != 1 || !pr.LatestUsed || pr.Humans.Passes != 20 || pr.Humans.Items != 30 ||
		pr.Headline.Items != 40 || pr.Headline.Passes != 30 || pr.FromHumans != 30 || pr.FromTrusted != 10 {
		t.Errorf("pass rate: %s", b)
	}
	if len(pr.TrustedJudges) != 1 || pr.TrustedJudges[0].Evaluator != "good@1" || len(pr.UntrustedJudges) != 1 ||
		pr.UntrustedJudges[0].Evaluator != "bad@1" || pr.UntrustedJudges[0].Status != "untrusted" || pr.UntrustedJudges[0].Items != 40 {
		t.Errorf("judges: %s", b)
	}

	// Version 2 of the criterion: its scores never count for version 1.
	def2, _ := json.Marshal(eval.Definition{Question: "Is the reply polite and warm?", Type: eval.Boolean})
	if _, _, err := e.st.UpdateCriterion(ctx, store.Criterion{Name: "polite", ChangedBy: "ann"}, &store.CriterionVersion{Definition: def2, Author: "ann", Reason: "warmer"}, 1); err != nil {
		t.Fatal(err)
	}
	var v2 []store.StoredScore
	for i := range 30 {
		v2 = append(v2, sc(2, eval.Human, "ann", tgt(i), bv(false), t0.Add(time.Hour)))
	}
	e.putScores(t, v2...)
	code, b = e.do(t, "GET", "/api/v1/criteria/polite/pass-rate?version=1", nil)
	pr = PassRate{}
	json.Unmarshal(b, &pr)
	if code != 200 || pr.Headline.Passes != 30 || pr.Headline.Items != 40 || pr.LatestUsed {
		t.Errorf("version 1 after version 2 scores: %d %s", code, b)
	}
	code, b = e.do(t, "GET", "/api/v1/criteria/polite/pass-rate", nil)
	pr = PassRate{}
	json.Unmarshal(b, &pr)
	if code != 200 || pr.Version != 2 || pr.Headline.Passes != 0 || pr.Headline.Items != 30 || len(pr.TrustedJudges)+len(pr.UntrustedJudges) != 0 {
		t.Errorf("version 2: %d %s", code, b)
	}
	code, b = e.do(t, "GET", "/api/v1/judges/good/calibration", nil)
	json.Unmarshal(b, &c)
	if c.CriterionVersion != 1 || c.DoubleScored != 30 {
		t.Errorf("calibration after version 2: %s", b)
	}
	if code, _ := e.do(t, "GET", "/api/v1/criteria/polite/pass-rate?from=2026-11-03&to=2026-11-02", nil); code != 400 {
		t.Errorf("from after to: %d, want 400", code)
	}
	if code, _ := e.do(t, "GET", "/api/v1/criteria/nope/pass-rate", nil); code != 404 {
		t.Errorf("missing criterion: %d, want 404", code)
	}

	// Drift: all scores are over 30 days old relative to now + 40 days.
	e.now = t0.Add(40 * 24 * time.Hour)
	ds, err := e.svc.CheckDrift(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Judge != "bad" || ds[1].Judge != "good" || ds[1].Alert || ds[1].Recent.DoubleScored != 0 || ds[1].AllTime.DoubleScored != 30 {
		t.Errorf("drift %+v", ds)
	}
}

func TestHTTPGateway(t *testing.T) {
	var got *http.Request
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		json.NewDecoder(r.Body).Decode(&body)
		if r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(401)
			return
		}
		io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"{\"score\": true}"}}]}`)
	}))
	defer srv.Close()
	g := &HTTPGateway{BaseURL: srv.URL + "/", Key: "k"}
	out, err := g.Complete(context.Background(), Completion{Model: "m", Temperature: 0.5, System: "s", User: "u", Step: "judge:tone@1"})
	if err != nil || out != `{"score": true}` {
		t.Fatalf("Complete = %q, %v", out, err)
	}
	if got.URL.Path != "/v1/chat/completions" || got.Header.Get("X-Weir-Use-Case") != "evaluation" || got.Header.Get("X-Weir-Use-Case-Step") != "judge:tone@1" {
		t.Errorf("request %s %v", got.URL.Path, got.Header)
	}
	if body["model"] != "m" || body["temperature"] != 0.5 {
		t.Errorf("body %v", body)
	}
	g.Key = "wrong"
	if _, err := g.Complete(context.Background(), Completion{Model: "m"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("401: %v", err)
	}
}

func TestReplyText(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`{"choices":[{"message":{"content":"hi"}}]}`, "hi", true},
		{`{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]}}]}`, "ab", true},
		{`{"choices":[]}`, "", false},
		{`{"choices":[{"message":{"content":null}}]}`, "", false},
		{`nope`, "", false},
	} {
		got, err := ReplyText([]byte(tc.in))
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ReplyText(%s) = %q, %v", tc.in, got, err)
		}
	}
}

func TestLocalBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		":9000":          "http://127.0.0.1:9000",
		"[::]:8080":      "http://127.0.0.1:8080",
		"[::1]:8080":     "http://[::1]:8080",
		"weir.local:81":  "http://weir.local:81",
	} {
		if got := LocalBaseURL(in); got != want {
			t.Errorf("LocalBaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHTTPGatewaySimulator: the client reads the simulator's chat
// completions (an OpenAI-shaped reply). Without a response format the
// simulator's free text holds no score: an error, never a default. A
// judge run asks for the judgement's JSON schema, which the simulator (as
// models with structured output) keeps to: a score, with its reasoning.
func TestHTTPGatewaySimulator(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 1, Models: map[string]mock.Profile{"m": {OutputTokens: 5}}}, nil))
	defer sim.Close()
	g := &HTTPGateway{BaseURL: sim.URL}
	out, err := g.Complete(context.Background(), Completion{Model: "m", System: "s", User: "u"})
	if err != nil || out == "" {
		t.Fatalf("Complete = %q, %v", out, err)
	}
	if _, err := evaluator.ParseJudgement(&eval.Definition{Question: "q", Type: eval.Boolean}, out); err == nil {
		t.Errorf("free text %q parsed as a judgement", out)
	}
	e := newEnv(t)
	e.svc.gw = g
	e.call(t, "req_1", "Hello", "Hi")
	if _, err := e.svc.Create(context.Background(), Input{Name: "tone", Criterion: "polite", Definition: Definition{Model: "m"}}, "ann"); err != nil {
		t.Fatal(err)
	}
	run, err := e.svc.Score(context.Background(), "tone", 0, []Target{{Kind: eval.TargetCall, ID: "req_1"}}, "ann")
	if err != nil || run.Scored != 1 || len(run.Errors) != 0 || run.Scores[0].Value.Bool == nil || run.Scores[0].Reasoning == "" {
		t.Errorf("run %+v, %v; want one score with its reasoning", run, err)
	}
}

// TestTrustFlipsPassRate: a judge's figures leave the untrusted list and
// join the headline once enough agreeing people's scores are added.
func TestTrustFlipsPassRate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.Create(ctx, Input{Name: "tone", Criterion: "polite", Definition: Definition{Model: "m", MinItems: 20}}, "ann"); err != nil {
		t.Fatal(err)
	}
	var judge, people []store.StoredScore
	for i := range 60 {
		judge = append(judge, sc(1, eval.LLM, "tone@1", tgt(i), bv(i%2 == 0), t0))
		people = append(people, sc(1, eval.Human, "bob", tgt(i), bv(i%2 == 0), t0))
	}
	e.putScores(t, judge...)
	e.putScores(t, people[:10]...)
	pr, err := e.svc.PassRate(ctx, "polite", 0, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.UntrustedJudges) != 1 || len(pr.TrustedJudges) != 0 || pr.Headline.Items != 10 || pr.FromTrusted != 0 {
		t.Fatalf("10 people's scores: %+v", pr)
	}
	e.putScores(t, people[10:30]...)
	pr, err = e.svc.PassRate(ctx, "polite", 0, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.TrustedJudges) != 1 || len(pr.UntrustedJudges) != 0 || pr.Headline.Items != 60 || pr.FromHumans != 30 || pr.FromTrusted != 30 || pr.Headline.Passes != 30 {
		t.Fatalf("30 people's scores: %+v", pr)
	}
}
