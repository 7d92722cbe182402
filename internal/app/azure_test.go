package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/record"
)

// TestAzureEndToEnd serves the app with Azure OpenAI providers (the
// deployments API with an api-key, the v1 API with an Entra ID token)
// against the simulator, and checks answers, records, costs (the
// deployment's configured model, at the azure sheet's price), the
// content-filter refusal and the deployments as the model list.
func TestAzureEndToEnd(t *testing.T) {
	const key = "azure-app-key-0123"
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 5, APIKey: key, Models: map[string]mock.Profile{
		"chat-prod": {ResponseModel: "gpt-4o-mini-2024-07-18", InputTokens: 1000, OutputTokens: 100},
	}}, nil))
	defer sim.Close()
	cfg := config.Default()
	deployments := map[string]string{"chat-prod": "gpt-4o-mini"}
	cfg.Providers = []config.Provider{
		{Name: "azure", Type: "azure", BaseURL: sim.URL, APIKey: config.NewSecret(key), Deployments: deployments},
		{Name: "azure-v1", Type: "azure", BaseURL: sim.URL, APIKey: config.NewSecret(key), APIVersion: "v1", Auth: "entra_id", Deployments: deployments},
	}
	srv := serveApp(t, cfg)

	post := func(body string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(raw)
	}
	recordOf := func(resp *http.Response) record.Record {
		t.Helper()
		var rec record.Record
		for range 100 { // the recorder writes in batches
			r, err := http.Get(srv.URL + "/api/v1/requests/" + resp.Header.Get("X-Weir-Request-Id"))
			if err != nil {
				t.Fatal(err)
			}
			err = json.NewDecoder(r.Body).Decode(&rec)
			r.Body.Close()
			if err == nil && r.StatusCode == 200 {
				return rec
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("no record")
		return rec
	}
	for _, name := range []string{"azure", "azure-v1"} {
		for _, stream := range []bool{false, true} {
			body := `{"model":"` + name + `/chat-prod","messages":[{"role":"user","content":"hi"}]`
			if stream {
				body += `,"stream":true`
			}
			resp, raw := post(body + "}")
			if resp.StatusCode != 200 || strings.Contains(raw, `"object":""`) {
				t.Fatalf("%s stream=%v: status %d: %s", name, stream, resp.StatusCode, raw)
			}
			rec := recordOf(resp)
			// gpt-4o-mini at the azure sheet (OpenAI's list): 1000 x 0.15 + 100 x 0.60 per million.
			if rec.ResponseModel != "gpt-4o-mini" || rec.Usage.InputTokens != 1000 || rec.CostUSD == nil || rec.CostUSD.Format(6) != "0.000210" {
				t.Errorf("%s stream=%v: record model %q usage %+v cost %v", name, stream, rec.ResponseModel, rec.Usage, rec.CostUSD)
			}
		}
		resp, raw := post(`{"model":"` + name + `/chat-prod","messages":[{"role":"user","content":"` + mock.AzureFilterPrompt + `"}]}`)
		if resp.StatusCode != 400 || !strings.Contains(raw, `"code":"content_filter"`) {
			t.Errorf("%s prompt filter: %d %s", name, resp.StatusCode, raw)
		}
		if rec := recordOf(resp); rec.ErrorKind != "invalid_request" || rec.CostUSD != nil {
			t.Errorf("%s prompt filter record: kind %q cost %v", name, rec.ErrorKind, rec.CostUSD)
		}
		resp, raw = post(`{"model":"` + name + `/chat-prod","stream":true,"messages":[{"role":"user","content":"` + mock.AzureFilterOutput + `"}]}`)
		if rec := recordOf(resp); resp.StatusCode != 200 || rec.FinishReason != "content_filter" {
			t.Errorf("%s output filter: %d finish %q: %s", name, resp.StatusCode, rec.FinishReason, raw)
		}
	}
	r, err := http.Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	models, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(models), `"azure/chat-prod"`) || !strings.Contains(string(models), `"azure-v1/chat-prod"`) {
		t.Errorf("GET /v1/models: %s", models)
	}
}
