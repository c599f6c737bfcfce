package notify

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// Site roll-up. When at least outageMinSensors sensors, and at least half of
// a site's sensors, are stale at the end of the outage window that a new
// stale alert opened, the site's new stale alerts are folded into one
// tracked alert of its own, site-outage/<site>:
//
//   - it is announced, repeated, escalated and silenced like any alert; its
//     message names the silent sensors (the first few, then 等 N 个);
//   - the stale alerts folded into it are never notified on their own: not
//     their firing, repeats or resolve;
//   - new stale alerts of the site fold into it while it is open;
//   - it resolves (one site-level 数据恢复) when its last folded sensor is
//     back, or once too few of the site's sensors have been stale for a
//     whole outage window (a gateway that came back but left a few detectors
//     dead). The sensors still silent then are announced one by one: their
//     own firing messages supersede the site's.
//
// Stale alerts already announced one by one before the outage opened keep
// their own lives (they count towards the threshold but are not folded):
// what a receiver was told is firing is told resolved by the same alert.
const outageMinSensors = 3

// defaultOutageWindow is notify.outage_window when the config sets none.
const defaultOutageWindow = time.Minute

// outageNamed is how many sensors an outage message names before 等 N 个.
const outageNamed = 3

const outagePrefix = "site-outage/"

func outageID(site string) string { return outagePrefix + site }

// window gathers a site's new stale alerts during its outage window.
type window struct {
	deadline time.Time
	ids      []string
}

// rollup is the roll-up stage's memory: the open outage windows. The rest
// of its state is in the tracked alerts (HoldUntil, Folded, Members), so it
// is rebuilt from them at start. Owned by the pipeline goroutine.
type rollup struct {
	windows map[string]*window // by site
}

func newRollup(alerts []*tracked) *rollup {
	r := &rollup{windows: map[string]*window{}}
	for _, st := range alerts {
		if !st.held() {
			continue
		}
		w, ok := r.windows[st.Ev.Site]
		if !ok || st.HoldUntil.Before(w.deadline) {
			if !ok {
				w = &window{}
				r.windows[st.Ev.Site] = w
			}
			w.deadline = st.HoldUntil
		}
		w.ids = append(w.ids, st.Ev.ID)
	}
	return r
}

func (d *Dispatcher) outageWindow() time.Duration {
	return cmpOr(d.cfg.OutageWindow.D(), defaultOutageWindow)
}

// holdStale holds a new stale alert for the outage window of its site, or
// folds it into the site's open outage.
func (d *Dispatcher) holdStale(st *tracked) {
	site := st.Ev.Site
	if o := d.track.get(outageID(site)); o != nil && o.firing() {
		d.fold(st, o)
		return
	}
	w, ok := d.roll.windows[site]
	if !ok {
		w = &window{deadline: d.now.Add(d.outageWindow())}
		d.roll.windows[site] = w
	}
	st.HoldUntil = w.deadline
	w.ids = append(w.ids, st.Ev.ID)
}

func (d *Dispatcher) fold(st, o *tracked) {
	st.Folded, st.HoldUntil = o.Ev.ID, time.Time{}
	d.track.touch(st)
	o.Members = append(o.Members, st.Ev.ID)
	d.refreshOutage(o)
}

// flushWindows decides, for each site whose outage window is over, between
// a site outage and the held stale alerts one by one.
func (d *Dispatcher) flushWindows() {
	var sites []string
	for site, w := range d.roll.windows {
		if !d.now.Before(w.deadline) {
			sites = append(sites, site)
		}
	}
	slices.Sort(sites)
	for _, site := range sites {
		w := d.roll.windows[site]
		delete(d.roll.windows, site)
		var held []*tracked
		for _, id := range w.ids {
			if st := d.track.get(id); st != nil && st.held() {
				st.HoldUntil = time.Time{}
				d.track.touch(st)
				held = append(held, st)
			}
		}
		if len(held) == 0 {
			continue
		}
		if !d.isOutage(site) {
			for _, st := range held {
				d.announce(st, time.Time{})
			}
			continue
		}
		o := d.track.get(outageID(site))
		if o == nil || !o.firing() {
			o = &tracked{Since: d.now, Ev: alerting.Event{
				ID: outageID(site), Rule: "site_outage", Type: configs.TypeStale, Status: alerting.StatusFiring,
				Site: site, SiteName: cmpOr(held[0].Ev.SiteName, site), StartedAt: d.now,
			}}
			d.track.put(o)
		}
		for _, st := range held {
			d.fold(st, o)
		}
		d.announce(o, time.Time{})
	}
}

// isOutage reports whether enough of site's sensors are stale to call it
// an outage.
func (d *Dispatcher) isOutage(site string) bool {
	stale := d.staleSensors(site)
	return stale >= outageMinSensors && 2*stale >= d.siteSize(site)
}

// staleSensors counts the sensors of site with a firing stale alert.
func (d *Dispatcher) staleSensors(site string) int {
	sensors := map[string]bool{}
	for _, st := range d.track.alerts {
		if st.Ev.Site == site && st.Ev.Sensor != "" && st.Ev.Type == configs.TypeStale && st.firing() {
			sensors[st.Ev.Sensor] = true
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
	return len(d.inhibit.seen[site])
}

// leaveOutage takes a resolved folded alert out of its outage; the outage
// ends with its last member.
func (d *Dispatcher) leaveOutage(st *tracked) {
	o := d.track.get(st.Folded)
	if o == nil {
		return
	}
	o.Members = slices.DeleteFunc(o.Members, func(id string) bool { return id == st.Ev.ID })
	if len(o.Members) == 0 {
		d.endOutage(o)
		return
	}
	d.refreshOutage(o)
}

// checkOutage ends o once too few of its site's sensors have been stale for
// a whole outage window.
func (d *Dispatcher) checkOutage(o *tracked) {
	switch {
	case d.isOutage(o.Ev.Site):
		if !o.BelowSince.IsZero() {
			o.BelowSince = time.Time{}
			d.track.touch(o)
		}
	case o.BelowSince.IsZero():
		o.BelowSince = d.now
		d.track.touch(o)
	case d.now.Sub(o.BelowSince) >= d.outageWindow():
		d.endOutage(o)
	}
}

// endOutage sends the site-level resolve where the outage was announced and
// announces the sensors still silent one by one.
func (d *Dispatcher) endOutage(o *tracked) {
	members := o.Members
	o.Members = nil
	ev := &o.Ev
	ev.Status, ev.Previous, ev.At = alerting.StatusResolved, ev.Level, d.now
	ev.Message = fmt.Sprintf("【预警解除】%s 数据恢复", ev.SiteName)
	d.resolve(o, time.Time{})
	for _, id := range members {
		if st := d.track.get(id); st != nil {
			st.Folded = ""
			d.track.touch(st)
			d.announce(st, time.Time{})
		}
	}
}

// refreshOutage rewrites o's event from its members: the highest level,
// how many sensors are silent and the first few of their names.
func (d *Dispatcher) refreshOutage(o *tracked) {
	var names []string
	var level configs.Level
	for _, id := range o.Members {
		if st := d.track.get(id); st != nil {
			names = append(names, cmpOr(st.Ev.SensorName, st.Ev.Sensor))
			level = max(level, st.Ev.Level)
		}
	}
	n := len(names)
	list := strings.Join(names[:min(n, outageNamed)], "、")
	if n > outageNamed {
		list += fmt.Sprintf(" 等 %d 个", n)
	}
	ev := &o.Ev
	ev.Level, ev.Value, ev.At = max(level, configs.LevelBlue), float64(n), d.now
	ev.Message = fmt.Sprintf("【数据中断】%s %d 个传感器数据中断，疑似网关或供电故障：%s", ev.SiteName, n, list)
	d.track.touch(o)
}
