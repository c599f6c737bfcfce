package alerting

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/configs"
	"hazwatch/reading"
)

// limitedEngine is an engine for rules under limits l.
func limitedEngine(t *testing.T, l configs.Limits, rules ...configs.Rule) *Engine {
	t.Helper()
	cfg := testConfig(rules...)
	cfg.Limits = l
	e, err := NewEngine(cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func gasAt(site, sensor string, at float64, v float64) reading.Reading {
	r := sensorReading("gas", "gas_lel", sensor, point{at, v})
	r.Site = site
	return r
}

// refusal returns the reason Accept refused r, or "" when it took it.
func refusal(t *testing.T, e *Engine, r reading.Reading, now time.Time) string {
	t.Helper()
	_, err := e.Accept(&r, now)
	var ref *Refusal
	if errors.As(err, &ref) {
		return ref.Reason
	}
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return ""
}

func TestAccept_Limits(t *testing.T) {
	perMinute := func(n int) configs.Rate {
		return configs.Rate{PerSecond: float64(n) / 60, Text: fmt.Sprintf("%d/m", n)}
	}
	catalogued := gasAt("hx-chem-01", "GT-101", 0, 5)
	tests := []struct {
		name   string
		limits configs.Limits
		// before are readings of other series taken first, each a new one
		// the catalogue does not list, at t0.
		before int
		r      reading.Reading
		at     time.Duration // after t0
		want   string
	}{
		{"unknown accepted by default", configs.Limits{}, 0, gasAt("junk", "X", 0, 5), 0, ""},
		{"unknown refused when only the catalogue's are taken", configs.Limits{UnknownSensors: configs.UnknownReject}, 0, gasAt("junk", "X", 0, 5), 0, RefusedUnknownSensor},
		{"the catalogue's taken when unknown are refused", configs.Limits{UnknownSensors: configs.UnknownReject}, 0, catalogued, 0, ""},
		{"series limit", configs.Limits{MaxSeries: 3}, 3, gasAt("junk", "X", 0, 5), 0, RefusedSeriesLimit},
		{"series limit spares the catalogue", configs.Limits{MaxSeries: 3}, 3, catalogued, 0, ""},
		{"new series rate", configs.Limits{NewSeriesRate: perMinute(60), NewSeriesBurst: 60}, 60, gasAt("junk", "X", 0, 5), 0, RefusedNewSeriesRate},
		{"new series rate refills", configs.Limits{NewSeriesRate: perMinute(60), NewSeriesBurst: 60}, 60, gasAt("junk", "X", 1, 5), time.Second, ""},
		{"new series rate spares the catalogue", configs.Limits{NewSeriesRate: perMinute(60), NewSeriesBurst: 60}, 60, catalogued, 0, ""},
		{"long name", configs.Limits{MaxNameBytes: 16}, 0, gasAt(strings.Repeat("s", 17), "X", 0, 5), 0, RefusedNameTooLong},
		{"long tag", configs.Limits{MaxNameBytes: 16}, 0, func() reading.Reading {
			r := gasAt("s", "X", 0, 5)
			r.Tags = []reading.Tag{{Key: "zone", Value: strings.Repeat("z", 17)}}
			return r
		}(), 0, RefusedNameTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := limitedEngine(t, tt.limits, gasRule(25, 50))
			for i := range tt.before {
				if got := refusal(t, e, gasAt("junk", fmt.Sprintf("J%d", i), 0, 5), t0); got != "" {
					t.Fatalf("reading %d before refused: %s", i, got)
				}
			}
			if got := refusal(t, e, tt.r, t0.Add(tt.at)); got != tt.want {
				t.Errorf("refusal %q, want %q", got, tt.want)
			}
		})
	}
}

// A series already taken keeps being evaluated whatever the limits.
func TestAccept_KnownSeriesAreNeverRefused(t *testing.T) {
	e := limitedEngine(t, configs.Limits{MaxSeries: 1}, gasRule(25, 50))
	for i := range 5 {
		if got := refusal(t, e, gasAt("junk", "X", float64(i), 5), t0); got != "" {
			t.Fatalf("reading %d of the taken series refused: %s", i, got)
		}
	}
}

// An idle series the catalogue does not list is forgotten after
// evict_after; its firing alert is resolved first, and its place is free
// again. The catalogue's sensors are never evicted.
func TestEvict_ResolvesThenForgetsIdleUnknownSeries(t *testing.T) {
	stale := configs.Rule{Name: "no-data", Stale: &configs.StaleRule{After: configs.Duration(time.Minute)}}
	e := limitedEngine(t, configs.Limits{MaxSeries: 1, EvictAfter: configs.Duration(time.Hour)}, stale)
	for _, r := range []reading.Reading{gasAt("junk", "X", 0, 5), gasAt("hx-chem-01", "GT-101", 0, 5)} {
		if got := refusal(t, e, r, t0); got != "" {
			t.Fatalf("refused %s: %s", r.Sensor, got)
		}
	}
	if fired := e.Tick(t0.Add(2 * time.Minute)); len(fired) != 2 {
		t.Fatalf("stale alerts %d, want 2", len(fired))
	}
	if evs := e.Evict(t0.Add(30 * time.Minute)); len(evs) != 0 {
		t.Fatalf("evicted before evict_after: %+v", evs)
	}
	evs := e.Evict(t0.Add(61 * time.Minute))
	if len(evs) != 1 || evs[0].Sensor != "X" || evs[0].Status != StatusResolved {
		t.Fatalf("eviction gave %+v, want the resolve of X's stale alert", evs)
	}
	active := e.Active()
	if len(active) != 1 || active[0].Sensor != "GT-101" {
		t.Errorf("active after eviction %+v, want only the catalogue's GT-101", active)
	}
	if got := refusal(t, e, gasAt("junk", "Y", 3700, 5), t0.Add(62*time.Minute)); got != "" {
		t.Errorf("a new series after the eviction refused: %s", got)
	}
}

func TestAccept_KnownSeriesDoesNotAllocate(t *testing.T) {
	e := limitedEngine(t, configs.Limits{MaxSeries: 10, MaxNameBytes: 64}, demoRules()...)
	r := sensorReading("flood", "water_level", "WL-01", point{0, 0.1})
	if _, err := e.Accept(&r, t0); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		r.Time = r.Time.Add(10 * time.Second)
		if ev, err := e.Accept(&r, t0); ev != nil || err != nil {
			t.Fatalf("unexpected %v, %v", ev, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Accept allocates %v times per reading, want 0", allocs)
	}
}
