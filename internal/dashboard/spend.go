package dashboard

// SpendSources are what the Costs and Limits and alerts pages read: costs, the price catalog, reconciliation, limits, alerts and forecasts.
type SpendSources struct{}
