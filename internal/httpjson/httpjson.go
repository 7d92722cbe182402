// Package httpjson writes JSON answers and the management API's error
// shape, {"error":{"code","message"}}, for every handler that speaks it
// (the management API, ingest). Any package may import it.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// ErrorBody is the management API's error.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Write answers status with v as JSON, HTML characters left as they are.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// Error answers status with the error shape.
func Error(w http.ResponseWriter, status int, code, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, msg
	Write(w, status, b)
}
