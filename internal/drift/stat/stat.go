// Package stat holds the statistics behind drift detection: two-sample
// tests for continuous, categorical and rate signals (Kolmogorov–Smirnov,
// Mann–Whitney U, chi-squared homogeneity, two-proportion z), their effect
// sizes, multiple-testing corrections (Holm, Benjamini–Hochberg) and the
// tabular CUSUM for sequential monitoring, with the distribution functions
// they need. It is pure (standard library only, no I/O, no state) and may
// be imported by any package; internal/drift is its main consumer.
//
// Every p-value returned lies in [0, 1]. Inputs that carry no information
// (empty samples, all NaN, no variance) give p = 1 and a zero effect, never
// a panic. NaN values in samples are ignored.
package stat

import "math"

// NormalCDF returns Φ(x), the standard normal distribution function.
func NormalCDF(x float64) float64 {
	return 0.5 * math.Erfc(-x/math.Sqrt2)
}

// NormalSF returns 1-Φ(x), computed without cancellation for large x.
func NormalSF(x float64) float64 {
	return 0.5 * math.Erfc(x/math.Sqrt2)
}

// NormalQuantile returns Φ⁻¹(p); it is -Inf for p = 0, +Inf for p = 1 and
// NaN outside [0, 1].
func NormalQuantile(p float64) float64 {
	switch {
	case math.IsNaN(p) || p < 0 || p > 1:
		return math.NaN()
	case p == 0:
		return math.Inf(-1)
	case p == 1:
		return math.Inf(1)
	}
	return -math.Sqrt2 * math.Erfcinv(2*p)
}

// twoSidedNormalP is the two-sided p-value 2·(1-Φ(|z|)), clipped to [0, 1].
func twoSidedNormalP(z float64) float64 {
	if math.IsNaN(z) {
		return 1
	}
	return clampP(2 * NormalSF(math.Abs(z)))
}

// clampP maps a computed probability into [0, 1]; NaN becomes 1 (no
// evidence of a difference).
func clampP(p float64) float64 {
	switch {
	case math.IsNaN(p) || p > 1:
		return 1
	case p < 0:
		return 0
	}
	return p
}

// finite returns the non-NaN values of xs in a new slice.
func finite(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	return out
}

// GammaP returns the regularized lower incomplete gamma function
// P(a, x) = γ(a, x)/Γ(a) for a > 0 and x ≥ 0, by the series for
// x < a+1 and the Lentz continued fraction otherwise (Numerical Recipes,
// 3rd ed., §6.2). It returns NaN for invalid arguments.
func GammaP(a, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(x) || a <= 0 || x < 0:
		return math.NaN()
	case x == 0:
		return 0
	case math.IsInf(x, 1):
		return 1
	case x < a+1:
		return gammaSeries(a, x)
	}
	return 1 - gammaCF(a, x)
}

// GammaQ returns the regularized upper incomplete gamma function
// Q(a, x) = 1 - P(a, x), computed directly in the tail.
func GammaQ(a, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(x) || a <= 0 || x < 0:
		return math.NaN()
	case x == 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	case x < a+1:
		return 1 - gammaSeries(a, x)
	}
	return gammaCF(a, x)
}

const (
	gammaEps  = 1e-15
	gammaTiny = 1e-300
)

// gammaIters bounds the series and the continued fraction. Near x = a both
// need O(√a) terms (about √(70a) for full precision), so the bound grows
// with a; it is capped so absurd arguments cannot stall a caller, which
// keeps full precision up to a ≈ 10¹⁰ (a chi-squared with 2·10¹⁰ degrees
// of freedom).
func gammaIters(a float64) int {
	return int(min(1e6, max(1e4, 10*math.Sqrt(a))))
}

// gammaPrefix is x^a e^-x / Γ(a), in logs to avoid overflow.
func gammaPrefix(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	return math.Exp(a*math.Log(x) - x - lg)
}

// gammaSeries is P(a, x) by its power series; converges fast for x < a+1.
func gammaSeries(a, x float64) float64 {
	ap, sum := a, 1/a
	del := sum
	for range gammaIters(a) {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*gammaEps {
			break
		}
	}
	return clampP(sum * gammaPrefix(a, x))
}

// gammaCF is Q(a, x) by the modified Lentz continued fraction; converges
// fast for x ≥ a+1.
func gammaCF(a, x float64) float64 {
	b := x + 1 - a
	c := 1 / gammaTiny
	d := 1 / b
	h := d
	for i, n := 1, gammaIters(a); i <= n; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < gammaTiny {
			d = gammaTiny
		}
		c = b + an/c
		if math.Abs(c) < gammaTiny {
			c = gammaTiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < gammaEps {
			break
		}
	}
	return clampP(gammaPrefix(a, x) * h)
}

// ChiSquaredSF returns P(X > x) for X chi-squared with df degrees of
// freedom, Q(df/2, x/2). It is 1 for x ≤ 0 and NaN for df ≤ 0.
func ChiSquaredSF(x, df float64) float64 {
	if math.IsNaN(df) || df <= 0 {
		return math.NaN()
	}
	if math.IsNaN(x) || x <= 0 {
		return 1
	}
	return GammaQ(df/2, x/2)
}

// KolmogorovSF returns P(K > λ) for the limiting Kolmogorov distribution,
// Q_KS(λ) = 2 Σ_{j≥1} (-1)^{j-1} e^{-2j²λ²} (the series of Numerical
// Recipes §6.14; for small λ the equivalent theta-function form, which
// converges there, is used). It is 1 for λ ≤ 0.
func KolmogorovSF(lambda float64) float64 {
	switch {
	case math.IsNaN(lambda) || lambda <= 0:
		return 1
	case lambda < 1.18:
		// P(K ≤ λ) = √(2π)/λ Σ_{j≥1} exp(-(2j-1)²π²/(8λ²)).
		y := math.Exp(-math.Pi * math.Pi / (8 * lambda * lambda))
		y8 := y * y * y * y * y * y * y * y
		cdf := math.Sqrt(2*math.Pi) / lambda * y * (1 + y8*(1+y8*y8*(1+y8*y8*y8)))
		return clampP(1 - cdf)
	}
	x := math.Exp(-2 * lambda * lambda)
	x3 := x * x * x
	return clampP(2 * x * (1 - x3*(1-x3*x*x*(1-x3*x3*x))))
}
