package alerting

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hazwatch/configs"
)

func gasRule(yellow, red float64) configs.Rule {
	return configs.Rule{Name: "gas-lel", Match: configs.Matcher{"kind": {"gas_lel"}}, Threshold: &configs.ThresholdRule{
		Above: configs.LevelValues{configs.LevelYellow: yellow, configs.LevelRed: red}, ForReadings: 1,
		For: configs.Duration(5 * time.Second),
	}}
}

func TestReload(t *testing.T) {
	offline := configs.Rule{Name: "offline", Stale: &configs.StaleRule{After: configs.Duration(time.Hour), Level: configs.LevelBlue}}
	tests := []struct {
		name  string
		after []configs.Rule
		// The engine has fired yellow at 5s on 30 %LEL when it reloads; then
		// Tick runs at 7s and these points follow.
		points []point
		want   []string
	}{
		{"UnchangedRuleKeepsItsAlert", []configs.Rule{gasRule(25, 50)}, []point{{8, 31}, {9, 10}}, []string{"9s resolved yellow thr=25"}},
		{"UnrelatedChangeKeepsTheAlert", []configs.Rule{gasRule(25, 50), offline}, []point{{8, 31}}, nil},
		{"ChangedThresholdStillExceededKeepsTheAlert", []configs.Rule{gasRule(28, 50)}, []point{{8, 30}, {9, 10}}, []string{"9s resolved yellow thr=28"}},
		{"RaisedThresholdResolvesOnTheNextReading", []configs.Rule{gasRule(35, 50)}, []point{{8, 30}}, []string{"8s resolved yellow thr=35"}},
		{"LoweredRedRisesAfterFor", []configs.Rule{gasRule(25, 29)}, []point{{8, 30}, {13, 30}}, []string{"13s firing red<-yellow thr=29"}},
		{"RemovedRuleResolvesOnTick", []configs.Rule{offline}, []point{{8, 30}}, []string{"7s resolved yellow thr=25"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, gasRule(25, 50))
			if got := observeAll(e, "gas_lel", []point{{0, 30}, {5, 30}}); !slices.Equal(got, []string{"5s firing yellow thr=25"}) {
				t.Fatalf("before reload: %q", got)
			}
			if err := e.Reload(testConfig(tt.after...)); err != nil {
				t.Fatal(err)
			}
			got := tickBriefs(e, t0.Add(7*time.Second))
			got = append(got, observeAll(e, "gas_lel", tt.points)...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("events after reload:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestState_SurvivesARestart(t *testing.T) {
	rise := configs.Rule{Name: "flood-rise", Match: configs.Matcher{"kind": {"water_level"}}, Rate: &configs.RateRule{
		Window: configs.Duration(10 * time.Minute), MinSamples: 5,
		Above: map[configs.Level]configs.Rate{configs.LevelYellow: perHour(0.6)},
	}}
	flood := line(0.1, 1.0, 60, 600)
	tests := []struct {
		name          string
		rules         []configs.Rule
		kind          string
		before, after []point
		// wantBefore and wantAfter are the events on each side of the restart.
		wantBefore, wantAfter []string
		wantActive            int
	}{
		{
			name: "FiringStaysFiringWithoutASecondEvent", rules: []configs.Rule{gasRule(25, 50)}, kind: "gas_lel",
			before: []point{{0, 30}, {5, 30}}, after: []point{{6, 31}, {7, 10}},
			wantBefore: []string{"5s firing yellow thr=25"}, wantAfter: []string{"7s resolved yellow thr=25"}, wantActive: 1,
		},
		{
			name: "PendingTimerCarriesOver", rules: []configs.Rule{gasRule(25, 50)}, kind: "gas_lel",
			before: []point{{0, 30}, {3, 30}}, after: []point{{5, 30}},
			wantAfter: []string{"5s firing yellow thr=25"},
		},
		{
			name: "FitWindowCarriesOver", rules: []configs.Rule{rise}, kind: "water_level",
			before: flood[:4], after: flood[4:5],
			wantAfter: []string{"4m0s firing yellow thr=0.6"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "alert-state")
			before := newTestEngine(t, tt.rules...)
			if got := observeAll(before, tt.kind, tt.before); !slices.Equal(got, tt.wantBefore) {
				t.Fatalf("before restart:\n got %q\nwant %q", got, tt.wantBefore)
			}
			if err := before.SaveStateFile(path); err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			after, err := NewEngine(testConfig(tt.rules...), reg)
			if err != nil {
				t.Fatal(err)
			}
			if err := after.LoadStateFile(path); err != nil {
				t.Fatal(err)
			}
			if n := len(after.Active()); n != tt.wantActive {
				t.Errorf("%d alerts active after restart, want %d", n, tt.wantActive)
			}
			if n := testutil.ToFloat64(after.metrics.active.WithLabelValues("yellow")); int(n) != tt.wantActive {
				t.Errorf("hazwatch_alerts_active{level=yellow} = %v after restart, want %d", n, tt.wantActive)
			}
			got := tickBriefs(after, t0.Add(time.Second))
			got = append(got, observeAll(after, tt.kind, tt.after)...)
			if !slices.Equal(got, tt.wantAfter) {
				t.Errorf("after restart:\n got %q\nwant %q", got, tt.wantAfter)
			}
		})
	}
}

func TestState_MissingFileIsAFirstStart(t *testing.T) {
	e := newTestEngine(t, gasRule(25, 50))
	if err := e.LoadStateFile(filepath.Join(t.TempDir(), "none")); err != nil {
		t.Errorf("missing state file: %v", err)
	}
}

func TestState_RefusesAnotherVersion(t *testing.T) {
	e := newTestEngine(t, gasRule(25, 50))
	if err := e.LoadState(bytes.NewBufferString(`{"version": 99}`)); err == nil {
		t.Error("state of version 99 loaded, want an error")
	}
}

func tickBriefs(e *Engine, now time.Time) []string {
	var out []string
	for _, ev := range e.Tick(now) {
		out = append(out, brief(&ev))
	}
	return out
}

func TestState_LeavesOutTheMachineOfAnIdleAlert(t *testing.T) {
	tests := []struct {
		name        string
		points      []point
		wantMachine bool
	}{
		{"normal reading", []point{{0, 5}}, false},
		{"pending", []point{{0, 30}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, gasRule(25, 50))
			observeAll(e, "gas_lel", tt.points)
			var saved bytes.Buffer
			if err := e.SaveState(&saved); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(saved.String(), `"machine"`); got != tt.wantMachine {
				t.Fatalf("machine saved = %v, want %v: %s", got, tt.wantMachine, saved.String())
			}
		})
	}
}

// A state file written when every alert's machine was saved, idle or not,
// still loads.
func TestState_LoadsAFileWithIdleMachines(t *testing.T) {
	e := newTestEngine(t, gasRule(25, 50))
	observeAll(e, "gas_lel", []point{{0, 5}})
	var saved bytes.Buffer
	if err := e.SaveState(&saved); err != nil {
		t.Fatal(err)
	}
	idle := `"machine":{"up_since":[0,0,0,0,0],"up_count":[0,0,0,0,0],"down_since":[0,0,0,0,0],"up_held":0,"down_held":0}`
	old := strings.Replace(saved.String(), `"fingerprint":`, idle+`,"fingerprint":`, 1)
	if old == saved.String() {
		t.Fatal("no alert in the saved state")
	}
	if err := newTestEngine(t, gasRule(25, 50)).LoadState(strings.NewReader(old)); err != nil {
		t.Fatalf("load: %v", err)
	}
}
