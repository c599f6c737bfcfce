package notify

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"hazwatch/configs"
)

// defaultTimeout bounds a send when the channel sets no timeout.
const defaultTimeout = 10 * time.Second

// queues is the channel queue stage: one queue per channel, each sending
// from its own workers, and the outcome of every attempt (retry with
// backoff until the entry expires, or done) recorded through the outbox's
// writer. Entries reach it only once the batch that made them is committed.
type queues struct {
	clock func() time.Time
	log   *slog.Logger
	m     *metrics
	w     *writer
	// expiry, retryMin and retryMax: see DispatcherOptions.
	expiry, retryMin, retryMax time.Duration

	mu      sync.Mutex
	closed  bool
	byName  map[string]*queue
	retired []*queue // replaced by a reload, finishing their attempts
}

// set builds the queues for chans, keeping the queue of a channel whose
// sender and settings are unchanged and moving the waiting entries of the
// others to their new queues.
func (qs *queues) set(cfg configs.Notify, chans map[string]Channel) {
	settings := map[string]configs.Channel{}
	for _, c := range cfg.Channels {
		settings[c.Name] = c
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	var moved []*entry
	for name, q := range qs.byName {
		if ch, ok := chans[name]; ok && ch == q.ch && reflect.DeepEqual(settings[name], q.cfg) {
			continue
		}
		moved = append(moved, q.close()...)
		qs.retired = append(qs.retired, q)
		delete(qs.byName, name)
	}
	for name, ch := range chans {
		if _, ok := qs.byName[name]; !ok {
			c := settings[name]
			c.Name = name
			qs.byName[name] = newQueue(qs, ch, c)
		}
	}
	for _, e := range moved {
		qs.pushLocked(e)
	}
}

// typeOf returns the type of channel name, if there is such a channel.
func (qs *queues) typeOf(name string) (string, bool) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q, ok := qs.byName[name]
	if !ok {
		return "", false
	}
	return q.cfg.Type, true
}

// push hands committed entries to their channels' queues.
func (qs *queues) push(es []*entry) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if qs.closed {
		return // stays in the outbox for the next start
	}
	for _, e := range es {
		qs.pushLocked(e)
	}
}

func (qs *queues) pushLocked(e *entry) {
	if q, ok := qs.byName[e.Channel]; ok {
		q.push(e)
		return
	}
	// Kept in the outbox: sent after a restart if the channel is back.
	qs.log.Warn("channel removed with notifications pending", slog.String("channel", e.Channel), slog.Uint64("entry", e.ID))
}

// poke wakes every queue, for the entries a retry made due.
func (qs *queues) poke() {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	for _, q := range qs.byName {
		q.poke()
	}
}

// close stops the queues and waits for the attempts in flight.
func (qs *queues) close() {
	qs.mu.Lock()
	all := append([]*queue(nil), qs.retired...)
	for _, q := range qs.byName {
		if !qs.closed {
			q.close()
		}
		all = append(all, q)
	}
	qs.closed = true
	qs.mu.Unlock()
	for _, q := range all {
		q.wait()
	}
}

// settle records the outcome of an attempt at e: done, or due again after
// a backoff while a retry can help and e has not expired.
func (qs *queues) settle(e *entry, retry bool, err error) {
	switch {
	case err == nil:
		qs.m.count(e.Channel, resultSent)
		if !e.Received.IsZero() {
			qs.m.latency.WithLabelValues(StageSent).Observe(time.Since(e.Received).Seconds())
		}
		qs.w.finished(e.ID)
	case !retry:
		qs.m.count(e.Channel, resultFailed)
		qs.w.finished(e.ID)
	default:
		e.Attempts++
		e.Next = qs.clock().Add(backoff(qs.retryMin, qs.retryMax, e.Attempts))
		if e.Next.Sub(e.Created) > qs.expiry {
			qs.drop(e, "expired")
			return
		}
		qs.m.count(e.Channel, resultRetried)
		qs.w.retried(e)
		qs.push([]*entry{e})
	}
}

func (qs *queues) drop(e *entry, why string) {
	qs.m.count(e.Channel, resultDropped)
	qs.log.Warn("notification dropped", slog.String("channel", e.Channel), slog.Uint64("entry", e.ID), slog.String("reason", why))
	qs.w.finished(e.ID)
}

// backoff is lo doubled for each failed attempt after the first, up to hi.
func backoff(lo, hi time.Duration, attempts int) time.Duration {
	b := lo
	for range attempts - 1 {
		if b >= hi/2 {
			return hi
		}
		b *= 2
	}
	return min(b, hi)
}

// queue holds one channel's notifications and sends them from its own
// workers, at most cfg.Concurrency at a time and within cfg.RateLimit, so that
// a throttled, slow or hanging channel never delays another.
type queue struct {
	qs    *queues
	ch    Channel
	cfg   configs.Channel
	limit *bucket // nil: no rate limit

	mu    sync.Mutex
	items []*entry

	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
}

func newQueue(qs *queues, ch Channel, cfg configs.Channel) *queue {
	q := &queue{
		qs:    qs,
		ch:    ch,
		cfg:   cfg,
		limit: newBucket(cfg.RateLimit),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
	}
	for range max(1, cfg.Concurrency) {
		q.wg.Add(1)
		go q.work()
	}
	return q
}

// push adds e and wakes a worker.
func (q *queue) push(e *entry) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.qs.m.queue.WithLabelValues(q.ch.Name()).Set(float64(len(q.items)))
	q.mu.Unlock()
	q.poke()
}

// poke wakes one idle worker, if any; the worker pokes the next in turn when
// it takes an entry, so that every worker gets to a busy queue.
func (q *queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take removes and returns the first entry due at now, if the rate limit
// lets one go now.
func (q *queue) take(now time.Time) *entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, e := range q.items {
		if e.Next.After(now) {
			continue
		}
		if q.limit != nil && !q.limit.allow(now) {
			return nil
		}
		q.items = append(q.items[:i], q.items[i+1:]...)
		q.qs.m.queue.WithLabelValues(q.ch.Name()).Set(float64(len(q.items)))
		return e
	}
	return nil
}

func (q *queue) work() {
	defer q.wg.Done()
	for {
		select {
		case <-q.stop:
			return
		case <-q.wake:
		}
		for {
			select {
			case <-q.stop:
				return
			default:
			}
			e := q.take(q.qs.clock())
			if e == nil {
				break
			}
			q.poke()
			q.send(e)
		}
	}
}

// send makes one attempt at e within the channel's timeout, marking it
// under way in the outbox. Its own context lets an attempt in flight
// finish (or time out) when the dispatcher closes, so that the outbox knows
// whether it went.
func (q *queue) send(e *entry) {
	q.qs.w.started(e.ID)
	timeout := q.cfg.Timeout.D()
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	start := time.Now() // wall time: the histogram measures the provider, not the alert clock
	retry, err := q.ch.Send(ctx, &e.Message)
	cancel()
	q.qs.m.duration.WithLabelValues(e.Channel).Observe(time.Since(start).Seconds())
	if err != nil {
		q.qs.log.Warn("notification failed", slog.String("channel", e.Channel),
			slog.Uint64("entry", e.ID), slog.Int("attempt", e.Attempts+1),
			slog.Bool("retry", retry), slog.Any("err", err))
	}
	q.qs.settle(e, retry, err)
}

// close stops the workers taking entries and returns those not taken; it
// does not wait for the attempts in flight (see wait).
func (q *queue) close() []*entry {
	close(q.stop)
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	q.qs.m.queue.WithLabelValues(q.ch.Name()).Set(0)
	return items
}

// wait returns when the workers have finished their attempts in flight.
func (q *queue) wait() { q.wg.Wait() }
