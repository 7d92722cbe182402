package dashboard

import (
	"context"
	"io"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/forecast"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/reconcile"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/watch"
)

// SpendSources are what the Costs and Limits and alerts pages read: costs,
// the price catalog, reconciliation, limits, alerts and forecasts. The
// spend figures themselves come from Options.Rollups and Options.Costs.
// Every field is optional: a page leaves out (and says so) what a nil
// field would feed.
type SpendSources struct {
	// Catalog returns the price catalog in force (what api.Options.Catalog
	// returns; *costing.Engine's Catalog method).
	Catalog func() *pricing.Catalog
	// Prices lists the API-managed price entries with their history and
	// the cost revisions of re-pricing runs; *costing.Prices is one.
	Prices PriceEntries
	// Reconciler compares a provider's export with the recorded costs
	// (api.Reconciler; app.Reconciler is one).
	Reconciler Reconciler
	// Limits lists the limits and their states (*limits.Manager).
	Limits LimitStates
	// Forecaster forecasts the month's spend of the calls a query selects
	// (api.Forecaster; *watch.Watcher is one).
	Forecaster Forecaster
	// Alerts lists stored alerts, newest first (*alert.Engine).
	Alerts AlertLister
	// WatchRules returns the rules of the periodic checks (spend spikes,
	// cost per outcome, error rate, forecast against limits): the
	// watch.Watcher's Rules. Nil leaves them out of the rules table.
	WatchRules func() watch.Rules
}

// PriceEntries is the read side of api.PriceManager.
type PriceEntries interface {
	// Entries returns the API price entries in force.
	Entries(ctx context.Context) ([]store.StoredPriceEntry, error)
	// History returns every version of entry id, oldest first.
	History(ctx context.Context, id string) ([]store.StoredPriceEntry, error)
	// Revisions lists cost revisions, newest first.
	Revisions(ctx context.Context, q store.RevisionQuery) ([]store.CostRevision, error)
}

// Reconciler is api.Reconciler.
type Reconciler interface {
	Reconcile(ctx context.Context, vendor string, export io.Reader, from, to time.Time, tolerancePct float64) (reconcile.Report, error)
}

// LimitStates is the read side of api.Limits.
type LimitStates interface {
	// List returns the limits in force.
	List() []limits.Limit
	// States returns every limit's state in its current window.
	States(ctx context.Context) ([]limits.State, error)
}

// Forecaster is api.Forecaster.
type Forecaster interface {
	Forecast(ctx context.Context, q store.CostQuery, tz string) (forecast.Forecast, error)
}

// AlertLister lists stored alerts; *alert.Engine is one.
type AlertLister interface {
	List(ctx context.Context, q alert.ListQuery) ([]alert.Alert, error)
}
