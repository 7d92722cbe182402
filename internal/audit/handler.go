package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/store"
)

// Lister reads the audit log; the store is one.
type Lister interface {
	ListAudit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error)
}

// Handler serves GET /api/v1/audit: one page of the audit log, newest
// first, as store.AuditPage. Parameters: from, to (RFC 3339, YYYY-MM-DD or
// Unix seconds; to is exclusive), object_kind, object_id, actor (the
// actor's name), action, limit and cursor. Unknown, repeated or malformed
// parameters answer 400 invalid_query. The log is read-only: there is no
// other method.
func Handler(st Lister, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := ParseQuery(r.URL.Query())
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, "invalid_query", err.Error())
			return
		}
		page, err := st.ListAudit(r.Context(), q)
		if errors.Is(err, store.ErrInvalidQuery) {
			httpjson.Error(w, http.StatusBadRequest, "invalid_query", err.Error())
			return
		}
		if err != nil {
			log.Error("list audit", "err", err)
			httpjson.Error(w, http.StatusInternalServerError, "internal", "could not list the audit log")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpjson.Write(w, http.StatusOK, page)
	})
}

// ParseQuery reads the parameters of GET /api/v1/audit.
func ParseQuery(v url.Values) (store.AuditQuery, error) {
	var q store.AuditQuery
	for k, vals := range v {
		if len(vals) != 1 {
			return q, fmt.Errorf("parameter %q given %d times", k, len(vals))
		}
		s := vals[0]
		var err error
		switch k {
		case "from":
			q.From, err = parseTime(s)
		case "to":
			q.To, err = parseTime(s)
		case "object_kind":
			q.ObjectKind = s
		case "object_id":
			q.ObjectID = s
		case "actor":
			q.Actor = s
		case "action":
			q.Action = s
		case "cursor":
			q.Cursor = s
		case "limit":
			if q.Limit, err = strconv.Atoi(s); err != nil {
				err = fmt.Errorf("%q is not an integer", s)
			}
		default:
			return q, fmt.Errorf("unknown parameter %q (from, to, object_kind, object_id, actor, action, limit, cursor)", k)
		}
		if err != nil {
			return q, fmt.Errorf("%s: %w", k, err)
		}
	}
	if _, err := q.Plan(); err != nil {
		return q, err
	}
	return q, nil
}

// parseTime reads a time as the requests list does: RFC 3339, a date
// (midnight UTC) or Unix seconds.
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
