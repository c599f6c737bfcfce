package alerting

import (
	"testing"

	"hazwatch/configs"
	"hazwatch/reading"
)

func TestAlert_OnlyPendingAndFiringAlertsHoldState(t *testing.T) {
	cases := []struct {
		name   string
		points []point
		held   bool
	}{
		{"never above", []point{{0, 10}, {10, 12}}, false},
		{"pending", []point{{0, 30}}, true},
		{"pending, then below again", []point{{0, 30}, {2, 10}}, false},
		{"firing", []point{{0, 30}, {6, 30}}, true},
		{"fired and resolved", []point{{0, 30}, {6, 30}, {10, 10}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEngine(t, gasRule(25, 50))
			observeAll(e, "gas_lel", c.points)
			k := configs.BuiltinKinds()["gas_lel"]
			r := sensorReading(k.Measurement, "gas_lel", "S1", point{})
			key := reading.AppendSeriesKey(nil, &r)
			s := e.shards[e.shardOf(key)].series[string(key)]
			if s == nil || len(s.state) != 1 {
				t.Fatalf("series %q not kept with its one rule", key)
			}
			if held := s.state[0].st != nil; held != c.held {
				t.Errorf("alert state held = %v, want %v", held, c.held)
			}
		})
	}
}
