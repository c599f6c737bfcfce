package ingest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
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
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
		opts.SetCustomOpenConnectionFn(dialMQTT)
	case "ws", "wss":
	default:
		return nil, fmt.Errorf("mqtt url %q: scheme must be tcp, ssl, ws or wss", cfg.URL)
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

// dialMQTT opens tcp:// and ssl:// connections for paho through a
// bufferedConn. paho reads each packet in two or three small reads and
// writes every acknowledgement on its own, a system call each: at tens of
// thousands of messages a second those calls were most of the CPU.
func dialMQTT(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
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
	return newBufferedConn(c), nil
}

// bufferedConn reads through a buffer and sends writes from its own
// goroutine, so that the acknowledgements of a whole stored batch leave in a
// few system calls. Write never blocks on the network; a failed send closes
// the connection, which paho's reader notices and reconnects, and is
// returned by later writes.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu     sync.Mutex
	out    []byte // written, not yet sent
	spare  []byte // the buffer being sent, reused for out after
	err    error  // the first failed send
	closed bool
	ready  chan struct{} // holds a token while out has data; closed by Close
	sent   chan struct{} // closed when the sender has sent the last bytes
}

// sendLinger is how long a bufferedConn gathers writes before sending them.
const sendLinger = time.Millisecond

func newBufferedConn(c net.Conn) *bufferedConn {
	b := &bufferedConn{
		Conn:  c,
		r:     bufio.NewReaderSize(c, 32<<10),
		ready: make(chan struct{}, 1),
		sent:  make(chan struct{}),
	}
	go b.send()
	return b
}

// Read reads through the buffer; paho reads from one goroutine at a time.
func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// Write queues p for sending.
func (b *bufferedConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if b.closed {
		return 0, net.ErrClosed
	}
	b.out = append(b.out, p...)
	select {
	case b.ready <- struct{}{}:
	default: // a send is already due
	}
	return len(p), nil
}

func (b *bufferedConn) send() {
	defer close(b.sent)
	for range b.ready {
		// Linger so that the acknowledgements of a stored batch, queued one
		// by one by paho, leave together; a millisecond's delay of an
		// acknowledgement or a ping costs nothing.
		time.Sleep(sendLinger)
		b.sendQueued()
	}
	b.sendQueued() // what was written before Close
}

func (b *bufferedConn) sendQueued() {
	b.mu.Lock()
	buf := b.out
	if len(buf) == 0 {
		b.mu.Unlock()
		return // swapping now would leave out and spare one array
	}
	b.out = b.spare[:0]
	b.mu.Unlock()
	_, err := b.Conn.Write(buf)
	b.mu.Lock()
	b.spare = buf[:0]
	if err != nil && b.err == nil {
		b.err = err
		_ = b.Conn.Close()
	}
	b.mu.Unlock()
}

// Close sends what was written, for at most a second, and closes the
// connection.
func (b *bufferedConn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return net.ErrClosed
	}
	b.closed = true
	close(b.ready)
	b.mu.Unlock()
	_ = b.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	<-b.sent
	return b.Conn.Close()
}
