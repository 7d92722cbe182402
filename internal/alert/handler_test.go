package alert

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// failingStore fails every read.
type failingStore struct{ *MemoryStore }

func (failingStore) ListAlerts(context.Context, ListQuery) ([]Alert, error) {
	return nil, errors.New("disk on fire")
}

func TestListHandler(t *testing.T) {
	e, _, c := newEngine(t, Options{DedupWindow: -1})
	for i, r := range []struct {
		kind string
		sev  Severity
	}{
		{KindLimitThreshold, SeverityWarning}, // 12:00:00
		{KindLimitExceeded, SeverityCritical}, // 12:01:00
		{KindSpendSpike, SeverityWarning},     // 12:02:00
		{KindErrorRate, SeverityInfo},         // 12:03:00
	} {
		raise(t, e, Alert{ID: "a" + string(rune('0'+i)), Kind: r.kind, Severity: r.sev})
		c.Advance(time.Minute)
	}
	tests := []struct {
		query      string
		wantStatus int
		wantIDs    []string
		wantErr    string // in the message
	}{
		{"", 200, []string{"a3", "a2", "a1", "a0"}, ""},
		{"kind=limit_exceeded", 200, []string{"a1"}, ""},
		{"kind=nothing", 200, []string{}, ""},
		{"severity=warning", 200, []string{"a2", "a0"}, ""},
		{"severity=warning&kind=spend_spike", 200, []string{"a2"}, ""},
		{"limit=2", 200, []string{"a3", "a2"}, ""},
		{"limit=0", 200, []string{"a3", "a2", "a1", "a0"}, ""},
		{"limit=5000", 200, []string{"a3", "a2", "a1", "a0"}, ""},
		{"from=2025-06-01T12:01:00.123456789Z", 200, []string{"a3", "a2", "a1"}, ""},
		{"to=2025-06-01T12:02:00.123456789Z", 200, []string{"a1", "a0"}, ""},
		{"from=2025-06-01T14:01:00.123456789%2B02:00&to=2025-06-01T12:03:00Z", 200, []string{"a2", "a1"}, ""},
		{"from=1748779320", 200, []string{"a3", "a2"}, ""}, // 12:02:00 UTC, just before a2
		{"to=2025-06-01", 200, []string{}, ""},
		{"from=2025-06-01", 200, []string{"a3", "a2", "a1", "a0"}, ""},
		{"severity=fatal", 400, nil, `severity: "fatal" is not info, warning or critical`},
		{"from=yesterday", 400, nil, `from: "yesterday" is neither`},
		{"to=12:00", 400, nil, "to: "},
		{"from=2025-06-02&to=2025-06-01", 400, nil, "to is before from"},
		{"limit=-1", 400, nil, "limit: -1 is negative"},
		{"limit=ten", 400, nil, `limit: "ten" is not an integer`},
		{"team=payments", 400, nil, `unknown parameter "team"`},
	}
	h := e.ListHandler()
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/alerts?"+tt.query, nil))
		if rec.Code != tt.wantStatus {
			t.Errorf("GET ?%s: status %d, want %d; body %s", tt.query, rec.Code, tt.wantStatus, rec.Body)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET ?%s: Content-Type %q", tt.query, ct)
		}
		if tt.wantStatus != 200 {
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "invalid_query" || !strings.Contains(body.Error.Message, tt.wantErr) {
				t.Errorf("GET ?%s: body %s; want code invalid_query and a message with %q", tt.query, rec.Body, tt.wantErr)
			}
			continue
		}
		var page struct {
			Alerts []json.RawMessage `json:"alerts"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || page.Alerts == nil {
			t.Errorf("GET ?%s: body %s is not {\"alerts\":[...]}", tt.query, rec.Body)
			continue
		}
		got := []string{}
		for _, raw := range page.Alerts {
			var a Alert
			if err := json.Unmarshal(raw, &a); err != nil {
				t.Fatal(err)
			}
			got = append(got, a.ID)
		}
		if diff := cmp.Diff(tt.wantIDs, got); diff != "" {
			t.Errorf("GET ?%s (-want +got):\n%s", tt.query, diff)
		}
	}
}

func TestListHandlerAlertJSON(t *testing.T) {
	e, _, _ := newEngine(t, Options{})
	raise(t, e, goldenAlerts["budget"])
	rec := httptest.NewRecorder()
	e.ListHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/alerts", nil))
	var got map[string][]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	a := got["alerts"][0]
	for _, k := range []string{"id", "rule", "kind", "severity", "scope", "title", "message", "value", "threshold", "at", "dedup_key", "fields", "count", "last_at", "last_value"} {
		if _, ok := a[k]; !ok {
			t.Errorf("listed alert has no %q: %v", k, a)
		}
	}
	if a["count"] != float64(1) || a["at"] != "2025-06-14T09:30:00Z" {
		t.Errorf("count, at = %v, %v", a["count"], a["at"])
	}
}

func TestListHandlerErrors(t *testing.T) {
	e, _, _ := newEngine(t, Options{Store: failingStore{NewMemoryStore()}})
	rec := httptest.NewRecorder()
	e.ListHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/alerts", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"internal"`) || strings.Contains(rec.Body.String(), "fire") {
		t.Errorf("store failure: %d %s; want 500, code internal, no detail", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	e.ListHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/alerts", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" || !strings.Contains(rec.Body.String(), "method_not_allowed") {
		t.Errorf("POST: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}
