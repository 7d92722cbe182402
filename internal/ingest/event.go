package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/usage"
)

// Event is one call made without the gateway, as POST /api/v1/ingest takes
// it. The JSON field names are public API; docs/openapi.yaml describes them.
type Event struct {
	// ID is the idempotency key: the provider's response id, or the
	// caller's own. Required.
	ID string `json:"id"`
	// ReceivedAt is when the call was made, in RFC 3339. Required.
	ReceivedAt string `json:"received_at"`
	// Provider is a configured provider name or a price-catalog vendor.
	// Required.
	Provider string `json:"provider"`
	// Model is the model as sent. Required.
	Model string `json:"model"`
	// ResponseModel is the model as the provider reported it.
	ResponseModel string `json:"response_model,omitempty"`
	// Endpoint is chat.completions (the default), messages or embeddings.
	Endpoint string `json:"endpoint,omitempty"`
	// Status is the HTTP status the provider returned; default 200.
	Status       *int   `json:"status,omitempty"`
	ErrorKind    string `json:"error_kind,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	Stream       bool   `json:"stream,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	ServiceTier  string `json:"service_tier,omitempty"`
	// Usage is in Weir's taxonomy. OpenAIUsage and AnthropicUsage are the
	// provider's own usage objects, normalised here. A successful call
	// carries exactly one of the three; a failed one at most one.
	Usage          *usage.Usage    `json:"usage,omitempty"`
	OpenAIUsage    json.RawMessage `json:"openai_usage,omitempty"`
	AnthropicUsage json.RawMessage `json:"anthropic_usage,omitempty"`
	// Timings in milliseconds from ReceivedAt, as docs/metrics.md defines
	// them; TTFT and TTFCT apply to streams only.
	TTFTMs  *float64 `json:"ttft_ms,omitempty"`
	TTFCTMs *float64 `json:"ttfct_ms,omitempty"`
	E2EMs   *float64 `json:"e2e_ms,omitempty"`
	record.Attribution
	// Request and Response are the bodies: a JSON string is kept as its
	// text, any other JSON value as written.
	Request  json.RawMessage `json:"request,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
}

// Limits of an event.
const (
	// MaxFutureSkew is how far in the future received_at may be.
	MaxFutureSkew = 5 * time.Minute
	// MaxTokens bounds each usage count.
	MaxTokens = 1_000_000_000_000

	maxIDLen         = 256
	maxValueLen      = 256
	maxTags          = 32
	maxTagLen        = 64
	maxPropertiesLen = 8 << 10
	maxErrorMessage  = 4 << 10
)

// IDPrefix starts the ID of every ingested record; gateway records start
// with "req_".
const IDPrefix = "ing_"

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// RecordID is the ID of the record an event with this provider and id
// becomes: IDPrefix and 26 base32 characters of the first 128 bits of
// SHA-256(provider + "\x00" + id). Sending the event again gives the same
// ID, which the store keeps once.
func RecordID(provider, id string) string {
	h := sha256.Sum256([]byte(provider + "\x00" + id))
	return IDPrefix + idEncoding.EncodeToString(h[:16])
}

// vendors are the price catalog's providers (a test keeps the list equal to
// the embedded catalog's).
var vendors = []string{"openai", "anthropic", "google", "bedrock", "azure", "mistral", "deepseek", "groq", "xai"}

func isVendor(p string) bool {
	for _, v := range vendors {
		if v == p {
			return true
		}
	}
	return false
}

// errorKinds are the values error_kind may take: apierror's kind names.
var errorKinds = func() []string {
	var out []string
	for k := apierror.Kind(0); !strings.HasPrefix(k.String(), "kind("); k++ {
		out = append(out, k.String())
	}
	return out
}()

// decodeEvent decodes one event strictly: unknown fields are errors.
func decodeEvent(raw []byte) (Event, error) {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ev, decodeError(err)
	}
	return ev, nil
}

// decodeError rewrites a JSON decoding error in the event's terms.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := te.Field
		if where == "" {
			where = "event"
		}
		return fmt.Errorf("%s: a JSON %s where %s is expected", where, te.Value, jsonKind(te.Type))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		if hint := rawUsageFields[strings.Trim(name, `"`)]; hint != "" {
			msg += " (usage takes Weir's taxonomy; send the provider's own usage object as " + hint + ")"
		}
	}
	return fmt.Errorf("malformed event: %s", msg)
}

// rawUsageFields are fields of the providers' usage objects that Weir's
// usage lacks, with the event field that takes such an object.
var rawUsageFields = map[string]string{
	"prompt_tokens": "openai_usage", "completion_tokens": "openai_usage", "total_tokens": "openai_usage",
	"prompt_tokens_details": "openai_usage", "completion_tokens_details": "openai_usage",
	"cache_creation_input_tokens": "anthropic_usage", "cache_read_input_tokens": "anthropic_usage",
	"cache_creation": "anthropic_usage", "server_tool_use": "anthropic_usage",
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// problems collects what is wrong with an event, one reason per field.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

// event is a validated event on its way to the store.
type event struct {
	rec record.Record
	// price says the call is priced: it succeeded or reported usage.
	price   bool
	priceAs string
}

// build validates ev and turns it into a record. now is only used to
// refuse times in the future: the record depends on ev alone.
func (i *Ingester) build(ev *Event, now time.Time) (event, error) {
	var p problems
	out := event{rec: record.Record{
		ProviderRequestID: ev.ID,
		Provider:          ev.Provider,
		RequestedModel:    ev.Model,
		Model:             ev.Model,
		ResponseModel:     ev.ResponseModel,
		Endpoint:          record.EndpointChatCompletions,
		Status:            200,
		ErrorKind:         ev.ErrorKind,
		ErrorMessage:      ev.ErrorMessage,
		FinishReason:      ev.FinishReason,
		ServiceTier:       ev.ServiceTier,
		Stream:            ev.Stream,
		Attempts:          []record.Attempt{},
	}}
	rec := &out.rec

	requiredText(&p, "id", ev.ID, maxIDLen)
	requiredText(&p, "provider", ev.Provider, maxValueLen)
	requiredText(&p, "model", ev.Model, maxValueLen)
	optionalText(&p, "response_model", ev.ResponseModel, maxValueLen)
	optionalText(&p, "finish_reason", ev.FinishReason, maxValueLen)
	optionalText(&p, "service_tier", ev.ServiceTier, maxValueLen)
	if ev.ID != "" && ev.Provider != "" {
		rec.ID = RecordID(ev.Provider, ev.ID)
	}
	if ev.Provider != "" {
		var known bool
		out.priceAs, known = i.resolve(ev.Provider)
		if !known {
			p.add("provider: %q is neither a configured provider nor a price-catalog vendor (%s)", ev.Provider, strings.Join(vendors, ", "))
		}
	}

	if ev.ReceivedAt == "" {
		p.add("received_at is required")
	} else if t, err := time.Parse(time.RFC3339Nano, ev.ReceivedAt); err != nil {
		p.add("received_at: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", ev.ReceivedAt)
	} else if ahead := t.Sub(now); ahead > MaxFutureSkew {
		p.add("received_at: %s is %v in the future, more than the %v allowed (is the sender's clock right?)", ev.ReceivedAt, ahead.Round(time.Second), MaxFutureSkew)
	} else if t.Before(minTime) {
		p.add("received_at: %s is before %s, the earliest time the store keeps", ev.ReceivedAt, minTime.UTC().Format(time.DateOnly))
	} else {
		rec.ReceivedAt = t.UTC()
	}

	switch ev.Endpoint {
	case "":
	case record.EndpointChatCompletions, record.EndpointMessages, record.EndpointEmbeddings:
		rec.Endpoint = ev.Endpoint
	default:
		p.add("endpoint: %q is not %s, %s or %s", ev.Endpoint, record.EndpointChatCompletions, record.EndpointMessages, record.EndpointEmbeddings)
	}

	if ev.Status != nil {
		if s := *ev.Status; s < 100 || s > 599 {
			p.add("status: %d is not an HTTP status (100 to 599)", s)
		} else {
			rec.Status = s
		}
	}
	if ev.ErrorKind != "" && !contains(errorKinds, ev.ErrorKind) {
		p.add("error_kind: %q is not one of %s", ev.ErrorKind, strings.Join(errorKinds, ", "))
	}
	if rec.ErrorKind == "" && rec.Status >= 400 {
		rec.ErrorKind = apierror.FromStatus(rec.Status).String()
	}
	if n := len(ev.ErrorMessage); n > maxErrorMessage {
		p.add("error_message: %d bytes, at most %d", n, maxErrorMessage)
	} else if !utf8.ValidString(ev.ErrorMessage) {
		p.add("error_message: not valid UTF-8")
	}

	hasUsage := buildUsage(&p, ev, rec)
	if rec.Status < 400 && !hasUsage {
		p.add("usage is required for a successful call: send usage, openai_usage or anthropic_usage")
	}
	out.price = rec.Status < 400 || hasUsage

	buildTimings(&p, ev, rec)
	buildAttribution(&p, &ev.Attribution, rec)
	if !rec.NoLog {
		rec.Request = i.keep(ev.Request, &rec.Truncated)
		rec.Response = i.keep(ev.Response, &rec.Truncated)
	}

	if err := p.err(); err != nil {
		return event{}, err
	}
	if err := store.CheckRecord(rec); err != nil {
		return event{}, err
	}
	return out, nil
}

// minTime is the earliest received_at a store keeps (time.Time.UnixNano's
// range).
var minTime = time.Unix(0, math.MinInt64)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// requiredText checks a required value kept as given.
func requiredText(p *problems, name, v string, max int) {
	if v == "" {
		p.add("%s is required", name)
		return
	}
	optionalText(p, name, v, max)
}

// optionalText checks a value kept as given: empty means absent.
func optionalText(p *problems, name, v string, max int) {
	if v == "" {
		return
	}
	if why := textProblem(v, max); why != "" {
		p.add("%s: %s", name, why)
	} else if strings.TrimSpace(v) != v {
		p.add("%s: %q has leading or trailing spaces", name, v)
	}
}

// textProblem says why v is not a short line of text, or "".
func textProblem(v string, max int) string {
	if len(v) > max {
		return fmt.Sprintf("%d bytes, at most %d", len(v), max)
	}
	if !utf8.ValidString(v) {
		return "not valid UTF-8"
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}

// buildUsage sets rec.Usage from whichever usage the event carries and
// reports whether it carried one.
func buildUsage(p *problems, ev *Event, rec *record.Record) bool {
	type source struct {
		name string
		raw  json.RawMessage
		norm func([]byte) (usage.Usage, error)
	}
	var given []string
	var u usage.Usage
	from := "usage"
	if ev.Usage != nil {
		given = append(given, "usage")
		u = *ev.Usage
	}
	for _, s := range []source{{"openai_usage", ev.OpenAIUsage, usage.FromOpenAI}, {"anthropic_usage", ev.AnthropicUsage, usage.FromAnthropic}} {
		if isNull(s.raw) {
			continue
		}
		given = append(given, s.name)
		if b := bytes.TrimSpace(s.raw); b[0] != '{' {
			p.add("%s: must be the provider's usage object", s.name)
			continue
		}
		n, err := s.norm(s.raw)
		if err != nil {
			if inner := errors.Unwrap(err); inner != nil {
				err = inner
			}
			p.add("%s: %s", s.name, strings.TrimPrefix(decodeError(err).Error(), "malformed event: "))
			continue
		}
		u, from = n, s.name
	}
	switch len(given) {
	case 0:
		return false
	case 1:
	default:
		p.add("send one of usage, openai_usage and anthropic_usage, not %s", strings.Join(given, " and "))
		return true
	}
	if why := usageProblem(u); why != "" {
		p.add("%s: %s", from, why)
	}
	rec.Usage = u
	return true
}

func isNull(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) == 0 || string(b) == "null"
}

// usageProblem says why u is not a possible usage, or "": the same rules
// the price catalog applies, so that a valid usage always prices.
func usageProblem(u usage.Usage) string {
	for _, c := range []struct {
		name string
		n    int64
	}{
		{"input_tokens", u.InputTokens}, {"cache_read_tokens", u.CacheReadTokens},
		{"cache_write_tokens", u.CacheWriteTokens}, {"cache_write_1h_tokens", u.CacheWrite1hTokens},
		{"output_tokens", u.OutputTokens}, {"reasoning_tokens", u.ReasoningTokens},
		{"input_audio_tokens", u.InputAudioTokens}, {"output_audio_tokens", u.OutputAudioTokens},
		{"input_image_tokens", u.InputImageTokens}, {"output_image_tokens", u.OutputImageTokens},
	} {
		switch {
		case c.n < 0:
			return fmt.Sprintf("%s is negative (%d)", c.name, c.n)
		case c.n > MaxTokens:
			return fmt.Sprintf("%s is %d, at most %d", c.name, c.n, int64(MaxTokens))
		}
	}
	if parts := u.CacheReadTokens + u.CacheWriteTokens + u.InputAudioTokens + u.InputImageTokens; parts > u.InputTokens {
		return fmt.Sprintf("cache_read_tokens + cache_write_tokens + input_audio_tokens + input_image_tokens (%d) exceed input_tokens (%d), which includes them", parts, u.InputTokens)
	}
	if u.CacheWrite1hTokens > u.CacheWriteTokens {
		return fmt.Sprintf("cache_write_1h_tokens (%d) exceed cache_write_tokens (%d), which includes them", u.CacheWrite1hTokens, u.CacheWriteTokens)
	}
	if parts := u.ReasoningTokens + u.OutputAudioTokens + u.OutputImageTokens; parts > u.OutputTokens {
		return fmt.Sprintf("reasoning_tokens + output_audio_tokens + output_image_tokens (%d) exceed output_tokens (%d), which includes them", parts, u.OutputTokens)
	}
	return ""
}

// buildTimings checks the timings and derives TPOT and OTPS from them as
// docs/metrics.md defines them (the gateway's measure package does the same
// from the moments it observes). An ingested call spent all its time
// upstream: Weir added nothing.
func buildTimings(p *problems, ev *Event, rec *record.Record) {
	bad := false
	for _, t := range []struct {
		name string
		v    *float64
	}{{"ttft_ms", ev.TTFTMs}, {"ttfct_ms", ev.TTFCTMs}, {"e2e_ms", ev.E2EMs}} {
		if t.v != nil && (*t.v < 0 || math.IsNaN(*t.v) || math.IsInf(*t.v, 0)) {
			p.add("%s: %v, must not be negative", t.name, *t.v)
			bad = true
		}
	}
	if ev.TTFTMs != nil && !ev.Stream {
		p.add("ttft_ms: applies to streams only (stream is false)")
		bad = true
	}
	if ev.TTFCTMs != nil && !ev.Stream {
		p.add("ttfct_ms: applies to streams only (stream is false)")
		bad = true
	}
	if ev.TTFCTMs != nil && ev.TTFTMs == nil {
		p.add("ttfct_ms needs ttft_ms (the first token comes no later than the first completion token)")
		bad = true
	}
	if (ev.TTFTMs != nil || ev.TTFCTMs != nil) && ev.E2EMs == nil {
		p.add("e2e_ms is required with ttft_ms and ttfct_ms")
		bad = true
	}
	if bad {
		return
	}
	if ev.TTFTMs != nil && ev.TTFCTMs != nil && *ev.TTFTMs > *ev.TTFCTMs {
		p.add("ttft_ms (%v) is after ttfct_ms (%v)", *ev.TTFTMs, *ev.TTFCTMs)
		bad = true
	}
	if ev.TTFTMs != nil && *ev.TTFTMs > *ev.E2EMs {
		p.add("ttft_ms (%v) is after e2e_ms (%v)", *ev.TTFTMs, *ev.E2EMs)
		bad = true
	}
	if ev.TTFCTMs != nil && *ev.TTFCTMs > *ev.E2EMs {
		p.add("ttfct_ms (%v) is after e2e_ms (%v)", *ev.TTFCTMs, *ev.E2EMs)
		bad = true
	}
	if bad || ev.E2EMs == nil {
		return
	}
	e2e := *ev.E2EMs
	rec.E2EMs, rec.UpstreamMs, rec.OverheadMs = e2e, e2e, 0
	rec.TTFTMs, rec.TTFCTMs = ev.TTFTMs, ev.TTFCTMs
	out := rec.Usage.OutputTokens
	switch {
	case !rec.Stream:
		if out > 0 && e2e > 0 {
			rec.OTPS = ptr(float64(out) / (e2e / 1000))
		}
	case rec.TTFTMs != nil:
		if gen := e2e - *rec.TTFTMs; out > 1 && gen > 0 {
			rec.TPOTMs = ptr(gen / float64(out-1))
			rec.OTPS = ptr(float64(out) / (gen / 1000))
		}
	}
}

func ptr(f float64) *float64 { return &f }

// buildAttribution checks the attribution with the limits of the gateway's
// x-weir-* headers; values are trimmed and an empty one is absent.
func buildAttribution(p *problems, a *record.Attribution, rec *record.Record) {
	dst := &rec.Attribution
	for _, f := range []struct {
		name     string
		src, dst *string
	}{
		{"use_case", &a.UseCase, &dst.UseCase}, {"use_case_instance", &a.UseCaseInstance, &dst.UseCaseInstance},
		{"use_case_version", &a.UseCaseVersion, &dst.UseCaseVersion}, {"use_case_step", &a.UseCaseStep, &dst.UseCaseStep},
		{"user", &a.User, &dst.User}, {"account", &a.Account, &dst.Account}, {"team", &a.Team, &dst.Team},
	} {
		v := strings.TrimSpace(*f.src)
		if v == "" {
			continue
		}
		if why := textProblem(v, maxValueLen); why != "" {
			p.add("%s: %s", f.name, why)
			continue
		}
		*f.dst = v
	}
	if len(a.Tags) > maxTags {
		p.add("tags: %d tags, at most %d", len(a.Tags), maxTags)
	} else {
		for k, tag := range a.Tags {
			tag = strings.TrimSpace(tag)
			why := textProblem(tag, maxTagLen)
			switch {
			case tag == "":
				why = "empty"
			case why == "" && strings.Contains(tag, ","):
				why = "contains a comma"
			}
			if why != "" {
				p.add("tags[%d]: %s", k, why)
				continue
			}
			dst.Tags = append(dst.Tags, tag)
		}
	}
	if !isNull(a.Properties) {
		var obj map[string]any
		var buf bytes.Buffer
		switch {
		case json.Unmarshal(a.Properties, &obj) != nil || obj == nil:
			p.add(`properties: must be a JSON object such as {"region":"eu"}`)
		case json.Compact(&buf, a.Properties) != nil:
			p.add("properties: must be a JSON object")
		case buf.Len() > maxPropertiesLen:
			p.add("properties: %d bytes, at most %d", buf.Len(), maxPropertiesLen)
		default:
			dst.Properties = buf.Bytes()
		}
	}
	dst.NoLog = a.NoLog
}

// keep returns a body as the text to record, cut at the configured limit on
// a character boundary.
func (i *Ingester) keep(raw json.RawMessage, truncated *bool) string {
	if isNull(raw) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = strings.ToValidUTF8(string(bytes.TrimSpace(raw)), "\uFFFD")
	}
	limit := max(i.opt.MaxLoggedBodyBytes, 0)
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		*truncated = true
	}
	return s
}
