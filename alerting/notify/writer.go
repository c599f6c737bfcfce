package notify

import (
	"encoding/json"
	"log/slog"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// writer records what the channel queues learn about their entries (an
// attempt starting, a retry's new schedule, an entry done) in transactions
// shared by every channel and every send of a burst: no queue waits for
// the disk, so a channel sends as fast as it accepts, and a storm's sends
// cost a few fsyncs. A crash before an entry's "done" reaches the disk
// sends it again at the next start, with the same notification id for the
// receiver to drop; the "attempt starting" marks found at start count those
// resends (at least those whose mark was on disk: an attempt begun within
// the last transaction before a crash may be sent again uncounted).
type writer struct {
	o    *Outbox
	wake chan struct{}
	done chan struct{}

	mu     sync.Mutex
	closed bool
	ops    []sendOp
}

type sendOp struct {
	id   uint64
	kind int
	data []byte // the entry, for opRetry
}

const (
	opStart = iota // an attempt is under way
	opRetry        // the attempt failed; data is the entry with its next attempt
	opDone         // accepted, refused for good or expired: forget it
)

func newWriter(o *Outbox) *writer {
	w := &writer{o: o, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// started records that an attempt at entry id begins, without waiting.
func (w *writer) started(id uint64) { w.add(sendOp{id: id, kind: opStart}) }

// retried records e's new schedule, without waiting.
func (w *writer) retried(e *entry) {
	data, err := json.Marshal(e)
	if err != nil {
		return
	}
	w.add(sendOp{id: e.ID, kind: opRetry, data: data})
}

// finished forgets entry id, without waiting.
func (w *writer) finished(id uint64) { w.add(sendOp{id: id, kind: opDone}) }

// add queues op; after close, the op is lost as in a crash, and the entry
// is sent again at the next start.
func (w *writer) add(op sendOp) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.ops = append(w.ops, op)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writer) run() {
	defer close(w.done)
	for range w.wake {
		w.mu.Lock()
		ops, closed := w.ops, w.closed
		w.ops = nil
		w.mu.Unlock()
		if len(ops) > 0 {
			if err := w.o.db.Update(func(tx *bolt.Tx) error { return applySendOps(tx, ops) }); err != nil {
				w.o.logger().Error("record notification outcomes in the outbox", slog.Int("records", len(ops)), slog.Any("err", err))
			}
		}
		if closed {
			return
		}
	}
}

func applySendOps(tx *bolt.Tx, ops []sendOp) error {
	pending, inflight := tx.Bucket(bucketPending), tx.Bucket(bucketInFlight)
	for _, op := range ops {
		k := entryKey(op.id)
		var err error
		switch op.kind {
		case opStart:
			err = inflight.Put(k, nil)
		case opRetry:
			if err = inflight.Delete(k); err == nil {
				err = pending.Put(k, op.data)
			}
		case opDone:
			if err = inflight.Delete(k); err == nil {
				err = pending.Delete(k)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// close writes what is waiting and stops.
func (w *writer) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return
	}
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
}
