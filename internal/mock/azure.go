package mock

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Azure OpenAI: the OpenAI wire format under Azure's paths, keys and
// content-filter annotations.
//
//	POST /openai/deployments/{deployment}/chat/completions?api-version=...
//	POST /openai/deployments/{deployment}/embeddings?api-version=...
//	POST /openai/v1/chat/completions, /openai/v1/embeddings (the v1 API)
//	GET  /openai/v1/models, GET /openai/models?api-version=...
//
// A deployment is served by the model of the same name. Prompts that
// contain AzureFilterPrompt are refused as Azure's content filter refuses
// them (400, code content_filter); answers to prompts that contain
// AzureFilterOutput end with finish_reason content_filter.

// The prompt markers that trigger the simulated content filter.
const (
	AzureFilterPrompt = "weir-mock:content_filter_prompt"
	AzureFilterOutput = "weir-mock:content_filter_output"
)

// azurePrefix starts every Azure path.
const azurePrefix = "/openai/"

// azureSafe is a content_filter_results object that filtered nothing.
const azureSafe = `{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`

// azurePromptFilter is the prompt_filter_results of an admitted prompt.
const azurePromptFilter = `"prompt_filter_results":[{"prompt_index":0,"content_filter_results":` + azureSafe + `}]`

// azureFilterError is Azure's answer to a filtered prompt.
const azureFilterError = `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"high"}}}}}`

// serveAzure handles a path under /openai/.
func (x *exchange) serveAzure(path string) {
	rest := strings.TrimPrefix(path, azurePrefix)
	var deployment, op string
	switch {
	case strings.HasPrefix(rest, "v1/"):
		op = strings.TrimPrefix(rest, "v1/")
	case strings.HasPrefix(rest, "deployments/"):
		d, o, ok := strings.Cut(strings.TrimPrefix(rest, "deployments/"), "/")
		if !ok || d == "" {
			x.azureFail(http.StatusNotFound, "404", "Resource not found")
			return
		}
		deployment, op = d, o
	default:
		op = rest
	}
	if x.r.URL.Query().Get("api-version") == "" && !strings.HasPrefix(rest, "v1/") {
		x.azureFail(http.StatusNotFound, "404", "Resource not found")
		return
	}
	switch op {
	case "chat/completions", "embeddings":
	case "models":
		if deployment == "" {
			if x.method(http.MethodGet) && x.azureAuthorize() {
				x.listModels()
			}
			return
		}
		fallthrough
	default:
		x.azureFail(http.StatusNotFound, "404", "Resource not found")
		return
	}
	if !x.method(http.MethodPost) || !x.azureAuthorize() {
		return
	}
	body, ok := x.body()
	if !ok {
		return
	}
	if deployment != "" {
		if x.s.models[deployment] == nil {
			x.azureFail(http.StatusNotFound, "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.")
			return
		}
		// The deployment, not the body, names the model.
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil && fields != nil {
			fields["model"], _ = json.Marshal(deployment)
			body, _ = json.Marshal(fields)
		}
	}
	aw := &azureWriter{ResponseWriter: x.w, chat: op == "chat/completions", id: x.requestID()}
	x.w = aw
	defer aw.finish()
	if op == "embeddings" {
		x.embeddings(body)
		return
	}
	if bytes.Contains(body, []byte(AzureFilterPrompt)) {
		x.commonHeaders()
		x.writeBody(http.StatusBadRequest, []byte(azureFilterError+"\n"))
		return
	}
	aw.filterOutput = bytes.Contains(body, []byte(AzureFilterOutput))
	x.chat(body)
}

// azureAuthorize checks the api-key header, or a bearer token as Entra ID
// callers send it, against the configured key.
func (x *exchange) azureAuthorize() bool {
	key := x.s.apiKey
	if key == "" {
		return true
	}
	got := x.r.Header.Get("api-key")
	if got == "" {
		if tok, ok := strings.CutPrefix(x.r.Header.Get("Authorization"), "Bearer "); ok {
			if subtle.ConstantTimeCompare([]byte(tok), []byte(key)) == 1 {
				return true
			}
			x.azureFail(http.StatusUnauthorized, "401", "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.")
			return false
		}
	}
	if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(key)) == 1 {
		return true
	}
	x.azureFail(http.StatusUnauthorized, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
	return false
}

// azureFail answers in Azure's own error shape, {"error":{"code","message"}}.
func (x *exchange) azureFail(status int, code, msg string) {
	b, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": msg}})
	x.w.Header()["Apim-Request-Id"] = []string{x.requestID()}
	x.writeBody(status, append(b, '\n'))
}

// azureWriter turns the OpenAI answers the exchange writes into Azure's:
// Azure's request-id and region headers, prompt_filter_results in chat
// answers (first in a stream, as its own chunk without choices), and, when
// asked, finish_reason content_filter instead of stop.
type azureWriter struct {
	http.ResponseWriter
	chat, filterOutput bool
	id                 string

	status  int  // WriteHeader's, held back until the first Write
	headed  bool // headers sent
	stream  bool
	started bool // the stream's prelude was sent
}

func (w *azureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *azureWriter) WriteHeader(status int) {
	h := w.Header()
	h["Apim-Request-Id"] = []string{w.id}
	h["X-Ms-Region"] = []string{"Weir Mock"}
	w.status = status
	w.stream = strings.HasPrefix(h.Get("Content-Type"), "text/event-stream")
	if w.stream || status != http.StatusOK || !w.chat {
		w.headed = true
		w.ResponseWriter.WriteHeader(status)
	}
}

var (
	finishStop   = []byte(`"finish_reason":"stop"`)
	finishFilter = []byte(`"finish_reason":"content_filter"`)
)

func (w *azureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n := len(b)
	if !w.chat || w.status != http.StatusOK {
		return w.ResponseWriter.Write(b)
	}
	if w.filterOutput {
		b = bytes.ReplaceAll(b, finishStop, finishFilter)
	}
	if w.stream {
		if !w.started {
			w.started = true
			prelude := `data: {"choices":[],"created":0,"id":"","model":"","object":"",` + azurePromptFilter + "}\n\n"
			if _, err := w.ResponseWriter.Write([]byte(prelude)); err != nil {
				return 0, err
			}
		}
		_, err := w.ResponseWriter.Write(b)
		return n, err
	}
	// A JSON answer, written at once (or its first part, when the exchange
	// cuts it): annotate it and keep its announced length consistent.
	grew := len(b) - n
	if i := bytes.IndexByte(b, '{'); i >= 0 && !w.headed {
		out := make([]byte, 0, len(b)+len(azurePromptFilter)+1)
		out = append(out, b[:i+1]...)
		out = append(out, azurePromptFilter...)
		out = append(out, ',')
		b = append(out, b[i+1:]...)
		grew += len(azurePromptFilter) + 1
	}
	if !w.headed {
		w.headed = true
		if cl, err := strconv.Atoi(w.Header().Get("Content-Length")); err == nil {
			w.Header()["Content-Length"] = []string{strconv.Itoa(cl + grew)}
		}
		w.ResponseWriter.WriteHeader(w.status)
	}
	_, err := w.ResponseWriter.Write(b)
	return n, err
}

// Flush sends held-back headers, then flushes.
func (w *azureWriter) Flush() {
	w.finish()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// finish sends held-back headers of an answer that wrote no body.
func (w *azureWriter) finish() {
	if w.status != 0 && !w.headed {
		w.headed = true
		w.ResponseWriter.WriteHeader(w.status)
	}
}
