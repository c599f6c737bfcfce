// Package ingest takes sensor messages from MQTT, decodes them into readings,
// and stores the readings in InfluxDB, through an on-disk spool when InfluxDB
// is away. A message is acknowledged to the broker only once its points are
// stored or spooled.
package ingest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"hazwatch/configs"
	"hazwatch/reading"
)

// Decoder turns one payload into readings appended to out. base carries what
// the topic says: measurement, site, kind, sensor and further tags. Readings
// without their own time get arrival. A payload that cannot be used is
// rejected whole with a *Reject error.
type Decoder func(payload []byte, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error)

// Reasons a message is rejected; the values label hazwatch_ingest_rejected_total.
const (
	ReasonTooLarge        = "too_large"
	ReasonNoMatchingTopic = "no_matching_topic"
	ReasonUnknownKind     = "unknown_kind"
	ReasonMalformedJSON   = "malformed_json"
	ReasonMalformedLine   = "malformed_line"
	ReasonNonNumeric      = "non_numeric"
	ReasonNotFinite       = "not_finite"
	ReasonNoValue         = "no_value"
	ReasonFutureTime      = "future_timestamp"
	ReasonPastTime        = "past_timestamp"
	// ReasonBadTime is a time field that is not a usable time: a "ts" that is
	// not a positive epoch number, a "time" that is not RFC 3339.
	ReasonBadTime = "bad_time"
	// ReasonBadName is a field name, tag name or tag value, from the topic or
	// the payload, that line protocol cannot carry (one that is not UTF-8,
	// holds a control character or ends in a backslash) or that InfluxDB
	// reserves (time, _field, _measurement). Storing it would make InfluxDB
	// refuse the whole batch it is in.
	ReasonBadName = "bad_name"
)

// Reject is the error for a message that is dropped and counted under Reason.
type Reject struct {
	Reason string
	Err    error
}

func (r *Reject) Error() string {
	if r.Err == nil {
		return r.Reason
	}
	return fmt.Sprintf("%s: %v", r.Reason, r.Err)
}

func (r *Reject) Unwrap() error { return r.Err }

func reject(reason string, format string, args ...any) *Reject {
	return &Reject{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Decoders holds what the payload decoders need beyond the payload: the
// kinds a line-protocol payload may name, and the window around arrival that
// a reading's own time must lie in. Its methods JSON, Line and Value are
// Decoders.
type Decoders struct {
	// Kinds resolves a kind named inside a payload when the topic gives none.
	Kinds map[string]configs.Kind
	// MaxFutureSkew is how far after arrival a reading's own time may lie;
	// zero means configs.DefaultMaxFutureSkew.
	MaxFutureSkew time.Duration
	// MaxPastAge is how far before arrival a reading's own time may lie;
	// zero means configs.DefaultMaxPastAge.
	MaxPastAge time.Duration
}

// For returns the decoder for a subscription's format; an empty format is json.
func (d *Decoders) For(format string) (Decoder, error) {
	switch format {
	case configs.FormatJSON, "":
		return d.JSON, nil
	case configs.FormatLine:
		return d.Line, nil
	case configs.FormatValue:
		return d.Value, nil
	}
	return nil, fmt.Errorf("unknown payload format %q (want json, line or value)", format)
}

// check rejects a decoded reading whose value cannot be stored or whose time
// lies outside the window around arrival, or outside what UnixNano can hold
// whatever the window. Every decoder runs it on every reading, so that no
// format lets a NaN or a wrong clock through: one reading far ahead would
// hold its series' alerts until then, one before 1677 wraps to 2262.
func (d *Decoders) check(r *reading.Reading, arrival time.Time) error {
	if !reading.Valid(r.Value) {
		return reject(ReasonNotFinite, "field %q is %v", r.Field, r.Value)
	}
	skew := cmp.Or(d.MaxFutureSkew, configs.DefaultMaxFutureSkew)
	age := cmp.Or(d.MaxPastAge, configs.DefaultMaxPastAge)
	switch {
	case r.Time.After(arrival.Add(skew)) || r.Time.After(reading.MaxTime):
		return reject(ReasonFutureTime, "time %s is more than %s after arrival %s",
			formatTime(r.Time), skew, formatTime(arrival))
	case r.Time.Before(arrival.Add(-age)) || r.Time.Before(reading.MinTime):
		return reject(ReasonPastTime, "time %s is more than %s before arrival %s",
			formatTime(r.Time), age, formatTime(arrival))
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// finishFields completes the readings that one JSON object or one line gave:
// it sorts them by field, keeps the last of a repeated field (as
// encoding/json does), gives them time at and checks them. It returns how
// many readings remain.
func (d *Decoders) finishFields(fields []reading.Reading, at, arrival time.Time) (int, error) {
	// A stable sort keeps a repeated field in payload order.
	slices.SortStableFunc(fields, func(a, b reading.Reading) int { return strings.Compare(a.Field, b.Field) })
	n := 0
	for i := range fields {
		if i+1 < len(fields) && fields[i+1].Field == fields[i].Field {
			continue
		}
		fields[n] = fields[i]
		fields[n].Time = at
		if err := d.check(&fields[n], arrival); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// whole is the length of out before a message was decoded into it.
type whole int

// of drops the readings a message added to out when it is rejected, so that
// a message is stored whole or not at all.
func (start whole) of(out []reading.Reading, err error) ([]reading.Reading, error) {
	if err != nil {
		return out[:start], err
	}
	return out, nil
}

// checkName rejects a tag value that cannot be stored.
func checkName(what, s string) error {
	if reading.Storable(s) {
		return nil
	}
	return reject(ReasonBadName, "%s %q cannot be stored in InfluxDB", what, truncate(s))
}

// badName rejects a tag or field key that reading's check refused.
func badName(err error) error {
	if err == nil {
		return nil
	}
	return &Reject{Reason: ReasonBadName, Err: err}
}
