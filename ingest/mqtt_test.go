package ingest

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"

	"hazwatch/configs"
)

func TestBufferedConn_SendsEveryWriteInOrderAndFlushesOnClose(t *testing.T) {
	client, server := net.Pipe()
	received := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(server)
		received <- b
	}()
	c := newBufferedConn(client)
	// Two writers, as paho's outgoing loop and its pinger are: each one's
	// bytes must arrive whole and in its order.
	var wg sync.WaitGroup
	for _, letter := range []byte{'a', 'b'} {
		wg.Go(func() {
			for range 1000 {
				if _, err := c.Write([]byte{letter, letter}); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := <-received
	if len(got) != 4000 || bytes.Count(got, []byte{'a'}) != 2000 || bytes.Count(got, []byte{'b'}) != 2000 {
		t.Fatalf("received %d bytes, want both writers' 2000 whole", len(got))
	}
	for i := 0; i < len(got); i += 2 {
		if got[i] != got[i+1] {
			t.Fatalf("write split at byte %d", i)
		}
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestBufferedConn_WriteFailsAfterTheConnectionBreaks(t *testing.T) {
	client, server := net.Pipe()
	server.Close()
	c := newBufferedConn(client)
	defer c.Close()
	c.Write([]byte("lost")) // queued; the send fails
	eventually(t, "the failed send reported", func() bool {
		_, err := c.Write([]byte("x"))
		return err != nil
	})
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("Read on a broken connection succeeded")
	}
}

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
			opts, err := clientOptions(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("clientOptions error = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && opts.ClientID != DefaultClientID {
				t.Fatalf("client id = %q, want %q", opts.ClientID, DefaultClientID)
			}
		})
	}
}
