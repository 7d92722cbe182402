package judge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// UseCase is the use case a judge's calls are attributed to.
const UseCase = "evaluation"

// Completion is one judge call: the model, its temperature and the two
// messages.
type Completion struct {
	Model       string
	Temperature float64
	System      string
	User        string
	// Step names the judge version, for attribution ("judge:tone@3").
	Step string
	// ResponseFormat, when set, is the OpenAI response_format asked for:
	// the judgement's JSON schema (evaluator.JudgeResponseFormat), which
	// models with structured output then keep to.
	ResponseFormat map[string]any
}

// Gateway asks a model for one reply. HTTPGateway asks Weir's own gateway;
// tests use a fake.
type Gateway interface {
	Complete(ctx context.Context, c Completion) (string, error)
}

// HTTPGateway calls an OpenAI-compatible chat completions endpoint (Weir's
// own gateway) at BaseURL, attributed to the evaluation use case.
type HTTPGateway struct {
	// BaseURL is the gateway's root, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Key, when set, is sent as a bearer token.
	Key    string
	Client *http.Client
}

var _ Gateway = (*HTTPGateway)(nil)

// maxGatewayReply bounds the response body read.
const maxGatewayReply = 4 << 20

// Complete posts the chat completion and returns the first choice's text.
func (g *HTTPGateway) Complete(ctx context.Context, c Completion) (string, error) {
	msg := map[string]any{
		"model":       c.Model,
		"temperature": c.Temperature,
		"messages": []map[string]string{
			{"role": "system", "content": c.System},
			{"role": "user", "content": c.User},
		},
	}
	if c.ResponseFormat != nil {
		msg["response_format"] = c.ResponseFormat
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return "", fmt.Errorf("judge call: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(g.BaseURL, "/")+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("judge call: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Weir-Use-Case", UseCase)
	if c.Step != "" {
		req.Header.Set("X-Weir-Use-Case-Step", c.Step)
	}
	if g.Key != "" {
		req.Header.Set("Authorization", "Bearer "+g.Key)
	}
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("judge call: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxGatewayReply))
	if err != nil {
		return "", fmt.Errorf("judge call: read the reply: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		msg := string(raw)
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return "", fmt.Errorf("judge call: status %d: %s", resp.StatusCode, msg)
	}
	return ReplyText(raw)
}

// ReplyText returns the first choice's message text of an OpenAI chat
// completion (string content, or its text parts joined).
func ReplyText(raw []byte) (string, error) {
	var r struct {
		Choices []struct {
			Message struct {
				Content json.RawMessage `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", fmt.Errorf("judge call: the reply is not a chat completion: %w", err)
	}
	if len(r.Choices) == 0 {
		return "", errors.New("judge call: the reply has no choices")
	}
	content := r.Choices[0].Message.Content
	if len(content) == 0 || string(content) == "null" {
		return "", errors.New("judge call: the reply has no text")
	}
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(content, &parts); err != nil {
		return "", errors.New("judge call: the reply's content is neither text nor parts")
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			sb.WriteString(p.Text)
		}
	}
	return sb.String(), nil
}

// LocalBaseURL is the base URL at which a process listening on listen
// (host:port, as config's listen) reaches its own gateway: an unspecified
// host (empty, 0.0.0.0, ::) becomes loopback.
func LocalBaseURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
