package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

const token = "s3cret-token"

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

type fakeAlerts []alerting.Event

func (f fakeAlerts) Active() []alerting.Event { return f }

// fakeNotifier keeps acks and silences in memory.
type fakeNotifier struct {
	mu       sync.Mutex
	acks     map[string]notify.Ack
	silences []notify.Silence
	next     int
}

func (f *fakeNotifier) Ack(id, operator, comment string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acks[id] = notify.Ack{ID: id, Operator: operator, Comment: comment}
	return nil
}

func (f *fakeNotifier) AckOf(id string) (notify.Ack, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.acks[id]
	return a, ok
}

// counts returns how many acks and silences f holds.
func (f *fakeNotifier) counts() (acks, silences int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.acks), len(f.silences)
}

func (f *fakeNotifier) Silenced(ev alerting.Event) bool {
	return ev.Site == "underpass-07"
}

func (f *fakeNotifier) AddSilence(s notify.Silence) (string, error) {
	if len(s.Match) == 0 || !s.To.After(s.From) {
		return "", notify.ErrBadSilence
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	s.ID = "s" + string(rune('0'+f.next))
	f.silences = append(f.silences, s)
	return s.ID, nil
}

func (f *fakeNotifier) Silences() []notify.Silence {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.silences)
}

func (f *fakeNotifier) DeleteSilence(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id == "config-0" {
		return notify.ErrConfigSilence
	}
	for i, s := range f.silences {
		if s.ID == id {
			f.silences = slices.Delete(f.silences, i, i+1)
			return nil
		}
	}
	return notify.ErrUnknownSilence
}

func active() fakeAlerts {
	ev := func(id, site, kind, rule string, level configs.Level) alerting.Event {
		return alerting.Event{ID: id, Status: alerting.StatusFiring, Level: level, Rule: rule, Type: configs.TypeThreshold,
			Site: site, Kind: kind, Sensor: "S1", StartedAt: t0, At: t0, Value: 1}
	}
	return fakeAlerts{
		ev("gas-1", "hx-chem-01", "gas_lel", "gas-lel", configs.LevelRed),
		ev("tank-1", "hx-chem-01", "tank_level", "tank-high", configs.LevelYellow),
		ev("flood-1", "underpass-07", "water_level", "flood", configs.LevelOrange),
	}
}

func newServer(t testing.TB, tok string) (*httptest.Server, *fakeNotifier) {
	t.Helper()
	n := &fakeNotifier{acks: map[string]notify.Ack{}}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "hazwatch_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Inc()
	srv := httptest.NewServer(New(Options{
		Gatherer: reg, Alerts: active(), Dispatcher: n, Token: tok,
		Clock:  func() time.Time { return t0 },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

// do sends a request, with the bearer token auth unless it is empty, and
// returns the status and body.
func do(t *testing.T, srv *httptest.Server, method, path, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAPI_WritesNeedTheToken(t *testing.T) {
	writes := []struct{ method, path, body string }{
		{"POST", "/api/v1/alerts/gas-1/ack", `{"operator":"张工"}`},
		{"POST", "/api/v1/silences", `{"match":{"site":"hx-chem-01"},"to":"2026-11-28T12:00:00Z"}`},
		{"DELETE", "/api/v1/silences/config-0", ``},
	}
	tests := []struct {
		name       string
		configured string
		auth       string
		want       int
	}{
		{"no token sent", token, "", http.StatusUnauthorized},
		{"wrong token", token, "s3cret-tokem", http.StatusUnauthorized},
		{"token prefix only", token, "s3cret", http.StatusUnauthorized},
		{"no token configured", "", token, http.StatusForbidden},
	}
	// Issue 10 item 12: the auth scheme is case-insensitive (RFC 9110 §11.1).
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		srv, _ := newServer(t, token)
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/alerts/gas-1/ack", strings.NewReader(`{"operator":"张工"}`))
		req.Header.Set("Authorization", scheme+" "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Authorization %q: status %d, want 200", scheme+" …", resp.StatusCode)
		}
	}
	for _, tt := range tests {
		for _, w := range writes {
			t.Run(tt.name+" "+w.method+" "+w.path, func(t *testing.T) {
				srv, n := newServer(t, tt.configured)
				if status, body := do(t, srv, w.method, w.path, tt.auth, w.body); status != tt.want {
					t.Errorf("status %d (%s), want %d", status, body, tt.want)
				}
				if acks, silences := n.counts(); acks != 0 || silences != 0 {
					t.Errorf("changed without authorization: %d acks, %d silences", acks, silences)
				}
			})
		}
	}
}

func TestAPI_AckRecordsOperatorAndComment(t *testing.T) {
	tests := []struct {
		name, path, body string
		want             int
	}{
		{"acked", "/api/v1/alerts/gas-1/ack", `{"operator":"张工","comment":"已派人检查"}`, http.StatusOK},
		{"unknown alert", "/api/v1/alerts/nope/ack", `{"operator":"张工"}`, http.StatusNotFound},
		{"no operator", "/api/v1/alerts/gas-1/ack", `{"comment":"x"}`, http.StatusBadRequest},
		{"bad JSON", "/api/v1/alerts/gas-1/ack", `{"operator":`, http.StatusBadRequest},
		{"unknown field", "/api/v1/alerts/gas-1/ack", `{"operater":"张工"}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := newServer(t, token)
			status, body := do(t, srv, "POST", tt.path, token, tt.body)
			if status != tt.want {
				t.Fatalf("status %d (%s), want %d", status, body, tt.want)
			}
			_, acked := n.AckOf("gas-1")
			if acked != (tt.want == http.StatusOK) {
				t.Fatalf("acked = %v after status %d", acked, status)
			}
			if !acked {
				return
			}
			var got alertJSON
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if !got.Acked || got.AckedBy != "张工" || got.AckComment != "已派人检查" {
				t.Errorf("answer %+v", got)
			}
		})
	}
}

func TestAPI_AlertsFilters(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"gas-1", "flood-1", "tank-1"}},
		{"?level=red", []string{"gas-1"}},
		{"?level=red,orange", []string{"gas-1", "flood-1"}},
		{"?level=red&level=yellow", []string{"gas-1", "tank-1"}},
		{"?site=hx-chem-01", []string{"gas-1", "tank-1"}},
		{"?site=hx-chem-01&kind=tank_level", []string{"tank-1"}},
		{"?rule=flood", []string{"flood-1"}},
		{"?kind=none", []string{}},
	}
	srv, _ := newServer(t, token)
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, body := do(t, srv, "GET", "/api/v1/alerts"+tt.query, "", "")
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var got alertsBody
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, a := range got.Alerts {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("alerts %v, want %v (most severe first)", ids, tt.want)
			}
		})
	}
	if status, _ := do(t, srv, "GET", "/api/v1/alerts?level=purple", "", ""); status != http.StatusBadRequest {
		t.Errorf("unknown level: status %d, want 400", status)
	}
}

func TestAPI_AlertJSONHasWebhookFieldsAndState(t *testing.T) {
	srv, n := newServer(t, token)
	if err := n.Ack("flood-1", "王工", "泵已启动"); err != nil {
		t.Fatal(err)
	}
	_, body := do(t, srv, "GET", "/api/v1/alerts?rule=flood", "", "")
	var raw struct {
		Alerts []map[string]any `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Alerts) != 1 {
		t.Fatalf("body %s", body)
	}
	got := raw.Alerts[0]
	for _, key := range []string{"id", "status", "level", "rule", "type", "site", "site_name", "kind", "sensor",
		"sensor_name", "value", "threshold", "unit", "started_at", "at", "eta_seconds", "message"} {
		if _, ok := got[key]; !ok {
			t.Errorf("no %q in %s", key, body)
		}
	}
	if got["level"] != "orange" || got["acked"] != true || got["acked_by"] != "王工" || got["ack_comment"] != "泵已启动" || got["silenced"] != true {
		t.Errorf("state fields in %s", body)
	}
	if got["eta_seconds"] != nil || got["started_at"] != "2026-11-28T10:00:00Z" {
		t.Errorf("eta or times in %s", body)
	}
}

func TestAPI_SilencesCRUD(t *testing.T) {
	srv, n := newServer(t, token)
	status, body := do(t, srv, "POST", "/api/v1/silences", token,
		`{"match":{"site":"underpass-07","kind":["water_level","pump"]},"to":"2026-11-28T20:00:00+08:00","comment":"隧道排水泵检修","created_by":"李工"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	var created silenceCreated
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.ID == "" {
		t.Fatalf("create answer %s (%v)", body, err)
	}
	s := n.Silences()[0]
	if !s.From.Equal(t0) || !s.To.Equal(t0.Add(2*time.Hour)) || !slices.Equal(s.Match["kind"], []string{"water_level", "pump"}) || s.CreatedBy != "李工" {
		t.Errorf("stored silence %+v", s)
	}

	_, body = do(t, srv, "GET", "/api/v1/silences", "", "")
	var list silencesBody
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Silences) != 1 || list.Silences[0].ID != created.ID {
		t.Errorf("list %s (%v)", body, err)
	}

	bad := []string{`{"match":{},"to":"2026-11-28T16:00:00Z"}`, `{"match":{"site":"x"}}`, `{"match":{"site":1},"to":"2026-11-28T16:00:00Z"}`}
	for _, b := range bad {
		if status, body := do(t, srv, "POST", "/api/v1/silences", token, b); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", b, status, body)
		}
	}

	deletes := []struct {
		id   string
		want int
	}{{created.ID, http.StatusNoContent}, {created.ID, http.StatusNotFound}, {"config-0", http.StatusConflict}}
	for _, d := range deletes {
		if status, body := do(t, srv, "DELETE", "/api/v1/silences/"+d.id, token, ""); status != d.want {
			t.Errorf("delete %s: %d %s, want %d", d.id, status, body, d.want)
		}
	}
	if left := n.Silences(); len(left) != 0 {
		t.Errorf("left %v", left)
	}
}

func TestAPI_HealthReadyMetrics(t *testing.T) {
	notReady := errors.New("influxdb unreachable")
	var ready atomic.Pointer[error]
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "hazwatch_test_total", Help: "A test counter."}))
	srv := httptest.NewServer(New(Options{Gatherer: reg, Ready: func() error { return *ready.Load() }}))
	t.Cleanup(srv.Close)
	tests := []struct {
		path     string
		ready    error
		status   int
		contains string
	}{
		{"/healthz", notReady, 200, "ok"},
		{"/readyz", nil, 200, "ok"},
		{"/readyz", notReady, 503, "influxdb unreachable"},
		{"/metrics", nil, 200, "hazwatch_test_total 0"},
	}
	for _, tt := range tests {
		ready.Store(&tt.ready)
		status, body := do(t, srv, "GET", tt.path, "", "")
		if status != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("%s: %d %q, want %d containing %q", tt.path, status, body, tt.status, tt.contains)
		}
	}
}

// TestAPI_BadTokenWarningsAreRateLimited is issue 10 item 17: 300 requests
// with a bad token made 300 log lines.
func TestAPI_BadTokenWarningsAreRateLimited(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	srv := httptest.NewServer(New(Options{Dispatcher: &fakeNotifier{acks: map[string]notify.Ack{}}, Token: token,
		Logger: slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logs.Write(p)
		}), nil))}))
	t.Cleanup(srv.Close)
	for range 300 {
		if status, _ := do(t, srv, "POST", "/api/v1/alerts/gas-1/ack", "wrong", `{"operator":"x"}`); status != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "unauthorized API write"); n < 1 || n > 2 {
		t.Fatalf("%d log lines for 300 refused requests, want one (two if a second passed):\n%s", n, logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
