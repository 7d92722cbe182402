// Package httpjson writes JSON answers and the management API's error
// shape, {"error":{"code","message"}}, for every handler that speaks it
// (the management API, ingest). Any package may import it.
package httpjson

import (
	"bytes"
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
// v is encoded before anything is sent: a value that cannot be encoded
// (a NaN) answers 500 in the error shape, not a 200 with an empty body.
func Write(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		if _, isErr := v.(ErrorBody); !isErr {
			Error(w, http.StatusInternalServerError, "internal", "the answer could not be encoded: "+err.Error())
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// Error answers status with the error shape.
func Error(w http.ResponseWriter, status int, code, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, msg
	Write(w, status, b)
}
