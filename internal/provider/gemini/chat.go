package gemini

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/usage"
)

// now is the clock for the "created" field; tests replace it.
var now = time.Now

// newCallID returns a tool call id for a function call Gemini gave none;
// tests replace it.
var newCallID = func() string {
	var b [12]byte
	rand.Read(b[:])
	return "call_" + hex.EncodeToString(b[:])
}

// ChatCompletion serves an OpenAI chat completions request by translating it
// to generateContent (or streamGenerateContent with alt=sse) and the answer
// back.
func (p *Provider) ChatCompletion(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	body, err := TranslateRequest(req.Body, req.Model)
	if err != nil {
		return nil, err
	}
	path := p.modelPath(req.Model, "generateContent")
	if req.Stream {
		path = p.modelPath(req.Model, "streamGenerateContent") + "?alt=sse"
	}
	resp, cancel, err := p.call(ctx, path, body, req)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{Status: resp.StatusCode, Header: upstream.RelayHeader(resp.Header)}
	if req.Stream {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			raw, _ := upstream.ReadBody(ctx, resp, req.Wait)
			cancel(nil)
			return nil, apierror.New(apierror.UpstreamBadResponse, "the provider answered a streaming request with %q instead of an event stream: %.200s", ct, raw)
		}
		rd := upstream.NewBodyReader(resp.Body, req.Wait, p.idle, cancel)
		out.Stream = newChatStream(ctx, rd, req.Model, req.IncludeUsage)
		return out, nil
	}
	defer cancel(nil)
	raw, err := upstream.ReadBody(ctx, resp, req.Wait)
	if err != nil {
		return nil, err
	}
	r, err := parseResponse(raw)
	if err != nil {
		return nil, err
	}
	if r.UsageMetadata != nil {
		out.Usage, out.HasUsage = r.UsageMetadata.normalise(), true
	}
	out.ResponseModel = r.model(req.Model)
	out.RequestID = r.ResponseID
	var c *chatCompletion
	c, out.Text = translateResponse(r, out.ResponseModel, now())
	if out.HasUsage {
		c.Usage = openAIUsage(out.Usage)
	}
	out.Body = encode(c)
	if len(c.Choices) > 0 {
		out.FinishReason = c.Choices[0].FinishReason
	}
	return out, nil
}

// response is a GenerateContentResponse, or one chunk of a stream.
type response struct {
	Candidates     []candidate     `json:"candidates"`
	PromptFeedback *promptFeedback `json:"promptFeedback"`
	UsageMetadata  *usageMetadata  `json:"usageMetadata"`
	ModelVersion   string          `json:"modelVersion"`
	ResponseID     string          `json:"responseId"`
	// Error is set in a stream chunk that reports an error.
	Error *googleError `json:"error"`
}

type candidate struct {
	Content *struct {
		Parts []part `json:"parts"`
	} `json:"content"`
	FinishReason string `json:"finishReason"`
	Index        int    `json:"index"`
}

type promptFeedback struct {
	BlockReason string `json:"blockReason"`
}

// model is the model that answered: modelVersion, else the one asked for.
func (r *response) model(asked string) string {
	if r.ModelVersion != "" {
		return r.ModelVersion
	}
	return strings.TrimPrefix(asked, "models/")
}

func parseResponse(body []byte) (*response, error) {
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a response that is not valid GenerateContentResponse JSON")
	}
	return &r, nil
}

// usageMetadata is Gemini's usage report. promptTokenCount includes the
// cached tokens; candidatesTokenCount excludes the thoughts, which are
// counted (and billed as output) apart; toolUsePromptTokenCount counts the
// results of built-in tools fed back to the model, billed as input.
type usageMetadata struct {
	PromptTokenCount        int64           `json:"promptTokenCount"`
	CachedContentTokenCount int64           `json:"cachedContentTokenCount"`
	CandidatesTokenCount    int64           `json:"candidatesTokenCount"`
	ThoughtsTokenCount      int64           `json:"thoughtsTokenCount"`
	ToolUsePromptTokenCount int64           `json:"toolUsePromptTokenCount"`
	TotalTokenCount         int64           `json:"totalTokenCount"`
	PromptTokensDetails     []modalityCount `json:"promptTokensDetails"`
	CandidatesTokensDetails []modalityCount `json:"candidatesTokensDetails"`
}

type modalityCount struct {
	Modality   string `json:"modality"`
	TokenCount int64  `json:"tokenCount"`
}

func modality(ds []modalityCount, m string) int64 {
	var n int64
	for _, d := range ds {
		if d.Modality == m {
			n += d.TokenCount
		}
	}
	return n
}

// normalise maps Gemini's usage into Weir's taxonomy.
func (u *usageMetadata) normalise() usage.Usage {
	return usage.Usage{
		InputTokens:       u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CacheReadTokens:   u.CachedContentTokenCount,
		OutputTokens:      u.CandidatesTokenCount + u.ThoughtsTokenCount,
		ReasoningTokens:   u.ThoughtsTokenCount,
		InputAudioTokens:  modality(u.PromptTokensDetails, "AUDIO"),
		InputImageTokens:  modality(u.PromptTokensDetails, "IMAGE"),
		OutputAudioTokens: modality(u.CandidatesTokensDetails, "AUDIO"),
		OutputImageTokens: modality(u.CandidatesTokensDetails, "IMAGE"),
	}
}

// FromGemini normalises one usageMetadata object.
func FromGemini(raw []byte) (usage.Usage, error) {
	var u usageMetadata
	if err := json.Unmarshal(raw, &u); err != nil {
		return usage.Usage{}, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a malformed usageMetadata object")
	}
	return u.normalise(), nil
}

// FinishReason maps a Gemini finishReason to an OpenAI finish_reason; tool
// is whether the candidate called a function.
func FinishReason(reason string, tool bool) string {
	switch reason {
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return "content_filter"
	}
	if tool {
		return "tool_calls"
	}
	return "stop" // STOP, OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, ...
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             *chatUsage   `json:"usage,omitempty"`
	SystemFingerprint *string      `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      chatOutMessage `json:"message"`
	FinishReason string         `json:"finish_reason"`
	Logprobs     *struct{}      `json:"logprobs"`
}

type chatOutMessage struct {
	Role             string        `json:"role"`
	Content          *string       `json:"content"`
	ReasoningContent string        `json:"reasoning_content,omitempty"`
	ToolCalls        []outToolCall `json:"tool_calls,omitempty"`
	Refusal          *string       `json:"refusal"`
}

type outToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// openAIUsage renders normalised usage the OpenAI way.
func openAIUsage(u usage.Usage) *chatUsage {
	c := &chatUsage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.Total()}
	c.PromptTokensDetails.CachedTokens = u.CacheReadTokens
	c.CompletionTokensDetails.ReasoningTokens = u.ReasoningTokens
	return c
}

// toolCall renders a function call as an OpenAI tool call.
func toolCall(fc *functionCall, signature string) outToolCall {
	tc := outToolCall{ID: fc.ID, Type: "function"}
	if tc.ID == "" {
		tc.ID = newCallID()
	}
	if signature != "" {
		tc.ID += thoughtMarker + signature
	}
	tc.Function.Name = fc.Name
	tc.Function.Arguments = "{}"
	if isJSONValue(fc.Args) {
		var buf bytes.Buffer
		if json.Compact(&buf, fc.Args) == nil {
			tc.Function.Arguments = buf.String()
		}
	}
	return tc
}

// TranslateResponse turns a GenerateContentResponse body into an OpenAI
// chat.completion body; model is the model asked for, used when the
// response names none, and created is t.
func TranslateResponse(body []byte, model string, t time.Time) ([]byte, error) {
	r, err := parseResponse(body)
	if err != nil {
		return nil, err
	}
	c, _ := translateResponse(r, r.model(model), t)
	if r.UsageMetadata != nil {
		c.Usage = openAIUsage(r.UsageMetadata.normalise())
	}
	return encode(c), nil
}

// translateResponse builds the chat completion (without usage) and returns
// it with the generated text, for token estimation.
func translateResponse(r *response, model string, t time.Time) (*chatCompletion, string) {
	c := &chatCompletion{ID: r.ResponseID, Object: "chat.completion", Created: t.Unix(), Model: model, Choices: []chatChoice{}}
	if c.ID == "" {
		c.ID = "chatcmpl-" + strings.TrimPrefix(newCallID(), "call_")
	}
	var all strings.Builder
	for i := range r.Candidates {
		cand := &r.Candidates[i]
		msg := chatOutMessage{Role: "assistant"}
		var text, reasoning strings.Builder
		if cand.Content != nil {
			for j := range cand.Content.Parts {
				pt := &cand.Content.Parts[j]
				switch {
				case pt.FunctionCall != nil:
					tc := toolCall(pt.FunctionCall, pt.ThoughtSignature)
					msg.ToolCalls = append(msg.ToolCalls, tc)
					all.WriteString(tc.Function.Name)
					all.WriteString(tc.Function.Arguments)
				case pt.Thought:
					reasoning.WriteString(pt.Text)
				default:
					text.WriteString(pt.Text)
				}
			}
		}
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			s := text.String()
			msg.Content = &s
		}
		msg.ReasoningContent = reasoning.String()
		all.WriteString(reasoning.String())
		all.WriteString(text.String())
		c.Choices = append(c.Choices, chatChoice{Index: cand.Index, Message: msg, FinishReason: FinishReason(cand.FinishReason, len(msg.ToolCalls) > 0)})
	}
	if len(c.Choices) == 0 && r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
		// The prompt was blocked: no candidate at all.
		empty := ""
		c.Choices = append(c.Choices, chatChoice{Message: chatOutMessage{Role: "assistant", Content: &empty}, FinishReason: "content_filter"})
	}
	return c, all.String()
}

func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // cannot fail: plain structs of strings and numbers
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }
