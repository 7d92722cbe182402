package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// costDay is one row of cost_days: the calls of one UTC day with the same
// provider, model, use case, team, user and account.
type costDay struct {
	day                                        int64 // Unix seconds of the UTC midnight
	provider, model, useCase, team, user, acct string
}

// costDayAgg are its sums, split like CostTotals splits them: micro is
// the sum of each cost's whole micro-dollars, rem of the femto-dollar
// remainders below 1e9.
type costDayAgg struct {
	calls, priced, unpriced, micro, rem, in, out int64
}

func costDayOf(rec *record.Record) costDay {
	sec := rec.ReceivedAt.Unix()
	return costDay{day: sec - mod(sec, 86400), provider: rec.Provider, model: rec.Model, useCase: rec.UseCase,
		team: rec.Team, user: rec.User, acct: rec.Account}
}

// add adds one call with its cost columns (sign -1 takes it out, for a
// re-priced call's old cost).
func (a *costDayAgg) addCost(costFemto, unpriced any, sign int64) {
	if f, ok := costFemto.(int64); ok {
		a.priced += sign
		a.micro += sign * (f / 1_000_000_000)
		a.rem += sign * (f % 1_000_000_000)
	}
	if unpriced != nil {
		a.unpriced += sign
	}
}

const upsertCostDaySQL = `INSERT INTO cost_days
	(day, provider, model, use_case, team, user, account, calls, priced_calls, unpriced_calls,
	 cost_micro, cost_rem, input_tokens, output_tokens)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (day, provider, model, use_case, team, user, account) DO UPDATE SET
	calls = calls + excluded.calls, priced_calls = priced_calls + excluded.priced_calls,
	unpriced_calls = unpriced_calls + excluded.unpriced_calls, cost_micro = cost_micro + excluded.cost_micro,
	cost_rem = cost_rem + excluded.cost_rem, input_tokens = input_tokens + excluded.input_tokens,
	output_tokens = output_tokens + excluded.output_tokens`

func flushCostDays(ctx context.Context, tx *sql.Tx, days map[costDay]*costDayAgg) error {
	if len(days) == 0 {
		return nil
	}
	keys := make([]costDay, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y costDay) int {
		return cmp.Or(cmp.Compare(x.day, y.day), strings.Compare(x.provider, y.provider), strings.Compare(x.model, y.model),
			strings.Compare(x.useCase, y.useCase), strings.Compare(x.team, y.team), strings.Compare(x.user, y.user),
			strings.Compare(x.acct, y.acct))
	})
	stmt, err := tx.PrepareContext(ctx, upsertCostDaySQL)
	if err != nil {
		return fmt.Errorf("cost days: prepare: %w", err)
	}
	defer stmt.Close()
	for _, k := range keys {
		a := days[k]
		if _, err := stmt.ExecContext(ctx, k.day, k.provider, k.model, k.useCase, k.team, k.user, k.acct,
			a.calls, a.priced, a.unpriced, a.micro, a.rem, a.in, a.out); err != nil {
			return fmt.Errorf("cost days: upsert: %w", err)
		}
	}
	return nil
}

// fromCostDays reports whether q can be answered from cost_days: a range
// of whole UTC days (or unbounded) and only the dimensions it keeps.
func fromCostDays(q store.CostQuery) bool {
	whole := func(t time.Time) bool { return t.IsZero() || t.UTC().Truncate(24*time.Hour).Equal(t) }
	return whole(q.From) && whole(q.To) && q.UseCaseInstance == "" && q.Application == "" && q.APIKeyID == ""
}

// costDayKeys are groupKeys over cost_days.
var costDayKeys = map[string]string{
	store.GroupNone:     `''`,
	store.GroupProvider: `provider`,
	store.GroupModel:    `model`,
	store.GroupUseCase:  `use_case`,
	store.GroupTeam:     `team`,
	store.GroupUser:     `user`,
	store.GroupAccount:  `account`,
	store.GroupDay:      `strftime('%Y-%m-%d', day, 'unixepoch')`,
}

// costDaysQuery is costTotalsQuery over cost_days: the same columns and
// order, summed from a row per day and key instead of a row per call.
func costDaysQuery(q store.CostQuery, p store.Plan) (string, []any) {
	where, args := "", []any{}
	if p.HasFrom {
		where += " AND day >= ?"
		args = append(args, time.Unix(0, p.From).Unix())
	}
	if p.HasTo {
		where += " AND day < ?"
		args = append(args, time.Unix(0, p.To).Unix())
	}
	for _, f := range []struct{ col, v string }{
		{"provider", q.Provider}, {"model", q.Model}, {"use_case", q.UseCase},
		{"team", q.Team}, {"user", q.User}, {"account", q.Account},
	} {
		if f.v != "" {
			where += " AND " + f.col + " = ?"
			args = append(args, f.v)
		}
	}
	return `SELECT ` + costDayKeys[q.GroupBy] + ` AS k, ` + costDayKeys[q.ThenBy] + ` AS k2,
			SUM(calls), SUM(priced_calls), SUM(unpriced_calls),
			SUM(cost_micro) AS micro, SUM(cost_rem) AS rem,
			SUM(input_tokens), SUM(output_tokens)
		FROM cost_days
		WHERE 1` + where + `
		GROUP BY k, k2
		HAVING SUM(calls) > 0
		ORDER BY micro + rem / 1000000000 DESC, rem % 1000000000 DESC, k, k2
		LIMIT ?`, append(args, p.Limit)
}
