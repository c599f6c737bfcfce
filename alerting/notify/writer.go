package notify

import (
	"encoding/json"
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// errOutboxClosed is returned for writes after the outbox closed.
var errOutboxClosed = errors.New("notify: outbox closed")

// writer records what the channel queues learn about their entries (an
// attempt starting, a retry's new schedule, an entry done) in transactions
// shared by every channel: a queue does not wait for its "done" to be on
// disk, so that write goes in the same fsync as its next "attempt starting".
// A crash between a channel accepting a notification and its "done" reaching
// the disk sends it again at the next start, with the same notification id
// for the receiver to drop; the "attempt starting" mark is how that start
// counts such resends.
type writer struct {
	o    *Outbox
	wake chan struct{}
	done chan struct{}

	mu      sync.Mutex
	closed  bool
	ops     []sendOp
	waiters []chan error
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

// started records durably that an attempt at entry id begins.
func (w *writer) started(id uint64) error {
	ch := make(chan error, 1)
	if !w.add(sendOp{id: id, kind: opStart}, ch) {
		return errOutboxClosed
	}
	return <-ch
}

// retried records e's new schedule, without waiting.
func (w *writer) retried(e *entry) {
	data, err := json.Marshal(e)
	if err != nil {
		return
	}
	w.add(sendOp{id: e.ID, kind: opRetry, data: data}, nil)
}

// finished forgets entry id, without waiting.
func (w *writer) finished(id uint64) { w.add(sendOp{id: id, kind: opDone}, nil) }

func (w *writer) add(op sendOp, waiter chan error) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	w.ops = append(w.ops, op)
	if waiter != nil {
		w.waiters = append(w.waiters, waiter)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

func (w *writer) run() {
	defer close(w.done)
	for range w.wake {
		w.mu.Lock()
		ops, waiters, closed := w.ops, w.waiters, w.closed
		w.ops, w.waiters = nil, nil
		w.mu.Unlock()
		var err error
		if len(ops) > 0 {
			err = w.o.db.Update(func(tx *bolt.Tx) error { return applySendOps(tx, ops) })
		}
		for _, ch := range waiters {
			ch <- err
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
