package alerting

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"hazwatch/configs"
)

func TestStale_FiresOnTheClockAndResolvesOnTheNextReading(t *testing.T) {
	e := newTestEngine(t, configs.Rule{Name: "offline", Stale: &configs.StaleRule{
		After: configs.Duration(5 * time.Minute), Level: configs.LevelBlue,
	}})
	var got []string
	observe := func(at float64) {
		got = append(got, observeAll(e, "gas_lel", []point{{at, 3}})...)
	}
	tick := func(at time.Duration) {
		got = append(got, tickBriefs(e, t0.Add(at))...)
	}
	observe(0)
	tick(4 * time.Minute)
	tick(5 * time.Minute)
	tick(6 * time.Minute)
	if n := len(e.Active()); n != 1 {
		t.Errorf("%d alerts active while stale, want 1", n)
	}
	observe(400)
	tick(7 * time.Minute)
	want := []string{"5m0s firing blue thr=0", "6m40s resolved blue thr=0"}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
}

func TestFault(t *testing.T) {
	fault := configs.Rule{Name: "sensor-fault", Fault: &configs.FaultRule{StuckFor: configs.Duration(time.Hour)}}
	tests := []struct {
		name   string
		points []point
		want   []string
	}{
		{
			name:   "OutOfRangeFiresBlueAndResolvesInRange",
			points: []point{{0, 50}, {1, 120}, {2, 130}, {3, 40}, {4, -3}},
			want:   []string{"1s firing blue thr=100", "3s resolved blue thr=100", "4s firing blue thr=0"},
		},
		{
			name:   "StuckSensorFiresAfterStuckFor",
			points: []point{{0, 5}, {600, 5}, {3000, 5}, {3599, 5}, {3600, 5}, {4200, 5}, {4800, 5.1}},
			want:   []string{"1h0m0s firing blue thr=5", "1h20m0s resolved blue thr=5"},
		},
		{
			name:   "ChangingValuesAreNotStuck",
			points: []point{{0, 5}, {1800, 5.1}, {3600, 5.1}, {5000, 5}},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := observeAll(newTestEngine(t, fault), "gas_lel", tt.points)
			if !slices.Equal(got, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestThreshold_NarrowerMatchOverridesForOneSensor(t *testing.T) {
	general := configs.Rule{Name: "tank-level", Match: configs.Matcher{"kind": {"tank_level"}}, Threshold: &configs.ThresholdRule{
		Above: configs.LevelValues{configs.LevelOrange: 85, configs.LevelRed: 90}, ForReadings: 1,
	}}
	override := configs.Rule{Name: "tank-level", Match: configs.Matcher{"kind": {"tank_level"}, "sensor": {"T101-*"}}, Threshold: &configs.ThresholdRule{
		Above: configs.LevelValues{configs.LevelOrange: 80, configs.LevelRed: 88}, ForReadings: 1,
	}}
	points := []point{{0, 82}, {1, 89}}
	tests := []struct {
		sensor string
		want   []string
	}{
		{"T101-LT", []string{"0s firing orange thr=80", "1s firing red<-orange thr=88"}},
		{"T102-LT", []string{"1s firing orange thr=85"}},
	}
	for _, tt := range tests {
		t.Run(tt.sensor, func(t *testing.T) {
			// The override wins whichever order the file has them in.
			for _, rules := range [][]configs.Rule{{general, override}, {override, general}} {
				got := observeSensor(newTestEngine(t, rules...), "tank_level", tt.sensor, points)
				if !slices.Equal(got, tt.want) {
					t.Errorf("events:\n got %q\nwant %q", got, tt.want)
				}
			}
		})
	}
}

// TestStale_SeriesFirstSeenAfterATickGoStaleToo checks that Tick, which skips
// shards with nothing due, still learns of series that appear later and of
// alerts that resolve.
func TestStale_SeriesFirstSeenAfterATickGoStaleToo(t *testing.T) {
	e := newTestEngine(t, configs.Rule{Name: "offline", Stale: &configs.StaleRule{
		After: configs.Duration(5 * time.Minute), Level: configs.LevelBlue,
	}})
	const sensors = 200 // more than shards, so that some share one
	observe := func(prefix string, at float64) {
		for i := range sensors {
			r := sensorReading("gas", "gas_lel", fmt.Sprintf("%s%d", prefix, i), point{at, 3})
			e.Observe(&r)
		}
	}
	fired := func(now time.Duration) int {
		return len(e.Tick(t0.Add(now)))
	}
	observe("A", 0)
	if n := fired(5 * time.Minute); n != sensors {
		t.Fatalf("%d A sensors went stale, want %d", n, sensors)
	}
	observe("B", 360)
	if n := fired(10 * time.Minute); n != 0 {
		t.Errorf("%d stale at 10m, want none", n)
	}
	if n := fired(11 * time.Minute); n != sensors {
		t.Errorf("%d B sensors went stale at 11m, want %d", n, sensors)
	}
	observe("A", 700) // resolves the A alerts
	if n := fired(16*time.Minute + 40*time.Second); n != sensors {
		t.Errorf("%d A sensors went stale again, want %d", n, sensors)
	}
}
