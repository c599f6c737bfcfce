package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hazwatch/internal/testenv"
)

// apiToken is http.token in testdata/notify/base.yaml.
const apiToken = "test-api-token"

// Modes of a gatedHook.
const (
	hookAccept int32 = iota // verify, record and answer 200
	hookRefuse              // answer 503, as a receiver that is down
	hookHang                // answer nothing until the test ends
)

// gatedHook is a webhook receiver whose answer a test switches: accepting
// (then it records like webhookReceiver), refusing with 503, or hanging.
// It also counts requests, since a grouped send is one request.
type gatedHook struct {
	URL string

	hook     webhookReceiver
	mode     atomic.Int32
	requests atomic.Int64
	refused  atomic.Int64
	release  chan struct{}
	mu       sync.Mutex
	bodies   []int // alerts per accepted request, in arrival order
}

// newGatedHook starts a receiver in mode; it is closed in t.Cleanup, after
// its hanging requests are let go.
func newGatedHook(t *testing.T, mode int32) *gatedHook {
	t.Helper()
	g := &gatedHook{hook: webhookReceiver{secret: webhookSecret}, release: make(chan struct{})}
	g.mode.Store(mode)
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	// Cleanups run last-in first-out: release the hanging handlers, then close.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(g.release) })
	g.URL = srv.URL + "/hazwatch"
	return g
}

func (g *gatedHook) serve(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	switch g.mode.Load() {
	case hookRefuse:
		g.refused.Add(1)
		http.Error(w, "receiver down", http.StatusServiceUnavailable)
		return
	case hookHang:
		select {
		case <-g.release:
		case <-r.Context().Done():
		}
		return
	}
	before := len(g.hook.Alerts())
	g.hook.serve(w, r)
	g.mu.Lock()
	g.bodies = append(g.bodies, len(g.hook.Alerts())-before)
	g.mu.Unlock()
}

// Bodies returns how many alerts each accepted request carried.
func (g *gatedHook) Bodies() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.bodies...)
}

// count returns how many received alerts keep reports true for.
func (g *gatedHook) count(keep func(hookAlert) bool) int { return len(g.hook.Matching(keep)) }

// ofSensor keeps the alerts of one sensor and status ("" for any status).
func ofSensor(sensor, status string) func(hookAlert) bool {
	return func(a hookAlert) bool { return a.Sensor == sensor && (status == "" || a.Status == status) }
}

// notifyConfig writes testdata/notify/base.yaml followed by the notify
// part name, rendered with p, into dir and returns its path.
func notifyConfig(t *testing.T, dir, name string, p configParams) string {
	t.Helper()
	var tmpl bytes.Buffer
	for _, f := range []string{"base.yaml", name} {
		b, err := os.ReadFile(filepath.Join("testdata", "notify", f))
		if err != nil {
			t.Fatalf("read config template: %v", err)
		}
		tmpl.Write(b)
	}
	path := filepath.Join(dir, name)
	writeConfig(t, path, tmpl.String(), p)
	return path
}

// detectorTopic is the topic of a combustible gas detector of site.
func detectorTopic(site, sensor string) string { return "sensors/" + site + "/gas_lel/" + sensor }

// postAPI sends an API write with body and, unless token is empty, the
// bearer token; it returns the status code.
func postAPI(t *testing.T, method, httpAddr, path, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+httpAddr+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// alertID returns the id of the daemon's active alert of rule on sensor,
// waiting for it to appear.
func alertID(t *testing.T, d *testenv.Daemon, rule, sensor string) string {
	t.Helper()
	var id string
	d.WaitFor(rule+" active on "+sensor, waitTimeout, func() bool {
		for _, a := range activeAlerts(t, d.HTTP) {
			if a.Rule == rule && a.Sensor == sensor {
				id = a.ID
				return true
			}
		}
		return false
	})
	return id
}

// TestOutbox_RestartDeliversEachNotificationOnce: notifications refused by
// a receiver that is down survive a SIGTERM and a restart of the daemon and
// arrive exactly once when it is back; a second restart sends none again.
func TestOutbox_RestartDeliversEachNotificationOnce(t *testing.T) {
	s := newStack(t)
	hook := newGatedHook(t, hookRefuse)
	p := s.params(t)
	p.WebhookURL = hook.URL
	cfg := notifyConfig(t, s.Dir, "outbox.yaml", p)
	d := testenv.Hazwatch(t, hazwatchBin, cfg, p.HTTP)
	pub := newPublisher(t, s.Broker.URL)

	sensors := []string{"GT-01", "GT-02", "GT-03"}
	for _, sensor := range sensors {
		pub.PublishValue(t, detectorTopic("hx-chem-01", sensor), time.Now(), 60)
	}
	// Each of the three firing notifications fails, and some are retried.
	d.WaitFor("the receiver refuses retries", waitTimeout, func() bool { return hook.refused.Load() >= 5 })
	d.Stop()

	// GT-03 clears while the daemon is down: the broker keeps the reading
	// for the daemon's persistent session.
	pub.PublishValue(t, detectorTopic("hx-chem-01", "GT-03"), time.Now(), 5)
	hook.mode.Store(hookAccept)
	d.Start()
	d.WaitFor("three firing and GT-03's resolve delivered", waitTimeout, func() bool {
		return hook.count(func(a hookAlert) bool { return a.Status == "firing" }) >= 3 &&
			hook.count(ofSensor("GT-03", "resolved")) >= 1
	})
	for _, sensor := range sensors[:2] {
		pub.PublishValue(t, detectorTopic("hx-chem-01", sensor), time.Now(), 5)
	}
	d.WaitFor("every resolve delivered", waitTimeout, func() bool {
		return hook.count(func(a hookAlert) bool { return a.Status == "resolved" }) >= 3
	})

	// Nothing is pending now, so a restart sends nothing again; a new alert
	// delivered afterwards shows the restarted daemon sending. (SIGTERM: after
	// a SIGKILL the broker redelivers readings not yet stored, and the alert
	// state saved before them can resolve an alert a second time.)
	d.Stop()
	d.Start()
	pub.PublishValue(t, detectorTopic("hx-chem-01", "GT-99"), time.Now(), 60)
	d.WaitFor("GT-99 delivered after the second restart", waitTimeout, func() bool {
		return hook.count(ofSensor("GT-99", "firing")) == 1
	})

	seen := map[string]int{}
	for _, a := range hook.hook.Alerts() {
		seen[fmt.Sprintf("%s %s %s", a.ID, a.Status, a.Level)]++
	}
	if len(seen) != 7 {
		t.Errorf("distinct notifications = %d, want 7 (3 firing, 3 resolved, GT-99): %v", len(seen), seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("notification %q arrived %d times, want once", k, n)
		}
	}
	if bad := hook.hook.Refused(); len(bad) > 0 {
		t.Errorf("requests with a bad signature or body: %v", bad)
	}
}
