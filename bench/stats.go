package main

import (
	"math"
	"slices"
)

// Dist summarises a sample of durations, in milliseconds. Percentiles are
// nearest-rank.
type Dist struct {
	N    int     `json:"n"`
	Min  float64 `json:"min_ms"`
	P10  float64 `json:"p10_ms"`
	P25  float64 `json:"p25_ms"`
	P50  float64 `json:"p50_ms"`
	P75  float64 `json:"p75_ms"`
	P90  float64 `json:"p90_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// distOf summarises ns, which it sorts.
func distOf(ns []int64) Dist {
	if len(ns) == 0 {
		return Dist{}
	}
	slices.Sort(ns)
	sum := 0.0
	for _, v := range ns {
		sum += float64(v)
	}
	return Dist{
		N:    len(ns),
		Min:  ms(ns[0]),
		P10:  ms(percentile(ns, 10)),
		P25:  ms(percentile(ns, 25)),
		P50:  ms(percentile(ns, 50)),
		P75:  ms(percentile(ns, 75)),
		P90:  ms(percentile(ns, 90)),
		P95:  ms(percentile(ns, 95)),
		P99:  ms(percentile(ns, 99)),
		P999: ms(percentile(ns, 99.9)),
		Max:  ms(ns[len(ns)-1]),
		Mean: round3(sum / float64(len(ns)) / 1e6),
	}
}

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ms converts ns to milliseconds rounded to the microsecond.
func ms(ns int64) float64 { return round3(float64(ns) / 1e6) }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// median of ns, which it sorts.
func median(ns []int64) int64 {
	slices.Sort(ns)
	return percentile(ns, 50)
}
