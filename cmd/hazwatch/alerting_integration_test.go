package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"hazwatch/internal/testenv"
)

// alertingConfig is the daemon config of the alerting tests: one JSON
// subscription, the catalogue's names for the two sensors, a gas threshold
// rule with small for/clear_for, a flood rate rule, and every transition to
// the signed webhook. The reload test edits the rendered text.
const alertingConfig = `data_dir: {{.DataDir}}
mqtt:
  url: {{.MQTTURL}}
  client_id: {{.ClientID}}
  subscriptions:
    - topic: sensors/{site}/{kind}/{sensor}
      format: json
influxdb:
  url: {{.InfluxURL}}
  bucket: {{.Bucket}}
  flush_interval: 100ms
sites:
  - id: hx-chem-01
    name: 华兴化工
    sensors:
      GT-03: {name: 3号罐区可燃气体}
  - id: underpass-07
    name: 人民路下穿隧道
    sensors:
      WL-1: {name: 隧道积水水位}
rules:
  - name: gas-lel
    match: {kind: gas_lel}
    threshold:
      above: {yellow: 25, red: 50}
      for: 2s
      hysteresis: 2
      clear_for: 3s
  - name: flood-rise
    match: {kind: water_level}
    rate:
      window: 10s
      min_samples: 5
      above: {yellow: 60/h, orange: 120/h}
notify:
  channels:
    - name: center
      type: webhook
      url: {{.WebhookURL}}
      secret: {{.WebhookSecret}}
  routes:
    - match: {}
      channels: [center]
http:
  listen: {{.HTTP}}
`

// Topics of the scenario's two sensors.
const (
	gasTopic   = "sensors/hx-chem-01/gas_lel/GT-03"
	floodTopic = "sensors/underpass-07/water_level/WL-1"
)

// gasLeak is a gas leak as a detector reports it once a second: rising from
// 5 to 60 %LEL, holding, falling back to 5 and staying there. With the
// rule's for 2s, clear_for 3s and hysteresis 2 it fires yellow at 6s, rises
// to red at 11s, falls to yellow at 19s and resolves at 24s.
var gasLeak = []float64{5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 60, 60,
	55, 50, 45, 40, 35, 30, 25, 20, 15, 10, 5, 5, 5, 5, 5, 5, 5}

// floodRise is a tunnel gauge once a second: 0.02 m/s (72 m/h, over the
// yellow 60/h) for ten seconds, then flat, so that the 10s fit falls back
// under the threshold.
func floodRise(i int) float64 {
	return 0.10 + 0.02*float64(min(i, 9))
}

// transition is what the three views of an alert transition — the webhook,
// InfluxDB's alerts measurement and replay — have in common.
type transition struct {
	Rule, Site, Sensor, Status, Level string
	At                                time.Time
}

func (tr transition) String() string {
	return fmt.Sprintf("%s %s %s/%s %s %s", tr.At.UTC().Format(time.RFC3339), tr.Rule, tr.Site, tr.Sensor, tr.Status, tr.Level)
}

// sortTransitions orders by time, then rule, so that views written in
// different orders compare equal.
func sortTransitions(ts []transition) []transition {
	slices.SortStableFunc(ts, func(a, b transition) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	return ts
}

// alertingRun is one daemon running alertingConfig against its own stack,
// with a publisher and the time its scenario starts at: five minutes ago,
// so that readings have explicit, deterministic times within the daemon's
// accepted skew.
type alertingRun struct {
	*stack
	Params configParams
	Config string // the config file's path
	Daemon *testenv.Daemon
	Pub    *publisher
	Start  time.Time
}

func startAlerting(t *testing.T) *alertingRun {
	t.Helper()
	s := newStack(t)
	r := &alertingRun{stack: s, Params: s.params(t), Config: filepath.Join(s.Dir, "hazwatch.yaml"),
		Start: time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Second)}
	writeConfig(t, r.Config, alertingConfig, r.Params)
	r.Daemon = testenv.Hazwatch(t, hazwatchBin, r.Config, r.Params.HTTP)
	r.Pub = newPublisher(t, s.Broker.URL)
	return r
}

func TestAlerting_ScenarioEndToEnd(t *testing.T) {
	r := startAlerting(t)
	s, cfgPath, d, pub, start := r.stack, r.Config, r.Daemon, r.Pub, r.Start
	for i, v := range gasLeak {
		at := start.Add(time.Duration(i) * time.Second)
		pub.PublishValue(t, gasTopic, at, v)
		pub.PublishValue(t, floodTopic, at, floodRise(i))
	}

	d.WaitFor("gas-lel and flood-rise resolved on the webhook", waitTimeout, func() bool {
		return len(s.Hook.Matching(ofRule("gas-lel", "resolved"))) == 1 &&
			len(s.Hook.Matching(ofRule("flood-rise", "resolved"))) == 1
	})
	if bad := s.Hook.Refused(); len(bad) > 0 {
		t.Fatalf("webhook requests refused: %v", bad)
	}

	t.Run("gas webhooks in order with SPEC fields", func(t *testing.T) {
		gas := s.Hook.Matching(ofRule("gas-lel", ""))
		want := []struct {
			status, level string
			at            int // seconds after start
			value         float64
			threshold     float64
			message       string
		}{
			{"firing", "yellow", 6, 35, 25, "【黄色预警】华兴化工 3号罐区可燃气体 35.0%LEL，超过黄色预警阈值 25%LEL"},
			{"firing", "red", 11, 60, 50, "【红色预警】华兴化工 3号罐区可燃气体 60.0%LEL，超过红色预警阈值 50%LEL"},
			{"firing", "yellow", 19, 30, 25, "【黄色预警】华兴化工 3号罐区可燃气体 30.0%LEL，回落至黄色预警（阈值 25%LEL）"},
			{"resolved", "yellow", 24, 5, 25, "【预警解除】华兴化工 3号罐区可燃气体 恢复正常，当前 5.0%LEL"},
		}
		if len(gas) != len(want) {
			t.Fatalf("gas-lel webhooks = %d, want %d: %+v", len(gas), len(want), gas)
		}
		for i, w := range want {
			g := gas[i]
			if g.Status != w.status || g.Level != w.level || !g.At.Equal(start.Add(time.Duration(w.at)*time.Second)) {
				t.Errorf("webhook %d = %s %s at %s, want %s %s at +%ds", i, g.Status, g.Level, g.At, w.status, w.level, w.at)
			}
			if g.Value != w.value || g.Threshold != w.threshold {
				t.Errorf("webhook %d value, threshold = %g, %g; want %g, %g", i, g.Value, g.Threshold, w.value, w.threshold)
			}
			if !strings.Contains(g.Message, w.message) {
				t.Errorf("webhook %d message = %q, want it to contain %q", i, g.Message, w.message)
			}
			if g.ID != gas[0].ID || g.Type != "threshold" || g.Site != "hx-chem-01" || g.SiteName != "华兴化工" ||
				g.Kind != "gas_lel" || g.Sensor != "GT-03" || g.SensorName != "3号罐区可燃气体" || g.Unit != "%LEL" ||
				!g.StartedAt.Equal(start.Add(6*time.Second)) || g.ETASeconds != nil {
				t.Errorf("webhook %d = %+v, want the same id, catalogue names, unit and start for every transition", i, g)
			}
		}
	})

	t.Run("flood rate webhook in the rule's unit", func(t *testing.T) {
		fired := s.Hook.Matching(ofRule("flood-rise", "firing"))
		if len(fired) != 1 {
			t.Fatalf("flood-rise firing webhooks = %+v, want one", fired)
		}
		// 0.02 m every second is 72 m/h, over yellow's 60/h, under orange's 120/h.
		f := fired[0]
		if f.Level != "yellow" || f.Type != "rate" || f.Unit != "m/h" || f.Threshold != 60 || math.Abs(f.Value-72) > 0.01 ||
			f.SiteName != "人民路下穿隧道" || f.SensorName != "隧道积水水位" {
			t.Errorf("flood-rise firing = %+v, want yellow rate 72 m/h over 60 at 人民路下穿隧道 隧道积水水位", f)
		}
	})

	// The alerts of both rules are written to InfluxDB after the readings
	// that raised them; wait until all of them are there.
	hooks := s.Hook.Alerts()
	d.WaitFor("every webhook transition in InfluxDB", waitTimeout, func() bool {
		return len(alertTransitions(t, s.Influx)) >= len(hooks)
	})
	d.WaitFor("every reading in InfluxDB", waitTimeout, func() bool {
		return s.Influx.Count(t, "SELECT COUNT(value) FROM gas")+s.Influx.Count(t, "SELECT COUNT(value) FROM flood") == int64(2*len(gasLeak))
	})

	var fromHooks []transition
	for _, a := range hooks {
		fromHooks = append(fromHooks, transition{a.Rule, a.Site, a.Sensor, a.Status, a.Level, a.At.UTC()})
	}
	fromHooks = sortTransitions(fromHooks)
	if got := alertTransitions(t, s.Influx); !slices.Equal(got, fromHooks) {
		t.Errorf("InfluxDB alerts:\n%s\nwebhooks:\n%s", transitionLines(got), transitionLines(fromHooks))
	}

	replayed := replayInflux(t, cfgPath, start.Add(-time.Second), start.Add(time.Minute))
	if !slices.Equal(replayed, fromHooks) {
		t.Errorf("replay over InfluxDB:\n%s\nlive daemon:\n%s", transitionLines(replayed), transitionLines(fromHooks))
	}
}

// alertTransitions reads the transitions in InfluxDB's alerts measurement.
func alertTransitions(t *testing.T, db *testenv.Influx) []transition {
	t.Helper()
	var out []transition
	for _, s := range db.Series(t, `SELECT "value" FROM alerts GROUP BY "rule", "site", "sensor", "state", "level"`) {
		for _, row := range s.Values {
			ns, err := row[0].(json.Number).Int64()
			if err != nil {
				t.Fatalf("alerts time %v: %v", row[0], err)
			}
			out = append(out, transition{s.Tags["rule"], s.Tags["site"], s.Tags["sensor"], s.Tags["state"], s.Tags["level"], time.Unix(0, ns).UTC()})
		}
	}
	return sortTransitions(out)
}

// replayInflux runs `hazwatch replay -json` over [from, to) of the config's
// InfluxDB and returns the transitions it prints.
func replayInflux(t *testing.T, cfgPath string, from, to time.Time) []transition {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(hazwatchBin, "replay", "-config", cfgPath,
		"-from", from.Format(time.RFC3339), "-to", to.Format(time.RFC3339), "-json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hazwatch replay: %v\n%s", err, stderr.String())
	}
	var out []transition
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var ev struct {
			Rule, Site, Sensor, Status, Level string
			At                                time.Time
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("decode replay output: %v\n%s", err, stdout.String())
		}
		out = append(out, transition{ev.Rule, ev.Site, ev.Sensor, ev.Status, ev.Level, ev.At.UTC()})
	}
	return sortTransitions(out)
}

func transitionLines(ts []transition) string {
	var b strings.Builder
	for _, tr := range ts {
		b.WriteString("  " + tr.String() + "\n")
	}
	return b.String()
}

// publishGas publishes value v for GT-03 once a second for seconds
// [from, to) after start.
func publishGas(t *testing.T, pub *publisher, start time.Time, from, to int, v float64) {
	t.Helper()
	for i := from; i < to; i++ {
		pub.PublishValue(t, gasTopic, start.Add(time.Duration(i)*time.Second), v)
	}
}

// gasSequence is the status and level of each gas-lel webhook, in arrival order.
func gasSequence(h *webhookReceiver) []string {
	var out []string
	for _, a := range h.Matching(ofRule("gas-lel", "")) {
		out = append(out, a.Status+" "+a.Level)
	}
	return out
}

func TestAlerting_RestartKeepsFiringState(t *testing.T) {
	cases := []struct {
		name string
		// stop ends the daemon once the alert fired.
		stop func(d *testenv.Daemon)
	}{
		{"SIGTERM checkpoints the state on the way down", (*testenv.Daemon).Stop},
		// The journal holds the firing before its reading is acknowledged,
		// so a crash at once after it loses nothing.
		{"SIGKILL right after the firing", (*testenv.Daemon).Kill},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startAlerting(t)
			s, d, pub, start := r.stack, r.Daemon, r.Pub, r.Start

			publishGas(t, pub, start, 0, 4, 60)
			d.WaitFor("gas-lel firing red", waitTimeout, func() bool {
				return len(s.Hook.Matching(ofRule("gas-lel", "firing"))) == 1
			})
			tc.stop(d)
			d.Start()
			active := activeAlerts(t, r.Params.HTTP)
			if len(active) != 1 || active[0].Rule != "gas-lel" || active[0].Level != "red" || !active[0].StartedAt.Equal(start.Add(2*time.Second)) {
				t.Fatalf("active alerts after the restart = %+v, want gas-lel red since +2s", active)
			}

			// Still above the threshold after the restart, then back to
			// normal long enough for clear_for.
			publishGas(t, pub, start, 4, 9, 60)
			publishGas(t, pub, start, 9, 15, 5)
			d.WaitFor("gas-lel resolved", waitTimeout, func() bool {
				return len(s.Hook.Matching(ofRule("gas-lel", "resolved"))) == 1
			})
			want := []string{"firing red", "resolved red"}
			if got := gasSequence(s.Hook); !slices.Equal(got, want) {
				t.Fatalf("gas-lel webhooks = %q, want %q", got, want)
			}
			if bad := s.Hook.Refused(); len(bad) > 0 {
				t.Fatalf("webhook requests refused: %v", bad)
			}
		})
	}
}

// editConfig replaces old with new in the config file at path, which must
// contain old, keeping the file's other text.
func editConfig(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read config: %v", err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("config %s has no %q", path, old)
	}
	// The edited text goes through writeConfig's atomic replace; it has no
	// template actions left, so it renders as itself.
	writeConfig(t, path, strings.ReplaceAll(string(data), old, new), configParams{})
}

func TestAlerting_ReloadKeepsState(t *testing.T) {
	r := startAlerting(t)
	s, p, cfgPath, d, pub, start := r.stack, r.Params, r.Config, r.Daemon, r.Pub, r.Start
	reloads := func(result string) float64 {
		v, _ := metricValue(t, p.HTTP, `hazwatch_config_reloads_total{result="`+result+`"}`)
		return v
	}
	waitReload := func(what, result string, before float64) {
		t.Helper()
		d.WaitFor(what, waitTimeout, func() bool { return reloads(result) > before })
	}

	publishGas(t, pub, start, 0, 3, 60)
	d.WaitFor("gas-lel firing red", waitTimeout, func() bool {
		return len(s.Hook.Matching(ofRule("gas-lel", "firing"))) == 1
	})

	// An unrelated rule changes, reloaded on SIGHUP.
	ok := reloads("ok")
	editConfig(t, cfgPath, "{yellow: 60/h, orange: 120/h}", "{yellow: 30/h, orange: 120/h}")
	d.Signal(syscall.SIGHUP)
	waitReload("reload after SIGHUP", "ok", ok)
	publishGas(t, pub, start, 3, 6, 60)

	// The red threshold moves to 55, still under the current 60, and the
	// daemon finds the changed file by itself.
	ok = reloads("ok")
	editConfig(t, cfgPath, "{yellow: 25, red: 50}", "{yellow: 25, red: 55}")
	waitReload("reload after the file changed", "ok", ok)
	publishGas(t, pub, start, 6, 9, 60)

	// An invalid config is refused and the last valid rules stay.
	invalid := reloads("invalid")
	editConfig(t, cfgPath, "{yellow: 25, red: 55}", "{yellow: 25, red: high}")
	d.Signal(syscall.SIGHUP)
	waitReload("invalid config refused", "invalid", invalid)
	if !d.LogContains("config reload refused") {
		t.Errorf("daemon log does not say the reload was refused:\n%s", d.Log())
	}

	// 52 is red under the first config (50, hysteresis 2) but yellow under
	// the reloaded 55: the alert falls to yellow after clear_for, then
	// resolves.
	publishGas(t, pub, start, 9, 14, 52)
	publishGas(t, pub, start, 14, 19, 5)
	d.WaitFor("gas-lel resolved", waitTimeout, func() bool {
		return len(s.Hook.Matching(ofRule("gas-lel", "resolved"))) == 1
	})
	want := []string{"firing red", "firing yellow", "resolved yellow"}
	if got := gasSequence(s.Hook); !slices.Equal(got, want) {
		t.Fatalf("gas-lel webhooks = %q, want %q", got, want)
	}
	if bad := s.Hook.Refused(); len(bad) > 0 {
		t.Fatalf("webhook requests refused: %v", bad)
	}
}
