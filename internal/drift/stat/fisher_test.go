package stat

import (
	"math"
	"testing"
)

func TestFisherExact(t *testing.T) {
	for _, c := range []struct {
		x1, n1, x2, n2 int
		want           float64
	}{
		// Fisher's tea tasting: matrix(c(3,1,1,3),2) in R gives 0.4857.
		{3, 4, 1, 4, 0.4857143},
		// Wikipedia's dieting example [[1,9],[11,3]]: 0.002759.
		{1, 10, 11, 14, 0.002759456},
		// 10/1000 against 25/1000, summed exactly with Python's fractions and math.comb.
		{10, 1000, 25, 1000, 0.0157497055},
		{0, 10, 0, 10, 1},
		{5, 5, 0, 5, 0.007937},
		{1, 0, 1, 5, 1},
	} {
		got := FisherExact(c.x1, c.n1, c.x2, c.n2)
		if math.Abs(got-c.want) > 5e-4*math.Max(c.want, 0.01) {
			t.Errorf("FisherExact(%d/%d, %d/%d) = %.7f, want %.7f", c.x1, c.n1, c.x2, c.n2, got, c.want)
		}
	}
	// Symmetric in the two windows.
	if a, b := FisherExact(3, 50, 9, 60), FisherExact(9, 60, 3, 50); math.Abs(a-b) > 1e-12 {
		t.Errorf("not symmetric: %v %v", a, b)
	}
}
