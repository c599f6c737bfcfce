package alerting

import (
	"fmt"
	"math"
	"sync"
	"time"

	"hazwatch/configs"
	"hazwatch/reading"
)

// Reasons a reading is refused at the engine's door, the reason label of the
// ingest reject counters.
const (
	RefusedUnknownSensor = "unknown_sensor"  // limits.unknown_sensors: reject
	RefusedSeriesLimit   = "series_limit"    // limits.max_series reached
	RefusedNewSeriesRate = "new_series_rate" // limits.new_series_rate exceeded
	RefusedNameTooLong   = "name_too_long"   // limits.max_name_bytes
)

// Refusal says why Accept refused a reading.
type Refusal struct {
	Reason string
	Detail string
}

func (r *Refusal) Error() string { return r.Reason + ": " + r.Detail }

// admission holds what the limits count across series: how many series
// outside the catalogue there are, and the budget for new ones.
type admission struct {
	mu     sync.Mutex
	extra  int // series the catalogue does not list
	tokens float64
	last   time.Time
}

// Accept evaluates r as Observe does, once the limits let its series in:
// names no longer than limits.max_name_bytes; the catalogue's sensors
// always, the others while they are accepted, fewer than limits.max_series,
// and not appearing faster than limits.new_series_rate. A refused reading
// changes nothing.
func (e *Engine) Accept(r *reading.Reading, now time.Time) ([]Event, error) {
	rs := e.rules.Load()
	// Only a series not seen before is judged: a known one passed already.
	return e.observeReading(r, func() (bool, error) {
		if err := rs.checkNames(r); err != nil {
			return false, err
		}
		if rs.known(r.Site, r.Sensor) {
			return false, nil
		}
		return true, e.admitNew(rs, now)
	})
}

// checkNames refuses names longer than limits.max_name_bytes.
func (rs *ruleSet) checkNames(r *reading.Reading) error {
	l := rs.limits.MaxNameBytes
	if l <= 0 {
		return nil
	}
	for _, name := range [...]string{r.Site, r.Kind, r.Sensor, r.Field} {
		if len(name) > l {
			return &Refusal{RefusedNameTooLong, fmt.Sprintf("a name of %d bytes, limit %d", len(name), l)}
		}
	}
	for _, t := range r.Tags {
		if len(t.Key) > l || len(t.Value) > l {
			return &Refusal{RefusedNameTooLong, fmt.Sprintf("tag %.32q longer than %d bytes", t.Key, l)}
		}
	}
	return nil
}

// admitNew takes a place for a new series the catalogue does not list.
func (e *Engine) admitNew(rs *ruleSet, now time.Time) error {
	l := &rs.limits
	if l.UnknownSensors == configs.UnknownReject {
		return &Refusal{RefusedUnknownSensor, "not in the site catalogue"}
	}
	a := &e.admission
	a.mu.Lock()
	defer a.mu.Unlock()
	if l.MaxSeries > 0 && a.extra >= l.MaxSeries {
		return &Refusal{RefusedSeriesLimit, fmt.Sprintf("%d series outside the catalogue already", a.extra)}
	}
	if rate := l.NewSeriesRate.PerSecond; rate > 0 {
		burst := math.Max(1, float64(l.NewSeriesBurst))
		if a.last.IsZero() {
			a.tokens = burst
		} else if now.After(a.last) {
			a.tokens = math.Min(burst, a.tokens+now.Sub(a.last).Seconds()*rate)
		}
		a.last = now
		if a.tokens < 1 {
			return &Refusal{RefusedNewSeriesRate, "new series faster than " + l.NewSeriesRate.Text}
		}
		a.tokens--
	}
	a.extra++
	return nil
}

// known reports whether the catalogue lists the sensor.
func (rs *ruleSet) known(site, sensor string) bool {
	_, ok := rs.catalogue.Sensor(site, sensor)
	return ok
}

// countExtra marks a series restored or replayed as outside the catalogue
// when it is, and counts it against limits.max_series.
func (e *Engine) countExtra(s *series) {
	if s.extra = !e.rules.Load().known(s.site(), s.sensor()); s.extra {
		e.admission.mu.Lock()
		e.admission.extra++
		e.admission.mu.Unlock()
	}
}

// Evict forgets the series the catalogue does not list that have had no
// reading for limits.evict_after before now (the daemon's clock). An alert of
// such a series still firing is resolved first, and those resolves are
// returned, so that whatever the receivers were told is open ends.
func (e *Engine) Evict(now time.Time) []Event {
	rs := e.rules.Load()
	after := int64(rs.limits.EvictAfter)
	if after <= 0 {
		return nil
	}
	var out []Event
	cutoff := now.UnixNano() - after
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		for key, s := range sh.series {
			if !s.extra || s.lastAt > cutoff || rs.known(s.site(), s.sensor()) {
				continue
			}
			for j := range s.state {
				if a := &s.state[j]; a.level() != configs.LevelNone {
					out = e.transition(s, a, configs.LevelNone, detail{}, now, out)
				}
			}
			delete(sh.series, key)
			e.admission.mu.Lock()
			e.admission.extra--
			e.admission.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	return out
}
