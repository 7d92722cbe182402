package dashboard

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// DriftSources feed the Drift pages: the drift events the monitor
// stored and the model identities. Nil Events hides the pages.
type DriftSources struct {
	// Events are the stored drift events (the store).
	Events store.DriftEventStore
	// Identities are the identities each model answered as (the store):
	// identity changes are also found from them as they happen, before
	// the monitor stores them. Nil leaves them out.
	Identities store.IdentityReader
}

// driftPath is the Drift page's navigation path.
const driftPath = Prefix + "drift"

const (
	// driftListLimit bounds the events the Drift page lists.
	driftListLimit = 200
	// driftUseCaseLimit bounds the events the use case page shows.
	driftUseCaseLimit = 50
	// driftScanPages bounds the pages of stored events read to find one
	// event by its id (the store reads events by time, not id).
	driftScanPages = 20
	// driftUseCaseDays is how far back a use case's models are looked up
	// for its identity events when the filter sets no start.
	driftUseCaseDays = 90
)

// driftRanges are the Drift page's preset time ranges.
var driftRanges = map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour}

// driftFilter is the Drift page's filters as the URL carries them.
type driftFilter struct {
	UseCase, Provider, Model, Signal string
	// Kind is drift.KindBehaviour, drift.KindModelIdentity or "" (both).
	Kind string
	// Range is a preset of driftRanges or "" for any time; ignored when
	// From or To is set.
	Range string
	// FromText and ToText are the bounds as given (a day in TZ, To's day
	// included, or an RFC 3339 instant); TZ is the viewer's time zone.
	FromText, ToText, TZ string

	from, to time.Time
}

// parseDriftFilter reads the Drift page's filters from q, resolving the
// time range against now. A malformed value is an error wrapping
// errFilter.
func parseDriftFilter(q url.Values, now time.Time) (driftFilter, error) {
	f := driftFilter{UseCase: q.Get("use_case"), Provider: q.Get("provider"), Model: q.Get("model"), Signal: q.Get("signal"),
		Kind: q.Get("kind"), Range: q.Get("range"), FromText: q.Get("from"), ToText: q.Get("to"), TZ: q.Get("tz")}
	for name, s := range map[string]*string{"use case": &f.UseCase, "provider": &f.Provider, "model": &f.Model, "signal": &f.Signal,
		"kind": &f.Kind, "range": &f.Range, "from": &f.FromText, "to": &f.ToText, "time zone": &f.TZ} {
		*s = strings.TrimSpace(*s)
		if len(*s) > maxFilterLen {
			return f, fmt.Errorf("%w: the %s has more than %d bytes", errFilter, name, maxFilterLen)
		}
	}
	switch f.Kind {
	case "", drift.KindBehaviour, drift.KindModelIdentity:
	default:
		return f, fmt.Errorf("%w: unknown kind %q (%s or %s)", errFilter, f.Kind, drift.KindBehaviour, drift.KindModelIdentity)
	}
	if f.Signal != "" && !knownDriftSignal(f.Signal) {
		return f, fmt.Errorf("%w: unknown signal %q (%s, %s or %s:CRITERION)", errFilter, f.Signal,
			strings.Join(drift.Signals(), ", "), drift.SignalModelIdentity, drift.SignalCanaryScore)
	}
	var err error
	if f.from, f.to, f.Range, err = parseWindow(f.TZ, f.FromText, f.ToText, f.Range, driftRanges, "24h, 7d, 30d or 90d", now); err != nil {
		return f, err
	}
	return f, nil
}

// knownDriftSignal reports whether s names a signal events are stored
// under.
func knownDriftSignal(s string) bool {
	if s == drift.SignalModelIdentity || slices.Contains(drift.Signals(), s) {
		return true
	}
	crit, ok := strings.CutPrefix(s, drift.SignalCanaryScore+":")
	return ok && crit != ""
}

// values is f as a canonical query (empty fields left out).
func (f driftFilter) values() url.Values {
	v := url.Values{}
	for _, p := range [][2]string{{"use_case", f.UseCase}, {"provider", f.Provider}, {"model", f.Model}, {"signal", f.Signal},
		{"kind", f.Kind}, {"range", f.Range}, {"from", f.FromText}, {"to", f.ToText}} {
		if p[1] != "" {
			v.Set(p[0], p[1])
		}
	}
	if f.FromText != "" || f.ToText != "" {
		if f.TZ != "" {
			v.Set("tz", f.TZ)
		}
	}
	return v
}

// Filtered reports whether f narrows the list at all.
func (f driftFilter) Filtered() bool { return len(f.values()) > 0 }

// wantIdentity and wantBehaviour say which kinds of event f keeps.
func (f driftFilter) wantIdentity() bool {
	return f.Kind != drift.KindBehaviour && (f.Signal == "" || f.Signal == drift.SignalModelIdentity)
}

func (f driftFilter) wantBehaviour() bool {
	return f.Kind != drift.KindModelIdentity && f.Signal != drift.SignalModelIdentity
}

// in reports whether t is in f's range.
func (f driftFilter) in(t time.Time) bool {
	return (f.from.IsZero() || !t.Before(f.from)) && (f.to.IsZero() || t.Before(f.to))
}

// driftRow is one event in a list.
type driftRow struct {
	ID, Link string
	Kind     string
	Signal   string
	At       time.Time
	UseCase  string
	// UseCaseLink is "" for events of no use case (identity changes, or
	// calls that named none).
	UseCaseLink     string
	Provider, Model string
	Summary         string
	// Effect is the effect's name and size ("" for identity changes).
	Effect string
	// Changed are the changes that appeared near the change point, as
	// people read them.
	Changed []string
	// Live: an identity change found from the identities, not (yet)
	// stored by the monitor.
	Live bool
}

// Target is the row's provider and model.
func (r driftRow) Target() string { return pm{r.Provider, r.Model}.String() }

// driftModel is the identities one model answered as.
type driftModel struct {
	Provider, Model string
	Identities      []driftIdentity
}

// Target is the model for people.
func (m driftModel) Target() string { return pm{m.Provider, m.Model}.String() }

type driftIdentity struct {
	store.ModelIdentity
	Name string
}

type driftListData struct {
	Filter driftFilter
	Query  url.Values
	// Signals are the signal names the filter suggests.
	Signals []string
	Events  []driftRow
	// More: there were more events than the page shows.
	More   bool
	Models []driftModel
	// NoIdentities: the identities are not wired; NoRollups: the use
	// case's models (for its identity changes) cannot be looked up.
	NoIdentities, NoRollups bool
	Wired                   bool
	Error                   string
}

// driftList is the Drift page: drift events newest first with filters,
// and the identities each model answered as.
func (d *Dashboard) driftList(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.driftTeamRefused(w, r, &v) {
		return
	}
	data := driftListData{Signals: append(drift.Signals(), drift.SignalModelIdentity), Wired: d.opt.Drift.Events != nil,
		NoIdentities: d.opt.Drift.Identities == nil}
	status := http.StatusOK
	f, err := parseDriftFilter(r.URL.Query(), d.now())
	if err != nil {
		status, data.Error = http.StatusBadRequest, strings.TrimPrefix(err.Error(), errFilter.Error()+": ")
	}
	data.Filter, data.Query = f, f.values()
	if data.Wired && status == http.StatusOK {
		if err := d.driftEvents(r.Context(), f, &data); err != nil {
			d.log.Error("drift page", "err", err)
			status, data.Error = http.StatusInternalServerError, "Could not read the drift events; try again."
		}
	}
	block := ""
	if r.Header.Get("HX-Target") == "results" && r.Header.Get("HX-History-Restore-Request") != "true" {
		block = "results"
		w.Header().Set("HX-Push-Url", driftPath+encodeQuery(data.Query))
	}
	d.render(w, status, "drift", block, view{Title: "Drift", Active: driftPath, Viewer: &v, Data: data})
}

// driftTeamRefused answers 403 to a team-limited viewer: drift events
// are found from the calls of every team. It reports whether it did.
func (d *Dashboard) driftTeamRefused(w http.ResponseWriter, r *http.Request, v *viewer) bool {
	if v.Team == "" {
		return false
	}
	d.errorPage(w, r, v, http.StatusForbidden, fmt.Sprintf("The Drift pages span teams; your access is limited to team %s.", v.Team))
	return true
}

// driftEvents fills data's events and model identities: the stored
// events matching f and the identity changes found from the identities
// that the monitor has not stored (yet), one row each.
func (d *Dashboard) driftEvents(ctx context.Context, f driftFilter, data *driftListData) error {
	src := d.opt.Drift
	var rows []driftRow
	seen := map[string]bool{}
	add := func(list []store.DriftEvent) {
		for _, se := range list {
			if seen[se.ID] {
				continue
			}
			e, ok := d.decodeDrift(se)
			if !ok || e.Kind == drift.KindModelIdentity && !f.wantIdentity() || e.Kind != drift.KindModelIdentity && !f.wantBehaviour() {
				continue
			}
			seen[se.ID] = true
			rows = append(rows, driftRowOf(e, false))
		}
	}
	q := store.DriftEventQuery{Signal: f.Signal, UseCase: f.UseCase, Provider: f.Provider, Model: f.Model, From: f.from, To: f.to, Limit: driftListLimit + 1}
	if f.Kind == drift.KindModelIdentity {
		q.Signal = drift.SignalModelIdentity
	}
	more := false
	if f.wantBehaviour() || f.UseCase == "" {
		list, err := src.Events.DriftEvents(ctx, q)
		if err != nil {
			return fmt.Errorf("drift events: %w", err)
		}
		more = len(list) > driftListLimit
		add(list)
	}

	// Identity changes belong to a model, not a use case: with a use case
	// set, those of the models it called.
	var models map[pm]bool
	if f.UseCase != "" {
		if d.opt.Rollups == nil {
			data.NoRollups = true
		} else {
			var err error
			if models, err = d.useCaseModels(ctx, f.UseCase, f.Provider, f.Model, f.from, f.to); err != nil {
				return err
			}
		}
	}
	if models != nil && f.wantIdentity() {
		q.UseCase, q.Signal = "", drift.SignalModelIdentity
		list, err := src.Events.DriftEvents(ctx, q)
		if err != nil {
			return fmt.Errorf("drift identity events: %w", err)
		}
		more = more || len(list) > driftListLimit
		add(slices.DeleteFunc(list, func(e store.DriftEvent) bool { return !models[pm{e.Provider, e.Model}] }))
	}
	if src.Identities != nil && (f.UseCase == "" || models != nil) {
		// Every identity of the models: an event needs the one before it.
		ids, err := src.Identities.ModelIdentities(ctx, store.IdentityQuery{Provider: f.Provider, Model: f.Model})
		if err != nil {
			return fmt.Errorf("model identities: %w", err)
		}
		if f.wantIdentity() {
			for _, e := range drift.IdentityEvents(ids) {
				id := drift.IdentityEventID(e)
				if seen[id] || !f.in(e.At) || models != nil && !models[pm{e.Provider, e.Model}] {
					continue
				}
				seen[id] = true
				e.ID = id
				rows = append(rows, driftRowOf(e, true))
			}
		}
		data.Models = driftModels(ids, f, models)
	}
	slices.SortFunc(rows, func(a, b driftRow) int { return cmp.Or(b.At.Compare(a.At), strings.Compare(b.ID, a.ID)) })
	if len(rows) > driftListLimit {
		rows, more = rows[:driftListLimit], true
	}
	data.Events, data.More = rows, more
	return nil
}

// useCaseModels are the provider and model pairs useCase called in
// [from, to) (the last driftUseCaseDays days when unbounded), by the
// rollups.
func (d *Dashboard) useCaseModels(ctx context.Context, useCase, provider, model string, from, to time.Time) (map[pm]bool, error) {
	if to.IsZero() {
		to = d.now()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -driftUseCaseDays)
	}
	// The rollups are per minute: whole minutes cover the range.
	rows, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: from.Truncate(time.Minute), To: to.Truncate(time.Minute).Add(time.Minute),
		GroupBy: []string{store.RollupProvider, store.RollupModel}, Filter: rollup.Key{UseCase: useCase, Provider: provider, Model: model}})
	if err != nil {
		return nil, fmt.Errorf("models of use case %s: %w", useCase, err)
	}
	out := map[pm]bool{}
	for _, row := range rows {
		out[pm{row.Key.Provider, row.Key.Model}] = true
	}
	return out, nil
}

// driftModels groups the identities seen in f's range by model (of
// models, when set), by provider and model, each oldest first.
func driftModels(ids []store.ModelIdentity, f driftFilter, models map[pm]bool) []driftModel {
	var out []driftModel
	index := map[pm]int{}
	for _, id := range ids {
		k := pm{id.Provider, id.Model}
		if models != nil && !models[k] || !f.to.IsZero() && !id.FirstSeen.Before(f.to) || !f.from.IsZero() && id.LastSeen.Before(f.from) {
			continue
		}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, driftModel{Provider: k.Provider, Model: k.Model})
		}
		name := drift.Identity{ResponseModel: id.ResponseModel, SystemFingerprint: id.SystemFingerprint}.String()
		out[i].Identities = append(out[i].Identities, driftIdentity{ModelIdentity: id, Name: cmp.Or(name, "(not reported)")})
	}
	slices.SortFunc(out, func(a, b driftModel) int {
		return cmp.Or(strings.Compare(a.Provider, b.Provider), strings.Compare(a.Model, b.Model))
	})
	for _, m := range out {
		slices.SortFunc(m.Identities, func(a, b driftIdentity) int { return a.FirstSeen.Compare(b.FirstSeen) })
	}
	return out
}

// decodeDrift reads a stored event; one that does not decode is logged
// and left out.
func (d *Dashboard) decodeDrift(se store.DriftEvent) (drift.Event, bool) {
	var e drift.Event
	if err := json.Unmarshal(se.Event, &e); err != nil {
		d.log.Error("drift page: decode event", "id", se.ID, "err", err)
		return e, false
	}
	// The columns are what the store filters on: they win.
	e.ID, e.UseCase, e.Provider, e.Model = se.ID, se.UseCase, se.Provider, se.Model
	if e.At.IsZero() {
		e.At = se.StartedAt
	}
	if e.DetectedAt.IsZero() {
		e.DetectedAt = se.DetectedAt
	}
	if e.Kind == "" {
		e.Kind = drift.KindBehaviour
		if se.Signal == drift.SignalModelIdentity {
			e.Kind = drift.KindModelIdentity
		}
	}
	if e.Signal == "" && e.Kind != drift.KindModelIdentity {
		e.Signal = se.Signal
	}
	return e, true
}

// driftRowOf is an event as a list row.
func driftRowOf(e drift.Event, live bool) driftRow {
	r := driftRow{ID: e.ID, Link: driftPath + "/" + url.PathEscape(e.ID), Kind: e.Kind, Signal: e.Signal, At: e.At, UseCase: e.UseCase,
		Provider: e.Provider, Model: e.Model, Summary: e.Summary, Live: live}
	if e.UseCase != "" {
		r.UseCaseLink = useCasePath(e.UseCase)
	}
	if e.Kind == drift.KindModelIdentity {
		r.Signal = drift.SignalModelIdentity
		if r.Summary == "" {
			r.Summary = fmt.Sprintf("%s/%s now answers as %s (was %s)", e.Provider, e.Model, identityName(e.Current), identityName(e.Previous))
		}
		r.Changed = []string{"model identity " + identityValue(e.Current)}
		return r
	}
	if f := e.Finding; f != nil {
		r.Effect = effectText(f.EffectName, f.Effect)
		for _, c := range f.Changes {
			if c.Near {
				r.Changed = append(r.Changed, changeText(c))
			}
		}
	}
	return r
}

// identityName is an identity for people ("(not reported)" when empty).
func identityName(i drift.Identity) string { return cmp.Or(i.String(), "(not reported)") }

// identityValue is an identity as the changes list writes it.
func identityValue(i drift.Identity) string {
	return strings.TrimSpace(i.ResponseModel + " " + i.SystemFingerprint)
}

// changeText is a change as people read it: "prompt triage@3", "model
// identity gpt-4o-2024-11-20 fp_x".
func changeText(c drift.Change) string {
	kind := map[string]string{"model_identity": "model identity", "prompt_version": "prompt", "use_case_version": "use case version", "route": "route"}[c.Kind]
	return cmp.Or(kind, strings.ReplaceAll(c.Kind, "_", " ")) + " " + strings.TrimSpace(c.Value)
}

// effectNames are the effect sizes for people.
var effectNames = map[string]string{"ks_d": "KS D", "cramers_v": "Cramér's V", "cohens_h": "Cohen's h"}

func effectText(name string, v float64) string {
	return cmp.Or(effectNames[name], name) + " " + strconv.FormatFloat(v, 'f', 3, 64)
}

// pText formats a p-value: small ones in scientific notation.
func pText(p float64) string {
	switch {
	case math.IsNaN(p):
		return "—"
	case p == 0:
		return "< 1e-300"
	case p < 0.001:
		return strconv.FormatFloat(p, 'e', 1, 64)
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

// driftValue formats a value of a continuous signal in its unit.
func driftValue(signal string, v float64) string {
	switch signal {
	case drift.SignalTTFT:
		return ms(v)
	case drift.SignalCost:
		return "$" + strconv.FormatFloat(v, 'g', 4, 64)
	case drift.SignalOTPS:
		return strconv.FormatFloat(v, 'f', 1, 64) + " tok/s"
	case drift.SignalOutputTokens, drift.SignalReasoningTokens:
		return count(int64(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// driftDetailData is one event's page.
type driftDetailData struct {
	Event drift.Event
	Row   driftRow
	// Stored: the monitor stored it (else it was found from the
	// identities just now).
	Stored bool
	// Test and effect, formatted.
	P, PAdjusted, Statistic, Effect, MinEffect, Change string
	// EffectPasses: the effect reached its threshold.
	EffectPasses bool
	// Kind of the behaviour signal's comparison.
	Continuous, Rate, Categorical bool
	Windows                       []driftWindow
	Quantiles                     []driftQuantile
	Hist                          *driftHist
	Categories                    []driftCategory
	Changes                       []driftChange
	// CallsLink is the scope's calls in the recent window (identity
	// changes: from the new identity's first call); BaselineLink in the
	// baseline window.
	CallsLink, BaselineLink string
	// Identities are the model's identities (identity changes).
	Identities []driftIdentity
	// NoUseCaseFilter: the scope's calls named no use case, which the
	// calls list cannot select; its links show the model's calls.
	NoUseCaseFilter bool
}

// driftChange is what else changed, with its text.
type driftChange struct {
	drift.Change
	// Text is the change and Before the baseline's most frequent value,
	// as people read them.
	Text, Before string
}

// driftWindow is one side of the comparison.
type driftWindow struct {
	Name     string
	From, To time.Time
	Calls    int
	// Rate: hits of calls and the rate.
	Hits, Rate string
}

// driftQuantile is one row of the quantile table.
type driftQuantile struct {
	Name, Baseline, Recent string
}

// driftCategory is one finish reason (or other category) in both
// windows.
type driftCategory struct {
	Name                         string
	Baseline, Recent             int
	BaselineShare, RecentShare   float64
	BaselineShareT, RecentShareT string
	// Diff is the recent share minus the baseline's, in points.
	Diff string
}

// driftHist is the two windows' histograms on shared edges, laid out for
// an SVG of width 1000: shares of each window's calls, so that windows of
// different sizes compare.
type driftHist struct {
	Bins []driftBin
	// Height is the bars' area; ViewHeight adds the axis labels.
	Height, ViewHeight int
	// Ticks are axis labels under the bars.
	Ticks []driftTick
}

type driftBin struct {
	Label                      string
	X, W                       float64
	BaseY, BaseH               float64
	RecentY, RecentH           float64
	Baseline, Recent           int
	BaselineShare, RecentShare string
}

type driftTick struct {
	X      float64
	Label  string
	Anchor string
}

// driftDetail is one event's page.
func (d *Dashboard) driftDetail(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.driftTeamRefused(w, r, &v) {
		return
	}
	id := r.PathValue("id")
	if d.opt.Drift.Events == nil {
		d.errorPage(w, r, &v, http.StatusNotFound, "Drift detection is not available on this server.")
		return
	}
	e, stored, ids, err := d.findDrift(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		d.errorPage(w, r, &v, http.StatusNotFound, "There is no drift event "+strconv.Quote(id)+".")
		return
	case err != nil:
		d.log.Error("drift event page", "id", id, "err", err)
		d.errorPage(w, r, &v, http.StatusInternalServerError, "Could not read the drift event; try again.")
		return
	}
	data := driftDetailOf(e, stored)
	for _, m := range driftModels(ids, driftFilter{}, map[pm]bool{{e.Provider, e.Model}: true}) {
		data.Identities = m.Identities
	}
	title := "Drift event"
	if e.Kind == drift.KindModelIdentity {
		title = "Model identity change"
	} else if e.Signal != "" {
		title = "Drift of " + e.Signal
	}
	d.render(w, http.StatusOK, "drift_event", "", view{Title: title, Active: driftPath, Viewer: &v, Data: data})
}

// findDrift finds an event by id: a stored one, or an identity change
// found from the identities (whose ids drift.IdentityEventID gives).
// ids are the event's model's identities (identity changes only).
func (d *Dashboard) findDrift(ctx context.Context, id string) (drift.Event, bool, []store.ModelIdentity, error) {
	src := d.opt.Drift
	if strings.HasPrefix(id, "dft_id_") {
		if src.Identities != nil {
			all, err := src.Identities.ModelIdentities(ctx, store.IdentityQuery{})
			if err != nil {
				return drift.Event{}, false, nil, fmt.Errorf("model identities: %w", err)
			}
			for _, e := range drift.IdentityEvents(all) {
				if drift.IdentityEventID(e) != id {
					continue
				}
				e.ID = id
				ids := slices.DeleteFunc(all, func(m store.ModelIdentity) bool { return m.Provider != e.Provider || m.Model != e.Model })
				// The stored copy, when there is one, has its detection
				// time and summary.
				list, err := src.Events.DriftEvents(ctx, store.DriftEventQuery{Signal: drift.SignalModelIdentity, Provider: e.Provider, Model: e.Model,
					From: e.At, To: e.At.Add(time.Nanosecond)})
				if err != nil {
					return e, false, ids, fmt.Errorf("drift events: %w", err)
				}
				for _, se := range list {
					if se.ID == id {
						if s, ok := d.decodeDrift(se); ok {
							return s, true, ids, nil
						}
					}
				}
				return e, false, ids, nil
			}
		}
	}
	se, err := d.storedDrift(ctx, id)
	if err != nil {
		return drift.Event{}, false, nil, err
	}
	e, ok := d.decodeDrift(se)
	if !ok {
		return e, false, nil, fmt.Errorf("drift event %s does not decode", id)
	}
	var ids []store.ModelIdentity
	if e.Kind == drift.KindModelIdentity && src.Identities != nil {
		if ids, err = src.Identities.ModelIdentities(ctx, store.IdentityQuery{Provider: e.Provider, Model: e.Model}); err != nil {
			return e, true, nil, fmt.Errorf("model identities: %w", err)
		}
	}
	return e, true, ids, nil
}

// storedDrift reads a stored event by id. The store lists events by
// their start, newest first; a behaviour event's id holds its detection
// time (ids.New), after its start, so the search starts there.
func (d *Dashboard) storedDrift(ctx context.Context, id string) (store.DriftEvent, error) {
	if id == "" || len(id) > maxFilterLen {
		return store.DriftEvent{}, store.ErrNotFound
	}
	to := time.Time{}
	if t, ok := idTime(id, "dft_"); ok {
		to = t.Add(time.Minute)
	}
	// A first small page: the event is usually among the first read
	// from its detection time back.
	size := 50
	for range driftScanPages {
		list, err := d.opt.Drift.Events.DriftEvents(ctx, store.DriftEventQuery{To: to, Limit: size})
		if err != nil {
			return store.DriftEvent{}, fmt.Errorf("drift events: %w", err)
		}
		for _, e := range list {
			if e.ID == id {
				return e, nil
			}
		}
		if len(list) < size {
			break
		}
		last := list[len(list)-1].StartedAt
		// Events starting at the same instant as the page's last one may
		// straddle the page boundary: read that instant whole.
		tie, err := d.opt.Drift.Events.DriftEvents(ctx, store.DriftEventQuery{From: last, To: last.Add(time.Nanosecond), Limit: 1000})
		if err != nil {
			return store.DriftEvent{}, fmt.Errorf("drift events: %w", err)
		}
		for _, e := range tie {
			if e.ID == id {
				return e, nil
			}
		}
		to, size = last, 1000
	}
	return store.DriftEvent{}, store.ErrNotFound
}

// idTime reads the time an ids.New id with prefix was made at (its first
// 48 bits are Unix milliseconds, in base 32 after the prefix).
func idTime(id, prefix string) (time.Time, bool) {
	s, ok := strings.CutPrefix(id, prefix)
	if !ok || len(s) != 26 {
		return time.Time{}, false
	}
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	// 26 digits of 5 bits hold the 128 bits, the top digit 3 of them:
	// the first 10 digits are the first 48 bits, the milliseconds.
	var hi uint64
	for _, c := range s[:10] {
		i := strings.IndexRune(alphabet, c)
		if i < 0 {
			return time.Time{}, false
		}
		hi = hi<<5 | uint64(i)
	}
	t := time.UnixMilli(int64(hi)).UTC()
	if t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, false
	}
	return t, true
}

// driftDetailOf lays an event out for its page.
func driftDetailOf(e drift.Event, stored bool) driftDetailData {
	data := driftDetailData{Event: e, Row: driftRowOf(e, !stored), Stored: stored}
	useCase := e.UseCase
	data.NoUseCaseFilter = useCase == "" && e.Kind != drift.KindModelIdentity
	f := e.Finding
	if e.Kind == drift.KindModelIdentity || f == nil {
		data.CallsLink = ucCallsLink("provider", e.Provider, "model", e.Model, "from", e.At.UTC().Truncate(time.Second).Format(time.RFC3339))
		return data
	}
	data.P, data.PAdjusted = pText(f.P), pText(f.PAdjusted)
	data.Statistic = strconv.FormatFloat(f.Statistic, 'g', 4, 64)
	data.Effect, data.MinEffect = effectText(f.EffectName, f.Effect), strconv.FormatFloat(f.MinEffect, 'f', 3, 64)
	data.EffectPasses = f.Effect >= f.MinEffect
	for _, c := range f.Changes {
		data.Changes = append(data.Changes, driftChange{Change: c, Text: changeText(c), Before: strings.TrimSpace(c.Previous)})
	}
	link := func(w drift.Window) string {
		if w.From.IsZero() {
			return ""
		}
		// The calls list's bounds are whole seconds, the end exclusive.
		return ucCallsLink("use_case", useCase, "provider", e.Provider, "model", e.Model,
			"from", w.From.UTC().Truncate(time.Second).Format(time.RFC3339), "to", w.To.UTC().Truncate(time.Second).Add(time.Second).Format(time.RFC3339))
	}
	data.CallsLink, data.BaselineLink = link(f.Recent), link(f.Baseline)
	for _, w := range []struct {
		name string
		w    drift.Window
	}{{"Baseline", f.Baseline}, {"Recent", f.Recent}} {
		dw := driftWindow{Name: w.name, From: w.w.From, To: w.w.To, Calls: w.w.Calls}
		if w.w.Rate != nil && w.w.Hits != nil {
			dw.Hits = count(int64(*w.w.Hits)) + " of " + count(int64(w.w.Calls))
			dw.Rate = strconv.FormatFloat(100**w.w.Rate, 'f', 2, 64) + "%"
		}
		data.Windows = append(data.Windows, dw)
	}
	switch {
	case f.Baseline.Quantiles != nil && f.Recent.Quantiles != nil:
		data.Continuous = true
		b, r := f.Baseline.Quantiles, f.Recent.Quantiles
		for _, q := range []struct {
			name string
			b, r float64
		}{{"p5", b.P5, r.P5}, {"p25", b.P25, r.P25}, {"median", b.P50, r.P50}, {"p75", b.P75, r.P75}, {"p95", b.P95, r.P95}} {
			data.Quantiles = append(data.Quantiles, driftQuantile{q.name, driftValue(f.Signal, q.b), driftValue(f.Signal, q.r)})
		}
		if f.Baseline.Mean != nil && f.Recent.Mean != nil {
			data.Quantiles = append(data.Quantiles, driftQuantile{"mean", driftValue(f.Signal, *f.Baseline.Mean), driftValue(f.Signal, *f.Recent.Mean)})
		}
		data.Hist = newDriftHist(f)
		data.Change = strconv.FormatFloat(100*f.Change, 'f', 1, 64) + "% (median)"
		if f.Change > 0 {
			data.Change = "+" + data.Change
		}
	case f.Baseline.Rate != nil:
		data.Rate = true
		data.Change = strconv.FormatFloat(100*f.Change, 'f', 2, 64) + " points"
		if f.Change > 0 {
			data.Change = "+" + data.Change
		}
	default:
		data.Categorical = true
		data.Categories = driftCategories(f.Baseline, f.Recent)
	}
	return data
}

// driftCategories lists the categories of both windows, the largest
// change of share first.
func driftCategories(b, r drift.Window) []driftCategory {
	var out []driftCategory
	share := func(n, of int) float64 {
		if of == 0 {
			return 0
		}
		return float64(n) / float64(of)
	}
	names := map[string]bool{}
	for k := range b.Categories {
		names[k] = true
	}
	for k := range r.Categories {
		names[k] = true
	}
	bt, rt := 0, 0
	for _, n := range b.Categories {
		bt += n
	}
	for _, n := range r.Categories {
		rt += n
	}
	for k := range names {
		c := driftCategory{Name: k, Baseline: b.Categories[k], Recent: r.Categories[k]}
		c.BaselineShare, c.RecentShare = share(c.Baseline, bt), share(c.Recent, rt)
		c.BaselineShareT = strconv.FormatFloat(100*c.BaselineShare, 'f', 1, 64) + "%"
		c.RecentShareT = strconv.FormatFloat(100*c.RecentShare, 'f', 1, 64) + "%"
		diff := 100 * (c.RecentShare - c.BaselineShare)
		c.Diff = strconv.FormatFloat(diff, 'f', 1, 64)
		if diff > 0 {
			c.Diff = "+" + c.Diff
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y driftCategory) int {
		dx, dy := math.Abs(x.RecentShare-x.BaselineShare), math.Abs(y.RecentShare-y.BaselineShare)
		return cmp.Or(cmp.Compare(dy, dx), strings.Compare(x.Name, y.Name))
	})
	return out
}

// Layout of the histogram's SVG.
const (
	driftHistHeight = 180
	driftHistWidth  = 1000
)

// newDriftHist lays out the two histograms on their shared edges, or nil
// when the finding has none.
func newDriftHist(f *drift.Finding) *driftHist {
	bh, rh := f.Baseline.Histogram, f.Recent.Histogram
	n := len(f.Edges) - 1
	if n < 1 || len(bh) != n || len(rh) != n {
		return nil
	}
	bt, rt := 0, 0
	for i := range n {
		bt += bh[i]
		rt += rh[i]
	}
	share := func(c, t int) float64 {
		if t == 0 {
			return 0
		}
		return float64(c) / float64(t)
	}
	top := 0.0
	for i := range n {
		top = max(top, share(bh[i], bt), share(rh[i], rt))
	}
	if top == 0 {
		return nil
	}
	h := &driftHist{Height: driftHistHeight, ViewHeight: driftHistHeight + 20}
	step := float64(driftHistWidth) / float64(n)
	for i := range n {
		bs, rs := share(bh[i], bt), share(rh[i], rt)
		b := driftBin{X: float64(i) * step, W: step * 0.42, Baseline: bh[i], Recent: rh[i],
			BaselineShare: strconv.FormatFloat(100*bs, 'f', 1, 64) + "%", RecentShare: strconv.FormatFloat(100*rs, 'f', 1, 64) + "%"}
		b.BaseH, b.RecentH = bs/top*driftHistHeight, rs/top*driftHistHeight
		b.BaseY, b.RecentY = driftHistHeight-b.BaseH, driftHistHeight-b.RecentH
		b.X += step * 0.06
		hi := driftValue(f.Signal, f.Edges[i+1])
		if i == n-1 {
			hi += " and above"
		}
		b.Label = driftValue(f.Signal, f.Edges[i]) + " – " + hi
		h.Bins = append(h.Bins, b)
	}
	for _, t := range []struct {
		i      int
		anchor string
	}{{0, "start"}, {n / 2, "middle"}, {n, "end"}} {
		h.Ticks = append(h.Ticks, driftTick{X: float64(t.i) * step, Label: driftValue(f.Signal, f.Edges[t.i]), Anchor: t.anchor})
	}
	return h
}

// RecentX is where the recent window's bar of a bin starts.
func (b driftBin) RecentX() float64 { return b.X + b.W }

// ucDrift is the drift of a use case on its page: its behaviour events
// and the identity changes of the models it called, in the range.
type ucDrift struct {
	Events []driftRow
	More   bool
	Link   string
}

// useCaseDrift reads a use case's drift events in rg (one indexed query)
// and the identity changes of models (from the identities, a small
// table), newest first, and their chart markers.
func (d *Dashboard) useCaseDrift(ctx context.Context, name string, rg useCaseRange, models map[string]bool) (*ucDrift, []chartMarker, error) {
	src := d.opt.Drift
	list, err := src.Events.DriftEvents(ctx, store.DriftEventQuery{UseCase: name, From: rg.From, To: rg.To, Limit: driftUseCaseLimit + 1})
	if err != nil {
		return nil, nil, fmt.Errorf("drift events: %w", err)
	}
	out := &ucDrift{Link: driftPath + "?" + url.Values{"use_case": {name}, "from": {rg.FromDay()}, "to": {rg.ToDay()}}.Encode()}
	out.More = len(list) > driftUseCaseLimit
	for _, se := range list {
		if e, ok := d.decodeDrift(se); ok {
			out.Events = append(out.Events, driftRowOf(e, false))
		}
	}
	if src.Identities != nil && len(models) > 0 {
		ids, err := src.Identities.ModelIdentities(ctx, store.IdentityQuery{})
		if err != nil {
			return nil, nil, fmt.Errorf("model identities: %w", err)
		}
		ids = slices.DeleteFunc(ids, func(m store.ModelIdentity) bool { return !models[m.Model] })
		for _, e := range drift.IdentityEvents(ids) {
			if e.At.Before(rg.From) || !e.At.Before(rg.To) {
				continue
			}
			e.ID = drift.IdentityEventID(e)
			out.Events = append(out.Events, driftRowOf(e, false))
		}
	}
	slices.SortFunc(out.Events, func(a, b driftRow) int { return cmp.Or(b.At.Compare(a.At), strings.Compare(b.ID, a.ID)) })
	if len(out.Events) > driftUseCaseLimit {
		out.Events, out.More = out.Events[:driftUseCaseLimit], true
	}
	var mk []chartMarker
	for _, r := range out.Events {
		label := "drift " + r.Signal
		if r.Kind == drift.KindModelIdentity {
			label = "model " + r.Model + " changed"
		}
		mk = append(mk, chartMarker{T: r.At.Unix(), Label: label})
	}
	slices.SortFunc(mk, func(a, b chartMarker) int { return cmp.Compare(a.T, b.T) })
	return out, mk, nil
}
