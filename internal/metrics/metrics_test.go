package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/usage"
)

func f(v float64) *float64 { return &v }

func TestObserve(t *testing.T) {
	m := New()
	m.Observe(&record.Record{
		Provider: "openai", Model: "gpt-4o-mini", Status: 200, Attribution: record.Attribution{UseCase: "support"},
		E2EMs: 1200, OverheadMs: 0.2, TTFTMs: f(300), TTFCTMs: f(450), TPOTMs: f(15), OTPS: f(66), ITLMs: &record.ITL{Mean: 15},
		Usage: usage.Usage{InputTokens: 100, OutputTokens: 60, CacheReadTokens: 64},
	})
	want := `
# HELP gen_ai_server_time_to_first_token_seconds Time to the first chunk carrying any generated token (streams).
# TYPE gen_ai_server_time_to_first_token_seconds histogram
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.001"} 0
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.005"} 0
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.01"} 0
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.02"} 0
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.04"} 0
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.06"} 0
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.08"} 0
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.1"} 0
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.25"} 0
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.5"} 1
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="0.75"} 1
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="1"} 1
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="2.5"} 1
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="5"} 1
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="7.5"} 1
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="10"} 1
gen_ai_server_time_to_first_token_seconds_bucket{model="gpt-4o-mini",provider="openai",status="200",use_case="support",le="+Inf"} 1
gen_ai_server_time_to_first_token_seconds_sum{model="gpt-4o-mini",provider="openai",status="200",use_case="support"} 0.3
gen_ai_server_time_to_first_token_seconds_count{model="gpt-4o-mini",provider="openai",status="200",use_case="support"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "gen_ai_server_time_to_first_token_seconds"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.tokensSum.WithLabelValues("openai", "gpt-4o-mini", "support", "200", "cache_read")); got != 64 {
		t.Errorf("cache_read tokens = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("openai", "gpt-4o-mini", "support", "200", "")); got != 1 {
		t.Errorf("requests = %v", got)
	}
	n, err := testutil.GatherAndCount(m.Registry(), "weir_overhead_seconds", "weir_time_to_first_completion_token_seconds", "weir_output_tokens_per_second", "gen_ai_server_time_per_output_token_seconds", "gen_ai_client_token_usage", "gen_ai_client_operation_duration_seconds")
	if err != nil || n != 7 {
		t.Errorf("series = %d, %v; want 7", n, err)
	}
}
