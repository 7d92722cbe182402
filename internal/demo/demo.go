// Package demo generates sample traffic for `weir demo`: a few use cases
// with instances and steps, spread over the simulated OpenAI and Anthropic
// models, streamed and not, so that every figure Weir records has data
// behind it. It talks to the gateway over plain HTTP like any client. Only
// cmd/weir imports it.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
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
	// definition is the use case as PUT to /api/v1/use-cases/{name}.
	definition string
	// outcomes draws an instance's KPI results: KPI name to JSON value.
	outcomes func(rng *rand.Rand, version string) map[string]string
}

// v2After is the number of instances after which support-triage moves to
// version 2 (a prompt that resolves a little more often).
const v2After = 40

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
	},
		definition: `{"description":"Classify a ticket, search the knowledge base, draft a reply","business_owner":"head-of-support@example.com",
			"technical_owner":"ml-platform@example.com","kpis":[
			{"name":"resolved","type":"boolean","goal":0.7,"direction":"higher","value":[{"usd_per_unit":4.20,"minutes_per_unit":6,"note":"an agent's handling cost"}]},
			{"name":"csat","type":"likert5","goal":4.2,"direction":"higher"}]}`,
		outcomes: func(rng *rand.Rand, version string) map[string]string {
			p := 0.68
			if version == "2" {
				p = 0.78
			}
			return map[string]string{"resolved": fmt.Sprint(rng.Float64() < p), "csat": fmt.Sprint(3 + rng.IntN(3))}
		}},
	{name: "lead-qualification", team: "sales", prefix: "lead", users: []string{"dana", "eli"}, steps: []step{
		{name: "enrich", path: "/v1/messages", model: "anthropic/claude-haiku-4-5", body: messagesBody},
		{name: "score", path: "/v1/messages", model: "anthropic/claude-sonnet-4-5", stream: true, body: messagesBody},
	},
		definition: `{"description":"Enrich and score inbound leads","business_owner":"sales-ops@example.com","technical_owner":"ml-platform@example.com",
			"kpis":[{"name":"qualified","type":"boolean","goal":0.25,"direction":"higher","value":[{"usd_per_unit":35,"note":"pipeline value of a qualified lead"}]}]}`,
		outcomes: func(rng *rand.Rand, _ string) map[string]string {
			return map[string]string{"qualified": fmt.Sprint(rng.Float64() < 0.3)}
		}},
	{name: "contract-review", team: "legal", prefix: "contract", users: []string{"fay"}, steps: []step{
		{name: "extract", path: "/v1/chat/completions", model: "openai/gpt-4.1", body: chatBody},
		{name: "assess-risk", path: "/v1/chat/completions", model: "openai/o4-mini", stream: true, body: chatBody},
		{name: "summarise", path: "/v1/chat/completions", model: "anthropic/claude-sonnet-4-5", stream: true, body: chatBody},
	},
		definition: `{"description":"First-pass review of supplier contracts","business_owner":"general-counsel@example.com","technical_owner":"ml-platform@example.com",
			"kpis":[{"name":"review_accepted","type":"boolean","goal":0.8,"direction":"higher","value":[{"usd_per_unit":60,"minutes_per_unit":45,"note":"a paralegal's first pass"}]}]}`,
		outcomes: func(rng *rand.Rand, _ string) map[string]string {
			return map[string]string{"review_accepted": fmt.Sprint(rng.Float64() < 0.85)}
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
// case's steps in order with the same instance id. token is a management
// token of an admin: the demo defines its use cases' owners, the use
// cases and limits through the management API first.
func Run(ctx context.Context, baseURL, token string, rate float64, log *slog.Logger) {
	rng := rand.New(rand.NewPCG(1, 2))
	client := &http.Client{Timeout: 2 * time.Minute, Transport: bearer{token: token, next: http.DefaultTransport}}
	owners := map[string]bool{}
	for _, uc := range useCases {
		var def struct {
			Business  string `json:"business_owner"`
			Technical string `json:"technical_owner"`
		}
		if err := json.Unmarshal([]byte(uc.definition), &def); err != nil {
			log.Error("demo use case definition", "use_case", uc.name, "err", err)
			return
		}
		owners[def.Business], owners[def.Technical] = true, true
	}
	for owner := range owners {
		// Owners are people in Weir (without a password: they would sign
		// in through single sign-on).
		if err := put(ctx, client, baseURL+"/api/v1/people/"+owner, `{"role":"owner"}`); err != nil {
			log.Error("demo owner", "person", owner, "err", err)
			return
		}
	}
	for _, uc := range useCases {
		if err := put(ctx, client, baseURL+"/api/v1/use-cases/"+uc.name, uc.definition); err != nil {
			log.Warn("demo: define use case", "use_case", uc.name, "err", err)
		}
	}
	// A daily spend limit per team, warning only, so GET /api/v1/limits has
	// states to show; and one that blocks a runaway contract review.
	for name, def := range map[string]string{
		"team-daily":      `{"per":"team","usd":0.50,"window":"day","mode":"warn","threshold":0.8}`,
		"contract-review": `{"match":{"use_case":"contract-review"},"per":"instance","usd":0.05,"window":"lifetime","mode":"block"}`,
	} {
		if err := put(ctx, client, baseURL+"/api/v1/limits/"+name, def); err != nil {
			log.Warn("demo: define limit", "limit", name, "err", err)
		}
	}
	version := "1"
	started := 0
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
		v := "1"
		if uc.name == "support-triage" {
			if started++; started == v2After {
				if err := post(ctx, client, baseURL+"/api/v1/use-cases/support-triage/versions", `{"version":"2","note":"reply prompt with the customer's plan"}`); err != nil {
					log.Warn("demo: new version", "err", err)
				}
				version = "2"
			}
			v = version
		}
		outcomes := uc.outcomes(rng, v)
		go func() {
			// In-flight instances finish even when the demo stops: the
			// gateway drains them before it exits.
			ctx := context.WithoutCancel(ctx)
			for _, s := range uc.steps {
				if err := send(ctx, client, baseURL, uc, s, instance, user, prompt, v); err != nil {
					log.Debug("demo call", "use_case", uc.name, "step", s.name, "err", err)
				}
			}
			// The outcome, as the ticketing or CRM system would report it.
			for kpi, val := range outcomes {
				url := fmt.Sprintf("%s/api/v1/use-cases/%s/instances/%s/kpis/%s", baseURL, uc.name, instance, kpi)
				if err := put(ctx, client, url, `{"value":`+val+`}`); err != nil {
					log.Debug("demo KPI", "use_case", uc.name, "kpi", kpi, "err", err)
				}
			}
		}()
	}
}

func put(ctx context.Context, client *http.Client, url, body string) error {
	return do(ctx, client, http.MethodPut, url, body)
}

func post(ctx context.Context, client *http.Client, url, body string) error {
	return do(ctx, client, http.MethodPost, url, body)
}

func do(ctx context.Context, client *http.Client, method, url, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return nil
}

func send(ctx context.Context, client *http.Client, baseURL string, uc useCase, s step, instance, user, prompt, version string) error {
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
	req.Header.Set("x-weir-use-case-version", version)
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

// bearer adds a management token to the requests for the management API.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.token == "" || !strings.HasPrefix(r.URL.Path, "/api/") {
		return b.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
