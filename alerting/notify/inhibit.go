package notify

import (
	"hazwatch/alerting"
	"hazwatch/configs"
)

// inhibitor is the inhibition stage: which sensors have a firing stale or
// fault alert (a dead detector is one message, not three) and which sensors
// each site has shown so far. Owned by the pipeline goroutine; rebuilt from
// the tracked alerts at start.
type inhibitor struct {
	broken map[string]int             // sensorKey → its firing stale and fault alerts
	seen   map[string]map[string]bool // site → sensors seen in events
}

func newInhibitor(alerts map[string]*tracked) *inhibitor {
	in := &inhibitor{broken: map[string]int{}, seen: map[string]map[string]bool{}}
	for _, st := range alerts {
		in.noteSensor(&st.Ev)
		in.change(nil, &st.Ev)
	}
	return in
}

// breaks reports whether ev is an alert that makes its sensor's other
// alerts meaningless: a stale (no data) or fault (detector fault) alert.
func breaks(ev *alerting.Event) bool {
	return ev.Type == configs.TypeStale || ev.Type == configs.TypeFault
}

// sensorKey identifies an event's sensor.
func sensorKey(ev *alerting.Event) string { return ev.Site + "\x00" + ev.Sensor }

// inhibited reports whether ev is held back by a firing stale or fault alert
// on the same sensor.
func (in *inhibitor) inhibited(ev *alerting.Event) bool {
	return !breaks(ev) && ev.Sensor != "" && in.broken[sensorKey(ev)] > 0
}

// change keeps the counts as an alert's event changes from old (nil: new
// alert) to ev.
func (in *inhibitor) change(old, ev *alerting.Event) {
	if old != nil && breaks(old) && old.Status == alerting.StatusFiring && old.Sensor != "" {
		k := sensorKey(old)
		if in.broken[k]--; in.broken[k] <= 0 {
			delete(in.broken, k)
		}
	}
	if breaks(ev) && ev.Status == alerting.StatusFiring && ev.Sensor != "" {
		in.broken[sensorKey(ev)]++
	}
}

// noteSensor counts ev's sensor among its site's sensors seen so far.
func (in *inhibitor) noteSensor(ev *alerting.Event) {
	if ev.Site == "" || ev.Sensor == "" {
		return
	}
	if in.seen[ev.Site] == nil {
		in.seen[ev.Site] = map[string]bool{}
	}
	in.seen[ev.Site][ev.Sensor] = true
}

// suppressed reports whether ev's notifications are held back now.
func (d *Dispatcher) suppressed(ev *alerting.Event) bool {
	return d.inhibit.inhibited(ev) || d.sil.silenced(ev, d.now)
}
