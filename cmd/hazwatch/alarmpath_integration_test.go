package main

// The alarm path of issue 9: what the people on duty are told is true and
// complete across a crash, an out-of-range reading and a site outage. Each
// test plays one scenario of the issue against real Mosquitto, InfluxDB and
// the daemon binary, and judges what the webhook receiver was told.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hazwatch/internal/testenv"
)

// alarmConfig returns the config of the alarm-path tests, a template for
// writeConfig: the broker, database, data directory and API of
// testdata/notify/base.yaml, sites (top-level text), the rules, and the one
// webhook route that sends resolves of testdata/notify/outbox.yaml with
// notify settings (such as outage_window) and route settings (such as
// repeat) added.
func alarmConfig(t *testing.T, sites, rules, notify, route string) string {
	t.Helper()
	ingest, _, ok := strings.Cut(readNotifyTestdata(t, "base.yaml"), "\nrules:\n")
	if !ok {
		t.Fatal("testdata/notify/base.yaml has no rules: section to cut at")
	}
	channels := readNotifyTestdata(t, "outbox.yaml")
	if !strings.HasPrefix(channels, "notify:\n") || !strings.HasSuffix(channels, "send_resolved: true\n") {
		t.Fatal("testdata/notify/outbox.yaml is no longer one notify: section ending with its route's send_resolved")
	}
	if notify != "" {
		channels = "notify:\n" + notify + "\n" + strings.TrimPrefix(channels, "notify:\n")
	}
	return ingest + "\n" + sites + "\nrules:\n" + rules + channels + route + "\n"
}

func readNotifyTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "notify", name))
	if err != nil {
		t.Fatalf("read config template: %v", err)
	}
	return string(b)
}

// The rules, exactly: no for, clear_for or hysteresis.
const (
	gasLELRule = `  - name: gas-lel
    match: {kind: gas_lel}
    threshold: {above: {yellow: 25, red: 50}}
`
	sensorFaultRule = `  - name: sensor-fault
    match: {kind: gas_lel}
    fault: {stuck_for: 10s, level: blue}
`
)

// repeatRoute makes the route repeat firing alerts every 2s.
const repeatRoute = "      repeat: 2s"

// alarmRun is one daemon running an alarmConfig against its own stack.
type alarmRun struct {
	*stack
	Params configParams
	Daemon *testenv.Daemon
	Pub    *publisher
}

// startAlarm writes alarmConfig with the given parts and starts the daemon.
func startAlarm(t *testing.T, sites, rules, notify, route string) *alarmRun {
	t.Helper()
	s := newStack(t)
	r := &alarmRun{stack: s, Params: s.params(t)}
	path := filepath.Join(s.Dir, "hazwatch.yaml")
	writeConfig(t, path, alarmConfig(t, sites, rules, notify, route), r.Params)
	r.Daemon = testenv.Hazwatch(t, hazwatchBin, path, r.Params.HTTP)
	r.Pub = newPublisher(t, s.Broker.URL)
	return r
}

// receiverView is what a receiver was told, alert by alert: the alerts it
// was told are firing and not since resolved, by id, and the ids it was
// told are resolved while it had no firing for them.
type receiverView struct {
	Open        map[string]hookAlert
	Unannounced []string
}

// viewOf replays webhook alerts, in arrival order, into a receiverView.
func viewOf(alerts []hookAlert) receiverView {
	v := receiverView{Open: map[string]hookAlert{}}
	for _, a := range alerts {
		switch a.Status {
		case "firing":
			v.Open[a.ID] = a
		case "resolved":
			if _, ok := v.Open[a.ID]; !ok {
				v.Unannounced = append(v.Unannounced, a.ID)
			}
			delete(v.Open, a.ID)
		}
	}
	return v
}

// OpenIDs returns the ids of the open alerts, sorted.
func (v receiverView) OpenIDs() []string {
	ids := make([]string, 0, len(v.Open))
	for id := range v.Open {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// hookLines renders alerts one a line, for failure messages.
func hookLines(alerts []hookAlert) string {
	var b strings.Builder
	for _, a := range alerts {
		fmt.Fprintf(&b, "  %s %s %s %s/%s value %g: %s\n", a.ID, a.Status, a.Level, a.Site, a.Sensor, a.Value, a.Message)
	}
	return b.String()
}

// ofSite keeps the alerts of one site.
func ofSite(site string) func(hookAlert) bool {
	return func(a hookAlert) bool { return a.Site == site }
}

// TestAlarmPath_CrashAfterResolveKeepsResolve is issue 9's scenario 1: an
// alert fires at 30; it resolves at 10 and the resolve is sent; the daemon
// is SIGKILLed at once. (Before the alert journal, the state was saved every
// 10 s, and a crash between a save holding the firing and the next one
// brought the alert back.) After the restart the alert must not be listed,
// no stale "firing" repeat may follow the resolve, and a reading of 40 must
// be notified.
func TestAlarmPath_CrashAfterResolveKeepsResolve(t *testing.T) {
	t.Parallel() // its own broker, database and daemon; most of its time is waiting on timers
	r := startAlarm(t, "", gasLELRule, "", repeatRoute)
	hook, d, pub := r.Hook, r.Daemon, r.Pub
	const sensor = "GT-01"
	topic := detectorTopic("crash-site", sensor)

	pub.PublishValue(t, topic, time.Now(), 30)
	d.WaitFor("firing sent at 30", waitTimeout, func() bool { return len(hook.Matching(ofSensor(sensor, "firing"))) >= 1 })
	pub.PublishValue(t, topic, time.Now(), 10)
	d.WaitFor("resolved sent at 10", waitTimeout, func() bool { return len(hook.Matching(ofSensor(sensor, "resolved"))) >= 1 })
	// Stored means acknowledged to the broker: it will not deliver 10 again.
	d.WaitFor("both readings stored", waitTimeout, func() bool {
		return r.Influx.Count(t, `SELECT COUNT(value) FROM gas WHERE "sensor" = '`+sensor+`'`) == 2
	})
	d.Kill()
	d.Start()

	for _, a := range activeAlerts(t, d.HTTP) {
		if a.Sensor == sensor {
			t.Errorf("after the SIGKILL and restart /api/v1/alerts lists %s %s %s (value %g), which was resolved and notified before the crash", a.ID, a.Status, a.Level, a.Value)
		}
	}

	// A marker alarm elsewhere, once it has repeated, shows a whole repeat
	// cycle has passed since the restart: the channel sends in order, so a
	// repeat of the resolved alert due in that cycle has arrived by then.
	pub.PublishValue(t, detectorTopic("marker-site", "GT-M"), time.Now(), 60)
	d.WaitFor("the marker alarm repeated", waitTimeout, func() bool { return len(hook.Matching(ofSensor("GT-M", "firing"))) >= 2 })
	mine := hook.Matching(ofSensor(sensor, ""))
	resolved := slices.IndexFunc(mine, func(a hookAlert) bool { return a.Status == "resolved" })
	if stale := slices.ContainsFunc(mine[resolved+1:], func(a hookAlert) bool { return a.Status == "firing" }); stale {
		t.Errorf("the receiver was told %s is firing again after it was told resolved, with no reading above 25:\n%s", sensor, hookLines(mine))
	}

	pub.PublishValue(t, topic, time.Now(), 40)
	at40 := func(a hookAlert) bool { return a.Sensor == sensor && a.Status == "firing" && a.Value == 40 }
	if !testenv.Eventually(10*time.Second, func() bool { return len(hook.Matching(at40)) >= 1 }) {
		t.Errorf("a reading of 40 after the restart was not notified firing yellow within 10s; %s's webhooks:\n%s", sensor, hookLines(hook.Matching(ofSensor(sensor, ""))))
	} else if a := hook.Matching(at40)[0]; a.Level != "yellow" {
		t.Errorf("40 notified as %s, want yellow", a.Level)
	}
	if bad := hook.Refused(); len(bad) > 0 {
		t.Errorf("webhook requests refused: %v", bad)
	}
}

// TestAlarmPath_OutOfRangeResolvesEverythingItRaised is issue 9's scenario
// 2: 120 %LEL is red for gas-lel and out of range for sensor-fault; 10 %LEL
// ends both. Whatever the order of the rules, the receiver must end with
// nothing open, and be told the same things.
func TestAlarmPath_OutOfRangeResolvesEverythingItRaised(t *testing.T) {
	t.Parallel() // its own brokers, databases and daemons; most of its time is waiting
	orders := []struct{ name, rules string }{
		{"gas-lel first", gasLELRule + sensorFaultRule}, // the order of configs/example.yaml
		{"sensor-fault first", sensorFaultRule + gasLELRule},
	}
	told := make([][]string, len(orders))
	t.Run("order", func(t *testing.T) {
		for i, o := range orders {
			t.Run(o.name, func(t *testing.T) {
				t.Parallel()
				r := startAlarm(t, "", o.rules, "", "")
				hook, d := r.Hook, r.Daemon
				topic := detectorTopic("range-site", "GT-01")
				start := time.Now()
				r.Pub.PublishValue(t, topic, start, 120)
				d.WaitFor("sensor-fault firing at 120", waitTimeout, func() bool { return len(hook.Matching(ofRule("sensor-fault", "firing"))) >= 1 })
				r.Pub.PublishValue(t, topic, start.Add(time.Second), 10)
				d.WaitFor("sensor-fault resolved at 10", waitTimeout, func() bool { return len(hook.Matching(ofRule("sensor-fault", "resolved"))) >= 1 })

				// The resolves of 10 may take a moment to follow the fault's.
				testenv.Eventually(5*time.Second, func() bool { return len(viewOf(hook.Alerts()).Open) == 0 })
				all := hook.Alerts()
				if v := viewOf(all); len(v.Open) > 0 || len(v.Unannounced) > 0 {
					suppressed, _ := metricValue(t, d.HTTP, `hazwatch_notifications_total{channel="center",result="suppressed"}`)
					t.Errorf("after 120 then 10 %%LEL the receiver still has open %q (resolved unannounced %q; %g notifications suppressed); it was told:\n%s",
						v.OpenIDs(), v.Unannounced, suppressed, hookLines(all))
				}
				for _, a := range all {
					told[i] = append(told[i], a.Rule+" "+a.Status+" "+a.Level)
				}
				slices.Sort(told[i])
			})
		}
	})
	// A subtest that stopped early has nothing to compare.
	if told[0] != nil && told[1] != nil && !slices.Equal(told[0], told[1]) {
		t.Errorf("what the receiver is told depends on the order of the rules:\n  %s: %q\n  %s: %q", orders[0].name, told[0], orders[1].name, told[1])
	}
}

// outageSites is the catalogue of the site-outage test: six detectors.
const outageSites = `sites:
  - id: outage-site
    name: 城东加油站
    sensors:
      GT-1: {name: 1号可燃气体}
      GT-2: {name: 2号可燃气体}
      GT-3: {name: 3号可燃气体}
      GT-4: {name: 4号可燃气体}
      GT-5: {name: 5号可燃气体}
      GT-6: {name: 6号可燃气体}`

// offlineRule is the stale rule of the site-outage test, on its site only,
// so that the marker alarm elsewhere never goes stale.
const offlineRule = `  - name: offline
    match: {kind: gas_lel, site: outage-site}
    stale: {after: 5s, level: blue}
`

// TestAlarmPath_SiteOutageRollUpResolves is issue 9's scenario 3: five of a
// site's six detectors fall silent. The duty room gets one site-level
// message, and while the outage lasts its repeats are site-level messages
// naming the silent sensors, not one per sensor; on recovery one site-level
// resolve, no per-sensor "数据恢复", and nothing left open.
func TestAlarmPath_SiteOutageRollUpResolves(t *testing.T) {
	t.Parallel() // its own broker, database and daemon; most of its time is waiting on timers
	const site = "outage-site"
	r := startAlarm(t, outageSites, gasLELRule+offlineRule, "  outage_window: 3s", repeatRoute)
	hook, d, pub := r.Hook, r.Daemon, r.Pub
	silent := []string{"GT-1", "GT-2", "GT-3", "GT-4", "GT-5"}
	for i, sensor := range silent {
		pub.PublishValue(t, detectorTopic(site, sensor), time.Now(), 2+0.1*float64(i)) // quiet
	}

	// GT-6 keeps reporting, well within its stale rule's 5s.
	survivor := detectorTopic(site, "GT-6")
	stop, feeding := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(feeding)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				pub.client.Publish(survivor, 1, false, fmt.Sprintf(`{"ts": %d, "v": %g}`, now.UnixMilli(), 2+0.1*float64(i%5))).Wait()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-feeding })

	outageID := "site-outage/" + site
	ofOutage := func(status string) func(hookAlert) bool {
		return func(a hookAlert) bool { return a.ID == outageID && a.Status == status }
	}
	perSensor := func(status string) func(hookAlert) bool {
		return func(a hookAlert) bool { return a.Site == site && a.ID != outageID && a.Status == status }
	}
	d.WaitFor("the site-level message", waitTimeout, func() bool { return len(hook.Matching(ofOutage("firing"))) >= 1 })
	if first := hook.Matching(ofOutage("firing"))[0]; !strings.Contains(first.Message, "5 个传感器") {
		t.Errorf("site-level message = %q, want it to count 5 silent sensors", first.Message)
	}

	// The route repeats every 2s: within a few cycles the outage must be
	// repeated, as one site-level message naming the silent sensors.
	if !testenv.Eventually(4*time.Second+2*time.Second, func() bool { return len(hook.Matching(ofOutage("firing"))) >= 2 }) {
		t.Errorf("no site-level repeat of the outage within 6s (route repeat 2s)")
	} else {
		// It names the first few silent sensors and counts them all (issue
		// 11: "up to a few, then 等 N 个").
		repeat := hook.Matching(ofOutage("firing"))[1]
		named := 0
		for i, sensor := range silent {
			if strings.Contains(repeat.Message, sensor) || strings.Contains(repeat.Message, fmt.Sprintf("%d号可燃气体", i+1)) {
				named++
			}
		}
		if named < min(3, len(silent)) || named < len(silent) && !strings.Contains(repeat.Message, fmt.Sprintf("等 %d 个", len(silent))) {
			t.Errorf("site-level repeat %q names %d of the %d silent sensors, without 等 %d 个 for the rest", repeat.Message, named, len(silent), len(silent))
		}
	}
	if per := hook.Matching(perSensor("firing")); len(per) > 0 {
		t.Errorf("%d per-sensor messages while the site's outage is rolled up, want none:\n%s", len(per), hookLines(per))
	}

	// The silent sensors report again; a marker alarm from another site
	// published after them arrives after whatever their readings caused.
	for i, sensor := range silent {
		pub.PublishValue(t, detectorTopic(site, sensor), time.Now(), 2+0.1*float64(i))
	}
	pub.PublishValue(t, detectorTopic("marker-site", "GT-M"), time.Now(), 60)
	d.WaitFor("the marker alarm", waitTimeout, func() bool { return len(hook.Matching(ofSensor("GT-M", "firing"))) >= 1 })
	if !testenv.Eventually(5*time.Second, func() bool { return len(hook.Matching(ofOutage("resolved"))) >= 1 }) {
		t.Errorf("%s never resolved after every sensor of the site reported again", outageID)
	} else if n := len(hook.Matching(ofOutage("resolved"))); n != 1 {
		t.Errorf("%d site-level resolves, want 1", n)
	}
	if per := hook.Matching(perSensor("resolved")); len(per) > 0 {
		t.Errorf("%d per-sensor 数据恢复 messages for alerts rolled up into the site's, want none:\n%s", len(per), hookLines(per))
	}
	all := hook.Matching(ofSite(site))
	if v := viewOf(all); len(v.Open) > 0 || len(v.Unannounced) > 0 {
		t.Errorf("at the end the receiver has open %q and was told resolved, never firing, %q; it was told:\n%s", v.OpenIDs(), v.Unannounced, hookLines(all))
	}
	if bad := hook.Refused(); len(bad) > 0 {
		t.Errorf("webhook requests refused: %v", bad)
	}
}
