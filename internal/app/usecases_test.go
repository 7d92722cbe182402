package app

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
)

// TestUseCaseReportEndToEnd drives the simulator through Weir with two use
// cases, several instances and two versions, records KPI results through
// the API, and checks the report's figures against numbers computed here
// from the recorded calls.
func TestUseCaseReportEndToEnd(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 3, Models: map[string]mock.Profile{
		"gpt-4o-mini": {OutputTokens: 120}, "gpt-4o": {OutputTokens: 40},
	}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"}}
	srv := serveApp(t, cfg)

	do := func(method, path, body string, hdr map[string]string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	must := func(code int, b []byte) []byte {
		t.Helper()
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		return b
	}
	must(do("PUT", "/api/v1/use-cases/support", `{"description":"support triage","business_owner":"ops@acme","technical_owner":"ml@acme",
		"kpis":[{"name":"resolved","type":"boolean","goal":0.5,"direction":"higher","value":[{"usd_per_unit":4.2,"minutes_per_unit":6}]},
		        {"name":"csat","type":"likert5","goal":4,"direction":"higher"}]}`, nil))
	must(do("PUT", "/api/v1/use-cases/leads", `{"kpis":[{"name":"qualified","type":"boolean","direction":"higher","value":[{"usd_per_unit":35}]}]}`, nil))

	type callSpec struct{ useCase, inst, version, model string }
	var calls []callSpec
	for i := range 6 {
		inst := fmt.Sprintf("ticket-%d", i)
		version := "1"
		if i >= 3 {
			version = "2"
		}
		for j := range 1 + i%3 {
			calls = append(calls, callSpec{"support", inst, version, []string{"gpt-4o-mini", "gpt-4o"}[j%2]})
		}
	}
	for i := range 3 {
		calls = append(calls, callSpec{"leads", fmt.Sprintf("lead-%d", i), "1", "gpt-4o-mini"})
	}
	calls = append(calls, callSpec{"support", "", "2", "gpt-4o-mini"}) // no instance
	for i, c := range calls {
		hdr := map[string]string{"X-Weir-Use-Case": c.useCase, "X-Weir-Use-Case-Version": c.version, "Content-Type": "application/json"}
		if c.inst != "" {
			hdr["X-Weir-Use-Case-Instance"] = c.inst
		}
		code, b := do("POST", "/v1/chat/completions", `{"model":"primary/`+c.model+`","messages":[{"role":"user","content":"question `+strings.Repeat("w ", i*7)+`"}]}`, hdr)
		if code != 200 {
			t.Fatalf("call %d: %d %s", i, code, b)
		}
	}
	// Wait for every call to be recorded, then read them back.
	type rec struct {
		ID              string      `json:"id"`
		UseCase         string      `json:"use_case"`
		UseCaseInstance string      `json:"use_case_instance"`
		UseCaseVersion  string      `json:"use_case_version"`
		Cost            json.Number `json:"cost_usd"`
	}
	var recs []rec
	for range 200 {
		code, b := do("GET", "/api/v1/requests?limit=1000", "", nil)
		var page struct{ Requests []rec }
		if code == 200 && json.Unmarshal(b, &page) == nil && len(page.Requests) == len(calls) {
			recs = page.Requests
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(recs) != len(calls) {
		t.Fatalf("%d of %d calls recorded", len(recs), len(calls))
	}
	// KPI results: tickets 0, 2, 3 and 5 resolved; csat 5, 4, 2, 4, 5, 3.
	resolved := map[string]bool{"ticket-0": true, "ticket-2": true, "ticket-3": true, "ticket-5": true}
	csat := []int{5, 4, 2, 4, 5, 3}
	for i := range 6 {
		inst := fmt.Sprintf("ticket-%d", i)
		must(do("PUT", "/api/v1/use-cases/support/instances/"+inst+"/kpis/resolved", fmt.Sprintf(`{"value":%v}`, resolved[inst]), nil))
		must(do("PUT", "/api/v1/use-cases/support/instances/"+inst+"/kpis/csat", fmt.Sprintf(`{"value":%d}`, csat[i]), nil))
	}
	// Idempotent: a repeat changes nothing; a correction is kept as history.
	if b := must(do("PUT", "/api/v1/use-cases/support/instances/ticket-0/kpis/csat", `{"value":5}`, nil)); !strings.Contains(string(b), `"changed":false`) {
		t.Errorf("repeat: %s", b)
	}
	if code, b := do("PUT", "/api/v1/use-cases/support/instances/ticket-0/kpis/csat", `{"value":6}`, nil); code != 400 {
		t.Errorf("likert5 of 6: %d %s", code, b)
	}
	if code, b := do("PUT", "/api/v1/use-cases/support/instances/ticket-0/kpis/nps", `{"value":6}`, nil); code != 404 {
		t.Errorf("unknown KPI: %d %s", code, b)
	}

	// Independent figures from the records.
	cost := map[string]*big.Rat{} // by instance, support only
	total := new(big.Rat)
	totalV2 := new(big.Rat)
	calls1 := 0
	for _, r := range recs {
		if r.UseCase != "support" {
			continue
		}
		calls1++
		c, ok := new(big.Rat).SetString(string(r.Cost))
		if !ok {
			t.Fatalf("cost %q", r.Cost)
		}
		total.Add(total, c)
		if r.UseCaseVersion == "2" {
			totalV2.Add(totalV2, c)
		}
		if r.UseCaseInstance != "" {
			if cost[r.UseCaseInstance] == nil {
				cost[r.UseCaseInstance] = new(big.Rat)
			}
			cost[r.UseCaseInstance].Add(cost[r.UseCaseInstance], c)
		}
	}
	var perInst []*big.Rat
	for _, c := range cost {
		perInst = append(perInst, c)
	}
	sort.Slice(perInst, func(i, j int) bool { return perInst[i].Cmp(perInst[j]) < 0 })
	sumInst := new(big.Rat)
	for _, c := range perInst {
		sumInst.Add(sumInst, c)
	}
	meanInst := new(big.Rat).Quo(sumInst, big.NewRat(int64(len(perInst)), 1))
	perCase := new(big.Rat).Quo(total, big.NewRat(4, 1))                        // 4 resolved
	valuePerDollar, _ := new(big.Rat).Quo(big.NewRat(168, 10), total).Float64() // 4 x $4.20

	from := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	to := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	var rep struct {
		Calls                int64
		Instances            int64
		CallsWithoutInstance int64                                `json:"calls_without_instance"`
		CostUSD              json.Number                          `json:"cost_usd"`
		CostPerInstance      struct{ Mean, P50, Max json.Number } `json:"cost_per_instance"`
		ValueUSD             json.Number                          `json:"value_usd"`
		MinutesSaved         float64                              `json:"minutes_saved"`
		ValuePerDollar       float64                              `json:"value_per_dollar"`
		KPIs                 []struct {
			Name           string
			Results        int64
			Sum            string
			Rate, Mean     *float64
			MeetsGoal      *bool       `json:"meets_goal"`
			CostPerOutcome json.Number `json:"cost_per_outcome"`
		}
		Groups []struct {
			Key     string
			CostUSD json.Number `json:"cost_usd"`
		}
	}
	b := must(do("GET", "/api/v1/use-cases/support/report?from="+from+"&to="+to+"&group_by=version", "", nil))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	eq := func(what string, got json.Number, want *big.Rat) {
		t.Helper()
		g, ok := new(big.Rat).SetString(string(got))
		// Reports round divisions to the femto-dollar.
		if !ok || new(big.Rat).Abs(new(big.Rat).Sub(g, want)).Cmp(big.NewRat(1, 1e15)) > 0 {
			t.Errorf("%s = %s, want %s", what, got, want.FloatString(15))
		}
	}
	if rep.Calls != int64(calls1) || rep.Instances != 6 || rep.CallsWithoutInstance != 1 {
		t.Errorf("counts: %s", b)
	}
	eq("cost", rep.CostUSD, total)
	eq("mean cost per instance", rep.CostPerInstance.Mean, meanInst)
	eq("max cost per instance", rep.CostPerInstance.Max, perInst[len(perInst)-1])
	eq("p50 cost per instance", rep.CostPerInstance.P50, perInst[2]) // nearest rank 3 of 6
	eq("value", rep.ValueUSD, big.NewRat(168, 10))
	if rep.MinutesSaved != 24 || rep.ValuePerDollar < valuePerDollar*0.999999 || rep.ValuePerDollar > valuePerDollar*1.000001 {
		t.Errorf("minutes %v, value per dollar %v want %v", rep.MinutesSaved, rep.ValuePerDollar, valuePerDollar)
	}
	res, cs := rep.KPIs[0], rep.KPIs[1]
	if res.Name != "resolved" || res.Results != 6 || res.Sum != "4" || *res.Rate != 4.0/6 || !*res.MeetsGoal {
		t.Errorf("resolved: %+v", res)
	}
	eq("cost per resolved case", res.CostPerOutcome, perCase)
	// csat mean (5+4+2+4+5+3)/6 = 3.8333 < 4.
	if cs.Name != "csat" || *cs.Mean != 23.0/6 || *cs.MeetsGoal {
		t.Errorf("csat: %+v", cs)
	}
	// By version: the call without an instance is version 2.
	if len(rep.Groups) != 2 || rep.Groups[0].Key != "1" || rep.Groups[1].Key != "2" {
		t.Fatalf("groups: %s", b)
	}
	eq("version 2 cost", rep.Groups[1].CostUSD, totalV2)

	// Compare the versions; the portfolio has both use cases.
	b = must(do("GET", "/api/v1/use-cases/support/compare?a=1&b=2&from="+from+"&to="+to, "", nil))
	if !strings.Contains(string(b), `"figures_a"`) || !strings.Contains(string(b), `"regressions"`) {
		t.Errorf("compare: %s", b)
	}
	b = must(do("GET", "/api/v1/portfolio?from="+from+"&to="+to, "", nil))
	var pf struct {
		UseCases []struct {
			UseCase string `json:"use_case"`
			Defined bool
		} `json:"use_cases"`
	}
	json.Unmarshal(b, &pf)
	if len(pf.UseCases) != 2 {
		t.Errorf("portfolio: %s", b)
	}
	// Versions change explicitly; definitions keep their history.
	must(do("POST", "/api/v1/use-cases/support/versions", `{"version":"3","note":"shorter prompt"}`, nil))
	if code, b := do("POST", "/api/v1/use-cases/support/versions", `{"version":"3"}`, nil); code != 400 {
		t.Errorf("version reused: %d %s", code, b)
	}
	if code, b := do("PUT", "/api/v1/use-cases/support", `{"kpis":[]}`, map[string]string{"If-Match": "1"}); code != 409 {
		t.Errorf("stale If-Match: %d %s", code, b)
	}
	b = must(do("GET", "/api/v1/use-cases/support/history", "", nil))
	if !strings.Contains(string(b), `"revision":2`) || !strings.Contains(string(b), `"shorter prompt"`) {
		t.Errorf("history: %s", b)
	}
	for _, bad := range []string{"/api/v1/use-cases/support/report?from=" + from, "/api/v1/use-cases/support/report?from=" + from + "&to=" + to + "&group_by=colour", "/api/v1/portfolio"} {
		if code, b := do("GET", bad, "", nil); code != 400 {
			t.Errorf("%s: %d %s", bad, code, b)
		}
	}
	if code, _ := do("GET", "/api/v1/use-cases/nosuch/report?from="+from+"&to="+to, "", nil); code != 404 {
		t.Errorf("unknown use case: %d", code)
	}
}

// TestIngestCountsInReports: a call made without the gateway, sent to
// POST /api/v1/ingest, is priced and counts in its use case's report; sent
// again, it is stored once.
func TestIngestCountsInReports(t *testing.T) {
	cfg := config.Default()
	srv := serveApp(t, cfg)
	post := func(path, body string) string {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	put := func(path, body string) {
		req, _ := http.NewRequest("PUT", srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("PUT %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	put("/api/v1/use-cases/nightly", `{"kpis":[{"name":"done","type":"boolean","direction":"higher","value":[{"usd_per_unit":1}]}]}`)
	at := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano)
	// gpt-4o-mini: 1,000,000 input at $0.15 + 100,000 output at $0.60 = $0.21.
	event := `{"id":"chatcmpl-1","received_at":"` + at + `","provider":"openai","model":"gpt-4o-mini",
		"openai_usage":{"prompt_tokens":1000000,"completion_tokens":100000},"e2e_ms":900,"use_case":"nightly","use_case_instance":"job-1"}`
	if out := post("/api/v1/ingest", event); !strings.Contains(out, `"stored":1`) {
		t.Errorf("ingest: %s", out)
	}
	if out := post("/api/v1/ingest", event); !strings.Contains(out, `"duplicates":1`) {
		t.Errorf("ingest again: %s", out)
	}
	put("/api/v1/use-cases/nightly/instances/job-1/kpis/done", `{"value":true}`)
	from, to := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	resp, err := http.Get(srv.URL + "/api/v1/use-cases/nightly/report?from=" + from + "&to=" + to)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct {
		Calls     int64
		CostUSD   json.Number `json:"cost_usd"`
		ValueUSD  json.Number `json:"value_usd"`
		Instances int64
	}
	json.NewDecoder(resp.Body).Decode(&rep)
	if rep.Calls != 1 || rep.Instances != 1 || rep.CostUSD != "0.21" || rep.ValueUSD != "1" {
		t.Errorf("report: %+v", rep)
	}
}
