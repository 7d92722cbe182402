package apptest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestBudgetExceededIsNotRetried: a call refused by a block limit reaches
// the official SDKs as a 403 budget_exceeded error, which their default
// retry policy (408, 409, 429 and 5xx) leaves alone: one attempt, one
// blocked record, for each SDK with its default retries.
func TestBudgetExceededIsNotRetried(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	req, _ := http.NewRequest("PUT", e.base+"/api/v1/limits/tiny", strings.NewReader(`{"match":{"use_case":"capped"},"tokens":10,"window":"day","mode":"block"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("put limit: %v %v", resp, err)
	}
	resp.Body.Close()

	oc := openai.NewClient(option.WithBaseURL(e.base+"/v1"), option.WithAPIKey("sk-unused"), option.WithHeader("x-weir-use-case", "capped"))
	_, err = oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openai/steady", Messages: userMsg("hello")})
	var oerr *openai.Error
	if !errors.As(err, &oerr) || oerr.StatusCode != 403 || oerr.Code != "budget_exceeded" {
		t.Errorf("openai-go error = %v", err)
	}
	ac := anthropic.NewClient(anthropicoption.WithBaseURL(e.base), anthropicoption.WithAPIKey("sk-unused"), anthropicoption.WithHeader("x-weir-use-case", "capped"))
	_, err = ac.Messages.New(ctx, messageParams("anthropic/steady"))
	var aerr *anthropic.Error
	if !errors.As(err, &aerr) || aerr.StatusCode != 403 || !strings.Contains(aerr.Error(), `limit \"tiny\" reached`) {
		t.Errorf("anthropic-sdk-go error = %v", err)
	}
	// Exactly two calls were made, both blocked and recorded.
	var page struct {
		Requests []struct {
			Status    int    `json:"status"`
			ErrorKind string `json:"error_kind"`
		}
	}
	for range 100 {
		getJSON(t, e.base+"/api/v1/requests?use_case=capped", &page)
		if len(page.Requests) >= 2 {
			break
		}
	}
	b, _ := json.Marshal(page)
	if len(page.Requests) != 2 || page.Requests[0].ErrorKind != "budget_exceeded" || page.Requests[1].Status != 403 {
		t.Errorf("records: %s", b)
	}
}
