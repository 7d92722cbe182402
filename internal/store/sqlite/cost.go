package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// tokenColumns returns the input_tokens and output_tokens columns of rec.
func tokenColumns(rec *record.Record) (in, out int64) {
	return rec.Usage.InputTokens, rec.Usage.OutputTokens
}

// costColumns returns the cost_femto and unpriced_units columns of rec: the
// cost when it was priced, the unpriced units when it reached a provider but
// was not priced, else NULL.
func costColumns(rec *record.Record) (costFemto, unpricedUnits any, err error) {
	switch {
	case rec.CostUSD != nil:
		return int64(*rec.CostUSD), nil, nil
	case rec.Cost != nil:
		b, err := json.Marshal(rec.Cost.Unpriced)
		if err != nil {
			return nil, nil, err
		}
		return nil, string(b), nil
	}
	return nil, nil, nil
}

// rangeWhere returns the received_at conditions of p, each starting with
// " AND ".
func rangeWhere(p store.Plan) (string, []any) {
	var (
		b    strings.Builder
		args []any
	)
	if p.HasFrom {
		b.WriteString(" AND received_at >= ?")
		args = append(args, p.From)
	}
	if p.HasTo {
		b.WriteString(" AND received_at < ?")
		args = append(args, p.To)
	}
	return b.String(), args
}

// UnpricedModels lists the models of the unpriced calls in the range. SQL
// groups by (provider, model, unpriced units); the few rows that makes are
// merged here, where the unit sets are united.
func (s *Store) UnpricedModels(ctx context.Context, q store.CostQuery) ([]store.UnpricedModel, error) {
	p, err := q.Plan()
	if err != nil {
		return nil, fmt.Errorf("unpriced models: %w", err)
	}
	if q.GroupBy != store.GroupNone {
		return nil, fmt.Errorf("unpriced models: %w: they are grouped by provider and model, not %q", store.ErrInvalidQuery, q.GroupBy)
	}
	if q.HasFilters() {
		return nil, fmt.Errorf("unpriced models: %w: only a time range selects them", store.ErrInvalidQuery)
	}
	query, args := unpricedQuery(p)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("unpriced models: %w", err)
	}
	defer rows.Close()
	type key struct{ provider, model string }
	byModel := map[key]*store.UnpricedModel{}
	for rows.Next() {
		var (
			m           store.UnpricedModel
			units       string
			first, last int64
		)
		if err := rows.Scan(&m.Provider, &m.Model, &units, &m.Calls, &first, &last); err != nil {
			return nil, fmt.Errorf("unpriced models: %w", err)
		}
		m.FirstSeen, m.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
		m.Units = parseUnits(units)
		k := key{m.Provider, m.Model}
		got, ok := byModel[k]
		if !ok {
			byModel[k] = &m
			continue
		}
		got.Calls += m.Calls
		got.Units |= m.Units
		if m.FirstSeen.Before(got.FirstSeen) {
			got.FirstSeen = m.FirstSeen
		}
		if m.LastSeen.After(got.LastSeen) {
			got.LastSeen = m.LastSeen
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unpriced models: %w", err)
	}
	out := make([]store.UnpricedModel, 0, len(byModel))
	for _, m := range byModel {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b store.UnpricedModel) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), strings.Compare(a.Provider, b.Provider), strings.Compare(a.Model, b.Model))
	})
	return out[:min(len(out), p.Limit)], nil
}

// unpricedQuery and costTotalsQuery name their index: without statistics
// the planner may prefer an index on the grouped column, which saves a sort
// of the groups but reads every table row of the range, bodies included.
func unpricedQuery(p store.Plan) (string, []any) {
	where, args := rangeWhere(p)
	return `SELECT provider, model, unpriced_units, COUNT(*), MIN(received_at), MAX(received_at)
		FROM requests INDEXED BY requests_unpriced
		WHERE unpriced_units IS NOT NULL` + where + `
		GROUP BY provider, model, unpriced_units`, args
}

// parseUnits reads an unpriced_units column. A unit name this Weir does not
// know (written by a newer one) is left out rather than failing the query.
func parseUnits(s string) pricing.UnitSet {
	var names []string
	if json.Unmarshal([]byte(s), &names) != nil {
		return 0
	}
	var set pricing.UnitSet
	for _, n := range names {
		var u pricing.UnitSet
		b, _ := json.Marshal([]string{n})
		if u.UnmarshalJSON(b) == nil {
			set |= u
		}
	}
	return set
}

// groupKeys are the SQL of each CostQuery.GroupBy. A day is the UTC day of
// received_at, divided with rounding down (SQLite's / truncates toward zero)
// and in integers: a float of nanoseconds would put the last microsecond of a
// day into the next.
var groupKeys = map[string]string{
	store.GroupNone:     `''`,
	store.GroupProvider: `provider`,
	store.GroupModel:    `model`,
	store.GroupUseCase:  `use_case`,
	store.GroupTeam:     `team`,
	store.GroupUser:     `user`,
	store.GroupAccount:  `account`,
	store.GroupDay: `strftime('%Y-%m-%d', 86400 * CASE WHEN received_at >= 0
		THEN received_at / 86400000000000
		ELSE -((-(received_at + 1)) / 86400000000000) - 1 END, 'unixepoch')`,
}

// CostTotals sums the cost of the calls in the range by group.
//
// The sum is exact and done by SQLite, so only the groups leave the
// database. SUM over cost_femto itself would overflow int64 (SQLite then
// fails with "integer overflow") past $9,223 per group, so each cost is
// split into whole micro-dollars and a femto-dollar remainder below 1e9, and
// the two parts are summed apart: the micro-dollars overflow only past
// $9.2 trillion per group, the remainders only past 9.2 billion calls. Go
// joins them into a store.Amount, and SQL orders by the same value exactly:
// total = micro*1e9 + rem, so (micro + rem/1e9, rem%1e9) is (total/1e9,
// total%1e9) for the non-negative costs the price catalog produces.
func (s *Store) CostTotals(ctx context.Context, q store.CostQuery) ([]store.CostTotal, error) {
	p, err := q.Plan()
	if err != nil {
		return nil, fmt.Errorf("cost totals: %w", err)
	}
	query, args := costTotalsQuery(q, p)
	if fromCostDays(q) {
		query, args = costDaysQuery(q, p)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("cost totals: %w", err)
	}
	defer rows.Close()
	out := []store.CostTotal{}
	for rows.Next() {
		var (
			t          store.CostTotal
			micro, rem int64
		)
		if err := rows.Scan(&t.Key, &t.Key2, &t.Calls, &t.PricedCalls, &t.UnpricedCalls, &micro, &rem, &t.InputTokens, &t.OutputTokens); err != nil {
			return nil, fmt.Errorf("cost totals: %w", err)
		}
		t.CostUSD.AddMicro(micro)
		t.CostUSD.Add(pricing.Money(rem))
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cost totals: %w", err)
	}
	return out, nil
}

func costTotalsQuery(q store.CostQuery, p store.Plan) (string, []any) {
	where, args := rangeWhere(p)
	// One instance's calls are few: its own index finds them in any range.
	index := "requests_cost2"
	switch {
	case q.UseCaseInstance != "":
		index = "requests_instance"
	case q.APIKeyID != "":
		index = "requests_api_key"
	case q.Application != "":
		index = "requests_application"
	}
	for _, f := range []struct{ col, v string }{
		{"provider", q.Provider}, {"model", q.Model}, {"use_case", q.UseCase},
		{"team", q.Team}, {"user", q.User}, {"account", q.Account}, {"use_case_instance", q.UseCaseInstance},
		{"application", q.Application}, {"api_key_id", q.APIKeyID},
	} {
		if f.v != "" {
			where += " AND " + f.col + " = ?"
			args = append(args, f.v)
		}
	}
	return `SELECT ` + groupKeys[q.GroupBy] + ` AS k, ` + groupKeys[q.ThenBy] + ` AS k2,
			COUNT(*), COUNT(cost_femto), COUNT(unpriced_units),
			COALESCE(SUM(cost_femto / 1000000000), 0) AS micro,
			COALESCE(SUM(cost_femto % 1000000000), 0) AS rem,
			COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0)
		FROM requests INDEXED BY ` + index + `
		WHERE 1` + where + `
		GROUP BY k, k2
		ORDER BY micro + rem / 1000000000 DESC, rem % 1000000000 DESC, k, k2
		LIMIT ?`, append(args, p.Limit)
}
