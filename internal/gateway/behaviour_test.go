package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/anthropic"
	"github.com/weirhq/weir/internal/provider/openai"
	"github.com/weirhq/weir/internal/resilience"
)

// scriptedUpstream answers OpenAI chat completions and Anthropic messages
// with the canned wire text named by the request's first message.
func scriptedUpstream(t *testing.T, answers map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Stream   bool `json:"stream"`
			Messages []struct {
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
		}
		json.Unmarshal(body, &req)
		// The content is a string, or (translated to Anthropic) blocks.
		var prompt string
		if json.Unmarshal(req.Messages[0].Content, &prompt) != nil {
			var blocks []struct {
				Text string `json:"text"`
			}
			json.Unmarshal(req.Messages[0].Content, &blocks)
			if len(blocks) > 0 {
				prompt = blocks[0].Text
			}
		}
		a, ok := answers[prompt]
		if !ok {
			t.Errorf("no answer scripted for %q", prompt)
			http.Error(w, "no answer", 500)
			return
		}
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		io.WriteString(w, a)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// oaChunks is an OpenAI stream of the given deltas, a finish chunk and
// [DONE].
func oaChunks(finish string, deltas ...string) string {
	var b strings.Builder
	for _, d := range deltas {
		fmt.Fprintf(&b, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":null}]}\n\n", d)
	}
	fmt.Fprintf(&b, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":%q}]}\n\n", finish)
	b.WriteString("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4,\"total_tokens\":9}}\n\ndata: [DONE]\n\n")
	return b.String()
}

// oaBody is a chat.completion body with the given message.
func oaBody(finish, message string) string {
	return `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":` + message +
		`,"finish_reason":"` + finish + `"}],"usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}}`
}

// anStream is an Anthropic stream of text deltas ending with stop.
func anStream(stop string, texts ...string) string {
	var b strings.Builder
	ev := func(typ, data string) { fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", typ, data) }
	ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}}`)
	ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	for _, s := range texts {
		q, _ := json.Marshal(s)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+string(q)+`}}`)
	}
	ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
	ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"`+stop+`","stop_sequence":null},"usage":{"output_tokens":4}}`)
	ev("message_stop", `{"type":"message_stop"}`)
	return b.String()
}

// anBody is a Messages body with one text block.
func anBody(stop, text string) string {
	q, _ := json.Marshal(text)
	return `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":` + string(q) +
		`}],"stop_reason":"` + stop + `","usage":{"input_tokens":5,"output_tokens":4}}`
}

func TestRecordBehaviour(t *testing.T) {
	answers := map[string]string{
		"oa-stream-text-refusal":  oaChunks("stop", `{"role":"assistant","content":"I'm sorry, "}`, `{"content":"but I can't help with that."}`),
		"oa-stream-field-refusal": oaChunks("stop", `{"role":"assistant","content":null,"refusal":""}`, `{"refusal":"No."}`),
		"oa-stream-helpful":       oaChunks("stop", `{"role":"assistant","content":"","refusal":null}`, `{"content":"Sure, here it is."}`),
		"oa-stream-reasoning":     oaChunks("stop", `{"reasoning_content":"I can't help with that, said nobody."}`, `{"content":"Here is the answer."}`),
		"oa-stream-json-bad":      oaChunks("stop", `{"content":"{\"a\":"}`, `{"content":"1"}`),
		"oa-stream-json-good":     oaChunks("stop", `{"content":"{\"a\":"}`, `{"content":"1}"}`),
		"oa-text-refusal":         oaBody("stop", `{"role":"assistant","content":"I apologize, but I cannot fulfill this request."}`),
		"oa-field-refusal":        oaBody("stop", `{"role":"assistant","content":null,"refusal":"No."}`),
		"oa-json-good":            oaBody("stop", `{"role":"assistant","content":" {\"a\": [1, 2]}\n"}`),
		"oa-json-array":           oaBody("stop", `{"role":"assistant","content":"[1, 2]"}`),
		"oa-json-fenced":          oaBody("stop", `{"role":"assistant","content":"`+"```json\\n{}\\n```"+`"}`),
		"oa-tool-call":            oaBody("tool_calls", `{"role":"assistant","content":"I can't help with that.","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]}`),
		"an-text-refusal":         anBody("end_turn", "I'm sorry, but I can't help with that."),
		"an-stop-refusal":         anBody("refusal", ""),
		"an-stream-stop-refusal":  anStream("refusal", "Let me"),
		"an-stream-text-refusal":  anStream("end_turn", "Unfortunately, I'm not able to ", "share that."),
		"an-json-good":            anBody("end_turn", `{"name":"x"}`),
		"an-json-bad":             anBody("end_turn", `Here you go: {"name":"x"}`),
	}
	up := scriptedUpstream(t, answers)
	oa, err := openai.New(provider.Config{Name: "up", BaseURL: up.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	an, err := anthropic.New(provider.Config{Name: "an", BaseURL: up.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{begun: map[string]bool{}}
	g := New(Options{
		Router:   NewRouter([]*Upstream{{Name: "up", Type: "openai", Adapter: oa}, {Name: "an", Type: "anthropic", Adapter: an}}, nil),
		Recorder: rec, MaxBodyBytes: 1 << 20, MaxLoggedBodyBytes: 1 << 20,
	})
	mux := http.NewServeMux()
	g.Register(mux)
	gw := httptest.NewServer(mux)
	t.Cleanup(gw.Close)

	const (
		none  = ""
		valid = "true"
		bad   = "false"
	)
	for _, tc := range []struct {
		path, model, prompt, extra string
		stream, refusal            bool
		json                       string
	}{
		{"/v1/chat/completions", "up/m", "oa-stream-text-refusal", ``, true, true, none},
		{"/v1/chat/completions", "up/m", "oa-stream-field-refusal", ``, true, true, none},
		{"/v1/chat/completions", "up/m", "oa-stream-helpful", ``, true, false, none},
		{"/v1/chat/completions", "up/m", "oa-stream-reasoning", ``, true, false, none},
		{"/v1/chat/completions", "up/m", "oa-stream-json-bad", `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}},`, true, false, bad},
		{"/v1/chat/completions", "up/m", "oa-stream-json-good", `"response_format":{"type":"json_object"},`, true, false, valid},
		{"/v1/chat/completions", "up/m", "oa-text-refusal", ``, false, true, none},
		{"/v1/chat/completions", "up/m", "oa-field-refusal", ``, false, true, none},
		{"/v1/chat/completions", "up/m", "oa-field-refusal", `"response_format":{"type":"json_object"},`, false, true, none},
		{"/v1/chat/completions", "up/m", "oa-json-good", `"response_format":{"type":"json_object"},`, false, false, valid},
		{"/v1/chat/completions", "up/m", "oa-json-good", ``, false, false, none},
		{"/v1/chat/completions", "up/m", "oa-json-good", `"response_format":{"type":"text"},`, false, false, none},
		{"/v1/chat/completions", "up/m", "oa-json-array", `"response_format":{"type":"json_object"},`, false, false, bad},
		{"/v1/chat/completions", "up/m", "oa-json-array", `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}},`, false, false, valid},
		{"/v1/chat/completions", "up/m", "oa-json-fenced", `"response_format":{"type":"json_object"},`, false, false, bad},
		{"/v1/chat/completions", "up/m", "oa-tool-call", `"response_format":{"type":"json_object"},`, false, false, none},
		{"/v1/messages", "an/claude", "an-text-refusal", ``, false, true, none},
		{"/v1/messages", "an/claude", "an-stop-refusal", ``, false, true, none},
		{"/v1/messages", "an/claude", "an-stream-stop-refusal", ``, true, true, none},
		{"/v1/messages", "an/claude", "an-stream-text-refusal", ``, true, true, none},
		{"/v1/messages", "an/claude", "an-json-good", `"output_config":{"format":{"type":"json_schema","schema":{}}},`, false, false, valid},
		{"/v1/messages", "an/claude", "an-json-bad", `"output_format":{"type":"json_schema","schema":{}},`, false, false, bad},
		{"/v1/messages", "an/claude", "an-json-good", ``, false, false, none},
		// The Anthropic adapter's translation on the OpenAI surface:
		// stop_reason refusal arrives as content_filter.
		{"/v1/chat/completions", "an/claude", "an-stop-refusal", ``, false, true, none},
		{"/v1/chat/completions", "an/claude", "an-json-good", `"response_format":{"type":"json_object"},`, false, false, valid},
	} {
		name := fmt.Sprintf("%s %s stream=%v %s", tc.path, tc.prompt, tc.stream, tc.extra)
		t.Run(name, func(t *testing.T) {
			body := fmt.Sprintf(`{"model":%q,%s"stream":%v,"max_tokens":10,"messages":[{"role":"user","content":%q}]}`, tc.model, tc.extra, tc.stream, tc.prompt)
			resp, out := post(t, gw.URL+tc.path, body, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, out)
			}
			r := rec.last(t)
			if r.ErrorKind != "" {
				t.Fatalf("call failed: %s %s", r.ErrorKind, r.ErrorMessage)
			}
			got := none
			if r.JSONValid != nil {
				got = fmt.Sprint(*r.JSONValid)
			}
			if r.Refusal != tc.refusal || got != tc.json {
				t.Errorf("refusal %v json_valid %q, want %v %q", r.Refusal, got, tc.refusal, tc.json)
			}
			// The fields are omitted from the record's JSON when unset.
			doc, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(doc), `"json_valid"`) != (tc.json != none) || strings.Contains(string(doc), `"refusal":true`) != tc.refusal {
				t.Errorf("record JSON has the wrong fields: %s", doc)
			}
		})
	}
}

// TestRecordBehaviourFailedCall: a stream that broke gets no json_valid.
func TestRecordBehaviourFailedCall(t *testing.T) {
	up := fakeUpstream(t, 0)
	gw, rec := newGateway(t, up.URL)
	post(t, gw.URL+"/v1/chat/completions", `{"model":"up/m","stream":true,"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"break"}]}`, nil)
	r := rec.last(t)
	if r.ErrorKind == "" || r.JSONValid != nil || r.Refusal {
		t.Errorf("error %q json_valid %v refusal %v, want an error and neither", r.ErrorKind, r.JSONValid, r.Refusal)
	}
}

// TestRecordBehaviourRouteForcesFormat: a route that forces a
// response_format makes the call a JSON one.
func TestRecordBehaviourRouteForcesFormat(t *testing.T) {
	up := scriptedUpstream(t, map[string]string{"x": oaBody("stop", `{"role":"assistant","content":"{}"}`)})
	oa, err := openai.New(provider.Config{Name: "up", BaseURL: up.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	u := &Upstream{Name: "up", Type: "openai", Adapter: oa}
	rt := &Route{Name: "json", Targets: []*RouteTarget{{Upstream: u, Model: "m", Priority: 1, Weight: 1, State: resilience.NewTarget(resilience.BreakerConfig{}, 0, 0)}}, FallbackOn: map[string]bool{}, Budget: resilience.NewRetryBudget(0.2, 1000),
		Force: []ForcedParam{{Name: "response_format", Value: []byte(`{"type":"json_object"}`)}}}
	router := NewRouter([]*Upstream{u}, nil)
	if err := router.SetRoutes([]*Route{rt}); err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{begun: map[string]bool{}}
	g := New(Options{Router: router, Recorder: rec, MaxBodyBytes: 1 << 20, MaxLoggedBodyBytes: 1 << 20})
	mux := http.NewServeMux()
	g.Register(mux)
	gw := httptest.NewServer(mux)
	t.Cleanup(gw.Close)
	resp, out := post(t, gw.URL+"/v1/chat/completions", `{"model":"json","messages":[{"role":"user","content":"x"}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	if r := rec.last(t); r.JSONValid == nil || !*r.JSONValid {
		t.Errorf("json_valid %v, want true", r.JSONValid)
	}
}
