package alerting

import (
	"bytes"
	"math"

	"hazwatch/reading"
)

// AlertsMeasurement is the InfluxDB measurement of alert transitions (SPEC §4).
const AlertsMeasurement = "alerts"

// AppendLine appends the event as one InfluxDB line-protocol line of
// measurement alerts, ending in '\n': tags rule, site, kind, sensor, level
// and state; fields value, threshold, message and, for predictions,
// eta_seconds; the time of the transition in nanoseconds.
func (e *Event) AppendLine(b []byte) []byte {
	r := reading.Reading{
		Measurement: AlertsMeasurement,
		Site:        e.Site,
		Kind:        e.Kind,
		Sensor:      e.Sensor,
		Tags:        []reading.Tag{{Key: "level", Value: e.Level.String()}, {Key: "rule", Value: e.Rule}, {Key: "state", Value: e.Status}},
		Field:       "value",
		Value:       e.Value,
		Time:        e.At,
	}
	// The reading writes the measurement, the tags in key order and the value
	// field; the other fields go between the value and the time.
	line := r.AppendLine(nil)
	cut := bytes.LastIndexByte(line, ' ')
	b = append(b, line[:cut]...)
	b = append(b, ",threshold="...)
	b = reading.AppendFloat(b, e.Threshold)
	b = append(b, `,message="`...)
	b = appendFieldString(b, e.Message)
	b = append(b, '"')
	if e.HasETA {
		b = append(b, ",eta_seconds="...)
		b = reading.AppendFloat(b, math.Round(e.ETA.Seconds()))
	}
	return append(b, line[cut:]...)
}

// appendFieldString escapes a string field value: quotes and backslashes
// get a backslash, and newlines, which line protocol cannot carry, become
// spaces.
func appendFieldString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n', '\r':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return b
}
