package forecast

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuantile(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for n := 1; n <= 60; n++ {
		for _, q := range []float64{0, 0.1, 0.5, 0.9, 1} {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(rng.IntN(10)) // many ties
			}
			sorted := slices.Sorted(slices.Values(v))
			pos := q * float64(n-1)
			i := int(pos)
			want := sorted[i]
			if i < n-1 {
				want += (pos - float64(i)) * (sorted[i+1] - sorted[i])
			}
			if got := quantile(v, q); got != want {
				t.Fatalf("quantile(%v, %v) = %v, want %v", sorted, q, got, want)
			}
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		v    []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1}, 2},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(slices.Clone(tt.v)); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
