package reconcile

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// DefaultTolerancePct is the relative difference, in percent of the bill,
// under which Weir's total agrees with the provider's.
const DefaultTolerancePct = 1.0

// WeirLine is Weir's total for one model on one UTC day, which the caller
// reads from the store (store.CostReader.CostTotals grouped by day, then by
// model).
type WeirLine struct {
	Day   time.Time `json:"day"`
	Model string    `json:"model"`
	Calls int64     `json:"calls"`
	// CostUSD sums the priced calls; Unpriced counts the calls that reached
	// the provider but could not be priced, so CostUSD is a lower bound when
	// Unpriced > 0.
	CostUSD  store.Amount `json:"cost_usd"`
	Unpriced int64        `json:"unpriced"`
	Usage    Tokens       `json:"usage"`
}

// Options tune Compare. The zero value matches model names exactly, ignoring
// case, and judges against DefaultTolerancePct.
type Options struct {
	// Normalize maps a model name, already lower case and trimmed, to the
	// name rows are matched on; its result is lowercased again. Nil matches
	// names as they are. A provider's bill names dated snapshots
	// ("gpt-4o-mini-2024-07-18") where Weir may have recorded the alias
	// ("gpt-4o-mini"): to fold them together, fill Normalize from the price
	// catalog's aliases, or use StripDateSuffix.
	Normalize func(string) string
	// TolerancePct is the tolerance of Report.Within, in percent of the
	// bill; DefaultTolerancePct when 0.
	TolerancePct float64
}

// Basis is what a report compares.
type Basis string

const (
	// BasisCost compares money: the bill has amounts.
	BasisCost Basis = "cost"
	// BasisTokens compares total tokens (input + output): the bill is a
	// usage export with token counts and no money.
	BasisTokens Basis = "tokens"
)

// Side says where a row's model and day were found.
type Side string

const (
	SideBoth     Side = "both"
	SideBillOnly Side = "bill_only"
	SideWeirOnly Side = "weir_only"
)

// Row compares one model on one day. Differences are Weir minus the bill:
// positive when Weir recorded more than the provider charged.
type Row struct {
	Day time.Time `json:"day"`
	// Model is the name the row was matched on (lower case, normalised);
	// empty for a bill line with no model.
	Model string `json:"model"`
	// DayTotal is true when the bill breaks this day down by no model: the
	// row compares the day's totals, all of Weir's models together.
	DayTotal bool `json:"day_total,omitempty"`
	// BillModels and WeirModels are the names, as each side spelled them,
	// that were folded into the row.
	BillModels []string     `json:"bill_models,omitempty"`
	WeirModels []string     `json:"weir_models,omitempty"`
	Side       Side         `json:"side"`
	BillUSD    store.Amount `json:"bill_usd"`
	WeirUSD    store.Amount `json:"weir_usd"`
	// DiffUSD is WeirUSD - BillUSD, exactly.
	DiffUSD    store.Amount `json:"diff_usd"`
	BillTokens Tokens       `json:"bill_tokens"`
	WeirTokens Tokens       `json:"weir_tokens"`
	// DiffTokens is Weir's total tokens minus the bill's (input + output);
	// zero when the bill carries no token counts (Report.BillHasTokens).
	DiffTokens int64 `json:"diff_tokens"`
	// RelDiff is the difference on the report's basis over the bill's value,
	// as a fraction (0.01 is 1%), for display; null when the bill's value is
	// zero.
	RelDiff      *float64 `json:"rel_diff"`
	WeirCalls    int64    `json:"weir_calls"`
	WeirUnpriced int64    `json:"weir_unpriced"`
}

// Totals sums a report's rows.
type Totals struct {
	BillUSD      store.Amount `json:"bill_usd"`
	WeirUSD      store.Amount `json:"weir_usd"`
	DiffUSD      store.Amount `json:"diff_usd"`
	BillTokens   Tokens       `json:"bill_tokens"`
	WeirTokens   Tokens       `json:"weir_tokens"`
	DiffTokens   int64        `json:"diff_tokens"`
	RelDiff      *float64     `json:"rel_diff"`
	WeirCalls    int64        `json:"weir_calls"`
	WeirUnpriced int64        `json:"weir_unpriced"`
	// Rows on both sides, and on one side only.
	Matched  int `json:"matched"`
	BillOnly int `json:"bill_only"`
	WeirOnly int `json:"weir_only"`
}

// Report is the comparison of a bill with Weir's records.
type Report struct {
	Provider string `json:"provider"`
	Format   string `json:"format"`
	Basis    Basis  `json:"basis"`
	// BillHasTokens is true when the bill carries token counts; when false
	// the rows' BillTokens are empty and their DiffTokens zero.
	BillHasTokens bool `json:"bill_has_tokens"`
	// Rows are sorted by day, then model.
	Rows   []Row  `json:"rows"`
	Totals Totals `json:"totals"`
	// TolerancePct and Within are the verdict: whether the total difference
	// is at most TolerancePct percent of the bill.
	TolerancePct float64 `json:"tolerance_pct"`
	Within       bool    `json:"within_tolerance"`
	// Notes explain what the numbers mean, in sentences.
	Notes []string `json:"notes,omitempty"`
}

// Compare matches a bill with Weir's totals per (UTC day, model). Models
// match after lowercasing and opts.Normalize. On a day where the bill has no
// per-model breakdown, Weir's models are summed and compared with the day's
// total. When the bill has no money, only token counts, the report compares
// tokens and says so.
func Compare(bill Bill, weir []WeirLine, opts Options) Report {
	norm := func(m string) string {
		k := strings.ToLower(strings.TrimSpace(m))
		if k != "" && opts.Normalize != nil {
			k = strings.ToLower(opts.Normalize(k))
		}
		return k
	}
	basis := BasisCost
	if !bill.HasCost() && bill.HasUsage() {
		basis = BasisTokens
	}
	// Days on which the bill names no model are compared as day totals.
	named, unnamed := map[int64]bool{}, map[int64]bool{}
	for _, l := range bill.Lines {
		if l.Model == "" {
			unnamed[dayOf(l.Day).Unix()] = true
		} else {
			named[dayOf(l.Day).Unix()] = true
		}
	}
	dayTotal := func(day time.Time) bool { return unnamed[day.Unix()] && !named[day.Unix()] }

	type key struct {
		day   int64
		model string
	}
	type acc struct {
		row          Row
		bill, weir   bool
		billM, weirM map[string]bool
	}
	accs := map[key]*acc{}
	get := func(day time.Time, model string) *acc {
		k := key{day.Unix(), model}
		a := accs[k]
		if a == nil {
			a = &acc{row: Row{Day: day, Model: model, DayTotal: dayTotal(day)}, billM: map[string]bool{}, weirM: map[string]bool{}}
			accs[k] = a
		}
		return a
	}
	for _, l := range bill.Lines {
		a := get(dayOf(l.Day), norm(l.Model))
		a.bill = true
		if l.Model != "" {
			a.billM[l.Model] = true
		}
		if l.HasCost {
			a.row.BillUSD.AddAmount(l.CostUSD)
		}
		if l.HasUsage {
			addTokens(&a.row.BillTokens, l.Usage)
		}
	}
	for _, w := range weir {
		day := dayOf(w.Day)
		model := norm(w.Model)
		if dayTotal(day) {
			model = ""
		}
		a := get(day, model)
		a.weir = true
		if w.Model != "" {
			a.weirM[w.Model] = true
		}
		a.row.WeirUSD.AddAmount(w.CostUSD)
		addTokens(&a.row.WeirTokens, w.Usage)
		a.row.WeirCalls += w.Calls
		a.row.WeirUnpriced += w.Unpriced
	}

	hasTokens := bill.HasUsage()
	r := Report{Provider: bill.Provider, Format: bill.Format, Basis: basis, BillHasTokens: hasTokens, Rows: make([]Row, 0, len(accs))}
	t := &r.Totals
	for _, a := range accs {
		row := a.row
		switch {
		case a.bill && a.weir:
			row.Side = SideBoth
			t.Matched++
		case a.bill:
			row.Side = SideBillOnly
			t.BillOnly++
		default:
			row.Side = SideWeirOnly
			t.WeirOnly++
		}
		row.BillModels, row.WeirModels = sortedKeys(a.billM), sortedKeys(a.weirM)
		row.DiffUSD = diffAmount(row.WeirUSD, row.BillUSD)
		if hasTokens {
			row.DiffTokens = row.WeirTokens.Total() - row.BillTokens.Total()
		}
		row.RelDiff = relDiff(basis, row.DiffUSD, row.BillUSD, row.DiffTokens, row.BillTokens.Total())
		r.Rows = append(r.Rows, row)

		t.BillUSD.AddAmount(row.BillUSD)
		t.WeirUSD.AddAmount(row.WeirUSD)
		addTokens(&t.BillTokens, row.BillTokens)
		addTokens(&t.WeirTokens, row.WeirTokens)
		t.WeirCalls += row.WeirCalls
		t.WeirUnpriced += row.WeirUnpriced
	}
	slices.SortFunc(r.Rows, func(a, b Row) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Model, b.Model))
	})
	t.DiffUSD = diffAmount(t.WeirUSD, t.BillUSD)
	if hasTokens {
		t.DiffTokens = t.WeirTokens.Total() - t.BillTokens.Total()
	}
	t.RelDiff = relDiff(basis, t.DiffUSD, t.BillUSD, t.DiffTokens, t.BillTokens.Total())

	r.TolerancePct = opts.TolerancePct
	if r.TolerancePct == 0 {
		r.TolerancePct = DefaultTolerancePct
	}
	r.Within = r.WithinTolerance(r.TolerancePct)

	if basis == BasisTokens {
		r.Notes = append(r.Notes, "The bill has token counts and no money: the report compares total tokens (input + output), not cost.")
	}
	if n := len(dayTotals(r.Rows)); n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("The bill breaks %d day(s) down by no model: those days compare Weir's total over all models.", n))
	}
	if slices.ContainsFunc(r.Rows, func(row Row) bool { return row.Model == "" && !row.DayTotal }) {
		r.Notes = append(r.Notes, "Some of the bill's costs name no model (web search, code execution, tools): Weir counts such fees under the model that made the call, so those models' rows may differ by as much and only the totals compare like with like.")
	}
	if t.WeirUnpriced > 0 && basis == BasisCost {
		r.Notes = append(r.Notes, fmt.Sprintf("Weir could not price %d call(s): its cost is a lower bound.", t.WeirUnpriced))
	}
	return r
}

// WithinTolerance reports whether the total difference is at most pct
// percent of the bill's total, on the report's basis, exactly: a bill of $100
// and a Weir total of $101 are within 1%. A zero bill is matched only by a
// zero difference.
func (r Report) WithinTolerance(pct float64) bool {
	if math.IsNaN(pct) || pct < 0 {
		return false
	}
	if math.IsInf(pct, 1) {
		return true
	}
	var diff, base *big.Rat
	if r.Basis == BasisTokens {
		diff = new(big.Rat).SetInt64(r.Totals.DiffTokens)
		base = new(big.Rat).SetInt64(r.Totals.BillTokens.Total())
	} else {
		diff = amountRat(r.Totals.DiffUSD)
		base = amountRat(r.Totals.BillUSD)
	}
	lhs := new(big.Rat).Mul(diff.Abs(diff), big.NewRat(100, 1))
	rhs := new(big.Rat).Mul(base.Abs(base), new(big.Rat).SetFloat64(pct))
	return lhs.Cmp(rhs) <= 0
}

// datedSuffix is a snapshot date at the end of a model name: -2024-07-18 or
// -20250514.
var datedSuffix = regexp.MustCompile(`-(\d{4}-\d{2}-\d{2}|20\d{6})$`)

// StripDateSuffix removes a snapshot date from the end of a model name
// ("gpt-4o-mini-2024-07-18" and "claude-sonnet-4-20250514" become
// "gpt-4o-mini" and "claude-sonnet-4"). Use it as Options.Normalize when no
// price catalog is at hand.
func StripDateSuffix(model string) string {
	return datedSuffix.ReplaceAllString(model, "")
}

func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func dayTotals(rows []Row) map[int64]bool {
	days := map[int64]bool{}
	for _, r := range rows {
		if r.DayTotal {
			days[r.Day.Unix()] = true
		}
	}
	return days
}

func addTokens(t *Tokens, u Tokens) {
	t.Input += u.Input
	t.CacheRead += u.CacheRead
	t.CacheWrite += u.CacheWrite
	t.Output += u.Output
	t.Requests += u.Requests
}

func diffAmount(a, b store.Amount) store.Amount {
	a.SubAmount(b)
	return a
}

func relDiff(basis Basis, diff, bill store.Amount, diffTokens, billTokens int64) *float64 {
	var f float64
	if basis == BasisTokens {
		if billTokens == 0 {
			return nil
		}
		f = float64(diffTokens) / float64(billTokens)
	} else {
		base := amountRat(bill)
		if base.Sign() == 0 {
			return nil
		}
		f, _ = new(big.Rat).Quo(amountRat(diff), base).Float64()
	}
	return &f
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
