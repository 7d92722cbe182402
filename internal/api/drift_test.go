package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store/sqlite"
)

func TestDriftEvents(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Hour)
	mk := func(id string, ago time.Duration, model, rm, fp, uc string) record.Record {
		r := record.Record{ID: id, ReceivedAt: now.Add(-ago), Endpoint: record.EndpointChatCompletions, Provider: "openai", Model: model,
			ResponseModel: rm, SystemFingerprint: fp, Status: 200}
		r.UseCase = uc
		return r
	}
	if err := st.WriteRecords(ctx, []record.Record{
		mk("a", 48*time.Hour, "gpt-4o", "gpt-4o-2024-08-06", "fp_1", "support"),
		mk("b", 2*time.Hour, "gpt-4o", "gpt-4o-2024-11-20", "fp_2", "support"),
		mk("c", 40*time.Hour, "o4-mini", "o4-mini-2025-04-16", "fp_x", "legal"),
		mk("d", 1*time.Hour, "o4-mini", "o4-mini-2025-04-16", "fp_y", "legal"),
	}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(Options{Requests: st, Rollups: st, Identities: st}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	events := func(q string) (int, []map[string]any) {
		resp, err := http.Get(srv.URL + "/api/v1/drift/events?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out struct{ Events []map[string]any }
		json.Unmarshal(b, &out)
		return resp.StatusCode, out.Events
	}
	if code, ev := events(""); code != 200 || len(ev) != 2 || ev[0]["model"] != "gpt-4o" || ev[0]["current"].(map[string]any)["response_model"] != "gpt-4o-2024-11-20" {
		t.Errorf("all: %d %v", code, ev)
	}
	if code, ev := events("use_case=legal"); code != 200 || len(ev) != 1 || ev[0]["model"] != "o4-mini" {
		t.Errorf("legal: %d %v", code, ev)
	}
	if code, ev := events("from=" + now.Add(-90*time.Minute).Format(time.RFC3339)); code != 200 || len(ev) != 1 || ev[0]["model"] != "o4-mini" {
		t.Errorf("last 90 minutes: %d %v", code, ev)
	}
	if code, _ := events("colour=red"); code != 400 {
		t.Errorf("unknown parameter: %d", code)
	}
}
