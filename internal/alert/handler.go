package alert

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/httpjson"
)

// ListPage is the answer of ListHandler.
type ListPage struct {
	Alerts []Alert `json:"alerts"`
}

var listParams = map[string]bool{"kind": true, "severity": true, "from": true, "to": true, "limit": true}

// ListHandler serves GET /api/v1/alerts: the stored alerts, newest first,
// as {"alerts":[...]}. Query parameters: kind and severity (exact match),
// from (inclusive) and to (exclusive) as RFC 3339, YYYY-MM-DD or Unix
// seconds, limit (default 50, at most 1000). An unknown parameter or a bad
// value is a 400 with code invalid_query. It does no authentication: mount
// it behind the management API's.
func (e *Engine) ListHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httpjson.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s %s is not supported: use GET", r.Method, r.URL.Path))
			return
		}
		q, err := parseListQuery(r)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, "invalid_query", err.Error())
			return
		}
		alerts, err := e.List(r.Context(), q)
		if errors.Is(err, ErrInvalidQuery) {
			httpjson.Error(w, http.StatusBadRequest, "invalid_query", err.Error())
			return
		}
		if err != nil {
			e.log.Error("list alerts", "err", err)
			httpjson.Error(w, http.StatusInternalServerError, "internal", "could not list alerts")
			return
		}
		httpjson.Write(w, http.StatusOK, ListPage{Alerts: alerts})
	})
}

func parseListQuery(r *http.Request) (ListQuery, error) {
	v := r.URL.Query()
	var q ListQuery
	for k := range v {
		if !listParams[k] {
			return q, fmt.Errorf("unknown parameter %q", k)
		}
	}
	q.Kind = v.Get("kind")
	if s := v.Get("severity"); s != "" {
		if q.Severity = Severity(s); !q.Severity.Valid() {
			return q, fmt.Errorf("severity: %q is not info, warning or critical", s)
		}
	}
	var err error
	if s := v.Get("from"); s != "" {
		if q.Since, err = parseTime(s); err != nil {
			return q, fmt.Errorf("from: %w", err)
		}
	}
	if s := v.Get("to"); s != "" {
		if q.Until, err = parseTime(s); err != nil {
			return q, fmt.Errorf("to: %w", err)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return q, errors.New("to is before from")
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil {
			return q, fmt.Errorf("limit: %q is not an integer", s)
		}
		if q.Limit < 0 {
			return q, fmt.Errorf("limit: %d is negative", q.Limit)
		}
	}
	return q, nil
}

// parseTime accepts RFC 3339, YYYY-MM-DD (UTC) or Unix seconds, as the
// rest of the management API does.
func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(s) && math.Abs(s) < 1e11 {
		return time.Unix(0, int64(s*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339, YYYY-MM-DD nor Unix seconds", v)
}
