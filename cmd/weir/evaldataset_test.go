package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEvalAddCalls(t *testing.T) {
	var got struct {
		path, auth string
		body       map[string]any
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path, got.auth = r.Method+" "+r.URL.Path, r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &got.body)
		if strings.Contains(r.URL.Path, "missing") {
			w.WriteHeader(404)
			w.Write([]byte(`{"error":{"code":"not_found","message":"no dataset missing"}}`))
			return
		}
		w.WriteHeader(201)
		w.Write([]byte(`{"name":"qa","version":4,"items":12}`))
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"eval", "add-calls", "--url", srv.URL, "--token", "weirm_x", "--dataset", "qa", "--expected", "req_1", "req_2"}, &out, &errb)
	if err != nil || got.path != "POST /api/v1/datasets/qa/items/from-calls" || got.auth != "Bearer weirm_x" ||
		got.body["expected_from_response"] != true || len(got.body["call_ids"].([]any)) != 2 || !strings.Contains(out.String(), "version 4, 12 items") {
		t.Errorf("err %v, request %+v, out %q", err, got, out.String())
	}
	err = run(context.Background(), []string{"eval", "add-calls", "--url", srv.URL, "--dataset", "missing", "req_1"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "no dataset missing") {
		t.Errorf("missing dataset: %v", err)
	}
	if err := run(context.Background(), []string{"eval", "add-calls", "--url", srv.URL, "req_1"}, &out, &errb); err == nil {
		t.Error("no --dataset accepted")
	}
}
