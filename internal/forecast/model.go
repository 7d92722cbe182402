package forecast

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The model, for at least minHistory complete days y[0..n-1] (n <= 91,
// oldest first, y[n-1] yesterday, days without spend as 0):
//
//  1. Weekday factors s[w], multiplicative and averaging 1. Each day's
//     ratio to the centred 7-day moving average (the nearest one at the
//     ends of the series) is taken; a weekday's raw factor is the median of
//     its ratios. Raw factors are shrunk toward 1 by empirical Bayes: the
//     noise of a factor is estimated from the spread of ratios within
//     weekdays (pooled with a prior of 0.2 worth 7 observations, so one or
//     two weeks shrink a lot), the size of the true weekly pattern from the
//     spread between weekdays, and each factor keeps the share
//     pattern/(pattern+noise) of its distance from 1. A use case with no
//     weekly pattern gets factors of 1; one with a clean pattern keeps it.
//  2. Deseasonalised spend x[t] = y[t]/s[w(t)]; days whose factor is below
//     0.2 (days of the week the use case barely runs) carry too little
//     signal and are left out of the level.
//  3. Spike clipping: x[t] above med + max(4·1.4826·MAD, med) of its
//     centred 7-day window (med > 0) is clipped to that bound, so a one-day
//     burst (more than twice the local median and far outside its noise)
//     does not raise every later day. Low days, days without spend
//     included, are never clipped, so the level estimates mean spend.
//     A new level lasting four days or more is not a spike.
//  4. Level and trend, fitted to the clipped x by one of 13 candidates,
//     ordered from the steadiest to the most adaptive (see cands): the
//     weighted mean of past days with weights omega^age (omega 1 is the
//     plain mean, omega < 1 simple exponential smoothing); a linear trend
//     by weighted least squares (omega 1 is ordinary least squares,
//     omega < 1 Brown's double exponential smoothing), damped by
//     phi = 0.98 per day ahead, and only with at least 28 days; and the
//     mean since the last level shift, a shift being the split of the
//     series whose two-sample t statistic exceeds 4.5 (searched again
//     after it, so the latest of several shifts is found). With at least
//     21 days, each candidate forecasts the next 7 days' spend from every
//     past day from the 15th on (rolling origin: no look-ahead but for the
//     weekday factors), and the steadiest candidate whose total absolute
//     error is within 10% of the best is chosen. With fewer days the
//     weighted mean with omega 0.9 (half-life 7 days) is used.
//  5. Point forecast for day h ahead (h = 1 today): the fitted level of
//     yesterday plus (phi+...+phi^h)·slope, at least 0, times that
//     weekday's factor.
//  6. Interval: 1000 simulated paths of the rest of the month (fixed
//     seed). Each path starts from a level and slope drawn around the fit
//     with its sampling variance (from the weighted residuals); then each
//     day draws one of the past one-step errors, relative to the forecast
//     it missed, and feeds it back into level and slope with the gains of
//     the equivalent exponential smoothing (at least 0.03 for the level,
//     an allowance for changes the history did not show), so that the
//     level may wander. The errors are centred on the clipped ones (so
//     the level does not drift, while the spikes clipping took out still
//     add to the upper tail) and widened by sqrt(1 + 7/m) for m errors,
//     for the weekday factors estimated from the same days. The 10th and
//     90th percentiles of the simulated totals (and of each day) make the
//     80% interval.
//  7. Calibration: the relative errors of the chosen candidate's own
//     7-day forecasts over the later half of the history are compared
//     with a simulated week from today; where their 10th or 90th
//     percentile lies further out, that side of every interval is widened
//     by the ratio (at most 3). This covers what the simulation misses:
//     shifts, curvature, errors that come in runs.
//
// Assumptions: spend is a level, possibly with a steady trend or a recent
// shift, times a stable weekly pattern, plus errors that are exchangeable
// over the last 13 weeks; spend accrues evenly within a day. Not
// modelled: monthly or holiday seasonality, growth that compounds (a
// linear trend under-forecasts it a little), and what today's spend so
// far says about the rest of today.

const (
	// seasonFloor: days whose weekday factor is below it do not enter the
	// level.
	seasonFloor = 0.2
	// fixedBelow is the history length under which the short candidate
	// is used without a backtest.
	fixedBelow = 21
	// horizon is the backtest horizon in days; backtestFrom the first
	// forecast origin.
	horizon, backtestFrom = 7, 14
	// parsimony: the steadiest candidate whose backtest loss is within
	// this factor of the best is chosen.
	parsimony = 1.10
	// phi damps the trend: day h ahead adds (phi+...+phi^h)·slope.
	phi = 0.98
	// minTrendDays is the least number of days a trend is fitted on;
	// minTrendHistory the least history for trend candidates at all.
	minTrendDays, minTrendHistory = 7, 28
	// Level shifts: the t statistic a split needs, the least number of
	// days before and after it, and the level gain of the simulation.
	shiftT, shiftBefore, shiftAfter, shiftGain = 4.5, 7, 4, 0.05
	// paths is the number of simulated paths.
	paths = 1000
	// minWeekErrs is the least number of past 7-day forecasts that
	// calibrate the interval; maxWidening caps the calibration.
	minWeekErrs, maxWidening = 10, 3
	// minGain is the least level gain of the simulation.
	minGain = 0.03
	// maxRel bounds a relative one-step error.
	maxRel = 50
	// priorNoise and priorWeight are the prior for the noise of weekday
	// ratios: a standard deviation of 0.2 worth 7 observations.
	priorNoise, priorWeight = 0.2, 7
)

// kind is the kind of a candidate.
type kind int

const (
	levelKind kind = iota // weighted mean
	trendKind             // weighted least-squares line
	shiftKind             // mean since the last level shift
)

// cand is a candidate level model.
type cand struct {
	kind  kind
	omega float64 // weight of a day one day older; 1 for shiftKind
}

// cands are the candidates from the steadiest to the most adaptive.
var cands = []cand{
	{levelKind, 1}, {trendKind, 1}, {levelKind, 0.98}, {shiftKind, 1}, {trendKind, 0.985},
	{levelKind, 0.95}, {trendKind, 0.97}, {levelKind, 0.9}, {trendKind, 0.95},
	{levelKind, 0.8}, {trendKind, 0.9}, {levelKind, 0.65}, {levelKind, 0.5},
}

// short is the candidate for fewer than fixedBelow days.
var short = cand{levelKind, 0.9}

func (c cand) String() string {
	weights := "all days equally"
	if c.omega < 1 {
		weights = fmt.Sprintf("half-life %.0f days", math.Log(0.5)/math.Log(c.omega))
	}
	switch c.kind {
	case trendKind:
		return fmt.Sprintf("damped linear trend (weighted least squares, %s)", weights)
	case shiftKind:
		return "mean since the last level shift"
	}
	return fmt.Sprintf("level (weighted mean, %s)", weights)
}

// gains returns the level and slope gains of the exponential smoothing
// equivalent to c, with which simulated errors move the level.
func (c cand) gains() (level, slope float64) {
	switch c.kind {
	case trendKind:
		return 1 - c.omega*c.omega, (1 - c.omega) * (1 - c.omega)
	case shiftKind:
		return shiftGain, 0
	}
	return 1 - c.omega, 0
}

// dls holds the discounted sums of a least-squares fit of x on the day
// index i.
type dls struct {
	s0, s1, s2, sx, six float64
	k                   int // days added
}

func (d *dls) decay(omega float64) {
	d.s0 *= omega
	d.s1 *= omega
	d.s2 *= omega
	d.sx *= omega
	d.six *= omega
}

func (d *dls) add(i int, x float64) {
	fi := float64(i)
	d.s0++
	d.s1 += fi
	d.s2 += fi * fi
	d.sx += x
	d.six += fi * x
	d.k++
}

// at returns the fitted value at day i and the slope, which is 0 without
// a trend or with too few days to fit one.
func (d *dls) at(trend bool, i int) (level, slope float64) {
	if d.s0 <= 0 {
		return 0, 0
	}
	mean := d.sx / d.s0
	if !trend || d.k < minTrendDays {
		return mean, 0
	}
	det := d.s0*d.s2 - d.s1*d.s1
	if !(det > 1e-9*d.s0*d.s2) {
		return mean, 0
	}
	slope = (d.s0*d.six - d.s1*d.sx) / det
	return mean + slope*(float64(i)-d.s1/d.s0), slope
}

// lastShift returns the index in v at which its latest level shift
// starts, 0 if none.
func lastShift(v []float64) int {
	start := 0
	for {
		j := bestSplit(v[start:])
		if j == 0 {
			return start
		}
		start += j
	}
}

// bestSplit returns the split of v into v[:j] and v[j:] with the largest
// two-sample t statistic, if it exceeds shiftT, or 0.
func bestSplit(v []float64) int {
	n := len(v)
	if n < shiftBefore+shiftAfter {
		return 0
	}
	var sum, sq float64
	for _, x := range v {
		sum += x
		sq += x * x
	}
	bestJ, bestT := 0, shiftT
	var s1, q1 float64
	for j, x := range v[:n-shiftAfter] {
		s1 += x
		q1 += x * x
		n1 := float64(j + 1)
		if j+1 < shiftBefore {
			continue
		}
		n2 := float64(n) - n1
		m1, m2 := s1/n1, (sum-s1)/n2
		sse := max(0, q1-n1*m1*m1) + max(0, sq-q1-n2*m2*m2)
		diff := math.Abs(m2 - m1)
		if diff <= 1e-12*max(math.Abs(m1), math.Abs(m2)) {
			continue
		}
		t := math.Inf(1)
		if se := math.Sqrt(sse / float64(n-2) * (1/n1 + 1/n2)); se > 0 {
			t = diff / se
		}
		if t > bestT {
			bestJ, bestT = j+1, t
		}
	}
	return bestJ
}

// model is a fitted model.
type model struct {
	c            cand
	season       [7]float64 // by time.Weekday
	level, slope float64    // fitted level of the last day, and slope
	// weight[i] is the weight of day i in the final fit.
	weight []float64
	// varLevel and varSlope are the sampling variances of the fitted
	// intercept (at the weighted mean day) and slope; centre is the
	// distance from that day to the last day.
	varLevel, varSlope, centre float64
	// raw and clipped are the one-step errors relative to the forecast
	// they missed, pairwise: raw[i] is what happened, clipped[i] what the
	// fit learnt from.
	raw, clipped []float64
	// weekErrs are the relative errors of the next-7-day spend forecasts
	// from the later half of the history, what actually happened against
	// what the candidate forecast.
	weekErrs []float64
	days     int
}

// series is the history prepared for the fit.
type series struct {
	season [7]float64 // weekday factors, by time.Weekday
	y      []float64  // spend
	x      []float64  // deseasonalised spend
	xc     []float64  // deseasonalised spend, spikes clipped
	yc     []float64  // spend, spikes clipped
	use    []bool     // whether the day enters the level
	s      []float64  // weekday factor of the day
	// used and usedAt list the clipped values of the days that enter the
	// level, and their day indices.
	used   []float64
	usedAt []int
}

// damping[h] is phi + ... + phi^h.
var damping = func() []float64 {
	d := make([]float64, 33)
	pw := 1.0
	for h := 1; h < len(d); h++ {
		pw *= phi
		d[h] = d[h-1] + pw
	}
	return d
}()

// fit fits the model to y, whose first day is weekday wd0.
func fit(y []float64, wd0 int) model {
	n := len(y)
	sr := prepare(y, wd0)
	m := model{days: n, season: sr.season, c: short}
	if n >= fixedBelow {
		losses := make([]float64, len(cands))
		best := math.Inf(1)
		for i, c := range cands {
			losses[i] = math.Inf(1)
			if c.kind != trendKind || n >= minTrendHistory {
				losses[i] = c.run(sr, true, nil)
			}
			best = min(best, losses[i])
		}
		for i, c := range cands {
			if losses[i] <= best*parsimony {
				m.c = c
				break
			}
		}
	}
	m.c.run(sr, false, &m)
	m.uncertainty(sr)
	return m
}

// prepare estimates the weekday factors of y, whose first day is weekday
// wd0, and deseasonalises and clips it (steps 1 to 3 of the model).
func prepare(y []float64, wd0 int) *series {
	n := len(y)
	sr := &series{
		season: weekdayFactors(y, wd0),
		y:      y,
		x:      make([]float64, n),
		xc:     make([]float64, n),
		yc:     make([]float64, n),
		use:    make([]bool, n),
		s:      make([]float64, n),
	}
	for t := range y {
		s := sr.season[(wd0+t)%7]
		sr.s[t] = s
		if s >= seasonFloor {
			sr.use[t] = true
			sr.x[t] = y[t] / s
		}
	}
	clipSpikes(sr.x, sr.xc, sr.use)
	for t := range y {
		sr.yc[t] = y[t]
		if sr.use[t] {
			sr.yc[t] = sr.xc[t] * sr.s[t]
			sr.used = append(sr.used, sr.xc[t])
			sr.usedAt = append(sr.usedAt, t)
		}
	}
	return sr
}

// run fits c to the series day by day. With backtest it returns the sum
// over past days of the absolute error of the next-7-day spend forecast;
// with m it records in m the final fit and the relative one-step errors.
func (c cand) run(sr *series, backtest bool, m *model) float64 {
	n := len(sr.y)
	warm := min(14, n/2)
	var d dls
	var loss float64
	k := 0 // days used before t
	for t := range n {
		if k > 0 {
			level, slope := d.at(c.kind == trendKind, t-1)
			if c.kind == shiftKind {
				level = mean(sr.used[lastShift(sr.used[:k]):k])
			}
			if t >= backtestFrom && t+horizon <= n && (backtest || m != nil && t >= n/2) {
				var got, want, spent float64
				for h := range horizon {
					got += max(0, level+damping[h+1]*slope) * sr.s[t+h]
					want += sr.yc[t+h]
					spent += sr.y[t+h]
				}
				loss += math.Abs(got - want)
				if m != nil && got > 0 {
					m.weekErrs = append(m.weekErrs, (spent-got)/got)
				}
			}
			if pred := level + damping[1]*slope; m != nil && t >= warm && sr.use[t] && pred > 0 {
				m.raw = append(m.raw, min((sr.x[t]-pred)/pred, maxRel))
				m.clipped = append(m.clipped, min((sr.xc[t]-pred)/pred, maxRel))
			}
		}
		d.decay(c.omega)
		if sr.use[t] {
			d.add(t, sr.xc[t])
			k++
		}
	}
	if m == nil {
		return loss
	}
	m.weight = make([]float64, n)
	if c.kind == shiftKind {
		start := lastShift(sr.used)
		m.level = mean(sr.used[start:])
		for _, i := range sr.usedAt[start:] {
			m.weight[i] = 1
		}
		return loss
	}
	m.level, m.slope = d.at(c.kind == trendKind, n-1)
	w := 1.0
	for i := n - 1; i >= 0; i-- {
		if sr.use[i] {
			m.weight[i] = w
		}
		w *= c.omega
	}
	return loss
}

// uncertainty sets the sampling variances of the final fit from its
// weighted residuals.
func (m *model) uncertainty(sr *series) {
	n := len(sr.y)
	var sw, sw2, swi float64
	for i, w := range m.weight {
		sw += w
		sw2 += w * w
		swi += w * float64(i)
	}
	if sw <= 0 {
		return
	}
	mid := swi / sw
	var swr2, swcc, sw2cc float64
	for i, w := range m.weight {
		r := sr.xc[i] - (m.level + m.slope*float64(i-(n-1)))
		c := float64(i) - mid
		swr2 += w * r * r
		swcc += w * c * c
		sw2cc += w * w * c * c
	}
	neff := sw * sw / sw2
	params := 1.0
	if m.slope != 0 {
		params = 2
	}
	if neff <= params {
		return
	}
	variance := swr2 / sw * neff / (neff - params)
	m.varLevel = variance * sw2 / (sw * sw)
	if m.slope != 0 && swcc > 0 {
		m.varSlope = variance * sw2cc / (swcc * swcc)
		m.centre = float64(n-1) - mid
	}
}

// weekdayFactors estimates the multiplicative weekday factors of y, whose
// first day is weekday wd0, shrunk toward 1 (step 1 of the model).
func weekdayFactors(y []float64, wd0 int) [7]float64 {
	n := len(y)
	ma := make([]float64, n-6)
	for j := range ma {
		var sum float64
		for _, v := range y[j : j+7] {
			sum += v
		}
		ma[j] = sum / 7
	}
	var ratios [7][]float64
	for t, v := range y {
		base := ma[min(max(t-3, 0), len(ma)-1)]
		if base > 0 {
			w := (wd0 + t) % 7
			ratios[w] = append(ratios[w], v/base)
		}
	}
	var f [7]float64
	for w := range f {
		f[w] = 1
		if len(ratios[w]) > 0 {
			f[w] = median(ratios[w])
		}
	}
	norm := normalise(&f)
	if norm == 0 {
		return [7]float64{1, 1, 1, 1, 1, 1, 1}
	}

	// Noise of one ratio, pooled within weekdays.
	var devs []float64
	dof := 0
	for w, rs := range ratios {
		if len(rs) < 2 {
			continue
		}
		c := math.Sqrt(float64(len(rs)) / float64(len(rs)-1))
		for _, r := range rs {
			devs = append(devs, math.Abs(r/norm-f[w])*c)
		}
		dof += len(rs) - 1
	}
	noise := priorNoise * priorNoise
	if dof > 0 {
		sd := 1.4826 * median(devs)
		noise = (float64(dof)*sd*sd + priorWeight*priorNoise*priorNoise) / float64(dof+priorWeight)
	}
	// Sampling variance of each raw factor, and the size of the pattern.
	var se [7]float64
	var spread, meanSE float64
	k := 0
	for w, rs := range ratios {
		if len(rs) == 0 {
			continue
		}
		eff := 1.0
		if len(rs) >= 3 {
			eff = math.Pi / 2 // a median is less efficient than a mean
		}
		se[w] = noise * eff / float64(len(rs))
		spread += (f[w] - 1) * (f[w] - 1)
		meanSE += se[w]
		k++
	}
	pattern := max(0, (spread-meanSE)/float64(k))
	for w, rs := range ratios {
		share := 0.0
		switch {
		case len(rs) == 0:
		case pattern+se[w] == 0:
			share = 1
		default:
			share = pattern / (pattern + se[w])
		}
		f[w] = 1 + share*(f[w]-1)
	}
	normalise(&f)
	return f
}

// normalise scales f to average 1 and returns the mean it divided by, or
// 0 (leaving f alone) when the mean is not positive.
func normalise(f *[7]float64) float64 {
	var sum float64
	for _, v := range f {
		sum += v
	}
	mean := sum / 7
	if !(mean > 0) {
		return 0
	}
	for w := range f {
		f[w] /= mean
	}
	return mean
}

// clipSpikes writes x to xc with spikes clipped (step 3 of the model).
func clipSpikes(x, xc []float64, use []bool) {
	copy(xc, x)
	var win, dev [7]float64
	for t := range x {
		if !use[t] {
			continue
		}
		k := 0
		for u := max(t-3, 0); u <= min(t+3, len(x)-1); u++ {
			if use[u] {
				win[k] = x[u]
				k++
			}
		}
		med := median(win[:k])
		if !(med > 0) {
			continue
		}
		for i, v := range win[:k] {
			dev[i] = math.Abs(v - med)
		}
		bound := med + max(4*1.4826*median(dev[:k]), med)
		if x[t] > bound {
			xc[t] = bound
		}
	}
}

// project fills f from the model, today being weekday wd and share[h] the
// part of day h still to come.
func (m *model) project(f *Forecast, wd int, share []float64) {
	rest := len(share)
	season := func(h int) float64 { return m.season[(wd+h)%7] }

	var total float64
	for h := range rest {
		usd := max(0, m.level+damping[h+1]*m.slope) * season(h) * share[h]
		f.Daily[h].USD = usd
		total += usd
	}
	f.ForecastRestUSD = total
	f.Method = fmt.Sprintf("weekday factors x %s, chosen by backtest on %d days; 80%% interval from %d simulated paths of past errors",
		m.c, m.days, paths)
	if m.days < fixedBelow {
		f.Method = fmt.Sprintf("weekday factors x %s on %d days (fewer than %d: no trend); 80%% interval from %d simulated paths of past errors",
			m.c, m.days, fixedBelow, paths)
	}

	if len(m.raw) == 0 {
		// No error to learn from (no spend to speak of): the interval is
		// the point forecast.
		for h := range f.Daily {
			f.Daily[h].Low, f.Daily[h].High = f.Daily[h].USD, f.Daily[h].USD
		}
		f.Low, f.High = f.MonthToDateUSD+total, f.MonthToDateUSD+total
		return
	}

	sim := m.simulator(wd)
	days, totals := sim.run(share)
	for h, s := range days {
		d := &f.Daily[h]
		d.Low = min(quantile(s, qLow), d.USD)
		d.High = max(quantile(s, qHigh), d.USD)
	}
	f.Low = f.MonthToDateUSD + min(quantile(totals, qLow), total)
	f.High = f.MonthToDateUSD + max(quantile(totals, qHigh), total)

	// Calibrate: if the model's own 7-day forecasts from the later half
	// of the history missed by more than the simulation allows for a
	// week from now, widen each side of the intervals by the ratio.
	if len(m.weekErrs) < minWeekErrs {
		return
	}
	week := []float64{1, 1, 1, 1, 1, 1, 1}
	var point float64
	for h := range week {
		point += max(0, m.level+damping[h+1]*m.slope) * m.season[(wd+h)%7]
	}
	if !(point > 0) {
		return
	}
	_, simWeek := sim.run(week)
	up := widening(quantile(m.weekErrs, qHigh), quantile(simWeek, qHigh)/point-1)
	down := widening(quantile(m.weekErrs, qLow), quantile(simWeek, qLow)/point-1)
	for h := range f.Daily {
		d := &f.Daily[h]
		d.High = d.USD + up*(d.High-d.USD)
		d.Low = max(0, d.USD-down*(d.USD-d.Low))
	}
	t := f.MonthToDateUSD + total
	f.High = t + up*(f.High-t)
	f.Low = max(f.MonthToDateUSD, t-down*(t-f.Low))
}

// widening returns by how much to widen one side of an interval whose
// simulated relative bound is sim when the backtest's is seen: their
// ratio, between 1 and maxWidening.
func widening(seen, sim float64) float64 {
	if seen*sim <= 0 || math.Abs(seen) <= math.Abs(sim) {
		return 1
	}
	return min(seen/sim, maxWidening)
}

// simulator draws paths of future spend from a fitted model.
type simulator struct {
	m                    *model
	wd                   int
	raw, clipped         []float64
	gainLevel, gainSlope float64
}

// simulator prepares the simulation of days from today, weekday wd.
// It centres the one-step errors on the clipped ones, so that the
// simulated level does not drift away from the point forecast while the
// spikes the clipping took out still add to the upper tail, and widens
// them a little for what was estimated from the same days.
func (m *model) simulator(wd int) *simulator {
	shift := mean(m.clipped)
	widen := math.Sqrt(1 + 7/float64(len(m.raw)))
	sim := &simulator{m: m, wd: wd, raw: make([]float64, len(m.raw)), clipped: make([]float64, len(m.raw))}
	for j := range m.raw {
		sim.raw[j] = widen * (m.raw[j] - shift)
		sim.clipped[j] = widen * (m.clipped[j] - shift)
	}
	sim.gainLevel, sim.gainSlope = m.c.gains()
	sim.gainLevel = max(sim.gainLevel, minGain)
	return sim
}

// run simulates paths of len(share) days from today, day h counting for
// share[h] of a full day. It returns each day's simulated spend and the
// paths' totals. The seed is fixed.
func (sim *simulator) run(share []float64) (days [][]float64, totals []float64) {
	m := sim.m
	rest := len(share)
	season := func(h int) float64 { return m.season[(sim.wd+h)%7] }
	sdLevel, sdSlope := math.Sqrt(m.varLevel), math.Sqrt(m.varSlope)
	rng := rand.New(rand.NewPCG(0x5745495246, 0x4f524543415354))
	flat := make([]float64, (rest+1)*paths) // rest days, then totals
	for i := range paths {
		// Start from a fit as uncertain as this one.
		dSlope := sdSlope * rng.NormFloat64()
		level := m.level + sdLevel*rng.NormFloat64() + m.centre*dSlope
		slope := m.slope + dSlope
		var sum float64
		for h := range rest {
			pred := level + phi*slope
			base := max(pred, 0)
			j := rng.IntN(len(sim.raw))
			usd := base * max(0, 1+sim.raw[j]) * season(h) * share[h]
			flat[h*paths+i] = usd
			sum += usd
			level, slope = pred, phi*slope
			if season(h) >= seasonFloor {
				e := base * sim.clipped[j]
				level += sim.gainLevel * e
				slope += sim.gainSlope * e
			}
		}
		flat[rest*paths+i] = sum
	}
	days = make([][]float64, rest)
	for h := range days {
		days[h] = flat[h*paths : (h+1)*paths]
	}
	return days, flat[rest*paths:]
}
