package alerting

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/configs"
	"hazwatch/reading"
)

// t0 is the fake start of every test's event time.
var t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

func testConfig(rules ...configs.Rule) *configs.Config {
	return &configs.Config{
		Kinds: configs.BuiltinKinds(),
		Sites: []configs.Site{{
			ID: "hx-chem-01", Name: "华兴化工",
			Sensors: map[string]configs.Sensor{
				"GT-101":  {Name: "3号罐区可燃气体", Kind: "gas_lel"},
				"T101-LT": {Name: "1号储罐液位", Kind: "tank_level"},
			},
		}},
		Rules: rules,
	}
}

func newTestEngine(t testing.TB, rules ...configs.Rule) *Engine {
	t.Helper()
	e, err := NewEngine(testConfig(rules...), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// point is one reading of a test series: at seconds after t0.
type point struct {
	at    float64
	value float64
}

func sensorReading(measurement, kind, sensor string, p point) reading.Reading {
	return reading.Reading{
		Measurement: measurement, Site: "hx-chem-01", Kind: kind, Sensor: sensor,
		Field: "value", Value: p.value, Time: t0.Add(time.Duration(p.at * float64(time.Second))),
	}
}

// brief writes an event as the tests expect it: time after t0, status,
// level (previous level for a change), threshold.
func brief(ev *Event) string {
	at := ev.At.Sub(t0)
	if ev.Status == StatusResolved {
		return fmt.Sprintf("%v resolved %s thr=%.6g", at, ev.Level, ev.Threshold)
	}
	if ev.Previous == configs.LevelNone {
		return fmt.Sprintf("%v firing %s thr=%.6g", at, ev.Level, ev.Threshold)
	}
	return fmt.Sprintf("%v firing %s<-%s thr=%.6g", at, ev.Level, ev.Previous, ev.Threshold)
}

// observeAll feeds the points of one series of kind to e and returns the
// events in brief.
func observeAll(e *Engine, kind string, points []point) []string {
	return observeSensor(e, kind, "S1", points)
}

// observeSensor feeds the points of sensor's series of kind to e and returns
// the events in brief.
func observeSensor(e *Engine, kind, sensor string, points []point) []string {
	k := configs.BuiltinKinds()[kind]
	var got []string
	for _, p := range points {
		r := sensorReading(k.Measurement, kind, sensor, p)
		for _, ev := range e.Observe(&r) {
			got = append(got, brief(&ev))
		}
	}
	return got
}

func sec(s float64) configs.Duration { return configs.Duration(s * float64(time.Second)) }
