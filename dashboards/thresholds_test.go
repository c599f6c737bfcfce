package dashboards

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/grafana-tools/sdk"

	"hazwatch/configs"
)

func f(v float64) *float64 { return &v }

func TestSteps_ColourEveryBandByTheLevelInEffect(t *testing.T) {
	none, blue, yellow, orange, red := configs.LevelNone.Color(), configs.LevelBlue.Color(),
		configs.LevelYellow.Color(), configs.LevelOrange.Color(), configs.LevelRed.Color()
	tests := []struct {
		name  string
		marks []mark
		want  []sdk.ThresholdStep
	}{
		{"no thresholds is all ok", nil, []sdk.ThresholdStep{{Color: none}}},
		{"above rises with the value",
			[]mark{{Value: 25, Level: configs.LevelYellow}, {Value: 50, Level: configs.LevelRed}},
			[]sdk.ThresholdStep{{Color: none}, {Color: yellow, Value: f(25)}, {Color: red, Value: f(50)}}},
		{"below falls with the value",
			[]mark{{Value: 10, Level: configs.LevelYellow, Below: true}, {Value: 5, Level: configs.LevelOrange, Below: true}},
			[]sdk.ThresholdStep{{Color: orange}, {Color: yellow, Value: f(5)}, {Color: none, Value: f(10)}}},
		{"below and above around an ok band",
			[]mark{{Value: 10, Level: configs.LevelBlue, Below: true}, {Value: 90, Level: configs.LevelRed}},
			[]sdk.ThresholdStep{{Color: blue}, {Color: none, Value: f(10)}, {Color: red, Value: f(90)}}},
		{"two rules at one value draw one line of the higher level",
			[]mark{{Value: 30, Level: configs.LevelYellow}, {Value: 30, Level: configs.LevelOrange}},
			[]sdk.ThresholdStep{{Color: none}, {Color: orange, Value: f(30)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := steps(tt.marks)
			if got.Mode != "absolute" || !slices.EqualFunc(got.Steps, tt.want, stepEqual) {
				t.Errorf("steps = %s, want %s", show(got.Steps), show(tt.want))
			}
		})
	}
}

func stepEqual(a, b sdk.ThresholdStep) bool {
	return a.Color == b.Color && (a.Value == nil) == (b.Value == nil) && (a.Value == nil || *a.Value == *b.Value)
}

func show(s []sdk.ThresholdStep) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// colourAt is the colour Grafana gives x: that of the last step at or below it.
func colourAt(steps []sdk.ThresholdStep, x float64) string {
	c := steps[0].Color
	for _, s := range steps[1:] {
		if *s.Value <= x {
			c = s.Color
		}
	}
	return c
}

// wantLevel is the alerting engine's target level at x under rules (SPEC §5):
// the highest level whose above (x ≥ t) or below (x ≤ t) condition holds.
func wantLevel(rules []*configs.Rule, x float64) configs.Level {
	lvl := configs.LevelNone
	for _, r := range rules {
		if r.Threshold == nil {
			continue
		}
		for l, v := range r.Threshold.Above {
			if x >= v {
				lvl = max(lvl, l)
			}
		}
		for l, v := range r.Threshold.Below {
			if x <= v {
				lvl = max(lvl, l)
			}
		}
	}
	return lvl
}

// sitePanels returns the thresholds of the panels of a site dashboard by
// sensor id, in the order the dashboard draws the site's sensors.
func sitePanels(t *testing.T, set *Set, cfg *configs.Config, site *configs.Site) map[string]sdk.Thresholds {
	t.Helper()
	var b sdk.Board
	if err := json.Unmarshal(dashboard(t, set, siteUID(site.ID)), &b); err != nil {
		t.Fatal(err)
	}
	sensors := sensorsOf(site)
	if len(b.Panels) != len(sensors) {
		t.Fatalf("site %s: %d panels for %d sensors", site.ID, len(b.Panels), len(sensors))
	}
	out := map[string]sdk.Thresholds{}
	for i, s := range sensors {
		out[s.Sensor] = b.Panels[i].TimeseriesPanel.FieldConfig.Defaults.Thresholds
	}
	return out
}

// alertingRules resolves the rules of one catalogue sensor with
// configs.RulesFor, as the alerting engine does for its series.
func alertingRules(cfg *configs.Config, site, sensor, kind string) []*configs.Rule {
	return configs.RulesFor(cfg.Rules, func(key string) (string, bool) {
		switch key {
		case "site":
			return site, true
		case "sensor":
			return sensor, true
		case "kind":
			return kind, kind != ""
		}
		v, ok := cfg.InfluxDB.StaticTags[key]
		return v, ok
	})
}

func TestThresholds_EqualTheRulesThatDriveAlerting(t *testing.T) {
	cfg := exampleConfig(t, false)
	set := build(t, cfg)
	checked := 0
	for i := range cfg.Sites {
		site := &cfg.Sites[i]
		for sensor, th := range sitePanels(t, set, cfg, site) {
			rules := alertingRules(cfg, site.ID, sensor, site.Sensors[sensor].Kind)
			var values []float64
			for _, r := range rules {
				if r.Threshold == nil {
					continue
				}
				for l, v := range r.Threshold.Above {
					values = append(values, v)
					if got, want := colourAt(th.Steps, v), wantLevel(rules, v).Color(); got != want {
						t.Errorf("%s/%s: colour at above threshold %g (%s) is %s, want %s", site.ID, sensor, v, l, got, want)
					}
					checked++
				}
				for l, v := range r.Threshold.Below {
					values = append(values, v)
					if got, want := colourAt(th.Steps, v-1e-9), wantLevel(rules, v-1e-9).Color(); got != want {
						t.Errorf("%s/%s: colour just under below threshold %g (%s) is %s, want %s", site.ID, sensor, v, l, got, want)
					}
					checked++
				}
			}
			slices.Sort(values)
			var drawn []float64
			for _, s := range th.Steps[1:] {
				drawn = append(drawn, *s.Value)
			}
			if !slices.Equal(drawn, slices.Compact(values)) {
				t.Errorf("%s/%s: lines at %v, alerting thresholds %v", site.ID, sensor, drawn, values)
			}
		}
	}
	if checked == 0 {
		t.Fatal("the example config drew no thresholds to check")
	}
}

func TestThresholds_PerSensorOverrideDrawnInItsOwnPanel(t *testing.T) {
	cfg := exampleConfig(t, false)
	set := build(t, cfg)
	site := &cfg.Sites[slices.IndexFunc(cfg.Sites, func(s configs.Site) bool { return s.ID == "hx-chem-01" })]
	got := sitePanels(t, set, cfg, site)["T101-LT"].Steps
	want := []sdk.ThresholdStep{{Color: configs.LevelNone.Color()},
		{Color: configs.LevelOrange.Color(), Value: f(80)}, {Color: configs.LevelRed.Color(), Value: f(88)}}
	if !slices.EqualFunc(got, want, stepEqual) {
		t.Errorf("T101-LT on its site dashboard: %s, want the override's %s", show(got), show(want))
	}
	var kind sdk.Board
	if err := json.Unmarshal(dashboard(t, set, kindUID("tank_level")), &kind); err != nil {
		t.Fatal(err)
	}
	if len(kind.Panels) != 2 {
		t.Fatalf("tank_level dashboard has %d panels, want the variable panel and T101-LT's", len(kind.Panels))
	}
	if got := kind.Panels[1].TimeseriesPanel.FieldConfig.Defaults.Thresholds.Steps; !slices.EqualFunc(got, want, stepEqual) {
		t.Errorf("T101-LT on the kind dashboard: %s, want %s", show(got), show(want))
	}
	kindWide := kind.Panels[0].TimeseriesPanel.FieldConfig.Defaults.Thresholds.Steps
	if len(kindWide) != 5 || colourAt(kindWide, 4) != configs.LevelOrange.Color() || colourAt(kindWide, 95) != configs.LevelRed.Color() {
		t.Errorf("kind-wide tank thresholds %s, want LL orange below 5 … HH red above 90", show(kindWide))
	}
}

func TestThresholds_ChangingARuleMovesThePanelLines(t *testing.T) {
	cfg := exampleConfig(t, false)
	before := build(t, cfg)
	i := slices.IndexFunc(cfg.Rules, func(r configs.Rule) bool { return r.Name == "gas-lel" })
	cfg.Rules[i].Threshold.Above = configs.LevelValues{configs.LevelYellow: 20, configs.LevelOrange: 35, configs.LevelRed: 45}
	after := build(t, cfg)

	site := &cfg.Sites[0]
	got := sitePanels(t, after, cfg, site)["GT-03"].Steps
	want := []sdk.ThresholdStep{{Color: configs.LevelNone.Color()}, {Color: configs.LevelYellow.Color(), Value: f(20)},
		{Color: configs.LevelOrange.Color(), Value: f(35)}, {Color: configs.LevelRed.Color(), Value: f(45)}}
	if !slices.EqualFunc(got, want, stepEqual) {
		t.Errorf("GT-03 after the change: %s, want %s", show(got), show(want))
	}
	for _, uid := range []string{kindUID("gas_lel"), siteUID("hx-chem-01"), overviewUID} {
		if string(dashboard(t, before, uid)) == string(dashboard(t, after, uid)) {
			t.Errorf("dashboard %s did not change with the gas-lel rule", uid)
		}
	}
	if string(dashboard(t, before, kindUID("tank_level"))) != string(dashboard(t, after, kindUID("tank_level"))) {
		t.Errorf("the tank_level dashboard changed with the gas-lel rule")
	}
}
