package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// DispatcherOptions are a dispatcher's collaborators and tunables.
type DispatcherOptions struct {
	// Outbox stores pending notifications, acks and API silences. Required.
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
	Logger     *slog.Logger
	// Expiry is how long a notification is retried before it is dropped (24h).
	Expiry time.Duration
	// RetryMin and RetryMax bound the backoff between attempts (1s, 5m).
	RetryMin, RetryMax time.Duration
	// TickInterval is how often Run calls Tick (1s).
	TickInterval time.Duration
}

// Dispatcher turns alert events into notifications: it routes them, groups,
// repeats and escalates them, holds back the silenced and inhibited, and
// hands them to per-channel queues through the outbox.
type Dispatcher struct {
	opts  DispatcherOptions
	clock func() time.Time
	log   *slog.Logger
	m     *metrics
	box   *Outbox

	mu         sync.Mutex
	closed     bool
	cfg        configs.Notify
	queues     map[string]*queue
	alerts     map[string]*alertState
	acks       map[string]Ack
	handled    map[string]handled // alert id → the last transition handled
	silences   []Silence          // from the API; the config's are in cfg
	groups     map[groupKey]*group
	outages    map[string]*outage
	seen       map[string]map[string]bool // site → sensors seen in events
	broken     map[string]int             // sensorKey → its firing stale and fault alerts
	recipients map[string]*bucket         // rate text + phone → budget
	retired    []*queue                   // replaced by Reload, finishing their attempts
}

// NewDispatcher returns a dispatcher sending to chans (by channel name) as
// cfg routes, and queues the notifications its outbox still holds.
func NewDispatcher(cfg configs.Notify, chans map[string]Channel, opts DispatcherOptions) (*Dispatcher, error) {
	if opts.Outbox == nil {
		return nil, errors.New("notify: a dispatcher needs an outbox")
	}
	opts.Clock = cmpOr(opts.Clock, time.Now)
	opts.Logger = cmpOr(opts.Logger, slog.Default())
	opts.Expiry = cmpOr(opts.Expiry, 24*time.Hour)
	opts.RetryMin = cmpOr(opts.RetryMin, time.Second)
	opts.RetryMax = cmpOr(opts.RetryMax, 5*time.Minute)
	opts.TickInterval = cmpOr(opts.TickInterval, time.Second)
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{
		opts: opts, clock: opts.Clock, log: opts.Logger, m: m, box: opts.Outbox,
		cfg:        cfg,
		queues:     map[string]*queue{},
		alerts:     map[string]*alertState{},
		acks:       map[string]Ack{},
		handled:    map[string]handled{},
		groups:     map[groupKey]*group{},
		outages:    map[string]*outage{},
		seen:       map[string]map[string]bool{},
		broken:     map[string]int{},
		recipients: map[string]*bucket{},
	}
	if err := d.load(); err != nil {
		return nil, err
	}
	d.setChannels(cfg, chans)
	pending, err := d.box.entries()
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("load outbox: %w", err)
	}
	now := d.clock()
	for _, e := range pending {
		if now.Sub(e.Created) > d.opts.Expiry {
			d.drop(e, "expired")
			continue
		}
		d.requeue(e)
	}
	return d, nil
}

// cmpOr returns v, or def when v is the zero value (or a nil func).
func cmpOr[T any](v, def T) T {
	if reflect.ValueOf(&v).Elem().IsZero() {
		return def
	}
	return v
}

// load restores the acks and API silences from the outbox.
func (d *Dispatcher) load() error {
	acks, err := d.box.acks()
	if err != nil {
		return fmt.Errorf("load acks: %w", err)
	}
	for _, a := range acks {
		d.acks[a.ID] = *a
	}
	hs, err := d.box.handled()
	if err != nil {
		return fmt.Errorf("load handled transitions: %w", err)
	}
	for _, h := range hs {
		d.handled[h.ID] = *h
	}
	sils, err := d.box.silences()
	if err != nil {
		return fmt.Errorf("load silences: %w", err)
	}
	for _, s := range sils {
		d.silences = append(d.silences, *s)
	}
	return nil
}

// setChannels builds the channel queues for chans, keeping the queue of a
// channel whose sender and settings are unchanged and moving the waiting
// entries of the others to their new queues. The caller holds d.mu (or d is
// not shared yet).
func (d *Dispatcher) setChannels(cfg configs.Notify, chans map[string]Channel) {
	settings := map[string]configs.Channel{}
	for _, c := range cfg.Channels {
		settings[c.Name] = c
	}
	var moved []*entry
	for name, q := range d.queues {
		if ch, ok := chans[name]; ok && ch == q.ch && reflect.DeepEqual(settings[name], q.cfg) {
			continue
		}
		moved = append(moved, q.close()...)
		d.retired = append(d.retired, q)
		delete(d.queues, name)
	}
	for name, ch := range chans {
		if _, ok := d.queues[name]; !ok {
			cfg := settings[name]
			cfg.Name = name
			d.queues[name] = newQueue(d, ch, cfg)
		}
	}
	for _, e := range moved {
		if q, ok := d.queues[e.Channel]; ok {
			q.push(e)
		} else {
			// Kept in the outbox: sent after a restart if the channel is back.
			d.log.Warn("channel removed with notifications pending", slog.String("channel", e.Channel), slog.Uint64("entry", e.ID))
		}
	}
}

// Handle takes one alert transition. It does not wait for any channel: sends
// go through the outbox to the channels' queues.
func (d *Dispatcher) Handle(ev alerting.Event) {
	now := d.clock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.repeats(ev) {
		return
	}
	st := d.track(ev, now)
	if ev.Type == configs.TypeStale && ev.Status == alerting.StatusFiring && ev.Previous == configs.LevelNone {
		d.holdStale(st, now)
		return
	}
	if st.held && ev.Status == alerting.StatusFiring {
		return // the outage window decides, on the latest event
	}
	d.notify(st, now)
	if ev.Status == alerting.StatusResolved {
		delete(d.alerts, ev.ID)
	}
}

// handled is the last transition of an alert the dispatcher took on, kept in
// the outbox like Alertmanager's notification log.
type handled struct {
	ID     string
	Status string
	Level  configs.Level
	At     time.Time
}

// repeats reports whether ev was already handled, and otherwise records it.
// Real transitions of an alert change its status or level and come in event
// time order. A repeat, or an older one, comes from a restart after a crash:
// the engine's restored state is older than what was already notified, and
// the broker delivers again the readings that were not yet acknowledged.
// Stale alerts fire on the daemon's clock but resolve on a reading's time, so
// only their repeats are judged.
func (d *Dispatcher) repeats(ev alerting.Event) bool {
	last, ok := d.handled[ev.ID]
	if ok && (last.Status == ev.Status && last.Level == ev.Level ||
		ev.Type != configs.TypeStale && ev.At.Before(last.At)) {
		d.m.repeated.Inc()
		return true
	}
	h := handled{ID: ev.ID, Status: ev.Status, Level: ev.Level, At: ev.At}
	d.handled[ev.ID] = h
	if err := d.box.putHandled(h); err != nil {
		d.log.Error("record handled transition", "id", ev.ID, "err", err)
	}
	return false
}

// Tick does what is due at now: group_wait and outage flushes, repeats,
// escalations, notifications held back by a silence or inhibition that has
// ended, and retries in the channel queues.
func (d *Dispatcher) Tick(now time.Time) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.flushGroups(now, false)
	d.flushOutages(now)
	ids := make([]string, 0, len(d.alerts))
	for id := range d.alerts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		d.follow(d.alerts[id], now)
	}
	queues := d.queueList()
	d.mu.Unlock()
	for _, q := range queues {
		q.poke()
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

// Close stops the queues and waits for the attempts in flight; what has not
// been sent stays in the outbox for the next start. It does not close the
// outbox.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	queues := d.queueList()
	for _, q := range d.queues {
		q.close()
	}
	queues = append(queues, d.retired...)
	d.mu.Unlock()
	for _, q := range queues {
		q.wait()
	}
}

// Reload replaces the routes, config silences and channels. Groups waiting
// under the old routes are sent at once, and since route state is kept by
// route position, the repeat timers of firing alerts restart.
func (d *Dispatcher) Reload(cfg configs.Notify, chans map[string]Channel) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("notify: reload of a closed dispatcher")
	}
	now := d.clock()
	d.flushGroups(now, true)
	routesChanged := !reflect.DeepEqual(cfg.Routes, d.cfg.Routes)
	d.setChannels(cfg, chans)
	d.cfg = cfg
	if routesChanged {
		for _, st := range d.alerts {
			st.routes = map[int]*routeState{}
			d.markSent(st, now)
		}
	}
	return nil
}

func (d *Dispatcher) queueList() []*queue {
	qs := make([]*queue, 0, len(d.queues))
	for _, q := range d.queues {
		qs = append(qs, q)
	}
	return qs
}

// enqueue persists a notification for channel and queues it.
func (d *Dispatcher) enqueue(channel string, m Message, now time.Time) {
	q, ok := d.queues[channel]
	if !ok {
		d.m.count(channel, resultDropped)
		d.log.Error("route names an unknown channel", slog.String("channel", channel))
		return
	}
	e := &entry{Channel: channel, Message: m, Created: now, Next: now}
	if err := d.box.putEntry(e); err != nil {
		// Sent anyway: a notification that might repeat after a crash
		// beats one that never goes.
		d.log.Error("write notification to outbox", slog.String("channel", channel), slog.Any("err", err))
	}
	q.push(e)
}

// requeue puts e in its channel's current queue.
func (d *Dispatcher) requeue(e *entry) {
	if q, ok := d.queues[e.Channel]; ok {
		q.push(e)
	}
}

// settle records the outcome of an attempt at e: done, or due again after
// a backoff while a retry can help and e has not expired.
func (d *Dispatcher) settle(e *entry, retry bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err == nil:
		d.m.count(e.Channel, resultSent)
		d.remove(e)
	case !retry:
		d.m.count(e.Channel, resultFailed)
		d.remove(e)
	default:
		e.Attempts++
		e.Next = d.clock().Add(d.backoff(e.Attempts))
		if e.Next.Sub(e.Created) > d.opts.Expiry {
			d.drop(e, "expired")
			return
		}
		d.m.count(e.Channel, resultRetried)
		if err := d.box.putEntry(e); err != nil {
			d.log.Error("update notification in outbox", slog.String("channel", e.Channel), slog.Any("err", err))
		}
		if !d.closed {
			d.requeue(e)
		}
	}
}

func (d *Dispatcher) drop(e *entry, why string) {
	d.m.count(e.Channel, resultDropped)
	d.log.Warn("notification dropped", slog.String("channel", e.Channel), slog.Uint64("entry", e.ID), slog.String("reason", why))
	d.remove(e)
}

func (d *Dispatcher) remove(e *entry) {
	if err := d.box.deleteEntry(e.ID); err != nil {
		d.log.Error("delete notification from outbox", slog.String("channel", e.Channel), slog.Any("err", err))
	}
}

// backoff is RetryMin doubled for each failed attempt after the first, up to RetryMax.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	b := d.opts.RetryMin
	for range attempts - 1 {
		if b >= d.opts.RetryMax/2 {
			return d.opts.RetryMax
		}
		b *= 2
	}
	return min(b, d.opts.RetryMax)
}
