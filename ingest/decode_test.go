package ingest

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"hazwatch/configs"
	"hazwatch/reading"
)

// arrival is the fixed time of arrival in decoder tests; the epoch times in
// their payloads lie around it.
var arrival = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

var testKinds = map[string]configs.Kind{
	"gas_lel":     {Measurement: "gas"},
	"water_level": {Measurement: "flood"},
	"tank_level":  {Measurement: "tank"},
}

func testDecoders() *Decoders {
	return &Decoders{Kinds: testKinds, MaxFutureSkew: time.Minute}
}

// testBase is what the topic sensors/hx/gas_lel/GT-03 gives, with a static tag.
func testBase() reading.Reading {
	return reading.Reading{
		Measurement: "gas", Site: "hx", Kind: "gas_lel", Sensor: "GT-03",
		Tags: []reading.Tag{{Key: "district", Value: "XX"}}, Field: "value",
	}
}

// decodeCase is one payload and either the readings it gives, each written
// as a line-protocol line, or the reason it is rejected.
type decodeCase struct {
	name    string
	payload string
	want    []string
	reason  string
}

// gasLine starts the line of a reading of testBase.
const gasLine = "gas,district=XX,kind=gas_lel,sensor=GT-03,site=hx "

// runDecodeCases decodes each case's payload after a reading already in out,
// which the decoder must keep whatever happens, and checks that the decoder
// leaves the base's shared tags alone.
func runDecodeCases(t *testing.T, decode Decoder, base reading.Reading, cases []decodeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := base
			tags := slices.Clone(base.Tags)
			prior := reading.Reading{Measurement: "prior", Field: "value", Time: arrival}
			out, err := decode([]byte(c.payload), &base, arrival, []reading.Reading{prior})
			if out[0].Measurement != "prior" {
				t.Fatalf("decoder changed a reading already in out: %+v", out[0])
			}
			if c.reason != "" {
				if got := rejectReason(err); got != c.reason {
					t.Fatalf("err = %v (reason %q), want reason %q", err, got, c.reason)
				}
				if len(out) != 1 {
					t.Fatalf("rejected payload left %d readings in out", len(out)-1)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := lines(out[1:]); !slices.Equal(got, c.want) {
				t.Fatalf("readings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if !slices.Equal(base.Tags, tags) {
				t.Fatalf("decoder changed the base tags to %v", base.Tags)
			}
		})
	}
}

func rejectReason(err error) string {
	var r *Reject
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

func lines(rs []reading.Reading) []string {
	var out []string
	for _, r := range rs {
		out = append(out, strings.TrimSuffix(string(r.AppendLine(nil)), "\n"))
	}
	return out
}

// ns returns arrival shifted by d in epoch nanoseconds, as line protocol
// writes a time.
func ns(d time.Duration) string {
	return strconv.FormatInt(arrival.Add(d).UnixNano(), 10)
}

// checkFuzzOutput holds what every decoder promises for any payload: no
// panic, a *Reject with a known reason or readings that can be stored.
func checkFuzzOutput(t *testing.T, decode Decoder, payload []byte) {
	base := testBase()
	out, err := decode(payload, &base, arrival, nil)
	if err != nil {
		if !slices.Contains(allReasons, rejectReason(err)) {
			t.Fatalf("error %v is not a *Reject with a known reason", err)
		}
		if len(out) != 0 {
			t.Fatalf("rejected payload gave %d readings", len(out))
		}
		return
	}
	if len(out) == 0 {
		t.Fatal("no readings and no error")
	}
	for _, r := range out {
		switch {
		case !reading.Valid(r.Value):
			t.Fatalf("reading %+v is not finite", r)
		case r.Time.Before(arrival.Add(-configs.DefaultMaxPastAge)) || r.Time.After(arrival.Add(time.Minute)):
			t.Fatalf("reading %+v has time %v, outside the window around arrival", r, r.Time)
		case !time.Unix(0, r.Time.UnixNano()).Equal(r.Time):
			t.Fatalf("reading %+v has time %v, which UnixNano cannot hold", r, r.Time)
		case r.Field == "" || r.Measurement == "":
			t.Fatalf("reading %+v lacks field or measurement", r)
		}
		// What InfluxDB receives must parse back as one point.
		dec := lineprotocol.NewDecoderWithBytes(r.AppendLine(nil))
		for dec.Next() {
			if _, err := dec.Time(lineprotocol.Nanosecond, time.Time{}); err != nil {
				t.Fatalf("reading %+v encodes as bad line protocol: %v", r, err)
			}
		}
	}
}

var allReasons = []string{
	ReasonTooLarge, ReasonNoMatchingTopic, ReasonUnknownKind, ReasonMalformedJSON, ReasonMalformedLine,
	ReasonNonNumeric, ReasonNotFinite, ReasonNoValue, ReasonFutureTime, ReasonPastTime, ReasonBadTime, ReasonBadName,
}

// BenchmarkDecode measures each decoder on typical payloads, decoding into a
// reused out slice as the ingest path does.
func BenchmarkDecode(b *testing.B) {
	d := testDecoders()
	ts := strconv.FormatInt(arrival.UnixMilli(), 10)
	benchmarks := []struct {
		name    string
		decode  Decoder
		payload string
	}{
		{"json/v", d.JSON, `{"v":12.3}`},
		{"json/v+ts", d.JSON, `{"v":12.3,"ts":` + ts + `}`},
		{"json/3 fields", d.JSON, `{"ts":` + ts + `,"level":3.2,"temp":25.1,"unit":"m","pressure":0.12}`},
		{"json/batch of 10", d.JSON, "[" + strings.Repeat(`{"v":12.3,"ts":`+ts+`},`, 9) + `{"v":1,"ts":` + ts + `}]`},
		{"line/1 field", d.Line, "gas_lel value=12.3 " + ns(0)},
		{"line/tags+3 fields", d.Line, "gas_lel,zone=A level=3.2,temp=25.1,pressure=0.12 " + ns(0)},
		{"value", d.Value, "12.3"},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			base := testBase()
			payload := []byte(bm.payload)
			out := make([]reading.Reading, 0, 16)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if out, err = bm.decode(payload, &base, arrival, out[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata/decode")

// TestDecode_GoldenPayloads decodes realistic payloads from
// testdata/decode/NAME.FORMAT and compares the readings, as line protocol, or
// the reject reason with NAME.FORMAT.golden.
func TestDecode_GoldenPayloads(t *testing.T) {
	d := testDecoders()
	decoders := map[string]Decoder{".json": d.JSON, ".line": d.Line, ".value": d.Value}
	files, err := filepath.Glob("testdata/decode/*")
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, file := range files {
		decode, ok := decoders[filepath.Ext(file)]
		if !ok {
			continue
		}
		ran++
		t.Run(filepath.Base(file), func(t *testing.T) {
			payload, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			base := testBase()
			out, err := decode(payload, &base, arrival, nil)
			got := strings.Join(lines(out), "\n") + "\n"
			if err != nil {
				got = "reject " + rejectReason(err) + "\n"
			}
			golden := file + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Fatalf("decoding %s gave\n%s\nwant (%s)\n%s", file, got, golden, want)
			}
		})
	}
	if ran == 0 {
		t.Fatal("no payloads in testdata/decode")
	}
}
