package bedrock

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/usage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s", name, err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestTranslateRequestGolden(t *testing.T) {
	for _, name := range []string{"request_full", "request_tools_history", "request_reasoning", "request_nova_reasoning"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name+".in.json"))
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				Model string `json:"model"`
			}
			json.Unmarshal(in, &m)
			got, err := TranslateRequest(in, m.Model)
			if err != nil {
				t.Fatalf("TranslateRequest: %v", err)
			}
			golden(t, name+".out.json", got)
		})
	}
}

func TestTranslateResponseGolden(t *testing.T) {
	for _, name := range []string{"response_text", "response_tool_use", "response_reasoning"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name+".in.json"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := TranslateResponse(in, "chatcmpl-req-1", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", time.Unix(1764200000, 0))
			if err != nil {
				t.Fatalf("TranslateResponse: %v", err)
			}
			golden(t, name+".out.json", got)
		})
	}
}

func TestTranslateRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, model, param string
	}{
		{"n", `{"messages":[{"role":"user","content":"hi"}],"n":2}`, "anthropic.claude-3-haiku", "n"},
		{"image url", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "m", "messages[0].content[0].image_url.url"},
		{"image in assistant", `{"messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`, "m", "messages[0].content[0]"},
		{"bad args", `{"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "m", "messages[0].tool_calls[0].function.arguments"},
		{"tool without id", `{"messages":[{"role":"tool","content":"x"}]}`, "m", "messages[0].tool_call_id"},
		{"llama reasoning", `{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low"}`, "us.meta.llama3-3-70b-instruct-v1:0", "reasoning_effort"},
		{"small max with reasoning", `{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high","max_tokens":100}`, "anthropic.claude-sonnet-4-5-20250929-v1:0", "max_tokens"},
		{"tool choice", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"maybe"}`, "m", "tool_choice"},
		{"wrong type", `{"messages":"hi"}`, "m", "messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := TranslateRequest([]byte(tc.body), tc.model)
			ae, ok := err.(*apierror.Error)
			if !ok || ae.Kind != apierror.InvalidRequest {
				t.Fatalf("error = %v, want an invalid_request *apierror.Error", err)
			}
			if ae.Param != tc.param {
				t.Errorf("Param = %q, want %q (%v)", ae.Param, tc.param, ae)
			}
		})
	}
}

func TestNormaliseUsage(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      usage.Usage
	}{
		{"plain", `{"inputTokens":11,"outputTokens":8,"totalTokens":19}`, usage.Usage{InputTokens: 11, OutputTokens: 8}},
		{"cache", `{"inputTokens":10,"outputTokens":5,"totalTokens":42,"cacheReadInputTokens":20,"cacheWriteInputTokens":7,
			"cacheDetails":[{"ttl":"1h","inputTokens":3},{"ttl":"5m","inputTokens":4}]}`,
			usage.Usage{InputTokens: 37, CacheReadTokens: 20, CacheWriteTokens: 7, CacheWrite1hTokens: 3, OutputTokens: 5}},
		{"cache write without details", `{"inputTokens":1,"outputTokens":1,"cacheWriteInputTokens":9}`,
			usage.Usage{InputTokens: 10, CacheWriteTokens: 9, OutputTokens: 1}},
		{"details over the write count", `{"inputTokens":1,"outputTokens":1,"cacheWriteInputTokens":2,"cacheDetails":[{"ttl":"1h","inputTokens":5}]}`,
			usage.Usage{InputTokens: 3, CacheWriteTokens: 2, CacheWrite1hTokens: 2, OutputTokens: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormaliseUsage([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := NormaliseUsage([]byte(`{"inputTokens":"x"}`)); err == nil {
		t.Error("a malformed usage object gave no error")
	}
}

func TestModelPath(t *testing.T) {
	for _, tc := range []struct{ model, raw string }{
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"},
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc/converse"},
	} {
		if _, raw := modelPath(tc.model, "converse"); raw != tc.raw {
			t.Errorf("modelPath(%q) = %q, want %q", tc.model, raw, tc.raw)
		}
	}
}

func TestFamily(t *testing.T) {
	for model, want := range map[string]string{
		"us.anthropic.claude-sonnet-4-5-20250929-v1:0":                "anthropic",
		"global.anthropic.claude-opus-4-5-v1:0":                       "anthropic",
		"amazon.nova-pro-v1:0":                                        "amazon",
		"us.meta.llama3-3-70b-instruct-v1:0":                          "meta",
		"openai.gpt-oss-120b-1:0":                                     "openai",
		"arn:aws:bedrock:us-east-1:1:application-inference-profile/x": "",
	} {
		if got := family(model); got != want {
			t.Errorf("family(%q) = %q, want %q", model, got, want)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	for typ, want := range map[string]apierror.Kind{
		"UnrecognizedClientException": apierror.Authentication,
		"InvalidSignatureException":   apierror.Authentication,
		"AccessDeniedException":       apierror.PermissionDenied,
		"ThrottlingException":         apierror.RateLimited,
		"ServiceUnavailableException": apierror.UpstreamOverloaded,
		"ModelTimeoutException":       apierror.UpstreamTimeout,
		"ResourceNotFoundException":   apierror.NotFound,
		"ValidationException":         apierror.InvalidRequest,
	} {
		msg, code := ParseError([]byte(`{"message":"m","__type":"` + typ + `:http://internal.amazon.com/coral/com.amazon.bedrock/"}`))
		if msg != "m" || code != typ {
			t.Errorf("ParseError = %q, %q, want m, %s", msg, code, typ)
		}
		if k, _ := kindOf(code); k != want {
			t.Errorf("kindOf(%s) = %s, want %s", typ, k, want)
		}
	}
}
