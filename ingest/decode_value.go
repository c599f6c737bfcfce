package ingest

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"

	"hazwatch/reading"
)

// Value decodes a payload that is one bare number, such as "12.3" or " 4e-3\n",
// into one reading at the time of arrival. Anything else is ReasonNonNumeric,
// an empty payload ReasonNoValue.
func (d *Decoders) Value(payload []byte, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error) {
	text := bytes.TrimSpace(payload)
	if len(text) == 0 {
		return out, reject(ReasonNoValue, "empty payload")
	}
	v, err := parseNumber(string(text))
	if err != nil {
		return out, err
	}
	r := *base
	r.Value, r.Time = v, arrival
	if err := d.check(&r, arrival); err != nil {
		return out, err
	}
	return append(out, r), nil
}

// parseNumber parses a decimal or exponent number. A number too large for a
// float64 becomes ±Inf, which the caller rejects as not finite rather than as
// non-numeric, since it is a number.
func parseNumber(text string) (float64, error) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, reject(ReasonNonNumeric, "%q is not a number", truncate(text))
	}
	return v, nil
}

// truncate returns a copy of the start of text for an error, which ends up in
// logs and dead letters. Copying lets the decoders pass text that points
// into the payload without the compiler moving it to the heap.
func truncate(text string) string {
	return strings.Clone(text[:min(len(text), 64)])
}
