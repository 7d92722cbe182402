package forecast

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// weekOf builds weeks of daily spend, oldest first, ending the day before
// a Monday: pattern[0] is Monday's spend, pattern[6] Sunday's. Each day
// gets multiplicative noise of ±noise (uniform).
func weekOf(weeks int, pattern [7]float64, noise float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	h := make([]float64, 7*weeks)
	for i := range h {
		h[i] = pattern[i%7] * (1 + noise*(2*rng.Float64()-1))
	}
	return h
}

func TestSpike(t *testing.T) {
	// Monday peaks at 160, other weekdays 100, weekends 30.
	weekly := weekOf(8, [7]float64{160, 100, 100, 100, 100, 30, 30}, 0.05, 1)
	flat := weekOf(8, [7]float64{20, 20, 20, 20, 20, 20, 20}, 0.1, 2)
	constant := weekOf(8, [7]float64{100, 100, 100, 100, 100, 100, 100}, 0, 3)
	cents := weekOf(8, [7]float64{0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10}, 0.1, 4)
	zeros := make([]float64, 28)
	shifted := append(weekOf(10, [7]float64{1000, 1000, 1000, 1000, 1000, 1000, 1000}, 0.1, 5), weekOf(4, [7]float64{20, 20, 20, 20, 20, 20, 20}, 0.1, 6)...)
	invalid := append([]float64{math.NaN(), -5, math.Inf(1), 3e12}, flat...)

	tests := []struct {
		name         string
		history      []float64
		today        float64
		opts         SpikeOptions
		want         bool
		wantBaseline Baseline
		wantDays     int
		wantMedian   float64 // checked within 10% when set
		wantRatio    float64 // likewise
		wantMessage  string
	}{
		{
			name: "a normal Monday peak is no spike", history: weekly, today: 170,
			want: false, wantBaseline: BaselineSameWeekday, wantDays: 8, wantMedian: 160,
			wantMessage: "is no spike",
		},
		{
			name: "the same Monday against all days is one", history: weekly, today: 170,
			opts: SpikeOptions{Baseline: BaselineAllDays},
			want: true, wantBaseline: BaselineAllDays, wantDays: 56, wantMedian: 100,
		},
		{
			name: "3x jump on a flat history", history: flat, today: 60,
			want: true, wantBaseline: BaselineSameWeekday, wantDays: 8, wantMedian: 20, wantRatio: 3,
			wantMessage: "x the usual $",
		},
		{
			name: "3x the Monday peak", history: weekly, today: 480,
			want: true, wantBaseline: BaselineSameWeekday, wantMedian: 160, wantRatio: 3,
			wantMessage: "3.0x the usual $160.12 (median of the same weekday over the last 8 weeks)",
		},
		{
			name: "far above a constant history but under the ratio", history: constant, today: 140,
			want: false, wantMedian: 100,
		},
		{
			name: "the ratio reached", history: constant, today: 150,
			want: true, wantMedian: 100,
		},
		{
			name: "5x but under a dollar more", history: cents, today: 0.5,
			want: false, wantMedian: 0.1,
		},
		{
			name: "5x with a lower minimum increase", history: cents, today: 0.5,
			opts: SpikeOptions{MinIncreaseUSD: 0.25},
			want: true, wantMedian: 0.1,
		},
		{
			name: "a higher minimum ratio", history: flat, today: 50,
			opts: SpikeOptions{MinRatio: 3},
			want: false, wantMedian: 20,
		},
		{
			name: "first spend after none", history: zeros, today: 5,
			want: true, wantBaseline: BaselineSameWeekday, wantDays: 4,
			wantMessage: "against a usual $0.00",
		},
		{
			name: "a little spend after none", history: zeros, today: 0.5,
			want: false,
		},
		{
			name: "no spend today", history: flat, today: 0,
			want: false,
		},
		{
			name: "no history", today: 100,
			want: false, wantMessage: "no history",
		},
		{
			name: "invalid today", history: flat, today: math.NaN(),
			want: false, wantMessage: "not a valid amount",
		},
		{
			name: "invalid history entries are left out", history: invalid, today: 60,
			opts: SpikeOptions{Days: 100, Baseline: BaselineAllDays},
			want: true, wantDays: 56, wantMedian: 20,
		},
		{
			name: "three weeks fall back to all days", history: flat[:21], today: 60,
			want: true, wantBaseline: BaselineAllDays, wantDays: 21, wantMedian: 20,
		},
		{
			name: "same weekday asked for with two weeks", history: flat[:14], today: 60,
			opts: SpikeOptions{Baseline: BaselineSameWeekday},
			want: true, wantBaseline: BaselineSameWeekday, wantDays: 2, wantMedian: 20,
		},
		{
			name: "a window of 4 weeks forgets an older level", history: shifted, today: 60,
			opts: SpikeOptions{Days: 28},
			want: true, wantDays: 4, wantMedian: 20,
		},
		{
			name: "the default window of 8 weeks still sees it", history: shifted, today: 60,
			want: false, wantDays: 8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, spike := Spike(tt.history, tt.today, tt.opts)
			if spike != tt.want {
				t.Errorf("Spike() = %v, want %v; %+v", spike, tt.want, got)
			}
			if tt.wantBaseline != BaselineAuto && got.Baseline != tt.wantBaseline {
				t.Errorf("Baseline = %v, want %v", got.Baseline, tt.wantBaseline)
			}
			if tt.wantDays != 0 && got.Days != tt.wantDays {
				t.Errorf("Days = %d, want %d", got.Days, tt.wantDays)
			}
			if tt.wantMedian != 0 && math.Abs(got.MedianUSD-tt.wantMedian) > 0.1*tt.wantMedian {
				t.Errorf("MedianUSD = %v, want %v ± 10%%", got.MedianUSD, tt.wantMedian)
			}
			if tt.wantRatio != 0 && math.Abs(got.Ratio-tt.wantRatio) > 0.1*tt.wantRatio {
				t.Errorf("Ratio = %v, want %v ± 10%%", got.Ratio, tt.wantRatio)
			}
			if !strings.Contains(got.Message, tt.wantMessage) || got.Message == "" {
				t.Errorf("Message = %q, want it to contain %q", got.Message, tt.wantMessage)
			}
			if spike && got.TodayUSD < got.ThresholdUSD {
				t.Errorf("spike at %v under its threshold %v", got.TodayUSD, got.ThresholdUSD)
			}
			t.Log(got.Message)
		})
	}
}

func TestSpikeThreshold(t *testing.T) {
	// Around ThresholdUSD the answer flips, whichever minimum binds.
	for _, h := range [][]float64{
		weekOf(8, [7]float64{160, 100, 100, 100, 100, 30, 30}, 0.3, 7), // the MAD bound
		weekOf(8, [7]float64{100, 100, 100, 100, 100, 100, 100}, 0, 8), // the ratio
		weekOf(8, [7]float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, 0, 9), // the increase
	} {
		r, _ := Spike(h, 0, SpikeOptions{})
		if _, spike := Spike(h, r.ThresholdUSD*1.001+1e-6, SpikeOptions{}); !spike {
			t.Errorf("median %v: no spike just above the threshold %v", r.MedianUSD, r.ThresholdUSD)
		}
		if _, spike := Spike(h, r.ThresholdUSD*0.999-1e-6, SpikeOptions{}); spike {
			t.Errorf("median %v: a spike just under the threshold %v", r.MedianUSD, r.ThresholdUSD)
		}
	}
}

func TestSpikeScore(t *testing.T) {
	h := []float64{10, 12, 8, 10, 11, 9, 10}
	r, _ := Spike(h, 20, SpikeOptions{Baseline: BaselineAllDays})
	// Median 10; deviations 0,2,2,0,1,1,0: MAD 1.
	near(t, "MedianUSD", r.MedianUSD, 10)
	near(t, "MADUSD", r.MADUSD, 1)
	near(t, "Score", r.Score, 10/1.4826)
	near(t, "Ratio", r.Ratio, 2)
	near(t, "ThresholdUSD", r.ThresholdUSD, 15) // the ratio binds: 1.5 x 10
}
