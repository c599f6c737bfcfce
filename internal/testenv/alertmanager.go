package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AlertmanagerOptions is how a test's Alertmanager routes what it receives.
type AlertmanagerOptions struct {
	// WebhookURL is where the single receiver posts its notifications,
	// usually an httptest server of the test. Required.
	WebhookURL string
	// GroupBy lists the labels that split alerts into notifications
	// ([alertname, site, sensor] when empty).
	GroupBy []string
	// GroupWait and GroupInterval are the route's timings (1s each when
	// zero), small so that a test sees firing and resolved notifications
	// within seconds.
	GroupWait, GroupInterval time.Duration
}

// Alertmanager is a running Prometheus Alertmanager, for tests of what
// reaches it and what it delivers.
type Alertmanager struct {
	// URL is the API's base, http://127.0.0.1:PORT, as a hazwatch channel's url.
	URL string

	proc *process
}

// StartAlertmanager starts Debian's prometheus-alertmanager on a free
// loopback port with its storage under t.TempDir(), clustering off, and one
// webhook receiver as opts say, and waits until /-/ready answers 200. It is
// stopped in t.Cleanup.
func StartAlertmanager(t testing.TB, opts AlertmanagerOptions) *Alertmanager {
	t.Helper()
	bin := binary(t, "prometheus-alertmanager", "apt-get install prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
	dir := t.TempDir()
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, []byte(alertmanagerConfig(opts)), 0o644); err != nil {
		t.Fatalf("write alertmanager config: %v", err)
	}
	port := FreePort(t)
	am := &Alertmanager{
		URL: "http://" + addr(port),
		proc: &process{
			name: "alertmanager",
			args: []string{bin,
				"--config.file=" + conf,
				"--storage.path=" + filepath.Join(dir, "data"),
				"--web.listen-address=" + addr(port),
				// One instance: no gossip port to collide with other tests.
				"--cluster.listen-address=",
				"--log.level=warn",
			},
			log: filepath.Join(dir, "alertmanager.log"),
		},
	}
	am.proc.start(t, func() error {
		resp, err := http.Get(am.URL + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/-/ready: %s", resp.Status)
		}
		return nil
	})
	t.Cleanup(am.proc.stop)
	return am
}

// alertmanagerConfig is the YAML of one route to one webhook receiver that
// sends resolves and, within a test's time, never repeats.
func alertmanagerConfig(opts AlertmanagerOptions) string {
	groupBy := opts.GroupBy
	if len(groupBy) == 0 {
		groupBy = []string{"alertname", "site", "sensor"}
	}
	wait, interval := opts.GroupWait, opts.GroupInterval
	if wait <= 0 {
		wait = time.Second
	}
	if interval <= 0 {
		interval = time.Second
	}
	return fmt.Sprintf(`route:
  receiver: test
  group_by: [%s]
  group_wait: %s
  group_interval: %s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: %q
        send_resolved: true
`, strings.Join(groupBy, ", "), promDuration(wait), promDuration(interval), opts.WebhookURL)
}

// promDuration writes d in Prometheus' duration syntax, whole milliseconds.
func promDuration(d time.Duration) string {
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// AlertmanagerAlert is one alert as GET /api/v2/alerts lists it.
type AlertmanagerAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
	Status   struct {
		State string `json:"state"` // active, suppressed or unprocessed
	} `json:"status"`
}

// Alerts returns the alerts Alertmanager holds that have not ended, or fails
// the test.
func (am *Alertmanager) Alerts(t testing.TB) []AlertmanagerAlert {
	t.Helper()
	resp, err := http.Get(am.URL + "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true")
	if err != nil {
		t.Fatalf("list alertmanager alerts: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list alertmanager alerts: %s", resp.Status)
	}
	var out []AlertmanagerAlert
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode alertmanager alerts: %v", err)
	}
	return out
}

// Log returns the end of Alertmanager's output, for failure messages.
func (am *Alertmanager) Log() string { return am.proc.output() }
