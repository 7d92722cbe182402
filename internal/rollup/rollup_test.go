package rollup

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
)

func ptr(v float64) *float64 { return &v }

func TestFromRecord(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rec    record.Record
		femto  int64
		priced bool
		want   Agg
		has    []Metric
	}{
		{name: "plain priced call", rec: record.Record{Status: 200, E2EMs: 120, OverheadMs: 0.4}, femto: 42, priced: true,
			want: Agg{Calls: 1, CostFemto: 42}, has: []Metric{E2E, Overhead}},
		{name: "stream with every timing", rec: record.Record{Status: 200, Stream: true, TTFTMs: ptr(80), TTFCTMs: ptr(900), OTPS: ptr(55), ITLMs: &record.ITL{Mean: 12, Count: 40}, E2EMs: 2000},
			want: Agg{Calls: 1, Streams: 1}, has: []Metric{TTFT, TTFCT, ITL, OTPS, E2E, Overhead}},
		{name: "broken stream is an error", rec: record.Record{Status: 200, ErrorKind: "upstream_bad_response", Stream: true},
			want: Agg{Calls: 1, Errors: 1, Streams: 1}, has: []Metric{E2E, Overhead}},
		{name: "429 from a limit, no attempt", rec: record.Record{Status: 429},
			want: Agg{Calls: 1, Errors: 1, RateLimited: 1}, has: []Metric{E2E, Overhead}},
		{name: "retry then fallback", rec: record.Record{Status: 200, Attempts: []record.Attempt{
			{Provider: "a", Model: "m", Status: 429}, {Provider: "a", Model: "m", Status: 429}, {Provider: "b", Model: "m", Status: 200}}},
			want: Agg{Calls: 1, RateLimited: 2, Retried: 1, FellBack: 1}, has: []Metric{E2E, Overhead}},
		{name: "retry on the same target is not a fallback", rec: record.Record{Status: 200, Attempts: []record.Attempt{
			{Provider: "a", Model: "m", Status: 500}, {Provider: "a", Model: "m", Status: 200}}},
			want: Agg{Calls: 1, Retried: 1}, has: []Metric{E2E, Overhead}},
		{name: "unpriced call", rec: record.Record{Status: 200, Cost: new(pricingCost)}, want: Agg{Calls: 1, Unpriced: 1}, has: []Metric{E2E, Overhead}},
		{name: "interrupted call without status has no latency", rec: record.Record{ErrorKind: "interrupted"}, want: Agg{Calls: 1, Errors: 1}},
		{name: "ITL without gaps is left out", rec: record.Record{Status: 200, ITLMs: &record.ITL{}}, want: Agg{Calls: 1}, has: []Metric{E2E, Overhead}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := FromRecord(&tc.rec, tc.femto, tc.priced)
			var has []Metric
			for m, s := range got.Sketches {
				if s != nil {
					has = append(has, Metric(m))
				}
			}
			got.Sketches = [NumMetrics]*sketch{}
			if got != tc.want {
				t.Errorf("FromRecord = %+v, want %+v", got, tc.want)
			}
			if !slices.Equal(has, tc.has) {
				t.Errorf("sketched %v, want %v", has, tc.has)
			}
		})
	}
}

// TestQuantileAccuracy: merged and round-tripped sketches answer every
// quantile within RelativeAccuracy of the exact value at the same rank.
func TestQuantileAccuracy(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	var all []float64
	var total Agg
	for range 60 { // sixty "minutes"
		var a Agg
		for range 200 {
			v := math.Exp(rnd.NormFloat64()*1.5 + 5) // log-normal latencies, 1 ms to minutes
			all = append(all, v)
			_, one := FromRecord(&record.Record{Status: 200, E2EMs: v}, 0, false)
			a.Merge(&one)
		}
		// as the store keeps it: encoded, decoded, merged
		var back Agg
		s, err := DecodeSketch(EncodeSketch(a.Sketches[E2E]))
		if err != nil {
			t.Fatal(err)
		}
		back.Sketches[E2E] = s
		total.Merge(&back)
	}
	slices.Sort(all)
	if got := total.Count(E2E); got != int64(len(all)) {
		t.Fatalf("count %d, want %d", got, len(all))
	}
	for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		got, ok := total.Quantile(E2E, q)
		exact := all[int(q*float64(len(all)-1))]
		if !ok || math.Abs(got-exact) > RelativeAccuracy*exact {
			t.Errorf("p%v = %v, exact %v (error %.3f%%)", q*100, got, exact, 100*math.Abs(got-exact)/exact)
		}
	}
	mean, _ := total.Mean(E2E)
	var sum float64
	for _, v := range all {
		sum += v
	}
	if exact := sum / float64(len(all)); math.Abs(mean-exact) > RelativeAccuracy*exact {
		t.Errorf("mean %v, exact %v", mean, exact)
	}
}

func TestMergeDoesNotShare(t *testing.T) {
	_, a := FromRecord(&record.Record{Status: 200, E2EMs: 10}, 0, false)
	var b Agg
	b.Merge(&a)
	b.Merge(&a)
	if a.Count(E2E) != 1 || b.Count(E2E) != 2 {
		t.Errorf("counts a=%d b=%d, want 1 and 2", a.Count(E2E), b.Count(E2E))
	}
}

func TestDecodeEmpty(t *testing.T) {
	if s, err := DecodeSketch(nil); s != nil || err != nil {
		t.Errorf("DecodeSketch(nil) = %v, %v", s, err)
	}
	if EncodeSketch(nil) != nil || EncodeSketch(NewSketch()) != nil {
		t.Error("empty sketches must encode to nil")
	}
}

func TestParseMetric(t *testing.T) {
	for m := range NumMetrics {
		if got, ok := ParseMetric(m.String()); !ok || got != m {
			t.Errorf("ParseMetric(%q) = %v, %v", m, got, ok)
		}
	}
	if _, ok := ParseMetric("p99"); ok {
		t.Error("ParseMetric(p99) ok")
	}
}

// FuzzDecodeSketch: stored bytes are decoded on every chart; corrupt ones
// must give an error, never a panic.
func FuzzDecodeSketch(f *testing.F) {
	s := NewSketch()
	for _, v := range []float64{0, 1, 2.5, 1000, 1e6} {
		s.Add(v)
	}
	f.Add(EncodeSketch(s))
	f.Add([]byte{0x02, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeSketch(b)
		if err != nil || d == nil {
			return
		}
		// Whatever decoded is used without panicking: merged, encoded,
		// asked for quantiles (errors are fine).
		var a Agg
		a.Sketches[E2E] = d
		a.Quantile(E2E, 0.5)
		var m *sketch
		MergeEncoded(&m, EncodeSketch(d))
	})
}

type (
	sketch      = ddsketch.DDSketch
	pricingCost = pricing.Cost
)
