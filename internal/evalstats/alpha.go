package evalstats

import (
	"fmt"
	"math"
	"slices"
)

// Metric is the difference function δ² of Krippendorff's alpha, chosen by
// the level of measurement of the values.
type Metric int

const (
	// NominalMetric: δ² is 0 for equal values and 1 otherwise.
	NominalMetric Metric = iota
	// OrdinalMetric: values are ranks; δ² between c and k grows with the
	// number of pairable values that lie between them (Krippendorff 2011).
	OrdinalMetric
	// IntervalMetric: δ² = (c-k)².
	IntervalMetric
	// RatioMetric: δ² = ((c-k)/(c+k))²; values must not be negative.
	RatioMetric
)

func (m Metric) String() string {
	switch m {
	case NominalMetric:
		return "nominal"
	case OrdinalMetric:
		return "ordinal"
	case IntervalMetric:
		return "interval"
	case RatioMetric:
		return "ratio"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// Reliability is Krippendorff's alpha over a reliability data matrix.
type Reliability struct {
	Metric Metric `json:"metric"`
	// Alpha is 1 - Observed/Expected; NaN when undefined.
	Alpha float64 `json:"alpha"`
	// Observed and Expected are the disagreements D_o and D_e.
	Observed float64 `json:"observed"`
	Expected float64 `json:"expected"`
	// Units counts the units with at least two ratings (the others are
	// ignored); Pairable the values in them (n).
	Units    int `json:"units"`
	Pairable int `json:"pairable"`
	// Values are the distinct pairable values in ascending order;
	// Coincidence[c][k] the coincidences o_ck between Values[c] and
	// Values[k].
	Values      []float64   `json:"values"`
	Coincidence [][]float64 `json:"coincidence"`
}

// alphaData is a reliability data matrix prepared once: each unit's
// ratings as indexes into the sorted distinct values. Units with fewer than
// two ratings are dropped.
type alphaData struct {
	metric Metric
	values []float64
	units  [][]int
}

func prepareAlpha(units [][]float64, m Metric) (*alphaData, error) {
	if m < NominalMetric || m > RatioMetric {
		return nil, fmt.Errorf("alpha: unknown metric %d", int(m))
	}
	var distinct []float64
	kept := 0
	for u, ratings := range units {
		c := 0
		for _, v := range ratings {
			if math.IsNaN(v) {
				continue
			}
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("alpha: unit %d: infinite value", u)
			}
			if m == RatioMetric && v < 0 {
				return nil, fmt.Errorf("alpha: unit %d: negative value %v on a ratio scale", u, v)
			}
			c++
		}
		if c < 2 {
			continue
		}
		kept++
		for _, v := range ratings {
			if !math.IsNaN(v) {
				distinct = append(distinct, v)
			}
		}
	}
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	index := make(map[float64]int, len(distinct))
	for i, v := range distinct {
		index[v] = i
	}
	d := &alphaData{metric: m, values: distinct, units: make([][]int, 0, kept)}
	for _, ratings := range units {
		var idx []int
		for _, v := range ratings {
			if !math.IsNaN(v) {
				idx = append(idx, index[v])
			}
		}
		if len(idx) >= 2 {
			d.units = append(d.units, idx)
		}
	}
	return d, nil
}

// Alpha is Krippendorff's alpha for any number of coders with missing
// data, computed through the coincidence matrix (Krippendorff 2011,
// "Computing Krippendorff's Alpha-Reliability"). units[u] holds the ratings
// unit u received, one per coder, NaN where a coder gave none; rows may
// differ in length. For NominalMetric and OrdinalMetric the values are
// category codes (their order matters for OrdinalMetric only). Units with
// fewer than two ratings are ignored. When alpha is undefined (every pairable value is the same)
// the Reliability is still filled, with Alpha NaN, and the error wraps
// ErrUndefined.
func Alpha(units [][]float64, m Metric) (Reliability, error) {
	d, err := prepareAlpha(units, m)
	if err != nil {
		return Reliability{}, err
	}
	return d.compute(nil, true)
}

// compute works on the units named by sample (all units when sample is nil);
// full also fills the coincidence matrix and values in the result.
func (d *alphaData) compute(sample []int, full bool) (Reliability, error) {
	v := len(d.values)
	o := make([]float64, v*v)
	units := 0
	add := func(idx []int) {
		units++
		w := 1 / float64(len(idx)-1)
		for i, c := range idx {
			for j, k := range idx {
				if i != j {
					o[c*v+k] += w
				}
			}
		}
	}
	if sample == nil {
		for _, idx := range d.units {
			add(idx)
		}
	} else {
		for _, u := range sample {
			add(d.units[u])
		}
	}
	r := Reliability{Metric: d.metric, Alpha: math.NaN(), Units: units}
	if units == 0 {
		return r, fmt.Errorf("alpha: no unit with two or more ratings: %w", ErrNoData)
	}
	nc := make([]float64, v)
	var n float64
	for c := range v {
		for k := range v {
			nc[c] += o[c*v+k]
		}
		n += nc[c]
	}
	delta := d.deltas(nc)
	var do, de float64
	for c := range v {
		for k := range v {
			dd := delta[c*v+k]
			if dd == 0 {
				continue
			}
			do += o[c*v+k] * dd
			de += nc[c] * nc[k] * dd
		}
	}
	r.Pairable = int(math.Round(n))
	r.Observed = do / n
	r.Expected = de / (n * (n - 1))
	if full {
		r.Values = slices.Clone(d.values)
		r.Coincidence = make([][]float64, v)
		for c := range v {
			r.Coincidence[c] = o[c*v : (c+1)*v : (c+1)*v]
		}
	}
	if de == 0 {
		return r, fmt.Errorf("alpha: all pairable values are equal: %w", ErrUndefined)
	}
	r.Alpha = 1 - r.Observed/r.Expected
	return r, nil
}

// deltas is the v×v table of δ² for the metric; nc are the marginal counts
// n_c the ordinal metric needs.
func (d *alphaData) deltas(nc []float64) []float64 {
	v := len(d.values)
	out := make([]float64, v*v)
	var cum []float64
	if d.metric == OrdinalMetric {
		cum = make([]float64, v+1)
		for g := range v {
			cum[g+1] = cum[g] + nc[g]
		}
	}
	for c := range v {
		for k := c + 1; k < v; k++ {
			var dd float64
			a, b := d.values[c], d.values[k]
			switch d.metric {
			case NominalMetric:
				dd = 1
			case OrdinalMetric:
				// Σ_{g=c..k} n_g - (n_c + n_k)/2, squared.
				s := cum[k+1] - cum[c] - (nc[c]+nc[k])/2
				dd = s * s
			case IntervalMetric:
				dd = (a - b) * (a - b)
			case RatioMetric:
				if a+b != 0 {
					q := (a - b) / (a + b)
					dd = q * q
				}
			}
			out[c*v+k] = dd
			out[k*v+c] = dd
		}
	}
	return out
}
