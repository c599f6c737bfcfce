package alerting

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hazwatch/configs"
	"hazwatch/reading"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// demoRules are the example config's rules that the golden scenario uses.
func demoRules() []configs.Rule {
	ten := configs.Duration(10 * time.Minute)
	return []configs.Rule{
		{Name: "gas-lel", Match: configs.Matcher{"kind": {"gas_lel"}}, Threshold: &configs.ThresholdRule{
			Above: configs.LevelValues{configs.LevelYellow: 25, configs.LevelRed: 50}, ForReadings: 1,
			Hysteresis: configs.Hysteresis{All: 2},
		}},
		{Name: "tank-level", Match: configs.Matcher{"kind": {"tank_level"}}, Threshold: &configs.ThresholdRule{
			Below: configs.LevelValues{configs.LevelYellow: 10}, ForReadings: 1,
		}},
		{Name: "flood-rise", Match: configs.Matcher{"kind": {"water_level"}}, Rate: &configs.RateRule{
			Window: ten, MinSamples: 5, Above: map[configs.Level]configs.Rate{configs.LevelOrange: {PerSecond: 1.2 / 3600, Text: "1.2/h"}},
		}},
		{Name: "flood-eta", Match: configs.Matcher{"kind": {"water_level"}}, Predict: &configs.PredictRule{
			Window: ten, MinSamples: 5, Target: 0.3, Horizon: configs.Duration(30 * time.Minute), Level: configs.LevelOrange,
		}},
		{Name: "offline", Stale: &configs.StaleRule{After: configs.Duration(5 * time.Minute), Level: configs.LevelBlue}},
		{Name: "sensor-fault", Match: configs.Matcher{"kind": {"gas_lel"}}, Fault: &configs.FaultRule{StuckFor: configs.Duration(6 * time.Hour)}},
	}
}

// demoReadings is a scenario touching every rule type: a gas leak that rises
// to red and clears, a tank drawn low, a flood gauge rising 1.3 m/h, a gas
// detector reading over its range, and a tank gauge that goes silent.
func demoReadings() []reading.Reading {
	var out []reading.Reading
	add := func(kind, sensor string, points ...point) {
		for _, p := range points {
			out = append(out, sensorReading(configs.BuiltinKinds()[kind].Measurement, kind, sensor, p))
		}
	}
	add("gas_lel", "GT-101", point{0, 12}, point{60, 30.4}, point{120, 52.1}, point{180, 24}, point{240, 12})
	add("gas_lel", "GT-102", point{0, 10}, point{60, 105}, point{120, 10})
	add("tank_level", "T101-LT", point{0, 40}, point{60, 9.5}, point{120, 30})
	for _, p := range line(0.1, 1.3, 60, 600) {
		add("water_level", "WL-01", p)
	}
	add("gas_lel", "GT-101", point{660, 12})
	return out
}

func TestReplay_DemoScenarioTable(t *testing.T) {
	events, err := Replay(testConfig(demoRules()...), demoReadings())
	if err != nil {
		t.Fatal(err)
	}
	var table, lines bytes.Buffer
	if err := WriteTable(&table, events); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "replay.txt", table.Bytes())
	for i := range events {
		lines.Write(events[i].AppendLine(nil))
	}
	checkGolden(t, "alerts.lp", lines.Bytes())
	var js bytes.Buffer
	if err := WriteJSON(&js, events[:2]); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "replay.jsonl", js.Bytes())
}

func TestEvent_AppendLineEscapesTheMessage(t *testing.T) {
	ev := Event{
		Rule: "flood eta", Site: "hx,chem", Kind: "water_level", Sensor: "WL=01", Level: configs.LevelOrange,
		Status: StatusFiring, Value: 0.25, Threshold: 0.3, ETA: 25*time.Minute + 400*time.Millisecond, HasETA: true,
		Message: "say \"预计\" \\ 25\n分钟", At: t0,
	}
	checkGolden(t, "escaped.lp", ev.AppendLine([]byte("prefix ")))
}
