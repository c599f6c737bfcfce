package testenv

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// Broker is a running Mosquitto with persistence, for tests that publish and
// subscribe over real MQTT.
type Broker struct {
	// URL is the broker's plain MQTT address, tcp://127.0.0.1:PORT.
	URL  string
	Port int

	// The fields below are set by MosquittoWithTLSAndWebSockets only.

	// TLSURL is a TLS listener, ssl://127.0.0.1:PORT, whose server
	// certificate CAFile signed.
	TLSURL string
	// ClientCertURL is a TLS listener like TLSURL that also requires a
	// client certificate signed by CAFile, such as ClientCertFile.
	ClientCertURL string
	// WSURL is a plain MQTT over WebSocket listener, ws://127.0.0.1:PORT.
	WSURL string
	// CAFile is the PEM certificate of the CA that signed the broker's and
	// the client's certificates.
	CAFile string
	// ClientCertFile and ClientKeyFile are a client certificate and its key
	// that ClientCertURL accepts.
	ClientCertFile, ClientKeyFile string

	t     testing.TB
	proc  *process
	ports []int // every listener's, all waited for at Start
}

// listener is one Mosquitto listener: a port on the loopback address and
// the settings that follow its listener line.
type listener struct {
	port     int
	settings []string
}

func (l listener) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n", l.port)
	for _, s := range l.settings {
		b.WriteString(s + "\n")
	}
	return b.String()
}

// Mosquitto starts a Mosquitto broker on a free loopback port, anonymous
// access allowed and persistence under t.TempDir() so that a restart keeps
// persistent sessions and their queued QoS 1 messages. It is stopped in
// t.Cleanup.
func Mosquitto(t testing.TB) *Broker {
	t.Helper()
	b := &Broker{Port: FreePort(t)}
	b.URL = "tcp://" + addr(b.Port)
	startMosquitto(t, b, []listener{{port: b.Port}})
	return b
}

// MosquittoWithTLSAndWebSockets starts a broker like Mosquitto's that also
// listens, each on its own free port, for TLS (TLSURL), for TLS with a
// required client certificate (ClientCertURL) and for MQTT over WebSocket
// (WSURL). The certificates come from a CA made for the test, in CAFile.
func MosquittoWithTLSAndWebSockets(t testing.TB) *Broker {
	t.Helper()
	ca := NewCA(t)
	serverCert, serverKey := ca.Issue(t, "mosquitto")
	b := &Broker{Port: FreePort(t), CAFile: ca.CertFile}
	b.ClientCertFile, b.ClientKeyFile = ca.Issue(t, "client")
	tlsPort, clientCertPort, wsPort := FreePort(t), FreePort(t), FreePort(t)
	b.URL = "tcp://" + addr(b.Port)
	b.TLSURL = "ssl://" + addr(tlsPort)
	b.ClientCertURL = "ssl://" + addr(clientCertPort)
	b.WSURL = "ws://" + addr(wsPort)
	serverTLS := []string{"cafile " + ca.CertFile, "certfile " + serverCert, "keyfile " + serverKey}
	startMosquitto(t, b, []listener{
		{port: b.Port},
		{port: tlsPort, settings: serverTLS},
		{port: clientCertPort, settings: append(serverTLS, "require_certificate true")},
		{port: wsPort, settings: []string{"protocol websockets"}},
	})
	return b
}

// startMosquitto writes the config for listeners, starts the broker b
// describes and stops it in t.Cleanup.
func startMosquitto(t testing.TB, b *Broker, listeners []listener) {
	t.Helper()
	bin := binary(t, "mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	// Started as root, Mosquitto drops to its own user before it reads the
	// certificates and writes the persistence file, and the test's 0700
	// temporary directories shut it out of both: it stays the test's user.
	me, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	text := fmt.Sprintf(`user %s
allow_anonymous true
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages 100000
log_dest stderr
log_type error
log_type warning
`, me.Username, dir)
	for _, l := range listeners {
		text += l.config()
		b.ports = append(b.ports, l.port)
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatalf("write mosquitto config: %v", err)
	}
	b.t = t
	b.proc = &process{name: "mosquitto", args: []string{bin, "-c", conf}, log: filepath.Join(dir, "mosquitto.log")}
	b.Start()
	t.Cleanup(b.Stop)
}

// Start starts the broker again after Stop, on the same ports with the same
// persistence file, and waits until every listener accepts connections.
func (b *Broker) Start() {
	b.t.Helper()
	b.proc.start(b.t, func() error {
		for _, p := range b.ports {
			if err := dialable(addr(p)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Stop stops the broker; it saves its persistence on the way down.
func (b *Broker) Stop() { b.proc.stop() }
