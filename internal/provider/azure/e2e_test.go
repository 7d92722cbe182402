package azure_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weirhq/weir/internal/costing"
	"github.com/weirhq/weir/internal/gateway"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/azure"
	"github.com/weirhq/weir/internal/record"
)

// records keeps the records the gateway finishes.
type records struct {
	mu  sync.Mutex
	all []record.Record
}

func (r *records) Begin(*record.Record) error { return nil }
func (r *records) Finish(rec *record.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, *rec)
	return nil
}

func (r *records) last(t *testing.T) record.Record {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.all) == 0 {
		t.Fatal("no record")
	}
	return r.all[len(r.all)-1]
}

// TestGateway drives the gateway (as the app builds it, with the real price
// catalog) against the simulator speaking Azure: calls to deployments are
// relayed, recorded and priced as the underlying model under "azure";
// content-filter refusals and cut answers reach the caller as Azure sent
// them and are recorded distinctly. When app.go registers the type, the
// same belongs in internal/app's end-to-end tests.
func TestGateway(t *testing.T) {
	const key = "azure-e2e-key-0123"
	sim := mock.New(mock.Config{Seed: 3, APIKey: key, Models: map[string]mock.Profile{
		// Deployments are named freely; the answers name the model, the
		// configuration maps the deployment to the model it prices.
		"chat-prod": {ResponseModel: "gpt-4o-mini-2024-07-18", InputTokens: 1000, OutputTokens: 100},
		"embed":     {Type: mock.TypeEmbedding, Dimensions: 4},
	}}, nil)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })

	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	recs := &records{}
	for _, api := range []string{"", azure.APIVersionV1} {
		t.Run("api_version="+api, func(t *testing.T) {
			ad, err := azure.New(provider.Config{Name: "az", BaseURL: srv.URL, APIKey: key, Client: srv.Client(),
				Azure: &provider.Azure{APIVersion: api, Deployments: map[string]string{"chat-prod": "gpt-4o-mini", "embed": "text-embedding-3-small"}}})
			if err != nil {
				t.Fatal(err)
			}
			g := gateway.New(gateway.Options{
				Router:   gateway.NewRouter([]*gateway.Upstream{{Name: "az", Type: "azure", Adapter: ad, PriceAs: "azure"}}, nil),
				Recorder: recs, Pricer: costing.NewEngine(cat, nil, nil), MaxBodyBytes: 1 << 20,
			})
			mux := http.NewServeMux()
			g.Register(mux)
			gw := httptest.NewServer(mux)
			defer gw.Close()
			call := func(path, body string) (int, string) {
				t.Helper()
				resp, err := http.Post(gw.URL+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				g.Wait(t.Context())
				return resp.StatusCode, string(b)
			}

			// gpt-4o-mini at Azure's global price (OpenAI's): 1000 x 0.15 +
			// 100 x 0.60 per million tokens.
			const wantCost = "0.000210"
			status, body := call("/v1/chat/completions", `{"model":"az/chat-prod","messages":[{"role":"user","content":"hi"}]}`)
			rec := recs.last(t)
			if status != 200 || rec.ResponseModel != "gpt-4o-mini" || rec.CostUSD == nil || rec.CostUSD.String() != wantCost || rec.FinishReason != "stop" {
				t.Errorf("chat: %d %s\nrecord: model %q cost %v finish %q", status, body, rec.ResponseModel, rec.CostUSD, rec.FinishReason)
			}

			status, body = call("/v1/chat/completions", `{"model":"az/chat-prod","stream":true,"messages":[{"role":"user","content":"`+mock.AzureFilterOutput+`"}]}`)
			rec = recs.last(t)
			if status != 200 || strings.Contains(body, "prompt_filter_results") || !strings.Contains(body, `"finish_reason":"content_filter"`) || !strings.HasSuffix(body, "data: [DONE]\n\n") {
				t.Errorf("stream: %d\n%s", status, body)
			}
			if rec.FinishReason != provider.FinishContentFilter || rec.CostUSD == nil || rec.CostUSD.String() != wantCost || rec.ResponseModel != "gpt-4o-mini" {
				t.Errorf("stream record: finish %q cost %v model %q", rec.FinishReason, rec.CostUSD, rec.ResponseModel)
			}

			status, body = call("/v1/chat/completions", `{"model":"az/chat-prod","messages":[{"role":"user","content":"`+mock.AzureFilterPrompt+`"}]}`)
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			json.Unmarshal([]byte(body), &e)
			rec = recs.last(t)
			if status != 400 || e.Error.Code != provider.CodeContentFilter || !strings.Contains(e.Error.Message, "content management policy") || rec.ErrorKind != "invalid_request" {
				t.Errorf("prompt filter: %d %s; record kind %q", status, body, rec.ErrorKind)
			}

			status, body = call("/v1/embeddings", `{"model":"az/embed","input":"hello"}`)
			rec = recs.last(t)
			// The answer names the deployment; the configured model prices it.
			if status != 200 || rec.ResponseModel != "text-embedding-3-small" || rec.Usage.InputTokens == 0 || rec.CostUSD == nil || rec.CostUSD.Dollars() <= 0 {
				t.Errorf("embeddings: %d %s; record %+v", status, body, rec)
			}
		})
	}
}
