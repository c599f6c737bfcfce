package alerting

import (
	"encoding/hex"
	"hash/fnv"
	"time"

	"hazwatch/configs"
)

// alert is the state of one rule on one series. Most alerts are idle (not
// firing, nothing pending) most of the time, so what only a pending or
// firing alert needs is kept behind st, nil while idle: at 100k series with
// three rules each, that is the difference between fitting in 1 KiB of state
// per series or not.
type alert struct {
	rule *rule
	fit  *fit // rate and predict rules; shared by the series' rules of one window
	st   *alertState
}

// alertState is the state of an alert that is pending or firing.
type alertState struct {
	level configs.Level // in effect; LevelNone when not firing
	// below and threshold describe the level in effect, for its resolve.
	below     bool
	threshold float64
	startedAt int64
	m         machine
	// last is the latest transition while firing, for Active and restarts.
	last *Event
}

// level returns the level in effect, LevelNone for an idle alert.
func (a *alert) level() configs.Level {
	if a.st == nil {
		return configs.LevelNone
	}
	return a.st.level
}

// active returns the alert's state, allocating it for an idle alert.
func (a *alert) active() *alertState {
	if a.st == nil {
		a.st = &alertState{}
	}
	return a.st
}

// settle drops the state of an alert that has become idle: not firing and
// no rise pending. The machine's other timers (since when the target has
// been at or below each level) are only read to lower a level in effect, and
// any rise renews them first, so a fresh machine later judges every reading
// as the dropped one would have.
func (a *alert) settle() {
	if a.st != nil && a.st.level == configs.LevelNone && a.st.m.UpHeld == 0 {
		a.st = nil
	}
}

// detail is what a rule found on a reading, beyond the target level.
type detail struct {
	threshold float64
	below     bool
	slope     float64
	eta       time.Duration
	hasETA    bool
}

// evaluate runs one rule on the series' newest reading at t.
func (e *Engine) evaluate(s *series, a *alert, t int64, out []Event) []Event {
	r, v, level := a.rule, s.value, a.level()
	var target configs.Level
	var d detail
	switch r.typ {
	case configs.TypeThreshold:
		target, d.threshold, d.below = r.thresholdTarget(v, level)
	case configs.TypeRate, configs.TypePredict:
		slope, last, ok := a.fit.line(r.minSamples)
		if !ok {
			break
		}
		d.slope = slope
		if r.typ == configs.TypeRate {
			target, d.threshold, d.below = r.rateTarget(slope)
			break
		}
		d.threshold, d.below = r.target, slope < 0
		// Only a line moving towards the target reaches it. Once past it
		// while still moving the same way, the alert holds: the value has
		// got where the prediction said, which is no reason to resolve.
		secs := (r.target - last) / slope
		switch {
		case secs > 0 && secs*1e9 <= float64(r.horizon):
			target, d.eta, d.hasETA = r.level, time.Duration(secs*1e9), true
		case secs <= 0 && level != configs.LevelNone && a.st.below == d.below:
			target, d.hasETA = level, true
		}
	case configs.TypeStale:
		if level != configs.LevelNone {
			return e.transition(s, a, configs.LevelNone, d, s.at, out)
		}
		return out
	case configs.TypeFault:
		if k, ok := s.rules.kinds(s.kind()); ok && k.Range != [2]float64{} && (v < k.Range[0] || v > k.Range[1]) {
			target, d.threshold, d.below = r.level, k.Range[1], v < k.Range[0]
			if d.below {
				d.threshold = k.Range[0]
			}
		} else if r.stuckFor > 0 && t-s.changedAt >= r.stuckFor {
			target, d.threshold = r.level, v
		}
	}
	if a.st == nil && target == configs.LevelNone {
		// An idle alert stays idle: nothing to step.
		return out
	}
	st := a.active()
	to := st.m.step(r, level, target, t)
	if to == level {
		a.settle()
		return out
	}
	if to != target && r.typ == configs.TypeThreshold {
		// A fall to an intermediate level reports that level's threshold.
		d.threshold, d.below = r.levelThreshold(to, v)
	}
	return e.transition(s, a, to, d, s.at, out)
}

// levelThreshold returns the threshold of level l that applies to v.
func (r *rule) levelThreshold(l configs.Level, v float64) (float64, bool) {
	if r.hasBelow&(1<<l) != 0 && (r.hasAbove&(1<<l) == 0 || v <= r.below[l]+r.hysteresis[l]) {
		return r.below[l], true
	}
	return r.above[l], false
}

// transition moves the alert to level to (LevelNone resolves it) and appends
// the event that says so.
func (e *Engine) transition(s *series, a *alert, to configs.Level, d detail, at time.Time, out []Event) []Event {
	if e.restoring {
		// The journal's own record of this transition, if there was one,
		// follows and sets the level.
		return out
	}
	st := a.active()
	from := st.level
	ev := Event{
		ID:          eventID(a.rule.name, s.key),
		Rule:        a.rule.name,
		Type:        a.rule.typ,
		Status:      StatusFiring,
		Level:       to,
		Previous:    from,
		Measurement: s.measurement(),
		Site:        s.site(),
		Kind:        s.kind(),
		Sensor:      s.sensor(),
		Tags:        s.tags,
		SiteName:    s.rules.catalogue.SiteName(s.site()),
		SensorName:  s.rules.catalogue.SensorName(s.site(), s.sensor()),
		Value:       s.value,
		Threshold:   d.threshold,
		ETA:         d.eta,
		HasETA:      d.hasETA,
		Slope:       d.slope,
		At:          at,
	}
	kind, _ := s.rules.kinds(s.kind())
	ev.Unit = kind.Unit
	if from == configs.LevelNone {
		st.startedAt = at.UnixNano()
	}
	ev.StartedAt = time.Unix(0, st.startedAt).In(at.Location())
	below := d.below
	if to == configs.LevelNone {
		ev.Status, ev.Level, ev.Threshold, below = StatusResolved, from, st.threshold, st.below
		st.last = nil
	} else {
		st.threshold, st.below = d.threshold, d.below
	}
	st.level = to
	ev.Message = message(&ev, &kind, a.rule, below)
	if ev.Type == configs.TypeRate {
		displayRate(&ev, a.rule)
	}
	if e.journal != nil {
		e.record(s, &ev, below)
	}
	if to != configs.LevelNone {
		st.last = &ev
	}
	a.settle()
	e.metrics.record(&ev)
	return append(out, ev)
}

// eventID is a short stable hash of the rule and the series.
func eventID(rule, seriesKey string) string {
	h := fnv.New64a()
	h.Write([]byte(rule))
	h.Write([]byte{0})
	h.Write([]byte(seriesKey))
	var b [8]byte
	sum := h.Sum64()
	for i := range b {
		b[i] = byte(sum >> (8 * i))
	}
	return hex.EncodeToString(b[:6])
}
