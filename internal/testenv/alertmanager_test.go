package testenv

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAlertmanager_DeliversPostedAlertToWebhook(t *testing.T) {
	got := make(chan []byte, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status string `json:"status"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err == nil {
			got <- []byte(body.Status)
		}
	}))
	t.Cleanup(recv.Close)
	am := StartAlertmanager(t, AlertmanagerOptions{WebhookURL: recv.URL, GroupWait: 100 * time.Millisecond})

	alert := `[{"labels":{"alertname":"gas-lel","site":"s1","sensor":"GT-03"},"endsAt":"` +
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}]`
	resp, err := http.Post(am.URL+"/api/v2/alerts", "application/json", strings.NewReader(alert))
	if err != nil {
		t.Fatalf("post alert: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post alert: %s", resp.Status)
	}
	select {
	case status := <-got:
		if string(status) != "firing" {
			t.Fatalf("webhook status = %q, want firing", status)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no webhook notification within 10s\n%s", am.Log())
	}
	if alerts := am.Alerts(t); len(alerts) != 1 || alerts[0].Labels["sensor"] != "GT-03" {
		t.Fatalf("alerts = %+v, want the one posted", alerts)
	}
}
