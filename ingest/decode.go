// Package ingest takes sensor messages from MQTT, decodes them into readings,
// and stores the readings in InfluxDB, through an on-disk spool when InfluxDB
// is away. A message is acknowledged to the broker only once its points are
// stored or spooled.
package ingest

import (
	"fmt"
	"time"

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
