package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"hazwatch/reading"
)

// JSON decodes a JSON object, or an array of objects as a batch. In each
// object "v" and "value" give the reading of field "value", and every other
// number or boolean (true 1, false 0) one reading of the field of its name,
// sorted by field name; a string that parses as a number counts as one.
// "ts" is epoch seconds, or milliseconds if at least 1e11 (which as seconds
// would be the year 5138), with a fraction allowed; "time" is RFC 3339;
// without either the reading has the time of arrival.
//
// Strings that are not numbers (such as "unit": "ppm"), nulls, nested
// objects and arrays are ignored, except that a non-numeric "v" or "value",
// or an object with nothing but such strings, is ReasonNonNumeric. An object
// with no value at all is ReasonNoValue. One bad object rejects the whole
// batch, so that a message is stored whole or not at all.
func (d *Decoders) JSON(payload []byte, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error) {
	return whole(len(out)).of(d.decodeJSON(payload, base, arrival, out))
}

func (d *Decoders) decodeJSON(payload []byte, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return out, malformedJSON(err)
	}
	switch tok {
	case json.Delim('{'):
		if out, err = d.jsonObject(dec, base, arrival, out); err != nil {
			return out, err
		}
	case json.Delim('['):
		start := len(out)
		for dec.More() {
			if tok, err := dec.Token(); err != nil {
				return out, malformedJSON(err)
			} else if tok != json.Delim('{') {
				return out, reject(ReasonMalformedJSON, "batch element %v is not an object", tok)
			}
			if out, err = d.jsonObject(dec, base, arrival, out); err != nil {
				return out, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return out, malformedJSON(err)
		}
		if len(out) == start {
			return out, reject(ReasonNoValue, "empty batch")
		}
	default:
		return out, reject(ReasonMalformedJSON, "payload is %v, not an object or array", tok)
	}
	if _, err := dec.Token(); err != io.EOF {
		return out, reject(ReasonMalformedJSON, "data after the JSON value")
	}
	return out, nil
}

// jsonObject decodes the members of an object whose '{' has been read,
// appending one reading per numeric field.
func (d *Decoders) jsonObject(dec *json.Decoder, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error) {
	start := len(out)
	at := arrival
	var haveTS, haveTime, nonNumeric bool
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return out, malformedJSON(err)
		}
		key := keyTok.(string) // the decoder only yields strings as object keys
		tok, err := dec.Token()
		if err != nil {
			return out, malformedJSON(err)
		}
		switch key {
		case "ts":
			n, ok := tok.(json.Number)
			if !ok {
				return out, reject(ReasonBadTime, `"ts" is %v, not a number`, tok)
			}
			if at, err = parseEpoch(string(n)); err != nil {
				return out, err
			}
			haveTS = true
			continue
		case "time":
			s, ok := tok.(string)
			if !ok {
				return out, reject(ReasonBadTime, `"time" is %v, not an RFC 3339 string`, tok)
			}
			if at, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return out, reject(ReasonBadTime, `"time": %v`, err)
			}
			haveTime = true
			continue
		case "v":
			key = "value"
		}
		var v float64
		switch t := tok.(type) {
		case json.Number:
			v, err = parseNumber(string(t))
		case bool:
			if t {
				v = 1
			}
		case string:
			v, err = parseNumber(strings.TrimSpace(t))
			if err != nil && key != "value" {
				nonNumeric = true
				continue
			}
		case json.Delim:
			if err := skipJSON(dec); err != nil {
				return out, err
			}
			continue
		default: // null
			continue
		}
		if err != nil {
			return out, err
		}
		if key == "" {
			continue // InfluxDB has no empty field names
		}
		out = append(out, *base)
		r := &out[len(out)-1]
		r.Field, r.Value = key, v
	}
	if _, err := dec.Token(); err != nil {
		return out, malformedJSON(err)
	}
	if haveTS && haveTime {
		return out, reject(ReasonBadTime, `both "ts" and "time" given`)
	}
	fields := out[start:]
	if len(fields) == 0 {
		if nonNumeric {
			return out, reject(ReasonNonNumeric, "no numeric field")
		}
		return out, reject(ReasonNoValue, "no numeric field")
	}
	n, err := d.finishFields(fields, at, arrival)
	return out[:start+n], err
}

// skipJSON consumes the rest of a nested object or array whose opening
// delimiter has been read.
func skipJSON(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return malformedJSON(err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// millisFrom is the "ts" from which on it counts milliseconds: 1e11 seconds
// lies in the year 5138, 1e11 milliseconds in 1973.
const millisFrom = 1e11

// parseEpoch parses a JSON number of epoch seconds or milliseconds. It reads
// the integer and fraction digits exactly when it can, because a float64
// would turn 1700000000.123 into ….122999906 and split one point into two.
func parseEpoch(text string) (time.Time, error) {
	whole, frac, _ := strings.Cut(text, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || strings.ContainsAny(frac, "eE") || len(frac) > 18 {
		return parseEpochFloat(text)
	}
	fracNS, _ := strconv.ParseInt((frac + "000000000000000000")[:18], 10, 64) // in 1e-18 units
	if sec <= 0 {
		return time.Time{}, reject(ReasonBadTime, `"ts" %s is not after 1970`, text)
	}
	if sec >= millisFrom {
		// ms: sec is milliseconds, frac its fraction.
		return time.UnixMilli(sec).Add(time.Duration(fracNS / 1e12)), nil
	}
	return time.Unix(sec, fracNS/1e9), nil
}

// parseEpochFloat handles a "ts" in exponent form such as 1.7e9.
func parseEpochFloat(text string) (time.Time, error) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || !(f > 0) || f >= 9e18 {
		return time.Time{}, reject(ReasonBadTime, `"ts" %s is not an epoch time in s or ms`, text)
	}
	if f >= millisFrom {
		f /= 1e3
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
}

// malformedJSON wraps a syntax error of the JSON decoder.
func malformedJSON(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &Reject{Reason: ReasonMalformedJSON, Err: err}
}
