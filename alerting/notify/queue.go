package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"hazwatch/configs"
)

// defaultTimeout bounds a send when the channel sets no timeout.
const defaultTimeout = 10 * time.Second

// queue holds one channel's notifications and sends them from its own
// workers, at most cfg.Concurrency at a time and within cfg.RateLimit, so that
// a throttled, slow or hanging channel never delays another.
type queue struct {
	d     *Dispatcher
	ch    Channel
	cfg   configs.Channel
	limit *bucket // nil: no rate limit

	mu    sync.Mutex
	items []*entry

	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
}

func newQueue(d *Dispatcher, ch Channel, cfg configs.Channel) *queue {
	q := &queue{
		d:     d,
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
	q.d.m.queue.WithLabelValues(q.ch.Name()).Set(float64(len(q.items)))
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
		q.d.m.queue.WithLabelValues(q.ch.Name()).Set(float64(len(q.items)))
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
			e := q.take(q.d.clock())
			if e == nil {
				break
			}
			q.poke()
			q.send(e)
		}
	}
}

// send makes one attempt at e within the channel's timeout. Its own context
// lets an attempt in flight finish (or time out) when the dispatcher closes,
// so that the outbox knows whether it went.
func (q *queue) send(e *entry) {
	timeout := q.cfg.Timeout.D()
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	start := time.Now() // wall time: the histogram measures the provider, not the alert clock
	retry, err := q.ch.Send(ctx, &e.Message)
	cancel()
	q.d.m.duration.WithLabelValues(e.Channel).Observe(time.Since(start).Seconds())
	if err != nil {
		q.d.log.Warn("notification failed", slog.String("channel", e.Channel),
			slog.Uint64("entry", e.ID), slog.Int("attempt", e.Attempts+1),
			slog.Bool("retry", retry), slog.Any("err", err))
	}
	q.d.settle(e, retry, err)
}

// close stops the workers taking entries and returns those not taken; it
// does not wait for the attempts in flight (see wait).
func (q *queue) close() []*entry {
	close(q.stop)
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	q.d.m.queue.WithLabelValues(q.ch.Name()).Set(0)
	return items
}

// wait returns when the workers have finished their attempts in flight.
func (q *queue) wait() { q.wg.Wait() }
