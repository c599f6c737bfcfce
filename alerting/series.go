package alerting

import (
	"slices"
	"strings"
	"time"

	"hazwatch/reading"
)

// series is what the engine keeps of one series: its identity, its rules and
// the state of each rule on it. The identity's strings are substrings of the
// key rather than strings of their own, so that a series holds one string
// and keeps nothing of the reading it was first seen in.
type series struct {
	key string
	// ends marks the identity in key: the ends of the measurement, site,
	// kind and sensor, and the start of the field.
	ends  [5]uint32
	tags  []reading.Tag // strings in key
	rules *ruleSet
	state []alert
	// value and at are the series' latest in-order reading.
	value float64
	at    time.Time
	// lastAt is the time of the latest in-order reading (Unix ns); readings
	// at or before it are out of order.
	lastAt int64
	// changedAt is when the value last changed, for stuck sensors.
	changedAt int64
	// jid numbers the series in the journal; 0 until the journal names it.
	jid uint32
	// extra marks a series of a sensor the catalogue does not list: counted
	// against limits.max_series and evicted once idle.
	extra bool
	// escaped holds the identity of a series whose names hold a character
	// the key escapes, whose strings are then not substrings of the key.
	escaped *reading.Reading
}

// newSeries returns the series of key, which appendSeriesKey made from r,
// with r as its latest reading.
func newSeries(key string, r *reading.Reading) *series {
	s := &series{key: key, value: r.Value, at: r.Time}
	if strings.IndexByte(key, '\\') >= 0 {
		id := *r
		id.Measurement, id.Site, id.Kind, id.Sensor = strings.Clone(r.Measurement), strings.Clone(r.Site), strings.Clone(r.Kind), strings.Clone(r.Sensor)
		id.Field = strings.Clone(r.Field)
		id.Tags = make([]reading.Tag, len(r.Tags))
		for i, t := range r.Tags {
			id.Tags[i] = reading.Tag{Key: strings.Clone(t.Key), Value: strings.Clone(t.Value)}
		}
		s.escaped, s.tags = &id, id.Tags
		return s
	}
	end := len(r.Measurement)
	for i, part := range [...]string{r.Site, r.Kind, r.Sensor} {
		s.ends[i] = uint32(end)
		end += 1 + len(part)
	}
	s.ends[3] = uint32(end)
	s.ends[4] = uint32(len(key) - len(r.Field))
	s.tags = slices.Clone(r.Tags)
	for i := range s.tags {
		t := &s.tags[i]
		k := end + 1
		v := k + len(t.Key) + 1
		end = v + len(t.Value)
		t.Key, t.Value = key[k:v-1], key[v:end]
	}
	return s
}

// identity returns the series' latest reading, with its identity.
func (s *series) identity() reading.Reading {
	if s.escaped != nil {
		id := *s.escaped
		id.Value, id.Time = s.value, s.at
		return id
	}
	return reading.Reading{
		Measurement: s.measurement(),
		Site:        s.site(),
		Kind:        s.kind(),
		Sensor:      s.sensor(),
		Tags:        s.tags,
		Field:       s.key[s.ends[4]:],
		Value:       s.value,
		Time:        s.at,
	}
}

func (s *series) measurement() string {
	if s.escaped != nil {
		return s.escaped.Measurement
	}
	return s.key[:s.ends[0]]
}

func (s *series) site() string {
	if s.escaped != nil {
		return s.escaped.Site
	}
	return s.key[s.ends[0]+1 : s.ends[1]]
}

func (s *series) kind() string {
	if s.escaped != nil {
		return s.escaped.Kind
	}
	return s.key[s.ends[1]+1 : s.ends[2]]
}

func (s *series) sensor() string {
	if s.escaped != nil {
		return s.escaped.Sensor
	}
	return s.key[s.ends[2]+1 : s.ends[3]]
}

// tag returns the value of tag key, as reading.Reading.Tag does.
func (s *series) tag(key string) (string, bool) {
	id := s.identity()
	return id.Tag(key)
}
