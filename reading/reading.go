// Package reading defines the one value that flows through hazwatch: a sensor's
// measurement at a time, with the tags that identify its series.
package reading

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Tag is one InfluxDB tag beyond the fixed site, kind and sensor tags.
type Tag struct {
	Key, Value string
}

// Reading is one measured value of one sensor at one time.
//
// Site, Kind and Sensor are the series identity used by the catalogue and the
// rules; Tags holds the subscription's other topic tags and the configured
// static tags, sorted by key, so that the same series always encodes the same.
type Reading struct {
	Measurement string
	Site        string
	Kind        string
	Sensor      string
	Tags        []Tag
	// Field is the InfluxDB field name: "value", or the JSON field the value came from.
	Field string
	Value float64
	Time  time.Time
}

// Tag returns the value of tag key: site, kind, sensor, field or one of Tags.
func (r *Reading) Tag(key string) (string, bool) {
	switch key {
	case "site":
		return r.Site, true
	case "kind":
		return r.Kind, true
	case "sensor":
		return r.Sensor, true
	case "field":
		return r.Field, true
	}
	for _, t := range r.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// SeriesKey identifies the reading's series: measurement, tags and field. Two
// readings with the same key are points of one series.
func (r *Reading) SeriesKey() string { return string(AppendSeriesKey(nil, r)) }

// AppendSeriesKey appends r's SeriesKey to b without allocating beyond b.
// Inside names the separators (',', '=', ' ') and '\\' are escaped with
// '\\', so that no two series share a key: site "zz,gas_lel" with sensor
// "victim" is not site "zz" with sensor "gas_lel,victim". Names without those
// characters, nearly all, stand in the key as they are.
func AppendSeriesKey(b []byte, r *Reading) []byte {
	b = appendKeyPart(b, r.Measurement)
	b = append(b, ',')
	b = appendKeyPart(b, r.Site)
	b = append(b, ',')
	b = appendKeyPart(b, r.Kind)
	b = append(b, ',')
	b = appendKeyPart(b, r.Sensor)
	for _, t := range r.Tags {
		b = append(b, ',')
		b = appendKeyPart(b, t.Key)
		b = append(b, '=')
		b = appendKeyPart(b, t.Value)
	}
	b = append(b, ' ')
	return appendKeyPart(b, r.Field)
}

func appendKeyPart(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ", =\\") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ',', ' ', '=', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// AppendLine appends the reading as one InfluxDB line-protocol line, ending in
// '\n', with nanosecond precision. Tags are written in key order, which is
// what InfluxDB stores anyway, so the server does no sorting.
func (r *Reading) AppendLine(b []byte) []byte {
	b = appendEscaped(b, r.Measurement, measurementEscapes)
	tags := [...]Tag{{"kind", r.Kind}, {"sensor", r.Sensor}, {"site", r.Site}}
	i := 0
	for _, t := range r.Tags {
		for i < len(tags) && tags[i].Key < t.Key {
			b = appendTag(b, tags[i])
			i++
		}
		b = appendTag(b, t)
	}
	for ; i < len(tags); i++ {
		b = appendTag(b, tags[i])
	}
	b = append(b, ' ')
	b = appendEscaped(b, r.Field, tagEscapes)
	b = append(b, '=')
	b = AppendFloat(b, r.Value)
	b = append(b, ' ')
	b = strconv.AppendInt(b, r.Time.UnixNano(), 10)
	return append(b, '\n')
}

// AppendFloat appends v as a line-protocol float field value. It is always
// written with a decimal point or exponent so InfluxDB types the field as float
// even when the first value of a series happens to be whole.
func AppendFloat(b []byte, v float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	for _, c := range b[start:] {
		if c == '.' || c == 'e' || c == 'n' || c == 'I' {
			return b
		}
	}
	return append(b, ".0"...)
}

func appendTag(b []byte, t Tag) []byte {
	if t.Value == "" {
		return b // line protocol has no empty tag values
	}
	b = append(b, ',')
	b = appendEscaped(b, t.Key, tagEscapes)
	b = append(b, '=')
	return appendEscaped(b, t.Value, tagEscapes)
}

// Bytes that line protocol escapes with a backslash: in measurement names a
// comma or space, in tag keys and values and field keys also '='. Newlines,
// which it cannot carry at all, are marked too.
var (
	measurementEscapes = escapeSet(", ")
	tagEscapes         = escapeSet(",= ")
)

func escapeSet(special string) *[256]bool {
	var set [256]bool
	for _, c := range []byte(special + "\n\r") {
		set[c] = true
	}
	return &set
}

// appendEscaped escapes the bytes of s in special and turns newlines into
// spaces. Most names need nothing, and are appended whole.
func appendEscaped(b []byte, s string, special *[256]bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !special[c] {
			continue
		}
		b = append(b, s[start:i]...)
		if c == '\n' || c == '\r' {
			c = ' '
		}
		b = append(b, '\\', c)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// The first and last times a Reading can carry: those whose UnixNano, the
// time AppendLine writes, does not overflow (about 1677 to 2262).
var (
	MinTime = time.Unix(0, math.MinInt64)
	MaxTime = time.Unix(0, math.MaxInt64)
)

// Valid reports whether v can be stored and evaluated: NaN and ±Inf cannot.
func Valid(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}
