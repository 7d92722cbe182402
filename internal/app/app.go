// Package app wires Weir's parts into one process: the store, the recorder,
// the provider adapters, the gateway, the management API and the metrics,
// all on one listener. cmd/weir calls it; nothing else imports it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirhq/weir/internal/access"
	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/costing"
	"github.com/weirhq/weir/internal/credential"
	"github.com/weirhq/weir/internal/dashboard"
	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/drift/canary"
	"github.com/weirhq/weir/internal/eval/criteria"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/eval/judge"
	"github.com/weirhq/weir/internal/eval/review"
	"github.com/weirhq/weir/internal/gateway"
	"github.com/weirhq/weir/internal/ingest"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/metrics"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/prompt"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/anthropic"
	"github.com/weirhq/weir/internal/provider/azure"
	"github.com/weirhq/weir/internal/provider/bedrock"
	"github.com/weirhq/weir/internal/provider/gemini"
	"github.com/weirhq/weir/internal/provider/openai"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/recorder"
	"github.com/weirhq/weir/internal/secret"
	"github.com/weirhq/weir/internal/sso"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/tokencount"
	"github.com/weirhq/weir/internal/value"
	"github.com/weirhq/weir/internal/watch"
)

// Providers is the registry of provider types Weir can build.
func Providers() provider.Registry {
	return provider.Registry{
		"openai":    openai.Factory,
		"anthropic": anthropic.Factory,
		"bedrock":   bedrock.Factory,
		"azure":     azure.Factory,
		"gemini":    gemini.Factory,
		"vertex":    gemini.VertexFactory,
	}
}

// NewTransport returns the HTTP transport shared by every adapter.
func NewTransport(connectTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connectTimeout,
		ExpectContinueTimeout: time.Second,
		// Request bodies are written in one call that bypasses the buffer,
		// so a small one costs nothing and saves 3 KiB per open upstream
		// connection.
		WriteBufferSize: 1 << 10,
	}
}

// BuildUpstreams builds one adapter per configured provider.
func BuildUpstreams(cfg config.Config, client *http.Client, keys func(provider string) func() string) ([]*gateway.Upstream, error) {
	reg := Providers()
	var ups []*gateway.Upstream
	var errs []error
	for i, p := range cfg.Providers {
		pc := provider.Config{
			Name: p.Name, Type: p.Type, BaseURL: p.BaseURL, APIKey: p.APIKey.Value(),
			Headers: p.Headers, Models: p.Models, Client: client,
			Timeout:           firstPositive(p.UpstreamTimeout.D(), cfg.Gateway.UpstreamTimeout.D()),
			StreamIdleTimeout: firstPositive(p.StreamIdleTimeout.D(), cfg.Gateway.StreamIdleTimeout.D()),
			ConnectTimeout:    cfg.Gateway.ConnectTimeout.D(),
		}
		if p.Type == "azure" {
			pc.Azure = &provider.Azure{APIVersion: p.APIVersion, Auth: p.Auth, Deployments: p.Deployments}
		}
		if p.Type == "bedrock" {
			pc.AWS = &provider.AWS{Region: p.Region, Profile: p.AWSProfile,
				AccessKeyID: p.AWSAccessKeyID.Value(), SecretAccessKey: p.AWSSecretAccessKey.Value()}
		}
		if p.APIKey.Stored() {
			pc.Key = func() string { return "" }
			if keys != nil {
				if k := keys(p.Name); k != nil {
					pc.Key = k
				}
			}
		}
		ad, err := reg.Build(pc)
		if err != nil {
			errs = append(errs, fmt.Errorf("providers[%d]: %w", i, err))
			continue
		}
		if p.PriceAs != "" && p.PriceAs != "none" && !vendors[p.PriceAs] {
			errs = append(errs, fmt.Errorf("providers[%d].price_as: %q is not a vendor of the price catalog (openai, anthropic, google, bedrock, azure, mistral, deepseek, groq, xai) or none", i, p.PriceAs))
			continue
		}
		ups = append(ups, &gateway.Upstream{Name: p.Name, Type: p.Type, Adapter: ad, Models: p.Models, AllowCallerKey: p.AllowCallerKey, PriceAs: priceAs(p)})
	}
	return ups, errors.Join(errs...)
}

// Check validates cfg as far as possible without starting: it builds every
// provider adapter and the price catalog with its overlay.
func Check(cfg config.Config) error {
	_, err := BuildUpstreams(cfg, &http.Client{}, nil)
	_, cerr := Catalog(cfg)
	return errors.Join(err, cerr)
}

// ConfigOverlays returns the negotiated prices of the configuration, first
// (highest precedence) first: the config's own sheets and discounts (the
// overlay "config"), then the overlay file's.
func ConfigOverlays(cfg config.Config) ([]pricing.Overlay, error) {
	var ovs []pricing.Overlay
	if len(cfg.Pricing.Sheets) > 0 || len(cfg.Pricing.Discounts) > 0 {
		ovs = append(ovs, pricing.Overlay{Name: "config", Discounts: cfg.Pricing.Discounts, Sheets: cfg.Pricing.Sheets})
	}
	if cfg.Pricing.Overlay != "" {
		data, err := os.ReadFile(cfg.Pricing.Overlay)
		if err != nil {
			return nil, fmt.Errorf("pricing.overlay: %w", err)
		}
		o, err := pricing.ParseOverlay(cfg.Pricing.Overlay, data)
		if err != nil {
			return nil, fmt.Errorf("pricing.overlay: %w", err)
		}
		if o.Name == "config" || o.Name == costing.APIOverlay {
			return nil, fmt.Errorf("pricing.overlay %s: the name %q is reserved (config sheets, API entries)", cfg.Pricing.Overlay, o.Name)
		}
		ovs = append(ovs, o)
	}
	return ovs, nil
}

// Catalog is the built-in price catalog with the configuration's
// negotiated prices laid over it (not those managed through the API, which
// live in the store).
func Catalog(cfg config.Config) (*pricing.Catalog, error) {
	cat, err := pricing.Embedded()
	if err != nil {
		return nil, fmt.Errorf("load the price catalog: %w", err)
	}
	ovs, err := ConfigOverlays(cfg)
	if err != nil || len(ovs) == 0 {
		return cat, err
	}
	if cat, err = cat.WithOverlays(ovs...); err != nil {
		return nil, fmt.Errorf("pricing (sheets, discounts, overlay %s): %w", cfg.Pricing.Overlay, err)
	}
	return cat, nil
}

// OpenPrices loads the prices in force for a store: the built-in catalog,
// the configuration's overlays, and the entries managed through the API.
func OpenPrices(ctx context.Context, cfg config.Config, st costing.PriceStore, log *slog.Logger) (*costing.Prices, *costing.Engine, error) {
	pub, err := pricing.Embedded()
	if err != nil {
		return nil, nil, fmt.Errorf("load the price catalog: %w", err)
	}
	ovs, err := ConfigOverlays(cfg)
	if err != nil {
		return nil, nil, err
	}
	prices, cat, err := costing.NewPrices(ctx, st, pub, ovs)
	if err != nil {
		return nil, nil, fmt.Errorf("pricing: %w", err)
	}
	eng := costing.NewEngine(cat, cfg.Pricing.Commitments, log)
	prices.Attach(eng)
	return prices, eng, nil
}

// PriceAsOf maps configured provider names to their catalog provider (a
// name that is not configured but is a catalog vendor, as ingested calls
// name theirs, maps to itself), for re-pricing calls recorded before costs
// named it and for ingested calls.
func PriceAsOf(cfg config.Config) func(string) string {
	m := map[string]string{}
	for _, p := range cfg.Providers {
		m[p.Name] = priceAs(p)
	}
	return func(name string) string {
		if v, ok := m[name]; ok {
			return v
		}
		if slices.Contains(pricing.KnownProviders, name) {
			return name
		}
		return ""
	}
}

func firstPositive(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

// App is a running Weir.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	store   *sqlite.Store
	rec     *recorder.Recorder
	alerts  *alert.Engine
	access  *access.Manager
	watch   *watch.Watcher
	metrics *metrics.Metrics
	handler http.Handler
	gw      *gateway.Gateway
	people  *auth.Manager
	oidc    *sso.Handler // nil without auth.oidc
	creds   *credential.Manager
	audit   *audit.Log
	// experiments run evaluation experiments through the gateway at
	// selfURL, which judgeGW calls too: the address served (set when the
	// listener is known).
	experiments *experiment.Service
	reviews     *review.Service
	judges      *judge.Service
	dash        *dashboard.Dashboard
	judgeGW     *judge.HTTPGateway
	selfURL     atomic.Pointer[string]
	// drift watches behaviour and model identities; canaries run golden
	// sets on a schedule (nil without any, both nil when drift is off).
	drift    *drift.Monitor
	canaries *canary.Runner
}

// New opens the store and the recorder (replaying what a crash left in the
// journal) and builds the handlers.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "weir.db"), sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	auditLog := audit.New(st, audit.Options{Log: log.With("part", "audit")})
	box, err := secret.FromEnv(os.LookupEnv)
	if errors.Is(err, secret.ErrNoMasterKey) {
		box, err = nil, nil
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	var providerNames []string
	for _, p := range cfg.Providers {
		providerNames = append(providerNames, p.Name)
	}
	creds, err := credential.New(ctx, credential.Options{
		Store: st, Box: box, Providers: providerNames, Stored: cfg.StoredProviders(),
		Audit: auditLog, Log: log.With("part", "credentials"),
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	ups, err := BuildUpstreams(cfg, &http.Client{Transport: NewTransport(cfg.Gateway.ConnectTimeout.D())}, creds.Key)
	if err != nil {
		st.Close()
		return nil, err
	}
	rec, err := recorder.Open(ctx, filepath.Join(cfg.DataDir, "journal"), st, recorder.Options{
		QueueSize: cfg.Recorder.QueueSize, BatchSize: cfg.Recorder.BatchSize,
		BatchDelay: cfg.Recorder.FlushInterval.D(), Fsync: cfg.Recorder.Fsync,
	}, log.With("part", "recorder"))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open recorder: %w", err)
	}
	prices, eng, err := OpenPrices(ctx, cfg, st, log.With("part", "pricing"))
	if err != nil {
		rec.Close(ctx)
		st.Close()
		return nil, err
	}
	prices.SetAuditor(auditLog)
	alerts, err := openAlerts(ctx, cfg, st, log.With("part", "alerts"))
	if err != nil {
		rec.Close(ctx)
		st.Close()
		return nil, err
	}
	acc, err := access.New(ctx, st, nil)
	if err != nil {
		alerts.Close(ctx)
		rec.Close(ctx)
		st.Close()
		return nil, err
	}
	acc.SetAuditor(auditLog)
	lim, err := limits.New(ctx, limits.Options{Store: st, Alert: limitAlerter(alerts, log), Audit: auditLog, Log: log.With("part", "limits")})
	if err != nil {
		alerts.Close(ctx)
		rec.Close(ctx)
		st.Close()
		return nil, err
	}
	people, err := OpenAuth(cfg, st, auditLog, log.With("part", "auth"))
	var oidc *sso.Handler
	if o := cfg.Auth.OIDC; err == nil && o != nil {
		c := o.SSO()
		c.SecureCookie = c.SecureCookie || !cfg.Auth.InsecureCookies && !Loopback(cfg.Listen)
		oidc, err = sso.New(c, sso.Options{Sessions: ssoSessions{m: people}, Log: log.With("part", "oidc")})
	}
	if err != nil {
		alerts.Close(ctx)
		rec.Close(ctx)
		st.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, store: st, rec: rec, alerts: alerts, access: acc, people: people, oidc: oidc, creds: creds, audit: auditLog, metrics: metrics.New()}
	useCases := &value.Service{St: st, Audit: auditLog}
	a.watch = &watch.Watcher{Cost: st, UseCases: useCases, Limits: lim.List, Alerts: alerts, Log: log.With("part", "watch")}
	a.registerRecorderMetrics()

	counter := tokencount.New()
	prompts := prompt.New(prompt.Options{Store: st, Audit: auditLog, AllowUnknownVariables: cfg.Prompts.AllowUnknownVariables, Log: log.With("part", "prompts")})
	crit := criteria.New(criteria.Options{Store: st, People: st, Audit: auditLog, Log: log.With("part", "criteria")})
	datasets := dataset.New(dataset.Options{Store: st, Calls: st, Audit: auditLog, Log: log.With("part", "datasets")})
	reviews := review.New(review.Options{Store: st, Calls: st, Audit: auditLog, Log: log.With("part", "review")})
	a.reviews = reviews
	if dir := cfg.Prompts.Dir; dir != "" {
		res, err := prompts.SyncDir(ctx, dir, "files")
		if err != nil {
			alerts.Close(ctx)
			rec.Close(ctx)
			st.Close()
			return nil, fmt.Errorf("prompts: %w", err)
		}
		log.Info("prompts synced", "dir", dir, "created", res.Created, "labelled", res.Labelled)
	}
	router := gateway.NewRouter(ups, cfg.Models)
	routes, err := BuildRoutes(cfg, ups)
	if err == nil {
		err = router.SetRoutes(routes)
	}
	if err != nil {
		alerts.Close(ctx)
		rec.Close(ctx)
		st.Close()
		return nil, err
	}
	var keys []string
	for _, k := range cfg.Gateway.APIKeys {
		keys = append(keys, k.Value())
	}
	gw := gateway.New(gateway.Options{
		Router:             router,
		Recorder:           rec,
		Observer:           a.metrics,
		Counter:            counter,
		Pricer:             eng,
		Limiter:            limiter{lim},
		Keys:               keyResolver{acc},
		Prompts:            prompter{prompts},
		Log:                log.With("part", "gateway"),
		MaxBodyBytes:       cfg.Gateway.MaxBodyBytes,
		MaxLoggedBodyBytes: cfg.LoggedBodyLimit(),
		APIKeys:            keys,
	})
	// LLM judges call Weir's own gateway, attributed to the "evaluation"
	// use case; with gateway api_keys configured they present the first.
	judgeGW := &judge.HTTPGateway{BaseURL: judge.LocalBaseURL(cfg.Listen)}
	if len(keys) > 0 {
		judgeGW.Key = keys[0]
	}
	judges := judge.New(judge.Options{Store: st, Gateway: judgeGW, Audit: auditLog, Sink: reviewSink{r: reviews, by: "judge-audit"}, Log: log.With("part", "judges")})
	a.judgeGW = judgeGW
	a.judges = judges
	a.selfURL.Store(new(judge.LocalBaseURL(cfg.Listen)))
	experiments := experiment.New(experiment.Options{Store: st, Datasets: datasets, Criteria: crit, Records: st,
		Gateway: func() string { return *a.selfURL.Load() }, Reviews: reviewSink{r: reviews, by: "experiment"}, Audit: auditLog, Log: log.With("part", "experiments")})
	a.experiments = experiments
	reviews.UseExperiments(experiments) // a reviewer sees an experiment output's call
	if a.drift, a.canaries, err = newDrift(cfg.Drift, st, alerts, experiments, log.With("part", "drift")); err != nil {
		rec.Close(ctx)
		st.Close()
		return nil, err
	}
	redacted := cfg.Redacted()
	var names []string
	for _, p := range cfg.Providers {
		names = append(names, p.Name)
	}
	ingester := ingest.New(ingest.Options{
		Store: st, Pricer: eng, PriceAs: PriceAsOf(cfg), Providers: names,
		MaxLoggedBodyBytes: cfg.LoggedBodyLimit(), Observe: a.metrics.Observe, Log: log.With("part", "ingest"),
	})
	mgmt := api.New(api.Options{Requests: st, Costs: st, Rollups: st, Identities: st, DriftEvents: st, Config: func() any { return redacted }, Quoter: engineQuoter{eng}, Catalog: eng.Catalog, Prices: prices, PriceAs: PriceAsOf(cfg), Commitments: costing.Commitments{List: cfg.Pricing.Commitments, Cost: st}, History: &costing.OutputHistory{Cost: st}, Reconciler: Reconciler{Cost: st, Catalog: eng.Catalog, Providers: cfg.Providers}, UseCases: useCases, Ingest: ingester, Limits: lim, Access: acc, Alerts: alerts.ListHandler(), Forecaster: a.watch, Counter: counter, People: people, Credentials: creds.Handler(), Extra: append(slices.Concat(ssoRoutes(oidc), promptRoutes(prompts), extraRoutes(crit.Handler(), criteria.Routes), extraRoutes(datasets.Handler(), dataset.Routes), extraRoutes(judges.Handler(), judge.Routes), extraRoutes(experiments.Handler(), experiment.Routes), extraRoutes(reviews.Handler(), review.Routes)), api.ExtraRoute{Method: "GET", Path: "/api/v1/audit", Permission: auth.ReadAudit, Handler: audit.Handler(st, log.With("part", "audit"))},
		api.ExtraRoute{Method: "GET", Path: "/api/v1/routes", Permission: auth.Read, Handler: routesHandler(router)}), Log: log.With("part", "api")})

	a.gw = gw
	mux := http.NewServeMux()
	gw.Register(mux)
	mgmt.Register(mux)
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /{$}", a.index)
	ssoPath := ""
	if oidc != nil {
		ssoPath = sso.LoginPath
	}
	dash, err := dashboard.New(dashboard.Options{Auth: people, Sessions: people, Requests: st, Costs: st, Rollups: st,
		Value:  dashboard.ValueSources{UseCases: useCases, Reports: st, KPIs: st, KPIDays: st, Forecaster: a.watch, Limits: lim, Alerts: alerts},
		Health: dashboard.HealthSources{Routes: router, RouteConfig: cfg.Routes},
		Spend: dashboard.SpendSources{Catalog: eng.Catalog, Prices: prices, Reconciler: Reconciler{Cost: st, Catalog: eng.Catalog, Providers: cfg.Providers},
			Limits: lim, Forecaster: a.watch, Alerts: alerts, WatchRules: func() watch.Rules { return a.watch.Rules }},
		Settings: dashboard.SettingsSources{Access: acc, People: people, Prompts: prompts},
		Review:   dashboard.ReviewSources{Queues: reviews},
		Datasets: datasets,
		// Use case reports follow every run of their range: kept warm.
		ReportRefresh: reportRefresh,
		Evaluation:    dashboard.EvaluationSources{Criteria: crit, Datasets: datasets, Experiments: experiments, Judges: judges},
		Drift:         dashboard.DriftSources{Events: st, Identities: st},
		SSOLoginPath:  ssoPath, Log: log.With("part", "dashboard")})
	if err != nil {
		alerts.Close(ctx)
		rec.Close(ctx)
		st.Close()
		return nil, err
	}
	mux.Handle(dashboard.Prefix, dash)
	a.dash = dash
	a.handler = mux
	return a, nil
}

func (a *App) registerRecorderMetrics() {
	reg := a.metrics.Registry()
	gauge := func(name, help string, f func(recorder.Stats) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(a.rec.Stats()) }))
	}
	counter := func(name, help string, f func(recorder.Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(a.rec.Stats()) }))
	}
	gauge("weir_recorder_queue_depth", "Finished records waiting in memory for the store.", func(s recorder.Stats) float64 { return float64(s.QueueDepth) })
	gauge("weir_recorder_journal_bytes", "Journal bytes from the checkpoint on: what a restart would replay; grows while the store is down.", func(s recorder.Stats) float64 { return float64(s.JournalBytes) })
	gauge("weir_recorder_backlog", "Finished records journaled but not yet in the store.", func(s recorder.Stats) float64 { return float64(s.Backlog) })
	gauge("weir_recorder_in_flight", "Calls begun and not finished.", func(s recorder.Stats) float64 { return float64(s.InFlight) })
	counter("weir_recorder_records_written_total", "Records committed to the store.", func(s recorder.Stats) float64 { return float64(s.RecordsWritten) })
	counter("weir_recorder_store_errors_total", "Failed store writes (each retried).", func(s recorder.Stats) float64 { return float64(s.StoreErrors) })
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weir_audit_failures_total", Help: "Changes whose audit log entry could not be written (each logged at error level)."},
		func() float64 { return float64(a.audit.Failures()) }))
}

// Handler is the whole HTTP surface, for tests that serve it themselves.
func (a *App) Handler() http.Handler { return a.handler }

func (a *App) index(w http.ResponseWriter, r *http.Request) {
	// A browser is sent to the dashboard; programs get the directory.
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, dashboard.Prefix, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"name":"weir","openai_base_url":"/v1","anthropic_base_url":"/","dashboard":"/ui/","requests":"/api/v1/requests","metrics":"/metrics","health":"/healthz"}`+"\n")
}

// Serve listens on cfg.Listen until ctx is done, then drains in-flight
// calls and the recorder. ready, when not nil, receives the bound address.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		a.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
	}
	return a.ServeListener(ctx, ln, ready)
}

// ServeListener is Serve on an existing listener.
func (a *App) ServeListener(ctx context.Context, ln net.Listener, ready func(addr string)) error {
	if err := checkExposure(ctx, a.people, ln.Addr().String()); err != nil {
		ln.Close()
		a.Close(context.Background())
		return err
	}
	// Judges and experiments call this very gateway.
	self := judge.LocalBaseURL(ln.Addr().String())
	a.selfURL.Store(&self)
	a.judgeGW.BaseURL = self
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	wctx, stopWatch := context.WithCancel(ctx)
	interval := a.cfg.Alerts.CheckInterval.D()
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	watched := make(chan struct{}, 8) // its capacity is the number of loops
	go func() {
		defer func() { watched <- struct{}{} }()
		a.creds.Run(wctx) // stored provider keys changed by other replicas
	}()
	go func() {
		defer func() { watched <- struct{}{} }()
		a.watch.Run(wctx, interval)
	}()
	go func() {
		defer func() { watched <- struct{}{} }()
		a.access.Run(wctx) // keys changed by the CLI or other replicas
	}()
	go func() {
		defer func() { watched <- struct{}{} }()
		a.reviews.Run(wctx) // sample production calls into the review queues
	}()
	go func() {
		defer func() { watched <- struct{}{} }()
		watchJudges(wctx, a.judges, a.alerts, judgeDriftInterval, a.log.With("part", "judges"))
	}()
	go func() {
		defer func() { watched <- struct{}{} }()
		a.dash.RefreshReports(wctx) // the use case reports, kept warm
	}()
	go func() {
		defer func() { watched <- struct{}{} }()
		runDrift(wctx, a.cfg.Drift, a.drift, a.canaries) // behaviour drift, identities, canaries
	}()
	go func() {
		defer func() { watched <- struct{}{} }()
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				a.people.Sweep(wctx) // expired sessions
			}
		}
	}()
	// The watcher stops before the store and the alert engine close.
	defer func() {
		stopWatch()
		for range cap(watched) { // one per loop started above
			<-watched
		}
	}()
	if a.cfg.PprofListen != "" {
		stop, err := a.servePprof()
		if err != nil {
			srv.Close()
			a.Close(context.Background())
			return err
		}
		defer stop()
	}
	addr := ln.Addr().String()
	a.log.Info("weir listening", "addr", addr, "providers", len(a.cfg.Providers), "data_dir", a.cfg.DataDir)
	if a.oidc != nil {
		go a.oidc.Run(wctx) // discovery, retried while the provider is down
	}
	if a.people.Open(ctx) {
		a.log.Warn("no person exists: the management API is open to anyone on this machine; create an admin with weir admin create-user")
	}
	if ready != nil {
		ready(addr)
	}
	// Experiments a stop interrupted go on where they were.
	if err := a.experiments.Resume(wctx); err != nil {
		a.log.Warn("experiments: resume", "err", err)
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Gateway.ShutdownTimeout.D())
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		a.log.Warn("shutdown: in-flight calls cut", "err", err)
		srv.Close()
	}
	// Calls cut by Close still finish their records; then the recorder
	// drains into the store. Whatever does not make it stays in the journal
	// and is replayed at the next start.
	gctx, gcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer gcancel()
	if err := a.gw.Wait(gctx); err != nil {
		a.log.Warn("shutdown", "err", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	if err := a.Close(dctx); err != nil {
		return err
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		return nil
	}
	return serveErr
}

// servePprof serves Go's profiler on cfg.PprofListen, a separate listener
// so it is never exposed with the gateway.
func (a *App) servePprof() (stop func(), err error) {
	ln, err := net.Listen("tcp", a.cfg.PprofListen)
	if err != nil {
		return nil, fmt.Errorf("listen on pprof_listen %s: %w", a.cfg.PprofListen, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	a.log.Info("pprof listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// Close drains the recorder into the store and closes it.
func (a *App) Close(ctx context.Context) error {
	// Running experiments stop (they resume at the next start) before the
	// store closes.
	a.experiments.Close()
	err := a.rec.Close(ctx)
	if aerr := a.alerts.Close(ctx); err == nil {
		err = aerr
	}
	if cerr := a.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// engineQuoter quotes with the catalog in force.
type engineQuoter struct{ e *costing.Engine }

func (q engineQuoter) Price(pq pricing.Query) (pricing.Cost, error) { return q.e.Catalog().Price(pq) }

// limiter adapts limits.Manager to the gateway's Limiter: no ticket is a
// nil Settler.
type limiter struct{ m *limits.Manager }

func (l limiter) Admit(ctx context.Context, rec *record.Record, estimate func() (pricing.Money, int64)) (gateway.Settler, error) {
	t, err := l.m.Admit(ctx, rec, estimate)
	if t == nil || err != nil {
		return nil, err
	}
	return t, nil
}

// openAlerts starts the alert engine on the store's database with the
// configured webhooks.
func openAlerts(ctx context.Context, cfg config.Config, st *sqlite.Store, log *slog.Logger) (*alert.Engine, error) {
	if err := alert.Migrate(ctx, st.Writer()); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	var hooks []alert.Webhook
	for _, w := range cfg.Alerts.Webhooks {
		hooks = append(hooks, alert.Webhook{Name: w.Name, URL: w.URL.Value(), Format: w.Format, Headers: w.Headers,
			Secret: w.Secret.Value(), Kinds: w.Kinds, MinSeverity: alert.Severity(w.MinSeverity)})
	}
	e, err := alert.New(alert.Options{Store: alert.NewSQLiteStore(st.Writer()), Webhooks: hooks, DedupWindow: cfg.Alerts.DedupWindow.D(), Log: log})
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return e, nil
}

// limitAlerter raises an alert when a limit passes its threshold or cap,
// or blocks a call. Each alert key is raised at most once a minute from
// here, so a client hammering a blocked limit does not turn every refusal
// into a store write (the engine deduplicates further, per hour).
func limitAlerter(e *alert.Engine, log *slog.Logger) limits.Alerter {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(l limits.Limit, key string, c limits.Counter, state string) {
		dedup := "limit:" + key + ":" + state
		mu.Lock()
		if t, ok := last[dedup]; ok && time.Since(t) < time.Minute {
			mu.Unlock()
			return
		}
		if len(last) > 10_000 {
			clear(last)
		}
		last[dedup] = time.Now()
		mu.Unlock()
		kind, sev := alert.KindLimitThreshold, alert.SeverityWarning
		switch state {
		case "exceeded":
			kind = alert.KindLimitExceeded
		case "blocked":
			kind, sev = alert.KindLimitExceeded, alert.SeverityCritical
		}
		scope := map[string]string{"limit": l.Name}
		if parts := strings.SplitN(key, "\x00", 3); len(parts) == 3 && l.Per != "" {
			scope[l.Per] = parts[1]
		}
		capv, used := limitUnits(l)
		a := alert.Alert{Rule: l.Name, Kind: kind, Severity: sev, Scope: scope,
			Title:   fmt.Sprintf("limit %s: %s", l.Name, state),
			Message: fmt.Sprintf("%s of %s used (%s)", used(c.Used), used(capv), l.Window),
			Value:   float64(c.Used), Threshold: float64(capv),
			DedupKey: dedup}
		if _, _, err := e.Raise(context.Background(), a); err != nil {
			log.Warn("raise limit alert", "limit", l.Name, "err", err)
		}
	}
}

// limitUnits returns a limit's cap in its counter units and a formatter.
func limitUnits(l limits.Limit) (int64, func(int64) string) {
	if l.USD != nil {
		return int64(*l.USD), func(n int64) string { return "$" + (pricing.Money(n) * pricing.Nano).Format(6) }
	}
	return *l.Tokens, func(n int64) string { return fmt.Sprintf("%d tokens", n) }
}

// keyResolver adapts access.Manager to the gateway's KeyResolver.
type keyResolver struct{ m *access.Manager }

func (k keyResolver) Active() bool { return k.m.Active() }

func (k keyResolver) Resolve(secret string) (gateway.Identity, bool) {
	id, ok := k.m.Resolve(secret)
	if !ok {
		return gateway.Identity{}, false
	}
	return gateway.Identity{KeyID: id.KeyID, Application: id.Application, Team: id.Team, Allows: id.Allows}, true
}
