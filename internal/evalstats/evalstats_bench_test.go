package evalstats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func BenchmarkKappa10k(b *testing.B) {
	x, y := synthRatings(10000, 0.7, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Kappa(x, y, 3, Quadratic); err != nil {
			b.Fatal(err)
		}
	}
}

// benchUnits is n units rated by three coders on a 5-point scale, one
// rating in ten missing.
func benchUnits(n int) [][]float64 {
	r := rand.New(rand.NewPCG(1, 2))
	units := make([][]float64, n)
	for u := range units {
		truth := r.IntN(5)
		for range 3 {
			v := float64(truth)
			if r.Float64() < 0.3 {
				v = float64(r.IntN(5))
			}
			if r.Float64() < 0.1 {
				v = math.NaN()
			}
			units[u] = append(units[u], v)
		}
	}
	return units
}

func BenchmarkAlpha10k(b *testing.B) {
	units := benchUnits(10000)
	for _, m := range []Metric{NominalMetric, OrdinalMetric, IntervalMetric} {
		b.Run(m.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Alpha(units, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkKappaInterval1k(b *testing.B) {
	x, y := synthRatings(1000, 0.7, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := KappaInterval(x, y, 3, Quadratic, BootstrapOptions{Iterations: 2000}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAlphaInterval1k(b *testing.B) {
	units := benchUnits(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := AlphaInterval(units, OrdinalMetric, BootstrapOptions{Iterations: 2000}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPairedBootstrap1k(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float64, 1000), make([]float64, 1000)
	for i := range x {
		x[i] = r.Float64()
		y[i] = x[i] + 0.1*r.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PairedBootstrap(x, y, BootstrapOptions{Iterations: 2000}); err != nil {
			b.Fatal(err)
		}
	}
}
