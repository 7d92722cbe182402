package dashboard

import (
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// spendOf is a summary's exact cost: its whole dollars and femto-dollar
// remainder (the remainder alone is the cost only below a dollar).
func spendOf(a *rollup.Agg) store.Amount {
	var s store.Amount
	s.AddDollars(a.CostDollars)
	s.Add(pricing.Money(a.CostFemto))
	return s
}
