package alerting

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics_CountTransitionsAndActiveLevels(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := NewEngine(testConfig(demoRules()...), reg)
	if err != nil {
		t.Fatal(err)
	}
	// Readings for GT-101 up to red: fired yellow, rose to red.
	for _, p := range []point{{0, 12}, {60, 30.4}, {120, 52.1}} {
		r := sensorReading("gas", "gas_lel", "GT-101", p)
		e.Observe(&r)
	}
	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"active red", e.metrics.active.WithLabelValues("red"), 1},
		{"active yellow", e.metrics.active.WithLabelValues("yellow"), 0},
		{"yellow firing transitions", e.metrics.transitions.WithLabelValues("gas-lel", "yellow", StatusFiring), 1},
		{"red firing transitions", e.metrics.transitions.WithLabelValues("gas-lel", "red", StatusFiring), 1},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	// A second engine on the same registry shares the metrics instead of failing.
	if _, err := NewEngine(testConfig(demoRules()...), reg); err != nil {
		t.Errorf("second engine on one registry: %v", err)
	}
}
