package drift

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/store"
)

// Event kinds besides KindModelIdentity.
const (
	// KindBehaviour is a behaviour signal of a use case on a model that
	// changed.
	KindBehaviour = "behaviour"
	// SignalModelIdentity is the signal name identity events are stored
	// under.
	SignalModelIdentity = "model_identity"
)

// Alert kinds the monitor raises.
const (
	AlertBehaviour     = "behaviour_drift"
	AlertModelIdentity = "model_identity_change"
)

// Store is what the monitor reads and keeps.
type Store interface {
	store.CallSignalReader
	store.DriftEventStore
	store.RollupReader
	store.IdentityReader
}

// Raiser sends alerts (the alert engine).
type Raiser interface {
	Raise(ctx context.Context, a alert.Alert) (alert.Alert, bool, error)
}

// MonitorOptions configure a Monitor.
type MonitorOptions struct {
	Store  Store
	Alerts Raiser // nil: events are kept but not raised
	Config Config
	// Lookback bounds the baseline in time (default 7 days).
	Lookback time.Duration
	Log      *slog.Logger
	Now      func() time.Time
}

// Monitor checks every active scope's behaviour signals and keeps and
// raises the drift events it finds. It is safe for concurrent use; Check
// calls are serialised.
type Monitor struct {
	opt MonitorOptions
	mu  sync.Mutex
	// last is the newest call checked per scope: a scope without new
	// calls is not checked again.
	last map[Scope]string
}

// Scope is a use case on a model: the stream of calls drift compares.
type Scope struct {
	UseCase  string `json:"use_case"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// NewMonitor returns a monitor.
func NewMonitor(opt MonitorOptions) (*Monitor, error) {
	if opt.Store == nil {
		return nil, errors.New("drift: a monitor needs a store")
	}
	if err := opt.Config.Validate(); err != nil {
		return nil, err
	}
	opt.Config = opt.Config.withDefaults()
	if opt.Lookback <= 0 {
		opt.Lookback = 7 * 24 * time.Hour
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Monitor{opt: opt, last: map[Scope]string{}}, nil
}

// Run checks every interval until ctx is done.
func (m *Monitor) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.Check(ctx); err != nil && ctx.Err() == nil {
			m.opt.Log.Warn("drift: check", "err", err)
		}
	}
}

// Check looks at every scope with calls in the last day (new ones since
// its last check) and at the model identities of the last day, stores
// the new events, raises their alerts and returns them.
func (m *Monitor) Check(ctx context.Context) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opt.Now().UTC()
	var out []Event
	idEvents, err := m.identities(ctx, now)
	if err != nil {
		return nil, err
	}
	out = append(out, idEvents...)
	rows, err := m.opt.Store.Rollup(ctx, store.RollupQuery{From: now.Add(-24 * time.Hour).Truncate(time.Minute), To: now.Truncate(time.Minute).Add(time.Minute),
		GroupBy: []string{store.RollupUseCase, store.RollupProvider, store.RollupModel}})
	if err != nil {
		return out, fmt.Errorf("drift: active scopes: %w", err)
	}
	var errs []error
	for _, r := range rows {
		sc := Scope{UseCase: r.Key.UseCase, Provider: r.Key.Provider, Model: r.Key.Model}
		evs, err := m.checkScope(ctx, sc, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, evs...)
	}
	return out, errors.Join(errs...)
}

// checkScope runs Detect on one scope's calls.
func (m *Monitor) checkScope(ctx context.Context, sc Scope, now time.Time) ([]Event, error) {
	cfg := m.opt.Config
	limit := cfg.BaselineCalls + slices.Max(cfg.RecentCalls)
	calls, err := m.opt.Store.CallSignals(ctx, store.CallSignalQuery{UseCase: sc.UseCase, Provider: sc.Provider, Model: sc.Model,
		From: now.Add(-m.opt.Lookback), To: now.Add(time.Nanosecond), Limit: min(limit, store.MaxCallSignals)})
	if err != nil {
		return nil, fmt.Errorf("drift: calls of %s: %w", sc, err)
	}
	if len(calls) == 0 || m.last[sc] == calls[0].ID {
		return nil, nil
	}
	m.last[sc] = calls[0].ID
	slices.Reverse(calls)
	prior, err := m.opt.Store.DriftEvents(ctx, store.DriftEventQuery{UseCase: sc.UseCase, Provider: sc.Provider, Model: sc.Model,
		From: now.Add(-m.opt.Lookback), Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("drift: events of %s: %w", sc, err)
	}
	since := map[string]time.Time{}
	for _, e := range prior {
		// The new behaviour is the baseline from the event's detection
		// on (not its estimated start, which may fall a little early
		// and mix the old behaviour into the new baseline).
		if e.UseCase == sc.UseCase && e.DetectedAt.After(since[e.Signal]) {
			since[e.Signal] = e.DetectedAt
		}
	}
	var out []Event
	for _, f := range Detect(calls, since, cfg) {
		ev := behaviourEvent(sc, f, now)
		if err := m.save(ctx, ev); err != nil {
			return out, err
		}
		m.raise(ctx, ev)
		out = append(out, ev)
	}
	return out, nil
}

// identities turns the identity changes of the last day into stored
// events, once each.
func (m *Monitor) identities(ctx context.Context, now time.Time) ([]Event, error) {
	list, err := m.opt.Store.ModelIdentities(ctx, store.IdentityQuery{})
	if err != nil {
		return nil, fmt.Errorf("drift: identities: %w", err)
	}
	var out []Event
	for _, e := range IdentityEvents(list) {
		if e.At.Before(now.Add(-24 * time.Hour)) {
			continue
		}
		e.ID = IdentityEventID(e)
		have, err := m.opt.Store.DriftEvents(ctx, store.DriftEventQuery{Signal: SignalModelIdentity, Provider: e.Provider, Model: e.Model,
			From: e.At, To: e.At.Add(time.Nanosecond)})
		if err != nil {
			return out, fmt.Errorf("drift: identity events: %w", err)
		}
		if slices.ContainsFunc(have, func(h store.DriftEvent) bool { return h.ID == e.ID }) {
			continue
		}
		e.DetectedAt = now
		e.Summary = fmt.Sprintf("%s/%s now answers as %s (was %s)", e.Provider, e.Model, e.Current, e.Previous)
		if err := m.save(ctx, e); err != nil {
			return out, err
		}
		m.raise(ctx, e)
		out = append(out, e)
	}
	return out, nil
}

// IdentityEventID is the stored id of an identity event: one identity
// of one model is one event.
func IdentityEventID(e Event) string {
	h := sha256.Sum256([]byte(strings.Join([]string{e.Provider, e.Model, e.Current.ResponseModel, e.Current.SystemFingerprint}, "\x00")))
	return "dft_id_" + hex.EncodeToString(h[:12])
}

func (m *Monitor) save(ctx context.Context, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("drift: encode event: %w", err)
	}
	signal := e.Signal
	if e.Kind == KindModelIdentity {
		signal = SignalModelIdentity
	}
	if err := m.opt.Store.SaveDriftEvent(ctx, store.DriftEvent{ID: e.ID, Signal: signal, UseCase: e.UseCase, Provider: e.Provider, Model: e.Model,
		StartedAt: e.At, DetectedAt: e.DetectedAt, Event: b}); err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	m.opt.Log.Info("drift event", "kind", e.Kind, "signal", e.Signal, "use_case", e.UseCase, "provider", e.Provider, "model", e.Model,
		"at", e.At, "summary", e.Summary)
	return nil
}

func (m *Monitor) raise(ctx context.Context, e Event) {
	if m.opt.Alerts != nil {
		RaiseEvent(ctx, m.opt.Alerts, e, m.opt.Log)
	}
}

// RaiseEvent sends a drift event to the alert engine: behaviour_drift
// (warning) or model_identity_change (info), scoped by use case, provider,
// model and signal, de-duplicated by the event's id.
func RaiseEvent(ctx context.Context, alerts Raiser, e Event, log *slog.Logger) {
	a := alert.Alert{Severity: alert.SeverityWarning, Title: e.Summary, At: e.DetectedAt, DedupKey: "drift/" + e.ID,
		Scope: map[string]string{"model": e.Model}, Fields: map[string]any{"event": e.ID, "started_at": e.At}}
	if e.Provider != "" {
		a.Scope["provider"] = e.Provider
	}
	if e.UseCase != "" {
		a.Scope["use_case"] = e.UseCase
	}
	switch e.Kind {
	case KindModelIdentity:
		a.Kind, a.Severity = AlertModelIdentity, alert.SeverityInfo
		a.Fields["previous"], a.Fields["current"] = e.Previous, e.Current
	default:
		f := e.Finding
		a.Kind = AlertBehaviour
		a.Scope["signal"] = e.Signal
		a.Value, a.Threshold = finite(f.Effect), finite(f.MinEffect)
		a.Message = e.Summary
		a.Fields["test"], a.Fields["p_adjusted"], a.Fields["effect_name"] = f.Test, finite(f.PAdjusted), f.EffectName
		var near []string
		for _, c := range f.Changes {
			if c.Near {
				near = append(near, c.Kind+" "+c.Value)
			}
		}
		if len(near) > 0 {
			a.Fields["changed_with_it"] = near
		}
	}
	if _, _, err := alerts.Raise(ctx, a); err != nil {
		log.Warn("drift: raise alert", "event", e.ID, "err", err)
	}
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// behaviourEvent is a finding as an event, with a one-line summary.
func behaviourEvent(sc Scope, f Finding, now time.Time) Event {
	f.Changes = slices.DeleteFunc(f.Changes, func(c Change) bool { return c.Share <= 0 })
	e := Event{ID: ids.New("dft_", now), Kind: KindBehaviour, Signal: f.Signal, UseCase: sc.UseCase, Provider: sc.Provider, Model: sc.Model,
		At: f.StartedAt, DetectedAt: now, Finding: &f}
	e.Summary = summary(sc, f)
	return e
}

// summary says what changed in words.
func summary(sc Scope, f Finding) string {
	who := sc.Provider + "/" + sc.Model
	if sc.UseCase != "" {
		who = sc.UseCase + " on " + who
	}
	var what string
	switch {
	case f.Baseline.Quantiles != nil:
		what = fmt.Sprintf("%s went %s %+.0f%% (median %s → %s)", f.Signal, f.Direction, 100*f.Change,
			num(f.Baseline.Quantiles.P50), num(f.Recent.Quantiles.P50))
	case f.Baseline.Rate != nil:
		what = fmt.Sprintf("%s went %s from %.1f%% to %.1f%%", f.Signal, f.Direction, 100**f.Baseline.Rate, 100**f.Recent.Rate)
	default:
		what = fmt.Sprintf("%s changed their mix (Cramér's V %.2f)", f.Signal, f.Effect)
	}
	s := fmt.Sprintf("%s: %s since %s", who, what, f.StartedAt.Format("2006-01-02 15:04 UTC"))
	var near []string
	for _, c := range f.Changes {
		if c.Near {
			near = append(near, strings.ReplaceAll(c.Kind, "_", " ")+" "+c.Value)
		}
	}
	if len(near) > 0 {
		s += "; at the same time: " + strings.Join(near, ", ")
	}
	return s
}

func num(v float64) string {
	if math.Abs(v) >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func (s Scope) String() string {
	return cmp.Or(s.UseCase, "(no use case)") + " on " + s.Provider + "/" + s.Model
}
