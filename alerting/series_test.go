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
			s := newSeries(string(reading.AppendSeriesKey(nil, &c.r)), &c.r)
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

// Names holding the key's separators never make two series one: a reading of
// site "zz,gas_lel" sensor "victim" leaves the alert of site "zz" sensor
// "gas_lel,victim" alone.
func TestSeries_SeparatorsInNamesDoNotJoinSeries(t *testing.T) {
	e := newTestEngine(t, gasRule(25, 50))
	victim := reading.Reading{Measurement: "gas", Site: "zz", Kind: "gas_lel", Sensor: "gas_lel,victim", Field: "value", Value: 30, Time: t0}
	rogue := reading.Reading{Measurement: "gas", Site: "zz,gas_lel", Kind: "gas_lel", Sensor: "victim", Field: "value", Value: 30, Time: t0}
	for i := range 10 {
		victim.Time = t0.Add(time.Duration(i) * time.Second)
		e.Observe(&victim)
	}
	for i := range 20 {
		rogue.Time, rogue.Value = t0.Add(time.Duration(10+i)*time.Second), 0
		if evs := e.Observe(&rogue); len(evs) > 0 {
			t.Fatalf("a reading of another series changed the victim's alert: %+v", evs)
		}
	}
	if active := e.Active(); len(active) != 1 || active[0].Site != "zz" || active[0].Sensor != "gas_lel,victim" {
		t.Errorf("active %+v, want the victim's alert firing", active)
	}
}
