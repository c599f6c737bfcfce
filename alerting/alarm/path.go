// Package alarm joins the alert engine, its journal and notification into
// the alarm path, in the order that keeps SPEC §5's promise: what the duty
// room is told is what the engine recorded. Every transition is in the
// journal before notification commits it (the dispatcher waits for that),
// and before the message of the reading that caused it is acknowledged (the
// writer's ack gate waits for that); transitions reach notification in the
// order the journal numbered them; after a crash the engine restores exactly
// the recorded transitions and notification takes up the ones after its
// cursor.
package alarm

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
	"hazwatch/ingest"
	"hazwatch/reading"
)

// Store keeps the transitions of one reading or tick where history is read
// from (InfluxDB's alerts measurement). It must not block on the database.
type Store func(events []alerting.Event)

// Parts are what the alarm path joins.
type Parts struct {
	Engine  *alerting.Engine
	Journal *alerting.Journal
	// Notifier must wait for Journal (DispatcherOptions.WaitDurable:
	// Journal.WaitDurable).
	Notifier *notify.Dispatcher
	Store    Store
	// LegacyState is the state file of versions before the journal, read
	// when the journal has no snapshot yet.
	LegacyState string
	// Latency is where the transition stage is observed; nil observes nothing.
	Latency *prometheus.HistogramVec
	// Clock is the daemon's clock, for stale rules; nil is time.Now.
	Clock func() time.Time
}

// Path is the alarm path of one daemon.
type Path struct {
	engine   *alerting.Engine
	notifier *notify.Dispatcher
	store    Store
	latency  *prometheus.HistogramVec
	clock    func() time.Time

	// mu is held from an engine step to the hand-over of its transitions,
	// so that notification gets them in the order the journal numbered
	// them: its cursor is the last it committed.
	mu sync.Mutex
}

// Start restores the engine from the journal and hands notification the
// transitions recorded after its cursor: those a crash left unnotified, and
// the resolves of alerts whose rule went while the daemon was down.
func Start(parts Parts) (*Path, alerting.RestoreStats, error) {
	unnotified, stats, err := parts.Engine.Restore(parts.Journal, parts.LegacyState, parts.Notifier.Cursor())
	if err != nil {
		return nil, stats, fmt.Errorf("restore alert state: %w", err)
	}
	p := &Path{engine: parts.Engine, notifier: parts.Notifier, store: parts.Store, latency: parts.Latency, clock: parts.Clock}
	if p.clock == nil {
		p.clock = time.Now
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Transitions of one reading go as one unit again, as they first did
	// (as near as the journal tells: notification splits a unit that
	// changes one alert twice).
	now := p.clock()
	for len(unnotified) > 0 {
		n := 1
		for n < len(unnotified) && sameCause(&unnotified[0], &unnotified[n]) {
			n++
		}
		p.emit(unnotified[:n:n], now)
		unnotified = unnotified[n:]
	}
	p.emit(p.engine.Tick(now), now)
	return p, stats, nil
}

// sameCause reports whether two transitions came from one reading.
func sameCause(a, b *alerting.Event) bool {
	return a.Site == b.Site && a.Sensor == b.Sensor && a.Measurement == b.Measurement && a.At.Equal(b.At)
}

// Observe evaluates one reading under the limits; the ingester calls it in
// order per series, before it writes the reading and acknowledges its
// message. A refused reading is an *ingest.Reject: counted, not stored.
func (p *Path) Observe(r *reading.Reading, received time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	events, err := p.engine.Accept(r, received)
	var refused *alerting.Refusal
	if errors.As(err, &refused) {
		return &ingest.Reject{Reason: refused.Reason, Err: refused}
	}
	p.emit(events, received)
	return err
}

// Tick runs the stale rules at now, the daemon's clock.
func (p *Path) Tick(now time.Time) { p.step(p.engine.Tick, now) }

// Evict forgets the idle series of sensors the catalogue does not list,
// resolving their firing alerts first.
func (p *Path) Evict(now time.Time) { p.step(p.engine.Evict, now) }

func (p *Path) step(step func(time.Time) []alerting.Event, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emit(step(now), now)
}

// Reload moves the engine to cfg's rules; the resolves of alerts whose rule
// is gone go out at once.
func (p *Path) Reload(cfg *configs.Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.engine.Reload(cfg); err != nil {
		return err
	}
	now := p.clock()
	p.emit(p.engine.Tick(now), now)
	return nil
}

// emit stores the transitions of one reading or tick and hands them to
// notification as one unit. The caller holds mu.
func (p *Path) emit(events []alerting.Event, received time.Time) {
	if len(events) == 0 {
		return
	}
	for i := range events {
		events[i].Received = received
	}
	p.store(events)
	if p.latency != nil {
		p.latency.WithLabelValues(notify.StageTransition).Observe(time.Since(received).Seconds())
	}
	p.notifier.Enqueue(events)
}

// Checkpoint writes the engine's state whole, keeping the journal that
// notification has not committed yet, and returns the snapshot's size.
func (p *Path) Checkpoint() (int64, error) {
	return p.engine.Checkpoint(p.notifier.Cursor() + 1)
}
