package ingest

import (
	"testing"

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
