// Package demo generates sample traffic for `weir demo`: a few use cases
// with instances and steps, spread over the simulated OpenAI and Anthropic
// models, streamed and not, so that every figure Weir records has data
// behind it. It talks to the gateway over plain HTTP like any client. Only
// cmd/weir imports it.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// step is one kind of call a use case makes.
type step struct {
	name   string
	path   string // /v1/chat/completions, /v1/messages, /v1/embeddings
	model  string
	stream bool
	body   string // %s is replaced by the JSON model name and then the prompt
}

type useCase struct {
	name, team, prefix string
	steps              []step
	users              []string
}

const (
	chatBody     = `{"model":%q,"stream":%t,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":%q}]}`
	messagesBody = `{"model":%q,"stream":%t,"max_tokens":512,"messages":[{"role":"user","content":%q}]}`
	embedBody    = `{"model":%q,"input":%q}`
)

var useCases = []useCase{
	{name: "support-triage", team: "support", prefix: "ticket", users: []string{"ana", "ben", "chen"}, steps: []step{
		{name: "classify", path: "/v1/chat/completions", model: "openai/gpt-4o-mini", body: chatBody},
		{name: "search-kb", path: "/v1/embeddings", model: "openai/text-embedding-3-small", body: embedBody},
		{name: "draft-reply", path: "/v1/chat/completions", model: "openai/gpt-4o-mini", stream: true, body: chatBody},
	}},
	{name: "lead-qualification", team: "sales", prefix: "lead", users: []string{"dana", "eli"}, steps: []step{
		{name: "enrich", path: "/v1/messages", model: "anthropic/claude-haiku-4-5", body: messagesBody},
		{name: "score", path: "/v1/messages", model: "anthropic/claude-sonnet-4-5", stream: true, body: messagesBody},
	}},
	{name: "contract-review", team: "legal", prefix: "contract", users: []string{"fay"}, steps: []step{
		{name: "extract", path: "/v1/chat/completions", model: "openai/gpt-4.1", body: chatBody},
		{name: "assess-risk", path: "/v1/chat/completions", model: "openai/o4-mini", stream: true, body: chatBody},
		{name: "summarise", path: "/v1/chat/completions", model: "anthropic/claude-sonnet-4-5", stream: true, body: chatBody},
	}},
}

var prompts = []string{
	"My invoice shows a charge I do not recognise. Can you explain it?",
	"Summarise the termination clause and flag anything unusual.",
	"Is this company a good fit for our enterprise plan? 450 employees, fintech, EU.",
	"The export to CSV fails with a timeout on large reports.",
	"Draft a short, friendly reply confirming the refund.",
}

// Run sends one use-case instance after another to baseURL, about rate
// instances per second, until ctx is done. Each instance makes its use
// case's steps in order with the same instance id.
func Run(ctx context.Context, baseURL string, rate float64, log *slog.Logger) {
	rng := rand.New(rand.NewPCG(1, 2))
	client := &http.Client{Timeout: 2 * time.Minute}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		uc := useCases[rng.IntN(len(useCases))]
		instance := fmt.Sprintf("%s-%d", uc.prefix, 1000+n)
		user := uc.users[rng.IntN(len(uc.users))]
		prompt := prompts[rng.IntN(len(prompts))]
		go func() {
			// In-flight instances finish even when the demo stops: the
			// gateway drains them before it exits.
			ctx := context.WithoutCancel(ctx)
			for _, s := range uc.steps {
				if err := send(ctx, client, baseURL, uc, s, instance, user, prompt); err != nil {
					log.Debug("demo call", "use_case", uc.name, "step", s.name, "err", err)
				}
			}
		}()
	}
}

func send(ctx context.Context, client *http.Client, baseURL string, uc useCase, s step, instance, user, prompt string) error {
	var body string
	if s.path == "/v1/embeddings" {
		body = fmt.Sprintf(s.body, s.model, prompt)
	} else {
		body = fmt.Sprintf(s.body, s.model, s.stream, prompt)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+s.path, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.path == "/v1/messages" {
		req.Header.Set("anthropic-version", "2023-06-01")
	}
	req.Header.Set("x-weir-use-case", uc.name)
	req.Header.Set("x-weir-use-case-instance", instance)
	req.Header.Set("x-weir-use-case-version", "1")
	req.Header.Set("x-weir-use-case-step", s.name)
	req.Header.Set("x-weir-team", uc.team)
	req.Header.Set("x-weir-user", user)
	req.Header.Set("x-weir-tags", "demo")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
