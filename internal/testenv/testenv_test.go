package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

func TestMosquitto_RestartsOnSamePort(t *testing.T) {
	b := Mosquitto(t)
	if !strings.HasPrefix(b.URL, "tcp://127.0.0.1:") {
		t.Fatalf("URL = %q, want tcp://127.0.0.1:PORT", b.URL)
	}
	b.Stop()
	if err := dialable(addr(b.Port)); err == nil {
		t.Fatal("broker still accepts connections after Stop")
	}
	b.Start()
	if err := dialable(addr(b.Port)); err != nil {
		t.Fatalf("broker not back after Start: %v", err)
	}
}

func TestInfluxDB_StoresAndCountsAcrossRestart(t *testing.T) {
	db := InfluxDB(t)
	resp, err := http.Post(db.URL+"/write?db="+db.Database, "text/plain",
		strings.NewReader("gas,site=s1 value=1.5 1000000000\ngas,site=s2 value=2.5 2000000000\n"))
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write answered %s", resp.Status)
	}
	db.Stop()
	db.Start()
	if n := db.Count(t, "SELECT COUNT(value) FROM gas"); n != 2 {
		t.Fatalf("count after restart = %d, want 2", n)
	}
	series := db.Series(t, "SELECT value FROM gas GROUP BY site")
	if len(series) != 2 || series[0].Tags["site"] != "s1" || series[1].Tags["site"] != "s2" {
		t.Fatalf("series by site = %+v, want s1 and s2", series)
	}
	if db.Bucket != db.Database+"/autogen" {
		t.Fatalf("Bucket = %q", db.Bucket)
	}
}

func TestFreePort_IsListenable(t *testing.T) {
	l, err := net.Listen("tcp", addr(FreePort(t)))
	if err != nil {
		t.Fatalf("listen on free port: %v", err)
	}
	l.Close()
}

// TestMosquittoWithTLSAndWebSockets_EveryListenerTakesMQTT connects a real
// MQTT client over each listener, and shows that the client-certificate
// listener refuses a client without one: otherwise a test using it would
// not be testing client certificates at all.
func TestMosquittoWithTLSAndWebSockets_EveryListenerTakesMQTT(t *testing.T) {
	b := MosquittoWithTLSAndWebSockets(t)
	ca := x509.NewCertPool()
	pemCA, err := os.ReadFile(b.CAFile)
	if err != nil || !ca.AppendCertsFromPEM(pemCA) {
		t.Fatalf("read CA %s: %v", b.CAFile, err)
	}
	cert, err := tls.LoadX509KeyPair(b.ClientCertFile, b.ClientKeyFile)
	if err != nil {
		t.Fatalf("load client certificate: %v", err)
	}
	cases := []struct {
		name, url string
		tls       *tls.Config
		wantErr   bool
	}{
		{"tcp", b.URL, nil, false},
		{"tls", b.TLSURL, &tls.Config{RootCAs: ca}, false},
		{"tls with client certificate", b.ClientCertURL, &tls.Config{RootCAs: ca, Certificates: []tls.Certificate{cert}}, false},
		{"tls without the required client certificate", b.ClientCertURL, &tls.Config{RootCAs: ca}, true},
		{"tls with an unknown CA", b.TLSURL, &tls.Config{}, true},
		{"websocket", b.WSURL, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := mqtt.NewClientOptions().AddBroker(tc.url).SetClientID("probe").
				SetTLSConfig(tc.tls).SetConnectTimeout(5 * time.Second)
			c := mqtt.NewClient(opts)
			tok := c.Connect()
			if !tok.WaitTimeout(10 * time.Second) {
				t.Fatal("connect did not finish")
			}
			if err := tok.Error(); (err != nil) != tc.wantErr {
				t.Fatalf("connect to %s: err = %v, want error %v", tc.url, err, tc.wantErr)
			}
			c.Disconnect(100)
		})
	}
}

// TestMosquitto_PersistenceSurvivesRestart shows the broker really writes
// its persistence file: a retained message outlives a restart. (Run as
// root, a broker that dropped to its own user could not write it into the
// test's directory, and lost everything at a restart.)
func TestMosquitto_PersistenceSurvivesRestart(t *testing.T) {
	b := Mosquitto(t)
	connect := func(id string) mqtt.Client {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL).SetClientID(id))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect %s: %v", id, tok.Error())
		}
		return c
	}
	pub := connect("publisher")
	if tok := pub.Publish("kept", 1, true, "before restart"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	pub.Disconnect(100)
	b.Stop() // saves the persistence file
	b.Start()

	sub := connect("subscriber")
	defer sub.Disconnect(100)
	got := make(chan string, 1)
	if tok := sub.Subscribe("kept", 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- string(m.Payload()):
		default:
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	select {
	case p := <-got:
		if p != "before restart" {
			t.Fatalf("retained payload %q, want %q", p, "before restart")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the retained message did not survive the restart")
	}
}
