package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
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
// The connections hand the messages to receive rather than to paho's
// handlers, and the messages are acknowledged only once their points are
// stored or spooled.
func clientOptions(cfg configs.MQTT, newReceiver func() receiveFunc) (*mqtt.ClientOptions, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("mqtt url %s does not parse", configs.RedactURL(cfg.URL))
	}
	opts := mqtt.NewClientOptions().AddBroker(cfg.URL).SetCustomOpenConnectionFn(dialer(newReceiver, cfg.MaxPayloadBytes))
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return nil, fmt.Errorf("mqtt url %q: scheme must be tcp, ssl, ws or wss", configs.RedactURL(cfg.URL))
	}
	if u.Scheme != "tcp" && u.Scheme != "mqtt" && u.Scheme != "ws" {
		tc, err := tlsConfig(cfg.TLS)
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(tc)
	}
	id := cfg.ClientID
	if id == "" {
		id = DefaultClientID
	}
	opts.SetClientID(id).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(cfg.CleanSession).
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
// a JSON object with the reason, the detail, the original topic, the
// payload's size and its first deadLetterPayload bytes, as a string when
// they are UTF-8, else base64 in payload_base64.
type DeadLetter struct {
	Reason        string `json:"reason"`
	Error         string `json:"error,omitempty"`
	Topic         string `json:"topic"`
	Payload       string `json:"payload,omitempty"`
	PayloadBase64 []byte `json:"payload_base64,omitempty"`
	Size          int    `json:"size"`
	// Time is when hazwatch received the message.
	Time time.Time `json:"time"`
}

// deadLetterPayload bounds the payload a dead letter carries: enough to see
// what a device sends, too little for a flood of large rejects to become a
// flood of large dead letters.
const deadLetterPayload = 1 << 10

// NewDeadLetter describes a message rejected with rej: payload is what was
// kept of it (all of it, unless it was too large to keep), size its size.
func NewDeadLetter(rej *Reject, topic string, payload []byte, size int, at time.Time) DeadLetter {
	d := DeadLetter{Reason: rej.Reason, Topic: topic, Size: size, Time: at.UTC()}
	if rej.Err != nil {
		d.Error = rej.Err.Error()
	}
	payload = payload[:min(len(payload), deadLetterPayload)]
	text := payload
	if size > len(payload) {
		// Leave out a rune that the cut split.
		for i := 0; i < utf8.UTFMax-1 && len(text) > 0 && !utf8.Valid(text); i++ {
			text = text[:len(text)-1]
		}
	}
	if utf8.Valid(text) {
		d.Payload = string(text)
	} else {
		d.PayloadBase64 = payload
	}
	return d
}

// dialer opens the connections of paho's session as wireConns, each handing
// its incoming PUBLISH packets to a receiver of its own and reading past
// payloads larger than limit.
func dialer(newReceiver func() receiveFunc, limit int) mqtt.OpenConnectionFunc {
	return func(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
		c, err := dialBroker(u, o)
		if err != nil {
			return nil, err
		}
		return newWireConn(c, newReceiver(), limit), nil
	}
}

// dialBroker opens a tcp, TLS or WebSocket connection to the broker at u.
func dialBroker(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	if u.Scheme == "ws" || u.Scheme == "wss" {
		var tc *tls.Config
		if u.Scheme == "wss" {
			tc = o.TLSConfig
		}
		dial := *u
		dial.User = nil // the WebSocket dialer refuses URLs with credentials
		c, err := mqtt.NewWebsocket(dial.String(), tc, o.ConnectTimeout, o.HTTPHeaders, o.WebsocketOptions)
		if err != nil {
			return nil, fmt.Errorf("dial mqtt broker %s: %w", dial.Redacted(), err)
		}
		return c, nil
	}
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: o.ConnectTimeout}
	}
	host := u.Host
	secure := u.Scheme != "tcp" && u.Scheme != "mqtt"
	if u.Port() == "" {
		port := "1883"
		if secure {
			port = "8883"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var c net.Conn
	var err error
	if secure {
		c, err = tls.DialWithDialer(d, "tcp", host, o.TLSConfig)
	} else {
		c, err = d.Dial("tcp", host)
	}
	if err != nil {
		return nil, fmt.Errorf("dial mqtt broker %s: %w", host, err)
	}
	return c, nil
}
