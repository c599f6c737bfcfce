package reading

import (
	"math"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

var t0 = time.Unix(1782892860, 5).UTC()

func TestAppendLine(t *testing.T) {
	cases := []struct {
		name string
		r    Reading
		want string
	}{
		{"fixed tags in key order", Reading{Measurement: "gas", Site: "hx", Kind: "gas_lel", Sensor: "GT-03", Field: "value", Value: 52.1, Time: t0},
			"gas,kind=gas_lel,sensor=GT-03,site=hx value=52.1 1782892860000000005\n"},
		{"further tags merge in order", Reading{Measurement: "gas", Site: "hx", Kind: "gas_lel", Sensor: "s", Tags: []Tag{{"area", "A"}, {"line", "2"}, {"zone", "z"}}, Field: "value", Value: 1, Time: t0},
			"gas,area=A,kind=gas_lel,line=2,sensor=s,site=hx,zone=z value=1.0 1782892860000000005\n"},
		{"whole values stay floats", Reading{Measurement: "tank", Site: "a", Kind: "tank_level", Sensor: "b", Field: "level", Value: 3, Time: t0},
			"tank,kind=tank_level,sensor=b,site=a level=3.0 1782892860000000005\n"},
		{"special characters escaped", Reading{Measurement: "my gas,x", Site: "人民路 下穿", Kind: "k=1", Sensor: "a,b", Field: "v 1", Value: -0.5, Time: t0},
			"my\\ gas\\,x,kind=k\\=1,sensor=a\\,b,site=人民路\\ 下穿 v\\ 1=-0.5 1782892860000000005\n"},
		{"newlines become escaped spaces", Reading{Measurement: "gas", Site: "a\nb", Kind: "k", Sensor: "s\r", Field: "value", Value: 1, Time: t0},
			"gas,kind=k,sensor=s\\ ,site=a\\ b value=1.0 1782892860000000005\n"},
		{"empty tag values left out", Reading{Measurement: "flood", Site: "r", Kind: "water_level", Field: "value", Value: 2.5e-7, Time: t0},
			"flood,kind=water_level,site=r value=2.5e-07 1782892860000000005\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(c.r.AppendLine(nil)); got != c.want {
				t.Errorf("AppendLine =\n %q\nwant\n %q", got, c.want)
			}
		})
	}
}

func BenchmarkAppendLine(b *testing.B) {
	r := Reading{Measurement: "gas", Site: "plant-a", Kind: "gas_lel", Sensor: "GT-01", Tags: []Tag{{"district", "XX"}},
		Field: "value", Value: 12.5, Time: t0}
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		line = r.AppendLine(line[:0])
	}
}

func TestSeriesKey_DiffersByEveryPartOfTheIdentity(t *testing.T) {
	base := Reading{Measurement: "gas", Site: "hx", Kind: "gas_lel", Sensor: "GT-03", Field: "value"}
	variants := []func(*Reading){
		func(r *Reading) { r.Site = "hy" },
		func(r *Reading) { r.Kind = "gas_toxic" },
		func(r *Reading) { r.Sensor = "GT-04" },
		func(r *Reading) { r.Field = "temp" },
		func(r *Reading) { r.Measurement = "tank" },
		func(r *Reading) { r.Tags = []Tag{{"zone", "1"}} },
		// Separators inside names move no part into another.
		func(r *Reading) { r.Site, r.Kind = "hx,gas_lel", "" },
		func(r *Reading) { r.Kind, r.Sensor = "gas_lel,GT-03", "" },
		func(r *Reading) { r.Sensor, r.Field = "GT-03 value", "" },
		func(r *Reading) { r.Tags = []Tag{{"zone=1", ""}} },
		func(r *Reading) { r.Tags = []Tag{{"zone", "1,a=b"}} },
		func(r *Reading) { r.Tags = []Tag{{"zone", "1"}, {"a", "b"}} },
		func(r *Reading) { r.Site = `hx\` },
		func(r *Reading) { r.Site, r.Kind = `hx\,gas_lel`, "" },
	}
	seen := map[string]bool{base.SeriesKey(): true}
	for i, change := range variants {
		r := base
		change(&r)
		k := r.SeriesKey()
		if seen[k] {
			t.Errorf("variant %d has the key of another series: %q", i, k)
		}
		seen[k] = true
	}
	same := base
	same.Value, same.Time = 99, t0
	if same.SeriesKey() != base.SeriesKey() {
		t.Error("value and time changed the series key")
	}
}

func TestTag(t *testing.T) {
	r := Reading{Site: "s", Kind: "k", Sensor: "n", Field: "f", Tags: []Tag{{"zone", "z"}}}
	for key, want := range map[string]string{"site": "s", "kind": "k", "sensor": "n", "field": "f", "zone": "z"} {
		if got, ok := r.Tag(key); !ok || got != want {
			t.Errorf("Tag(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	if _, ok := r.Tag("missing"); ok {
		t.Error("Tag(missing) reported a value")
	}
}

// FuzzAppendLine checks that any reading the decoders could produce encodes
// to one line that InfluxDB's own line-protocol parser reads back unchanged.
func FuzzAppendLine(f *testing.F) {
	f.Add("gas", "hx-chem-01", "gas_lel", "GT-03", "value", "zone", "A 1", 52.1, int64(1782892860000000005))
	f.Add("my gas", "人民路", "k=1", "a,b", "v 1", "z", "", -0.5, int64(0))
	f.Fuzz(func(t *testing.T, m, site, kind, sensor, field, tagKey, tagValue string, v float64, ns int64) {
		// Measurements come from the config's kinds, which are words.
		if !Valid(v) || m == "" || m[0] == '#' || field == "" || tagKey == "" || !plain(m, site, kind, sensor, field, tagKey, tagValue) {
			t.Skip("not a reading the decoders produce")
		}
		r := Reading{Measurement: m, Site: site, Kind: kind, Sensor: sensor, Field: field, Value: v, Time: time.Unix(0, ns)}
		if tagKey > "sensor" || tagKey < "kind" { // keep Tags distinct from the fixed keys
			r.Tags = []Tag{{tagKey, tagValue}}
		}
		line := r.AppendLine(nil)
		dec := lineprotocol.NewDecoderWithBytes(line)
		if !dec.Next() {
			t.Fatalf("no line in %q", line)
		}
		gotM, err := dec.Measurement()
		if err != nil || string(gotM) != m {
			t.Fatalf("measurement %q, %v; want %q in %q", gotM, err, m, line)
		}
		for {
			k, val, err := dec.NextTag()
			if err != nil {
				t.Fatalf("tag: %v in %q", err, line)
			}
			if k == nil {
				break
			}
			if got, _ := r.Tag(string(k)); got != string(val) {
				t.Fatalf("tag %s=%q, want %q in %q", k, val, got, line)
			}
		}
		key, val, err := dec.NextField()
		if err != nil || string(key) != field || math.Float64bits(val.FloatV()) != math.Float64bits(v) {
			t.Fatalf("field %s=%v, %v; want %s=%v in %q", key, val, err, field, v, line)
		}
		if ts, err := dec.Time(lineprotocol.Nanosecond, time.Time{}); err != nil || ts.UnixNano() != ns {
			t.Fatalf("time %v, %v; want %d in %q", ts, err, ns, line)
		}
	})
}

// plain reports whether every s is what the decoders let through: valid
// UTF-8 without control characters, not ending in a backslash.
func plain(ss ...string) bool {
	for _, s := range ss {
		for _, c := range s {
			if c < 0x20 || c == 0x7f || c == 0xfffd {
				return false
			}
		}
		if len(s) > 0 && s[len(s)-1] == '\\' {
			return false
		}
	}
	return true
}
