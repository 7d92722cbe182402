package evalstats

import (
	"fmt"
	"math"
)

// Weighting says how much a disagreement between two categories counts in
// Cohen's kappa. Categories are ordered by their index for Linear and
// Quadratic.
type Weighting int

const (
	// Unweighted is Cohen's (1960) kappa for nominal labels: every
	// disagreement counts fully.
	Unweighted Weighting = iota
	// Linear weights a disagreement between categories i and j by
	// |i-j|/(k-1) (Cicchetti-Allison; Cohen 1968).
	Linear
	// Quadratic weights it by (i-j)²/(k-1)² (Fleiss-Cohen 1973); the usual
	// choice for Likert scales.
	Quadratic
)

func (w Weighting) String() string {
	switch w {
	case Unweighted:
		return "unweighted"
	case Linear:
		return "linear"
	case Quadratic:
		return "quadratic"
	}
	return fmt.Sprintf("Weighting(%d)", int(w))
}

// disagreement is the weight of the cell (i, j) in a k-category table.
func (w Weighting) disagreement(i, j, k int) float64 {
	if i == j {
		return 0
	}
	switch w {
	case Linear:
		return math.Abs(float64(i-j)) / float64(k-1)
	case Quadratic:
		d := float64(i-j) / float64(k-1)
		return d * d
	}
	return 1
}

// Agreement is two raters' agreement over the same items.
type Agreement struct {
	Weighting Weighting `json:"weighting"`
	// Confusion[i][j] counts the items rater A put in category i and rater
	// B in category j. By Weir's convention A is the human, B the judge.
	Confusion [][]int `json:"confusion"`
	Items     int     `json:"items"`
	// Observed is the (weighted) observed agreement 1 - Σ w·o / n; Expected
	// the agreement expected by chance from the two raters' marginals,
	// 1 - Σ w·r·c / n². For Unweighted these are p_o and p_e.
	Observed float64 `json:"observed"`
	Expected float64 `json:"expected"`
	// Accuracy is the share of items on the diagonal, whatever the weighting.
	Accuracy float64 `json:"accuracy"`
	// Kappa is (Observed - Expected) / (1 - Expected); NaN when undefined.
	Kappa float64 `json:"kappa"`
}

// Codes maps each label to its index in categories, the order that Linear
// and Quadratic weights use. A label outside categories, or a category
// listed twice, is an error.
func Codes[L comparable](categories, labels []L) ([]int, error) {
	index := make(map[L]int, len(categories))
	for i, c := range categories {
		if _, dup := index[c]; dup {
			return nil, fmt.Errorf("category %v listed twice", c)
		}
		index[c] = i
	}
	out := make([]int, len(labels))
	for n, l := range labels {
		i, ok := index[l]
		if !ok {
			return nil, fmt.Errorf("label %v at %d: not a category", l, n)
		}
		out[n] = i
	}
	return out, nil
}

// Confusion counts two raters' category indexes (0..categories-1) over the
// same items into a categories×categories table, rows for a and columns
// for b.
func Confusion(a, b []int, categories int) ([][]int, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("confusion: %d ratings against %d", len(a), len(b))
	}
	if categories < 1 {
		return nil, fmt.Errorf("confusion: %d categories", categories)
	}
	m := newTable(categories)
	for n := range a {
		i, j := a[n], b[n]
		if i < 0 || i >= categories || j < 0 || j >= categories {
			return nil, fmt.Errorf("confusion: item %d rated %d and %d, outside 0..%d", n, i, j, categories-1)
		}
		m[i][j]++
	}
	return m, nil
}

func newTable(k int) [][]int {
	cells := make([]int, k*k)
	m := make([][]int, k)
	for i := range m {
		m[i] = cells[i*k : (i+1)*k : (i+1)*k]
	}
	return m
}

// Kappa is Cohen's kappa, weighted or not, for two raters' category indexes
// (0..categories-1) over the same items. Use Codes to turn labels into
// indexes. When kappa is undefined the Agreement is still filled, with Kappa
// NaN, and the error wraps ErrUndefined.
func Kappa(a, b []int, categories int, w Weighting) (Agreement, error) {
	m, err := Confusion(a, b, categories)
	if err != nil {
		return Agreement{}, fmt.Errorf("kappa: %w", err)
	}
	return KappaFromConfusion(m, w)
}

// KappaFromConfusion is Kappa for a square table of counts, rows for rater
// A and columns for rater B, as published tables give them.
func KappaFromConfusion(m [][]int, w Weighting) (Agreement, error) {
	k := len(m)
	if k == 0 {
		return Agreement{}, fmt.Errorf("kappa: empty table: %w", ErrNoData)
	}
	if w < Unweighted || w > Quadratic {
		return Agreement{}, fmt.Errorf("kappa: unknown weighting %d", int(w))
	}
	rows := make([]float64, k)
	cols := make([]float64, k)
	var n, diag, do float64
	for i, row := range m {
		if len(row) != k {
			return Agreement{}, fmt.Errorf("kappa: row %d has %d cells, want %d", i, len(row), k)
		}
		for j, c := range row {
			if c < 0 {
				return Agreement{}, fmt.Errorf("kappa: negative count %d at (%d, %d)", c, i, j)
			}
			f := float64(c)
			rows[i] += f
			cols[j] += f
			n += f
			if i == j {
				diag += f
			}
			do += w.disagreement(i, j, k) * f
		}
	}
	if n == 0 {
		return Agreement{}, fmt.Errorf("kappa: no items: %w", ErrNoData)
	}
	var de float64
	for i := range k {
		for j := range k {
			de += w.disagreement(i, j, k) * rows[i] * cols[j]
		}
	}
	do /= n
	de /= n * n
	ag := Agreement{
		Weighting: w,
		Confusion: m,
		Items:     int(n),
		Observed:  1 - do,
		Expected:  1 - de,
		Accuracy:  diag / n,
		Kappa:     math.NaN(),
	}
	if de == 0 {
		return ag, fmt.Errorf("kappa: chance agreement is already perfect: %w", ErrUndefined)
	}
	ag.Kappa = 1 - do/de
	return ag, nil
}

// Trusted is the calibration rule of issue 8: a judge is trusted for a
// criterion version only when at least minItems items carry both a human and
// the judge's score and the lower bound of its kappa's confidence interval
// is above threshold. A NaN bound is never trusted.
func Trusted(kappaLower, threshold float64, doubleScored, minItems int) bool {
	return doubleScored >= minItems && doubleScored > 0 && kappaLower > threshold
}
