package ingest

import (
	"slices"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"hazwatch/reading"
)

// Line decodes InfluxDB line protocol, one or more lines, each numeric field
// of each line giving one reading of that field, sorted by field name within
// the line. Integers, unsigned integers and booleans (1 and 0) become floats;
// string fields are ignored, but a line with nothing but string fields is
// ReasonNonNumeric. Timestamps are in nanoseconds; a line without one has the
// time of arrival.
//
// A line's tags add to the topic's: a site, kind or sensor tag fills what the
// topic leaves empty, and other tags join Tags, but the topic (and the static
// tags) win on conflict, so that a device cannot write into another site's
// series. The parser admits only names and values that line protocol can
// carry back to InfluxDB (FuzzDecodeLine checks that it round-trips). The
// measurement is always the kind's; the line's own measurement
// name is used only as the kind when neither the topic nor a kind tag names
// one. One bad line rejects the whole message.
func (d *Decoders) Line(payload []byte, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error) {
	return whole(len(out)).of(d.decodeLines(payload, base, arrival, out))
}

func (d *Decoders) decodeLines(payload []byte, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error) {
	start := len(out)
	dec := lineprotocol.NewDecoderWithBytes(payload)
	for dec.Next() {
		name, err := dec.Measurement()
		if err != nil {
			return out, malformedLine(err)
		}
		r := *base // the line's template reading
		var kindName string
		if r.Kind == "" { // name is only valid until the next call of dec
			kindName = string(name)
		}
		if r.Tags, err = d.lineTags(dec, &r); err != nil {
			return out, err
		}
		if r.Kind == "" {
			r.Kind = kindName
		}
		if r.Measurement == "" {
			k, ok := d.Kinds[r.Kind]
			if !ok {
				return out, reject(ReasonUnknownKind, "line names unknown kind %q", truncate(r.Kind))
			}
			r.Measurement = measurementOf(r.Kind, k)
		}
		lineStart := len(out)
		sawString := false
		for {
			key, v, err := dec.NextField()
			if err != nil {
				return out, malformedLine(err)
			}
			if key == nil {
				break
			}
			name := string(key)
			if err := badName(reading.CheckFieldKey(name)); err != nil {
				return out, err
			}
			var f float64
			switch v.Kind() {
			case lineprotocol.Float:
				f = v.FloatV()
			case lineprotocol.Int:
				f = float64(v.IntV())
			case lineprotocol.Uint:
				f = float64(v.UintV())
			case lineprotocol.Bool:
				if v.BoolV() {
					f = 1
				}
			default:
				sawString = true
				continue
			}
			out = append(out, r)
			out[len(out)-1].Field, out[len(out)-1].Value = name, f
		}
		at, err := dec.Time(lineprotocol.Nanosecond, arrival)
		if err != nil {
			return out, malformedLine(err)
		}
		if at.UnixNano() <= 0 {
			return out, reject(ReasonBadTime, "timestamp %d is not after 1970", at.UnixNano())
		}
		fields := out[lineStart:]
		if len(fields) == 0 && sawString {
			return out, reject(ReasonNonNumeric, "line has only string fields")
		}
		n, err := d.finishFields(fields, at, arrival)
		out = out[:lineStart+n]
		if err != nil {
			return out, err
		}
	}
	if len(out) == start {
		return out, reject(ReasonNoValue, "no line")
	}
	return out, nil
}

// lineTags reads the tags of the current line into r: site, kind and sensor
// where r has none, the others merged into a copy of r.Tags, sorted by key.
// The line protocol forbids repeating a field but not a tag, so the first of
// a repeated tag wins.
func (d *Decoders) lineTags(dec *lineprotocol.Decoder, r *reading.Reading) ([]reading.Tag, error) {
	tags := r.Tags
	copied := false
	for {
		key, value, err := dec.NextTag()
		if err != nil {
			return nil, malformedLine(err)
		}
		if key == nil {
			break
		}
		name := string(key)
		if err := badName(reading.CheckTagKey(name)); err != nil {
			return nil, err
		}
		var field *string
		switch name {
		case "site":
			field = &r.Site
		case "kind":
			field = &r.Kind
		case "sensor":
			field = &r.Sensor
		}
		if field != nil && *field != "" ||
			field == nil && slices.ContainsFunc(tags, func(t reading.Tag) bool { return t.Key == name }) {
			continue // the topic's or a static tag wins
		}
		tag := reading.Tag{Key: name, Value: string(value)}
		if field != nil {
			*field = tag.Value
			continue
		}
		if !copied {
			// base.Tags may be shared with other messages: never write to it.
			tags, copied = slices.Clone(tags), true
		}
		tags = append(tags, tag)
	}
	if copied {
		sortTags(tags)
	}
	return tags, nil
}

// malformedLine wraps a syntax error of the line-protocol decoder.
func malformedLine(err error) error {
	return &Reject{Reason: ReasonMalformedLine, Err: err}
}
