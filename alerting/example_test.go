package alerting

import (
	"slices"
	"testing"

	"hazwatch/configs"
)

// TestExampleConfig_RulesRunOnTheDemoScenario loads the shipped example
// config, so that a rule written there that the engine cannot use shows up
// here, and checks the per-sensor override and the coal-mine hysteresis.
func TestExampleConfig_RulesRunOnTheDemoScenario(t *testing.T) {
	t.Setenv("WEBHOOK_SECRET", "s")
	t.Setenv("DING_TOKEN", "t")
	t.Setenv("DING_SECRET", "s")
	cfg, err := configs.Load("../configs/example.yaml")
	if err != nil {
		t.Fatalf("load the example config: %v", err)
	}
	events, err := Replay(cfg, demoReadings())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		t.Fatal("no transitions on the demo scenario")
	}
	e, err := NewEngine(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// tank-level is overridden for hx-chem-01/T101-LT: orange at 80, not 85.
	got := observeSensor(e, "tank_level", "T101-LT", []point{{0, 82}})
	if want := []string{"0s firing orange thr=80"}; !slices.Equal(got, want) {
		t.Errorf("T101-LT at 82%%: %q, want %q", got, want)
	}
	// coal-ch4: two readings at 1.6 cut power (red); 1.2 keeps it; 0.9 restores.
	got = observeSensor(e, "ch4_vol", "M1", []point{{0, 1.6}, {1, 1.6}, {2, 1.2}, {3, 0.9}})
	if want := []string{"1s firing red thr=1.5", "3s resolved red thr=1.5"}; !slices.Equal(got, want) {
		t.Errorf("coal-mine methane: %q, want %q", got, want)
	}
}
