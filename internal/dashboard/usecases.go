package dashboard

// ValueSources are what the Use cases, use case, instance and the overview's value figures pages read: use cases, their KPIs and instances.
type ValueSources struct{}
