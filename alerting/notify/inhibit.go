package notify

import (
	"fmt"
	"slices"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// Site outages: when at least outageMinSensors sensors, and at least half of
// a site's sensors, go stale within the outage window, one site-level
// message replaces one per sensor.
const outageMinSensors = 3

// outage gathers a site's new stale alerts during the outage window.
type outage struct {
	deadline time.Time
	ids      []string
}

// breaks reports whether ev is an alert that makes its sensor's other
// alerts meaningless: a stale (no data) or fault (detector fault) alert.
func breaks(ev *alerting.Event) bool {
	return ev.Type == configs.TypeStale || ev.Type == configs.TypeFault
}

// inhibited reports whether ev is held back by a firing stale or fault alert
// on the same sensor: a dead detector is one message, not three.
func (d *Dispatcher) inhibited(ev *alerting.Event) bool {
	return !breaks(ev) && ev.Sensor != "" && d.broken[sensorKey(ev)] > 0
}

// sensorKey identifies an event's sensor.
func sensorKey(ev *alerting.Event) string { return ev.Site + "\x00" + ev.Sensor }

// countBroken keeps d.broken, the firing stale and fault alerts per sensor,
// as an alert's event changes from old to ev.
func (d *Dispatcher) countBroken(old, ev *alerting.Event) {
	if old != nil && breaks(old) && old.Status == alerting.StatusFiring {
		k := sensorKey(old)
		if d.broken[k]--; d.broken[k] <= 0 {
			delete(d.broken, k)
		}
	}
	if breaks(ev) && ev.Status == alerting.StatusFiring {
		d.broken[sensorKey(ev)]++
	}
}

// defaultOutageWindow is notify.outage_window when the config sets none.
const defaultOutageWindow = time.Minute

// holdStale holds a new stale alert for the outage window of its site.
func (d *Dispatcher) holdStale(st *alertState, now time.Time) {
	st.held = true
	o, ok := d.outages[st.ev.Site]
	if !ok {
		o = &outage{deadline: now.Add(cmpOr(d.cfg.OutageWindow.D(), defaultOutageWindow))}
		d.outages[st.ev.Site] = o
	}
	o.ids = append(o.ids, st.ev.ID)
}

// flushOutages decides, for each site whose outage window is over at now,
// between one site-level message and the held stale alerts one by one.
func (d *Dispatcher) flushOutages(now time.Time) {
	var sites []string
	for site, o := range d.outages {
		if !now.Before(o.deadline) {
			sites = append(sites, site)
		}
	}
	slices.Sort(sites)
	for _, site := range sites {
		o := d.outages[site]
		delete(d.outages, site)
		var held []*alertState
		for _, id := range o.ids {
			if st, ok := d.alerts[id]; ok && st.held {
				st.held = false
				held = append(held, st)
			}
		}
		if len(held) == 0 {
			continue
		}
		stale := d.staleSensors(site)
		if stale < outageMinSensors || 2*stale < d.siteSize(site) {
			for _, st := range held {
				d.notify(st, now)
			}
			continue
		}
		// The site message stands for the sensors' own first notifications;
		// their repeats and resolves still go one by one.
		events := make([]alerting.Event, len(held))
		for i, st := range held {
			events[i] = st.ev
			d.markSent(st, now)
		}
		d.notify(&alertState{ev: outageEvent(site, stale, events, now), routes: map[int]*routeState{}}, now)
	}
}

// staleSensors counts the sensors of site with a firing stale alert.
func (d *Dispatcher) staleSensors(site string) int {
	sensors := map[string]bool{}
	for _, st := range d.alerts {
		if st.ev.Site == site && st.ev.Type == configs.TypeStale && st.ev.Status == alerting.StatusFiring {
			sensors[st.ev.Sensor] = true
		}
	}
	return len(sensors)
}

// siteSize is the site's number of sensors: from the catalogue, or those
// seen in events so far.
func (d *Dispatcher) siteSize(site string) int {
	if d.opts.SiteSensors != nil {
		if n := d.opts.SiteSensors(site); n > 0 {
			return n
		}
	}
	return len(d.seen[site])
}

// outageEvent is the site-level alert that stands for a site's stale
// sensors. It has no sensor, so routes and silences match it by site, level
// and type stale; it is sent once and never resolves.
func outageEvent(site string, stale int, events []alerting.Event, now time.Time) alerting.Event {
	name := events[0].SiteName
	if name == "" {
		name = site
	}
	return alerting.Event{
		ID:        "site-outage/" + site,
		Rule:      "site_outage",
		Type:      configs.TypeStale,
		Status:    alerting.StatusFiring,
		Level:     levelOf(events),
		Site:      site,
		SiteName:  name,
		Value:     float64(stale),
		StartedAt: now,
		At:        now,
		Message:   fmt.Sprintf("【数据中断】%s %d 个传感器数据中断，疑似网关或供电故障", name, stale),
	}
}
