package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/usage"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixedNow is the "created" time of every translated answer in the tests.
var fixedNow = time.Unix(1750000000, 0)

func init() {
	now = func() time.Time { return fixedNow }
	n := 0
	newCallID = func() string { n++; return fmt.Sprintf("call_test%d", n) }
}

// resetIDs restarts the generated tool call ids, so each golden file gets
// the same ones whatever ran before.
func resetIDs() {
	n := 0
	newCallID = func() string { n++; return fmt.Sprintf("call_test%d", n) }
}

// golden compares got with the golden file path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("output is not valid JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func fixtures(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures %s: %v", pattern, err)
	}
	return files
}

func TestTranslateRequestGolden(t *testing.T) {
	for _, f := range fixtures(t, "testdata/translate/*.openai.json") {
		name := strings.TrimSuffix(filepath.Base(f), ".openai.json")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := TranslateRequest(in, "")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".openai.json")+".gemini.json", indent(t, got))
		})
	}
}

func TestTranslateResponseGolden(t *testing.T) {
	for _, f := range fixtures(t, "testdata/response/*.gemini.json") {
		name := strings.TrimSuffix(filepath.Base(f), ".gemini.json")
		t.Run(name, func(t *testing.T) {
			resetIDs()
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := TranslateResponse(in, "gemini-asked", fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".gemini.json")+".openai.json", indent(t, got))
		})
	}
}

// transcript runs a Gemini SSE fixture through the chat stream and renders
// what the caller gets (and the metadata the gateway reads) as text.
func transcript(t testing.TB, in []byte, includeUsage bool) string {
	t.Helper()
	s := newChatStream(t.Context(), io.NopCloser(bytes.NewReader(in)), "models/gemini-asked", includeUsage)
	var b strings.Builder
	for range 1000 {
		ev, err := s.Next()
		if err != nil {
			if err == io.EOF {
				b.WriteString("EOF\n")
			} else {
				fmt.Fprintf(&b, "ERROR %v\n", err)
			}
			break
		}
		var flags []string
		for _, f := range []struct {
			on   bool
			name string
		}{{ev.Drop, "drop"}, {ev.Token, "token"}, {ev.Completion, "completion"}, {ev.Done, "done"}} {
			if f.on {
				flags = append(flags, f.name)
			}
		}
		fmt.Fprintf(&b, "# %s", strings.Join(flags, ","))
		if ev.ResponseModel != "" {
			fmt.Fprintf(&b, " model=%s", ev.ResponseModel)
		}
		if ev.FinishReason != "" {
			fmt.Fprintf(&b, " finish=%s", ev.FinishReason)
		}
		if ev.Text != "" {
			fmt.Fprintf(&b, " text=%q", ev.Text)
		}
		if ev.Usage != nil {
			u, _ := json.Marshal(ev.Usage)
			fmt.Fprintf(&b, " usage=%s", u)
		}
		b.WriteString("\n")
		b.Write(ev.Data)
	}
	s.Close()
	return b.String()
}

func TestStreamGolden(t *testing.T) {
	for _, f := range fixtures(t, "testdata/stream/*.gemini.sse") {
		name := strings.TrimSuffix(filepath.Base(f), ".gemini.sse")
		for _, inc := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/include_usage=%v", name, inc), func(t *testing.T) {
				resetIDs()
				in, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out := strings.TrimSuffix(f, ".gemini.sse") + ".openai.txt"
				if !inc {
					out = strings.TrimSuffix(f, ".gemini.sse") + ".no_usage.openai.txt"
				}
				golden(t, out, []byte(transcript(t, in, inc)))
			})
		}
	}
}

func TestTranslateRequestErrors(t *testing.T) {
	f := func(body, param string) {
		t.Helper()
		_, err := TranslateRequest([]byte(body), "gemini-2.5-flash")
		var ae *apierror.Error
		if !errors.As(err, &ae) || ae.Kind != apierror.InvalidRequest {
			t.Errorf("%s: got %v, want an invalid_request error", body, err)
			return
		}
		if ae.Param != param {
			t.Errorf("%s: param %q, want %q (%v)", body, ae.Param, param, ae)
		}
	}
	user := `"messages":[{"role":"user","content":"hi"}]`
	f(`{"messages":[]}`, "messages")
	f(`{"messages":[{"role":"system","content":"only a system prompt"}]}`, "messages")
	f(`{"messages":"hi"}`, "messages")
	f(`{`+user+`,"logit_bias":{"1":2}}`, "logit_bias")
	f(`{`+user+`,"logprobs":true}`, "logprobs")
	f(`{`+user+`,"n":9}`, "n")
	f(`{`+user+`,"max_tokens":0}`, "max_tokens")
	f(`{`+user+`,"max_completion_tokens":-1}`, "max_completion_tokens")
	f(`{`+user+`,"stop":3}`, "stop")
	f(`{`+user+`,"reasoning_effort":"extreme"}`, "reasoning_effort")
	f(`{`+user+`,"response_format":{"type":"grammar"}}`, "response_format.type")
	f(`{`+user+`,"response_format":{"type":"json_schema","json_schema":{"schema":[1]}}}`, "response_format.json_schema.schema")
	f(`{`+user+`,"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}`, "tools[0].function.parameters")
	f(`{`+user+`,"tools":[{"type":"custom"}]}`, "tools[0].type")
	f(`{`+user+`,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}`, "tool_choice")
	f(`{"messages":[{"role":"tool","tool_call_id":"nope","content":"x"}]}`, "messages[0].tool_call_id")
	f(`{"messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[0].tool_calls[0].function.arguments")
	f(`{"messages":[{"role":"narrator","content":"x"}]}`, "messages[0].role")
	f(`{"messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "messages[0].content[0].type")
	f(`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages[0].content[0].image_url.url")
	f(`{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "messages[0].content[0].file")
	f(`{`+user+`,"modalities":["text","audio"]}`, "modalities")
}

func TestFinishReason(t *testing.T) {
	for _, c := range []struct {
		in   string
		tool bool
		want string
	}{
		{"STOP", false, "stop"}, {"STOP", true, "tool_calls"}, {"MAX_TOKENS", true, "length"},
		{"SAFETY", false, "content_filter"}, {"RECITATION", false, "content_filter"},
		{"PROHIBITED_CONTENT", false, "content_filter"}, {"MALFORMED_FUNCTION_CALL", false, "stop"},
		{"OTHER", false, "stop"}, {"", false, "stop"},
	} {
		if got := FinishReason(c.in, c.tool); got != c.want {
			t.Errorf("FinishReason(%q, %v) = %q, want %q", c.in, c.tool, got, c.want)
		}
	}
}

func TestFromGemini(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     usage.Usage
	}{
		{"plain", `{"promptTokenCount":11,"candidatesTokenCount":8,"totalTokenCount":19}`,
			usage.Usage{InputTokens: 11, OutputTokens: 8}},
		{"thoughts are output and reasoning", `{"promptTokenCount":11,"candidatesTokenCount":6,"thoughtsTokenCount":4,"totalTokenCount":21}`,
			usage.Usage{InputTokens: 11, OutputTokens: 10, ReasoningTokens: 4}},
		{"cached tokens are part of the prompt", `{"promptTokenCount":2100,"cachedContentTokenCount":2048,"candidatesTokenCount":3}`,
			usage.Usage{InputTokens: 2100, CacheReadTokens: 2048, OutputTokens: 3}},
		{"tool-use prompt is input", `{"promptTokenCount":60,"toolUsePromptTokenCount":5,"candidatesTokenCount":30}`,
			usage.Usage{InputTokens: 65, OutputTokens: 30}},
		{"modalities", `{"promptTokenCount":600,"candidatesTokenCount":1300,"promptTokensDetails":[{"modality":"TEXT","tokenCount":42},{"modality":"AUDIO","tokenCount":300},{"modality":"IMAGE","tokenCount":258}],"candidatesTokensDetails":[{"modality":"IMAGE","tokenCount":1290},{"modality":"TEXT","tokenCount":10}]}`,
			usage.Usage{InputTokens: 600, InputAudioTokens: 300, InputImageTokens: 258, OutputTokens: 1300, OutputImageTokens: 1290}},
		{"empty", `{}`, usage.Usage{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := FromGemini([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := FromGemini([]byte(`{"promptTokenCount":"many"}`)); err == nil {
		t.Errorf("a malformed usageMetadata gave no error")
	}
}

func TestParseErrorAndClassify(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		kind   apierror.Kind
		code   string
		retry  time.Duration
	}{
		{"bad key", 400, `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`,
			apierror.Authentication, "API_KEY_INVALID", 0},
		{"bad request", 400, `{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified","status":"INVALID_ARGUMENT"}}`,
			apierror.InvalidRequest, "INVALID_ARGUMENT", 0},
		{"quota", 429, `{"error":{"code":429,"message":"You exceeded your current quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}`,
			apierror.RateLimited, "RESOURCE_EXHAUSTED", 37 * time.Second},
		{"overloaded", 503, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`,
			apierror.UpstreamOverloaded, "UNAVAILABLE", 0},
		{"unavailable", 503, `{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}`,
			apierror.UpstreamUnavailable, "UNAVAILABLE", 0},
		{"vertex token", 401, `[{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}]`,
			apierror.Authentication, "UNAUTHENTICATED", 0},
		{"vertex permission", 403, `{"error":{"code":403,"message":"Permission 'aiplatform.endpoints.predict' denied","status":"PERMISSION_DENIED"}}`,
			apierror.PermissionDenied, "PERMISSION_DENIED", 0},
		{"not json", 502, `<html>bad gateway</html>`, apierror.UpstreamUnavailable, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: c.status, Header: http.Header{}, Request: &http.Request{Header: http.Header{}}}
			e := upstream.StatusError(resp, []byte(c.body), ParseError)
			classify(e, parseGoogleError([]byte(c.body)))
			if e.Kind != c.kind || e.Code != c.code || e.RetryAfter != c.retry || e.Message == "" {
				t.Errorf("got kind %s code %q retry %s message %q, want %s %q %s", e.Kind, e.Code, e.RetryAfter, e.Message, c.kind, c.code, c.retry)
			}
		})
	}
}

func TestStreamErrorKinds(t *testing.T) {
	e := streamError(&googleError{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: "quota"})
	if e.Kind != apierror.RateLimited || e.HTTPStatus() != 429 {
		t.Errorf("429 in stream: %v (status %d)", e, e.HTTPStatus())
	}
	e = streamError(&googleError{Status: "UNAVAILABLE"})
	if e.Kind != apierror.UpstreamUnavailable || e.Message == "" {
		t.Errorf("status-only UNAVAILABLE in stream: %v", e)
	}
}

func TestVertexLocation(t *testing.T) {
	good := map[string]string{
		"https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1": "us-central1",
		"https://aiplatform.googleapis.com/v1/projects/p1/locations/global/":                 "global",
	}
	for in, want := range good {
		if got, err := VertexLocation(strings.TrimRight(in, "/")); err != nil || got != want {
			t.Errorf("VertexLocation(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{
		"https://us-central1-aiplatform.googleapis.com/v1",
		"https://us-central1-aiplatform.googleapis.com/v1/projects/p1",
		"https://x/v1/projects//locations/l",
	} {
		if _, err := NewVertex(provider.Config{BaseURL: bad}); err == nil {
			t.Errorf("NewVertex(%q) accepted a base URL without project and location", bad)
		}
	}
	if _, err := NewVertex(provider.Config{}); err == nil {
		t.Errorf("NewVertex accepted an empty base URL")
	}
}

func TestModelPath(t *testing.T) {
	s, _ := New(provider.Config{})
	if got := s.baseURL + s.modelPath("models/gemini-2.5-flash", "generateContent"); got != "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Errorf("Gemini API URL = %s", got)
	}
	v, _ := NewVertex(provider.Config{BaseURL: "https://europe-west4-aiplatform.googleapis.com/v1/projects/acme/locations/europe-west4"})
	if got := v.baseURL + v.modelPath("gemini-2.5-pro", "streamGenerateContent"); got != "https://europe-west4-aiplatform.googleapis.com/v1/projects/acme/locations/europe-west4/publishers/google/models/gemini-2.5-pro:streamGenerateContent" {
		t.Errorf("Vertex AI URL = %s", got)
	}
}
