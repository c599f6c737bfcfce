package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Broker is a running Mosquitto with persistence, for tests that publish and
// subscribe over real MQTT.
type Broker struct {
	// URL is the broker's address, tcp://127.0.0.1:PORT.
	URL  string
	Port int

	t    testing.TB
	proc *process
}

// Mosquitto starts a Mosquitto broker on a free loopback port, anonymous
// access allowed and persistence under t.TempDir() so that a restart keeps
// persistent sessions and their queued QoS 1 messages. It is stopped in
// t.Cleanup.
func Mosquitto(t testing.TB) *Broker {
	t.Helper()
	bin := binary(t, "mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
	dir := t.TempDir()
	port := FreePort(t)
	conf := filepath.Join(dir, "mosquitto.conf")
	text := fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages 100000
log_dest stderr
log_type error
log_type warning
`, port, dir)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatalf("write mosquitto config: %v", err)
	}
	b := &Broker{
		URL:  fmt.Sprintf("tcp://%s", addr(port)),
		Port: port,
		t:    t,
		proc: &process{name: "mosquitto", args: []string{bin, "-c", conf}, log: filepath.Join(dir, "mosquitto.log")},
	}
	b.Start()
	t.Cleanup(b.Stop)
	return b
}

// Start starts the broker again after Stop, on the same port with the same
// persistence file, and waits until it accepts connections.
func (b *Broker) Start() {
	b.t.Helper()
	b.proc.start(b.t, func() error { return dialable(addr(b.Port)) })
}

// Stop stops the broker; it saves its persistence on the way down.
func (b *Broker) Stop() { b.proc.stop() }
