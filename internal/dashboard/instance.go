package dashboard

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/value"
)

// maxInstanceCalls bounds the calls an instance page lists (one store
// page); a longer run says so and links to the calls list.
const maxInstanceCalls = store.MaxLimit

// instanceKPI is one KPI result of an instance.
type instanceKPI struct {
	Name, Type, Unit string
	// Value is the result in force ("" when none is recorded).
	Value     string
	At        time.Time
	By        string
	Revisions int
	Goal      *float64
	Direction string
}

type instanceData struct {
	UseCase, Instance, UseCaseLink string
	Team                           string
	Calls                          []record.Record
	// Truncated: the run has more calls than the page shows.
	Truncated bool
	CallsLink string
	// Cost sums the priced calls; Unpriced counts the others that
	// reached a provider.
	Cost     store.Amount
	Unpriced int64
	Errors   int
	First    time.Time
	Last     time.Time
	// SpanMs is from the first call's start to the last call's end;
	// E2EMs sums the calls' own latencies.
	SpanMs, E2EMs float64
	Versions      []string
	KPIs          []instanceKPI
	// Defined: the use case is defined (KPIs known).
	Defined bool
	Note    string
	Error   string
}

// instance is one run of a use case: every call in order, its cost,
// latency and KPI results. A run with no call the viewer may see does not
// exist.
func (d *Dashboard) instance(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	name, inst := r.PathValue("name"), r.PathValue("instance")
	data := instanceData{UseCase: name, Instance: inst, UseCaseLink: useCasePath(name), Team: v.Team,
		CallsLink: ucCallsLink("use_case", name, "use_case_instance", inst)}
	page, err := d.opt.Requests.ListRequests(ctx, store.RequestQuery{UseCase: name, UseCaseInstance: inst, Team: v.Team, Limit: maxInstanceCalls})
	if err != nil {
		d.log.Error("instance: list calls", "use_case", name, "instance", inst, "err", err)
		d.errorPage(w, r, &v, http.StatusInternalServerError, "Could not read the run's calls; try again.")
		return
	}
	if len(page.Requests) == 0 {
		d.errorPage(w, r, &v, http.StatusNotFound, "No call of run "+strconv.Quote(inst)+" of use case "+strconv.Quote(name)+" is recorded"+ucTeamSuffix(v)+".")
		return
	}
	data.Calls = page.Requests
	slices.Reverse(data.Calls) // oldest first
	data.Truncated = page.NextCursor != ""
	var end time.Time
	seen := map[string]bool{}
	for i := range data.Calls {
		c := &data.Calls[i]
		if c.CostUSD != nil {
			data.Cost.Add(*c.CostUSD)
		} else if c.Cost != nil {
			data.Unpriced++
		}
		if failed(c) {
			data.Errors++
		}
		data.E2EMs += c.E2EMs
		if e := c.ReceivedAt.Add(time.Duration(c.E2EMs * float64(time.Millisecond))); e.After(end) {
			end = e
		}
		if c.UseCaseVersion != "" && !seen[c.UseCaseVersion] {
			seen[c.UseCaseVersion] = true
			data.Versions = append(data.Versions, c.UseCaseVersion)
		}
	}
	data.First, data.Last = data.Calls[0].ReceivedAt, data.Calls[len(data.Calls)-1].ReceivedAt
	data.SpanMs = float64(end.Sub(data.First)) / float64(time.Millisecond)

	// KPI results, by the definition's KPIs.
	status := http.StatusOK
	src := d.opt.Value
	switch {
	case src.UseCases == nil || src.KPIs == nil:
		data.Note = "KPI results are not available on this server."
	default:
		def, err := src.UseCases.Get(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			data.Note = "The use case is not defined, so it has no KPIs: define it to record results per run."
		case err != nil:
			d.log.Error("instance: use case", "use_case", name, "err", err)
			status, data.Error = http.StatusInternalServerError, "Could not read the use case's KPIs; try again."
		default:
			data.Defined = true
			ks := slices.Clone(def.KPIs)
			value.SortKPIs(ks)
			for _, k := range ks {
				row := instanceKPI{Name: k.Name, Type: k.Type, Unit: k.Unit, Goal: k.Goal, Direction: k.Direction}
				h, err := src.KPIs.KPIHistory(ctx, name, inst, k.Name)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					d.log.Error("instance: KPI history", "use_case", name, "kpi", k.Name, "err", err)
					status, data.Error = http.StatusInternalServerError, "Could not read the KPI results; try again."
					continue
				}
				row.Revisions = len(h)
				// The value in force: the one marked current, else the latest.
				if i := slices.IndexFunc(h, func(res store.KPIResult) bool { return res.Current }); i >= 0 || len(h) > 0 {
					if i < 0 {
						i = len(h) - 1
					}
					row.Value, row.At, row.By = kpiText(k.Type, h[i].Nanos), h[i].At, h[i].RecordedBy
				}
				data.KPIs = append(data.KPIs, row)
			}
		}
	}
	d.render(w, status, "instance", "", view{Title: inst + " · " + name, Active: Prefix + "usecases", Viewer: &v, Data: data})
}

// kpiText formats a KPI result for its type.
func kpiText(typ string, nanos int64) string {
	if typ == value.TypeBoolean {
		return strconv.FormatBool(nanos != 0)
	}
	return value.FormatNanos(nanos)
}
