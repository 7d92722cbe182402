package evalstats

import (
	"math"
	"testing"
)

// No parser here; the fuzz tests feed arbitrary ratings to kappa and alpha
// and check they never panic and stay within [-1, 1] when defined.

func FuzzKappa(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 0, 1}, uint8(2), uint8(0))
	f.Add([]byte{0, 4, 2, 2, 4, 0, 1, 3}, uint8(5), uint8(2))
	f.Add([]byte{}, uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, k, w uint8) {
		cats := 1 + int(k%8)
		weighting := Weighting(w % 3)
		n := len(data) / 2
		a, b := make([]int, n), make([]int, n)
		for i := range n {
			a[i] = int(data[2*i]) % cats
			b[i] = int(data[2*i+1]) % cats
		}
		ag, err := Kappa(a, b, cats, weighting)
		if err != nil {
			return
		}
		const eps = 1e-9
		if math.IsNaN(ag.Kappa) || ag.Kappa > 1+eps || ag.Kappa < -1-eps {
			t.Fatalf("kappa %v out of [-1, 1] for %v / %v (%d categories, %v)", ag.Kappa, a, b, cats, weighting)
		}
		if ag.Accuracy < 0 || ag.Accuracy > 1 {
			t.Fatalf("accuracy %v", ag.Accuracy)
		}
	})
}

func FuzzAlpha(f *testing.F) {
	f.Add([]byte{1, 1, 2, 2, 3, 255, 1, 2}, uint8(2), uint8(0))
	f.Add([]byte{1, 2, 3, 3, 2, 1, 4, 1, 2, 255, 255, 255}, uint8(4), uint8(1))
	f.Add([]byte{0, 9, 0, 9, 0, 9}, uint8(2), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, coders, metric uint8) {
		c := 2 + int(coders%5)
		m := Metric(metric % 4)
		var units [][]float64
		for i := 0; i+c <= len(data); i += c {
			u := make([]float64, c)
			for j := range c {
				if data[i+j] == 255 {
					u[j] = math.NaN() // missing
				} else {
					u[j] = float64(data[i+j] % 16)
				}
			}
			units = append(units, u)
		}
		r, err := Alpha(units, m)
		if err != nil {
			return
		}
		const eps = 1e-9
		if math.IsNaN(r.Alpha) || r.Alpha > 1+eps || r.Alpha < -1-eps {
			t.Fatalf("alpha %v out of [-1, 1] (%v) for %v", r.Alpha, m, units)
		}
	})
}
