package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"hazwatch/configs"
	"hazwatch/reading"
)

// Observer receives every reading, in order per series, before it is handed
// to the writer, so that whatever it records about the reading is recorded
// before the message is acknowledged; the alert engine is one. received is
// when the message arrived. r is valid only during the call. A reading the
// observer refuses (a *Reject, or any error) is counted and not stored.
type Observer interface {
	Observe(r *reading.Reading, received time.Time) error
}

// stopFlush bounds how long Stop waits for the points taken to be stored or
// spooled, so that their messages are acknowledged before disconnecting.
const stopFlush = 10 * time.Second

// Ingester subscribes to the sensor topics, decodes each message into
// readings, hands their points to the Writer and the readings to the
// Observer, and acknowledges the message once its points are stored or
// spooled. Rejected messages are counted, dead-lettered when a dead-letter
// topic is set, and acknowledged at once. A connection's messages are
// handled in the order they arrive, on the goroutine reading it.
type Ingester struct {
	cfg     configs.MQTT
	url     string // cfg.URL as it is logged, without its password
	matcher *TopicMatcher
	w       *Writer
	obs     Observer
	m       *Metrics
	log     *slog.Logger
	logs    *logLimiter
	// connectLogs limits the log lines of failed connection attempts, which
	// paho makes every second or so for as long as the broker is away.
	connectLogs *logLimiter
	failed      atomic.Int64 // failed connection attempts not yet logged

	client mqtt.Client
	ready  atomic.Bool

	mu      sync.RWMutex // held for reading while a message is handled
	stopped bool
}

// NewIngester returns an ingester for cfg; obs may be nil. Nothing happens
// until Start.
func NewIngester(cfg configs.MQTT, matcher *TopicMatcher, w *Writer, obs Observer, m *Metrics, log *slog.Logger) *Ingester {
	return &Ingester{
		cfg: cfg, url: configs.RedactURL(cfg.URL), matcher: matcher, w: w, obs: obs, m: m, log: log,
		logs: newLogLimiter(time.Second), connectLogs: newLogLimiter(connectLogEvery),
	}
}

// Start connects to the broker. It returns once the connection is under
// way: paho keeps retrying an absent broker, and Ready reports when the
// subscriptions are in place. It fails only on a config that cannot work,
// such as an unreadable TLS certificate.
func (i *Ingester) Start(ctx context.Context) error {
	opts, err := clientOptions(i.cfg, i.newReceiver)
	if err != nil {
		return err
	}
	opts.SetOnConnectHandler(i.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			i.ready.Store(false)
			i.m.MQTTConnected.Set(0)
			i.log.Warn("mqtt connection lost", "url", i.url, "err", err)
		}).
		SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
			i.log.Info("mqtt reconnecting", "url", i.url)
		}).
		SetConnectionNotificationHandler(func(_ mqtt.Client, n mqtt.ConnectionNotification) {
			if f, ok := n.(mqtt.ConnectionNotificationFailed); ok {
				i.connectFailed(f.Reason)
			}
		})
	i.client = mqtt.NewClient(opts)
	tok := i.client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			i.log.Warn("mqtt connect", "url", i.url, "err", err)
		}
	case <-ctx.Done():
	case <-time.After(time.Second):
		// Still trying; paho goes on in the background.
	}
	return nil
}

// connectLogEvery is how often, at most, a failed connection attempt is
// logged: paho tries every second or so, for as long as the broker is away
// or refuses the connection.
const connectLogEvery = 10 * time.Second

// connectFailed logs a failed connection attempt with its reason (refused,
// a certificate that does not verify, credentials refused), at most once
// every connectLogEvery with the number of attempts since the last line.
// paho's own log of it is not enabled.
func (i *Ingester) connectFailed(err error) {
	n := i.failed.Add(1)
	if i.connectLogs.allow("connect") {
		i.failed.Add(-n)
		i.log.Warn("mqtt connection failed; retrying", "url", i.url, "attempts", n, "err", err)
	}
}

// onConnect subscribes, again after every reconnect.
func (i *Ingester) onConnect(c mqtt.Client) {
	i.m.MQTTConnected.Set(1)
	filters := i.matcher.Filters()
	// No handler: the connection hands messages to a receiver before paho
	// sees them.
	tok := c.SubscribeMultiple(filters, nil)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		i.log.Error("mqtt subscribe", "url", i.url, "err", tok.Error())
		return
	}
	for topic, code := range tok.(*mqtt.SubscribeToken).Result() {
		if code == 0x80 {
			i.log.Error("mqtt subscribe refused by broker", "topic", topic)
			return
		}
	}
	i.ready.Store(true)
	i.log.Info("mqtt subscribed", "url", i.url, "topics", len(filters))
}

// Ready reports whether the ingester is connected and subscribed.
func (i *Ingester) Ready() bool { return i.ready.Load() }

// receiver handles the messages of one connection on the goroutine reading
// it, in the order they arrive, reusing its buffers from one to the next.
type receiver struct {
	*Ingester
	readings []reading.Reading
	lines    []byte
}

func (i *Ingester) newReceiver() receiveFunc { return (&receiver{Ingester: i}).receive }

// receive handles one message unless the ingester is stopping; a message not
// handled is not acknowledged, and the broker delivers it again next time.
func (r *receiver) receive(m *message) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.stopped {
		return
	}
	r.handle(m, time.Now())
}

// handle decodes one message and passes its readings on: to the observer,
// then their points to the writer, which acknowledges the message once they
// are stored or spooled.
func (r *receiver) handle(m *message, arrival time.Time) {
	topic, payload, ack := string(m.topic), m.payload, m.ack
	if max := r.cfg.MaxPayloadBytes; max > 0 && m.size > max {
		r.reject(topic, m, reject(ReasonTooLarge, "payload of %d bytes, limit %d", m.size, max), arrival)
		return
	}
	base, decode, err := r.matcher.Match(topic)
	if err == nil {
		r.readings, err = decode(payload, &base, arrival, r.readings[:0])
	}
	if err != nil {
		r.reject(topic, m, err, arrival)
		return
	}
	if m.retained && !ownTimes(r.readings, arrival) {
		r.ignoreRetained(topic)
		ack.send()
		return
	}
	r.lines = r.lines[:0]
	taken := 0
	for n := range r.readings {
		rd := &r.readings[n]
		if r.obs != nil {
			if err := r.obs.Observe(rd, arrival); err != nil {
				r.refuse(topic, err)
				continue
			}
		}
		r.lines = rd.AppendLine(r.lines)
		taken++
	}
	r.m.Readings.Add(float64(taken))
	if len(r.lines) == 0 {
		ack.send()
		return
	}
	r.w.Write(r.lines, ack)
}

// refuse counts and logs a reading the observer refused; the message's
// other readings go on.
func (i *Ingester) refuse(topic string, err error) {
	i.count(topic, err, "refused", "reading refused")
}

// count counts err by its reason (fallback when it names none) and logs it,
// at most once a second per reason.
func (i *Ingester) count(topic string, err error, fallback, what string) *Reject {
	var rej *Reject
	if !errors.As(err, &rej) {
		rej = &Reject{Reason: fallback, Err: err}
	}
	i.m.Rejected.WithLabelValues(rej.Reason).Inc()
	if i.logs.allow(rej.Reason) {
		i.log.Warn(what, "reason", rej.Reason, "topic", topic, "err", rej.Err)
	}
	return rej
}

// ownTimes reports whether every reading carries a time of its own, not
// the time of arrival the decoders give one without.
func ownTimes(readings []reading.Reading, arrival time.Time) bool {
	for i := range readings {
		if readings[i].Time.Equal(arrival) {
			return false
		}
	}
	return true
}

// ignoreRetained counts and logs a retained message without a time of its
// own. The broker sends it again at every subscription, so after every
// reconnect and restart, however old it is: taken as a reading at its
// arrival, it would be stored again and re-fire its alert each time. With
// its own time it is stored again under that time, which overwrites the
// same point, so it is taken.
func (i *Ingester) ignoreRetained(topic string) {
	i.m.RetainedIgnored.Inc()
	if i.logs.allow("retained") {
		i.log.Info("retained mqtt message without its own time ignored", "topic", topic)
	}
}

// reject counts, logs and dead-letters a message that cannot be used, then
// acknowledges it: it is accounted for, not lost.
func (i *Ingester) reject(topic string, m *message, err error, arrival time.Time) {
	rej := i.count(topic, err, "decode_error", "mqtt message rejected")
	if i.cfg.DeadLetterTopic != "" {
		body, err := json.Marshal(NewDeadLetter(rej, topic, m.payload, m.size, arrival))
		if err == nil {
			i.Publish(i.cfg.DeadLetterTopic, body)
		} else {
			i.log.Error("encode dead letter", "err", err)
		}
	}
	m.ack.send()
}

// Publish sends payload to topic at QoS 1 without waiting for the broker;
// paho keeps it until the broker has it, across reconnects.
func (i *Ingester) Publish(topic string, payload []byte) mqtt.Token {
	return i.client.Publish(topic, 1, false, payload)
}

// Stop stops taking messages, waits (bounded) until the points of those
// taken are stored or spooled so that they are acknowledged, and
// disconnects. Messages not acknowledged are delivered again by the broker
// on the next start.
func (i *Ingester) Stop() {
	if i.client == nil {
		return
	}
	i.mu.Lock()
	if i.stopped {
		i.mu.Unlock()
		return
	}
	i.stopped = true
	i.mu.Unlock()
	if !i.w.WaitAcked(stopFlush) {
		i.log.Warn("stopping with messages unacknowledged; the broker will deliver them again")
	}
	i.ready.Store(false)
	i.client.Disconnect(250)
	i.m.MQTTConnected.Set(0)
}
