package alert

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhook formats.
const (
	FormatJSON  = "json"  // the alert as a JSON object
	FormatSlack = "slack" // a Slack incoming-webhook message
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body,
// keyed with the webhook's Secret.
const SignatureHeader = "X-Weir-Signature"

// Webhook is one place fresh alerts are POSTed to.
type Webhook struct {
	// Name identifies the webhook in delivery states; required, unique.
	Name string
	// URL is http or https. A Slack incoming-webhook URL is a secret: it
	// is never logged nor stored.
	URL string
	// Format is FormatJSON (the default when empty) or FormatSlack.
	Format string
	// Headers are added to every request (e.g. Authorization). They may
	// replace Content-Type and User-Agent, not the signature.
	Headers map[string]string
	// Secret, when set, signs each body in SignatureHeader.
	Secret string
	// Kinds limits the webhook to these alert kinds; empty means all.
	Kinds []string
	// MinSeverity drops less severe alerts; empty means all.
	MinSeverity Severity
}

// validate checks w and fills its defaults.
func (w *Webhook) validate() error {
	if w.Name == "" {
		return errors.New("webhook has no name")
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Parse's error quotes the URL, which may be a secret.
		return fmt.Errorf("webhook %q: url must be an absolute http or https URL", w.Name)
	}
	switch w.Format {
	case "":
		w.Format = FormatJSON
	case FormatJSON, FormatSlack:
	default:
		return fmt.Errorf("webhook %q: unknown format %q (want json or slack)", w.Name, w.Format)
	}
	if w.MinSeverity != "" && !w.MinSeverity.Valid() {
		return fmt.Errorf("webhook %q: unknown min severity %q (want info, warning or critical)", w.Name, w.MinSeverity)
	}
	for k, v := range w.Headers {
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("webhook %q: invalid header %q", w.Name, k)
		}
	}
	w.Headers = maps.Clone(w.Headers)
	w.Kinds = slices.Clone(w.Kinds)
	return nil
}

// validHeaderName reports whether k is an RFC 9110 token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// wants reports whether the webhook takes a.
func (w *Webhook) wants(a *Alert) bool {
	if len(w.Kinds) > 0 && !slices.Contains(w.Kinds, a.Kind) {
		return false
	}
	return w.MinSeverity == "" || a.Severity.rank() >= w.MinSeverity.rank()
}

// Redacted is w safe to log: the URL cut to its scheme and host, the secret
// and header values replaced.
func (w Webhook) Redacted() Webhook {
	if u, err := url.Parse(w.URL); err == nil {
		w.URL = u.Scheme + "://" + u.Host
	} else {
		w.URL = "[redacted]"
	}
	if w.Secret != "" {
		w.Secret = "[redacted]"
	}
	if len(w.Headers) > 0 {
		h := make(map[string]string, len(w.Headers))
		for k := range w.Headers {
			h[k] = "[redacted]"
		}
		w.Headers = h
	}
	return w
}

// Sign returns the SignatureHeader value for body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is body's signature with secret, in
// constant time. Receivers written in Go may use it.
func Verify(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}

// Body returns the request body a webhook of the given format receives for
// a, and its content type.
func Body(format string, a Alert) ([]byte, string, error) {
	var v any
	switch format {
	case FormatJSON, "":
		v = payloadOf(a)
	case FormatSlack:
		v = slackMessageOf(a)
	default:
		return nil, "", fmt.Errorf("unknown webhook format %q", format)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, "", fmt.Errorf("encode %s webhook body: %w", format, err)
	}
	return b.Bytes(), "application/json", nil
}

// payload is the JSON format: the alert as raised, without the engine's
// bookkeeping.
type payload struct {
	ID        string            `json:"id"`
	Rule      string            `json:"rule,omitempty"`
	Kind      string            `json:"kind"`
	Severity  Severity          `json:"severity"`
	Scope     map[string]string `json:"scope,omitempty"`
	Title     string            `json:"title"`
	Message   string            `json:"message,omitempty"`
	Value     float64           `json:"value"`
	Threshold float64           `json:"threshold"`
	At        time.Time         `json:"at"`
	DedupKey  string            `json:"dedup_key"`
	Fields    map[string]any    `json:"fields,omitempty"`
}

func payloadOf(a Alert) payload {
	return payload{
		ID: a.ID, Rule: a.Rule, Kind: a.Kind, Severity: a.Severity, Scope: a.Scope,
		Title: a.Title, Message: a.Message, Value: a.Value, Threshold: a.Threshold,
		At: a.At.UTC(), DedupKey: a.DedupKey, Fields: a.Fields,
	}
}

// Slack's Block Kit: https://api.slack.com/reference/block-kit/blocks.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Slack's limits on text lengths, in characters.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldMax   = 2000
)

var severityEmoji = map[Severity]string{
	SeverityInfo:     ":information_source:",
	SeverityWarning:  ":warning:",
	SeverityCritical: ":rotating_light:",
}

func mrkdwn(s string) slackText { return slackText{Type: "mrkdwn", Text: s} }

func slackMessageOf(a Alert) slackMessage {
	vs := valueVsThreshold(a.Value, a.Threshold)
	m := slackMessage{
		Text: escTrunc(fmt.Sprintf("[%s] %s: %s", strings.ToUpper(string(a.Severity)), a.Title, vs), slackSectionMax),
	}
	m.Blocks = append(m.Blocks, slackBlock{
		Type: "header",
		Text: &slackText{Type: "plain_text", Text: truncate(severityEmoji[a.Severity]+" "+a.Title, slackHeaderMax), Emoji: true},
	})
	if a.Message != "" {
		t := mrkdwn(escTrunc(a.Message, slackSectionMax))
		m.Blocks = append(m.Blocks, slackBlock{Type: "section", Text: &t})
	}
	m.Blocks = append(m.Blocks, slackBlock{Type: "section", Fields: []slackText{
		mrkdwn("*Severity*\n" + string(a.Severity)),
		mrkdwn("*Kind*\n" + escTrunc(a.Kind, slackFieldMax-10)),
		mrkdwn("*Value vs threshold*\n" + vs),
	}})
	if len(a.Scope) > 0 {
		var b strings.Builder
		b.WriteString("*Scope*")
		for _, k := range slices.Sorted(maps.Keys(a.Scope)) {
			fmt.Fprintf(&b, "\n%s: `%s`", escapeSlack(k), escapeSlack(strings.ReplaceAll(a.Scope[k], "`", "'")))
		}
		t := mrkdwn(cutEntity(truncate(b.String(), slackSectionMax)))
		m.Blocks = append(m.Blocks, slackBlock{Type: "section", Text: &t})
	}
	ctx := "Alert " + a.ID
	if a.Rule != "" {
		ctx += " · rule " + escapeSlack(a.Rule)
	}
	ctx += " · " + a.At.UTC().Format("2006-01-02 15:04:05 UTC")
	m.Blocks = append(m.Blocks, slackBlock{Type: "context", Elements: []slackText{mrkdwn(cutEntity(truncate(ctx, slackFieldMax)))}})
	return m
}

// valueVsThreshold reads "123.45 vs threshold 100 (123%)".
func valueVsThreshold(v, t float64) string {
	s := formatNumber(v) + " vs threshold " + formatNumber(t)
	if t != 0 {
		if p := v / t * 100; finite(p) {
			s += " (" + strconv.FormatFloat(math.Round(p), 'f', -1, 64) + "%)"
		}
	}
	return s
}

// formatNumber prints v with at most 6 significant digits, without an
// exponent for everyday magnitudes.
func formatNumber(v float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	if r != 0 && (math.Abs(r) >= 1e15 || math.Abs(r) < 1e-6) {
		return strconv.FormatFloat(r, 'g', -1, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escapeSlack escapes the three characters Slack's mrkdwn gives a meaning
// to, so alert text cannot mention @channel or forge links.
func escapeSlack(s string) string { return slackEscaper.Replace(s) }

// escTrunc escapes s for mrkdwn and cuts it to at most n characters.
func escTrunc(s string, n int) string { return cutEntity(truncate(escapeSlack(s), n)) }

// cutEntity drops an entity that truncate cut in half ("&am…" -> "…").
func cutEntity(s string) string {
	if !strings.HasSuffix(s, "…") {
		return s
	}
	body := strings.TrimSuffix(s, "…")
	if i := strings.LastIndexByte(body, '&'); i >= 0 && !strings.Contains(body[i:], ";") {
		return body[:i] + "…"
	}
	return s
}

// truncate cuts s to at most n characters, ending with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
