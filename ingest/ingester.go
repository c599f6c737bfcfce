package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"hazwatch/configs"
	"hazwatch/reading"
)

// Observer receives every stored reading, in order per series; the alert
// engine is one. r is valid only during the call.
type Observer interface {
	Observe(r *reading.Reading)
}

const (
	// workers is how many goroutines decode messages. A topic always goes to
	// the same worker, so each series is handled in order.
	workers = 4
	// workerQueue is how many messages wait for a worker before paho's
	// receive loop waits too, which holds back the broker.
	workerQueue = 256
	// stopFlush bounds how long Stop waits for the points taken to be stored
	// or spooled, so their messages are acknowledged before disconnecting.
	stopFlush = 10 * time.Second
)

// Ingester subscribes to the sensor topics, decodes each message into
// readings, hands their points to the Writer and the readings to the
// Observer, and acknowledges the message once its points are stored or
// spooled. Rejected messages are counted, dead-lettered when a dead-letter
// topic is set, and acknowledged at once.
type Ingester struct {
	cfg     configs.MQTT
	matcher *TopicMatcher
	w       *Writer
	obs     Observer
	m       *Metrics
	log     *slog.Logger
	logs    *logLimiter
	seed    maphash.Seed

	client  mqtt.Client
	ready   atomic.Bool
	queues  [workers]chan mqtt.Message
	workers sync.WaitGroup
	unacked sync.WaitGroup // messages handed to the writer, not yet acknowledged

	mu      sync.RWMutex // held for reading while handing a message to a worker
	stopped bool
}

// NewIngester returns an ingester for cfg; obs may be nil. Nothing happens
// until Start.
func NewIngester(cfg configs.MQTT, matcher *TopicMatcher, w *Writer, obs Observer, m *Metrics, log *slog.Logger) *Ingester {
	return &Ingester{
		cfg: cfg, matcher: matcher, w: w, obs: obs, m: m, log: log,
		logs: newLogLimiter(time.Second),
		seed: maphash.MakeSeed(),
	}
}

// Start starts the workers and connects to the broker. It returns once the
// connection is under way: paho keeps retrying an absent broker, and Ready
// reports when the subscriptions are in place. It fails only on a config
// that cannot work, such as an unreadable TLS certificate.
func (i *Ingester) Start(ctx context.Context) error {
	opts, err := clientOptions(i.cfg)
	if err != nil {
		return err
	}
	// Messages of a persistent session can arrive before the subscriptions
	// are made again, with no route yet: they take the same way.
	opts.SetDefaultPublishHandler(i.onMessage).
		SetOnConnectHandler(i.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			i.ready.Store(false)
			i.m.MQTTConnected.Set(0)
			i.log.Warn("mqtt connection lost", "url", i.cfg.URL, "err", err)
		}).
		SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
			i.log.Info("mqtt reconnecting", "url", i.cfg.URL)
		})
	for n := range i.queues {
		q := make(chan mqtt.Message, workerQueue)
		i.queues[n] = q
		i.workers.Go(func() { i.work(q) })
	}
	i.client = mqtt.NewClient(opts)
	tok := i.client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			i.log.Warn("mqtt connect", "url", i.cfg.URL, "err", err)
		}
	case <-ctx.Done():
	case <-time.After(time.Second):
		// Still trying; paho goes on in the background.
	}
	return nil
}

// onConnect subscribes, again after every reconnect.
func (i *Ingester) onConnect(c mqtt.Client) {
	i.m.MQTTConnected.Set(1)
	filters := i.matcher.Filters()
	tok := c.SubscribeMultiple(filters, i.onMessage)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		i.log.Error("mqtt subscribe", "url", i.cfg.URL, "err", tok.Error())
		return
	}
	for topic, code := range tok.(*mqtt.SubscribeToken).Result() {
		if code == 0x80 {
			i.log.Error("mqtt subscribe refused by broker", "topic", topic)
			return
		}
	}
	i.ready.Store(true)
	i.log.Info("mqtt subscribed", "url", i.cfg.URL, "topics", len(filters))
}

// Ready reports whether the ingester is connected and subscribed.
func (i *Ingester) Ready() bool { return i.ready.Load() }

// onMessage hands msg to the worker for its topic. It runs on paho's receive
// goroutine, so it must be light; when the worker is behind it waits, which
// holds back the broker rather than piling messages up in memory.
func (i *Ingester) onMessage(_ mqtt.Client, msg mqtt.Message) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.stopped {
		return // not acknowledged: the broker delivers it again next time
	}
	i.queues[maphash.String(i.seed, msg.Topic())%workers] <- msg
}

// worker holds one worker's buffers, reused from message to message.
type worker struct {
	readings []reading.Reading
	lines    []byte
}

func (i *Ingester) work(q <-chan mqtt.Message) {
	var w worker
	for msg := range q {
		i.handle(&w, msg, time.Now())
	}
}

// handle decodes one message and passes its readings on.
func (i *Ingester) handle(w *worker, msg mqtt.Message, arrival time.Time) {
	payload := msg.Payload()
	if max := i.cfg.MaxPayloadBytes; max > 0 && len(payload) > max {
		i.reject(msg, reject(ReasonTooLarge, "payload of %d bytes, limit %d", len(payload), max), arrival)
		return
	}
	base, decode, err := i.matcher.Match(msg.Topic())
	if err == nil {
		w.readings, err = decode(payload, &base, arrival, w.readings[:0])
	}
	if err != nil {
		i.reject(msg, err, arrival)
		return
	}
	if len(w.readings) == 0 {
		msg.Ack()
		return
	}
	w.lines = w.lines[:0]
	for n := range w.readings {
		w.lines = w.readings[n].AppendLine(w.lines)
	}
	i.m.Readings.Add(float64(len(w.readings)))
	i.unacked.Add(1)
	i.w.Write(w.lines, func() {
		msg.Ack()
		i.unacked.Done()
	})
	if i.obs != nil {
		for n := range w.readings {
			i.obs.Observe(&w.readings[n])
		}
	}
}

// reject counts, logs and dead-letters a message that cannot be used, then
// acknowledges it: it is accounted for, not lost.
func (i *Ingester) reject(msg mqtt.Message, err error, arrival time.Time) {
	var rej *Reject
	if !errors.As(err, &rej) {
		rej = &Reject{Reason: "decode_error", Err: err}
	}
	i.m.Rejected.WithLabelValues(rej.Reason).Inc()
	if i.logs.allow(rej.Reason) {
		i.log.Warn("mqtt message rejected", "reason", rej.Reason, "topic", msg.Topic(), "err", rej.Err)
	}
	if i.cfg.DeadLetterTopic != "" {
		body, err := json.Marshal(NewDeadLetter(rej, msg.Topic(), msg.Payload(), arrival))
		if err == nil {
			i.Publish(i.cfg.DeadLetterTopic, body)
		} else {
			i.log.Error("encode dead letter", "err", err)
		}
	}
	msg.Ack()
}

// Publish sends payload to topic at QoS 1 without waiting for the broker;
// paho keeps it until the broker has it, across reconnects.
func (i *Ingester) Publish(topic string, payload []byte) mqtt.Token {
	return i.client.Publish(topic, 1, false, payload)
}

// Stop stops taking messages, lets the workers finish the ones taken, waits
// (bounded) until their points are stored or spooled so that they are
// acknowledged, and disconnects. Messages not acknowledged are delivered
// again by the broker on the next start.
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
	for _, q := range i.queues {
		close(q)
	}
	i.mu.Unlock()
	i.workers.Wait()

	i.w.Flush()
	acked := make(chan struct{})
	go func() {
		i.unacked.Wait()
		close(acked)
	}()
	select {
	case <-acked:
	case <-time.After(stopFlush):
		i.log.Warn("stopping with messages unacknowledged; the broker will deliver them again")
	}
	i.ready.Store(false)
	i.client.Disconnect(250)
	i.m.MQTTConnected.Set(0)
}
