package ingest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// MQTT 3.1.1 control packet types, the high four bits of a packet's first
// byte.
const (
	packetPublish = 3
	packetPuback  = 4
	packetPubrec  = 5
)

// readBuffer is the size of a wireConn's read buffer: a PUBLISH up to this
// size, the default max_payload_bytes with its topic, is decoded where it
// lies; a larger one is copied out first.
const readBuffer = 64<<10 + 1<<10

// sendLinger is how long a wireConn gathers writes before sending them.
const sendLinger = time.Millisecond

// readInterval is how often, at most, a wireConn reads from a broker that
// keeps sending while it keeps up. Without it each read system call of a
// steady stream would return one or two messages, and the goroutine would
// sleep and be woken for each: at 30k messages a second that cost a
// quarter of the daemon's CPU. It is 4 ms, not the 10 ms it once was: at
// 10 ms the wait alone took half of the 10 ms median from publish to
// webhook allowed under a steady 10k readings/s (make stormbench: 12.8 ms
// at 10 ms, 4–7 ms at 4 ms); at 2 ms the load benchmark paid about 2 µs of
// CPU per reading more. A wireConn that falls behind reads again at once,
// and so does one whose broker paused for longer, as a broker does while it
// waits for acknowledgements.
const readInterval = 4 * time.Millisecond

// sendTimeout bounds each send. A broker that takes no bytes for that long
// is not reading our acknowledgements: the connection is closed, paho
// connects again, and the broker delivers the unacknowledged messages again.
const sendTimeout = 5 * time.Second

// receiveFunc takes one PUBLISH off the wire. It is called by one goroutine
// at a time.
type receiveFunc func(m *message)

// message is one PUBLISH taken off the wire. topic and payload are valid only
// during the call of the receiveFunc.
type message struct {
	topic, payload []byte
	// size is the payload's size on the wire. It is more than len(payload)
	// when the payload was past the wireConn's limit: then payload holds its
	// first bytes only, for the dead letter, and the rest was read past.
	size int
	// retained is the PUBLISH's RETAIN flag, which the broker sets on a
	// retained message it sends because of a (re)subscription.
	retained bool
	// ack acknowledges the message to the broker.
	ack Ack
}

// wireConn is the connection paho runs its MQTT session over. It takes the
// PUBLISH packets out of the incoming stream itself and hands each to receive
// on the goroutine that reads; paho reads every other packet (CONNACK, SUBACK,
// PINGRESP, the PUBACKs of its own publishes, PUBREL) and keeps doing what it
// does well: connecting, TLS and WebSocket, keepalive, reconnecting and
// resubscribing, publishing dead letters.
//
// paho passes each incoming message through four goroutines and builds its
// acknowledgement through two more, with several allocations on the way;
// under load that cost about 10 µs of CPU per message, three times what
// decoding, storing and evaluating it cost. Here a message is decoded where
// it lies in the read buffer, and its acknowledgement is four bytes appended
// to the send buffer.
//
// Writes are sent from the wireConn's own goroutine after a short linger, so
// that the acknowledgements of a whole stored batch leave in a few system
// calls. Write never blocks on the network; a failed send closes the
// connection, which paho's reader notices and reconnects, and is returned by
// later writes.
type wireConn struct {
	net.Conn
	r       *bufio.Reader
	receive receiveFunc
	// limit is the largest payload taken in whole (mqtt.max_payload_bytes;
	// 0 for none). Of a larger one only the start is kept and the rest is
	// read past, so that no message makes the daemon buffer more.
	limit   int
	passing int     // bytes of the packet paho is reading not yet read
	kept    []byte  // the topic and payload start of a PUBLISH past the limit
	msg     message // handed to receive; a field, so that it is not allocated for each
	// lastRead is when the last read from the broker started; behind is
	// whether it filled half the buffer or more.
	lastRead time.Time
	behind   bool
	now      func() time.Time // time.Now but in tests
	sleep    func(time.Duration)

	mu     sync.Mutex
	out    []byte // written, not yet sent
	spare  []byte // the buffer being sent, reused for out after
	err    error  // the first failed send
	closed bool
	ready  chan struct{} // holds a token while out has data; closed by Close
	sent   chan struct{} // closed when the sender has sent the last bytes
}

func newWireConn(c net.Conn, receive receiveFunc, limit int) *wireConn {
	w := &wireConn{
		Conn:    c,
		r:       bufio.NewReaderSize(c, readBuffer),
		receive: receive,
		limit:   limit,
		now:     time.Now,
		sleep:   time.Sleep,
		ready:   make(chan struct{}, 1),
		sent:    make(chan struct{}),
	}
	go w.send()
	return w
}

// errMalformedPacket is returned by Read for a stream that is not MQTT; paho
// then drops the connection and connects again.
var errMalformedPacket = errors.New("mqtt: malformed packet from broker")

// Read returns the bytes of the packets that are not PUBLISH, never more than
// the rest of one packet; it receives the PUBLISH packets before them. paho
// reads from one goroutine at a time.
func (w *wireConn) Read(p []byte) (int, error) {
	for w.passing == 0 {
		refill := w.r.Buffered() == 0
		if refill {
			w.paceRead()
		}
		first, header, length, err := w.fixedHeader()
		if err != nil {
			return 0, err
		}
		if refill {
			w.behind = w.r.Buffered() >= readBuffer/2
		}
		if first>>4 != packetPublish {
			w.passing = header + length
			break
		}
		if err := w.takePublish(first, header, length); err != nil {
			return 0, err
		}
	}
	if len(p) > w.passing {
		p = p[:w.passing]
	}
	n, err := w.r.Read(p)
	w.passing -= n
	return n, err
}

// paceRead waits, before a read from the broker, until readInterval has
// passed since the last one, unless that one found the wireConn behind.
func (w *wireConn) paceRead() {
	now := w.now()
	if wait := readInterval - now.Sub(w.lastRead); wait > 0 && !w.behind {
		w.sleep(wait)
		now = now.Add(wait)
	}
	w.lastRead = now
}

// fixedHeader peeks at the next packet's fixed header: its first byte, the
// header's size and the remaining length that follows it. It peeks one byte
// at a time, since a short packet may be the last the broker sends for a while.
func (w *wireConn) fixedHeader() (first byte, header, length int, err error) {
	for header = 2; header <= 5; header++ {
		b, err := w.r.Peek(header)
		if err != nil {
			return 0, 0, 0, err
		}
		digit := b[header-1]
		length |= int(digit&0x7f) << (7 * (header - 2))
		if digit&0x80 == 0 {
			return b[0], header, length, nil
		}
	}
	return 0, 0, 0, fmt.Errorf("%w: remaining length longer than 4 bytes", errMalformedPacket)
}

// takePublish reads the PUBLISH packet whose fixed header was peeked and
// hands it to receive. A packet that fits the read buffer is decoded where
// it lies; a larger one is copied out, unless its payload is past the limit.
func (w *wireConn) takePublish(first byte, header, length int) error {
	size := header + length
	if size <= w.r.Size() {
		b, err := w.r.Peek(size)
		if err != nil {
			return err
		}
		defer w.r.Discard(size) //nolint:errcheck // peeked: the bytes are there
		return w.deliver(first, b[header:], length)
	}
	// The variable header, at most 2+65535+2 bytes, fits the read buffer.
	b, err := w.r.Peek(header + 2)
	if err != nil {
		return err
	}
	variable := 2 + int(binary.BigEndian.Uint16(b[header:]))
	if first>>1&3 > 0 {
		variable += 2
	}
	if payload := length - variable; w.limit > 0 && payload > w.limit {
		return w.skipPublish(first, header, length, variable)
	}
	if _, err := w.r.Discard(header); err != nil {
		return err
	}
	// Grown as the bytes arrive, not to the length the header claims, and
	// not kept: payloads this large are rare.
	var large bytes.Buffer
	if _, err := io.CopyN(&large, w.r, int64(length)); err != nil {
		return err
	}
	return w.deliver(first, large.Bytes(), length)
}

// skipPublish takes a PUBLISH whose payload is past the limit: it keeps the
// topic and the payload's first bytes, reads past the rest without holding
// it, and hands receive what it kept with the payload's full size, so that
// the message is rejected, acknowledged and dead-lettered like any other.
func (w *wireConn) skipPublish(first byte, header, length, variable int) error {
	keep := min(length-variable, deadLetterPayload, w.r.Size()-header-variable)
	b, err := w.r.Peek(header + variable + keep)
	if err != nil {
		return err
	}
	w.kept = append(w.kept[:0], b[header:]...)
	if _, err := w.r.Discard(header + length); err != nil {
		return err
	}
	return w.deliver(first, w.kept, length)
}

// deliver parses a PUBLISH, body what follows its fixed header or the start
// of it, and hands it to receive; length is the whole body's length.
func (w *wireConn) deliver(first byte, body []byte, length int) error {
	pub, err := parsePublish(first, body)
	if err != nil {
		return err
	}
	w.msg = message{
		topic: pub.topic, payload: pub.payload, retained: first&1 != 0,
		size: len(pub.payload) + length - len(body),
	}
	if pub.qos > 0 {
		w.msg.ack = Ack{to: w, id: pub.id, qos: pub.qos}
	}
	w.receive(&w.msg)
	w.msg = message{} // the packet's bytes are not to be held
	return nil
}

// publishPacket is a parsed PUBLISH packet; topic and payload point into the
// packet.
type publishPacket struct {
	topic, payload []byte
	id             uint16
	qos            byte
}

// parsePublish parses a PUBLISH packet of MQTT 3.1.1 (section 3.3): first is
// its first byte, body what follows its fixed header.
func parsePublish(first byte, body []byte) (publishPacket, error) {
	p := publishPacket{qos: first >> 1 & 3}
	if p.qos == 3 {
		return p, fmt.Errorf("%w: PUBLISH with QoS 3", errMalformedPacket)
	}
	if len(body) < 2 {
		return p, fmt.Errorf("%w: PUBLISH without a topic", errMalformedPacket)
	}
	n := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	if len(body) < n {
		return p, fmt.Errorf("%w: PUBLISH topic of %d bytes in %d", errMalformedPacket, n, len(body))
	}
	p.topic, body = body[:n], body[n:]
	if p.qos > 0 {
		if len(body) < 2 {
			return p, fmt.Errorf("%w: PUBLISH at QoS %d without a packet identifier", errMalformedPacket, p.qos)
		}
		p.id, body = binary.BigEndian.Uint16(body), body[2:]
	}
	p.payload = body
	return p, nil
}

// An Ack acknowledges one message to the broker once its points are stored
// or spooled: a PUBACK at QoS 1, a PUBREC at QoS 2 (paho answers the PUBREL
// that follows). The zero Ack, a QoS 0 message's, sends nothing.
type Ack struct {
	to  acker
	id  uint16
	qos byte
}

// acker sends the acknowledgement of packet id, received at qos.
type acker interface {
	ack(id uint16, qos byte)
}

func (a Ack) send() {
	if a.to != nil {
		a.to.ack(a.id, a.qos)
	}
}

// ack queues the acknowledgement of id on the connection the message came
// in on. If that connection is gone, the acknowledgement is too, and the
// broker delivers the message again: at least once.
func (w *wireConn) ack(id uint16, qos byte) {
	kind := byte(packetPuback)
	if qos == 2 {
		kind = packetPubrec
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queueLocked([]byte{kind << 4, 2, byte(id >> 8), byte(id)})
}

// Write queues p for sending.
func (w *wireConn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.queueLocked(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *wireConn) queueLocked(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return net.ErrClosed
	}
	w.out = append(w.out, p...)
	select {
	case w.ready <- struct{}{}:
	default: // a send is already due
	}
	return nil
}

func (w *wireConn) send() {
	defer close(w.sent)
	for range w.ready {
		// Linger so that the acknowledgements of a stored batch, queued one
		// by one, leave together; a millisecond's delay of an
		// acknowledgement or a ping costs nothing.
		time.Sleep(sendLinger)
		w.sendQueued()
	}
	w.sendQueued() // what was written before Close
}

func (w *wireConn) sendQueued() {
	w.mu.Lock()
	buf := w.out
	if len(buf) == 0 {
		w.mu.Unlock()
		return // swapping now would leave out and spare one array
	}
	w.out = w.spare[:0]
	w.mu.Unlock()
	err := w.Conn.SetWriteDeadline(time.Now().Add(sendTimeout))
	if err == nil {
		_, err = w.Conn.Write(buf)
	}
	w.mu.Lock()
	w.spare = buf[:0]
	if err != nil && w.err == nil {
		w.err = err
		_ = w.Conn.Close()
	}
	w.mu.Unlock()
}

// SetDeadline sets the read deadline only: only the goroutine that sends
// sets write deadlines, one for each send, since a WebSocket connection must
// not have its write deadline changed while it writes.
func (w *wireConn) SetDeadline(t time.Time) error { return w.Conn.SetReadDeadline(t) }

// SetWriteDeadline does nothing; see SetDeadline.
func (w *wireConn) SetWriteDeadline(time.Time) error { return nil }

// Close sends what was written, for at most sendTimeout after a send under
// way, and closes the connection.
func (w *wireConn) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return net.ErrClosed
	}
	w.closed = true
	close(w.ready)
	w.mu.Unlock()
	<-w.sent
	return w.Conn.Close()
}
