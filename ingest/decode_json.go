package ingest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
//
// encoding/json checks the syntax (json.Valid); a small scanner then walks
// the valid payload. Taking the payload apart with json.Decoder.Token cost
// 5 µs and 31 allocations for {"v":…,"ts":…}, most of the daemon's budget of
// 7 µs per reading; the scanner takes a tenth of that.
func (d *Decoders) JSON(payload []byte, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error) {
	return whole(len(out)).of(d.decodeJSON(payload, base, arrival, out))
}

func (d *Decoders) decodeJSON(payload []byte, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error) {
	if !json.Valid(payload) {
		return out, &Reject{Reason: ReasonMalformedJSON, Err: json.Unmarshal(payload, new(json.RawMessage))}
	}
	if !utf8.Valid(payload) {
		return out, reject(ReasonMalformedJSON, "payload is not UTF-8")
	}
	s := jsonScanner{b: payload}
	switch s.space() {
	case '{':
		return d.jsonObject(&s, base, arrival, out)
	case '[':
		start := len(out)
		s.i++
		for {
			switch s.space() {
			case ',':
				s.i++
				continue
			case ']':
				if len(out) == start {
					return out, reject(ReasonNoValue, "empty batch")
				}
				return out, nil
			case '{':
				var err error
				if out, err = d.jsonObject(&s, base, arrival, out); err != nil {
					return out, err
				}
			default:
				return out, reject(ReasonMalformedJSON, "batch element at byte %d is not an object", s.i)
			}
		}
	}
	return out, reject(ReasonMalformedJSON, "payload is not an object or array")
}

// jsonObject decodes the object at s, appending one reading per numeric field.
func (d *Decoders) jsonObject(s *jsonScanner, base *reading.Reading, arrival time.Time, out []reading.Reading) ([]reading.Reading, error) {
	start := len(out)
	at := arrival
	var haveTS, haveTime, nonNumeric bool
	s.i++ // {
	for {
		c := s.space()
		if c == ',' {
			s.i++
			c = s.space()
		}
		if c == '}' {
			s.i++
			break
		}
		key := s.key()
		s.space()
		s.i++ // :
		s.space()
		typ, raw := s.value()
		var err error
		switch string(key) {
		case "ts":
			if typ != jsonNumber {
				return out, reject(ReasonBadTime, `"ts" is %s, not a number`, truncate(string(raw)))
			}
			if at, err = parseEpoch(string(raw)); err != nil {
				return out, err
			}
			haveTS = true
			continue
		case "time":
			if typ != jsonString {
				return out, reject(ReasonBadTime, `"time" is %s, not an RFC 3339 string`, truncate(string(raw)))
			}
			if at, err = time.Parse(time.RFC3339Nano, unquote(raw)); err != nil {
				return out, reject(ReasonBadTime, `"time": %v`, err)
			}
			haveTime = true
			continue
		}
		isValue := string(key) == "v" || string(key) == "value"
		var v float64
		switch typ {
		case jsonNumber:
			if v, err = parseNumber(string(raw)); err != nil {
				return out, err
			}
		case jsonTrue:
			v = 1
		case jsonFalse:
			v = 0
		case jsonString:
			text := strings.TrimSpace(unquote(raw))
			if !isValue && !looksNumeric(text) {
				nonNumeric = true // such as "unit": "ppm", common enough to skip without an error
				continue
			}
			if v, err = parseNumber(text); err != nil {
				if isValue {
					return out, err
				}
				nonNumeric = true
				continue
			}
		default: // null, object, array
			continue
		}
		var field string
		switch {
		case isValue:
			field = "value"
		case len(key) == 0:
			continue // a nameless field is no reason to drop the message
		default:
			field = string(key)
			if err := badName(reading.CheckFieldKey(field)); err != nil {
				return out, err
			}
		}
		out = append(out, *base)
		r := &out[len(out)-1]
		r.Field, r.Value = field, v
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

// jsonType is the type of a JSON value as the scanner sees it.
type jsonType uint8

const (
	jsonNumber jsonType = iota
	jsonString
	jsonTrue
	jsonFalse
	jsonNull
	jsonNested // an object or array
)

// jsonScanner walks a payload that json.Valid has accepted. That the syntax
// is valid lets it merely find where each token ends, with no checks.
type jsonScanner struct {
	b []byte
	i int
}

// space skips whitespace and returns the next byte, or 0 at the end.
func (s *jsonScanner) space() byte {
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// string returns the string at s, still quoted, and moves past it.
func (s *jsonScanner) string() []byte {
	start := s.i
	for s.i++; s.b[s.i] != '"'; s.i++ {
		if s.b[s.i] == '\\' {
			s.i++ // the escaped byte cannot end the string
		}
	}
	s.i++
	return s.b[start:s.i]
}

// key returns the content of the object key at s and moves past it.
func (s *jsonScanner) key() []byte {
	quoted := s.string()
	if bytes.IndexByte(quoted, '\\') < 0 {
		return quoted[1 : len(quoted)-1]
	}
	return []byte(unquote(quoted))
}

// value returns the type and text of the value at s and moves past it.
func (s *jsonScanner) value() (jsonType, []byte) {
	start := s.i
	switch s.b[s.i] {
	case '"':
		return jsonString, s.string()
	case 't':
		s.i += len("true")
		return jsonTrue, s.b[start:s.i]
	case 'f':
		s.i += len("false")
		return jsonFalse, s.b[start:s.i]
	case 'n':
		s.i += len("null")
		return jsonNull, s.b[start:s.i]
	case '{', '[':
		for depth := 0; ; {
			switch s.b[s.i] {
			case '"':
				s.string()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.i++
			if depth == 0 {
				return jsonNested, s.b[start:s.i]
			}
		}
	}
	for s.i < len(s.b) && isNumberByte(s.b[s.i]) {
		s.i++
	}
	return jsonNumber, s.b[start:s.i]
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'
}

// looksNumeric reports whether text starts like a number, so that other
// strings are told apart without the cost of a strconv error.
func looksNumeric(text string) bool {
	return text != "" && strings.IndexByte("+-.0123456789", text[0]) >= 0
}

// unquote returns the content of a quoted JSON string, leaving the rare
// string with escapes to encoding/json.
func unquote(quoted []byte) string {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1 : len(quoted)-1])
	}
	var s string
	json.Unmarshal(quoted, &s) // cannot fail: json.Valid accepted the payload
	return s
}

// millisFrom is the "ts" from which on it counts milliseconds: 1e11 seconds
// lies in the year 5138, 1e11 milliseconds in 1973.
const millisFrom = 1e11

// parseEpoch parses a JSON number of epoch seconds or milliseconds. It reads
// the integer and fraction digits exactly when it can, because a float64
// would turn 1700000000.123 into ….122999906 and split one point into two.
func parseEpoch(text string) (time.Time, error) {
	intPart, frac, _ := strings.Cut(text, ".")
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || strings.ContainsAny(frac, "eE") || len(frac) > 18 {
		return parseEpochFloat(text)
	}
	var fracNS int64 // the fraction in units of 1e-18
	for i := range 18 {
		fracNS *= 10
		if i < len(frac) {
			fracNS += int64(frac[i] - '0')
		}
	}
	if sec <= 0 {
		return time.Time{}, reject(ReasonBadTime, `"ts" %s is not after 1970`, truncate(text))
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
		return time.Time{}, reject(ReasonBadTime, `"ts" %s is not an epoch time in s or ms`, truncate(text))
	}
	if f >= millisFrom {
		f /= 1e3
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
}
