package usage

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromOpenAI(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Usage
	}{
		{"plain", `{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42}`,
			Usage{InputTokens: 12, OutputTokens: 30}},
		{"cached prompt is part of prompt_tokens",
			`{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0}}`,
			Usage{InputTokens: 2006, CacheReadTokens: 1920, OutputTokens: 300}},
		{"reasoning is part of completion_tokens",
			`{"prompt_tokens":75,"completion_tokens":1186,"total_tokens":1261,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":1024,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`,
			Usage{InputTokens: 75, OutputTokens: 1186, ReasoningTokens: 1024}},
		{"audio", `{"prompt_tokens":100,"completion_tokens":50,"prompt_tokens_details":{"audio_tokens":40},"completion_tokens_details":{"audio_tokens":20}}`,
			Usage{InputTokens: 100, OutputTokens: 50, InputAudioTokens: 40, OutputAudioTokens: 20}},
		{"deepseek cache hit fields", `{"prompt_tokens":500,"completion_tokens":10,"prompt_cache_hit_tokens":384,"prompt_cache_miss_tokens":116}`,
			Usage{InputTokens: 500, CacheReadTokens: 384, OutputTokens: 10}},
		{"embeddings", `{"prompt_tokens":8,"total_tokens":8}`, Usage{InputTokens: 8}},
		{"total only", `{"total_tokens":9}`, Usage{InputTokens: 9}},
		{"null details", `{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":null,"completion_tokens_details":null}`,
			Usage{InputTokens: 3, OutputTokens: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromOpenAI([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FromOpenAI(%s) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestFromAnthropic(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Usage
	}{
		{"plain", `{"input_tokens":25,"output_tokens":40}`, Usage{InputTokens: 25, OutputTokens: 40}},
		{"cache tokens are NOT in input_tokens",
			`{"input_tokens":50,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":300}`,
			Usage{InputTokens: 3050, CacheWriteTokens: 1000, CacheReadTokens: 2000, OutputTokens: 300}},
		{"1h cache writes",
			`{"input_tokens":10,"cache_creation_input_tokens":700,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":500},"output_tokens":5}`,
			Usage{InputTokens: 710, CacheWriteTokens: 700, CacheWrite1hTokens: 500, OutputTokens: 5}},
		{"null cache fields", `{"input_tokens":7,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,"output_tokens":1}`,
			Usage{InputTokens: 7, OutputTokens: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromAnthropic([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FromAnthropic(%s) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// A stream reports input and cache counts in message_start and cumulative
// output in message_delta; the merged result must count each token once.
func TestAnthropicStreamMerge(t *testing.T) {
	var a Anthropic
	for _, raw := range []string{
		`{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":1800,"output_tokens":2}`,
		`{"output_tokens":89}`,
		`{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":1800,"output_tokens":503}`,
	} {
		if err := a.Merge([]byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	want := Usage{InputTokens: 2272, CacheReadTokens: 1800, OutputTokens: 503}
	if diff := cmp.Diff(want, a.Usage()); diff != "" {
		t.Errorf("merged usage mismatch (-want +got):\n%s", diff)
	}
}

func TestBadUsage(t *testing.T) {
	if _, err := FromOpenAI([]byte(`{"prompt_tokens":"x"}`)); err == nil {
		t.Error("FromOpenAI accepted a string count")
	}
	if _, err := FromAnthropic([]byte(`[`)); err == nil {
		t.Error("FromAnthropic accepted broken JSON")
	}
}

func FuzzFromOpenAI(f *testing.F) {
	f.Add([]byte(`{"prompt_tokens":2006,"completion_tokens":300,"prompt_tokens_details":{"cached_tokens":1920}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := FromOpenAI(b)
		if err == nil && u.CacheReadTokens > 0 && u.InputTokens == 0 && u.CacheReadTokens < 0 {
			t.Fatal("impossible")
		}
	})
}

func FuzzAnthropicMerge(f *testing.F) {
	f.Add([]byte(`{"input_tokens":50,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":300}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Anthropic
		if err := a.Merge(b); err != nil {
			return
		}
		u := a.Usage()
		if u.InputTokens != u.CacheReadTokens+u.CacheWriteTokens+a.input {
			t.Fatalf("input %d is not the sum of its parts", u.InputTokens)
		}
	})
}
