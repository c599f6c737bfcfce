package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"hazwatch/internal/testenv"
)

// amNotification is the part of Alertmanager's webhook body the test reads.
type amNotification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// amReceiver records the notifications Alertmanager delivers.
type amReceiver struct {
	URL string

	mu   sync.Mutex
	got  []amNotification
	errs []string
}

func newAMReceiver(t *testing.T) *amReceiver {
	t.Helper()
	rc := &amReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n amNotification
		err := json.NewDecoder(r.Body).Decode(&n)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil {
			rc.errs = append(rc.errs, err.Error())
			return
		}
		rc.got = append(rc.got, n)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// count returns how many notifications of status carried an alert of sensor.
func (rc *amReceiver) count(status, sensor string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, note := range rc.got {
		for _, a := range note.Alerts {
			if note.Status == status && a.Status == status && a.Labels["sensor"] == sensor {
				n++
			}
		}
	}
	return n
}

// amGroupInterval is the Alertmanager route's group_wait and group_interval.
const amGroupInterval = time.Second

// TestAlertmanager_TwoReplicasOneNotification: two daemons evaluating the
// same feed both post the alert to one Alertmanager, which delivers one
// firing and one resolved notification, not two of each.
func TestAlertmanager_TwoReplicasOneNotification(t *testing.T) {
	t.Parallel() // each test has its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	rc := newAMReceiver(t)
	am := testenv.StartAlertmanager(t, testenv.AlertmanagerOptions{
		WebhookURL: rc.URL, GroupBy: []string{"alertname", "site", "sensor"},
		GroupWait: amGroupInterval, GroupInterval: amGroupInterval,
	})
	var replicas []*testenv.Daemon
	for _, name := range []string{"replica-a", "replica-b"} {
		p := s.params(t) // its own MQTT client id and HTTP port
		p.DataDir = filepath.Join(s.Dir, name)
		cfg := notifyConfig(t, t.TempDir(), "alertmanager.yaml", p)
		replicas = append(replicas, testenv.Hazwatch(t, hazwatchBin, cfg, p.HTTP, "ALERTMANAGER_URL="+am.URL))
	}
	pub := newPublisher(t, s.Broker.URL)
	topic := detectorTopic("hx-chem-01", "GT-03")

	pub.PublishValue(t, topic, time.Now(), 60)
	bothPosted := func(n float64) func() bool {
		return func() bool {
			for _, d := range replicas {
				if v, _ := metricValue(t, d.HTTP, `hazwatch_notifications_total{channel="am",result="sent"}`); v < n {
					return false
				}
			}
			return true
		}
	}
	replicas[0].WaitFor("both replicas post the firing alert", waitTimeout, bothPosted(1))
	replicas[0].WaitFor("Alertmanager delivers the firing alert", waitTimeout, func() bool { return rc.count("firing", "GT-03") > 0 })
	// A second delivery would come at the latest one group interval after
	// the later post; wait out two.
	if testenv.Eventually(2*amGroupInterval, func() bool { return rc.count("firing", "GT-03") > 1 }) {
		t.Fatalf("firing notifications = %d, want 1\n%s", rc.count("firing", "GT-03"), am.Log())
	}
	if alerts := am.Alerts(t); len(alerts) != 1 || alerts[0].Labels["sensor"] != "GT-03" || alerts[0].Labels["level"] != "red" {
		t.Fatalf("Alertmanager holds %+v, want one red alert of GT-03", alerts)
	}

	pub.PublishValue(t, topic, time.Now(), 5)
	replicas[0].WaitFor("both replicas post the resolve", waitTimeout, bothPosted(2))
	replicas[0].WaitFor("Alertmanager delivers the resolve", waitTimeout, func() bool { return rc.count("resolved", "GT-03") > 0 })
	if testenv.Eventually(2*amGroupInterval, func() bool { return rc.count("resolved", "GT-03") > 1 }) {
		t.Fatalf("resolved notifications = %d, want 1", rc.count("resolved", "GT-03"))
	}
	if alerts := am.Alerts(t); len(alerts) != 0 {
		t.Fatalf("Alertmanager still holds %+v after the resolve", alerts)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) > 0 {
		t.Fatalf("undecodable notifications: %v", rc.errs)
	}
}
