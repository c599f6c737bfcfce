package notify

import (
	"slices"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// tracked is what the tracking stage keeps of one alert that is firing (or
// resolving within the batch being processed): its latest transition, what
// each route was told, its repeat and escalation schedule, and its place in
// a site roll-up. It is stored in the outbox with the batch that changed it,
// so that a restart resumes exactly where the last commit left off.
type tracked struct {
	Ev alerting.Event `json:"ev"` // the latest transition
	// Since is when the alert fired or last rose: escalation counts from it.
	Since  time.Time           `json:"since"`
	Routes map[int]*routeState `json:"routes,omitempty"` // by route position
	// HoldUntil is set while a new stale alert waits for its site's outage
	// window to end, to see whether the site is going stale as a whole.
	HoldUntil time.Time `json:"hold_until,omitzero"`
	// Folded is the id of the site outage that stands for this stale alert:
	// it is never notified on its own while folded.
	Folded string `json:"folded,omitempty"`
	// Members and BelowSince are set for a site outage: the stale alerts
	// folded into it, and since when too few of the site's sensors are stale
	// to call it an outage.
	Members    []string  `json:"members,omitempty"`
	BelowSince time.Time `json:"below_since,omitzero"`
}

// routeState is one alert's history on one route.
type routeState struct {
	// Announced says that a firing message of the alert went to the
	// route's channels (is in the outbox): only then is a resolve sent.
	Announced bool `json:"announced,omitempty"`
	// Level is the level last sent, or waiting in a group to be sent.
	Level     configs.Level `json:"level,omitempty"`
	SentAt    time.Time     `json:"sent_at,omitzero"`
	Escalated bool          `json:"escalated,omitempty"`
	// EscalationTold says that the escalation channels were told the alert
	// is firing; unlike Escalated a rise does not clear it, since they are
	// owed its resolve all the same.
	EscalationTold bool `json:"escalation_told,omitempty"`
}

// announced reports whether a firing message of the alert went on any route.
func (t *tracked) announced() bool {
	for _, rs := range t.Routes {
		if rs.Announced {
			return true
		}
	}
	return false
}

func (t *tracked) route(i int) *routeState {
	if t.Routes == nil {
		t.Routes = map[int]*routeState{}
	}
	rs, ok := t.Routes[i]
	if !ok {
		rs = &routeState{}
		t.Routes[i] = rs
	}
	return rs
}

func (t *tracked) held() bool   { return !t.HoldUntil.IsZero() }
func (t *tracked) firing() bool { return t.Ev.Status == alerting.StatusFiring }

// tracker is the tracking stage: the firing alerts, owned by the pipeline
// goroutine (nothing else reads them), and which of them the current batch
// changed.
type tracker struct {
	alerts map[string]*tracked
	dirty  map[string]bool
}

func newTracker(stored []*tracked) *tracker {
	t := &tracker{alerts: map[string]*tracked{}, dirty: map[string]bool{}}
	for _, a := range stored {
		t.alerts[a.Ev.ID] = a
	}
	return t
}

func (t *tracker) get(id string) *tracked { return t.alerts[id] }

func (t *tracker) put(a *tracked) {
	t.alerts[a.Ev.ID] = a
	t.dirty[a.Ev.ID] = true
}

func (t *tracker) touch(a *tracked) { t.dirty[a.Ev.ID] = true }

func (t *tracker) remove(id string) {
	delete(t.alerts, id)
	t.dirty[id] = true
}

// sorted returns the alerts in id order, for a reproducible Tick.
func (t *tracker) sorted() []*tracked {
	ids := make([]string, 0, len(t.alerts))
	for id := range t.alerts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]*tracked, len(ids))
	for i, id := range ids {
		out[i] = t.alerts[id]
	}
	return out
}

// changes moves the batch's changed alerts into w (nil for removed ones).
func (t *tracker) changes(w *batchWrite) {
	for id := range t.dirty {
		w.alerts[id] = t.alerts[id]
	}
	clear(t.dirty)
}

// apply records ev in the tracking stage (and the inhibition counts) and
// returns its alert. A rise (a new alert included) or a resolve ends an
// acknowledgement. Nothing is decided here: the decisions of a unit come
// after all its events are applied.
func (d *Dispatcher) apply(ev alerting.Event) *tracked {
	d.inhibit.noteSensor(&ev)
	st := d.track.get(ev.ID)
	if st == nil {
		d.inhibit.change(nil, &ev)
		st = &tracked{Since: d.now}
	} else {
		d.inhibit.change(&st.Ev, &ev)
	}
	st.Ev = ev
	d.track.put(st)
	if ev.Rose() || ev.Status == alerting.StatusResolved {
		d.unack(ev.ID)
	}
	if ev.Rose() {
		st.Since = d.now
		for _, rs := range st.Routes {
			rs.Escalated = false
		}
	}
	return st
}

func (d *Dispatcher) unack(id string) {
	if a, ok := d.acks.end(id); ok {
		d.b.unacks = append(d.b.unacks, a)
	}
}

// decide does what ev, already applied to st, calls for.
func (d *Dispatcher) decide(st *tracked, ev *alerting.Event) {
	switch {
	case ev.Status == alerting.StatusResolved:
		d.resolve(st, ev.Received)
	case st.Folded != "" || st.held():
		// The site outage (or its window) speaks for it.
	case ev.Type == configs.TypeStale && ev.Previous == configs.LevelNone:
		d.holdStale(st)
	default:
		d.announce(st, ev.Received)
	}
}

// announce sends st's firing state on each of its routes: a new alert, a
// rise and a fall (sent as a firing message at the lower level, so that the
// people on duty see it ease) alike. A silenced or inhibited alert is
// counted, not sent; Tick sends it once nothing holds it back.
func (d *Dispatcher) announce(st *tracked, received time.Time) {
	routes := d.routesFor(&st.Ev)
	if d.suppressed(&st.Ev) {
		for _, ri := range routes {
			for _, ch := range d.cfg.Routes[ri].Channels {
				d.m.count(ch, resultSuppressed)
			}
		}
		return
	}
	for _, ri := range routes {
		d.dispatch(ri, st, false, received)
	}
}

// resolve tells each route that was told st is firing that it resolved,
// whatever silences or inhibitions say now: nothing a receiver was told is
// firing is left open. An alert never announced ends silently, and a
// folded one ends with its site outage.
func (d *Dispatcher) resolve(st *tracked, received time.Time) {
	defer d.track.remove(st.Ev.ID)
	if st.Folded != "" {
		d.leaveOutage(st)
		return
	}
	ris := make([]int, 0, len(st.Routes))
	for ri := range st.Routes {
		ris = append(ris, ri)
	}
	slices.Sort(ris)
	for _, ri := range ris {
		rs := st.Routes[ri]
		switch {
		case ri >= len(d.cfg.Routes):
		case !rs.Announced:
			// Its first message may still wait in a group: it goes no more.
			d.ungroup(ri, &st.Ev)
		case sendResolved(&d.cfg.Routes[ri]):
			d.dispatch(ri, st, false, received)
			if rs.EscalationTold && d.cfg.Routes[ri].Escalate != nil {
				d.dispatch(ri, st, true, received)
			}
		}
	}
}

// follow does what is due for one firing alert at d.now: its first message
// (or its current level) once nothing holds it back any more, its repeats
// and its escalation.
func (d *Dispatcher) follow(st *tracked) {
	if !st.firing() || st.held() || st.Folded != "" || d.suppressed(&st.Ev) {
		return
	}
	acked := d.acked(st)
	for _, ri := range d.routesFor(&st.Ev) {
		r := &d.cfg.Routes[ri]
		rs := st.route(ri)
		switch {
		case rs.Level != st.Ev.Level:
			d.dispatch(ri, st, false, time.Time{})
		case acked:
			continue
		case r.Repeat > 0 && rs.Announced && d.now.Sub(rs.SentAt) >= r.Repeat.D():
			d.dispatch(ri, st, false, time.Time{})
		}
		if e := r.Escalate; e != nil && !acked && !rs.Escalated && d.now.Sub(st.Since) >= e.After.D() {
			d.dispatch(ri, st, true, time.Time{})
		}
	}
}

// acked reports whether st is acknowledged: a site outage, which the alert
// list does not show, is once each of its silent sensors is.
func (d *Dispatcher) acked(st *tracked) bool {
	if _, ok := d.acks.get(st.Ev.ID); ok || len(st.Members) == 0 {
		return ok
	}
	for _, id := range st.Members {
		if _, ok := d.acks.get(id); !ok {
			return false
		}
	}
	return true
}

// levelOf is the highest level among alerts.
func levelOf(alerts []alerting.Event) configs.Level {
	var l configs.Level
	for _, a := range alerts {
		l = max(l, a.Level)
	}
	return l
}
