package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"hazwatch/internal/testenv"
)

// ingestConfig stores readings only: no rules, no channels.
const ingestConfig = `data_dir: {{.DataDir}}
mqtt:
  url: {{.MQTTURL}}
  client_id: {{.ClientID}}
  qos: 1
  subscriptions:
    - topic: sensors/{site}/{kind}/{sensor}
      format: json
influxdb:
  url: {{.InfluxURL}}
  bucket: {{.Bucket}}
  batch_size: 200
  flush_interval: 200ms
http:
  listen: {{.HTTP}}
log:
  level: warn
`

// TestDaemon_SIGKILLMidStreamLosesNothing kills the daemon without warning in
// the middle of a QoS 1 stream, goes on publishing while it is dead, restarts
// it, and finds every published reading in InfluxDB: a message is acked to
// the broker only once stored or spooled, and the persistent session keeps
// what arrives while the daemon is away.
func TestDaemon_SIGKILLMidStreamLosesNothing(t *testing.T) {
	s := newStack(t)
	p := s.params(t)
	cfg := filepath.Join(s.Dir, "hazwatch.yaml")
	writeConfig(t, cfg, ingestConfig, p)
	d := testenv.Hazwatch(t, hazwatchBin, cfg, p.HTTP)
	pub := newPublisher(t, s.Broker.URL)

	const (
		sensors  = 5
		perRound = 400
		rounds   = 3
		total    = sensors * perRound * rounds
	)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	n := 0
	publishRound := func() {
		for i := 0; i < perRound; i++ {
			for sensor := 0; sensor < sensors; sensor++ {
				topic := fmt.Sprintf("sensors/plant-1/gas_lel/GT-%02d", sensor)
				pub.PublishValue(t, topic, t0.Add(time.Duration(n)*time.Millisecond), float64(n%100))
				n++
			}
		}
	}

	publishRound()
	d.Kill() // mid-stream: some of the first round may be neither written nor acked
	publishRound()
	d.Start()
	publishRound()

	count := func() int64 {
		return s.Influx.Count(t, `SELECT count(value) FROM gas WHERE site = 'plant-1'`)
	}
	if !testenv.Eventually(waitTimeout, func() bool { return count() >= total }) {
		t.Fatalf("InfluxDB has %d of the %d published readings\ndaemon log:\n%s", count(), total, d.Log())
	}
	if got := count(); got != total {
		t.Errorf("InfluxDB has %d readings, want exactly %d (one point per reading)", got, total)
	}
}
