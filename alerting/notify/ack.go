package notify

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Ack is an operator's acknowledgement of an alert: it stops the alert's
// repeats and escalation until its level rises.
type Ack struct {
	ID       string    `json:"id"`
	Operator string    `json:"operator"`
	Comment  string    `json:"comment"`
	At       time.Time `json:"at"`
	// Seq orders the acks of one alert, so that a resolve or rise ends only
	// the ack it saw and never one given after it.
	Seq uint64 `json:"seq"`
}

// ErrNoOperator is returned by Ack without an operator's name.
var ErrNoOperator = errors.New("notify: an acknowledgement needs the operator's name")

// acks is the acknowledgement stage: the acks in effect, read by the API and
// the pipeline under a lock that is never held across a disk write. An ack
// is written in its own transaction; its deletion, when its alert rises or
// resolves, rides in the pipeline's batch.
type acks struct {
	box *Outbox

	writeMu sync.Mutex // orders the writers of new acks
	mu      sync.RWMutex
	byID    map[string]Ack
	seq     uint64
}

func newAcks(box *Outbox, stored []*Ack) *acks {
	a := &acks{box: box, byID: map[string]Ack{}}
	for _, s := range stored {
		a.byID[s.ID] = *s
		a.seq = max(a.seq, s.Seq)
	}
	return a
}

// add stores a durably, then puts it in effect.
func (a *acks) add(ack Ack) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	a.mu.Lock()
	a.seq++
	ack.Seq = a.seq
	a.mu.Unlock()
	if err := a.box.putAck(ack); err != nil {
		return fmt.Errorf("store ack of %s: %w", ack.ID, err)
	}
	a.mu.Lock()
	a.byID[ack.ID] = ack
	a.mu.Unlock()
	return nil
}

func (a *acks) get(id string) (Ack, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	ack, ok := a.byID[id]
	return ack, ok
}

// end takes the ack of id out of effect and returns it for the batch to
// delete from disk.
func (a *acks) end(id string) (Ack, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ack, ok := a.byID[id]
	if ok {
		delete(a.byID, id)
	}
	return ack, ok
}
