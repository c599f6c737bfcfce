package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"text/template"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"hazwatch/alerting/notify/channels"
	"hazwatch/internal/testenv"
)

// waitTimeout bounds every wait of the daemon tests on something the daemon
// does: a webhook, a point in InfluxDB, a log line.
const waitTimeout = 30 * time.Second

// webhookSecret signs the test configs' webhook channel.
const webhookSecret = "test-webhook-secret"

// stack is what a daemon test runs against: a real broker, a real InfluxDB
// and a webhook receiver, with a directory for the config and the daemon's
// data.
type stack struct {
	Broker *testenv.Broker
	Influx *testenv.Influx
	Hook   *webhookReceiver
	Dir    string
}

// newStack starts Mosquitto, InfluxDB and a webhook receiver for t.
func newStack(t *testing.T) *stack {
	t.Helper()
	return &stack{
		Broker: testenv.Mosquitto(t),
		Influx: testenv.InfluxDB(t),
		Hook:   newWebhookReceiver(t, webhookSecret),
		Dir:    t.TempDir(),
	}
}

// configParams are the values a config template refers to.
type configParams struct {
	MQTTURL       string // {{.MQTTURL}}
	ClientID      string // {{.ClientID}}, unique per test so sessions do not mix
	InfluxURL     string // {{.InfluxURL}}
	Bucket        string // {{.Bucket}}
	DataDir       string // {{.DataDir}}
	HTTP          string // {{.HTTP}}, a free loopback host:port
	WebhookURL    string // {{.WebhookURL}}
	WebhookSecret string // {{.WebhookSecret}}
}

// params returns the template values for s, with a fresh HTTP port.
func (s *stack) params(t *testing.T) configParams {
	t.Helper()
	return configParams{
		MQTTURL:       s.Broker.URL,
		ClientID:      fmt.Sprintf("hazwatch-test-%d", testenv.FreePort(t)),
		InfluxURL:     s.Influx.URL,
		Bucket:        s.Influx.Bucket,
		DataDir:       filepath.Join(s.Dir, "data"),
		HTTP:          fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
		WebhookURL:    s.Hook.URL,
		WebhookSecret: webhookSecret,
	}
}

// writeConfig renders the text/template tmpl with p into path, replacing the
// file in one rename so that a watching daemon never reads half of it.
func writeConfig(t *testing.T, path, tmpl string, p configParams) {
	t.Helper()
	tp, err := template.New(filepath.Base(path)).Option("missingkey=error").Parse(tmpl)
	if err != nil {
		t.Fatalf("parse config template: %v", err)
	}
	var buf bytes.Buffer
	if err := tp.Execute(&buf, p); err != nil {
		t.Fatalf("render config template: %v", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		t.Fatalf("write config: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatalf("replace config: %v", err)
	}
}

// publisher publishes test messages to the broker at QoS 1.
type publisher struct {
	client mqtt.Client
}

// newPublisher connects a publisher to brokerURL; it disconnects in t.Cleanup.
func newPublisher(t *testing.T, brokerURL string) *publisher {
	t.Helper()
	opts := mqtt.NewClientOptions().
		AddBroker(brokerURL).
		SetClientID(fmt.Sprintf("test-publisher-%d", testenv.FreePort(t))).
		SetCleanSession(true).
		SetAutoReconnect(true)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("connect publisher to %s: %v", brokerURL, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	return &publisher{client: c}
}

// Publish sends payload to topic at QoS 1 and waits for the broker's PUBACK.
func (p *publisher) Publish(t *testing.T, topic, payload string) {
	t.Helper()
	tok := p.client.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(waitTimeout) {
		t.Fatalf("publish to %s: no PUBACK within %s", topic, waitTimeout)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("publish to %s: %v", topic, err)
	}
}

// PublishValue sends one JSON reading {"ts": <ms>, "v": v} to topic.
func (p *publisher) PublishValue(t *testing.T, topic string, at time.Time, v float64) {
	t.Helper()
	p.Publish(t, topic, fmt.Sprintf(`{"ts": %d, "v": %g}`, at.UnixMilli(), v))
}

// hookAlert is one alert of a webhook body as SPEC §6 defines it, decoded on
// the receiving side independently of the channel's own types.
type hookAlert struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Level      string    `json:"level"`
	Rule       string    `json:"rule"`
	Type       string    `json:"type"`
	Site       string    `json:"site"`
	SiteName   string    `json:"site_name"`
	Kind       string    `json:"kind"`
	Sensor     string    `json:"sensor"`
	SensorName string    `json:"sensor_name"`
	Value      float64   `json:"value"`
	Threshold  float64   `json:"threshold"`
	Unit       string    `json:"unit"`
	StartedAt  time.Time `json:"started_at"`
	At         time.Time `json:"at"`
	ETASeconds *int64    `json:"eta_seconds"`
	Message    string    `json:"message"`
	// NotificationID is the notification's idempotency key: the body's
	// notification_id, or the X-Hazwatch-Notification-Id header; the
	// same when a crash makes hazwatch send the notification again.
	NotificationID string `json:"notification_id"`
}

// webhookReceiver is a local HTTP server standing in for a monitoring
// center's webhook endpoint. It verifies each request's signature and
// records the alerts of the valid ones in arrival order.
type webhookReceiver struct {
	URL string

	secret string
	mu     sync.Mutex
	alerts []hookAlert
	bodies []int    // alerts per accepted request, in arrival order
	bad    []string // why requests were refused
}

// newWebhookReceiver starts a receiver checking signatures with secret; it
// is closed in t.Cleanup.
func newWebhookReceiver(t *testing.T, secret string) *webhookReceiver {
	t.Helper()
	h := &webhookReceiver{secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/hazwatch"
	return h
}

func (h *webhookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = channels.VerifyWebhook(h.secret, r, body)
	}
	var alerts []hookAlert
	if err == nil {
		alerts, err = decodeHookBody(body)
	}
	if err == nil {
		err = notificationIDs(alerts, r.Header.Get(headerNotificationID))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.bad = append(h.bad, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.alerts = append(h.alerts, alerts...)
	h.bodies = append(h.bodies, len(alerts))
}

// headerNotificationID carries a webhook notification's idempotency key.
const headerNotificationID = "X-Hazwatch-Notification-Id"

// notificationIDs gives alerts without a notification_id of their own the
// one of the header, and refuses a body whose id differs from the header's.
func notificationIDs(alerts []hookAlert, header string) error {
	for i := range alerts {
		switch id := alerts[i].NotificationID; {
		case id == "":
			alerts[i].NotificationID = header
		case header != "" && id != header:
			return fmt.Errorf("notification_id %q in the body, %q in %s", id, header, headerNotificationID)
		}
	}
	return nil
}

// decodeHookBody reads one alert object, or a group {"alerts": [...]}
// whose notification_id is given to each of its alerts.
func decodeHookBody(body []byte) ([]hookAlert, error) {
	var group struct {
		NotificationID string      `json:"notification_id"`
		Alerts         []hookAlert `json:"alerts"`
	}
	if err := json.Unmarshal(body, &group); err != nil {
		return nil, fmt.Errorf("decode webhook body: %w", err)
	}
	if group.Alerts != nil {
		return group.Alerts, notificationIDs(group.Alerts, group.NotificationID)
	}
	var one hookAlert
	if err := json.Unmarshal(body, &one); err != nil {
		return nil, fmt.Errorf("decode webhook body: %w", err)
	}
	return []hookAlert{one}, nil
}

// Alerts returns a copy of the alerts received so far, in arrival order.
func (h *webhookReceiver) Alerts() []hookAlert {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookAlert(nil), h.alerts...)
}

// Bodies returns how many alerts each accepted request carried.
func (h *webhookReceiver) Bodies() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.bodies...)
}

// Refused returns why requests were refused (bad signature, bad body).
func (h *webhookReceiver) Refused() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bad...)
}

// Matching returns the received alerts for which keep reports true.
func (h *webhookReceiver) Matching(keep func(hookAlert) bool) []hookAlert {
	var out []hookAlert
	for _, a := range h.Alerts() {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out
}

// ofRule keeps the alerts of one rule and status ("" for any status).
func ofRule(rule, status string) func(hookAlert) bool {
	return func(a hookAlert) bool { return a.Rule == rule && (status == "" || a.Status == status) }
}

// getDaemon returns the body of GET path on the daemon's HTTP listener,
// failing the test unless it answers 200.
func getDaemon(t *testing.T, httpAddr, path string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + path)
	if err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("get %s: %s %v: %s", path, resp.Status, err, body)
	}
	return body
}

// activeAlerts returns the daemon's GET /api/v1/alerts, which has the shape
// of a grouped webhook body.
func activeAlerts(t *testing.T, httpAddr string) []hookAlert {
	t.Helper()
	alerts, err := decodeHookBody(getDaemon(t, httpAddr, "/api/v1/alerts"))
	if err != nil {
		t.Fatalf("/api/v1/alerts: %v", err)
	}
	return alerts
}

// metricValue fetches the daemon's /metrics and returns the value of the
// sample written exactly as series (name{labels}), and whether it is there.
func metricValue(t *testing.T, httpAddr, series string) (float64, bool) {
	t.Helper()
	for _, line := range bytes.Split(getDaemon(t, httpAddr, "/metrics"), []byte("\n")) {
		var v float64
		rest, ok := bytes.CutPrefix(line, []byte(series+" "))
		if ok {
			if _, err := fmt.Sscan(string(rest), &v); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}
