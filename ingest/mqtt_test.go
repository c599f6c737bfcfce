package ingest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/configs"
)

func TestClientOptions_RejectsUnknownSchemeAndBadTLSFiles(t *testing.T) {
	tests := []struct {
		name string
		cfg  configs.MQTT
		ok   bool
	}{
		{"tcp", configs.MQTT{URL: "tcp://127.0.0.1:1883"}, true},
		{"ws", configs.MQTT{URL: "ws://127.0.0.1:9001/mqtt"}, true},
		{"ssl without files", configs.MQTT{URL: "ssl://127.0.0.1:8883"}, true},
		{"http", configs.MQTT{URL: "http://127.0.0.1"}, false},
		{"missing CA", configs.MQTT{URL: "ssl://h:8883", TLS: configs.TLS{CAFile: "/nonexistent/ca.pem"}}, false},
		{"missing key", configs.MQTT{URL: "mqtts://h", TLS: configs.TLS{CertFile: "/nonexistent/c.pem"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := clientOptions(tt.cfg, func() receiveFunc { return nil })
			if (err == nil) != tt.ok {
				t.Fatalf("clientOptions error = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && opts.ClientID != DefaultClientID {
				t.Fatalf("client id = %q, want %q", opts.ClientID, DefaultClientID)
			}
		})
	}
}

func TestNewDeadLetter_CarriesReasonSizeAndAtMostOneKiBOfPayload(t *testing.T) {
	rej := &Reject{Reason: ReasonTooLarge, Err: errors.New("payload of 5000 bytes")}
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name        string
		payload     []byte
		wantPayload string
		wantBase64  []byte
	}{
		{"short", []byte(`{"v":1}`), `{"v":1}`, nil},
		{"long", bytes.Repeat([]byte("x"), 5000), strings.Repeat("x", 1024), nil},
		// A multi-byte rune cut at 1 KiB is left out, not sent as half a rune.
		{"long UTF-8", []byte("a" + strings.Repeat("界", 2000)), "a" + strings.Repeat("界", 341), nil},
		{"binary", bytes.Repeat([]byte{0xff}, 3000), "", bytes.Repeat([]byte{0xff}, 1024)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDeadLetter(rej, "sensors/a/b/c", c.payload, len(c.payload), at)
			if d.Reason != ReasonTooLarge || d.Error == "" || d.Size != len(c.payload) {
				t.Errorf("reason %q, error %q, size %d; want %q, an error, %d", d.Reason, d.Error, d.Size, ReasonTooLarge, len(c.payload))
			}
			if d.Payload != c.wantPayload || !bytes.Equal(d.PayloadBase64, c.wantBase64) {
				t.Errorf("payload %d bytes %q, base64 %d bytes; want %d bytes, %d bytes",
					len(d.Payload), d.Payload[:min(len(d.Payload), 20)], len(d.PayloadBase64), len(c.wantPayload), len(c.wantBase64))
			}
		})
	}
}

// TestIngest_NeverLogsAPasswordInAURL is issue 10 item 16 for ingest: the
// passwords of mqtt.url and influxdb.url showed in the "mqtt subscribed",
// connection and write-failure log lines.
func TestIngest_NeverLogsAPasswordInAURL(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	spool, err := OpenSpool(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(configs.InfluxDB{URL: "http://hazwatch:s3cret-pw@127.0.0.1:1", Bucket: "db/rp"}, spool, m, log)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("gas value=1 1\n"), Ack{})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ing := NewIngester(configs.MQTT{URL: "tcp://hazwatch:s3cret-pw@127.0.0.1:1"}, nil, nil, nil, m, log)
	ing.connectFailed(errors.New("connection refused"))
	_, err = clientOptions(configs.MQTT{URL: "tcp://hazwatch:s3cret-pw@h:port"}, nil)
	if !strings.Contains(logs.String(), "hazwatch:xxxxx@127.0.0.1:1") || strings.Count(logs.String(), "\n") < 2 {
		t.Fatalf("want the write failure and the connection failure logged with the URL redacted:\n%s", logs.String())
	}
	if all := logs.String() + err.Error(); strings.Contains(all, "s3cret") {
		t.Fatalf("a password shows:\n%s", all)
	}
}
