package experiment

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/evaluator"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// lateRecords has the record only from the third read on.
type lateRecords struct{ reads atomic.Int64 }

func (l *lateRecords) GetRequest(_ context.Context, id string) (record.Record, error) {
	if l.reads.Add(1) < 3 {
		return record.Record{}, store.ErrNotFound
	}
	m := 42 * pricing.Micro
	return record.Record{ID: id, CostUSD: &m}, nil
}

func TestCostWaitsForTheRecord(t *testing.T) {
	recs := &lateRecords{}
	s := New(Options{Records: recs, RecordWait: 2 * time.Second})
	defer s.Close()
	c := s.cost(context.Background(), "req_1")
	if c == nil || *c != 42*pricing.Micro || recs.reads.Load() != 3 {
		t.Errorf("cost = %v after %d reads, want 0.000042 after 3", c, recs.reads.Load())
	}
	// A record that never comes: nil, within the wait.
	s2 := New(Options{Records: &lateRecords{reads: atomic.Int64{}}, RecordWait: 30 * time.Millisecond})
	defer s2.Close()
	start := time.Now()
	if c := s2.cost(context.Background(), "req_2"); c != nil {
		t.Errorf("cost = %v, want nil before the record exists", c)
	}
	if time.Since(start) > time.Second {
		t.Errorf("waited %v", time.Since(start))
	}
}

func TestChatSendsTheKeyAndReadsToolCalls(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("x-weir-tags"))
		w.Header().Set("x-weir-request-id", "req_9")
		w.Write([]byte(`{"choices":[{"message":{"content":null,"tool_calls":[{"function":{"name":"lookup","arguments":"{\"order\":7}"}},{"function":{"name":"bad","arguments":"not json"}}]}}]}`))
	}))
	defer srv.Close()
	s := New(Options{Gateway: func() string { return srv.URL }, GatewayKey: "wk_1"})
	defer s.Close()
	c, err := s.chat(context.Background(), map[string]any{"model": "m"}, attribution("uc", "e/i", "e", "v,1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := auth.Load(); got != "Bearer wk_1|experiment:e,variant:v_1" {
		t.Errorf("headers %v", got)
	}
	if c.id != "req_9" || c.text != "" || len(c.toolCalls) != 2 || string(c.toolCalls[0].Arguments) != `{"order":7}` || string(c.toolCalls[1].Arguments) != `"not json"` {
		t.Errorf("chat result %+v", c)
	}
}

func TestChatErrors(t *testing.T) {
	for _, tt := range []struct {
		status int
		body   string
		want   string
	}{
		{429, `{"error":{"message":"slow down"}}`, "gateway answered 429: slow down"},
		{502, `upstream`, "gateway answered 502: upstream"},
		{200, `{"choices":[]}`, "no choices"},
		{200, `{`, "the gateway's answer"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			w.Write([]byte(tt.body))
		}))
		s := New(Options{Gateway: func() string { return srv.URL }})
		_, err := s.chat(context.Background(), map[string]any{"model": "m"}, http.Header{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%d %s: %v, want %q", tt.status, tt.body, err, tt.want)
		}
		s.Close()
		srv.Close()
	}
}

func TestJudgeFormat(t *testing.T) {
	lo, hi := 0.0, 10.0
	for _, tt := range []struct {
		def  eval.Definition
		want string
	}{
		{eval.Definition{Type: eval.Boolean}, `{"type":"boolean"}`},
		{eval.Definition{Type: eval.Categorical, Labels: []string{"poor", "good"}}, `{"enum":["poor","good"],"type":"string"}`},
		{eval.Definition{Type: eval.Numeric, Min: &lo, Max: &hi}, `{"type":"number"}`},
		{eval.Definition{Type: eval.Likert, Points: 5}, `{"type":"integer"}`},
	} {
		b, _ := json.Marshal(evaluator.JudgeResponseFormat(&tt.def))
		var f struct {
			Type       string `json:"type"`
			JSONSchema struct {
				Strict bool `json:"strict"`
				Schema struct {
					Properties map[string]json.RawMessage `json:"properties"`
					Required   []string                   `json:"required"`
				} `json:"schema"`
			} `json:"json_schema"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != "json_schema" || !f.JSONSchema.Strict || string(f.JSONSchema.Schema.Properties["score"]) != tt.want || len(f.JSONSchema.Schema.Required) != 3 {
			t.Errorf("%s: %s", tt.def.Type, b)
		}
	}
}

func TestJudgeRequest(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]json.RawMessage
		json.NewDecoder(r.Body).Decode(&body)
		got.Store(body)
		w.Header().Set("x-weir-request-id", "req_j")
		w.Write([]byte(`{"choices":[{"message":{"content":"{\"reasoning\":\"fine\",\"score\":true}"}}]}`))
	}))
	defer srv.Close()
	s := New(Options{Gateway: func() string { return srv.URL }})
	defer s.Close()
	sc := scorer{spec: EvaluatorSpec{Kind: JudgeKind, Model: "judge-m", Criterion: "ok", Config: json.RawMessage(`{"temperature":null,"max_tokens":300}`)},
		def: eval.Definition{Question: "OK?", Type: eval.Boolean}}
	v, reason, id, err := s.judge(context.Background(), Spec{Name: "e"}, sc, "v", dataset.Item{ID: "i", Messages: json.RawMessage(`[{"role":"user","content":"hi"}]`)}, "hello", nil)
	if err != nil || v.Bool == nil || !*v.Bool || reason != "fine" || id != "req_j" {
		t.Fatalf("judge: %+v %q %q %v", v, reason, id, err)
	}
	body := got.Load().(map[string]json.RawMessage)
	if _, ok := body["temperature"]; ok || string(body["max_tokens"]) != "300" || string(body["model"]) != `"judge-m"` || len(body["response_format"]) == 0 {
		t.Errorf("judge request %v", body)
	}
	if !strings.Contains(string(body["messages"]), "user: hi") {
		t.Errorf("the judge does not see the input: %s", body["messages"])
	}
}

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"aé", 2, "a"}, {"éé", 3, "é"}} {
		if got := clip(tt.in, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
