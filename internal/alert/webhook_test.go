package alert

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// goldenAlerts are the alerts whose webhook bodies are kept in testdata/.
var goldenAlerts = map[string]Alert{
	"budget": {
		ID: "alt_01jx9c4m0z8k2v6w3n5p7q9r1s", Rule: "payments-monthly", Kind: KindLimitExceeded, Severity: SeverityCritical,
		Scope: map[string]string{"team": "payments", "use_case": "support-reply"},
		Title: "Monthly budget exceeded for team payments", Message: "Spent $1,234.56 of the $1,000 monthly budget.",
		Value: 1234.56, Threshold: 1000, At: time.Date(2025, 6, 14, 9, 30, 0, 0, time.UTC),
		DedupKey: "limit_exceeded|payments-monthly|team=payments,use_case=support-reply",
		Fields:   map[string]any{"period": "month", "period_start": "2025-06-01T00:00:00Z", "calls": float64(48213)},
		// Engine bookkeeping is not part of a webhook body.
		Count: 3, LastAt: time.Date(2025, 6, 14, 9, 45, 0, 0, time.UTC), LastValue: 1300,
		Deliveries: []Delivery{{Webhook: "ops", State: DeliveryPending}},
	},
	"minimal": {
		ID: "alt_01jx9c4m0z8k2v6w3n5p7q9r1t", Kind: KindErrorRate, Severity: SeverityInfo, Title: "error_rate",
		At: time.Date(2025, 6, 14, 9, 30, 0, 500_000_000, time.FixedZone("CEST", 2*3600)), DedupKey: "error_rate||",
	},
	"escaping": {
		ID: "alt_01jx9c4m0z8k2v6w3n5p7q9r1v", Rule: "spike <b>", Kind: KindSpendSpike, Severity: SeverityWarning,
		Scope: map[string]string{"use_case": "a&b <!channel>", "model": "gpt`x`"},
		Title: "Spend spike on <a&b>", Message: "Spend is 4.2× its usual rate: <!here> & <https://evil|click>",
		Value: 0.30000000000000004, Threshold: 0.1, At: time.Date(2025, 6, 14, 9, 30, 0, 0, time.UTC), DedupKey: "k",
	},
}

func TestBodiesGolden(t *testing.T) {
	for name, a := range goldenAlerts {
		for _, format := range []string{FormatJSON, FormatSlack} {
			t.Run(name+"/"+format, func(t *testing.T) {
				body, ctype, err := Body(format, a)
				if err != nil {
					t.Fatal(err)
				}
				if ctype != "application/json" {
					t.Errorf("content type = %q", ctype)
				}
				if !json.Valid(body) {
					t.Fatalf("body is not JSON: %s", body)
				}
				golden(t, name+"_"+format+".json", indent(t, body))
			})
		}
	}
}

// indent makes golden files readable; key order and escaping are kept.
func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestSlackLimits(t *testing.T) {
	a := goldenAlerts["budget"]
	a.Title = strings.Repeat("t", 500)
	a.Message = strings.Repeat("&", 5000) // escapes to 25000 characters
	a.Scope = map[string]string{}
	for i := range 300 {
		a.Scope[strings.Repeat("k", i+1)] = strings.Repeat("v", 20)
	}
	body, _, err := Body(FormatSlack, a)
	if err != nil {
		t.Fatal(err)
	}
	var m slackMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	check := func(what, s string, max int) {
		t.Helper()
		if n := utf8.RuneCountInString(s); n > max {
			t.Errorf("%s has %d characters, Slack takes at most %d", what, n, max)
		}
		body := strings.TrimSuffix(s, "…")
		if i := strings.LastIndexByte(body, '&'); i >= 0 && !strings.Contains(body[i:], ";") {
			t.Errorf("%s ends in a cut entity: %q", what, body[i:])
		}
	}
	check("text", m.Text, slackSectionMax)
	for i, b := range m.Blocks {
		max := slackSectionMax
		if b.Type == "header" {
			max = slackHeaderMax
		}
		if b.Text != nil {
			check(b.Type+" block "+string(rune('0'+i)), b.Text.Text, max)
		}
		for _, f := range append(b.Fields, b.Elements...) {
			check("field", f.Text, slackFieldMax)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0", 100: "100", 1234.56: "1234.56", 0.30000000000000004: "0.3", -12.5: "-12.5",
		1234567.891: "1234570", 1e20: "1e+20", 1e-9: "1e-09", 0.00012345678: "0.000123457",
	} {
		if got := formatNumber(in); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", in, got, want)
		}
	}
	if got := valueVsThreshold(150, 100); got != "150 vs threshold 100 (150%)" {
		t.Errorf("valueVsThreshold(150, 100) = %q", got)
	}
	if got := valueVsThreshold(5, 0); got != "5 vs threshold 0" {
		t.Errorf("valueVsThreshold(5, 0) = %q", got)
	}
}

func TestRedacted(t *testing.T) {
	w := Webhook{Name: "slack", URL: "https://hooks.slack.com/services/T0/B0/SECRET", Secret: "k", Headers: map[string]string{"Authorization": "Bearer x"}}
	got := w.Redacted()
	want := Webhook{Name: "slack", URL: "https://hooks.slack.com", Secret: "[redacted]", Headers: map[string]string{"Authorization": "[redacted]"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Redacted (-want +got):\n%s", diff)
	}
	if w.Headers["Authorization"] != "Bearer x" {
		t.Errorf("Redacted changed the original's headers")
	}
}
