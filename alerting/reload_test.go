package alerting

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
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
		for _, checkpoint := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/checkpoint=%v", tt.name, checkpoint), func(t *testing.T) {
				dir := t.TempDir()
				before, j := journaledEngine(t, dir, nil, tt.rules...)
				if got := observeAll(before, tt.kind, tt.before); !slices.Equal(got, tt.wantBefore) {
					t.Fatalf("before restart:\n got %q\nwant %q", got, tt.wantBefore)
				}
				if checkpoint {
					if _, err := before.Checkpoint(math.MaxUint64); err != nil {
						t.Fatal(err)
					}
				}
				if err := j.Close(); err != nil {
					t.Fatal(err)
				}
				reg := prometheus.NewRegistry()
				after, _ := journaledEngine(t, dir, reg, tt.rules...)
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
}

// journaledEngine returns an engine for rules restored from the journal in
// dir, recording into it; the journal closes with the test.
func journaledEngine(t testing.TB, dir string, reg prometheus.Registerer, rules ...configs.Rule) (*Engine, *Journal) {
	t.Helper()
	e, j, _, _ := restoreFrom(t, dir, reg, math.MaxUint64, rules...)
	return e, j
}

// restoreFrom restores an engine for rules from the journal in dir, with
// notification's cursor, and returns what Restore returned too.
func restoreFrom(t testing.TB, dir string, reg prometheus.Registerer, cursor uint64, rules ...configs.Rule) (*Engine, *Journal, []Event, RestoreStats) {
	t.Helper()
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	e, err := NewEngine(testConfig(rules...), reg)
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	pending, stats, err := e.Restore(j, "", cursor)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return e, j, pending, stats
}

func TestState_EmptyDirectoryIsAFirstStart(t *testing.T) {
	e, _ := journaledEngine(t, t.TempDir(), nil, gasRule(25, 50))
	if n := len(e.Active()); n != 0 {
		t.Errorf("%d alerts active on a first start", n)
	}
}

func TestState_RefusesAnotherVersion(t *testing.T) {
	e := newTestEngine(t, gasRule(25, 50))
	e.restoring, e.orphans = true, map[string]orphan{}
	if _, err := e.loadState(bytes.NewBufferString(`{"version": 99}`)); err == nil {
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
			var st savedState
			if err := gob.NewDecoder(&saved).Decode(&st); err != nil {
				t.Fatal(err)
			}
			if got := st.Series[0].Alerts[0].Machine != nil; got != tt.wantMachine {
				t.Fatalf("machine saved = %v, want %v", got, tt.wantMachine)
			}
		})
	}
}

// The JSON state file of version 1, as earlier versions rewrote it every
// ten seconds, still loads, with an alert firing in it.
func TestState_LoadsTheJSONFileOfVersion1(t *testing.T) {
	dir := t.TempDir()
	legacy := filepath.Join(dir, "alert-state")
	old := `{"version":1,"series":[{"id":{"Measurement":"gas","Site":"s1","Kind":"gas_lel","Sensor":"GT-01","Field":"value","Value":30,"Time":"2026-11-28T10:00:00Z"},` +
		`"last_at":1764324000000000000,"changed_at":1764324000000000000,"alerts":[{"rule":"gas-lel","type":"threshold","fingerprint":1,"level":2,"threshold":25,"started_at":1764324000000000000,` +
		`"machine":{"up_since":[0,0,0,0,0],"up_count":[0,0,0,0,0],"down_since":[0,0,0,0,0],"up_held":0,"down_held":0},` +
		`"last":{"ID":"x","Rule":"gas-lel","Type":"threshold","Status":"firing","Level":2,"Site":"s1","Sensor":"GT-01","Value":30,"Threshold":25}}]}]}`
	if err := os.WriteFile(legacy, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(testConfig(gasRule(25, 50)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(filepath.Join(dir, "journal"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, _, err := e.Restore(j, legacy, 0); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if active := e.Active(); len(active) != 1 || active[0].Level != configs.LevelYellow {
		t.Fatalf("active after loading version 1: %+v, want one yellow alert", active)
	}
}
