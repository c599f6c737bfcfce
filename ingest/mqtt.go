package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"time"
	"unicode/utf8"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"hazwatch/configs"
)

// DefaultClientID is the MQTT client id when none is configured. A
// persistent session needs the same id at every start.
const DefaultClientID = "hazwatch"

// clientOptions builds the paho options for cfg: the broker URL (tcp://,
// mqtt://, ssl://, tls://, mqtts://, ws:// or wss://), credentials, TLS, and a
// persistent session unless clean_session is set, so that QoS 1 messages the
// broker queued while hazwatch was away arrive after it reconnects.
// Acknowledgement is manual: a message is acknowledged only once its points
// are stored or spooled.
func clientOptions(cfg configs.MQTT) (*mqtt.ClientOptions, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("mqtt url: %w", err)
	}
	opts := mqtt.NewClientOptions().AddBroker(cfg.URL)
	switch u.Scheme {
	case "tcp", "mqtt", "ws":
	case "ssl", "tls", "mqtts", "wss":
		tc, err := tlsConfig(cfg.TLS)
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(tc)
	default:
		return nil, fmt.Errorf("mqtt url %q: scheme must be tcp, ssl, ws or wss", cfg.URL)
	}
	id := cfg.ClientID
	if id == "" {
		id = DefaultClientID
	}
	opts.SetClientID(id).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(cfg.CleanSession).
		SetAutoAckDisabled(true).
		// The handler only hands a message to its worker, so keeping paho's
		// order costs nothing and keeps each topic's messages in order.
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second)
	return opts, nil
}

// tlsConfig loads the CA and client certificate of cfg.
func tlsConfig(cfg configs.TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // operator's choice, off by default
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt tls ca %s: no PEM certificates", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// DeadLetter is what a rejected message becomes on the dead-letter topic:
// a JSON object with the reason, the detail, the original topic, and the
// payload as a string when it is UTF-8, else base64 in payload_base64.
type DeadLetter struct {
	Reason        string `json:"reason"`
	Error         string `json:"error,omitempty"`
	Topic         string `json:"topic"`
	Payload       string `json:"payload,omitempty"`
	PayloadBase64 []byte `json:"payload_base64,omitempty"`
	// Time is when hazwatch received the message.
	Time time.Time `json:"time"`
}

// NewDeadLetter describes a message rejected with rej.
func NewDeadLetter(rej *Reject, topic string, payload []byte, at time.Time) DeadLetter {
	d := DeadLetter{Reason: rej.Reason, Topic: topic, Time: at.UTC()}
	if rej.Err != nil {
		d.Error = rej.Err.Error()
	}
	if utf8.Valid(payload) {
		d.Payload = string(payload)
	} else {
		d.PayloadBase64 = payload
	}
	return d
}
