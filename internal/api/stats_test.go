package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

type anyRollups struct{}

func (anyRollups) Rollup(context.Context, store.RollupQuery) ([]store.RollupRow, error) {
	return nil, nil
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var recs []record.Record
	for i := range 40 {
		ttft := float64(100 + i)
		cost := pricing.Money(i) * pricing.Micro
		r := record.Record{ID: "s" + string(rune('A'+i)), ReceivedAt: day.Add(time.Duration(i) * 30 * time.Minute), Endpoint: record.EndpointChatCompletions,
			Provider: "openai", Model: "m", Status: 200, TTFTMs: &ttft, E2EMs: 500, CostUSD: &cost, Cost: &pricing.Cost{Total: cost}}
		r.UseCase, r.Team = "support", []string{"cx", "ops"}[i%2]
		if i%10 == 0 {
			r.Status = 502
		}
		recs = append(recs, r)
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(Options{Requests: st, Costs: st, Rollups: st}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	type answer struct {
		Rows []struct {
			Bucket  time.Time         `json:"bucket"`
			Key     map[string]string `json:"key"`
			Calls   int64             `json:"calls"`
			Errors  int64             `json:"errors"`
			CostUSD string            `json:"cost_usd"`
			Latency map[string]struct {
				Count     int64              `json:"count"`
				Quantiles map[string]float64 `json:"quantiles"`
			} `json:"latency"`
		} `json:"rows"`
	}
	get := func(q string) (int, answer, string) {
		resp, err := http.Get(srv.URL + "/api/v1/stats?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a answer
		var raw json.RawMessage
		json.NewDecoder(resp.Body).Decode(&raw)
		json.Unmarshal(raw, &a)
		return resp.StatusCode, a, string(raw)
	}
	code, a, raw := get("from=2026-11-02&to=2026-11-03&group_by=team&metrics=ttft&quantiles=0.5,1")
	if code != 200 || len(a.Rows) != 2 {
		t.Fatalf("%d %s", code, raw)
	}
	cx := a.Rows[0]
	// cx has the even calls: 0, 2, ..., 38: 20 calls, 4 errors (0, 10, 20, 30), cost 0+2+...+38 µ$ = 380 µ$.
	if cx.Key["team"] != "cx" || cx.Calls != 20 || cx.Errors != 4 || cx.CostUSD != "0.000380000" {
		t.Errorf("cx row %+v", cx)
	}
	if l := cx.Latency["ttft"]; l.Count != 20 || l.Quantiles["p100"] < 138*0.99 || l.Quantiles["p100"] > 138*1.01 {
		t.Errorf("cx ttft %+v", l)
	}
	code, a, raw = get("from=2026-11-02&to=2026-11-03&step=6h&use_case=support")
	if code != 200 || len(a.Rows) != 4 || a.Rows[0].Calls != 12 || a.Rows[3].Calls != 4 {
		t.Errorf("per 6h: %d %s", code, raw)
	}
	for _, bad := range []string{"step=90s", "group_by=user", "metrics=p99", "quantiles=2", "from=yesterday", "colour=red", "from=2026-11-02&to=2026-11-01"} {
		if code, _, raw := get(bad); code != 400 || !strings.Contains(raw, "invalid_query") {
			t.Errorf("%s: %d %s", bad, code, raw)
		}
	}
}

// TestStatsTeamScoped: a team-limited principal sees its team's figures
// only, and asking for another team is refused.
func TestStatsTeamScoped(t *testing.T) {
	var got store.RollupQuery
	a := New(Options{Requests: &fakeReader{}, Rollups: rollupSpy{&got}, People: fakePeople{principals: map[string]auth.Principal{
		"t": {Kind: "token", Person: "p", Role: auth.Viewer, Team: "cx"}}}})
	h := http.NewServeMux()
	a.Register(h)
	do := func(q string) int {
		req := httptest.NewRequest("GET", "/api/v1/stats?"+q, nil)
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := do("group_by=team"); code != 200 || got.Filter.Team != "cx" {
		t.Errorf("own team: %d, filter %+v", code, got.Filter)
	}
	if code := do("team=ops"); code != 403 {
		t.Errorf("other team: %d", code)
	}
}

type rollupSpy struct{ q *store.RollupQuery }

func (s rollupSpy) Rollup(_ context.Context, q store.RollupQuery) ([]store.RollupRow, error) {
	*s.q = q
	return nil, nil
}

type anyIdentities struct{}

func (anyIdentities) ModelIdentities(context.Context, store.IdentityQuery) ([]store.ModelIdentity, error) {
	return nil, nil
}
