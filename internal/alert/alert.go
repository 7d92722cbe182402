// Package alert is Weir's alert engine: features that watch the traffic
// (budget limits, spend spikes, cost per outcome, error rates, model drift,
// evaluations) build an Alert and Raise it; the Engine deduplicates it,
// persists it through a Store (in memory, or the SQLite table in
// sqlitestore.go) and delivers fresh alerts to webhooks (plain JSON or Slack)
// in the background, with retries and an optional HMAC signature. ListHandler
// serves the stored alerts to the management API. Any package may import it;
// it imports nothing of Weir's but httpjson.
package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	idgen "github.com/weirhq/weir/internal/ids"
)

// Kinds raised by Weir's own features. Kind is free-form: later features
// add their own.
const (
	KindLimitThreshold     = "limit_threshold"       // a budget passed a warning fraction
	KindLimitExceeded      = "limit_exceeded"        // a budget was used up
	KindSpendSpike         = "spend_spike"           // spend far above its usual rate
	KindCostPerOutcomeRise = "cost_per_outcome_rise" // cost per KPI outcome rose
	KindErrorRate          = "error_rate"            // error rate above a threshold
	KindJudgeAgreement     = "judge_agreement_drop"  // an LLM judge agrees less with people
)

// Severity ranks an alert: SeverityInfo < SeverityWarning < SeverityCritical.
type Severity string

// The severities, from least to most urgent.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// rank orders severities; 0 is not a severity.
func (s Severity) rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return 0
}

// Valid reports whether s is one of the three severities.
func (s Severity) Valid() bool { return s.rank() > 0 }

// Alert is one raised condition. The fields up to Fields are what the raiser
// sets (and what a JSON webhook receives); the rest are kept by the Engine.
type Alert struct {
	// ID is set by the Engine when empty: "alt_" and 26 base32 characters,
	// sortable by time.
	ID string `json:"id"`
	// Rule names the configured rule that raised the alert, if any
	// (e.g. a budget's name).
	Rule string `json:"rule,omitempty"`
	// Kind says what happened, e.g. KindLimitExceeded. Required.
	Kind string `json:"kind"`
	// Severity is required.
	Severity Severity `json:"severity"`
	// Scope is what the alert is about: use_case, team, user, model...
	Scope map[string]string `json:"scope,omitempty"`
	// Title is one line; the Engine uses Kind when it is empty.
	Title   string `json:"title"`
	Message string `json:"message,omitempty"`
	// Value is the observed figure and Threshold the one it was compared
	// with (both in the rule's unit, e.g. US dollars). NaN and infinities
	// are refused.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// At is when the condition was observed; the Engine uses its clock
	// when it is zero. Stored with nanosecond precision, in UTC.
	At time.Time `json:"at"`
	// DedupKey identifies "the same alert": raised again within the
	// Engine's window it is only counted. When empty the Engine derives it
	// from Kind, Rule and Scope (see DefaultDedupKey).
	DedupKey string `json:"dedup_key"`
	// Fields holds anything else worth keeping. It must encode as JSON; it
	// is stored as JSON, so numbers come back as float64.
	Fields map[string]any `json:"fields,omitempty"`

	// Count is how many raises this alert stands for: 1 when fresh, plus
	// one for each duplicate raised within the dedup window.
	Count int `json:"count"`
	// LastAt and LastValue are the At and Value of the latest raise
	// counted in this alert.
	LastAt    time.Time `json:"last_at"`
	LastValue float64   `json:"last_value"`
	// Deliveries is the state of each webhook the alert was sent to,
	// ordered by webhook name. Stores fill it on reads and ignore it on
	// SaveAlert; it changes only through UpdateDelivery.
	Deliveries []Delivery `json:"deliveries,omitempty"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"   // queued, or waiting to retry
	DeliveryDelivered = "delivered" // the webhook answered 2xx
	DeliveryFailed    = "failed"    // given up: see LastError
)

// Delivery is the state of sending one alert to one webhook.
type Delivery struct {
	Webhook string `json:"webhook"`
	// State is DeliveryPending, DeliveryDelivered or DeliveryFailed.
	State string `json:"state"`
	// Attempts is the number of HTTP requests made so far.
	Attempts int `json:"attempts"`
	// LastStatus is the HTTP status of the last attempt; 0 when it got no
	// answer.
	LastStatus int `json:"last_status"`
	// LastError says why the last attempt failed; empty once delivered.
	// It never contains the webhook's URL (Slack URLs are secrets).
	LastError string `json:"last_error,omitempty"`
	// DeliveredAt is zero until delivered.
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

// Limits of ListQuery.Limit.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// ListQuery selects stored alerts. Zero values do not filter.
type ListQuery struct {
	// Kind and Severity match exactly.
	Kind     string
	Severity Severity
	// Since is inclusive and Until exclusive, on At.
	Since, Until time.Time
	// ScopeKey alone selects alerts whose Scope has the key; with
	// ScopeValue, those where it has that value.
	ScopeKey, ScopeValue string
	// Limit is 0 for DefaultLimit; above MaxLimit it is clamped; negative
	// is an error.
	Limit int
}

var (
	// ErrNotFound is wrapped by stores when an alert does not exist.
	ErrNotFound = errors.New("alert not found")
	// ErrInvalidQuery is wrapped by stores when a ListQuery cannot be run.
	ErrInvalidQuery = errors.New("invalid alert query")
	// ErrClosed is returned by Raise after Close.
	ErrClosed = errors.New("alert engine closed")
)

// normalize checks q and applies the limit's default and cap. Errors wrap
// ErrInvalidQuery.
func (q ListQuery) normalize() (ListQuery, error) {
	switch {
	case q.Limit < 0:
		return q, fmt.Errorf("%w: negative limit %d", ErrInvalidQuery, q.Limit)
	case q.Severity != "" && !q.Severity.Valid():
		return q, fmt.Errorf("%w: unknown severity %q", ErrInvalidQuery, q.Severity)
	case q.ScopeValue != "" && q.ScopeKey == "":
		return q, fmt.Errorf("%w: scope value without a scope key", ErrInvalidQuery)
	case !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since):
		return q, fmt.Errorf("%w: until %v is before since %v", ErrInvalidQuery, q.Until, q.Since)
	case !inNanoRange(q.Since), !inNanoRange(q.Until):
		return q, fmt.Errorf("%w: time out of range", ErrInvalidQuery)
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	return q, nil
}

// match reports whether a satisfies q's filters (not its limit).
func (q ListQuery) match(a *Alert) bool {
	if q.Kind != "" && a.Kind != q.Kind ||
		q.Severity != "" && a.Severity != q.Severity ||
		!q.Since.IsZero() && a.At.Before(q.Since) ||
		!q.Until.IsZero() && !a.At.Before(q.Until) {
		return false
	}
	if q.ScopeKey != "" {
		v, ok := a.Scope[q.ScopeKey]
		if !ok || q.ScopeValue != "" && v != q.ScopeValue {
			return false
		}
	}
	return true
}

var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// inNanoRange reports whether t is zero or representable in Unix
// nanoseconds (years 1678 to 2262), the stores' precision.
func inNanoRange(t time.Time) bool {
	return t.IsZero() || !t.Before(minNanoTime) && !t.After(maxNanoTime)
}

// checkStored validates what a Store accepts.
func checkStored(a *Alert) error {
	switch {
	case a.ID == "":
		return errors.New("alert has no id")
	case a.Kind == "":
		return fmt.Errorf("alert %s has no kind", a.ID)
	case !a.Severity.Valid():
		return fmt.Errorf("alert %s: unknown severity %q", a.ID, a.Severity)
	case a.At.IsZero() || !inNanoRange(a.At) || !inNanoRange(a.LastAt):
		return fmt.Errorf("alert %s: time %v out of range", a.ID, a.At)
	case !finite(a.Value) || !finite(a.Threshold) || !finite(a.LastValue):
		return fmt.Errorf("alert %s: value, threshold and last value must be finite", a.ID)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// normalizeFields returns a deep copy of f as JSON would give it back, so
// every store returns the same types and nobody shares the caller's maps.
func normalizeFields(f map[string]any) (map[string]any, error) {
	if len(f) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("fields: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("fields: %w", err)
	}
	return out, nil
}

// clone returns a copy of a that shares no maps or slices with it. Fields
// values are copied one level deep: stores keep them normalised (JSON
// decoded), so nothing else points into them.
func (a Alert) clone() Alert {
	a.Scope = maps.Clone(a.Scope)
	a.Fields = maps.Clone(a.Fields)
	a.Deliveries = slices.Clone(a.Deliveries)
	return a
}

// DefaultDedupKey is the key of an alert raised without one: its kind, rule
// and scope, e.g. "limit_exceeded|team-budget|team=payments,use_case=chat".
func DefaultDedupKey(a Alert) string {
	var b strings.Builder
	b.WriteString(a.Kind)
	b.WriteByte('|')
	b.WriteString(a.Rule)
	b.WriteByte('|')
	for i, k := range slices.Sorted(maps.Keys(a.Scope)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(a.Scope[k])
	}
	return b.String()
}

// newID returns a time-sortable id: "alt_" and 26 base32 characters.
func newID(t time.Time) string { return idgen.New("alt_", t) }
