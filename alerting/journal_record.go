package alerting

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"hazwatch/reading"
)

// A journal record is framed as its payload's length (4 bytes), the payload's
// CRC-32C (4 bytes) and the payload: a type byte, the sequence number
// (8 bytes) and the body. Integers are little-endian.
const frameHeader = 8

// Record types.
const (
	// recSeries names a series once, so that the readings of it that follow
	// carry a number instead of the series' names: journal id (4), then the
	// measurement, site, kind, sensor and field and the tags as
	// length-prefixed strings.
	recSeries = 'S'
	// recReading is a reading the engine evaluated: journal id (4), time
	// (Unix ns, 8), value (8).
	recReading = 'R'
	// recTransition is a transition: journal id (4), below (1), the Event
	// as JSON. Transitions are rare, and JSON keeps every field of Event.
	recTransition = 'T'
)

// maxRecord bounds a record's payload; anything longer is damage.
const maxRecord = 1 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// frame appends one framed record whose payload enc appends.
func frame(b []byte, enc func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, frameHeader)...)
	b = enc(b)
	payload := b[start+frameHeader:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, crcTable))
	return b
}

func appendHead(b []byte, typ byte, seq uint64, jid uint32) []byte {
	b = append(b, typ)
	b = binary.LittleEndian.AppendUint64(b, seq)
	return binary.LittleEndian.AppendUint32(b, jid)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendSeriesRecord(b []byte, seq uint64, jid uint32, id *reading.Reading) []byte {
	b = appendHead(b, recSeries, seq, jid)
	for _, s := range [...]string{id.Measurement, id.Site, id.Kind, id.Sensor, id.Field} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(id.Tags)))
	for _, t := range id.Tags {
		b = appendString(b, t.Key)
		b = appendString(b, t.Value)
	}
	return b
}

func appendReadingRecord(b []byte, seq uint64, jid uint32, t int64, v float64) []byte {
	b = appendHead(b, recReading, seq, jid)
	b = binary.LittleEndian.AppendUint64(b, uint64(t))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func appendTransitionRecord(b []byte, seq uint64, jid uint32, below bool, ev *Event) ([]byte, error) {
	b = appendHead(b, recTransition, seq, jid)
	flag := byte(0)
	if below {
		flag = 1
	}
	b = append(b, flag)
	data, err := json.Marshal(ev)
	if err != nil {
		return b, fmt.Errorf("encode transition %s: %w", ev.ID, err)
	}
	return append(b, data...), nil
}

// record is one decoded journal record.
type record struct {
	typ   byte
	seq   uint64
	jid   uint32
	id    reading.Reading // recSeries
	t     int64           // recReading
	v     float64         // recReading
	below bool            // recTransition
	ev    Event           // recTransition
}

var errBadRecord = errors.New("malformed journal record")

// decodeRecord decodes one payload.
func decodeRecord(p []byte) (record, error) {
	var r record
	if len(p) < 13 {
		return r, errBadRecord
	}
	r.typ = p[0]
	r.seq = binary.LittleEndian.Uint64(p[1:])
	r.jid = binary.LittleEndian.Uint32(p[9:])
	body := p[13:]
	switch r.typ {
	case recSeries:
		var fields [5]string
		for i := range fields {
			s, rest, ok := readString(body)
			if !ok {
				return r, errBadRecord
			}
			fields[i], body = s, rest
		}
		r.id = reading.Reading{Measurement: fields[0], Site: fields[1], Kind: fields[2], Sensor: fields[3], Field: fields[4]}
		n, k := binary.Uvarint(body)
		if k <= 0 || n > uint64(len(body)) {
			return r, errBadRecord
		}
		body = body[k:]
		for range n {
			key, rest, ok := readString(body)
			if !ok {
				return r, errBadRecord
			}
			val, rest, ok := readString(rest)
			if !ok {
				return r, errBadRecord
			}
			r.id.Tags = append(r.id.Tags, reading.Tag{Key: key, Value: val})
			body = rest
		}
		if len(body) != 0 {
			return r, errBadRecord
		}
	case recReading:
		if len(body) != 16 {
			return r, errBadRecord
		}
		r.t = int64(binary.LittleEndian.Uint64(body))
		r.v = math.Float64frombits(binary.LittleEndian.Uint64(body[8:]))
	case recTransition:
		if len(body) < 1 || body[0] > 1 {
			return r, errBadRecord
		}
		r.below = body[0] == 1
		if err := json.Unmarshal(body[1:], &r.ev); err != nil {
			return r, fmt.Errorf("%w: %v", errBadRecord, err)
		}
	default:
		return r, errBadRecord
	}
	return r, nil
}

func readString(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}

// scanFrames calls fn with each intact record payload of data, in order. A
// frame whose checksum fails is skipped and counted in bad; a frame that runs
// past the end (a write cut short by a crash), or whose length cannot be
// right, ends the scan: torn reports that, with the offset where it stopped.
func scanFrames(data []byte, fn func(payload []byte)) (bad int, torn bool, end int) {
	off := 0
	for off < len(data) {
		if len(data)-off < frameHeader {
			return bad, true, off
		}
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > maxRecord || n > len(data)-off-frameHeader {
			return bad, true, off
		}
		p := data[off+frameHeader : off+frameHeader+n]
		off += frameHeader + n
		if crc32.Checksum(p, crcTable) != sum {
			bad++
			continue
		}
		fn(p)
	}
	return bad, false, off
}
