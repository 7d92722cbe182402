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
