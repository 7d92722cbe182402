package alert

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// delivery raises one alert to one webhook, waits for the delivery to end
// and returns its stored state.
func delivery(t *testing.T, e *Engine, ms *MemoryStore) Delivery {
	t.Helper()
	a, _ := raise(t, e, budgetAlert("payments", 120))
	drain(t, e)
	got, ok, err := ms.LastByDedupKey(context.Background(), a.DedupKey)
	if err != nil || !ok || len(got.Deliveries) != 1 {
		t.Fatalf("stored alert = %+v, %v, %v; want one delivery", got, ok, err)
	}
	return got.Deliveries[0]
}

// statuses answers with the given statuses in turn, then 200.
func statuses(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= len(codes) {
			w.WriteHeader(codes[n-1])
			w.Write([]byte("  nope\n"))
		}
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name        string
		codes       []int // answers before a 200
		maxAttempts int
		want        Delivery
		wantSleeps  []time.Duration
	}{
		{
			name: "delivered at once", want: Delivery{State: DeliveryDelivered, Attempts: 1, LastStatus: 200},
			wantSleeps: nil,
		},
		{
			name: "5xx retried until delivered", codes: []int{500, 502, 504},
			want:       Delivery{State: DeliveryDelivered, Attempts: 4, LastStatus: 200},
			wantSleeps: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name: "gives up after 6 attempts", codes: []int{500, 500, 500, 500, 500, 500, 500},
			want:       Delivery{State: DeliveryFailed, Attempts: 6, LastStatus: 500, LastError: "HTTP 500: nope"},
			wantSleeps: []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second},
		},
		{
			name: "backoff capped at a minute", codes: []int{500, 500, 500, 500, 500, 500, 500, 500, 500}, maxAttempts: 9,
			want: Delivery{State: DeliveryFailed, Attempts: 9, LastStatus: 500, LastError: "HTTP 500: nope"},
			wantSleeps: []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
				16 * time.Second, 32 * time.Second, time.Minute, time.Minute},
		},
		{
			name: "429 without Retry-After backs off", codes: []int{429},
			want:       Delivery{State: DeliveryDelivered, Attempts: 2, LastStatus: 200},
			wantSleeps: []time.Duration{time.Second},
		},
		{name: "400 not retried", codes: []int{400},
			want: Delivery{State: DeliveryFailed, Attempts: 1, LastStatus: 400, LastError: "HTTP 400: nope"}},
		{name: "401 not retried", codes: []int{401},
			want: Delivery{State: DeliveryFailed, Attempts: 1, LastStatus: 401, LastError: "HTTP 401: nope"}},
		{name: "404 not retried", codes: []int{404},
			want: Delivery{State: DeliveryFailed, Attempts: 1, LastStatus: 404, LastError: "HTTP 404: nope"}},
		{name: "408 not retried", codes: []int{408},
			want: Delivery{State: DeliveryFailed, Attempts: 1, LastStatus: 408, LastError: "HTTP 408: nope"}},
		{name: "redirect not followed", codes: []int{302},
			want: Delivery{State: DeliveryFailed, Attempts: 1, LastStatus: 302, LastError: "HTTP 302: nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, statuses(tt.codes...))
			e, ms, c := newEngine(t, Options{MaxAttempts: tt.maxAttempts, Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
			got := delivery(t, e, ms)
			tt.want.Webhook = "w"
			if tt.want.State == DeliveryDelivered {
				tt.want.DeliveredAt = c.Now()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("delivery (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSleeps, c.Sleeps()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if n := len(rc.Hits()); n != tt.want.Attempts {
				t.Errorf("receiver got %d requests, want %d", n, tt.want.Attempts)
			}
			for i, h := range rc.Hits() {
				if a := h.header.Get("X-Weir-Delivery-Attempt"); a != string(rune('1'+i)) {
					t.Errorf("request %d: X-Weir-Delivery-Attempt = %q", i+1, a)
				}
			}
		})
	}
}

func TestFullJitter(t *testing.T) {
	// The default jitter stays within [0, cap] and is not constant.
	e, err := New(Options{Store: NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	seen := map[time.Duration]bool{}
	for range 200 {
		d := e.backoff(3)
		if d < 0 || d > 4*time.Second {
			t.Fatalf("backoff(3) = %v, want within [0, 4s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 50 {
		t.Errorf("backoff(3) took only %d distinct values in 200 draws", len(seen))
	}
}

func TestRetryAfter(t *testing.T) {
	// HTTP dates have whole seconds; the fake clock starts at t0.
	retryAt := t0.Add(42 * time.Second).Truncate(time.Second)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		want       Delivery
		wantSleeps []time.Duration
	}{
		{"429 seconds", 429, "7", Delivery{State: DeliveryDelivered, Attempts: 2, LastStatus: 200}, []time.Duration{7 * time.Second}},
		{"503 seconds", 503, "120", Delivery{State: DeliveryDelivered, Attempts: 2, LastStatus: 200}, []time.Duration{2 * time.Minute}},
		{"503 HTTP date", 503, retryAt.Format(http.TimeFormat), Delivery{State: DeliveryDelivered, Attempts: 2, LastStatus: 200}, []time.Duration{retryAt.Sub(t0)}},
		{"429 zero", 429, "0", Delivery{State: DeliveryDelivered, Attempts: 2, LastStatus: 200}, []time.Duration{0}},
		{"429 unparsable falls back to backoff", 429, "soon", Delivery{State: DeliveryDelivered, Attempts: 2, LastStatus: 200}, []time.Duration{time.Second}},
		{"500 ignores Retry-After", 500, "30", Delivery{State: DeliveryDelivered, Attempts: 2, LastStatus: 200}, []time.Duration{time.Second}},
		{"beyond the limit", 429, "3600", Delivery{State: DeliveryFailed, Attempts: 1, LastStatus: 429,
			LastError: "HTTP 429: nope; Retry-After 1h0m0s is beyond the 5m0s this engine waits"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					w.WriteHeader(tt.status)
					w.Write([]byte("nope"))
				}
			})
			e, ms, c := newEngine(t, Options{Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
			got := delivery(t, e, ms)
			tt.want.Webhook = "w"
			if tt.want.State == DeliveryDelivered {
				tt.want.DeliveredAt = c.Now()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("delivery (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSleeps, c.Sleeps()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAttemptTimeout(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}
	})
	e, ms, _ := newEngine(t, Options{AttemptTimeout: 50 * time.Millisecond, Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
	got := delivery(t, e, ms)
	if got.State != DeliveryDelivered || got.Attempts != 2 {
		t.Errorf("delivery = %+v; want delivered on the second attempt", got)
	}
}

func TestTransportErrorHidesURL(t *testing.T) {
	// A port nobody listens on, behind a secret path.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	e, ms, c := newEngine(t, Options{MaxAttempts: 2, Webhooks: []Webhook{{Name: "w", URL: "http://" + addr + "/services/T0/B0/SECRETTOKEN"}}})
	got := delivery(t, e, ms)
	if got.State != DeliveryFailed || got.Attempts != 2 || got.LastStatus != 0 {
		t.Errorf("delivery = %+v; want failed after 2 attempts without a status", got)
	}
	if got.LastError == "" || strings.Contains(got.LastError, "SECRETTOKEN") || strings.Contains(got.LastError, "/services") {
		t.Errorf("LastError = %q; want an error without the URL", got.LastError)
	}
	if diff := cmp.Diff([]time.Duration{time.Second}, c.Sleeps()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestSignatureAndHeaders(t *testing.T) {
	const secret = "s3cr3t"
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {})
	plain := newReceiver(t, nil)
	e, ms, _ := newEngine(t, Options{Webhooks: []Webhook{
		{Name: "signed", URL: rc.URL, Secret: secret, Headers: map[string]string{"Authorization": "Bearer abc", "X-Weir-Signature": "forged"}},
		{Name: "plain", URL: plain.URL, Format: FormatSlack},
	}})
	a, _ := raise(t, e, budgetAlert("payments", 120))
	drain(t, e)

	h := rc.Hits()[0]
	// The receiver checks the signature on its own, as a user would.
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(h.body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if got := h.header.Get(SignatureHeader); got != want {
		t.Errorf("%s = %q, want %q", SignatureHeader, got, want)
	}
	if !Verify(secret, h.body, h.header.Get(SignatureHeader)) || Verify("other", h.body, h.header.Get(SignatureHeader)) {
		t.Errorf("Verify disagrees with the receiver")
	}
	wantBody, _, _ := Body(FormatJSON, a)
	if diff := cmp.Diff(string(wantBody), string(h.body)); diff != "" {
		t.Errorf("delivered body (-want +got):\n%s", diff)
	}
	for k, v := range map[string]string{
		"Content-Type": "application/json", "Authorization": "Bearer abc", "X-Weir-Alert-Id": a.ID,
		"User-Agent": "weir-alert", "X-Weir-Delivery-Attempt": "1",
	} {
		if got := h.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if got := plain.Hits()[0].header.Get(SignatureHeader); got != "" {
		t.Errorf("unsigned webhook got %s: %q", SignatureHeader, got)
	}
	stored, _, _ := ms.LastByDedupKey(context.Background(), a.DedupKey)
	for _, d := range stored.Deliveries {
		if d.State != DeliveryDelivered {
			t.Errorf("%s: %+v, want delivered", d.Webhook, d)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := t0.Truncate(time.Second)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"5", 5 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"99999999999", 24 * time.Hour, true},
		{now.Add(time.Minute).Format(http.TimeFormat), time.Minute, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestBackoffNeverOverflows(t *testing.T) {
	e, _, _ := newEngine(t, Options{MaxBackoff: time.Duration(math.MaxInt64)})
	prev := time.Duration(0)
	for n := 1; n < 100; n++ {
		d := e.backoff(n) // the test jitter returns the cap itself
		if d < prev || d <= 0 {
			t.Fatalf("backoff(%d) = %v after %v", n, d, prev)
		}
		prev = d
	}
}
