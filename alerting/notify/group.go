package notify

import (
	"cmp"
	"slices"
	"time"

	"hazwatch/alerting"
)

// groupKey is one site's alerts on one route.
type groupKey struct {
	route int
	site  string
}

// group gathers one site's alerts arriving within a route's group_wait into
// one message: one SMS for 40 gauges, not 40.
type group struct {
	deadline time.Time
	alerts   []alerting.Event
}

// addToGroup adds ev to its site's group on route ri, replacing an earlier
// event of the same alert, and starts the group's wait if it is new.
func (d *Dispatcher) addToGroup(ri int, ev alerting.Event, now time.Time) {
	k := groupKey{ri, ev.Site}
	g, ok := d.groups[k]
	if !ok {
		g = &group{deadline: now.Add(d.cfg.Routes[ri].GroupWait.D())}
		d.groups[k] = g
	}
	if i := slices.IndexFunc(g.alerts, func(a alerting.Event) bool { return a.ID == ev.ID }); i >= 0 {
		g.alerts[i] = ev
		return
	}
	g.alerts = append(g.alerts, ev)
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
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.site, b.site))
	})
	for _, k := range due {
		g := d.groups[k]
		delete(d.groups, k)
		r := &d.cfg.Routes[k.route]
		d.send(r, r.Channels, g.alerts, now)
	}
}
