package reconcile

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// WriteText writes the report as an aligned table, one row per day and
// model, then the totals, the total difference and the verdict against the
// report's tolerance (1% unless Options said otherwise).
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s bill (%s) against Weir, compared on %s.\n", r.Provider, r.Format, basisText(r.Basis))
	b.WriteString("DIFF is Weir minus the bill; DIFF % is relative to the bill.\n\n")

	t := &table{}
	if r.Basis == BasisTokens {
		t.header("DAY", "MODEL", "BILL IN", "WEIR IN", "BILL OUT", "WEIR OUT", "DIFF TOKENS", "DIFF %", "NOTE")
	} else {
		t.header("DAY", "MODEL", "BILL USD", "WEIR USD", "DIFF USD", "DIFF %", "NOTE")
	}
	for _, row := range r.Rows {
		cells := []string{row.Day.Format(time.DateOnly), modelText(row)}
		cells = append(cells, r.numbers(row.Side, row.BillUSD, row.WeirUSD, row.DiffUSD, row.BillTokens, row.WeirTokens, row.DiffTokens, row.RelDiff)...)
		t.row(append(cells, noteText(row))...)
	}
	tot := r.Totals
	cells := []string{"TOTAL", ""}
	cells = append(cells, r.numbers(SideBoth, tot.BillUSD, tot.WeirUSD, tot.DiffUSD, tot.BillTokens, tot.WeirTokens, tot.DiffTokens, tot.RelDiff)...)
	t.row(append(cells, "")...)
	t.write(&b)

	b.WriteString("\n")
	if r.Basis == BasisTokens {
		fmt.Fprintf(&b, "Total difference: %s tokens (%s of the bill).\n", signedInt(tot.DiffTokens), pctText(tot.RelDiff))
	} else {
		fmt.Fprintf(&b, "Total difference: %s USD (%s of the bill).\n", signedAmount(tot.DiffUSD), pctText(tot.RelDiff))
	}
	fmt.Fprintf(&b, "Rows: %d on both sides, %d on the bill only, %d in Weir only.\n", tot.Matched, tot.BillOnly, tot.WeirOnly)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "Note: %s\n", n)
	}
	verdict := "outside"
	if r.Within {
		verdict = "within"
	}
	fmt.Fprintf(&b, "Verdict: %s %s%% tolerance.\n", verdict, strconv.FormatFloat(r.TolerancePct, 'f', -1, 64))
	_, err := io.WriteString(w, b.String())
	return err
}

// numbers are the numeric cells of a row on the report's basis; the side a
// row is missing from shows "-".
func (r Report) numbers(side Side, bill, weir, diff store.Amount, billT, weirT Tokens, diffT int64, rel *float64) []string {
	onBill, onWeir := side != SideWeirOnly, side != SideBillOnly
	pick := func(ok bool, s string) string {
		if !ok {
			return "-"
		}
		return s
	}
	if r.Basis == BasisTokens {
		return []string{
			pick(onBill, strconv.FormatInt(billT.Input, 10)), pick(onWeir, strconv.FormatInt(weirT.Input, 10)),
			pick(onBill, strconv.FormatInt(billT.Output, 10)), pick(onWeir, strconv.FormatInt(weirT.Output, 10)),
			signedInt(diffT), pctText(rel),
		}
	}
	return []string{pick(onBill, bill.String()), pick(onWeir, weir.String()), signedAmount(diff), pctText(rel)}
}

func basisText(b Basis) string {
	if b == BasisTokens {
		return "tokens (input + output), since the bill has no cost"
	}
	return "cost in USD"
}

func modelText(row Row) string {
	switch {
	case row.Model != "":
		return row.Model
	case row.DayTotal:
		return "(all models)"
	}
	return "(no model)"
}

func noteText(row Row) string {
	var notes []string
	switch row.Side {
	case SideBillOnly:
		notes = append(notes, "bill only")
	case SideWeirOnly:
		notes = append(notes, "Weir only")
	}
	if names := otherNames(row.Model, row.BillModels); names != "" {
		notes = append(notes, "bill: "+names)
	}
	if names := otherNames(row.Model, row.WeirModels); names != "" && !row.DayTotal {
		notes = append(notes, "Weir: "+names)
	}
	if row.WeirUnpriced > 0 {
		notes = append(notes, fmt.Sprintf("%d unpriced", row.WeirUnpriced))
	}
	return strings.Join(notes, "; ")
}

// otherNames lists names when they are not all the row's model.
func otherNames(model string, names []string) string {
	for _, n := range names {
		if !strings.EqualFold(n, model) {
			return strings.Join(names, ", ")
		}
	}
	return ""
}

func signedAmount(a store.Amount) string {
	s := a.String()
	if !strings.HasPrefix(s, "-") && strings.Trim(s, "0.") != "" {
		s = "+" + s
	}
	return s
}

func signedInt(n int64) string {
	if n > 0 {
		return "+" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

func pctText(rel *float64) string {
	if rel == nil {
		return "n/a"
	}
	return fmt.Sprintf("%+.2f%%", *rel*100)
}

// table aligns columns: the first two and the last left, the others right.
type table struct {
	rows [][]string
}

func (t *table) header(cells ...string) { t.rows = append(t.rows, cells) }
func (t *table) row(cells ...string)    { t.rows = append(t.rows, cells) }

func (t *table) write(b *strings.Builder) {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range t.rows {
		var line strings.Builder
		for i, c := range r {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-len(c))
			if i < 2 || i == len(r)-1 {
				line.WriteString(c + pad)
			} else {
				line.WriteString(pad + c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}
