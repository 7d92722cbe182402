package stat

import (
	"encoding/binary"
	"math"
	"testing"
)

// floats reads b as little-endian float64 bit patterns (so NaN, ±Inf,
// subnormals and huge values all occur) and splits them at cut.
func floats(b []byte, cut uint8) (x, y []float64) {
	var all []float64
	for len(b) >= 8 {
		all = append(all, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		b = b[8:]
	}
	k := 0
	if len(all) > 0 {
		k = int(cut) % (len(all) + 1)
	}
	return all[:k], all[k:]
}

func bytesOf(xs ...float64) []byte {
	b := make([]byte, 0, 8*len(xs))
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func checkP(t *testing.T, name string, p float64) {
	t.Helper()
	if !(p >= 0 && p <= 1) {
		t.Fatalf("%s p-value %v outside [0, 1]", name, p)
	}
}

func checkIn(t *testing.T, name string, v, lo, hi float64) {
	t.Helper()
	if !(v >= lo && v <= hi) {
		t.Fatalf("%s = %v outside [%v, %v]", name, v, lo, hi)
	}
}

func FuzzTests(f *testing.F) {
	nan, inf := math.NaN(), math.Inf(1)
	f.Add([]byte{}, uint8(0))
	f.Add(bytesOf(1, 2, 3, 4, 5, 6), uint8(3))
	f.Add(bytesOf(5, 5, 5, 5), uint8(2))
	f.Add(bytesOf(nan, nan, 1, nan), uint8(1))
	f.Add(bytesOf(inf, -inf, 0, inf, 1e308, -1e308), uint8(3))
	f.Add(bytesOf(1e308, 1e308, 1e308, 1), uint8(2))
	f.Add(bytesOf(0, -1, 4e-324, 2, 3), uint8(200))
	f.Fuzz(func(t *testing.T, b []byte, cut uint8) {
		x, y := floats(b, cut)

		ks := KolmogorovSmirnov(x, y)
		checkP(t, "KS", ks.P)
		checkIn(t, "KS D", ks.D, 0, 1)

		mw := MannWhitney(x, y)
		checkP(t, "MannWhitney", mw.P)
		checkIn(t, "rank-biserial", mw.RankBiserial, -1, 1)
		checkIn(t, "common-language", mw.CommonLanguage, 0, 1)

		cs := ChiSquaredHomogeneity(x, y)
		checkP(t, "chi-squared", cs.P)
		checkIn(t, "Cramér's V", cs.CramersV, 0, 1)
		if cs.DF < 0 {
			t.Fatalf("DF %d", cs.DF)
		}

		ints := func(i int) int {
			if i >= len(b) {
				return 0
			}
			return int(int8(b[i])) * 37
		}
		pr := TwoProportionZ(ints(0), ints(1), ints(2), ints(3))
		checkP(t, "two-proportion", pr.P)
		checkIn(t, "Cohen's h", pr.CohensH, -math.Pi, math.Pi)

		all := append(append([]float64{}, x...), y...)
		for _, adj := range [][]float64{Holm(all), BenjaminiHochberg(all)} {
			if len(adj) != len(all) {
				t.Fatalf("adjusted %d values, want %d", len(adj), len(all))
			}
			for _, p := range adj {
				checkP(t, "adjusted", p)
			}
		}

		mean, sd := 0.0, 1.0
		if len(x) >= 2 {
			mean, sd = x[0], x[1]
		}
		if c, err := NewCUSUM(CUSUMConfig{Mean: mean, SD: sd, Side: Side(cut % 3)}); err == nil {
			for i, v := range y {
				if a, ok := c.Add(v); ok && (a.Index != i || a.ChangePoint > a.Index || a.ChangePoint < 0) {
					t.Fatalf("alarm %+v at observation %d", a, i)
				}
			}
		}
	})
}

func FuzzDistributions(f *testing.F) {
	f.Add(1.0, 1.0)
	f.Add(0.5, 1e-300)
	f.Add(1e6, 1e6+3)
	f.Add(1e-8, 50.0)
	f.Add(3.0, math.Inf(1))
	f.Fuzz(func(t *testing.T, a, x float64) {
		p, q := GammaP(a, x), GammaQ(a, x)
		valid := a > 0 && x >= 0 && !math.IsInf(a, 0)
		if !valid {
			return
		}
		checkP(t, "GammaP", p)
		checkP(t, "GammaQ", q)
		if math.Abs(p+q-1) > 1e-9 {
			t.Fatalf("P(%v,%v)+Q = %v", a, x, p+q)
		}
		checkP(t, "ChiSquaredSF", ChiSquaredSF(x, a))
		checkP(t, "KolmogorovSF", KolmogorovSF(x))
		checkIn(t, "NormalCDF", NormalCDF(x), 0, 1)
	})
}
