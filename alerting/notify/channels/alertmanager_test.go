package channels

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// amAlert is the part of a postable alert the tests look at.
type amAlert struct {
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
}

func postToAlertmanager(t *testing.T, m *notify.Message) []amAlert {
	t.Helper()
	srv, got := receiver(t, http.StatusOK, "")
	ch := newTestChannel(t, configs.Channel{Type: configs.ChannelAlertmanager, URL: srv.URL + "/"}, srv)
	if retry, err := ch.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: retry=%v err=%v", retry, err)
	}
	r := received(t, got)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %q, want POST /api/v2/alerts JSON", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	var alerts []amAlert
	if err := json.Unmarshal(r.body, &alerts); err != nil {
		t.Fatalf("body is not a JSON array of alerts: %v\n%s", err, r.body)
	}
	return alerts
}

func TestAlertmanager_FiringAlert(t *testing.T) {
	alerts := postToAlertmanager(t, &notify.Message{Alerts: []alerting.Event{gasAlert()}})
	if len(alerts) != 1 {
		t.Fatalf("posted %d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	wantLabels := map[string]string{
		"alertname": "gas-lel", "alert_id": "gas-lel/hx-chem-01/gas_lel/GT-03", "level": "red", "severity": "critical",
		"site": "hx-chem-01", "kind": "gas_lel", "sensor": "GT-03", "rule_type": "threshold", "source": "hazwatch", "measurement": "gas",
	}
	if len(a.Labels) != len(wantLabels) {
		t.Errorf("labels %v, want %v", a.Labels, wantLabels)
	}
	for k, v := range wantLabels {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, a.Labels[k], v)
		}
	}
	wantAnn := map[string]string{
		"summary": gasAlert().Message, "site_name": "华兴化工", "sensor_name": "3号罐区可燃气体", "value": "52.1%LEL", "threshold": "50%LEL",
	}
	for k, v := range wantAnn {
		if a.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, a.Annotations[k], v)
		}
	}
	if !a.StartsAt.Equal(gasAlert().StartedAt) || !a.EndsAt.Equal(now.Add(alertmanagerHold)) {
		t.Errorf("startsAt %v endsAt %v, want the alert's start and the clock + %v", a.StartsAt, a.EndsAt, alertmanagerHold)
	}
	if a.GeneratorURL != "http://hazwatch.example:9108/api/v1/alerts?site=hx-chem-01" {
		t.Errorf("generatorURL %q", a.GeneratorURL)
	}
}

func TestAlertmanager_ResolvedEndsAtItsTime(t *testing.T) {
	e := gasAlert()
	e.Status, e.At = alerting.StatusResolved, e.At.Add(10*time.Minute)
	alerts := postToAlertmanager(t, &notify.Message{Alerts: []alerting.Event{e}})
	if len(alerts) != 1 || !alerts[0].EndsAt.Equal(e.At) || alerts[0].Labels["level"] != "red" {
		t.Errorf("posted %+v, want one red alert ending at %v", alerts, e.At)
	}
}

func TestAlertmanager_LevelChangeResolvesThePreviousLevel(t *testing.T) {
	e := gasAlert()
	e.Previous = configs.LevelYellow
	alerts := postToAlertmanager(t, &notify.Message{Alerts: []alerting.Event{e}})
	if len(alerts) != 2 {
		t.Fatalf("posted %d alerts, want the red one and the yellow one resolved", len(alerts))
	}
	if alerts[0].Labels["level"] != "red" || !alerts[0].EndsAt.After(now) {
		t.Errorf("first %+v, want red and firing", alerts[0])
	}
	if alerts[1].Labels["level"] != "yellow" || alerts[1].Labels["severity"] != "warning" || !alerts[1].EndsAt.Equal(e.At) {
		t.Errorf("second %+v, want yellow ending at %v", alerts[1], e.At)
	}
	if alerts[0].Labels["alert_id"] != alerts[1].Labels["alert_id"] {
		t.Error("the two levels of one alert have different alert ids")
	}
}

// TestAlertmanager_ReplicasPostIdenticalLabels is the point of the channel:
// two replicas, with different clocks, must produce the same label sets so
// that Alertmanager keeps one alert.
func TestAlertmanager_ReplicasPostIdenticalLabels(t *testing.T) {
	a := &alertmanager{}
	e := gasAlert()
	one := a.postable(&e, now)
	two := a.postable(&e, now.Add(3*time.Second))
	if len(one) != len(two) {
		t.Fatalf("replicas posted %d and %d alerts", len(one), len(two))
	}
	for i := range one {
		for k, v := range one[i].Labels {
			if two[i].Labels[k] != v {
				t.Errorf("label %s: %q and %q", k, v, two[i].Labels[k])
			}
		}
		if !one[i].StartsAt.Equal(two[i].StartsAt) {
			t.Error("startsAt differs between replicas")
		}
	}
}
