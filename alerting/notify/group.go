package notify

import (
	"cmp"
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

// group gathers one site's alerts arriving within a route's group_wait into
// one message: one SMS for 40 gauges, not 40.
type group struct {
	deadline time.Time
	alerts   []alerting.Event
}

// dispatch sends ev on route ri, to its escalation channels with escalate:
// after the route's group_wait together with the site's other alerts, or at
// once when the route does not group. Repeats and escalations are grouped
// too, so that a storm's repeat is one message again. An alert already in
// the group is replaced by its latest event.
func (d *Dispatcher) dispatch(ri int, ev alerting.Event, escalate bool, now time.Time) {
	r := &d.cfg.Routes[ri]
	if r.GroupWait <= 0 {
		d.send(r, groupChannels(r, escalate), []alerting.Event{ev}, now)
		return
	}
	k := groupKey{ri, ev.Site, escalate}
	g, ok := d.groups[k]
	if !ok {
		g = &group{deadline: now.Add(r.GroupWait.D())}
		d.groups[k] = g
	}
	if i := slices.IndexFunc(g.alerts, func(a alerting.Event) bool { return a.ID == ev.ID }); i >= 0 {
		g.alerts[i] = ev
		return
	}
	g.alerts = append(g.alerts, ev)
}

func groupChannels(r *configs.Route, escalate bool) []string {
	if escalate {
		return r.Escalate.Channels
	}
	return r.Channels
}

// flushGroups sends the groups whose wait is over at now, or all with force.
func (d *Dispatcher) flushGroups(now time.Time, force bool) {
	var due []groupKey
	for k, g := range d.groups {
		if force || !now.Before(g.deadline) {
			due = append(due, k)
		}
	}
	slices.SortFunc(due, func(a, b groupKey) int {
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.site, b.site), cmp.Compare(boolInt(a.escalate), boolInt(b.escalate)))
	})
	for _, k := range due {
		g := d.groups[k]
		delete(d.groups, k)
		r := &d.cfg.Routes[k.route]
		d.send(r, groupChannels(r, k.escalate), g.alerts, now)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
