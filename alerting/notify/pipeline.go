package notify

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"hazwatch/alerting"
)

// maxBatchUnits bounds the units the pipeline takes into one batch, so that
// a storm is committed in steps and its first notifications go early (a
// batch of 128 commits in a few milliseconds; the whole storm costs about
// the same whatever the size, BenchmarkStorm).
const maxBatchUnits = 128

// lagWarning is the lag (reading received → committed) above which the
// pipeline warns, at most once per lagWarnEvery.
const (
	lagWarning   = time.Second
	lagWarnEvery = 10 * time.Second
)

// unit is one hand-over to the pipeline: the transitions of one reading or
// engine tick, or work of the dispatcher's own (a Tick, a Reload, a Flush).
type unit struct {
	events []alerting.Event
	fn     func()
	done   chan struct{} // closed once the unit's batch is committed
}

// intake is the bounded queue between the engine and the pipeline.
type intake struct {
	m      *metrics
	ch     chan unit
	mu     sync.RWMutex // put holds it shared; close exclusively
	closed bool
}

func newIntake(size int, m *metrics) *intake {
	return &intake{m: m, ch: make(chan unit, size)}
}

// put hands u to the pipeline, blocking while the intake is full; false
// once the intake is closed.
func (in *intake) put(u unit) bool {
	in.mu.RLock()
	defer in.mu.RUnlock()
	if in.closed {
		return false
	}
	in.m.intake.Add(float64(len(u.events)))
	select {
	case in.ch <- u:
		return true
	default:
	}
	start := time.Now()
	in.ch <- u
	in.m.blocked.Observe(time.Since(start).Seconds())
	return true
}

// close stops put; the pipeline takes what is queued, then stops.
func (in *intake) close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.closed {
		in.closed = true
		close(in.ch)
	}
}

// do runs fn (if any) on the pipeline goroutine after everything enqueued
// before it, and returns once its batch is committed; false if the
// dispatcher is closed.
func (d *Dispatcher) do(fn func()) bool {
	done := make(chan struct{})
	if !d.in.put(unit{fn: fn, done: done}) {
		return false
	}
	<-done
	return true
}

// run is the pipeline goroutine: it takes what the intake holds, up to
// maxBatchUnits, processes it as one batch, and so on until the intake
// closes.
func (d *Dispatcher) run() {
	defer close(d.closed)
	commits := make(chan committing, 1)
	committed := make(chan struct{})
	go d.commitLoop(commits, committed)
	defer func() {
		close(commits)
		<-committed
	}()
	d.commits = commits
	for u := range d.in.ch {
		d.gate.Lock()
		batch := []unit{u}
	drain:
		for len(batch) < maxBatchUnits {
			select {
			case u, ok := <-d.in.ch:
				if !ok {
					break drain
				}
				batch = append(batch, u)
			default:
				break drain
			}
		}
		d.process(batch)
		d.gate.Unlock()
	}
}

// process decides a batch in memory, commits it in one transaction, then
// hands its notifications to the channel queues.
func (d *Dispatcher) process(batch []unit) {
	d.now = d.clock()
	d.b = &batchWrite{alerts: map[string]*tracked{}, groups: map[string]*storedGroup{}}
	d.received = d.received[:0]
	events := 0
	for _, u := range batch {
		if u.fn != nil {
			u.fn()
		}
		if len(u.events) > 0 {
			d.handle(u.events)
			events += len(u.events)
		}
	}
	d.m.intake.Sub(float64(events))
	c := committing{events: events, received: slices.Clone(d.received)}
	for _, u := range batch {
		if u.done != nil {
			c.done = append(c.done, u.done)
		}
	}
	c.w, c.entries = d.prepare()
	// The committer writes this batch while the next is decided: its fsyncs
	// need not wait for the deciding, nor the deciding for them.
	d.commits <- c
}

// committing is a batch on its way to the disk and then to the queues.
type committing struct {
	w        *encodedWrite // nil: nothing to write
	entries  []*entry
	events   int
	received []time.Time
	done     []chan struct{} // closed once committed and queued
}

// handle applies the events of one unit, then decides each: the alerts a
// reading changes together are judged together (a fault that fires with a
// threshold inhibits it whatever the order of the rules). A unit that
// changes one alert twice (a replay after a crash cannot always tell
// readings apart) is split before the second change, so that each change is
// decided on its own state.
func (d *Dispatcher) handle(events []alerting.Event) {
	for len(events) > 0 {
		n := 1
		for n < len(events) && !slices.ContainsFunc(events[:n], func(e alerting.Event) bool { return e.ID == events[n].ID }) {
			n++
		}
		d.handleDistinct(events[:n])
		events = events[n:]
	}
}

// handleDistinct applies and decides events of distinct alerts.
func (d *Dispatcher) handleDistinct(events []alerting.Event) {
	sts := make([]*tracked, len(events))
	last := d.lastSeq
	for i := range events {
		ev := &events[i]
		// Within a unit the order is the engine's (a tick sorts by site
		// and sensor); units come in journal order, so the cursor is the
		// highest sequence handled.
		if ev.Seq != 0 {
			if ev.Seq <= last {
				d.m.outOfOrder.Inc()
			}
			d.lastSeq = max(d.lastSeq, ev.Seq)
			d.b.cursor, d.b.setCur = max(d.b.cursor, ev.Seq), true
		}
		if !ev.Received.IsZero() {
			d.received = append(d.received, ev.Received)
		}
		sts[i] = d.apply(*ev)
	}
	for i := range events {
		d.decide(sts[i], &events[i])
	}
}

// tick does what is due at now (see Tick).
func (d *Dispatcher) tick(now time.Time) {
	d.now = now
	d.flushGroups(false)
	d.flushWindows()
	for _, st := range d.track.sorted() {
		if d.track.get(st.Ev.ID) != st {
			continue // ended by an outage resolved earlier in this loop
		}
		if st.Members != nil {
			d.checkOutage(st)
		}
		if d.track.get(st.Ev.ID) == st {
			d.follow(st)
		}
	}
}

// prepare takes the batch's changes and encodes them, on the pipeline
// goroutine that owns the state they come from.
func (d *Dispatcher) prepare() (*encodedWrite, []*entry) {
	d.track.changes(d.b)
	d.groups.changes(d.b)
	w := d.b
	w.nextID = d.nextID
	if w.empty() {
		return nil, nil
	}
	e, err := w.encode()
	if err != nil {
		// Every field encodes; were one not to, the batch is sent uncommitted.
		d.log.Error("encode notifications for the outbox", slog.Any("err", err))
	}
	return e, w.entries
}

// commitLoop writes the batches in the order they come, one transaction
// each, and hands their entries to the queues. A failed commit still sends
// them: a notification that might repeat after a crash beats one that never
// goes.
func (d *Dispatcher) commitLoop(commits <-chan committing, done chan<- struct{}) {
	defer close(done)
	for c := range commits {
		if c.w != nil {
			d.commit(c)
		} else if len(c.entries) > 0 {
			d.queues.push(c.entries)
		}
		for _, ch := range c.done {
			close(ch)
		}
	}
}

func (d *Dispatcher) commit(c committing) {
	w := c.w
	if w.setCur && d.opts.WaitDurable != nil {
		if err := d.opts.WaitDurable(w.cursor); err != nil {
			d.log.Error("notifying transitions the alert journal could not make durable", slog.Uint64("seq", w.cursor), slog.Any("err", err))
		}
	}
	if err := d.box.commit(w); err != nil {
		d.m.commits.WithLabelValues("failed").Inc()
		d.log.Error("commit notifications to the outbox", slog.Int("transitions", c.events), slog.Int("notifications", len(c.entries)), slog.Any("err", err))
	} else {
		d.m.commits.WithLabelValues("ok").Inc()
		if w.setCur {
			d.cursor.Store(w.cursor)
		}
	}
	if c.events > 0 {
		d.m.batch.Observe(float64(c.events))
	}
	var lag time.Duration
	for _, r := range c.received {
		l := time.Since(r)
		d.m.latency.WithLabelValues(StageCommitted).Observe(l.Seconds())
		lag = max(lag, l)
	}
	if wall := time.Now(); lag > lagWarning && wall.Sub(d.lastWarn) >= lagWarnEvery {
		d.lastWarn = wall
		d.log.Warn("notification lags behind the readings", slog.Duration("lag", lag), slog.Int("batch", c.events))
	}
	d.queues.push(c.entries)
}
