package alerting

import (
	"math"
	"slices"
	"testing"
	"time"

	"hazwatch/configs"
)

// line returns readings every step seconds from 0 to end of v0 + slope·t,
// slope in units per hour.
func line(v0, perHour, step, end float64) []point {
	var out []point
	for t := 0.0; t <= end; t += step {
		out = append(out, point{t, v0 + perHour*t/3600})
	}
	return out
}

func perHour(v float64) configs.Rate {
	return configs.Rate{PerSecond: v / 3600, Text: "x/h"}
}

func TestRate_KnownSlopes(t *testing.T) {
	rise := configs.Rule{Name: "flood-rise", Match: configs.Matcher{"kind": {"water_level"}}, Rate: &configs.RateRule{
		Window: configs.Duration(10 * time.Minute), MinSamples: 5,
		Above: map[configs.Level]configs.Rate{configs.LevelYellow: perHour(0.6), configs.LevelOrange: perHour(1.2)},
	}}
	drain := configs.Rule{Name: "tank-drain", Match: configs.Matcher{"kind": {"water_level"}}, Rate: &configs.RateRule{
		Window: configs.Duration(10 * time.Minute), MinSamples: 5,
		Below: map[configs.Level]configs.Rate{configs.LevelYellow: perHour(-0.6)},
	}}
	riseThenFlat := append(line(0.1, 1.3, 60, 600), line(0.1+1.3/6, 0, 60, 900)[1:]...)
	for i := range riseThenFlat[11:] {
		riseThenFlat[11+i].at += 600
	}
	tests := []struct {
		name   string
		rule   configs.Rule
		points []point
		want   []string
	}{
		{"SteepRiseFiresOrangeOnceMinSamplesAreIn", rise, line(0.1, 1.3, 60, 600), []string{"4m0s firing orange thr=1.2"}},
		{"ModerateRiseFiresYellow", rise, line(0.1, 0.8, 60, 600), []string{"4m0s firing yellow thr=0.6"}},
		{"SlowRiseStaysQuiet", rise, line(0.1, 0.3, 60, 600), nil},
		{"FallingIsNotARise", rise, line(2, -1.3, 60, 600), nil},
		{"DrainFiresBelow", drain, line(2, -1.3, 60, 600), []string{"4m0s firing yellow thr=-0.6"}},
		{
			"LevellingOffResolvesAsTheWindowMovesOn", rise, riseThenFlat,
			[]string{"4m0s firing orange thr=1.2", "12m0s firing yellow<-orange thr=0.6", "16m0s resolved yellow thr=0.6"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := observeAll(newTestEngine(t, tt.rule), "water_level", tt.points)
			if !slices.Equal(got, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPredict_FiresBeforeTheCrossingWithTheTimeLeft(t *testing.T) {
	rule := configs.Rule{Name: "flood-eta", Match: configs.Matcher{"kind": {"water_level"}}, Predict: &configs.PredictRule{
		Window: configs.Duration(10 * time.Minute), MinSamples: 5, Target: 0.3,
		Horizon: configs.Duration(30 * time.Minute), Level: configs.LevelOrange,
	}}
	tests := []struct {
		name string
		// v0 and perHour give the series; it crosses 0.3 at (0.3-v0)/perHour hours.
		v0, perHour float64
		// wantAt is when the rule should fire (seconds), -1 for never.
		wantAt float64
	}{
		{"FastRiseFiresAtMinSamples", 0.1, 0.4, 240},
		{"SlowRiseFiresWhenTheCrossingIsWithinTheHorizon", 0.1, 0.2, 1800},
		{"FallingAwayNeverFires", 0.25, -0.2, -1},
		{"FlatNeverFires", 0.2, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, rule)
			var fired []Event
			for _, p := range line(tt.v0, tt.perHour, 60, 3600) {
				r := sensorReading("flood", "water_level", "S1", p)
				fired = append(fired, e.Observe(&r)...)
			}
			if tt.wantAt < 0 {
				if len(fired) != 0 {
					t.Fatalf("fired %d events, want none: %q", len(fired), fired[0].Message)
				}
				return
			}
			if len(fired) == 0 {
				t.Fatal("never fired")
			}
			ev := fired[0]
			at := ev.At.Sub(t0).Seconds()
			if math.Abs(at-tt.wantAt) > 60 {
				t.Errorf("fired at %vs, want %vs", at, tt.wantAt)
			}
			crossing := (0.3 - tt.v0) / tt.perHour * 3600
			if at >= crossing {
				t.Errorf("fired at %vs, not before the crossing at %vs", at, crossing)
			}
			if !ev.HasETA || math.Abs(ev.ETA.Seconds()-(crossing-at)) > 1 {
				t.Errorf("ETA %v (set %v), want %vs", ev.ETA, ev.HasETA, crossing-at)
			}
			if ev.Level != configs.LevelOrange || ev.Threshold != 0.3 {
				t.Errorf("level %s threshold %g, want orange 0.3", ev.Level, ev.Threshold)
			}
		})
	}
}

func TestFit_SlopeSurvivesLargeTimesAndManyWindows(t *testing.T) {
	var f fit
	window := int64(10 * time.Minute)
	base := t0.UnixNano()
	const slope = 0.25 / 3600
	// A day of readings every 10 s: the sums are rebased many times over.
	for i := range 8640 {
		ts := base + int64(i)*int64(10*time.Second)
		f.add(ts, 1000+slope*float64(ts-base)/1e9, window)
	}
	got, last, ok := f.line(5)
	if !ok {
		t.Fatal("no line")
	}
	if math.Abs(got-slope)/slope > 1e-6 {
		t.Errorf("slope %g, want %g", got, slope)
	}
	if want := 1000 + slope*8639*10; math.Abs(last-want) > 1e-6 {
		t.Errorf("fitted last value %g, want %g", last, want)
	}
	if f.n != 61 {
		t.Errorf("window holds %d samples, want 61 (10 min of 10 s, both ends)", f.n)
	}
	// After a gap longer than the window the fit starts again from one sample.
	gapEnd := base + int64(48*time.Hour)
	f.add(gapEnd, 5, window)
	if _, _, ok := f.line(2); ok || f.n != 1 {
		t.Errorf("after a gap: %d samples, line %v; want 1 sample and no line", f.n, ok)
	}
	f.add(gapEnd+int64(time.Minute), 5.5, window)
	if got, _, _ := f.line(2); math.Abs(got-0.5/60) > 1e-9 {
		t.Errorf("slope after a gap %g, want %g", got, 0.5/60)
	}
}
