package dashboard

// HealthSources are what the Latency and Providers and routes pages read: providers, routes, circuit breakers and rate-limit headroom.
type HealthSources struct{}
