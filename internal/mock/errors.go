package mock

import (
	"fmt"
	"github.com/weirhq/weir/internal/jsonenc"
	"net/http"
	"strconv"
	"time"
)

// apiError is an error answer, written in the protocol of the request.
type apiError struct {
	status      int
	msg         string // default: the provider's usual text for the status
	typ         string // default: the provider's type for the status
	param, code string // OpenAI only
	retryAfter  time.Duration
	injected    bool   // drawn from the profile's failures
	model       string // for injected rate-limit texts
}

// openAIDefaults are OpenAI's type, code and text for a status.
func openAIDefaults(status int, model string) (typ, code, msg string) {
	switch status {
	case 400:
		return "invalid_request_error", "", "Invalid request."
	case 401:
		return "invalid_request_error", "invalid_api_key", "Incorrect API key provided."
	case 403:
		return "invalid_request_error", "", "You are not allowed to sample from this model."
	case 404:
		return "invalid_request_error", "", "Not found."
	case 405:
		return "invalid_request_error", "", "Method not allowed."
	case 408:
		return "timeout", "", "Request timed out."
	case 413:
		return "invalid_request_error", "request_too_large", "Request too large."
	case 429:
		return "requests", "rate_limit_exceeded", "Rate limit reached for " + model + " in organization org-weirmock on requests per min (RPM): Please try again later. Visit https://platform.openai.com/account/rate-limits to learn more."
	case 502:
		return "server_error", "", "Bad gateway."
	case 503, 529:
		return "server_error", "", "That model is currently overloaded with other requests. You can retry your request, or contact us through our help center at help.openai.com if the error persists."
	case 504:
		return "server_error", "", "Gateway timeout."
	}
	return "server_error", "", "The server had an error while processing your request. Sorry about that!"
}

// anthropicDefaults are Anthropic's type and text for a status.
func anthropicDefaults(status int) (typ, msg string) {
	switch status {
	case 400:
		return "invalid_request_error", "Invalid request."
	case 401:
		return "authentication_error", "invalid x-api-key"
	case 403:
		return "permission_error", "Your API key does not have permission to use the specified resource."
	case 404:
		return "not_found_error", "Not found."
	case 405:
		return "invalid_request_error", "Method not allowed."
	case 408, 504:
		return "timeout_error", "Request timed out."
	case 413:
		return "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case 429:
		return "rate_limit_error", "Number of requests has exceeded your rate limit (https://docs.claude.com/en/api/rate-limits). Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase."
	case 529:
		return "overloaded_error", "Overloaded"
	}
	return "api_error", "Internal server error"
}

// errorBody is the JSON error object of the exchange's protocol.
func (x *exchange) errorBody(e *apiError) []byte {
	b := make([]byte, 0, 256)
	if x.anthropic {
		typ, msg := anthropicDefaults(e.status)
		if e.typ != "" {
			typ = e.typ
		}
		if e.msg != "" && !e.injected {
			msg = e.msg
		}
		b = append(b, `{"type":"error","error":{"type":`...)
		b = jsonenc.AppendString(b, typ)
		b = append(b, `,"message":`...)
		b = jsonenc.AppendString(b, msg)
		b = append(b, `},"request_id":`...)
		b = jsonenc.AppendString(b, x.requestID())
		return append(b, '}')
	}
	typ, code, msg := openAIDefaults(e.status, e.model)
	if e.typ != "" {
		typ = e.typ
	}
	if e.msg != "" && !e.injected {
		msg, code = e.msg, e.code
	}
	b = append(b, `{"error":{"message":`...)
	b = jsonenc.AppendString(b, msg)
	b = append(b, `,"type":`...)
	b = jsonenc.AppendString(b, typ)
	b = append(b, `,"param":`...)
	b = appendNullable(b, e.param)
	b = append(b, `,"code":`...)
	b = appendNullable(b, code)
	return append(b, "}}"...)
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return jsonenc.AppendString(b, s)
}

// fail answers with an error in the exchange's protocol.
func (x *exchange) fail(e *apiError) {
	x.commonHeaders()
	if e.retryAfter > 0 {
		h := x.w.Header()
		secs := int64((e.retryAfter + time.Second - 1) / time.Second)
		h["Retry-After"] = []string{strconv.FormatInt(secs, 10)}
		if !x.anthropic {
			h["Retry-After-Ms"] = []string{strconv.FormatInt(e.retryAfter.Milliseconds(), 10)}
		}
	}
	if !x.anthropic && e.status == http.StatusUnauthorized {
		x.w.Header()["Www-Authenticate"] = []string{`Bearer realm="OpenAI API"`}
	}
	x.writeBody(e.status, append(x.errorBody(e), '\n'))
}

// streamError is the in-stream form of an injected failure: an OpenAI
// error chunk or an Anthropic error event.
func (x *exchange) streamError(f *Failure) []byte {
	e := &apiError{status: f.Status, injected: true, model: x.model.name}
	body := x.errorBody(e)
	b := make([]byte, 0, len(body)+32)
	if x.anthropic {
		b = append(b, "event: error\ndata: "...)
	} else {
		b = append(b, "data: "...)
	}
	b = append(b, body...)
	return append(b, "\n\n"...)
}

// window is a model's current rate-limit minute.
type window struct {
	start      time.Time
	reqs, toks int
}

// limitState is the rate-limit state reported with an answer.
type limitState struct {
	rpm, tpm             int
	reqsLeft, toksLeft   int
	reset                time.Duration // until the window ends
	resetAt              time.Time
	exceeded             string // "requests" or "tokens" when refused
	usedReqs, usedTokens int
}

// admit counts a request of cost tokens against the model's limits,
// refusing it when it would exceed one. Windows are fixed minutes starting
// at the first request after the previous window ended.
func (m *model) admit(p *Profile, now time.Time, cost int) (limitState, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := &m.win
	if w.start.IsZero() || now.Sub(w.start) >= time.Minute || now.Before(w.start) {
		*w = window{start: now}
	}
	st := limitState{rpm: p.RPM, tpm: p.TPM, resetAt: w.start.Add(time.Minute)}
	st.reset = st.resetAt.Sub(now)
	ok := true
	switch {
	case p.RPM > 0 && w.reqs+1 > p.RPM:
		st.exceeded, ok = "requests", false
	case p.TPM > 0 && w.toks+cost > p.TPM:
		st.exceeded, ok = "tokens", false
	default:
		w.reqs++
		w.toks += cost
	}
	st.usedReqs, st.usedTokens = w.reqs, w.toks
	st.reqsLeft, st.toksLeft = max(p.RPM-w.reqs, 0), max(p.TPM-w.toks, 0)
	return st, ok
}

// headers sets the provider's rate-limit headers for the limits in force.
func (st *limitState) headers(h http.Header, anthropic bool) {
	if anthropic {
		reset := []string{st.resetAt.UTC().Format(time.RFC3339)}
		if st.rpm > 0 {
			h["Anthropic-Ratelimit-Requests-Limit"] = []string{strconv.Itoa(st.rpm)}
			h["Anthropic-Ratelimit-Requests-Remaining"] = []string{strconv.Itoa(st.reqsLeft)}
			h["Anthropic-Ratelimit-Requests-Reset"] = reset
		}
		if st.tpm > 0 {
			h["Anthropic-Ratelimit-Tokens-Limit"] = []string{strconv.Itoa(st.tpm)}
			h["Anthropic-Ratelimit-Tokens-Remaining"] = []string{strconv.Itoa(st.toksLeft)}
			h["Anthropic-Ratelimit-Tokens-Reset"] = reset
		}
		return
	}
	reset := []string{st.reset.Round(time.Millisecond).String()}
	if st.rpm > 0 {
		h["X-Ratelimit-Limit-Requests"] = []string{strconv.Itoa(st.rpm)}
		h["X-Ratelimit-Remaining-Requests"] = []string{strconv.Itoa(st.reqsLeft)}
		h["X-Ratelimit-Reset-Requests"] = reset
	}
	if st.tpm > 0 {
		h["X-Ratelimit-Limit-Tokens"] = []string{strconv.Itoa(st.tpm)}
		h["X-Ratelimit-Remaining-Tokens"] = []string{strconv.Itoa(st.toksLeft)}
		h["X-Ratelimit-Reset-Tokens"] = reset
	}
}

// error is the 429 answer to a refused request.
func (st *limitState) error(model string, anthropic bool, cost int) *apiError {
	e := &apiError{status: http.StatusTooManyRequests, retryAfter: st.reset}
	wait := st.reset.Round(time.Millisecond)
	if anthropic {
		if st.exceeded == "requests" {
			e.msg = fmt.Sprintf("This request would exceed your organization's rate limit of %d requests per minute (https://docs.claude.com/en/api/rate-limits). For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.", st.rpm)
		} else {
			e.msg = fmt.Sprintf("This request would exceed your organization's rate limit of %d tokens per minute (https://docs.claude.com/en/api/rate-limits). For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.", st.tpm)
		}
		return e
	}
	e.code = "rate_limit_exceeded"
	if st.exceeded == "requests" {
		e.typ = "requests"
		e.msg = fmt.Sprintf("Rate limit reached for %s in organization org-weirmock on requests per min (RPM): Limit %d, Used %d, Requested 1. Please try again in %s. Visit https://platform.openai.com/account/rate-limits to learn more.", model, st.rpm, st.usedReqs, wait)
	} else {
		e.typ = "tokens"
		e.msg = fmt.Sprintf("Rate limit reached for %s in organization org-weirmock on tokens per min (TPM): Limit %d, Used %d, Requested %d. Please try again in %s. Visit https://platform.openai.com/account/rate-limits to learn more.", model, st.tpm, st.usedTokens, cost, wait)
	}
	return e
}
