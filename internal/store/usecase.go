package store

import (
	"context"
	"encoding/json"
	"time"
)

// UseCaseStore keeps use case definitions as JSON documents, append-only:
// each change is a new revision; nothing is overwritten.
type UseCaseStore interface {
	// PutUseCase stores a new revision of d.Name (revision 1 when new) and
	// returns it with Revision and ChangedAt set. With ifRevision > 0 the
	// put is refused with ErrConflict unless the latest revision is
	// ifRevision.
	PutUseCase(ctx context.Context, d UseCaseDoc, ifRevision int) (UseCaseDoc, error)
	// UseCases returns the latest revision of every use case, by name.
	UseCases(ctx context.Context) ([]UseCaseDoc, error)
	// UseCaseHistory returns every revision of name, oldest first; none is
	// ErrNotFound.
	UseCaseHistory(ctx context.Context, name string) ([]UseCaseDoc, error)
}

// UseCaseDoc is one revision of a use case definition.
type UseCaseDoc struct {
	Name      string          `json:"name"`
	Revision  int             `json:"revision"`
	Doc       json.RawMessage `json:"doc"`
	ChangedAt time.Time       `json:"changed_at"`
	ChangedBy string          `json:"changed_by"`
}

// KPIStore keeps KPI results per use case instance.
type KPIStore interface {
	// PutKPIResult makes r the value in force for (UseCase, Instance, KPI).
	// When the value in force already has r's value, nothing is stored
	// (whatever r.At) and changed is false; otherwise the earlier value is
	// kept as history. RecordedAt is set by the store.
	PutKPIResult(ctx context.Context, r KPIResult) (stored KPIResult, changed bool, err error)
	// KPIHistory returns every value of one instance's KPI, oldest first.
	KPIHistory(ctx context.Context, useCase, instance, kpi string) ([]KPIResult, error)
	// InstanceKPIs returns the values in force for the instances q selects
	// (see InstanceTotals), by instance then KPI.
	InstanceKPIs(ctx context.Context, q InstanceQuery) ([]KPIResult, error)
}

// KPIResult is one value of one KPI for one instance of a use case.
type KPIResult struct {
	UseCase  string `json:"use_case"`
	Instance string `json:"instance"`
	KPI      string `json:"kpi"`
	// Nanos is the value in units of 1e-9 (1 for a boolean true is 1e9).
	Nanos      int64     `json:"-"`
	At         time.Time `json:"at"`
	RecordedAt time.Time `json:"recorded_at"`
	RecordedBy string    `json:"recorded_by"`
	Current    bool      `json:"current"`
}

// InstanceReader sums a use case's calls per instance, for reports.
type InstanceReader interface {
	// InstanceTotals returns one row per instance with calls of q.UseCase
	// received in [From, To) (and of q.Version when set), oldest first
	// call first. Calls without an instance id are rows with the empty
	// Instance, one per UTC day, version, team, user and account. E2EMsSum
	// leaves out Refused calls.
	InstanceTotals(ctx context.Context, q InstanceQuery) ([]InstanceTotal, error)
}

// InstanceQuery selects the instances of a use case by their calls.
type InstanceQuery struct {
	UseCase string
	// From (inclusive) and To (exclusive) bound the calls' received_at.
	From, To time.Time
	// Version, when set, keeps only calls that carried it.
	Version string
}

// InstanceTotal is one instance's calls in a range.
type InstanceTotal struct {
	Instance string
	// First is the first call's time; Version, Team, User and Account are
	// the first call's.
	First                        time.Time
	Version, Team, User, Account string
	Calls, PricedCalls, Unpriced int64
	Errors                       int64 // calls with status >= 400 or an error kind, but for Refused
	Refused                      int64 // calls a budget limit refused
	CostUSD                      Amount
	InputTokens, OutputTokens    int64
	E2EMsSum                     float64
	TTFTCalls                    int64
	TTFTMsSum                    float64
}

// KPIDayReader sums the KPI results in force per day, so that the value a
// use case generated over a month is read without going through its
// instances.
type KPIDayReader interface {
	// KPIDays returns, per use case, KPI, UTC day of the result's time and
	// team, the number of results in force and the sum of their values,
	// for the days in [From, To) (whole UTC days; the zero time does not
	// bound), of q.UseCase and q.Team when set; by day, use case, KPI.
	KPIDays(ctx context.Context, q KPIDayQuery) ([]KPIDay, error)
}

// KPIDayQuery selects KPI days.
type KPIDayQuery struct {
	UseCase, Team string
	From, To      time.Time
}

// KPIDay is the results in force of one KPI on one day. A result's team
// is the team of its instance's first call when the result was recorded
// ("" when it had none yet).
type KPIDay struct {
	UseCase string
	KPI     string
	Day     time.Time
	Team    string
	Results int64
	// Whole and Nanos sum the results: Whole units plus Nanos 1e-9 units
	// (0 <= Nanos < 1e9 after normalising; a true boolean is 1 unit).
	Whole, Nanos int64
}
