package dashboard

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
)

// TestSpendPastADollar: summaries keep whole dollars apart from their
// femto-dollar remainder; every page must add both (a page reading only
// the remainder showed $0.50 for a $1,234.50 day).
func TestSpendPastADollar(t *testing.T) {
	e := newEnv(t, 0)
	cost := 1234*pricing.USD + pricing.USD/2
	rec := record.Record{ID: "big", ReceivedAt: now.Add(-time.Minute), Endpoint: record.EndpointChatCompletions,
		Provider: "openai", Model: "gpt-4o", Status: 200, CostUSD: &cost, Cost: &pricing.Cost{Total: cost}}
	rec.UseCase, rec.Team = "support-reply", "cx"
	if err := e.st.WriteRecords(context.Background(), []record.Record{rec}); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/ui/", "/ui/usecases", "/ui/usecases/support-reply", "/ui/costs", "/ui/settings"} {
		body := get(t, e, page, "admin-secret", http.StatusOK)
		if !strings.Contains(body, "1234.50") && !strings.Contains(body, "1,234.50") {
			t.Errorf("%s does not show $1234.50", page)
		}
	}
}

// TestUseCaseByStep: the use case page breaks its calls down by step.
func TestUseCaseByStep(t *testing.T) {
	e := newEnv(t, 0)
	var recs []record.Record
	for i, step := range []string{"classify", "classify", "draft-reply"} {
		cost := pricing.Money(i+1) * pricing.Micro
		r := record.Record{ID: "s" + step + string(rune('a'+i)), ReceivedAt: now.Add(-time.Duration(i+1) * time.Minute), Endpoint: record.EndpointChatCompletions,
			Provider: "openai", Model: "gpt-4o", Status: 200, E2EMs: 100, CostUSD: &cost, Cost: &pricing.Cost{Total: cost}}
		r.UseCase, r.UseCaseStep, r.Team = "support-reply", step, "cx"
		recs = append(recs, r)
	}
	if err := e.st.WriteRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	body := get(t, e, "/ui/usecases/support-reply", "admin-secret", http.StatusOK)
	i := strings.Index(body, `id="step-h"`)
	if i < 0 {
		t.Fatal("no By step section")
	}
	section := body[i:]
	if !strings.Contains(section, ">classify</a>") || !strings.Contains(section, ">draft-reply</a>") || !strings.Contains(section, "<td>2</td>") || !strings.Contains(section, "50.0%") {
		t.Errorf("By step section lacks the steps or their shares: %.1500s", section)
	}
}
