package ingest

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"hazwatch/configs"
	"hazwatch/internal/testenv"
)

// TestIngest_EveryTransportStoresAndAcknowledges runs the ingester over each
// kind of broker URL hazwatch accepts — tcp, ssl with a CA, ssl with a client
// certificate, ws — against a real Mosquitto and InfluxDB: the readings must
// be stored and acknowledged. TLS that must not work (an unknown CA, a missing
// client certificate) must keep the ingester from becoming ready.
func TestIngest_EveryTransportStoresAndAcknowledges(t *testing.T) {
	b := testenv.MosquittoWithTLSAndWebSockets(t)
	// A CA that signed nothing the broker has.
	otherCA := testenv.NewCA(t)
	cases := []struct {
		name string
		url  string
		tls  configs.TLS
		// refused: the connection must never come up, and each failed
		// attempt is logged (issue 10 item 15: after the first second, they
		// never were) with reason in the line.
		refused bool
		reason  string
	}{
		{name: "tcp", url: b.URL},
		{name: "ssl", url: b.TLSURL, tls: configs.TLS{CAFile: b.CAFile}},
		{name: "ssl with client certificate", url: b.ClientCertURL,
			tls: configs.TLS{CAFile: b.CAFile, CertFile: b.ClientCertFile, KeyFile: b.ClientKeyFile}},
		{name: "ws", url: b.WSURL},
		{name: "ssl with a wrong CA", url: b.TLSURL, tls: configs.TLS{CAFile: otherCA.CertFile}, refused: true,
			reason: "certificate signed by unknown authority"},
		{name: "refused port", url: fmt.Sprintf("tcp://127.0.0.1:%d", testenv.FreePort(t)), refused: true,
			reason: "connection refused"},
		// Without this case the one with the client certificate would pass
		// even if the certificate were never sent.
		{name: "ssl without the required client certificate", url: b.ClientCertURL,
			tls: configs.TLS{CAFile: b.CAFile}, refused: true},
	}
	// The refused cases need an ingester's writer but never reach it: they
	// share this stack, connected over tcp, and its InfluxDB.
	refusals := startStackOn(t, b, 100, 50*time.Millisecond, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			transport := func(c *configs.MQTT) { c.URL, c.TLS = tc.url, tc.tls }
			if tc.refused {
				ing := refusals.newIngesterWith(func(c *configs.MQTT) {
					transport(c)
					c.ClientID = "hazwatch-" + t.Name()
				})
				logs := &testenv.SyncBuffer{}
				ing.log = slog.New(slog.NewTextHandler(logs, nil))
				ing.connectLogs = newLogLimiter(time.Second) // the daemon's is slower
				if err := ing.Start(t.Context()); err != nil {
					t.Fatal(err) // the files are readable: only the handshake may fail
				}
				t.Cleanup(ing.Stop)
				// paho retries for ever, so there is no failure to wait
				// for: a bounded wait during which it never becomes ready.
				if testenv.Eventually(2*time.Second, ing.Ready) {
					t.Fatalf("ingester became ready over %s with TLS %+v", tc.url, tc.tls)
				}
				eventually(t, "three failed attempts logged", func() bool {
					return strings.Count(logs.String(), "mqtt connection failed") >= 3
				})
				for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
					if strings.Contains(l, "mqtt connection failed") && !strings.Contains(l, tc.reason) {
						t.Fatalf("log line without the reason %q: %s", tc.reason, l)
					}
				}
				return
			}

			s := startStackOn(t, b, 100, 50*time.Millisecond, transport)
			// Every reading on one topic, so that one worker handles them
			// in order and the marker below comes after any redelivery.
			const topic = "sensors/s1/gas_lel/GT-01"
			start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
			sent := 0
			send := func(n int) {
				pub := client(t, b.URL, fmt.Sprintf("pub-%s-%d", t.Name(), sent))
				for range n {
					// Each its own time: InfluxDB would merge equal points.
					publish(t, pub, topic, fmt.Sprintf(`{"value":%d,"ts":%d}`, sent, start.Add(time.Duration(sent)*time.Second).UnixMilli()))
					sent++
				}
			}
			count := func() int64 { return s.influx.Count(t, "SELECT COUNT(value) FROM gas") }

			const n = 5
			send(n)
			eventually(t, "readings stored", func() bool { return count() == n })
			rows := s.influx.Query(t, "SELECT value FROM gas")
			for i, r := range rows {
				if fmt.Sprint(r[1]) != fmt.Sprint(i) {
					t.Fatalf("row %d = %v, want value %d", i, r, i)
				}
			}

			// A message not acknowledged stays in the persistent session
			// and the broker delivers it again to the next ingester with
			// the same client id, which would count it once more.
			s.ing.Stop()
			s.ing = s.newIngester()
			if err := s.ing.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			eventually(t, "ingester back", s.ing.Ready)
			send(1) // the marker: redelivered messages come before it
			eventually(t, "marker stored", func() bool { return count() == n+1 })
			if got := testutil.ToFloat64(s.m.Readings); got != n+1 {
				t.Fatalf("%v readings decoded, want %d: messages were delivered again, so not acknowledged", got, n+1)
			}
		})
	}
}
