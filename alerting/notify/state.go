package notify

import (
	"errors"
	"fmt"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// alertState is what the dispatcher remembers of one firing alert.
type alertState struct {
	ev alerting.Event // the latest transition
	// since is when the alert fired or last rose: escalation counts from it.
	since time.Time
	// held is set while a new stale alert waits to see whether its site is
	// going stale as a whole.
	held   bool
	routes map[int]*routeState // by route position
}

// routeState is one alert's history on one route.
type routeState struct {
	notified  bool // a notification went (or is grouped to go) on this route
	sentAt    time.Time
	escalated bool
}

func (st *alertState) route(i int) *routeState {
	rs, ok := st.routes[i]
	if !ok {
		rs = &routeState{}
		st.routes[i] = rs
	}
	return rs
}

// Ack is an operator's acknowledgement of an alert: it stops the alert's
// repeats and escalation until its level rises.
type Ack struct {
	ID       string    `json:"id"`
	Operator string    `json:"operator"`
	Comment  string    `json:"comment"`
	At       time.Time `json:"at"`
}

// ErrNoOperator is returned by Ack without an operator's name.
var ErrNoOperator = errors.New("notify: an acknowledgement needs the operator's name")

// Ack records that operator acknowledged the alert id. The alert need not
// have reached this dispatcher yet (after a restart, say): the ack applies
// from its next event, and lasts until the alert rises or resolves.
func (d *Dispatcher) Ack(id, operator, comment string) error {
	if operator == "" {
		return ErrNoOperator
	}
	a := Ack{ID: id, Operator: operator, Comment: comment, At: d.clock()}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.box.putAck(a); err != nil {
		return fmt.Errorf("store ack of %s: %w", id, err)
	}
	d.acks[id] = a
	return nil
}

// AckOf returns the acknowledgement in effect for the alert id, if any.
func (d *Dispatcher) AckOf(id string) (Ack, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.acks[id]
	return a, ok
}

// track records ev and returns its alert's state. A rise (a new alert
// included) or a resolve ends an acknowledgement.
func (d *Dispatcher) track(ev alerting.Event, now time.Time) *alertState {
	d.noteSensor(&ev)
	st, ok := d.alerts[ev.ID]
	if ok {
		d.countBroken(&st.ev, &ev)
	} else {
		d.countBroken(nil, &ev)
		st = &alertState{since: now, routes: map[int]*routeState{}}
		d.alerts[ev.ID] = st
	}
	st.ev = ev
	if ev.Rose() || ev.Status == alerting.StatusResolved {
		d.unack(ev.ID)
	}
	if ev.Rose() {
		st.since = now
		for _, rs := range st.routes {
			rs.escalated = false
		}
	}
	return st
}

// Resume takes the alerts already firing when the daemon starts (the alert
// engine's restored state). They were notified before the restart, so they
// are not sent again; their repeats and escalation count from now.
func (d *Dispatcher) Resume(active []alerting.Event) {
	now := d.clock()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ev := range active {
		if ev.Status != alerting.StatusFiring {
			continue
		}
		if _, ok := d.alerts[ev.ID]; ok {
			continue
		}
		d.noteSensor(&ev)
		d.countBroken(nil, &ev)
		st := &alertState{ev: ev, since: now, routes: map[int]*routeState{}}
		d.markSent(st, now)
		d.alerts[ev.ID] = st
	}
}

// markSent records that st's alert was notified at now on each route it
// takes, so that its repeats count from now.
func (d *Dispatcher) markSent(st *alertState, now time.Time) {
	for _, ri := range d.routesFor(&st.ev) {
		rs := st.route(ri)
		rs.notified, rs.sentAt = true, now
	}
}

// noteSensor counts ev's sensor among its site's sensors seen so far.
func (d *Dispatcher) noteSensor(ev *alerting.Event) {
	if ev.Site == "" || ev.Sensor == "" {
		return
	}
	if d.seen[ev.Site] == nil {
		d.seen[ev.Site] = map[string]bool{}
	}
	d.seen[ev.Site][ev.Sensor] = true
}

func (d *Dispatcher) unack(id string) {
	if _, ok := d.acks[id]; !ok {
		return
	}
	delete(d.acks, id)
	if err := d.box.deleteAck(id); err != nil {
		d.log.Error("delete ack", "alert", id, "err", err)
	}
}

// follow does what is due for one firing alert at now: its first
// notification once nothing holds it back any more, its repeats and its
// escalation.
func (d *Dispatcher) follow(st *alertState, now time.Time) {
	if st.held || st.ev.Status != alerting.StatusFiring || d.suppressed(&st.ev, now) {
		return
	}
	_, acked := d.acks[st.ev.ID]
	for _, ri := range d.routesFor(&st.ev) {
		r := &d.cfg.Routes[ri]
		rs := st.route(ri)
		switch {
		case !rs.notified:
			rs.notified, rs.sentAt = true, now
			d.dispatch(ri, st.ev, false, now)
		case acked:
			continue
		case r.Repeat > 0 && now.Sub(rs.sentAt) >= r.Repeat.D():
			rs.sentAt = now
			d.dispatch(ri, st.ev, false, now)
		}
		if e := r.Escalate; e != nil && !acked && !rs.escalated && now.Sub(st.since) >= e.After.D() {
			rs.escalated = true
			d.dispatch(ri, st.ev, true, now)
		}
	}
}

// levelOf is the highest level among alerts.
func levelOf(alerts []alerting.Event) configs.Level {
	var l configs.Level
	for _, a := range alerts {
		l = max(l, a.Level)
	}
	return l
}
