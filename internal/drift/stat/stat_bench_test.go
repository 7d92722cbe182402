package stat

import (
	"math/rand/v2"
	"testing"
)

func benchSamples(n int) (x, y []float64) {
	rng := rand.New(rand.NewPCG(9, 9))
	x, y = make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = rng.ExpFloat64() * 500
		y[i] = rng.ExpFloat64() * 520
	}
	return x, y
}

// A drift check compares windows of a few thousand calls per signal.
func BenchmarkKolmogorovSmirnov5000(b *testing.B) {
	x, y := benchSamples(5000)
	b.ReportAllocs()
	for b.Loop() {
		KolmogorovSmirnov(x, y)
	}
}

func BenchmarkKolmogorovSmirnovExact100(b *testing.B) {
	x, y := benchSamples(100)
	b.ReportAllocs()
	for b.Loop() {
		KolmogorovSmirnov(x, y)
	}
}

func BenchmarkMannWhitney5000(b *testing.B) {
	x, y := benchSamples(5000)
	b.ReportAllocs()
	for b.Loop() {
		MannWhitney(x, y)
	}
}

func BenchmarkCUSUMAdd(b *testing.B) {
	c, err := NewCUSUM(CUSUMConfig{Mean: 500, SD: 500, H: 8})
	if err != nil {
		b.Fatal(err)
	}
	x, _ := benchSamples(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Add(x[i&1023]); ok {
			c.Reset()
		}
		i++
	}
}
