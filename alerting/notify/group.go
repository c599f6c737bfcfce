package notify

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// groupKey is one site's alerts on one route, for its channels or for its
// escalation channels.
type groupKey struct {
	route    int
	site     string
	escalate bool
}

func (k groupKey) String() string { return fmt.Sprintf("%d/%t/%s", k.route, k.escalate, k.site) }

// group gathers one site's alerts arriving within a route's group_wait into
// one message: one SMS for 40 gauges, not 40.
type group struct {
	deadline time.Time
	alerts   []alerting.Event
	received time.Time // the earliest reading behind it, zero if none
}

// storedGroup is a group as the outbox keeps it, so that a restart sends
// what was waiting.
type storedGroup struct {
	Route    int              `json:"route"`
	Site     string           `json:"site"`
	Escalate bool             `json:"escalate"`
	Deadline time.Time        `json:"deadline"`
	Alerts   []alerting.Event `json:"alerts"`
	Received time.Time        `json:"received,omitzero"`
}

// groups is the grouping stage's state, owned by the pipeline goroutine.
type groups struct {
	byKey map[groupKey]*group
	dirty map[groupKey]bool
}

func newGroups(stored []*storedGroup) *groups {
	g := &groups{byKey: map[groupKey]*group{}, dirty: map[groupKey]bool{}}
	for _, s := range stored {
		g.byKey[groupKey{s.Route, s.Site, s.Escalate}] = &group{deadline: s.Deadline, alerts: s.Alerts, received: s.Received}
	}
	return g
}

// changes moves the batch's changed groups into w (nil for sent ones).
func (g *groups) changes(w *batchWrite) {
	for k := range g.dirty {
		var s *storedGroup
		if gr, ok := g.byKey[k]; ok {
			s = &storedGroup{Route: k.route, Site: k.site, Escalate: k.escalate, Deadline: gr.deadline, Alerts: gr.alerts, Received: gr.received}
		}
		w.groups[k.String()] = s
	}
	clear(g.dirty)
}

// dispatch sends st's latest event on route ri, to its escalation channels
// with escalate: after the route's group_wait together with the site's
// other alerts, or at once when the route does not group. Repeats and
// escalations are grouped too, so that a storm's repeat is one message
// again. An alert already in the group is replaced by its latest event.
func (d *Dispatcher) dispatch(ri int, st *tracked, escalate bool, received time.Time) {
	r := &d.cfg.Routes[ri]
	rs := st.route(ri)
	d.track.touch(st)
	if escalate {
		rs.Escalated, rs.EscalationTold = true, true
	} else {
		rs.Level, rs.SentAt = st.Ev.Level, d.now
	}
	ev := st.Ev
	if r.GroupWait <= 0 {
		if !escalate && ev.Status == alerting.StatusFiring {
			rs.Announced = true
		}
		d.send(r, groupChannels(r, escalate), []alerting.Event{ev}, received)
		return
	}
	k := groupKey{ri, ev.Site, escalate}
	g, ok := d.groups.byKey[k]
	if !ok {
		g = &group{deadline: d.now.Add(r.GroupWait.D())}
		d.groups.byKey[k] = g
	}
	d.groups.dirty[k] = true
	if !received.IsZero() && (g.received.IsZero() || received.Before(g.received)) {
		g.received = received
	}
	// The latest event of the alert replaces the one waiting, unless that
	// is a resolve: an alert that fires again within the wait is news after it.
	if i := lastOf(g.alerts, ev.ID); i >= 0 && g.alerts[i].Status == alerting.StatusFiring {
		g.alerts[i] = ev
		return
	}
	g.alerts = append(g.alerts, ev)
}

// lastOf returns the index of the last event of alert id in alerts, or -1.
func lastOf(alerts []alerting.Event, id string) int {
	for i := len(alerts) - 1; i >= 0; i-- {
		if alerts[i].ID == id {
			return i
		}
	}
	return -1
}

// ungroup takes the firing events of ev's alert out of the group they wait
// in on route ri, if any; a resolve of its earlier life stays.
func (d *Dispatcher) ungroup(ri int, ev *alerting.Event) {
	k := groupKey{ri, ev.Site, false}
	g, ok := d.groups.byKey[k]
	if !ok {
		return
	}
	g.alerts = slices.DeleteFunc(g.alerts, func(a alerting.Event) bool { return a.ID == ev.ID && a.Status == alerting.StatusFiring })
	d.groups.dirty[k] = true
	if len(g.alerts) == 0 {
		delete(d.groups.byKey, k)
	}
}

func groupChannels(r *configs.Route, escalate bool) []string {
	if escalate {
		return r.Escalate.Channels
	}
	return r.Channels
}

// flushGroups sends the groups whose wait is over, or all with force. The
// firing alerts in a group sent on a route's own channels are announced
// there from now on.
func (d *Dispatcher) flushGroups(force bool) {
	var due []groupKey
	for k, g := range d.groups.byKey {
		if force || !d.now.Before(g.deadline) {
			due = append(due, k)
		}
	}
	slices.SortFunc(due, func(a, b groupKey) int {
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.site, b.site), cmp.Compare(boolInt(a.escalate), boolInt(b.escalate)))
	})
	for _, k := range due {
		g := d.groups.byKey[k]
		delete(d.groups.byKey, k)
		d.groups.dirty[k] = true
		if k.route >= len(d.cfg.Routes) {
			continue // the route went with a reload that did not flush: cannot happen, but never index past it
		}
		if !k.escalate {
			for i := range g.alerts {
				if st := d.track.get(g.alerts[i].ID); st != nil && g.alerts[i].Status == alerting.StatusFiring {
					st.route(k.route).Announced = true
					d.track.touch(st)
				}
			}
		}
		r := &d.cfg.Routes[k.route]
		d.send(r, groupChannels(r, k.escalate), g.alerts, g.received)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
