package drift

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/weirhq/weir/internal/drift/stat"
	"github.com/weirhq/weir/internal/store"
)

// Config decides when a behaviour signal drifted. Zero fields take the
// defaults of DefaultConfig.
type Config struct {
	// Alpha is the false discovery rate the p-values of one scope's
	// checks are held to after the Benjamini–Hochberg correction.
	Alpha float64 `yaml:"alpha" json:"alpha"`
	// RecentCalls are the sizes of the recent windows compared with the
	// baseline: a short one reacts within tens of calls to a large
	// change, a long one finds a small one.
	RecentCalls []int `yaml:"recent_calls" json:"recent_calls"`
	// BaselineCalls is how many calls before the recent window form the
	// baseline (at most), MinBaseline how many it needs at least, and
	// MinRecent how many a recent window needs.
	BaselineCalls int `yaml:"baseline_calls" json:"baseline_calls"`
	MinBaseline   int `yaml:"min_baseline" json:"min_baseline"`
	MinRecent     int `yaml:"min_recent" json:"min_recent"`
	// Minimum effects: the Kolmogorov–Smirnov distance D for continuous
	// signals, Cramér's V for finish reasons, Cohen's h and the absolute
	// difference for rates.
	MinD        float64 `yaml:"min_d" json:"min_d"`
	MinV        float64 `yaml:"min_v" json:"min_v"`
	MinH        float64 `yaml:"min_h" json:"min_h"`
	MinRateDiff float64 `yaml:"min_rate_diff" json:"min_rate_diff"`
}

// DefaultConfig is the detection design of docs/drift.md.
func DefaultConfig() Config {
	return Config{Alpha: 0.0001, RecentCalls: []int{200, 2000}, BaselineCalls: 5000, MinBaseline: 200, MinRecent: 50,
		MinD: 0.15, MinV: 0.1, MinH: 0.2, MinRateDiff: 0.01}
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Alpha <= 0 {
		c.Alpha = d.Alpha
	}
	if len(c.RecentCalls) == 0 {
		c.RecentCalls = d.RecentCalls
	}
	if c.BaselineCalls <= 0 {
		c.BaselineCalls = d.BaselineCalls
	}
	if c.MinBaseline <= 0 {
		c.MinBaseline = d.MinBaseline
	}
	if c.MinRecent <= 0 {
		c.MinRecent = d.MinRecent
	}
	if c.MinD <= 0 {
		c.MinD = d.MinD
	}
	if c.MinV <= 0 {
		c.MinV = d.MinV
	}
	if c.MinH <= 0 {
		c.MinH = d.MinH
	}
	if c.MinRateDiff <= 0 {
		c.MinRateDiff = d.MinRateDiff
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Alpha < 0 || c.Alpha >= 1:
		return fmt.Errorf("drift: alpha %v must be in [0, 1)", c.Alpha)
	case c.MinD < 0 || c.MinD > 1, c.MinV < 0 || c.MinV > 1, c.MinRateDiff < 0 || c.MinRateDiff > 1:
		return fmt.Errorf("drift: min_d, min_v and min_rate_diff must be in [0, 1]")
	case c.MinH < 0 || c.MinH > math.Pi:
		return fmt.Errorf("drift: min_h %v must be in [0, π]", c.MinH)
	}
	for _, n := range c.RecentCalls {
		if n < 1 {
			return fmt.Errorf("drift: recent_calls %d must be positive", n)
		}
	}
	return nil
}

// Finding is one signal that drifted in one scope.
type Finding struct {
	Signal string `json:"signal"`
	Test   string `json:"test"`
	// Statistic is the test's statistic (D, χ², z); P its p-value and
	// PAdjusted after the Benjamini–Hochberg correction over the scope's
	// checks.
	Statistic float64 `json:"statistic"`
	P         float64 `json:"p"`
	PAdjusted float64 `json:"p_adjusted"`
	// Effect is the effect size (EffectName: ks_d, cramers_v, cohens_h)
	// and MinEffect the threshold it passed.
	EffectName string  `json:"effect_name"`
	Effect     float64 `json:"effect"`
	MinEffect  float64 `json:"min_effect"`
	// Direction is "up", "down" or "changed" (a new mix of categories).
	Direction string `json:"direction"`
	// Change is the relative change of the median (continuous) or the
	// difference of rates (recent minus baseline).
	Change   float64 `json:"change"`
	Baseline Window  `json:"baseline"`
	Recent   Window  `json:"recent"`
	// Edges are the bin edges of both windows' histograms (continuous
	// signals): len(Histogram)+1 values from the smallest value to the
	// 99th percentile of both, the last bin also holding what lies above.
	Edges []float64 `json:"edges,omitempty"`
	// StartedAt estimates when the change began: the offline CUSUM
	// change point of the series (Page 1954), the call where the
	// cumulative deviation from the overall mean peaks.
	StartedAt time.Time `json:"started_at"`
	// Changes is what else appeared around it: model identities, prompt
	// versions, use case versions and routes not seen before the change
	// point.
	Changes []Change `json:"changes"`
}

// Window is one side of a comparison, with what a person needs to see
// the difference.
type Window struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Calls int       `json:"calls"`
	// Continuous signals.
	Mean      *float64   `json:"mean,omitempty"`
	Quantiles *Quantiles `json:"quantiles,omitempty"`
	Histogram []int      `json:"histogram,omitempty"`
	// Rates.
	Hits *int     `json:"hits,omitempty"`
	Rate *float64 `json:"rate,omitempty"`
	// Categorical signals.
	Categories map[string]int `json:"categories,omitempty"`
}

// Quantiles of a continuous window.
type Quantiles struct {
	P5  float64 `json:"p5"`
	P25 float64 `json:"p25"`
	P50 float64 `json:"p50"`
	P75 float64 `json:"p75"`
	P95 float64 `json:"p95"`
}

// Change is something that appeared around or after the change point
// that the calls before it did not have.
type Change struct {
	// Kind is model_identity, prompt_version, use_case_version or route.
	Kind string `json:"kind"`
	// Value is the new value; Previous the baseline's most frequent one.
	Value    string `json:"value"`
	Previous string `json:"previous,omitempty"`
	// FirstSeen is its first call; Share its part of the calls since.
	FirstSeen time.Time `json:"first_seen"`
	Share     float64   `json:"share"`
	// Near says it first appeared close to the change point (within a
	// quarter of the calls after it, at least 25 calls).
	Near bool `json:"near"`
}

// point is one call's value of a signal.
type point struct {
	i   int // index into the calls
	v   float64
	cat string
}

// candidate is one window's check of one signal.
type candidate struct {
	sig      *signal
	recent   int // points in the recent window
	f        Finding
	passes   bool // effect and sample rules
	series   []point
	baseFrom int // index into series where the baseline starts
}

// Detect checks every behaviour signal of one scope's calls (oldest
// first) and returns the signals that drifted, at most one finding per
// signal (its most significant window). since, when set for a signal,
// starts its series there: after a drift event the new behaviour is the
// baseline of the next one.
func Detect(calls []store.CallSignal, since map[string]time.Time, cfg Config) []Finding {
	cfg = cfg.withDefaults()
	var cands []candidate
	for si := range signals {
		s := &signals[si]
		series := seriesOf(s, calls, since[s.name])
		seen := map[int]bool{}
		for _, w := range cfg.RecentCalls {
			n := min(w, len(series)-cfg.MinBaseline)
			if n < cfg.MinRecent || seen[n] {
				continue
			}
			seen[n] = true
			baseFrom := max(0, len(series)-n-cfg.BaselineCalls)
			c := check(s, series[baseFrom:len(series)-n], series[len(series)-n:], cfg)
			c.series, c.baseFrom, c.recent = series, baseFrom, n
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	ps := make([]float64, len(cands))
	for i, c := range cands {
		ps[i] = c.f.P
	}
	adj := stat.BenjaminiHochberg(ps)
	best := map[string]int{}
	for i := range cands {
		cands[i].f.PAdjusted = adj[i]
		if !cands[i].passes || adj[i] >= cfg.Alpha {
			continue
		}
		name := cands[i].sig.name
		if j, ok := best[name]; !ok || adj[i] < adj[j] || adj[i] == adj[j] && cands[i].f.Effect > cands[j].f.Effect {
			best[name] = i
		}
	}
	var out []Finding
	for _, s := range signals {
		i, ok := best[s.name]
		if !ok {
			continue
		}
		c := cands[i]
		f := c.f
		recentFrom := len(c.series) - c.recent
		f.Baseline.From, f.Baseline.To = calls[c.series[c.baseFrom].i].ReceivedAt, calls[c.series[recentFrom-1].i].ReceivedAt
		f.Recent.From, f.Recent.To = calls[c.series[recentFrom].i].ReceivedAt, calls[c.series[len(c.series)-1].i].ReceivedAt
		if c.sig.kind == continuous {
			recent := c.series[recentFrom:]
			f.Edges, f.Baseline.Histogram, f.Recent.Histogram = histograms(values(c.series[c.baseFrom:recentFrom]), values(recent), 20)
		}
		cp := changePoint(c.sig, c.series[c.baseFrom:], recentFrom-c.baseFrom, f)
		f.StartedAt = calls[c.series[c.baseFrom+cp].i].ReceivedAt
		f.Changes = changes(calls, c.series[c.baseFrom].i, c.series[c.baseFrom+cp].i)
		out = append(out, f)
	}
	return out
}

// seriesOf reads a signal's points from the calls since a time.
func seriesOf(s *signal, calls []store.CallSignal, since time.Time) []point {
	out := make([]point, 0, len(calls))
	for i := range calls {
		c := &calls[i]
		if !since.IsZero() && c.ReceivedAt.Before(since) {
			continue
		}
		switch s.kind {
		case continuous:
			if v, ok := s.value(c); ok {
				out = append(out, point{i: i, v: v})
			}
		case rate:
			if hit, ok := s.hit(c); ok {
				v := 0.0
				if hit {
					v = 1
				}
				out = append(out, point{i: i, v: v})
			}
		case categorical:
			if cat, ok := s.category(c); ok {
				out = append(out, point{i: i, cat: cat})
			}
		}
	}
	return out
}

// check runs a signal's test on one window pair.
func check(s *signal, base, recent []point, cfg Config) candidate {
	c := candidate{sig: s}
	f := &c.f
	f.Signal = s.name
	f.Baseline.Calls, f.Recent.Calls = len(base), len(recent)
	switch s.kind {
	case continuous:
		x, y := values(base), values(recent)
		r := stat.KolmogorovSmirnov(x, y)
		f.Test, f.Statistic, f.P = TestKS, r.D, r.P
		f.EffectName, f.Effect, f.MinEffect = "ks_d", r.D, cfg.MinD
		slices.Sort(x)
		slices.Sort(y)
		describe(&f.Baseline, x)
		describe(&f.Recent, y)
		mb, mr := f.Baseline.Quantiles.P50, f.Recent.Quantiles.P50
		switch {
		case mb != 0:
			f.Change = (mr - mb) / math.Abs(mb)
		case mr != 0:
			f.Change = math.Inf(1)
		}
		if math.IsInf(f.Change, 0) {
			f.Change = 1 // from nothing: reported as +100%
		}
		f.Direction = direction(*f.Recent.Mean - *f.Baseline.Mean)
		if mr != mb {
			f.Direction = direction(mr - mb)
		}
		// Two windows whose values are all equal cannot drift.
		c.passes = r.D >= cfg.MinD && (x[0] != x[len(x)-1] || y[0] != y[len(y)-1] || x[0] != y[0])
	case rate:
		x1, x2 := hits(base), hits(recent)
		r := stat.TwoProportionZ(x1, len(base), x2, len(recent))
		// The z statistic says how far apart; Fisher's exact test says
		// how surprising, also for a handful of events.
		f.Test, f.Statistic, f.P = TestFisher, r.Z, stat.FisherExact(x1, len(base), x2, len(recent))
		f.EffectName, f.Effect, f.MinEffect = "cohens_h", math.Abs(r.CohensH), cfg.MinH
		f.Change, f.Direction = r.Diff, direction(r.Diff)
		f.Baseline.Hits, f.Baseline.Rate = &x1, &r.P1
		f.Recent.Hits, f.Recent.Rate = &x2, &r.P2
		c.passes = math.Abs(r.CohensH) >= cfg.MinH && math.Abs(r.Diff) >= cfg.MinRateDiff
	case categorical:
		cb, cr := categories(base), categories(recent)
		names := make([]string, 0, len(cb)+len(cr))
		for k := range cb {
			names = append(names, k)
		}
		for k := range cr {
			if _, ok := cb[k]; !ok {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		a, b := make([]float64, len(names)), make([]float64, len(names))
		for i, k := range names {
			a[i], b[i] = float64(cb[k]), float64(cr[k])
		}
		r := stat.ChiSquaredHomogeneity(a, b)
		f.Test, f.Statistic, f.P = TestChiSquared, r.Statistic, r.P
		f.EffectName, f.Effect, f.MinEffect = "cramers_v", r.CramersV, cfg.MinV
		f.Direction = "changed"
		f.Baseline.Categories, f.Recent.Categories = cb, cr
		// Sparse tables: the chi-squared approximation wants expected
		// counts of 5; below 1 anywhere the p-value is not trusted.
		c.passes = r.CramersV >= cfg.MinV && r.MinExpected >= 1
	}
	return c
}

func direction(d float64) string {
	switch {
	case d > 0:
		return "up"
	case d < 0:
		return "down"
	}
	return "changed"
}

func values(ps []point) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = p.v
	}
	return out
}

func hits(ps []point) int {
	n := 0
	for _, p := range ps {
		if p.v != 0 {
			n++
		}
	}
	return n
}

func categories(ps []point) map[string]int {
	out := map[string]int{}
	for _, p := range ps {
		out[p.cat]++
	}
	return out
}

// describe fills a continuous window's summary from sorted values.
func describe(w *Window, sorted []float64) {
	if len(sorted) == 0 {
		return
	}
	var sum float64
	for _, v := range sorted {
		sum += v
	}
	mean := sum / float64(len(sorted))
	w.Mean = &mean
	w.Quantiles = &Quantiles{P5: quantile(sorted, 0.05), P25: quantile(sorted, 0.25), P50: quantile(sorted, 0.5),
		P75: quantile(sorted, 0.75), P95: quantile(sorted, 0.95)}
}

// quantile interpolates linearly between order statistics (type 7).
func quantile(sorted []float64, q float64) float64 {
	h := q * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// changePoint estimates where a drifted series changed: series is the
// baseline and the recent window (which starts at recentFrom). It runs
// Page's one-sided CUSUM in the direction of the change from 200 points
// before the recent window, against the baseline's mean μ₀ with the
// reference value k half the shift seen (below):
// Sᵢ = max(0, Sᵢ₋₁ ± (xᵢ - μ₀) - k); the change point is the first point
// after the last time S stood at zero before its peak (Montgomery's N⁺
// counter). Continuous values are on a log scale, rates 0/1, categories
// through the one that moved most.
func changePoint(s *signal, series []point, recentFrom int, f Finding) int {
	var top string
	dir := 1.0
	if s.kind == categorical {
		best := -1.0
		for _, k := range slices.Sorted(maps.Keys(f.Recent.Categories)) {
			d := float64(f.Recent.Categories[k])/float64(max(f.Recent.Calls, 1)) - float64(f.Baseline.Categories[k])/float64(max(f.Baseline.Calls, 1))
			if math.Abs(d) > best {
				best, top, dir = math.Abs(d), k, math.Copysign(1, d)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(f.Baseline.Categories)) {
			if _, ok := f.Recent.Categories[k]; !ok {
				if d := float64(f.Baseline.Categories[k]) / float64(max(f.Baseline.Calls, 1)); d > best {
					best, top, dir = d, k, -1
				}
			}
		}
	}
	x := func(p point) float64 {
		switch s.kind {
		case continuous:
			return math.Log1p(math.Max(p.v, 0))
		case categorical:
			if p.cat == top {
				return 1
			}
			return 0
		}
		return p.v
	}
	mean := func(ps []point) float64 {
		var sum float64
		for _, p := range ps {
			sum += x(p)
		}
		return sum / float64(max(len(ps), 1))
	}
	// A continuous shift is estimated from the newest 50 points (the
	// recent window may still be mostly the old behaviour); a rate's from
	// the whole window, as 50 points hold too few events.
	mu0, mu1 := mean(series[:recentFrom]), mean(series[recentFrom:])
	if s.kind == continuous {
		mu1 = mean(series[max(recentFrom, len(series)-50):])
	}
	if s.kind != categorical && mu1 < mu0 {
		dir = -1
	}
	k := math.Abs(mu1-mu0) / 2
	lo := max(0, recentFrom-200)
	var sum, peak float64
	zero, at := lo, recentFrom
	for i := lo; i < len(series); i++ {
		sum = math.Max(0, sum+dir*(x(series[i])-mu0)-k)
		if sum == 0 {
			zero = i + 1
		}
		if sum > peak {
			peak, at = sum, zero
		}
	}
	return min(at, len(series)-1)
}

// changes lists what is new from around the change point (call cp) on
// against the calls before it (from baseFrom), nearest to the change
// point first. Near is within a quarter of the calls after it (at least
// 25): the change point of a change found early is known to tens of calls.
func changes(calls []store.CallSignal, baseFrom, cp int) []Change {
	attrs := []struct {
		kind  string
		value func(c *store.CallSignal) string
	}{
		{"model_identity", func(c *store.CallSignal) string {
			if !c.OK || c.ResponseModel == "" && c.SystemFingerprint == "" {
				return ""
			}
			return c.ResponseModel + " " + c.SystemFingerprint
		}},
		{"prompt_version", func(c *store.CallSignal) string {
			if c.Prompt == "" {
				return ""
			}
			v := fmt.Sprintf("%s@%d", c.Prompt, c.PromptVersion)
			if c.PromptVariant != "" {
				v += " " + c.PromptVariant
			}
			return v
		}},
		{"use_case_version", func(c *store.CallSignal) string { return c.UseCaseVersion }},
		{"route", func(c *store.CallSignal) string { return c.Route }},
	}
	after := len(calls) - cp
	near := max(after/4, 25)
	priorTo := max(baseFrom, cp-near)
	out := []Change{}
	for _, a := range attrs {
		base := map[string]int{}
		for i := baseFrom; i < priorTo; i++ {
			if v := a.value(&calls[i]); v != "" {
				base[v]++
			}
		}
		prev, prevN := "", 0
		for v, n := range base {
			if n > prevN || n == prevN && v < prev {
				prev, prevN = v, n
			}
		}
		first := map[string]int{}
		count := map[string]int{}
		for i := priorTo; i < len(calls); i++ {
			v := a.value(&calls[i])
			if v == "" || base[v] > 0 {
				continue
			}
			if _, ok := first[v]; !ok {
				first[v] = i
			}
			count[v]++
		}
		for v, i := range first {
			d := i - cp
			out = append(out, Change{Kind: a.kind, Value: v, Previous: prev, FirstSeen: calls[i].ReceivedAt,
				Share: float64(count[v]) / float64(len(calls)-priorTo), Near: d >= -near && d <= near})
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		da, db := a.FirstSeen.Sub(calls[cp].ReceivedAt).Abs(), b.FirstSeen.Sub(calls[cp].ReceivedAt).Abs()
		return cmp.Or(cmp.Compare(da, db), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Value, b.Value))
	})
	return out
}

// histograms bins two samples on shared edges: bins equal bins from the
// smallest value to the 99th percentile of both (values above fall in the
// last bin).
func histograms(a, b []float64, bins int) (edges []float64, ha, hb []int) {
	all := append(slices.Clone(a), b...)
	if len(all) == 0 {
		return nil, nil, nil
	}
	slices.Sort(all)
	lo, hi := all[0], quantile(all, 0.99)
	if hi <= lo {
		hi = all[len(all)-1]
	}
	if hi <= lo {
		hi = lo + 1
	}
	edges = make([]float64, bins+1)
	for i := range edges {
		edges[i] = lo + (hi-lo)*float64(i)/float64(bins)
	}
	bin := func(xs []float64) []int {
		h := make([]int, bins)
		for _, x := range xs {
			i := int((x - lo) / (hi - lo) * float64(bins))
			h[min(max(i, 0), bins-1)]++
		}
		return h
	}
	return edges, bin(a), bin(b)
}
