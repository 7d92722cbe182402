package forecast

import (
	"math"
	"slices"
)

// median returns the median of v, sorting v in place; 0 for no values.
func median(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	slices.Sort(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// quantile returns the q-quantile of v, interpolating linearly between
// order statistics. It reorders v.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	pos := q * float64(len(v)-1)
	i := int(pos)
	x := nth(v, i)
	if i == len(v)-1 || pos == float64(i) {
		return x
	}
	// nth left v[i+1:] >= x: the next order statistic is their minimum.
	return x + (pos-float64(i))*(slices.Min(v[i+1:])-x)
}

// nth reorders v so that v[k] is its k-th smallest value (from 0), with
// nothing larger before it and nothing smaller after it, and returns it
// (Hoare's selection). The values must not be NaN.
func nth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		a, b, c := v[lo], v[lo+(hi-lo)/2], v[hi]
		pivot := max(min(a, b), min(max(a, b), c)) // median of three
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

func mean(v []float64) float64 {
	var sum float64
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

// stddev is the sample standard deviation of v around mean m.
func stddev(v []float64, m float64) float64 {
	if len(v) < 2 {
		return 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(v)-1))
}
