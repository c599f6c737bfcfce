package alerting

import (
	"reflect"
	"testing"
	"time"

	"hazwatch/reading"
)

func TestSeries_IdentityIsTheReadingItWasMadeFrom(t *testing.T) {
	at := time.Date(2026, 7, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	cases := []struct {
		name string
		r    reading.Reading
	}{
		{"no tags", reading.Reading{Measurement: "gas", Site: "plant-a", Kind: "gas_lel", Sensor: "GT-01", Field: "value", Value: 12, Time: at}},
		{"tags", reading.Reading{Measurement: "flood", Site: "dam", Kind: "water_level", Sensor: "WL-01",
			Tags: []reading.Tag{{Key: "area", Value: "north"}, {Key: "line", Value: "2"}}, Field: "level", Value: 0.3, Time: at}},
		{"empty parts", reading.Reading{Measurement: "m", Tags: []reading.Tag{{Key: "k"}}, Value: 1, Time: at}},
		{"separators inside parts", reading.Reading{Measurement: "a,b", Site: "s=1", Kind: "k k", Sensor: ",",
			Tags: []reading.Tag{{Key: "x=y", Value: "1,2"}}, Field: "f ", Value: -1, Time: at}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSeries(string(appendSeriesKey(nil, &c.r)), &c.r)
			if got := s.identity(); !reflect.DeepEqual(got, c.r) {
				t.Errorf("identity() = %+v, want %+v", got, c.r)
			}
			if s.key != c.r.SeriesKey() {
				t.Errorf("key = %q, want %q", s.key, c.r.SeriesKey())
			}
			if len(c.r.Tags) > 0 && &s.tags[0] == &c.r.Tags[0] {
				t.Error("the series shares the reading's tag slice")
			}
		})
	}
}
