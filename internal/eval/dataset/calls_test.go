package dataset

import (
	"errors"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/record"
)

func TestItemFromCall(t *testing.T) {
	openAI := record.Record{ID: "req_1", Endpoint: record.EndpointChatCompletions, Model: "gpt-4o", Provider: "openai", Status: 200,
		Attribution: record.Attribution{UseCase: "support"},
		Request:     `{"model":"gpt-4o","messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"Where is my order?"}],"temperature":0}`,
		Response:    `{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"It ships today."},"finish_reason":"stop"}]}`}
	anthropic := record.Record{ID: "req_2", Endpoint: record.EndpointMessages, Model: "claude", Provider: "anthropic", Status: 200,
		Request: `{"model":"claude","max_tokens":100,"system":[{"type":"text","text":"Be kind."}],"messages":[
			{"role":"user","content":"Weather in Paris?"},
			{"role":"assistant","content":[{"type":"thinking","thinking":"..."},{"type":"text","text":"Let me check."},{"type":"tool_use","id":"tu1","name":"weather","input":{"city":"Paris"}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"tu1","content":[{"type":"text","text":"20C"}]},{"type":"text","text":"Thanks"}]}]}`,
		Response: `{"id":"m1","type":"message","content":[{"type":"text","text":"It is 20°C."}]}`}
	streamed := openAI
	streamed.ID, streamed.Stream, streamed.Response = "req_3", true, "It ships today (streamed)."
	for _, tc := range []struct {
		name         string
		r            record.Record
		withExpected bool
		messages     string
		expected     string
		err          string
	}{
		{"openai", openAI, true, `[{"role":"system","content":"Be kind."},{"role":"user","content":"Where is my order?"}]`, `"It ships today."`, ""},
		{"openai without expected", openAI, false, `[{"role":"system","content":"Be kind."},{"role":"user","content":"Where is my order?"}]`, "", ""},
		{"anthropic", anthropic, true, `[{"role":"system","content":"Be kind."},{"role":"user","content":"Weather in Paris?"},` +
			`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"tu1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
			`{"role":"tool","content":"20C","tool_call_id":"tu1"},{"role":"user","content":"Thanks"}]`, `"It is 20°C."`, ""},
		{"streamed", streamed, true, "", `"It ships today (streamed)."`, ""},
		{"no-log", record.Record{ID: "r", Endpoint: record.EndpointChatCompletions, Status: 200}, false, "", "", "x-weir-no-log"},
		{"truncated", func() record.Record { r := openAI; r.Truncated = true; return r }(), false, "", "", "truncated"},
		{"embeddings", func() record.Record { r := openAI; r.Endpoint = record.EndpointEmbeddings; return r }(), false, "", "", "embeddings"},
		{"failed call with expected", func() record.Record { r := openAI; r.Status = 500; return r }(), true, "", "", "failed"},
		{"failed call without expected", func() record.Record { r := openAI; r.Status = 500; return r }(), false, "", "", ""},
		{"not json", func() record.Record { r := openAI; r.Request = "{"; return r }(), false, "", "", "not an OpenAI"},
		{"anthropic image", func() record.Record {
			r := anthropic
			r.Request = `{"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}`
			return r
		}(), false, "", "", "image"},
		{"tool-only response", func() record.Record {
			r := openAI
			r.Response = `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[]}}]}`
			return r
		}(), true, "", "", "no text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, err := ItemFromCall(tc.r, tc.withExpected)
			if tc.err != "" {
				if !errors.Is(err, ErrNoBody) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrNoBody mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.messages != "" && string(it.Messages) != tc.messages {
				t.Errorf("messages\n got %s\nwant %s", it.Messages, tc.messages)
			}
			if string(it.Expected) != tc.expected {
				t.Errorf("expected %s, want %s", it.Expected, tc.expected)
			}
			if it.SourceCall != tc.r.ID || !strings.Contains(string(it.Metadata), `"model":"`+tc.r.Model+`"`) {
				t.Errorf("source %q metadata %s", it.SourceCall, it.Metadata)
			}
		})
	}
}

func FuzzItemFromCall(f *testing.F) {
	f.Add(true, `{"messages":[{"role":"user","content":"x"}]}`, `{"content":[{"type":"text","text":"y"}]}`)
	f.Add(false, `{"system":"s","messages":[{"role":"user","content":[{"type":"tool_result","content":"r"}]}]}`, ``)
	f.Fuzz(func(t *testing.T, anthropic bool, req, resp string) {
		r := record.Record{ID: "r1", Endpoint: record.EndpointChatCompletions, Status: 200, Request: req, Response: resp}
		if anthropic {
			r.Endpoint = record.EndpointMessages
		}
		it, err := ItemFromCall(r, true)
		if err != nil {
			if !errors.Is(err, ErrNoBody) {
				t.Fatalf("error %v does not wrap ErrNoBody", err)
			}
			return
		}
		if err := it.Validate(); err != nil {
			t.Fatalf("item does not validate: %v", err)
		}
	})
}
