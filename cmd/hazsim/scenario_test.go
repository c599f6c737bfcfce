package main

import (
	"math"
	"testing"
	"time"
)

// series samples one sensor of the demo catalogue every step from 0 to end
// with the given scenarios playing; a silent sample is NaN.
func series(t *testing.T, site, id string, plays []scenario, step, end time.Duration) []float64 {
	t.Helper()
	f := newFeed(demoCatalogue(), plays, 42)
	topic := ""
	for _, s := range demoCatalogue() {
		if s.Site == site && s.ID == id {
			topic = s.Topic()
		}
	}
	if topic == "" {
		t.Fatalf("no sensor %s/%s in the demo catalogue", site, id)
	}
	var out []float64
	for at := time.Duration(0); at <= end; at += step {
		v := math.NaN()
		for _, s := range f.Sample(nil, at) {
			if s.Topic == topic {
				v = s.Value
			}
		}
		out = append(out, v)
	}
	return out
}

// firstAtOrAbove returns the index of the first value at or above mark, or
// -1 if none is.
func firstAtOrAbove(values []float64, mark float64) int {
	for i, v := range values {
		if v >= mark {
			return i
		}
	}
	return -1
}

func TestScenario_CrossesMarksAndRecovers(t *testing.T) {
	tests := []struct {
		name, scenario, site, sensor string
		marks                        []float64 // in the order they must be crossed
		quiet                        float64   // the value is below this before and after
	}{
		{"leak passes 一级 then 二级 and falls back", "leak", "hx-chem-01", "GT-03", []float64{25, 50}, 3.01},
		{"overfill passes T101's high marks", "overfill", "hx-chem-01", "T101-LT", []float64{80, 85, 88, 90}, 71},
		{"flood passes 警戒 then 保证 at WL-1", "flood", "underpass-07", "WL-1", []float64{0.3, 0.5}, 0.051},
		{"flood passes 警戒 then 保证 at WL-2", "flood", "underpass-07", "WL-2", []float64{0.3, 0.5}, 0.051},
		{"h2s passes 1× and 2× OEL", "h2s", "hx-chem-01", "H2S-01", []float64{10, 20}, 2.01},
		{"ch4 passes alarm and power-off", "ch4", "jx-gas-02", "CH4-01", []float64{1.0, 1.5}, 0.31},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := scenarios[tt.scenario]
			if sc.End() > 4*time.Minute {
				t.Errorf("scenario lasts %s, want it over within a few minutes", sc.End())
			}
			values := series(t, tt.site, tt.sensor, []scenario{sc}, time.Second, sc.End()+10*time.Second)
			prev := -1
			for _, m := range tt.marks {
				i := firstAtOrAbove(values, m)
				if i < 0 {
					t.Fatalf("never reached %v; peak %v", m, maxOf(values))
				}
				if i <= prev {
					t.Errorf("reached %v at %ds, not after the previous mark at %ds", m, i, prev)
				}
				if time.Duration(i)*time.Second < sc.Start {
					t.Errorf("reached %v at %ds, before the scenario starts at %s", m, i, sc.Start)
				}
				prev = i
			}
			if v := values[0]; v >= tt.quiet {
				t.Errorf("before the scenario the value is %v, want below %v", v, tt.quiet)
			}
			if v := values[len(values)-1]; v >= tt.quiet {
				t.Errorf("after the scenario the value is %v, want back below %v", v, tt.quiet)
			}
		})
	}
}

func maxOf(values []float64) float64 {
	m := math.Inf(-1)
	for _, v := range values {
		m = math.Max(m, v)
	}
	return m
}

func TestScenario_FloodRisesAtStatedRate(t *testing.T) {
	sc := scenarios["flood"]
	values := series(t, "underpass-07", "WL-1", []scenario{sc}, time.Second, sc.End())
	// Measure over the middle of the rise, away from the noisy baseline at
	// its start and the peak at its end.
	from, to := sc.Start+sc.Rise/4, sc.Start+3*sc.Rise/4
	rise := values[int(to.Seconds())] - values[int(from.Seconds())]
	perHour := rise / (to - from).Hours()
	if math.Abs(perHour-floodRise) > 0.1*floodRise {
		t.Errorf("water rises at %.2f m/h, want %.0f m/h ± 10 %%", perHour, floodRise)
	}
	if perHour < 1.2 {
		t.Errorf("water rises at %.2f m/h, below the flood-rise rule's orange 1.2/h", perHour)
	}
}

func TestScenario_SilentSensorStopsLongerThanStaleAfter(t *testing.T) {
	sc := scenarios["silent"]
	values := series(t, "jx-gas-02", "GT-02", []scenario{sc}, time.Second, sc.End()+5*time.Second)
	var silent time.Duration
	for _, v := range values {
		if math.IsNaN(v) {
			silent += time.Second
		}
	}
	const staleAfter = 2 * time.Minute // configs/demo.yaml's offline rule
	if silent <= staleAfter {
		t.Errorf("silent for %s, want longer than the stale rule's %s", silent, staleAfter)
	}
	if math.IsNaN(values[len(values)-1]) {
		t.Error("still silent after the scenario, want it publishing again")
	}
	other := series(t, "jx-gas-02", "GT-01", []scenario{sc}, time.Second, sc.End())
	for i, v := range other {
		if math.IsNaN(v) {
			t.Fatalf("GT-01 silent at %ds, want only GT-02 silent", i)
		}
	}
}

func TestFeed_SameSeedSameValues(t *testing.T) {
	a := newFeed(demoCatalogue(), allScenarios(), 7).Sample(nil, 42*time.Second)
	b := newFeed(demoCatalogue(), allScenarios(), 7).Sample(nil, 42*time.Second)
	c := newFeed(demoCatalogue(), allScenarios(), 8).Sample(nil, 42*time.Second)
	if len(a) != len(b) {
		t.Fatalf("%d and %d samples from the same seed", len(a), len(b))
	}
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("sample %d: %v and %v from the same seed", i, a[i], b[i])
		}
		same = same && a[i] == c[i]
	}
	if same {
		t.Error("seeds 7 and 8 gave the same samples")
	}
}

func TestFeed_QuietValuesInRealisticRanges(t *testing.T) {
	ranges := map[string][2]float64{
		"gas_lel": {0, 3}, "gas_toxic": {0, 2}, "tank_level": {40, 70}, "tank_temp": {18, 22},
		"ch4_vol": {0.1, 0.3}, "rainfall": {0, 0},
	}
	f := newFeed(demoCatalogue(), nil, 3)
	for at := time.Duration(0); at < time.Hour; at += 10 * time.Second {
		for i, s := range f.Sample(nil, at) {
			kind := demoCatalogue()[i].Kind
			r, ok := ranges[kind]
			if ok && (s.Value < r[0] || s.Value > r[1]) {
				t.Fatalf("%s at %s reads %v, want within %v", s.Topic, at, s.Value, r)
			}
		}
	}
}

func TestParseScenarios(t *testing.T) {
	tests := []struct {
		list    string
		want    int
		wantErr bool
	}{
		{"", 0, false},
		{"leak", 1, false},
		{"leak, flood ,silent", 3, false},
		{"all", len(scenarios), false},
		{"leak,earthquake", 0, true},
	}
	for _, tt := range tests {
		got, err := parseScenarios(tt.list)
		if (err != nil) != tt.wantErr || len(got) != tt.want {
			t.Errorf("parseScenarios(%q) = %d scenarios, %v; want %d, error %v", tt.list, len(got), err, tt.want, tt.wantErr)
		}
	}
}

// slope is the least-squares slope of values sampled once a second, per hour.
func slope(values []float64) float64 {
	n := float64(len(values))
	var st, sv, stt, stv float64
	for i, v := range values {
		t := float64(i)
		st, sv, stt, stv = st+t, sv+v, stt+t*t, stv+t*v
	}
	return (n*stv - st*sv) / (n*stt - st*st) * 3600
}

func TestFeed_QuietWaterDoesNotLookLikeARise(t *testing.T) {
	// The demo's flood-rise rule fits as few as 5 samples; on a quiet day no
	// 5 s stretch may rise at its yellow 0.6 m/h.
	for _, g := range []struct{ site, sensor string }{{"underpass-07", "WL-1"}, {"river-02", "WL-1"}} {
		values := series(t, g.site, g.sensor, nil, time.Second, 30*time.Minute)
		for i := 0; i+5 <= len(values); i++ {
			if s := slope(values[i : i+5]); s >= 0.6 {
				t.Fatalf("%s/%s rises at %.2f m/h over %ds..%ds on a quiet day", g.site, g.sensor, s, i, i+4)
			}
		}
	}
}
