package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// DispatcherOptions are a dispatcher's collaborators and tunables.
type DispatcherOptions struct {
	// Outbox stores pending notifications, tracking state, acks, API
	// silences and the cursor. Required; one dispatcher per outbox.
	Outbox *Outbox
	// Contacts returns a site's (and sensor's) catalogue phone numbers, for
	// routes with contacts: site.
	Contacts func(site, sensor string) []string
	// SiteSensors returns how many sensors a site has; nil counts the
	// sensors of the site seen in events so far.
	SiteSensors func(site string) int
	// Clock is the time; nil is time.Now.
	Clock      func() time.Time
	Registerer prometheus.Registerer
	// Latency is hazwatch_alert_latency_seconds (see NewLatencyHistogram),
	// shared with the engine; the dispatcher observes stages committed and
	// sent. Nil: the dispatcher makes its own and registers it.
	Latency *prometheus.HistogramVec
	Logger  *slog.Logger
	// Expiry is how long a notification is retried before it is dropped (24h).
	Expiry time.Duration
	// RetryMin and RetryMax bound the backoff between attempts (1s, 5m).
	RetryMin, RetryMax time.Duration
	// TickInterval is how often Run calls Tick (1s).
	TickInterval time.Duration
	// IntakeSize bounds the units of transitions waiting for the pipeline
	// (4096); Enqueue blocks while it is full.
	IntakeSize int
	// WaitDurable, when set, returns once the transitions up to seq are
	// durable where they are recorded (the alert journal). The pipeline calls
	// it before it commits a batch, so that nothing is notified, and no
	// cursor committed, that a crash could take back from the engine.
	WaitDurable func(seq uint64) error
}

// Dispatcher turns alert transitions into notifications through a pipeline
// of stages, each with its own state: tracking (track.go), acks (ack.go),
// silences (silence.go), inhibition and site roll-up (inhibit.go,
// rollup.go), routing and grouping (route.go, group.go), the outbox
// (outbox.go, writer.go) and the channel queues (queue.go).
//
// Transitions come in through a bounded intake (Enqueue) and are taken by
// one pipeline goroutine in batches: each batch is decided in memory, then
// its new notifications, the tracking state it changed and the cursor are
// committed in one outbox transaction, and only then are the notifications
// handed to the channel queues. Listing alerts (AckOf, Silenced, Silences)
// reads the acks and silences stages and never waits for the disk, a send
// or the pipeline.
type Dispatcher struct {
	opts  DispatcherOptions
	clock func() time.Time
	log   *slog.Logger
	m     *metrics
	box   *Outbox

	in     *intake
	acks   *acks
	sil    *silences
	queues *queues
	cursor atomic.Uint64 // committed
	closed chan struct{} // the pipeline has stopped
	// gate is held by the pipeline while it works on a batch; tests hold
	// it to gather what they enqueue into one batch.
	gate sync.Mutex

	// Owned by the pipeline goroutine.
	cfg        configs.Notify
	now        time.Time
	b          *batchWrite
	received   []time.Time // of the batch's transitions, for the latency metric
	lastSeq    uint64
	nextID     uint64
	track      *tracker
	inhibit    *inhibitor
	roll       *rollup
	groups     *groups
	recipients map[string]*bucket // rate text + phone → budget
	commits    chan<- committing  // to the committer

	// Owned by the committer goroutine.
	lastWarn time.Time // of the lag warning
}

// NewDispatcher returns a dispatcher sending to chans (by channel name) as
// cfg routes. It resumes from what its outbox holds: the tracked alerts
// with their repeat schedules, the groups waiting and the notifications
// not yet sent, which it queues at once.
func NewDispatcher(cfg configs.Notify, chans map[string]Channel, opts DispatcherOptions) (*Dispatcher, error) {
	if opts.Outbox == nil {
		return nil, errors.New("notify: a dispatcher needs an outbox")
	}
	snap := opts.Outbox.snap
	if snap == nil {
		return nil, errors.New("notify: the outbox is already in use by a dispatcher")
	}
	opts.Outbox.snap = nil
	opts.Clock = cmpOr(opts.Clock, time.Now)
	opts.Logger = cmpOr(opts.Logger, slog.Default())
	opts.Expiry = cmpOr(opts.Expiry, 24*time.Hour)
	opts.RetryMin = cmpOr(opts.RetryMin, time.Second)
	opts.RetryMax = cmpOr(opts.RetryMax, 5*time.Minute)
	opts.TickInterval = cmpOr(opts.TickInterval, time.Second)
	opts.IntakeSize = cmpOr(opts.IntakeSize, 4096)
	m, err := newMetrics(opts.Registerer, opts.Latency)
	if err != nil {
		return nil, err
	}
	box := opts.Outbox
	box.log.Store(opts.Logger)
	d := &Dispatcher{
		opts: opts, clock: opts.Clock, log: opts.Logger, m: m, box: box,
		in:     newIntake(opts.IntakeSize, m),
		acks:   newAcks(box, snap.acks),
		sil:    newSilences(box, cfg.Silences, snap.silences),
		closed: make(chan struct{}),
		queues: &queues{
			clock: opts.Clock, log: opts.Logger, m: m, w: box.w,
			expiry: opts.Expiry, retryMin: opts.RetryMin, retryMax: opts.RetryMax,
			byName: map[string]*queue{},
		},
		cfg:        cfg,
		nextID:     snap.nextID,
		lastSeq:    snap.cursor,
		track:      newTracker(snap.alerts),
		roll:       newRollup(snap.alerts),
		groups:     newGroups(snap.groups),
		recipients: map[string]*bucket{},
	}
	d.cursor.Store(snap.cursor)
	d.inhibit = newInhibitor(d.track.alerts)
	for _, note := range box.damage {
		m.damaged.Inc()
		d.log.Error("damaged outbox", slog.String("path", box.path), slog.String("damage", note))
	}
	if snap.inFlight > 0 {
		m.resent.Add(float64(snap.inFlight))
		d.log.Warn("notifications that were being sent when the daemon stopped are sent again with the same id",
			slog.Int("count", snap.inFlight))
	}
	d.queues.set(cfg, chans)
	now := d.clock()
	var pending []*entry
	for _, e := range snap.entries {
		if now.Sub(e.Created) > d.opts.Expiry {
			d.queues.drop(e, "expired")
			continue
		}
		pending = append(pending, e)
	}
	d.queues.push(pending)
	go d.run()
	return d, nil
}

// cmpOr returns v, or def when v is the zero value (or a nil func).
func cmpOr[T any](v, def T) T {
	if reflect.ValueOf(&v).Elem().IsZero() {
		return def
	}
	return v
}

// Enqueue hands notification the transitions caused by one reading (or one
// engine tick), as a unit: all of them are tracked before any notification
// is decided, so that the outcome does not depend on the order of the rules.
// It returns at once unless the intake is full; then it blocks until the
// pipeline takes a batch, holding back ingest (the broker keeps the
// messages): a transition is never dropped. The time blocked is in
// hazwatch_notify_intake_blocked_seconds.
//
// Enqueue takes events over: the caller must not change the slice after.
// Call it in the order of the events' Seq (the engine's journal; Seq 0, not
// journaled, is processed without moving the cursor): Cursor is the last
// Seq of the last committed batch, so a unit enqueued out of Seq order is
// counted in hazwatch_notify_out_of_order_transitions_total, and could be
// skipped or handled twice by a replay after a crash.
func (d *Dispatcher) Enqueue(events []alerting.Event) {
	if len(events) == 0 {
		return
	}
	if !d.in.put(unit{events: events}) {
		d.log.Error("transitions handed to a closed dispatcher", slog.Int("count", len(events)))
	}
}

// Cursor returns the Seq of the last transition whose effects (tracking
// state and notifications) are committed to the outbox; at start, what the
// outbox held. The daemon replays the engine's journal from Cursor()+1.
func (d *Dispatcher) Cursor() uint64 { return d.cursor.Load() }

// Flush returns once every unit enqueued before it is committed and handed
// to its channels' queues.
func (d *Dispatcher) Flush() { d.do(nil) }

// Tick does what is due at now: group_wait and outage windows, repeats,
// escalations, notifications held back by a silence or inhibition that has
// ended, outages to resolve, and retries in the channel queues. It returns
// once that is committed.
func (d *Dispatcher) Tick(now time.Time) {
	if d.do(func() { d.tick(now) }) {
		d.queues.poke()
	}
}

// Run calls Tick every TickInterval until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.opts.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			d.Tick(d.clock())
		}
	}
}

// Close stops taking transitions, lets the pipeline commit what was
// enqueued, stops the queues and waits for the attempts in flight; what has
// not been sent stays in the outbox for the next start. It does not close
// the outbox.
func (d *Dispatcher) Close() {
	d.in.close()
	<-d.closed
	d.queues.close()
}

// Reload replaces the routes, config silences and channels. Groups waiting
// under the old routes are sent at once, and since route state is kept by
// route position, a change of routes counts the firing alerts as sent on
// their new routes from now: their repeat timers restart.
func (d *Dispatcher) Reload(cfg configs.Notify, chans map[string]Channel) error {
	ok := d.do(func() {
		d.flushGroups(true)
		routesChanged := !reflect.DeepEqual(cfg.Routes, d.cfg.Routes)
		d.queues.set(cfg, chans)
		d.sil.setConfig(cfg.Silences)
		d.cfg = cfg
		if !routesChanged {
			return
		}
		for _, st := range d.track.alerts {
			told := st.announced()
			st.Routes = nil
			d.track.touch(st)
			if !st.firing() || !told {
				// Never told (silenced or inhibited all along): follow
				// announces it on its new routes once nothing holds it.
				continue
			}
			for _, ri := range d.routesFor(&st.Ev) {
				rs := st.route(ri)
				rs.Announced, rs.Level, rs.SentAt = true, st.Ev.Level, d.now
			}
		}
	})
	if !ok {
		return fmt.Errorf("notify: reload of a closed dispatcher")
	}
	return nil
}

// Ack records that operator acknowledged the alert id. The alert need not
// have reached this dispatcher yet: the ack applies from its next event,
// and lasts until the alert rises or resolves. It returns once the ack is
// on disk, without waiting for the pipeline or any send.
func (d *Dispatcher) Ack(id, operator, comment string) error {
	if operator == "" {
		return ErrNoOperator
	}
	return d.acks.add(Ack{ID: id, Operator: operator, Comment: comment, At: d.clock()})
}

// AckOf returns the acknowledgement in effect for the alert id, if any. It
// never waits for the disk or the pipeline.
func (d *Dispatcher) AckOf(id string) (Ack, bool) { return d.acks.get(id) }
